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
    if head.startswith(ZSTD_MAGIC) or (
            len(head) >= 4 and int.from_bytes(head[:4], "little") & 0xFFFFFFF0 == 0x184D2A50):
        return "zstd"  # a zstd frame, or a zstd skippable frame (RFC 8878 section 3.1.2)
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

        walker = ZstdFrameWalker()
        return zstandard.ZstdDecompressor().stream_reader(_Tee(buffered, walker),
                                                          read_across_frames=True)
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


class _Tee:
    """Passes reads through, showing every chunk to ``walker``; at EOF asks it to finish."""

    def __init__(self, f, walker: ZstdFrameWalker):
        self._f = f
        self._walker = walker

    def read(self, n: int = -1) -> bytes:
        b = self._f.read(n)
        if b:
            self._walker.feed(b)
        else:
            self._walker.finish()
        return b


class ZstdFrameWalker:
    """Follows the frame/block structure of a zstd stream (RFC 8878 section 3.1) without
    decompressing, so that a stream cut short is an error.

    python-zstandard's readers return what they could decode and no error when the input
    ends inside a frame; :meth:`finish` raises EOFError then (as gzip does for a truncated
    member). Handles several frames, skippable frames, content checksums.
    """

    def __init__(self):
        self._need = 4  # bytes still wanted by the current state
        self._state = "magic"
        self._hdr = b""  # bytes gathered for the state being parsed
        self._checksum = False
        self._mid_frame = False

    def feed(self, data: bytes) -> None:
        """Consume the next compressed bytes.

        Raises:
            EOFError: the bytes are not a zstd stream (bad magic or reserved block type).
        """
        mv = memoryview(data)
        i = 0
        while i < len(mv):
            if self._state == "skip":  # block contents, skippable frame body, checksum
                take = min(self._need, len(mv) - i)
                i += take
                self._need -= take
                if self._need == 0:
                    self._next_after_skip()
                continue
            take = min(self._need - len(self._hdr), len(mv) - i)
            self._hdr += bytes(mv[i:i + take])
            i += take
            if len(self._hdr) == self._need:
                self._parse()

    def _skip(self, n: int, then: str) -> None:
        self._after = then
        if n == 0:
            self._next_after_skip()
            return
        self._state, self._need, self._hdr = "skip", n, b""

    def _next_after_skip(self) -> None:
        then = self._after
        self._state, self._hdr, self._need = then, b"", _STATE_SIZE[then]
        if then == "magic":
            self._mid_frame = False

    def _parse(self) -> None:
        h = self._hdr
        st = self._state
        if st == "magic":
            magic = int.from_bytes(h, "little")
            self._mid_frame = True
            if magic == 0xFD2FB528:
                self._state, self._hdr, self._need = "fhd", b"", 1
            elif magic & 0xFFFFFFF0 == 0x184D2A50:
                self._state, self._hdr, self._need = "skipsize", b"", 4
            else:
                raise EOFError("not a zstd frame (bad magic number)")
        elif st == "skipsize":
            self._skip(int.from_bytes(h, "little"), "magic")
        elif st == "fhd":
            fhd = h[0]
            fcs_flag, single = fhd >> 6, (fhd >> 5) & 1
            self._checksum = bool((fhd >> 2) & 1)
            did = (0, 1, 2, 4)[fhd & 3]
            fcs = (1 if single else 0, 2, 4, 8)[fcs_flag]
            self._skip((0 if single else 1) + did + fcs, "block")
        elif st == "block":
            bh = int.from_bytes(h, "little")
            last, btype, size = bh & 1, (bh >> 1) & 3, bh >> 3
            if btype == 3:
                raise EOFError("corrupt zstd stream (reserved block type)")
            content = 1 if btype == 1 else size
            if last:
                self._skip(content + (4 if self._checksum else 0), "magic")
            else:
                self._skip(content, "block")

    def finish(self) -> None:
        """The input has ended: raise EOFError unless it ended between frames."""
        if self._mid_frame or self._hdr:
            raise EOFError("zstd stream ended before the end of its frame")


_STATE_SIZE = {"magic": 4, "block": 3}


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
