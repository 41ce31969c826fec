"""Mounts as values: what a snapshot needs mounted, and the code that mounts it.

A :class:`Mount` is containerd's ``mount.Mount``: a filesystem type, a source and a tuple of
options in ``mount(8)`` spelling (``ro``, ``rbind``, ``lowerdir=...``). The snapshotter
returns them; the runtime and the builder mount them with :func:`mount_all` onto a rootfs
directory and undo that with :func:`unmount`.

Mounting uses mount(2) directly (skiff.libc.sys_mount): flags are split from filesystem data as
containerd's ``parseMountOptions`` does, and a read-only bind is made in two steps (bind,
then remount read-only) because the kernel ignores ``MS_RDONLY`` on the first bind.

overlayfs takes its options as one string of at most a page (4096 bytes). A deep chain
(128 layers under a long root path) exceeds that; then, as containerd's
``compactLowerdirOption`` does, the directories are made relative to their common parent and
a short-lived child process ``chdir``s there and mounts (the kernel resolves relative paths
against the caller's working directory).
"""

from __future__ import annotations

import errno
import os

from skiff.errors import InvalidArgument, SkiffError
from skiff.runtime.value import value

TYPE_CHECKING = False  # (not typing's: the run path does not import collections)
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
MNT_DETACH = 0x2

# option → (clear?, flag), as mount(8) and containerd's mount_linux.go spell them.
_FLAGS: dict[str, tuple[bool, int]] = {
    "async": (True, MS_SYNCHRONOUS), "atime": (True, MS_NOATIME), "bind": (False, MS_BIND),
    "defaults": (False, 0), "dev": (True, MS_NODEV), "diratime": (True, MS_NODIRATIME),
    "dirsync": (False, MS_DIRSYNC), "exec": (True, MS_NOEXEC), "mand": (False, MS_MANDLOCK),
    "noatime": (False, MS_NOATIME), "nodev": (False, MS_NODEV),
    "nodiratime": (False, MS_NODIRATIME), "noexec": (False, MS_NOEXEC),
    "nomand": (True, MS_MANDLOCK), "norelatime": (True, MS_RELATIME),
    "nostrictatime": (True, MS_STRICTATIME), "nosuid": (False, MS_NOSUID),
    "rbind": (False, MS_BIND | MS_REC), "relatime": (False, MS_RELATIME),
    "remount": (False, MS_REMOUNT), "ro": (False, MS_RDONLY), "rw": (True, MS_RDONLY),
    "strictatime": (False, MS_STRICTATIME), "suid": (True, MS_NOSUID),
    "sync": (False, MS_SYNCHRONOUS),
}
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@value
class Mount:
    """One mount, containerd-style.

    Attributes:
        type (str): filesystem type: ``"bind"`` or ``"overlay"`` from the snapshotter.
        source (str): what to mount: a directory for binds, ``"overlay"`` for overlayfs.
        options (tuple[str, ...]): mount(8) options, e.g. ``("rbind", "ro")`` or
            ``("workdir=...", "upperdir=...", "lowerdir=newest:...:oldest")``.
    """

    type: str
    source: str
    options: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """The OCI runtime-spec config.md ``mounts[]`` shape (without ``destination``)."""
        return {"type": self.type, "source": self.source, "options": list(self.options)}

    @property
    def readonly(self) -> bool:
        """True when the mount is read-only (``ro`` bind, or overlay without an upperdir)."""
        if self.type == "overlay":
            return not any(o.startswith("upperdir=") for o in self.options)
        return "ro" in self.options




def map_lowerdirs(mounts: Sequence[Mount], fn) -> list[Mount]:
    """``mounts`` with every overlay ``lowerdir=`` entry replaced by ``fn(dir)`` (called in
    order, top layer first, as the option lists them); other mounts and options as they are.
    For views of the same layers elsewhere: idmapped binds, shifted copies."""
    out = []
    for m in mounts:
        if m.type != "overlay":
            out.append(m)
            continue
        opts = tuple("lowerdir=" + ":".join(fn(d) for d in opt[len("lowerdir="):].split(":"))
                     if opt.startswith("lowerdir=") else opt for opt in m.options)
        out.append(Mount(m.type, m.source, opts))
    return out


def parse_options(options: Iterable[str]) -> tuple[int, str]:
    """Split mount(8) options into (MS_* flags, filesystem data string)."""
    flags = 0
    data: list[str] = []
    for o in options:
        f = _FLAGS.get(o)
        if f is None:
            data.append(o)
        elif f[0]:
            flags &= ~f[1]
        else:
            flags |= f[1]
    return flags, ",".join(data)


def _sys_mount(source: str, target: str, fstype: str, flags: int, data: str) -> int:
    """mount(2); returns 0 or the errno."""
    from skiff.libc import sys_mount

    return sys_mount(os.fsencode(source), os.fsencode(target), fstype.encode(), flags,
                     data.encode() if data else None)


