"""Operations on one container besides its lifecycle: exec, top, cp, diff, export, stats.

Each takes the :class:`~skiff.runtime.containers.ContainerService` and a container
reference; none writes to the terminal (the CLI does).

- exec: ``runc exec --process process.json`` with the container's own process settings
  (capabilities, seccomp, no-new-privileges come from its namespaces and config), argv, env
  (the container's plus ``-e``), cwd and user (resolved in its rootfs) replaced.
- cp/diff/export work on the container's root filesystem: the mounted one while it runs,
  else the snapshot mounted for the duration of the call. Paths inside it are resolved
  with :func:`skiff.runtime.fsutil.secure_join` (symlinks cannot escape).
- diff leaves out what Docker's init layer hides: /etc/hosts, /etc/hostname,
  /etc/resolv.conf and the mount points runc creates (/dev, /proc, /sys...).
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from skiff.errors import (
    CannotInvoke,
    CommandNotFound,
    Conflict,
    InvalidArgument,
    NotFound,
    SkiffError,
)
from skiff.runtime.etcfiles import INIT_FILES, MTAB_TARGET
from skiff.runtime.records import ACTIVE

_INIT_PATHS = frozenset({"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev", "/proc",
                        "/sys", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys/fs",
                        "/sys/fs/cgroup", *INIT_FILES})


# -- exec ----------------------------------------------------------------------------------

def exec_process(svc, ref: str, cmd: list[str], *, user: str | None = None,
                 workdir: str | None = None, env: list[str] = (), tty: bool = False,
                 detach: bool = False, stdin=None, stdout=None, stderr=None,
                 privileged: bool = False) -> tuple[subprocess.Popen, str]:
    """Start ``cmd`` in the running container; return (runc exec process, its log path).

    The Popen's exit status is the command's; call :func:`exec_error` with the log path
    when it is not 0 to tell a failed start (126/127) from the command's own status.

    ``privileged``: every capability for the process, as dockerd's ``exec --privileged``
    asks runc (which refuses capabilities beyond the container's bounding set: ``unable to
    apply caps``, exit 126, unless the container itself is privileged; as Docker).

    Raises:
        Conflict: the container is not running (Docker: ``container X is not running``)
            or is paused.
        SkiffError: a user that cannot be resolved.
    """
    from skiff.runtime import users
    from skiff.runtime.options import replace_or_append_env

    rec = svc.get(ref)
    status = rec["State"]["Status"]
    if status == "paused":
        raise Conflict(f"Container {ref} is paused, unpause the container before exec")
    if status != "running":
        raise Conflict(f"Container {rec['Id']} is not running")
    if not cmd:
        raise InvalidArgument("exec", "no command specified")
    bundle = svc.bundle(rec["Id"])
    spec = json.loads((bundle / "config.json").read_text())
    proc = dict(spec["process"])
    proc["args"] = list(cmd)
    proc["terminal"] = bool(tty)
    if privileged:
        from skiff.runtime.spec import ALL_CAPS

        caps = list(ALL_CAPS)
        proc["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    proc["env"] = replace_or_append_env(list(proc.get("env") or []), list(env))
    if workdir:
        if not workdir.startswith("/"):
            # runc's refusal, as docker exec -w relative shows it (exit 126)
            raise CannotInvoke("OCI runtime exec failed",
                               "exec failed: Cwd must be an absolute path: unknown")
        proc["cwd"] = workdir
    if user is not None:
        try:
            eu = users.resolve(spec["root"]["path"], user)
        except SkiffError as e:
            e.exit_code = 126  # docker exec -u nouser: 126, as a failed start
            raise
        proc["user"] = {"uid": eu.uid, "gid": eu.gid}
        if eu.additional_gids:
            proc["user"]["additionalGids"] = list(eu.additional_gids)
    fd, pjson = tempfile.mkstemp(prefix="exec-", suffix=".json", dir=bundle)
    with os.fdopen(fd, "w") as f:
        json.dump(proc, f)
    log = pjson[:-5] + ".log"
    argv = svc.runc.exec_argv(rec["Id"], pjson, log=log, detach=detach)
    p = subprocess.Popen(argv, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                         stdout=stdout, stderr=stderr)
    p.process_json = pjson  # type: ignore[attr-defined]
    return p, log


def exec_error(log: str) -> SkiffError | None:
    """The start failure runc logged for an exec (None: the command ran)."""
    from skiff.runtime.runc import classify, read_log_error

    msg = read_log_error(log)
    if msg is None:
        return None
    kind = type(classify(msg))
    if kind is not CommandNotFound or "chdir to cwd" in msg:
        # any other failed start: the command cannot be invoked (126, as dockerd gives for
        # every failed exec); exec -w /missing too, though its reason says "no such file"
        kind = CannotInvoke
    return kind("OCI runtime exec failed", f"{msg}: unknown")


def exec_cleanup(p: subprocess.Popen, log: str) -> None:
    """Remove the process.json and log of a finished exec."""
    for path in (getattr(p, "process_json", None), log):
        if path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


# -- top -----------------------------------------------------------------------------------

def top(svc, ref: str, ps_args: list[str] = ()) -> tuple[list[str], list[list[str]]]:
    """``docker top``: run the host's ``ps`` (default ``-ef``) and keep the container's
    processes; returns (titles, rows).

    Raises:
        Conflict: not running.
    """
    rec = svc.get(ref)
    if rec["State"]["Status"] not in ACTIVE or rec["State"]["Status"] == "restarting":
        raise Conflict(f"Container {rec['Id']} is not running")  # moby errNotRunning
    pids = set(svc.runc.ps(rec["Id"]))
    args = list(ps_args) or ["-ef"]
    out = subprocess.run(["ps", *args], capture_output=True, text=True)
    if out.returncode != 0:
        # dockerd shows the first line of ps's complaint (not its usage text)
        first = out.stderr.strip().split("\n", 1)[0].strip()
        raise SkiffError("ps", first or f"exit status {out.returncode}")
    lines = out.stdout.splitlines()
    titles = lines[0].split()
    try:
        pid_col = titles.index("PID")
    except ValueError:
        raise SkiffError("top", 'Couldn\'t find PID field in ps output') from None
    rows = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) > pid_col and fields[pid_col].isdigit() and int(fields[pid_col]) in pids:
            rows.append(fields)
    return titles, rows


# -- the root filesystem, running or not ---------------------------------------------------

@contextlib.contextmanager
def rootfs(svc, rec: dict) -> Iterator[str]:
    """The container's root filesystem as a host path for the duration of the block."""
    from skiff.runtime.mounts import mount_rootfs, unmount_rootfs

    sk = rec["Skiff"]
    if sk.get("Rootfs"):
        yield sk["Rootfs"]
        return
    if rec["State"]["Status"] in ACTIVE:
        yield str(svc.bundle(rec["Id"]) / "rootfs")
        return
    mounts = svc.snapshotter.mounts(sk["Snapshot"])
    # (a create killed after its record was written left no bundle directory)
    os.makedirs(svc.bundle(rec["Id"]), exist_ok=True)
    target = tempfile.mkdtemp(prefix="rootfs-", dir=svc.bundle(rec["Id"]))
    path = mount_rootfs(mounts, target)
    try:
        yield path
    finally:
        unmount_rootfs(mounts, target)
        with contextlib.suppress(OSError):
            os.rmdir(target)


