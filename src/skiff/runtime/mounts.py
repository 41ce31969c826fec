"""Mounting a container's rootfs from the snapshotter's ``list[Mount]``.

skiff.snapshots owns :class:`Mount` and its ``mount_all``; this module adds a mount(2)
of its own for single mounts (through libc, no ``mount`` exec: this is on ``skiff run``'s
critical path).

A rootfs that is one plain read-write bind mount needs no mount at all: runc bind-mounts
``root.path`` itself, so :func:`rootfs_path` hands the source directory straight to it.
"""

from __future__ import annotations

import os

from skiff.errors import SkiffError
from skiff.snapshots.mount import Mount  # noqa: F401 - the mounts' type, for callers

TYPE_CHECKING = False  # (not typing's: the run path does not import collections)
if TYPE_CHECKING:
    from collections.abc import Sequence

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 0x2

_FLAGS = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
          "bind": MS_BIND, "rbind": MS_BIND | MS_REC}
_IGNORED = {"rw", "suid", "dev", "exec", "defaults"}



def _sys_mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    from skiff.libc import sys_mount

    e = sys_mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                  data.encode() if data else None)
    if e:
        raise SkiffError(f"mount {fstype or 'bind'} {source} on {target}", os.strerror(e))


def mount(m, target: str) -> None:
    """mount(2) one Mount on ``target``; ``bind`` mounts honour ``ro`` with a remount.

    Raises:
        SkiffError: the kernel refused (the message names source, target and errno text).
    """
    flags = 0
    data = []
    for opt in m.options:
        if opt in _FLAGS:
            flags |= _FLAGS[opt]
        elif opt in _IGNORED:
            continue
        else:
            data.append(opt)
    if m.type == "bind" or flags & MS_BIND:
        _sys_mount(m.source, target, None, (flags & (MS_BIND | MS_REC)) or MS_BIND, None)
        if flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC):
            _sys_mount("", target, None, MS_REMOUNT | MS_BIND | (flags & ~(MS_BIND | MS_REC)), None)
        return
    _sys_mount(m.source, target, m.type, flags, ",".join(data) or None)


def unmount(target: str, *, lazy: bool = True) -> None:
    """umount2(2) ``target`` (MNT_DETACH by default); not mounted is not an error."""
    from skiff.libc import sys_umount2

    e = sys_umount2(target.encode(), MNT_DETACH if lazy else 0)
    if e:
        if e in (22, 2):  # EINVAL: not a mount point; ENOENT
            return
        raise SkiffError(f"unmount {target}", os.strerror(e))


def is_plain_bind(mounts: Sequence) -> bool:
    """True for a single read-write bind mount (runc can take its source as root.path)."""
    return (len(mounts) == 1 and mounts[0].type in ("bind", "rbind")
            and "ro" not in mounts[0].options)


def mount_rootfs(mounts: Sequence, target: str) -> str:
    """Make ``mounts`` available as a rootfs; return the path to give runc as root.path.

    A plain bind mount is used in place (nothing mounted); anything else is mounted on
    ``target`` in order (the snapshotter's overlay). Undo with :func:`unmount_rootfs`.

    Raises:
        SkiffError: a mount failed (nothing stays mounted).
    """
    if not mounts:
        raise SkiffError("mount rootfs", "no mounts given")
    if is_plain_bind(mounts):
        return mounts[0].source
    # The snapshotter's own mount code: it also mounts overlays whose lowerdir list is
    # longer than a page (deep chains, e.g. 128 layers), and undoes partial mounts.
    from skiff.snapshots.mount import mount_all

    os.makedirs(target, exist_ok=True)
    mount_all(mounts, target)
    return target


def mount_rootfs_remapped(mounts: Sequence, target: str, m, *, userns: str,
                          idmap_dir: str, upper: str | None) -> str:
    """Mount a rootfs for a user-namespaced run at ``target``; return ``target``.

    ``m`` (skiff.runtime.userns.IdMapping): the mapping; ``userns``: its pinned namespace;
    ``upper``: the overlay's upper directory, made the remapped root's (it writes there);
    ``idmap_dir``: where the idmapped views of the layers go. The layers are seen through
    idmapped mounts, or as chowned copies of them (once per mapping) when the kernel has
    none or ``$SKIFF_USERNS_SHIFT=copy`` (skiff.snapshots.shifted). The caller makes the
    directories above ``target`` searchable for the remapped root (userns.make_searchable).
    """
    from skiff.snapshots import idmap, shifted

    if upper is not None:
        st = os.stat(upper)
        if (st.st_uid, st.st_gid) != tuple(m.root):
            os.chown(upper, *m.root)
    os.makedirs(target, exist_ok=True)
    if shifted.forced() or not idmap.supported():
        return mount_rootfs(shifted.shifted_mounts(mounts, m.uids, m.gids), target)
    idmap.mount_idmapped(mounts, target, idmap_dir, m.uids, m.gids, userns=userns)
    return target


def volatile(mounts: Sequence) -> list:
    """``mounts`` with overlayfs's ``volatile`` option added to the overlay ones (Linux
    5.10): no sync of the upper directory on unmount or syncfs. Only for a rw layer that
    is thrown away afterwards (``run --rm``): after a crash its contents are undefined.

    The kernel marks such a workdir (``work/incompat/volatile``) and refuses every later
    mount of it, even after a clean unmount; the mark of an earlier volatile mount of the
    same throw-away layer (a second start) is removed here first."""
    out = []
    for m in mounts:
        if m.type == "overlay" and "volatile" not in m.options:
            for opt in m.options:
                mark = os.path.join(opt[len("workdir="):], "work", "incompat", "volatile")
                if opt.startswith("workdir=") and os.path.isdir(mark):
                    import shutil

                    shutil.rmtree(mark, ignore_errors=True)
                    try:
                        os.rmdir(os.path.dirname(mark))  # (empty now unless other marks)
                    except OSError:
                        pass
            m = type(m)(m.type, m.source, (*m.options, "volatile"))
        out.append(m)
    return out


def unmount_rootfs(mounts: Sequence, target: str) -> None:
    """Undo :func:`mount_rootfs` (a no-op for a plain bind)."""
    if mounts and not is_plain_bind(mounts):
        for _ in mounts:
            unmount(target)
