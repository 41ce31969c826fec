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


def content_size(root: str | os.PathLike[str]) -> int:
    """Docker's size of the files under ``root`` (moby pkg/directory.Size and
    archive.ChangesSize): the apparent sizes (lstat) of the non-directory entries, a
    symlink counting its target's length, each inode once (hard links), not allocated
    blocks: an empty tree is 0B, a 1-byte file 1B. What a volume's prune reclaims, a rw
    layer's ``SizeRw`` and a built layer's SIZE. Entries that vanish meanwhile count 0."""
    total, seen = 0, set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if st.st_size and key not in seen:
                seen.add(key)
                total += st.st_size
    return total