def _volume_for(rec: dict, cpath: str) -> tuple[str, str] | None:
    """(host source, path below it) when ``cpath`` lies in one of the container's mounts."""
    best = None
    for m in rec.get("Mounts") or []:
        d = m["Destination"].rstrip("/") or "/"
        if (cpath == d or cpath.startswith(d + "/")) and m.get("Source"):
            if best is None or len(d) > len(best[0]):
                best = (d, m["Source"])
    if best is None:
        return None
    return best[1], cpath[len(best[0]):].lstrip("/")


ETC_FILES = ("/etc/hostname", "/etc/hosts", "/etc/resolv.conf")


def resolve_path(root: str, rec: dict, cpath: str, *, bundle: Path | None = None,
                 follow: bool = True) -> Path:
    """A container path → host path, through the container's volumes and bind mounts.

    ``bundle``: the container's directory; given, /etc/hostname, /etc/hosts and
    /etc/resolv.conf resolve to the files skiff bind-mounts there (what the container
    sees, as docker cp copies them; the rootfs holds only empty mount points).
    ``follow=False``: a symlink as the last component is not followed (docker cp without
    -L copies the link itself, dangling or not).
    """
    from skiff.runtime.fsutil import secure_join

    norm = os.path.normpath("/" + cpath.lstrip("/"))  # POSIX keeps a leading "//"
    vol = _volume_for(rec, norm)
    if vol is not None:
        base, rel = vol
    elif bundle is not None and norm in ETC_FILES and (bundle / norm[5:]).exists():
        return bundle / norm[5:]
    else:
        base, rel = root, norm
    if not follow and rel.strip("/"):
        parent, name = os.path.split(rel.rstrip("/"))
        return secure_join(base, parent) / name
    return secure_join(base, rel)