def _compact_overlay(data: str) -> tuple[str, str]:
    """(working dir, data with lowerdir/upperdir/workdir relative to it)."""
    opts = data.split(",")
    paths: list[str] = []
    for o in opts:
        k, _, v = o.partition("=")
        if k == "lowerdir":
            paths.extend(v.split(":"))
        elif k in ("upperdir", "workdir"):
            paths.append(v)
    common = os.path.commonpath(paths) if paths else "/"
    if common in paths:  # every path must stay a real relative path, not "."
        common = os.path.dirname(common)

    def rel(p: str) -> str:
        return os.path.relpath(p, common)

    out = []
    for o in opts:
        k, _, v = o.partition("=")
        if k == "lowerdir":
            out.append("lowerdir=" + ":".join(rel(p) for p in v.split(":")))
        elif k in ("upperdir", "workdir"):
            out.append(f"{k}={rel(v)}")
        else:
            out.append(o)
    return common, ",".join(out)


def _mount_in(cwd: str, source: str, target: str, fstype: str, flags: int, data: str) -> int:
    """mount(2) from a child process whose working directory is ``cwd``; returns an errno."""
    from skiff.libc import sys_mount

    args = (os.fsencode(source), os.fsencode(target), fstype.encode(), flags, data.encode())
    pid = os.fork()
    if pid == 0:  # child: no Python-level work beyond the syscall
        try:
            os.chdir(cwd)
            os._exit(sys_mount(*args))
        except BaseException:
            os._exit(255)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def mount(m: Mount, target: str | os.PathLike[str]) -> None:
    """Mount one :class:`Mount` on the directory ``target``.

    Raises:
        InvalidArgument: a mount type skiff does not know.
        SkiffError: mount(2) failed (the message names the target and the errno text).
    """
    target = os.path.abspath(os.fspath(target))
    flags, data = parse_options(m.options)
    if m.type == "bind" or flags & MS_BIND:
        flags |= MS_BIND
        err = _sys_mount(m.source, target, "none", flags & ~MS_RDONLY, "")
        if not err and flags & MS_RDONLY:
            err = _sys_mount("", target, "", flags | MS_REMOUNT, "")
            if err:
                _umount(target, MNT_DETACH)
    elif m.type == "overlay":
        if len(data) + 1 > PAGE_SIZE:
            cwd, short = _compact_overlay(data)
            if len(short) + 1 > PAGE_SIZE:
                raise InvalidArgument(f"mount overlay on {target}",
                                      f"options too long ({len(short)} bytes) even when compacted")
            err = _mount_in(cwd, m.source, target, "overlay", flags, short)
        else:
            err = _sys_mount(m.source, target, "overlay", flags, data)
    elif m.type in ("tmpfs", "proc", "sysfs", "devpts", "mqueue"):
        err = _sys_mount(m.source, target, m.type, flags, data)
    else:
        raise InvalidArgument(f"mount {m.source} on {target}", f"unsupported mount type {m.type!r}")
    if err:
        raise SkiffError(f"mount {m.type} on {target}", os.strerror(err))


def mount_all(mounts: Sequence[Mount], target: str | os.PathLike[str]) -> None:
    """Mount ``mounts`` in order on ``target`` (a snapshot's mounts: normally one).

    On failure the mounts already made are undone before the error is raised.

    Raises:
        SkiffError / InvalidArgument: as :func:`mount`.
    """
    done = 0
    try:
        for m in mounts:
            mount(m, target)
            done += 1
    except BaseException:
        for _ in range(done):
            _umount(os.fspath(target), MNT_DETACH)
        raise


def _umount(target: str, flags: int = 0) -> int:
    from skiff.libc import sys_umount2

    return sys_umount2(os.fsencode(target), flags)


def unmount(target: str | os.PathLike[str], *, detach: bool = False) -> None:
    """Unmount everything mounted on ``target`` (stacked mounts too, newest first).

    Unmounting a directory that has nothing mounted (or does not exist) is a no-op.

    Args:
        detach: lazy unmount (``MNT_DETACH``), for a mount still in use.

    Raises:
        Conflict: the mount is busy (a process still uses it) and ``detach`` is False.
        SkiffError: any other umount2(2) failure.
    """
    from skiff.errors import Conflict

    t = os.path.abspath(os.fspath(target))
    for _ in range(64):
        err = _umount(t, MNT_DETACH if detach else 0)
        if err in (errno.EINVAL, errno.ENOENT):
            return
        if err == errno.EBUSY:
            raise Conflict(f"unmount {t}", os.strerror(err))
        if err:
            raise SkiffError(f"unmount {t}", os.strerror(err))
    raise SkiffError(f"unmount {t}", "too many stacked mounts")
