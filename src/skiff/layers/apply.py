"""Apply a layer tar to a directory: safe extraction with OCI whiteouts.

A layer (image-spec layer.md) is a tar, possibly gzip/zstd compressed, of a filesystem
changeset. :func:`apply_layer` extracts one onto ``root``:

- entries keep their mode (incl. setuid/setgid/sticky), numeric uid/gid (names are
  ignored, as Docker does), xattrs (PAX ``SCHILY.xattr.*``; ``trusted.overlay.*`` from the
  archive is dropped), mtimes (nanoseconds when the PAX header has them; directories get
  theirs after all their children are written), hardlinks, symlinks, device nodes and FIFOs;
- an entry replaces what was at its path, except a directory over a directory, which is
  merged (the directory's metadata is updated);
- whiteouts are applied (see :mod:`skiff.layers.whiteouts`): with ``whiteouts="delete"``
  (a full root filesystem) the hidden paths are removed; with ``whiteouts="overlay"`` (an
  overlayfs upper directory, what the snapshotter unpacks into) they become 0/0 character
  devices and ``trusted.overlay.opaque=y``, so the kernel hides the lower layers;
- nothing is written outside ``root``; entries that would land outside it are refused with
  InvalidArgument (rules in :mod:`skiff.layers.safety`).

Not being root (no CAP_CHOWN/CAP_MKNOD), ownership is left as the caller's and device nodes
are skipped, as Docker does in a user namespace.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from skiff.errors import InvalidArgument, SkiffError
from skiff.layers import whiteouts as wh
from skiff.layers.compression import decompressed
from skiff.layers.safety import Resolver, clean_name, join, split

CHUNK = 1 << 20
_O_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What :func:`apply_tar` read.

    Attributes:
        size (int): bytes of uncompressed tar read (to the end of the stream).
        diff_id (str): sha256 of those bytes (image-spec config.md ``rootfs.diff_ids``).
        entries (int): tar entries processed (whiteouts included).
    """

    size: int
    diff_id: str
    entries: int


def apply_layer(root: Path, stream: BinaryIO, *, whiteouts: str = "delete") -> int:
    """Extract the layer tar ``stream`` (any compression) onto the directory ``root``.

    Args:
        root: an existing directory: a root filesystem (``whiteouts="delete"``) or an
            overlayfs upperdir that is not mounted (``whiteouts="overlay"``).
        stream: readable binary stream of the layer blob (tar, tar+gzip, tar+zstd, ...).
        whiteouts: ``"delete"`` or ``"overlay"`` (see the module docstring).

    Returns:
        Bytes of uncompressed tar read (the stream is read to its end).

    Raises:
        InvalidArgument: a corrupt or truncated archive, an entry that would land outside
            ``root``, an unsupported entry type, a hardlink to a missing file.
        SkiffError: an OS error while writing (e.g. no space left on device).
    """
    return apply_tar(root, stream, whiteouts=whiteouts).size


def apply_tar(root: Path, stream: BinaryIO, *, whiteouts: str = "delete") -> ApplyResult:
    """:func:`apply_layer`, also returning the diffID and entry count (see ApplyResult).

    The snapshotter's unpack uses the diffID to check the layer against the image config.
    """
    if whiteouts not in ("delete", "overlay"):
        raise ValueError(f"whiteouts must be 'delete' or 'overlay', not {whiteouts!r}")
    raw = _HashingReader(stream, hashing=False)
    src = _HashingReader(decompressed(raw))
    applier = _Applier(str(root), overlay=whiteouts == "overlay")
    try:
        applier.run(src, empty_input=lambda: raw.n == 0)
        while src.read(CHUNK):  # the rest of the stream counts towards the diffID
            pass
    except SkiffError:
        raise
    except (tarfile.TarError, EOFError) as e:
        raise InvalidArgument("layer", f"invalid tar archive: {e}") from e
    except zlib.error as e:
        raise InvalidArgument("layer", f"invalid compressed stream: {e}") from e
    except OSError as e:
        if e.filename is None and e.errno is None:  # decompressor errors (gzip, lzma)
            raise InvalidArgument("layer", f"invalid compressed stream: {e}") from e
        what = f"applying layer: {e.filename}" if e.filename else "applying layer"
        if e.errno == errno.ENOSPC:
            raise SkiffError(what, "no space left on device") from e
        raise SkiffError(what, e.strerror or str(e)) from e
    except Exception as e:
        if type(e).__name__ in ("ZstdError", "LZMAError"):  # modules imported only if used
            raise InvalidArgument("layer", f"invalid compressed stream: {e}") from e
        raise
    return ApplyResult(size=src.n, diff_id="sha256:" + src.h.hexdigest(), entries=applier.count)


