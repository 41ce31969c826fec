"""Diff: an overlayfs upper directory back into an OCI layer tar, and ``skiff diff`` changes.

:func:`write_layer` is the inverse of :func:`skiff.layers.apply.apply_layer` in overlay mode:
it walks the upper directory and writes each entry as a tar header (+ data), translating
the kernel's whiteouts into OCI ones (image-spec layer.md "Whiteouts"):

- a 0/0 character device ``DIR/NAME`` → an empty regular file ``DIR/.wh.NAME`` (mode 0600,
  the device's uid/gid/mtime), as Docker's overlay driver writes it;
- a directory with ``trusted.overlay.opaque=y`` → the directory's entry followed by
  ``DIR/.wh..wh..opq`` (the directory's permission bits, uid/gid and mtime).

The output is deterministic — the same tree always gives the same bytes, so the same
diffID: entries in depth-first order with each directory's children sorted by their byte
names, PAX format, numeric uid/gid only (no user/group names), mtimes truncated to whole
seconds and no atime/ctime (as Docker's archive package does), hardlinked files written
once and then as links to the first name in that order. Xattrs are kept except
``trusted.overlay.*`` and ``security.selinux`` (host labelling, not image content).
"""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path
from typing import BinaryIO

from skiff.errors import SkiffError, map_exceptions
from skiff.layers import whiteouts as wh

CHUNK = 1 << 20
_SKIP_XATTRS = ("trusted.overlay.", "security.selinux")


def _sorted_entries(path: str) -> list[os.DirEntry]:
    with os.scandir(path) as it:
        return sorted(it, key=lambda e: os.fsencode(e.name))


