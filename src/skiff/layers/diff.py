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


def changes(upper: Path, lower) -> list[tuple[str, str]]:
    """What ``docker diff`` prints for a container: ('A'|'C'|'D', '/path') sorted by path.

    Follows Docker's overlay rules (moby pkg/archive changes.go with overlayDeletedFile):
    a 0/0 character device is 'D'; an opaque directory that exists in a lower layer is 'D'
    (its lower contents are gone; what it holds now is reported as 'A'/'C' below it);
    any other entry is 'C' when the path exists in a lower layer, else 'A' — except a
    directory whose size, mode and mtime equal the lower one's (a parent that overlayfs
    merely copied up), which is not reported.

    Args:
        upper: the snapshot's upper directory.
        lower: its lower directories, newest first (a Path or a list of them).
    """
    lowers = [os.fspath(lower)] if isinstance(lower, (str, os.PathLike)) else \
        [os.fspath(p) for p in lower]
    out: list[tuple[str, str]] = []
    with map_exceptions(f"diff {os.fspath(upper)}"):
        _changes(os.fspath(upper), "", lowers, out)
    out.sort(key=lambda c: os.fsencode(c[1]))
    return out


def _changes(abs_dir: str, rel_dir: str, lowers: list[str], out: list[tuple[str, str]]) -> None:
    for e in _sorted_entries(abs_dir):
        rel = f"{rel_dir}/{e.name}"
        st = e.stat(follow_symlinks=False)
        is_dir = stat.S_ISDIR(st.st_mode)
        if wh.is_overlay_whiteout(st):
            out.append(("D", rel))
            continue
        if is_dir and wh.is_overlay_opaque(e.path) and _exists_below(lowers, rel[1:]):
            out.append(("D", rel))
        else:
            kind = "A"
            for d in lowers:
                try:
                    lst = os.stat(os.path.join(d, rel[1:]))
                except (FileNotFoundError, NotADirectoryError):
                    continue
                if is_dir and stat.S_ISDIR(lst.st_mode) and lst.st_size == st.st_size and \
                        lst.st_mode == st.st_mode and lst.st_mtime_ns == st.st_mtime_ns:
                    kind = ""
                else:
                    kind = "C"
                break
            if kind:
                out.append((kind, rel))
        if is_dir:
            _changes(e.path, rel, lowers, out)
