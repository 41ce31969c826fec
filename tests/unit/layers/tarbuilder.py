"""Build layer tars in memory, hostile ones included (containerd pkg/archive/tartest shape).

Every method appends one entry exactly as asked — names are not cleaned, so ``../x``,
``/etc/passwd`` and symlink-then-file sequences go into the archive verbatim.

    data = TarBuilder().dir("etc").file("etc/hosts", b"x").symlink("bad", "../..").bytes()
"""

from __future__ import annotations

import gzip
import io
import tarfile

MTIME = 1_700_000_000  # a fixed time so archives are reproducible


class TarBuilder:
    def __init__(self, fmt: int = tarfile.PAX_FORMAT):
        self._buf = io.BytesIO()
        self._tf = tarfile.open(fileobj=self._buf, mode="w", format=fmt)
        self._done: bytes | None = None

    def _add(self, name: str, type_: bytes, *, mode: int, uid: int, gid: int, mtime: float,
             data: bytes = b"", linkname: str = "", xattrs: dict[str, bytes] | None = None,
             pax: dict[str, str] | None = None, major: int = 0, minor: int = 0) -> TarBuilder:
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = type_, mode, uid, gid, mtime
        ti.linkname, ti.devmajor, ti.devminor = linkname, major, minor
        headers = dict(pax or {})
        for k, v in (xattrs or {}).items():
            headers["SCHILY.xattr." + k] = v.decode("utf-8", "surrogateescape")
        ti.pax_headers = headers
        if type_ in (tarfile.REGTYPE, tarfile.AREGTYPE):
            ti.size = len(data)
            self._tf.addfile(ti, io.BytesIO(data))
        else:
            self._tf.addfile(ti)
        return self

    def file(self, name: str, data: bytes = b"", *, mode: int = 0o644, uid: int = 0,
             gid: int = 0, mtime: float = MTIME, xattrs: dict[str, bytes] | None = None,
             pax: dict[str, str] | None = None) -> TarBuilder:
        return self._add(name, tarfile.REGTYPE, mode=mode, uid=uid, gid=gid, mtime=mtime,
                         data=data, xattrs=xattrs, pax=pax)

    def dir(self, name: str, *, mode: int = 0o755, uid: int = 0, gid: int = 0,
            mtime: float = MTIME, xattrs: dict[str, bytes] | None = None) -> TarBuilder:
        return self._add(name, tarfile.DIRTYPE, mode=mode, uid=uid, gid=gid, mtime=mtime,
                         xattrs=xattrs)

    def symlink(self, name: str, target: str, *, uid: int = 0, gid: int = 0,
                mtime: float = MTIME) -> TarBuilder:
        return self._add(name, tarfile.SYMTYPE, mode=0o777, uid=uid, gid=gid, mtime=mtime,
                         linkname=target)

    def hardlink(self, name: str, target: str) -> TarBuilder:
        return self._add(name, tarfile.LNKTYPE, mode=0o644, uid=0, gid=0, mtime=MTIME,
                         linkname=target)

    def chardev(self, name: str, major: int, minor: int, *, mode: int = 0o666) -> TarBuilder:
        return self._add(name, tarfile.CHRTYPE, mode=mode, uid=0, gid=0, mtime=MTIME,
                         major=major, minor=minor)

    def blockdev(self, name: str, major: int, minor: int, *, mode: int = 0o660) -> TarBuilder:
        return self._add(name, tarfile.BLKTYPE, mode=mode, uid=0, gid=0, mtime=MTIME,
                         major=major, minor=minor)

    def fifo(self, name: str, *, mode: int = 0o644) -> TarBuilder:
        return self._add(name, tarfile.FIFOTYPE, mode=mode, uid=0, gid=0, mtime=MTIME)

    def whiteout(self, path: str) -> TarBuilder:
        """``DIR/.wh.NAME`` deleting ``DIR/NAME``."""
        d, _, base = path.rpartition("/")
        return self.file((d + "/" if d else "") + ".wh." + base, mode=0o600)

    def opaque(self, dirpath: str) -> TarBuilder:
        """``DIR/.wh..wh..opq``."""
        return self.file(dirpath.rstrip("/") + "/.wh..wh..opq", mode=0o600)

    def bytes(self) -> bytes:
        if self._done is None:
            self._tf.close()
            self._done = self._buf.getvalue()
        return self._done

    def stream(self, compression: str = "none") -> io.BytesIO:
        data = self.bytes()
        if compression == "gzip":
            data = gzip.compress(data, mtime=0)
        elif compression == "zstd":
            import zstandard

            data = zstandard.ZstdCompressor().compress(data)
        return io.BytesIO(data)
