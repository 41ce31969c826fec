"""Idmapped mounts: a snapshot's layers seen with shifted owners, without copying them.

A user-namespaced container (skiff.runtime.userns) runs its root as an unprivileged host
uid (e.g. 100000). Its image layers on disk are owned by host uid 0; mounted as they are,
the container would see every image file owned by ``nobody``. Docker's ``userns-remap``
keeps a chowned copy of every layer per mapping; the issue allows idmapped mounts where
the kernel has them, and this kernel (>= 5.19) stacks overlayfs on idmapped layers.

So each lower directory of the container's overlay is first bind-mounted through an
idmapped mount (``open_tree(OPEN_TREE_CLONE)`` → ``mount_setattr(MOUNT_ATTR_IDMAP)`` with a
user namespace that has the container's mapping → ``move_mount`` onto a scratch
directory), the overlay is mounted on those, and the scratch mounts are detached again:
overlayfs keeps private clones of its layers, idmapping included. Every container of any
mapping shares the one unpacked copy of each layer (no shifted copies on disk); the
container's upper directory is not idmapped, so what the container writes lands on disk
with its host (mapped) ids, as with Docker's remapped layers.

runc 1.1.5 (Debian 12) has no idmapped-mount support in its config; it needs none here
because skiff mounts the rootfs itself before runc starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator, Sequence

from skiff.errors import SkiffError

SYS_OPEN_TREE = 428  # x86_64 and aarch64 (the new mount API has one number everywhere)
SYS_MOVE_MOUNT = 429
SYS_MOUNT_SETATTR = 442
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOUNT_ATTR_IDMAP = 0x100000
CLONE_NEWUSER = 0x10000000
MNT_DETACH = 0x2


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _lib() -> ctypes.CDLL:
    from skiff.libc import libc

    return libc()


def _fail(what: str) -> SkiffError:
    return SkiffError(what, os.strerror(ctypes.get_errno()))


def userns_fd(uid_map: Sequence[tuple[int, int, int]],
              gid_map: Sequence[tuple[int, int, int]]) -> int:
    """An open ``/proc/PID/ns/user`` of a new user namespace with these mappings
    (``(container_id, host_id, size)`` triples, as /proc/PID/uid_map lines). The process
    that made it is gone when this returns; the descriptor keeps the namespace.

    The process is util-linux's ``unshare --user sleep``, started with posix_spawn (about
    a millisecond; forking this Python process costs 15-30).

    Raises:
        SkiffError: the kernel refused the namespace or a mapping.
    """
    import shutil

    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    argv = [unshare, "--user", shutil.which("sleep") or "/bin/sleep", "60"]
    with ns_holder(argv, "user", "user namespace") as pid:
        try:
            with open(f"/proc/{pid}/uid_map", "w") as f:
                f.write("".join(f"{c} {h} {n}\n" for c, h, n in uid_map))
            with open(f"/proc/{pid}/setgroups", "w") as f:
                f.write("deny")
            with open(f"/proc/{pid}/gid_map", "w") as f:
                f.write("".join(f"{c} {h} {n}\n" for c, h, n in gid_map))
        except OSError as e:
            raise SkiffError("user namespace mapping", e.strerror or str(e)) from None
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)


@contextlib.contextmanager
def ns_holder(argv: list[str], kind: str, what: str) -> Iterator[int]:
    """Start ``argv`` (a util-linux ``unshare``/``nsenter`` chain ending in ``sleep``) with
    posix_spawn and yield its pid once it is in a new ``kind`` namespace (``user``,
    ``net``: /proc/PID/ns/KIND differs from this process's); killed and reaped on exit.

    Raises:
        SkiffError: ``what`` could not be made (spawn failed, the process died, or 5 s
            passed without the new namespace).
    """
    import time

    own = os.readlink(f"/proc/self/ns/{kind}")
    try:
        pid = os.posix_spawn(argv[0], argv, {})
    except OSError as e:
        raise SkiffError(what, f"{argv[0]}: {e.strerror or e}") from None
    try:
        end = time.monotonic() + 5
        while True:
            try:
                if os.readlink(f"/proc/{pid}/ns/{kind}") != own:
                    break
            except OSError:
                pass
            if os.waitpid(pid, os.WNOHANG)[0] or time.monotonic() > end:
                pid = 0
                raise SkiffError(what, f"{os.path.basename(argv[0])} failed")
            time.sleep(0.0002)
        yield pid
    finally:
        if pid:
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def idmapped_bind(source: str, target: str, ns_fd: int) -> None:
    """Bind ``source`` (recursively) on ``target`` through an idmapped mount whose mapping
    is the user namespace ``ns_fd``'s: on-disk id N appears as that namespace's host id
    for N (uid 0 → 100000 for ``0 100000 65536``).

    Raises:
        SkiffError: the kernel has no idmapped mounts, or the filesystem refuses them.
    """
    lib = _lib()
    fd = lib.syscall(SYS_OPEN_TREE, AT_FDCWD, source.encode(),
                     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)
    if fd < 0:
        raise _fail(f"open_tree {source}")
    try:
        attr = _MountAttr(MOUNT_ATTR_IDMAP, 0, 0, ns_fd)
        if lib.syscall(SYS_MOUNT_SETATTR, fd, b"", AT_EMPTY_PATH | AT_RECURSIVE,
                       ctypes.byref(attr), ctypes.sizeof(attr)) < 0:
            raise _fail(f"idmapped mount of {source}")
        if lib.syscall(SYS_MOVE_MOUNT, fd, b"", AT_FDCWD, target.encode(),
                       MOVE_MOUNT_F_EMPTY_PATH) < 0:
            raise _fail(f"move_mount {source} to {target}")
    finally:
        os.close(fd)


def mount_idmapped(mounts: Sequence, target: str, scratch: str,
                   uid_map: Sequence[tuple[int, int, int]],
                   gid_map: Sequence[tuple[int, int, int]], *, userns: str | None = None) -> None:
    """Mount the snapshotter's ``mounts`` on ``target`` with every overlay lower directory
    seen through an idmapped mount of the given mapping (see the module docstring).
    ``scratch`` is an empty directory for the short-lived layer mounts (removed after).
    Mounts that are not overlays are mounted as they are. ``userns``: an existing user
    namespace file with that mapping (a pinned one) instead of a new namespace.

    Raises:
        SkiffError: an idmapped or overlay mount failed (nothing stays mounted).
    """
    from skiff.snapshots.mount import map_lowerdirs, mount_all

    ns = (os.open(userns, os.O_RDONLY | os.O_CLOEXEC) if userns
          else userns_fd(uid_map, gid_map))
    layered: list[str] = []

    def bind(d: str) -> str:
        p = os.path.join(scratch, str(len(layered)))
        os.makedirs(p, exist_ok=True)
        idmapped_bind(d, p, ns)
        layered.append(p)
        return p

    from skiff.libc import sys_umount2

    try:
        mount_all(map_lowerdirs(mounts, bind), target)
    finally:
        os.close(ns)
        for p in reversed(layered):  # the overlay holds its own clones of them
            sys_umount2(p.encode(), MNT_DETACH)
            try:
                os.rmdir(p)
            except OSError:
                pass
        try:
            os.rmdir(scratch)
        except OSError:
            pass


def supported() -> bool:
    """True when this kernel offers idmapped mounts (mount_setattr exists)."""
    r = _lib().syscall(SYS_MOUNT_SETATTR, -1, b"", 0, None, 0)
    return not (r < 0 and ctypes.get_errno() == 38)  # ENOSYS
