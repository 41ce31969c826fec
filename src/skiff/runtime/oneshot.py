"""Run one process to completion in a fresh container: what ``skiff build`` RUN uses.

Same spec builder (skiff.runtime.spec) and runc driver (skiff.runtime.runc) as
``skiff run``, without a container record, a monitor or logs: the caller gets the
process's combined stdout+stderr through a callback and its exit code.

Like BuildKit's runc executor, the mount points runc has to create in the rootfs (``/proc``,
``/sys``, ``/dev``, ``/etc/hosts``...) are removed again afterwards when they were not in
the image and are still empty, so a RUN step's layer does not carry them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO

from skiff.errors import SkiffError
from skiff.procinfo import start_time
from skiff.runtime import etcfiles
from skiff.runtime import mounts as rmounts
from skiff.runtime import runc as runc_mod
from skiff.runtime import spec as spec_mod
from skiff.runtime.fsutil import secure_join
from skiff.runtime.users import resolve as resolve_user


def _mount_dict(m) -> dict:
    """An extra mount given as an OCI dict or an object with destination/type/source/options."""
    if isinstance(m, dict):
        return dict(m)
    d = {"destination": m.destination, "type": m.type, "source": m.source,
         "options": list(getattr(m, "options", ()) or ())}
    if d["type"] == "bind" and not any(o in ("bind", "rbind") for o in d["options"]):
        d["options"].insert(0, "rbind")
    return d


def missing_paths(rootfs: str, destinations: Iterable[str]) -> tuple[list[str], dict[str, tuple[int, int]]]:
    """Every path (as a container path) from the first missing component down to each
    destination, for the destinations that do not fully exist in ``rootfs``; and the
    (atime_ns, mtime_ns) of the existing directory each missing chain starts in."""
    out: list[str] = []
    parents: dict[str, tuple[int, int]] = {}
    seen: set[str] = set()
    for dest in destinations:
        parts = [p for p in dest.split("/") if p]
        missing = False
        for i in range(1, len(parts) + 1):
            cpath = "/" + "/".join(parts[:i])
            if not missing:
                host = secure_join(rootfs, cpath)
                if os.path.lexists(host):
                    continue
                missing = True
                parent = "/" + "/".join(parts[:i - 1])
                if parent not in parents:
                    st = os.stat(secure_join(rootfs, parent))
                    parents[parent] = (st.st_atime_ns, st.st_mtime_ns)
            if cpath not in seen:
                seen.add(cpath)
                out.append(cpath)
    return out, parents


def remove_stubs(rootfs: str, paths: Sequence[str],
                 parents: dict[str, tuple[int, int]] | None = None) -> None:
    """Remove the paths of :func:`missing_paths` that runc created and left empty, and
    give their parent directories back their times when nothing else was added."""
    import stat as _stat

    for cpath in sorted(paths, key=lambda p: p.count("/"), reverse=True):
        host = secure_join(rootfs, cpath)
        try:
            st = os.lstat(host)
        except OSError:
            continue
        try:
            if _stat.S_ISDIR(st.st_mode):
                os.rmdir(host)  # fails (ENOTEMPTY) when the process put files there
            elif _stat.S_ISREG(st.st_mode) and st.st_size == 0:
                os.unlink(host)
        except OSError:
            pass
    for parent, (atime, mtime) in (parents or {}).items():
        left = [p for p in paths if os.path.dirname(p) == parent
                and os.path.lexists(secure_join(rootfs, p))]
        if not left:
            try:
                os.utime(secure_join(rootfs, parent), ns=(atime, mtime))
            except OSError:
                pass


def prune_copied_up_dirs(mounts: Sequence, dirs: Iterable[str]) -> None:
    """After an overlay is unmounted: drop from its upperdir each of ``dirs`` that is an
    empty, non-opaque directory whose mode, owner and mtime equal the lower copy's, i.e.
    a directory overlayfs copied up only because runc made (and we removed) a mount point
    in it. The layer diff then does not show it as changed."""
    if len(mounts) != 1 or mounts[0].type != "overlay":
        return
    opts = dict(o.split("=", 1) for o in mounts[0].options if "=" in o)
    upper = opts.get("upperdir")
    lowers = opts.get("lowerdir", "").split(":") if opts.get("lowerdir") else []
    if not upper:
        return
    for d in sorted(dirs, key=lambda p: p.count("/"), reverse=True):
        rel = d.strip("/")
        if not rel:
            continue
        up = os.path.join(upper, rel)
        try:
            ust = os.lstat(up)
            if not os.path.isdir(up) or os.listdir(up):
                continue
            if os.getxattr(up, "trusted.overlay.opaque", follow_symlinks=False) == b"y":
                continue
        except OSError as e:
            if getattr(e, "errno", None) != 61:  # ENODATA: no opaque xattr
                continue
        for low in lowers:
            lp = os.path.join(low, rel)
            try:
                lst = os.lstat(lp)
            except OSError:
                continue
            if ((lst.st_mode, lst.st_uid, lst.st_gid, lst.st_mtime_ns)
                    == (ust.st_mode, ust.st_uid, ust.st_gid, ust.st_mtime_ns)):
                try:
                    os.rmdir(up)
                except OSError:
                    pass
            break


def run(config, *, mounts: Sequence, args: Sequence[str], env: Sequence[str] = (),
        cwd: str = "/", user: str = "", hostname: str = "", network: str = "host",
        extra_mounts: Sequence = (), stdin: bytes | IO[bytes] | None = None,
        output: Callable[[bytes], None] | None = None, cap_add: Sequence[str] = (),
        security: str = "sandbox", extra_hosts: Sequence[tuple[str, str]] = (),
        dns: Sequence[str] = (), idmap=None, userns_path: str | None = None) -> int:
    """Run ``args`` in a new container on the rootfs ``mounts``; return its exit code.

    Args:
        config (skiff.config.Config): the store (runc's state root, temp dir) and runtime.
        mounts (list[Mount]): the rootfs, as the snapshotter returns it (an overlay, or a
            single bind mount of a directory).
        args: argv; ``env``: ``KEY=value`` strings (PATH defaults to Docker's).
        cwd: working directory (created if missing, as Docker does for WORKDIR).
        user: ``""`` (root), ``name``, ``uid``, ``user:group`` — resolved in the rootfs.
        hostname: UTS hostname (default: the first 12 hex digits of a random ID).
        network: ``"host"``, ``"none"`` (loopback only), or the path of a network
            namespace to join (a build step's sandbox on a bridge: skiff.network.sandbox).
        extra_mounts: OCI mount dicts, or objects with destination/type/source/options.
        stdin: bytes to feed, a binary file, or None for /dev/null.
        output: called with each chunk of the combined stdout+stderr (bytes).
        cap_add: extra capabilities; ``security="insecure"`` runs privileged (BuildKit's
            ``RUN --security=insecure``).
        extra_hosts: (name, address) pairs appended to /etc/hosts.
        dns: nameservers for /etc/resolv.conf (default: the host's, as ``skiff run``).
        idmap (skiff.runtime.userns.IdMapping | None): run in a user namespace with this
            mapping (the store's ``userns-remap``: Docker's classic builder runs RUN steps
            in the remapped range too). The layers are seen through idmapped mounts (or
            chowned copies), the process runs as the mapped host ids, and what it writes
            to the overlay's upper directory is chowned back to container ids afterwards,
            so a layer made from it holds ``0:0`` for root's files, as Docker's.
        userns_path: a pinned user namespace with that mapping to join (one per build:
            its network namespace is made inside it); None: one pinned for this run.
            ``network`` must then be ``"none"`` or a namespace that user namespace owns.

    Returns:
        int: the exit code (128+N when killed by signal N, as runc reports).

    Raises:
        CommandNotFound: the command does not exist in the rootfs (exit 127).
        CannotInvoke: it exists but cannot be executed (exit 126).
        SkiffError: runc or a mount failed.
    """
    if network not in ("host", "none") and not network.startswith("/"):
        raise SkiffError(f"network mode {network!r}",
                         "only host, none or a network namespace path are supported")
    if idmap is not None and (network == "host" or security == "insecure"):
        raise SkiffError("user namespaces", "a remapped RUN step cannot share the host's "
                         "network namespace or run privileged (--security=insecure)")
    driver = runc_mod.Runc.for_config(config)
    sweep_stale(config, driver)
    cid = os.urandom(32).hex()
    hostname = hostname or cid[:12]
    work = Path(config.tmp_dir) / f"oneshot-{cid[:16]}"
    work.mkdir(parents=True, exist_ok=False)
    (work / OWNER).write_text(f"{os.getpid()} {start_time(os.getpid())} {cid}\n")
    rootfs_target = str(work / "rootfs")
    rootfs = None
    stubs: list[str] = []
    parents: dict[str, tuple[int, int]] = {}
    pinned = None
    undo: list[Callable[[], None]] = []  # (remap_binds: its mounts and shifts)
    try:
        if idmap is None:
            rootfs = rmounts.mount_rootfs(mounts, rootfs_target)
        else:
            from skiff.runtime import userns

            pinned = userns_path or userns.repin(idmap, userns.pin_path(f"oneshot-{cid[:16]}"))
            # the remapped root must reach the work dir (and own the upper directory)
            userns.make_searchable(str(config.root), str(config.tmp_dir), str(work))
            rootfs = rmounts.mount_rootfs_remapped(
                mounts, rootfs_target, idmap, userns=pinned, idmap_dir=str(work / "idmap"),
                upper=_upperdir(mounts))
        eu = resolve_user(rootfs, user)
        env = list(env)
        if not any(e.startswith("PATH=") for e in env):
            env.insert(0, f"PATH={spec_mod.DEFAULT_PATH_ENV}")
        if cwd != "/":
            d = secure_join(rootfs, cwd)
            if not d.exists():
                d.mkdir(parents=True)
                if idmap is None:
                    os.chown(d, eu.uid, eu.gid)
                else:  # the host ids of the user; unshifted with the rest afterwards
                    os.chown(d, idmap.host_uid(eu.uid), idmap.host_gid(eu.gid))
        extra = etcfiles.write(work / "etc", hostname, network=network,
                               extra_hosts=tuple(extra_hosts), dns=tuple(dns))
        extra += [_mount_dict(m) for m in extra_mounts]
        if idmap is not None:
            extra = remap_binds(extra, idmap, pinned, work / "binds", undo)
        opts = spec_mod.SpecOptions(
            args=tuple(args), rootfs=rootfs, env=tuple(env), cwd=cwd, uid=eu.uid, gid=eu.gid,
            additional_gids=eu.additional_gids, hostname=hostname, network=network,
            cap_add=tuple(cap_add), privileged=(security == "insecure"),
            mounts=tuple(extra), cgroups_path=f"/skiff/{cid}",
            id_mappings=idmap.to_oci() if idmap is not None else None,
            userns_path=pinned)
        spec = spec_mod.build_spec(opts)
        stubs, parents = missing_paths(rootfs, [m["destination"] for m in spec["mounts"]])
        (work / "config.json").write_text(json.dumps(spec))
        return _run_runc(driver, cid, str(work), stdin, output)
    finally:
        try:
            if rootfs is not None:
                remove_stubs(rootfs, stubs, parents)
                if idmap is None:
                    rmounts.unmount_rootfs(mounts, rootfs_target)
                else:
                    rmounts.unmount(rootfs_target)
                    upper = _upperdir(mounts)
                    if upper is not None:
                        from skiff.runtime.userns import unshift_tree

                        unshift_tree(upper, idmap)
                prune_copied_up_dirs(mounts, parents)
        finally:
            for fn in reversed(undo):
                fn()
            if pinned is not None and userns_path is None:
                from skiff.runtime.userns import unpin

                unpin(pinned)
        shutil.rmtree(work, ignore_errors=True)


def remap_binds(extra: list[dict], idmap, userns: str, scratch: Path,
                undo: list[Callable[[], None]]) -> list[dict]:
    """A user-namespaced run's bind mounts (``RUN --mount`` binds of the context or a
    stage, cache mounts, secrets, the /etc files) with their sources seen through
    idmapped mounts of the run's mapping, so that they show their own ids inside (a
    root-owned file as 0:0, as the step sees it without the remap) and what the step
    writes into a cache lands with the container's ids. Without idmapped mounts (the
    kernel or the filesystem has none, as overlayfs here, e.g. another stage's view, or
    ``$SKIFF_USERNS_SHIFT=copy``): a read-only source is a chowned copy (``cp -a`` then
    userns.shift_tree), a writable one is shifted in place and shifted back afterwards. ``undo`` gets what to run when the step is over.

    Raises:
        SkiffError: an idmapped mount failed for another reason than the filesystem.
    """
    from skiff.runtime import userns as uns
    from skiff.snapshots import idmap as idm
    from skiff.snapshots import shifted

    use_idmap = idm.supported() and not shifted.forced()
    ns = os.open(userns, os.O_RDONLY | os.O_CLOEXEC) if use_idmap else -1
    out: list[dict] = []
    try:
        for m in extra:
            src = m.get("source") or ""
            if m.get("type") != "bind" or not os.path.exists(src):
                out.append(m)
                continue
            target = scratch / str(len(out))
            scratch.mkdir(parents=True, exist_ok=True)
            if os.path.isdir(src):
                target.mkdir()
            else:
                target.touch()
            if use_idmap:
                try:
                    idm.idmapped_bind(src, str(target), ns)
                except SkiffError:
                    pass  # a filesystem without idmapped mounts: as below
                else:
                    undo.append(lambda t=str(target): rmounts.unmount(t))
                    out.append({**m, "source": str(target)})
                    continue
            if "ro" in (m.get("options") or ()):
                copy = scratch / f"{len(out)}-copy"
                r = subprocess.run(["cp", "-a", "--", src, str(copy)], capture_output=True)
                if r.returncode != 0:  # (owners kept: shutil's copies would be root's)
                    raise SkiffError(f"copy {src}", r.stderr.decode(errors="replace").strip())
                uns.shift_tree(str(copy), idmap)
                out.append({**m, "source": str(copy)})
            else:
                uns.shift_tree(src, idmap)
                undo.append(lambda p=src: uns.unshift_tree(p, idmap))
                out.append(m)
    finally:
        if ns >= 0:
            os.close(ns)
    return out


def _upperdir(mounts: Sequence) -> str | None:
    """The upper directory of a single overlay mount (None: not an overlay)."""
    if len(mounts) != 1 or mounts[0].type != "overlay":
        return None
    opts = dict(o.split("=", 1) for o in mounts[0].options if "=" in o)
    return opts.get("upperdir")


OWNER = "owner"  # in a work dir: "<pid> <start time> <container id>" of the process using it


def sweep_stale(config, driver: runc_mod.Runc | None = None) -> list[str]:
    """Clean up after one-shot runs whose process died (a build killed -9 mid-RUN): kill
    and delete their runc container, unmount their rootfs, remove their work dir.

    Work dirs without an owner file, or whose owner still runs, are left alone.
    Returns the work dirs removed.
    """
    tmp = Path(config.tmp_dir)
    try:
        names = [n for n in os.listdir(tmp) if n.startswith("oneshot-")]
    except FileNotFoundError:
        return []
    done = []
    for name in names:
        work = tmp / name
        try:
            pid_s, start_s, cid = (work / OWNER).read_text().split()
        except (OSError, ValueError):
            continue
        if str(start_time(int(pid_s))) == start_s:
            continue  # its owner still runs
        driver = driver or runc_mod.Runc.for_config(config)
        try:
            driver.kill(cid, "SIGKILL", all_processes=True)
        except SkiffError:
            pass
        try:
            driver.delete(cid, force=True)
        except SkiffError:
            pass
        try:
            rmounts.unmount(str(work / "rootfs"))
        except SkiffError:
            continue  # still mounted: never rmtree through a mount into a snapshot
        from skiff.runtime.userns import pin_path, unpin

        unpin(pin_path(name))  # a remapped run's own user namespace, if it pinned one
        shutil.rmtree(work, ignore_errors=True)
        done.append(str(work))
    return done


def _feed(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view[:65536])
            view = view[n:]
    except OSError:
        pass
    finally:
        os.close(fd)


def _run_runc(driver: runc_mod.Runc, cid: str, bundle: str, stdin, output) -> int:
    log = os.path.join(bundle, "runc.log")
    argv = driver.run_argv(cid, bundle, log=log)
    feeder = None
    if stdin is None:
        stdin_arg = subprocess.DEVNULL
    elif isinstance(stdin, (bytes, bytearray, memoryview)):
        r, w = os.pipe()
        stdin_arg = r
        feeder = threading.Thread(target=_feed, args=(w, bytes(stdin)), daemon=True)
    else:
        stdin_arg = stdin
    rfd, wfd = os.pipe()
    try:
        proc = subprocess.Popen(argv, stdin=stdin_arg, stdout=wfd, stderr=wfd,
                                start_new_session=True)
    finally:
        os.close(wfd)
        if isinstance(stdin_arg, int) and stdin_arg != subprocess.DEVNULL:
            os.close(stdin_arg)
    if feeder is not None:
        feeder.start()
    # runc's own failure message shares the pipe: hold back output that may be it
    # until runc has exited and we know whether it failed.
    held = runc_mod.HeldStderr()
    try:
        while True:
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            chunk = held.feed(chunk)
            if chunk and output:
                output(chunk)
        rc = proc.wait()
    except BaseException:
        # Interrupted (KeyboardInterrupt in a build): kill the container, reap runc.
        try:
            driver.kill(cid, "SIGKILL", all_processes=True)
        except SkiffError:
            pass
        try:
            proc.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        driver.delete(cid, force=True)
        raise
    finally:
        os.close(rfd)
    err = runc_mod.read_log_error(log)
    rest = held.finish(err is not None)
    if err is not None:
        driver.delete(cid, force=True)
        raise runc_mod.classify(err)
    if rest and output:
        output(rest)
    return rc