def _xattr_records(path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for name in sorted(names):
        if name.startswith(_SKIP_XATTRS):
            continue
        try:
            value = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
        out["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
    return out


def _header(name: str, st: os.stat_result) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.mode = stat.S_IMODE(st.st_mode)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.uname = ti.gname = ""
    ti.mtime = int(st.st_mtime)
    return ti


def write_layer(upper: Path, out: BinaryIO, *, lower: list[Path] = ()) -> None:
    """Write the overlay upperdir ``upper`` to ``out`` as an uncompressed OCI layer tar.

    Args:
        upper: an overlayfs upper directory (quiescent: nothing writing to it).
        out: writable binary stream; receives the tar (compress it with
            :func:`skiff.layers.compression.compress_layer` if needed).
        lower: the snapshot's lower directories (any order). When given, whiteouts that hide
            nothing in any of them are left out (a tree written by hand rather than by
            overlayfs may carry such whiteouts); otherwise every whiteout is written.

    Raises:
        NotFound: ``upper`` does not exist.
        SkiffError: it cannot be read.
    """
    upper_s = os.fspath(upper)
    lowers = [os.fspath(p) for p in lower]
    with map_exceptions(f"diff {upper_s}"):
        tw = _TarWriter(out)
        _write_tree(tw, "", upper_s, lowers, {})
        tw.close()


class _TarWriter:
    """Writes PAX headers (``TarInfo.tobuf``) and file data straight to ``out``.

    (tarfile's stream mode re-slices its buffer for every chunk, and ``addfile`` copies
    each header; for a layer of thousands of files that is most of the time.) The archive
    ends with two zero blocks, as Go's archive/tar writes it.
    """

    def __init__(self, out: BinaryIO):
        self.out = out

    def addfile(self, ti: tarfile.TarInfo, f: BinaryIO | None = None) -> None:
        self.out.write(ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
        if f is None:
            return
        left = ti.size
        while left:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                raise SkiffError(f"diff: {ti.name}", "file shrank while being read")
            self.out.write(chunk)
            left -= len(chunk)
        pad = -ti.size % tarfile.BLOCKSIZE
        if pad:
            self.out.write(b"\0" * pad)

    def close(self) -> None:
        self.out.write(b"\0" * (2 * tarfile.BLOCKSIZE))


def _exists_below(lower: list[str], rel: str) -> bool:
    return any(os.path.lexists(os.path.join(d, rel)) for d in lower)


def _write_tree(tw: _TarWriter, rel_dir: str, abs_dir: str, lower: list[str],
                seen: dict[tuple[int, int], str]) -> None:
    """Depth-first, children sorted by bytes: a directory's entry precedes its contents."""
    prefix = rel_dir + "/" if rel_dir else ""
    for e in _sorted_entries(abs_dir):
        rel = prefix + e.name
        st = e.stat(follow_symlinks=False)
        if wh.is_overlay_whiteout(st):
            if lower and not _exists_below(lower, rel):
                continue
            ti = _header(prefix + wh.WHITEOUT_PREFIX + e.name, st)
            ti.type, ti.mode, ti.size = tarfile.REGTYPE, 0o600, 0
            tw.addfile(ti)
            continue
        ti = _header(rel, st)
        records = _xattr_records(e.path)
        if records:
            ti.pax_headers = records
        if stat.S_ISDIR(st.st_mode):
            ti.type = tarfile.DIRTYPE
            tw.addfile(ti)
            if wh.is_overlay_opaque(e.path):
                o = _header(f"{rel}/{wh.WHITEOUT_OPAQUE}", st)
                o.type, o.size = tarfile.REGTYPE, 0
                tw.addfile(o)
            _write_tree(tw, rel, e.path, lower, seen)
        else:
            _write_leaf(tw, ti, e.path, st, seen)


def _write_leaf(tw: _TarWriter, ti: tarfile.TarInfo, path: str, st: os.stat_result,
                seen: dict[tuple[int, int], str]) -> None:
    mode = st.st_mode
    if st.st_nlink > 1:
        key = (st.st_dev, st.st_ino)
        first = seen.get(key)
        if first is not None:
            ti.type, ti.linkname, ti.size = tarfile.LNKTYPE, first, 0
            tw.addfile(ti)
            return
        seen[key] = ti.name
    if stat.S_ISREG(mode):
        ti.type, ti.size = tarfile.REGTYPE, st.st_size
        with open(path, "rb", buffering=0) as f:
            tw.addfile(ti, f)
    elif stat.S_ISLNK(mode):
        ti.type, ti.linkname = tarfile.SYMTYPE, os.readlink(path)
        tw.addfile(ti)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        ti.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
        ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        tw.addfile(ti)
    elif stat.S_ISFIFO(mode):
        ti.type = tarfile.FIFOTYPE
        tw.addfile(ti)
    # sockets cannot be represented in a layer and are skipped, as Docker does


def changes(upper: Path, lower, *, skip: frozenset[str] = frozenset()
            ) -> list[tuple[str, str]]:
    """What ``docker diff`` prints for a container: ('A'|'C'|'D', '/path') sorted by path.

    Docker's overlay2 driver answers ``Changes`` with moby's naive tree diff (pkg/archive
    ``ChangesDirs``; overlay2 uses it since moby#37313): the container's tree is compared
    with the image's, path by path. Only paths in the upper directory can differ, so those
    are compared with the merged lower view:

    - a path only in the container is 'A' (everything below an added directory too);
    - a path gone from it is 'D' (a whiteout; the old entries of a directory the container
      replaced, i.e. an opaque one — each once, not what was below them);
    - a path in both is 'C' when its mode, owner, device number or ``security.capability``
      differ, or, not for directories, its size or mtime (whole seconds when either side
      has no nanoseconds); a directory copied up whose own metadata is the same, or whose
      mtime alone moved, is not a change;
    - every directory holding a change is 'C' (unless it is one itself), up to ``/``.

    Args:
        upper: the snapshot's upper directory.
        lower: its lower directories, newest first (a Path or a list of them).
        skip: '/path's left out entirely, with what is below them (the runtime's own
            mount points, which Docker keeps in a layer of its own below the container's).
    """
    lowers = [os.fspath(lower)] if isinstance(lower, (str, os.PathLike)) else \
        [os.fspath(p) for p in lower]
    out: list[tuple[str, str]] = []
    with map_exceptions(f"diff {os.fspath(upper)}"):
        _changes(os.fspath(upper), "", lowers, out, False, skip, False)
    out.sort(key=lambda c: os.fsencode(c[1]))
    return out


def _changes(abs_dir: str, rel_dir: str, lowers: list[str], out: list[tuple[str, str]],
             replaced: bool, skip: frozenset[str], added: bool) -> bool:
    """Append the changes below ``rel_dir``; True when there was any. ``replaced``: the
    directory hides what the lowers had there (it is, or is below, an opaque directory),
    so the old entries it does not have any more are deletions; ``added``: the lowers have
    no such directory (all below is 'A', nothing to look up)."""
    found = False
    entries = _sorted_entries(abs_dir)
    if replaced and rel_dir:
        have = {e.name for e in entries}
        for name in sorted(_lower_names(lowers, rel_dir[1:]), key=os.fsencode):
            if name not in have and f"{rel_dir}/{name}" not in skip:
                out.append(("D", f"{rel_dir}/{name}"))
                found = True
    for e in entries:
        rel = f"{rel_dir}/{e.name}"
        if rel in skip:
            continue
        st = e.stat(follow_symlinks=False)
        old = None if added else _lower_lstat(lowers, rel[1:])
        if wh.is_overlay_whiteout(st):
            if old is not None:
                out.append(("D", rel))
                found = True
            continue
        is_dir = stat.S_ISDIR(st.st_mode)
        if old is None:
            kind = "A"
        elif _naive_differs(old[0], old[1], st, e.path):
            kind = "C"
        else:
            kind = ""
        if kind:
            out.append((kind, rel))
            found = True
        if is_dir:
            opaque = old is not None and stat.S_ISDIR(old[0].st_mode) and (
                replaced or wh.is_overlay_opaque(e.path))
            if _changes(e.path, rel, lowers, out, opaque, skip, old is None) and not kind:
                out.append(("C", rel))
                found = True
    return found


def _lower_lstat(lowers: list[str], rel: str) -> tuple[os.stat_result, str] | None:
    """(lstat, host path) of ``rel`` as the merged lower directories show it; None when it
    is not there (absent, whited out, or hidden by an opaque directory above it)."""
    parts = rel.split("/")
    for d in lowers:
        p = os.path.join(d, rel)
        try:
            st = os.lstat(p)
        except (FileNotFoundError, NotADirectoryError):
            st = None
        if st is not None:
            return None if wh.is_overlay_whiteout(st) else (st, p)
        # not in this layer: does this layer hide it from the ones below (a whiteout, a
        # file or an opaque directory in its place above it)?
        for i in range(1, len(parts)):
            anc = os.path.join(d, *parts[:i])
            try:
                ast = os.lstat(anc)
            except (FileNotFoundError, NotADirectoryError):
                break
            if not stat.S_ISDIR(ast.st_mode) or wh.is_overlay_opaque(anc):
                return None
    return None


def _lower_names(lowers: list[str], rel: str) -> set[str]:
    """The names the merged lower directories show in directory ``rel``."""
    names: set[str] = set()
    gone: set[str] = set()
    for d in lowers:
        p = os.path.join(d, rel)
        try:
            entries = _sorted_entries(p)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for e in entries:
            if e.name in names or e.name in gone:
                continue
            if wh.is_overlay_whiteout(e.stat(follow_symlinks=False)):
                gone.add(e.name)
            else:
                names.add(e.name)
        if wh.is_overlay_opaque(p):
            break
    return names


def _same_time(a: int, b: int) -> bool:
    """moby sameFsTimeSpec: equal, or equal seconds when either has no nanoseconds."""
    return a == b or (a // 10**9 == b // 10**9 and (a % 10**9 == 0 or b % 10**9 == 0))


def _capability(path: str) -> bytes | None:
    try:
        return os.getxattr(path, "security.capability", follow_symlinks=False)
    except OSError:
        return None


def _naive_differs(old: os.stat_result, old_path: str, new: os.stat_result,
                   new_path: str) -> bool:
    """moby changes.go addChanges: mode, uid, gid, rdev, capability; size and mtime for
    everything but directories."""
    if (old.st_mode != new.st_mode or old.st_uid != new.st_uid or old.st_gid != new.st_gid
            or old.st_rdev != new.st_rdev):
        return True
    if not stat.S_ISDIR(new.st_mode) and (
            old.st_size != new.st_size or not _same_time(old.st_mtime_ns, new.st_mtime_ns)):
        return True
    return _capability(old_path) != _capability(new_path)
