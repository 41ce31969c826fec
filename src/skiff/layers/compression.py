"""Layer compression: detect, decompress and compress streams (gzip, zstd, none).

Media types map as image-spec layer.md does: ``...tar`` (none), ``...tar+gzip``,
``...tar+zstd``; Docker's ``...rootfs.diff.tar.gzip`` is gzip. Detection is by magic
bytes, so a mislabelled blob still opens.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from dataclasses import dataclass
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
CHUNK = 1 << 20


def detect(head: bytes) -> str:
    """Compression of a stream from its first bytes: 'gzip', 'zstd', 'bzip2', 'xz' or 'none'."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if head.startswith(BZIP2_MAGIC):
        return "bzip2"
    if head.startswith(XZ_MAGIC):
        return "xz"
    return "none"


def decompressed(f: BinaryIO) -> BinaryIO:
    """A readable stream of ``f``'s content with any compression removed (streaming).

    Raises:
        skiff.errors.InvalidArgument: never here; corrupt data fails on read with
            ``OSError``/``EOFError``/``zstd.ZstdError``, which callers translate.
    """
    buffered = f if isinstance(f, io.BufferedReader) else io.BufferedReader(_Raw(f), CHUNK)
    kind = detect(buffered.peek(8)[:8])
    if kind == "gzip":
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    if kind == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True)
    if kind == "bzip2":
        import bz2

        return bz2.BZ2File(buffered, "rb")  # type: ignore[return-value]
    if kind == "xz":
        import lzma

        return lzma.LZMAFile(buffered, "rb")  # type: ignore[return-value]
    return buffered


class _Raw(io.RawIOBase):
    """Adapter so any object with ``read`` can sit under a BufferedReader."""

    def __init__(self, f):
        self._f = f

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._f.read(len(b))
        n = len(data)
        b[:n] = data
        return n


@dataclass(frozen=True, slots=True)
class CompressedLayer:
    """Result of :func:`compress_layer`.

    Attributes:
        diff_id (str): sha256 of the uncompressed tar (image-spec config.md rootfs.diff_ids).
        digest (str): sha256 of the compressed bytes written (the blob's digest).
        size (int): compressed size in bytes.
        uncompressed_size (int): tar size in bytes.
    """

    diff_id: str
    digest: str
    size: int
    uncompressed_size: int


class _HashingWriter:
    def __init__(self, out: BinaryIO):
        self.out = out
        self.h = hashlib.sha256()
        self.n = 0

    def write(self, b) -> int:
        self.h.update(b)
        self.n += len(b)
        return self.out.write(b) or len(b)

    def flush(self) -> None:
        self.out.flush()


def compress_layer(tar: BinaryIO, out: BinaryIO, algorithm: str = "gzip",
                   level: int | None = None) -> CompressedLayer:
    """Stream an uncompressed tar from ``tar`` into ``out`` compressed; hash both sides.

    Args:
        tar: readable uncompressed tar stream.
        out: writable binary stream that receives the blob bytes.
        algorithm: 'gzip' (default, as Docker pushes), 'zstd' or 'none'.
        level: compression level; default gzip 1 (fast, like containerd's pigz default is 6
            but skiff favours speed), zstd 3.

    Memory stays at a few MiB whatever the layer size.
    """
    hw = _HashingWriter(out)
    th = hashlib.sha256()
    tn = 0
    if algorithm == "gzip":
        # mtime=0 and no filename: the same tar always gives the same blob digest.
        z = zlib.compressobj(level if level is not None else 1, zlib.DEFLATED, 31)
        while chunk := tar.read(CHUNK):
            th.update(chunk)
            tn += len(chunk)
            hw.write(z.compress(chunk))
        hw.write(z.flush())
    elif algorithm == "zstd":
        import zstandard

        cctx = zstandard.ZstdCompressor(level=level if level is not None else 3)
        with cctx.stream_writer(hw, closefd=False) as w:
            while chunk := tar.read(CHUNK):
                th.update(chunk)
                tn += len(chunk)
                w.write(chunk)
    elif algorithm == "none":
        while chunk := tar.read(CHUNK):
            th.update(chunk)
            tn += len(chunk)
            hw.write(chunk)
    else:
        raise ValueError(f"unknown compression {algorithm!r}")
    hw.flush()
    return CompressedLayer(diff_id="sha256:" + th.hexdigest(), digest="sha256:" + hw.h.hexdigest(),
                           size=hw.n, uncompressed_size=tn)