# -- cp --------------------------------------------------------------------------------------

def _copy(src: Path, dst: Path, *, follow: bool = False) -> None:
    if src.is_dir() and not (src.is_symlink() and not follow):
        shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True, copy_function=shutil.copy2)
        _copy_owner_tree(src, dst)
    else:
        if dst.is_dir() and not dst.is_symlink():
            raise InvalidArgument("cannot copy", f"cannot overwrite directory {dst} with non-directory")
        shutil.copy2(src, dst, follow_symlinks=follow)
        st = os.lstat(src) if not follow else os.stat(src)
        os.lchown(dst, st.st_uid, st.st_gid)


def _copy_owner_tree(src: Path, dst: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        for name in [".", *dirnames, *filenames]:
            s = os.path.normpath(os.path.join(dirpath, name))
            d = os.path.normpath(os.path.join(dst, rel, name))
            st = os.lstat(s)
            with contextlib.suppress(OSError):
                os.lchown(d, st.st_uid, st.st_gid)


def _contents(spec: str) -> bool:
    """``SRC/.`` (or ``.``): the directory's contents, not the directory (pathlib drops the
    trailing ``.``, so it is told from the spelling given)."""
    return spec.rstrip("/").endswith("/.") or spec.rstrip("/") == "."


def _target(src: Path, dest: Path, dest_spec: str, contents: bool = False) -> Path:
    """Docker's cp destination rules: into an existing directory keeps the name; a path
    ending in ``/`` must be a directory; ``SRC/.`` (``contents``) copies a directory's
    contents."""
    if dest.is_dir():
        return dest if contents else dest / src.name
    if dest_spec.endswith("/"):
        if src.is_dir():
            return dest
        raise NotFound("no such directory")  # docker/cli: archive.ErrDirNotExists
    if not dest.parent.exists():
        raise NotFound(f"destination {dest_spec}", "no such file or directory")
    return dest


def copy_from(svc, ref: str, cpath: str, host_dest: str, *, follow: bool = False) -> None:
    """``docker cp CONTAINER:SRC DEST``.

    Raises:
        NotFound: ``Could not find the file SRC in container X``; a destination whose
            parent directory is missing (docker/cli's ``invalid output path``).
    """
    rec = svc.get(ref)
    if host_dest != "-" and not os.path.lexists(host_dest):
        parent = os.path.dirname(os.path.abspath(host_dest))
        if not os.path.isdir(parent):
            raise NotFound("invalid output path", f'directory "{parent}" does not exist')
    # a trailing "/" asks for what the path names, so a last-component symlink is followed
    # (docker cp CONTAINER:/link-to-dir/ copies the directory, named as the link)
    trailing = cpath.endswith("/") and cpath.strip("/") != ""
    with rootfs(svc, rec) as root:
        src = resolve_path(root, rec, cpath, bundle=svc.bundle(rec["Id"]),
                           follow=follow or trailing)
        contents = _contents(cpath)
        if not os.path.lexists(src):
            raise NotFound(f"Could not find the file {cpath} in container {ref}")
        srcp = Path(src)
        dest = Path(host_dest)
        tgt = _target(srcp, dest, host_dest, contents)
        if trailing and tgt.parent == dest and dest.is_dir() and not contents:
            tgt = dest / os.path.basename(cpath.rstrip("/"))
        top = None
        if os.path.lexists(tgt) and tgt.is_dir() and not tgt.is_symlink():
            st = os.lstat(tgt)
            top = (st.st_uid, st.st_gid)
        _copy(srcp, tgt, follow=follow)
    _own_by_caller(tgt, top)


def _own_by_caller(path: Path, top: tuple[int, int] | None) -> None:
    """What ``docker cp CONTAINER:SRC DEST`` writes belongs to the user running it (docker
    /cli extracts without chown, ``-a`` or not: observed 0:0 for a container's 1000:1000
    file, as root); an existing directory copied into keeps its owner ``top``."""
    uid, gid = os.getuid(), os.getgid()
    os.lchown(path, *(top or (uid, gid)))
    if path.is_dir() and not path.is_symlink():
        for dirpath, dirnames, filenames in os.walk(path):
            for n in dirnames + filenames:
                with contextlib.suppress(OSError):
                    os.lchown(os.path.join(dirpath, n), uid, gid)


def copy_to(svc, ref: str, host_src: str, cpath: str, *, follow: bool = False) -> None:
    """``docker cp SRC CONTAINER:DEST`` (the destination's symlinks resolve inside the
    container's root).

    Raises:
        NotFound: the source is missing, or the destination's parent directory.
        InvalidArgument: the destination goes through a regular file (dockerd's
            ``extraction point is not a directory``).
    """
    rec = svc.get(ref)
    if not os.path.lexists(host_src.removesuffix("/.")):
        # docker/cli resolves the source to an absolute path first
        raise NotFound(f"lstat {os.path.abspath(host_src)}", "no such file or directory")
    with rootfs(svc, rec) as root:
        dest = resolve_path(root, rec, cpath)
        if not dest.is_dir() and os.path.lexists(dest.parent) and not dest.parent.is_dir():
            # dockerd's archive extraction: a path that goes through a regular file
            raise InvalidArgument("extraction point is not a directory")
        if not dest.is_dir() and not cpath.endswith("/") and not dest.parent.exists():
            # dockerd is asked to extract into the parent, which is not there
            parent = posixpath.dirname(cpath.rstrip("/")) or "/"
            raise NotFound(f"Could not find the file {parent} in container {ref}")
        src = Path(host_src)
        tgt = _target(src, dest, cpath, _contents(host_src))
        _copy(Path(host_src.removesuffix("/.")), tgt, follow=follow)
        if sk_map := (rec.get("Skiff") or {}).get("IdMap"):
            # into a user-namespaced container: owners as the container's ids, as dockerd
            # extracts with the container's root identity
            from skiff.runtime.userns import IdMapping, shift_tree

            shift_tree(str(tgt), IdMapping.from_json(sk_map))


# -- diff, export ------------------------------------------------------------------------------

def diff(svc, ref: str) -> list[tuple[str, str]]:
    """``docker diff``: ('A'|'C'|'D', path) of the container's changes, sorted by path.

    Raises:
        InvalidArgument: a ``--rootfs`` container (no layers to compare with).
    """
    from skiff.layers.diff import changes

    rec = svc.get(ref)
    sk = rec["Skiff"]
    if not sk.get("Snapshot"):
        raise InvalidArgument(f"container {ref}", "runs on a plain directory: no changes to show")
    sn = svc.snapshotter
    upper = sn.upperdir(sk["Snapshot"])
    lowers = sn.lowerdirs(sk["Snapshot"])
    # the runtime's mount points are Docker's init layer, below the container's
    return changes(upper, lowers, skip=_INIT_PATHS)


def export(svc, ref: str, out_fd: int) -> None:
    """``docker export``: the container's filesystem as a tar stream written to ``out_fd``.

    Raises:
        SkiffError: tar failed.
    """
    rec = svc.get(ref)
    idmap = (rec.get("Skiff") or {}).get("IdMap")
    with rootfs(svc, rec) as root:
        # Docker's archive: member names without "./" and no entry for the root itself,
        # owners' names as the host's passwd/group give them (root/root), in name order
        entries = sorted(os.listdir(root))
        argv = ["tar", "--xattrs", "--sort=name", "-C", root, "-cf", "-",
                *(["--", *entries] if entries else ["-T", "/dev/null"])]
        if idmap:
            r = _export_unshifted(argv, out_fd, idmap)
        else:
            r = subprocess.run(argv, stdout=out_fd, stderr=subprocess.PIPE)
    if r.returncode == -13:
        raise BrokenPipeError
    if r.returncode not in (0, 1):  # 1: a file changed as we read it
        first = r.stderr.decode(errors="replace").strip().split("\n", 1)[0]
        if ": Cannot write: " in first:  # the output failed: Docker's "write /dev/stdout: ..."
            why = first.split(": Cannot write: ", 1)[1]
            raise SkiffError("write /dev/stdout", why[:1].lower() + why[1:])
        raise SkiffError(f"export {ref}", first)


def _export_unshifted(argv: list[str], out_fd: int, idmap: dict) -> subprocess.CompletedProcess:
    """Run the export's ``tar`` and rewrite its stream so that owners in a user-namespaced
    container's host range read as the container's own ids (``docker export`` of a
    remapped container shows root as 0); other owners are kept."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with os.fdopen(os.dup(out_fd), "wb") as out:
            unshift_tar(p.stdout, out, idmap)
    except BrokenPipeError:
        p.kill()
        p.wait()
        return subprocess.CompletedProcess(argv, -13)
    err = p.stderr.read()
    return subprocess.CompletedProcess(argv, p.wait(), b"", err)


def unshift_tar(src_file, out_file, idmap: dict, *, to_host: bool = False) -> None:
    """Copy a tar stream from ``src_file`` to ``out_file`` with owners in a
    user-namespaced container's host range read back as the container's own ids (dockerd's
    export archives a remapped container's files with its IdentityMapping's ToContainer:
    root is 0; its ``cp C:SRC -`` does not, moby/moby#43698, skiff's does as export);
    their names are dropped (dockerd's come from the host's lookup of the host id, which
    names none). Other owners are kept. ``to_host``: the other way (what ``cp - C:DIR``
    extracts into such a container: ToHost, the member's 0 is the container's root)."""
    import tarfile

    from skiff.runtime.userns import IdMapping

    m = IdMapping.from_json(idmap)

    def back(table, i: int) -> int:
        for c, h, n in table:
            if to_host and c <= i < c + n:
                return h + i - c
            if not to_host and h <= i < h + n:
                return c + i - h
        return i

    with tarfile.open(fileobj=src_file, mode="r|") as src, \
            tarfile.open(fileobj=out_file, mode="w|", format=tarfile.PAX_FORMAT) as dst:
        for t in src:
            uid, gid = back(m.uids, t.uid), back(m.gids, t.gid)
            if (uid, gid) != (t.uid, t.gid):  # host names would mislead an extractor
                t.uid, t.gid, t.uname, t.gname = uid, gid, "", ""
            dst.addfile(t, src.extractfile(t) if t.isreg() else None)


# -- stats --------------------------------------------------------------------------------------

def _cgroup_parent(rec: dict) -> str:
    """The container's ``--cgroup-parent`` ("" for skiff's own)."""
    return (rec.get("HostConfig") or {}).get("CgroupParent") or ""


def stats(svc, refs: list[str] | None = None, interval: float = 0.5, *,
          all: bool = False) -> list[dict]:
    """``docker stats --no-stream``: one sample per running container (``all``: every
    container); the containers ``refs`` names are all listed, in that order. A container
    that is not running gets a row of zeros (MemLimit 0, PIDs 0), as Docker prints it.

    Keys per row: Id, Name, CPUPerc (float, % of one CPU × CPUs as Docker), MemUsage,
    MemLimit (bytes), MemPerc, PIDs, NetIO and BlockIO as (rx, tx) byte pairs.
    """
    from skiff.runtime import cgroups

    recs = [svc.get(r) for r in refs] if refs else svc.list(all=all)
    if not refs and not all:
        recs = [r for r in recs if r["State"]["Status"] in ("running", "paused")]
    live = [r for r in recs if r["State"]["Status"] in ("running", "paused")]
    first = {r["Id"]: (cgroups.usage(r["Id"], _cgroup_parent(r))["cpu_ns"], time.monotonic_ns())
             for r in live}
    if live:
        time.sleep(interval)
    try:
        total_mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        total_mem = 0
    rows = []
    for r in recs:
        if r["Id"] not in first:
            rows.append({"Id": r["Id"], "Name": r["Name"].lstrip("/"), "CPUPerc": 0.0,
                         "MemUsage": 0, "MemLimit": 0, "MemPerc": 0.0, "PIDs": 0,
                         "NetIO": (0, 0), "BlockIO": (0, 0)})
            continue
        u = cgroups.usage(r["Id"], _cgroup_parent(r))
        c0, t0 = first[r["Id"]]
        dt = max(time.monotonic_ns() - t0, 1)
        cpu = (u["cpu_ns"] - c0) / dt * 100.0
        limit = u["mem_limit"] or total_mem
        rows.append({"Id": r["Id"], "Name": r["Name"].lstrip("/"), "CPUPerc": cpu,
                     "MemUsage": u["mem"], "MemLimit": limit,
                     "MemPerc": (u["mem"] / limit * 100.0) if limit else 0.0,
                     "PIDs": u["pids"], "NetIO": _net_io(r), "BlockIO": (0, 0)})
    return rows


def _net_io(rec: dict) -> tuple[int, int]:
    pid = rec["State"].get("Pid")
    if not pid or rec["HostConfig"].get("NetworkMode") == "host":
        return (0, 0)
    rx = tx = 0
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            for line in f.readlines()[2:]:
                name, _, rest = line.partition(":")
                if name.strip() == "lo":
                    continue
                v = rest.split()
                rx += int(v[0])
                tx += int(v[8])
    except OSError:
        pass
    return (rx, tx)


# -- commit --------------------------------------------------------------------------------------

def _stub_names(upper: Path, lowers: list[Path]) -> set[str]:
    """Tar member names (``./etc/hosts``...) of the mount points runc left in ``upper``:
    init paths that are empty and absent from every lower layer (Docker's init layer)."""
    out = set()
    for p in _INIT_PATHS:
        rel = p.lstrip("/")
        up = upper / rel
        try:
            st = os.lstat(up)
        except OSError:
            continue
        if any(os.path.lexists(low / rel) for low in lowers):
            continue
        import stat as _stat

        if (_stat.S_ISDIR(st.st_mode) and not os.listdir(up)) or \
                (_stat.S_ISREG(st.st_mode) and st.st_size == 0) or \
                (_stat.S_ISLNK(st.st_mode) and rel == "etc/mtab"
                 and os.readlink(up) == MTAB_TARGET):
            out.add(rel)
    return out


def rw_size(upper: str | os.PathLike[str], lowers: list[Path]) -> int:
    """A container's ``SizeRw``: the file bytes of its rw layer (moby ChangesSize) less
    what Docker keeps in its init layer instead (the /etc/mtab symlink skiff makes there;
    the other stubs are empty)."""
    from skiff.snapshots.usage import content_size

    size = content_size(upper)
    if "etc/mtab" in _stub_names(Path(upper), lowers):
        size -= len(MTAB_TARGET)
    return size


def commit(svc, ref: str, *, tag: str | None = None, author: str = "", message: str = "",
           changes: list[str] = (), pause: bool = True):
    """``docker commit``: the container's changes as a new layer on its image; the image's
    config with the container's Config (and ``changes``) applied. Returns the Image.

    Raises:
        InvalidArgument: a ``--rootfs`` container, or a bad change line.
    """
    import tarfile

    from skiff.errors import AlreadyExists
    from skiff.format.humanize import format_rfc3339_ns
    from skiff.images import Layer
    from skiff.images.changes import apply_changes
    from skiff.layers.compression import compress_layer
    from skiff.layers.diff import write_layer
    from skiff.oci import mediatypes

    rec = svc.get(ref)
    sk = rec["Skiff"]
    if not sk.get("Snapshot") or not rec.get("Image"):
        raise InvalidArgument(f"container {ref}", "runs on a plain directory: nothing to commit on")
    base = svc.images.get(rec["Image"])
    sn = svc.snapshotter
    upper, lowers = sn.upperdir(sk["Snapshot"]), sn.lowerdirs(sk["Snapshot"])
    paused_here = False
    if pause and rec["State"]["Status"] == "running":
        svc.pause(rec["Id"])
        paused_here = True
    try:
        stubs = _stub_names(upper, lowers)
        raw = tempfile.TemporaryFile(dir=svc.config.tmp_dir if svc.config.tmp_dir.exists() else None)
        write_layer(upper, raw, lower=lowers)
    finally:
        if paused_here:
            svc.unpause(rec["Id"])
    raw.seek(0)
    filtered = tempfile.TemporaryFile()
    from skiff.runtime.userns import IdMapping

    idmap = IdMapping.from_json(sk.get("IdMap"))
    unpacked = 0
    with tarfile.open(fileobj=raw, mode="r|") as src, \
            tarfile.open(fileobj=filtered, mode="w|", format=tarfile.PAX_FORMAT) as dst:
        for m in src:
            name = m.name.removeprefix("./").rstrip("/")
            if name in stubs:
                continue
            # the layer's SIZE as Docker counts a commit (archive.ChangesSize): file bytes
            # and symlink target lengths, a hard link's data once; not the tar's size
            unpacked += m.size if m.isreg() else len(m.linkname) if m.issym() else 0
            if idmap is not None:  # a user-namespaced container wrote host ids: the
                # image gets the container's own (dockerd's remapped commit does the same)
                m.uid, m.gid = idmap.container_uid(m.uid), idmap.container_gid(m.gid)
            dst.addfile(m, src.extractfile(m) if m.isreg() else None)
    raw.close()
    filtered.seek(0)
    w = svc.images.content.writer(f"commit-{rec['Id'][:12]}-{os.urandom(4).hex()}")
    try:
        cl = compress_layer(filtered, w, "gzip")
        try:
            w.commit(size=cl.size, digest=cl.digest)
        except AlreadyExists:
            pass
    except BaseException:
        with contextlib.suppress(Exception):
            w.abort()
        raise
    finally:
        filtered.close()
    layer = Layer(digest=cl.digest, size=cl.size, media_type=mediatypes.layer_type("gzip"),
                  diff_id=cl.diff_id, uncompressed_size=cl.uncompressed_size,
                  unpacked_size=unpacked)
    cfg = json.loads(json.dumps(base.config.raw))
    section = dict(cfg.get("config") or {})
    c = rec["Config"]
    for k in ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels", "ExposedPorts",
              "Volumes", "StopSignal", "Healthcheck", "Domainname"):  # (cfg5: docker's too)
        if c.get(k) not in (None, "", [], {}):
            section[k] = c[k]
    section = apply_changes(section, list(changes))
    now = format_rfc3339_ns(time.time_ns())
    cfg["config"] = section
    cfg["created"] = now
    # Docker's NewChildImage: Author and Comment come from the commit (-a, -m), never
    # from the base image (an imported base's "Imported from -" must not carry over).
    cfg.pop("author", None)
    cfg.pop("comment", None)
    if author:
        cfg["author"] = author
    if message:
        cfg["comment"] = message
    hist = list(cfg.get("history") or [])
    # moby daemon/commit.go: strings.Join(container Config.Cmd, " "), unquoted, no entrypoint
    entry = {"created": now, "created_by": " ".join(rec["Config"].get("Cmd") or [])}
    if author:
        entry["author"] = author
    if message:
        entry["comment"] = message
    hist.append(entry)
    cfg["history"] = hist
    return svc.images.create(cfg, [*base.layers, layer], tags=(tag,) if tag else (),
                             parent=base.id)