class _HashingReader:
    """Counts (and hashes, unless told not to) what is read through it."""

    def __init__(self, f, *, hashing: bool = True):
        self.f = f
        self.h = hashlib.sha256() if hashing else None
        self.n = 0

    def read(self, n: int = -1) -> bytes:
        b = self.f.read(n)
        if self.h is not None:
            self.h.update(b)
        self.n += len(b)
        return b


def _mtime_ns(m: tarfile.TarInfo) -> int:
    s = m.pax_headers.get("mtime")
    if s:
        whole, _, frac = s.partition(".")
        try:
            return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])
        except ValueError:
            pass
    return int(m.mtime * 1_000_000_000) if isinstance(m.mtime, float) else int(m.mtime) * 1_000_000_000


def _xattrs(m: tarfile.TarInfo) -> list[tuple[str, bytes]]:
    out = []
    for k, v in m.pax_headers.items():
        if k.startswith("SCHILY.xattr."):
            name = k[len("SCHILY.xattr."):]
            if name.startswith(wh.OVERLAY_XATTR_PREFIX):
                continue  # never let an archive steer overlayfs (redirects, opaque)
            out.append((name, v.encode("utf-8", "surrogateescape")))
    return out


class _Applier:
    def __init__(self, root: str, *, overlay: bool):
        if not os.path.isdir(root):
            raise InvalidArgument(f"layer root {root}", "not a directory")
        self.overlay = overlay
        self.created: set[str] = set()  # real relative paths this layer wrote
        self.res = Resolver(root, on_mkdir=self.created.add)
        self.privileged = os.geteuid() == 0
        self.dir_times: list[tuple[str, int]] = []
        self.count = 0

    # -- driver ------------------------------------------------------------------------
    def run(self, src, empty_input) -> None:
        try:
            tf = tarfile.open(fileobj=src, mode="r|")
        except tarfile.ReadError as e:
            # An empty blob is an empty layer. A compressed stream that decompresses to
            # nothing is not: python-zstandard returns no data, and no error, for a frame
            # cut short.
            if empty_input():
                return
            raise InvalidArgument("layer", f"invalid tar archive: {e}") from e
        with tf:
            for m in tf:
                self.count += 1
                self.entry(tf, m)
        # Directory mtimes last (writing children changes them). A directory may since have
        # been removed or replaced (by a file, or by a symlink pointing out): re-resolve its
        # real path inside the root and skip it unless it is still that same directory.
        self.res.invalidate()
        for real, ns in reversed(self.dir_times):
            try:
                if self.res.dir(real, create=False) != real:
                    continue
            except (FileNotFoundError, InvalidArgument):
                continue
            os.utime(self.res.abs(real), ns=(ns, ns), follow_symlinks=False)

    def entry(self, tf: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        rel = clean_name(m.name)
        if rel == "":
            if m.isdir():
                self.meta(self.res.root, m, real="")
            return
        dname, base = split(rel)
        if wh.is_whiteout_name(base):
            self.whiteout(dname, base)
            return
        pdir, _ = self.res.parent(rel)
        real = join(pdir, base)
        path = self.res.abs(real)
        try:
            old = os.lstat(path)
        except FileNotFoundError:
            old = None

        if m.isdir():
            if old is not None and not stat.S_ISDIR(old.st_mode):
                self.remove(path, old)
                old = None
            if old is None:
                os.mkdir(path, 0o700)
            self.created.add(real)
            self.meta(path, m, real=real)
            return

        if m.islnk():
            self.hardlink(m, path, old)
            self.created.add(real)
            return

        if old is not None:
            self.remove(path, old)
        if m.isreg():
            fd = os.open(path, _O_CREATE, 0o600)
            try:
                src = tf.extractfile(m)
                with open(fd, "wb", closefd=False) as out:
                    shutil.copyfileobj(src, out, CHUNK)
                self.meta(path, m, fd=fd)
            finally:
                os.close(fd)
        elif m.issym():
            os.symlink(m.linkname, path)
            self.meta(path, m, symlink=True)
        elif m.ischr() or m.isblk():
            if not self.privileged:
                return
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            os.mknod(path, kind | 0o600, os.makedev(m.devmajor, m.devminor))
            self.meta(path, m)
        elif m.isfifo():
            os.mkfifo(path, 0o600)
            self.meta(path, m)
        else:
            raise InvalidArgument(f"layer entry {m.name!r}", f"unsupported tar entry type {m.type!r}")
        self.created.add(real)

    # -- entry kinds -------------------------------------------------------------------
    def hardlink(self, m: tarfile.TarInfo, path: str, old: os.stat_result | None) -> None:
        target = clean_name(m.linkname)
        if target == "":
            raise InvalidArgument(f"layer entry {m.name!r}", "hardlink to the root directory")
        try:
            tdir, tbase = self.res.parent(target, create=False)
            tpath = self.res.abs(join(tdir, tbase))
            tst = os.lstat(tpath)
        except FileNotFoundError as e:
            raise InvalidArgument(f"layer entry {m.name!r}",
                                  f"hardlink target {m.linkname!r} not found") from e
        if stat.S_ISDIR(tst.st_mode):
            raise InvalidArgument(f"layer entry {m.name!r}", "hardlink to a directory")
        if old is not None:
            if (old.st_dev, old.st_ino) == (tst.st_dev, tst.st_ino):
                return
            self.remove(path, old)
        try:
            os.link(tpath, path, follow_symlinks=False)
        except FileNotFoundError as e:  # the target was inside what the entry replaced
            raise InvalidArgument(f"layer entry {m.name!r}",
                                  f"hardlink target {m.linkname!r} not found") from e

    def whiteout(self, dname: str, base: str) -> None:
        if base == wh.WHITEOUT_OPAQUE:
            real_dir = self.res.dir(dname)
            path = self.res.abs(real_dir)
            if self.overlay:
                wh.mark_overlay_opaque(path)
                return
            with os.scandir(path) as it:
                children = [e.name for e in it]
            for name in children:
                if join(real_dir, name) not in self.created:
                    p = os.path.join(path, name)
                    self.remove(p, os.lstat(p))
            return
        target = wh.whiteout_target(base)
        if target is None or target in ("", ".", ".."):
            return  # AUFS metadata (.wh..wh.plnk, ...): ignored as Docker does
        try:
            real_dir = self.res.dir(dname, create=self.overlay)
        except FileNotFoundError:
            return  # deleting below a directory that does not exist: nothing to do
        path = self.res.abs(join(real_dir, target))
        try:
            old = os.lstat(path)
        except FileNotFoundError:
            old = None
        if old is not None:
            self.remove(path, old)
        if self.overlay:
            wh.make_overlay_whiteout(path)

    def remove(self, path: str, st: os.stat_result) -> None:
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(path)
            self.res.invalidate()
        else:
            os.unlink(path)
            if stat.S_ISLNK(st.st_mode):
                self.res.invalidate()

    def meta(self, path: str, m: tarfile.TarInfo, *, fd: int | None = None,
             real: str | None = None, symlink: bool = False) -> None:
        """Ownership, then mode (chown clears setuid), then xattrs (chown clears
        security.capability), then mtime (deferred for directories: ``real`` is the
        directory's real relative path)."""
        target = fd if fd is not None else path
        if self.privileged:
            if fd is not None:
                os.fchown(fd, m.uid, m.gid)
            else:
                os.chown(path, m.uid, m.gid, follow_symlinks=False)
        if not symlink:
            os.chmod(target, m.mode & 0o7777)
        for name, value in _xattrs(m):
            try:
                if fd is not None:
                    os.setxattr(fd, name, value)
                else:
                    os.setxattr(path, name, value, follow_symlinks=False)
            except OSError as e:
                if e.errno not in (errno.ENOTSUP, errno.EPERM):
                    raise
        ns = _mtime_ns(m)
        if real is not None:
            self.dir_times.append((real, ns))
        elif fd is not None:
            os.utime(fd, ns=(ns, ns))
        else:
            os.utime(path, ns=(ns, ns), follow_symlinks=False)
