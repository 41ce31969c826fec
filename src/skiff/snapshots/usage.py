"""Disk usage of a directory tree, as ``du`` counts it (containerd continuity fs.DiskUsage)."""

from __future__ import annotations

import os
import stat

from skiff.runtime.value import value


@value
class Usage:
    """Attributes: size (int): bytes allocated (st_blocks × 512, each inode once);
    inodes (int): distinct inodes, the top directory included."""

    size: int
    inodes: int


def disk_usage(root: str | os.PathLike[str],
               seen: set[tuple[int, int]] | None = None) -> Usage:
    """Walk ``root`` without following symlinks or crossing into other filesystems'
    mounts, counting each (dev, inode) once (hardlinks) — the figure ``du -s`` prints × 1024.

    ``seen`` (optional, updated in place) shares the once-per-inode rule across calls, as
    one ``du`` over several paths does: an inode seen before counts nothing and is not
    entered again. ``inodes`` is the number of inodes this call counted. A missing
    ``root`` counts as zero; unreadable directories are skipped.
    """
    seen = set() if seen is None else seen
    try:
        st = os.lstat(root)
    except FileNotFoundError:
        return Usage(0, 0)
    if (st.st_dev, st.st_ino) in seen:
        return Usage(0, 0)
    before = len(seen)
    dev = st.st_dev
    seen.add((st.st_dev, st.st_ino))
    size = st.st_blocks * 512
    stack = [os.fspath(root)] if stat.S_ISDIR(st.st_mode) else []
    while stack:
        d = stack.pop()
        try:
            it = os.scandir(d)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        with it:
            for e in it:
                try:
                    s = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                k = (s.st_dev, s.st_ino)
                if k in seen:
                    continue
                seen.add(k)
                size += s.st_blocks * 512
                if e.is_dir(follow_symlinks=False) and s.st_dev == dev:
                    stack.append(e.path)
    return Usage(size=size, inodes=len(seen) - before)
