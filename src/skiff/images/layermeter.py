"""Measuring a layer blob as its bytes stream past: diffID, tar size, Docker's unpacked size.

Push mode (``feed`` the compressed bytes in order, then ``close``), so a pull can measure a
layer in the download thread while it arrives, instead of reading every layer back from
disk afterwards (:meth:`skiff.images.ImageService.measure_layers` uses it too, on the
stored blob). The compression is detected from the first bytes as
:func:`skiff.layers.compression.detect` does: gzip (several members allowed, zero padding
between them skipped, as Python's and Go's readers do; zlib checks each member's CRC-32
and length), zstd (several frames, skippable frames; a stream cut inside a frame is an
error) or none. Output is produced at most ``OUT`` bytes at a time, so memory stays flat
even for a blob that decompresses enormously.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

from skiff.errors import InvalidArgument
from skiff.images.tarcheck import TarChecker
from skiff.layers.compression import ZstdFrameWalker, detect

OUT = 1 << 20  # most decompressed bytes produced per step


@dataclass(frozen=True, slots=True)
class LayerMeasure:
    """What a layer decompresses to.

    Attributes:
        diff_id: ``sha256:<hex>`` of the uncompressed tar (image-spec rootfs.diff_ids).
        tar_size: bytes of the uncompressed tar.
        unpacked_size: Docker's layer size (regular file sizes + symlink target lengths).
    """

    diff_id: str
    tar_size: int
    unpacked_size: int


class _Gunzip:
    """gzip members one after another, zero padding between them skipped."""

    def __init__(self, out) -> None:
        self._out = out
        self._d: zlib._Decompress | None = zlib.decompressobj(31)
        self._started = False  # the current member has had some input

    def feed(self, data: bytes) -> None:
        while data:
            if self._d is None:  # between members
                data = data.lstrip(b"\0")
                if not data:
                    return
                self._d = zlib.decompressobj(31)
            self._started = True
            out = self._d.decompress(data, OUT)
            while True:
                if out:
                    self._out(out)
                if self._d.eof or not self._d.unconsumed_tail:
                    break
                out = self._d.decompress(self._d.unconsumed_tail, OUT)
            if self._d.eof:
                data = self._d.unused_data
                self._d, self._started = None, False
            else:
                data = b""

    def close(self) -> None:
        if self._d is not None:
            if self._started and not self._d.eof:
                raise EOFError("Compressed file ended before the end-of-stream marker "
                               "was reached")
            if not self._started:
                raise EOFError("empty gzip stream")


class _Unzstd:
    """zstd frames (and skippable frames) through python-zstandard's stream writer."""

    def __init__(self, out) -> None:
        import zstandard

        class _Sink:
            def write(self, b) -> int:
                out(bytes(b))
                return len(b)

        self._walker = ZstdFrameWalker()
        self._w = zstandard.ZstdDecompressor().stream_writer(
            _Sink(), write_size=OUT, write_return_read=True, closefd=False)

    def feed(self, data: bytes) -> None:
        self._walker.feed(data)
        self._w.write(data)

    def close(self) -> None:
        self._walker.finish()
        self._w.flush()


class _Plain:
    def __init__(self, out) -> None:
        self.feed = out

    def close(self) -> None:
        pass


class LayerMeter:
    """Feed a layer blob's bytes in order (``feed``), then ``close()`` → LayerMeasure.

    ``what`` names the layer in errors. Raises InvalidArgument (``layer <what>:
    decompressing: ...`` for corrupt compression; ``invalid tar archive: ...`` for a bad
    tar) from ``feed`` or ``close``. Not thread-safe; one meter per blob.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._h = hashlib.sha256()
        self._n = 0
        self._tar = TarChecker()
        self._dec: _Gunzip | _Unzstd | _Plain | None = None
        self._head = b""
        self.unsupported = False  # bzip2/xz seen: close() returns None

    def _out(self, chunk: bytes) -> None:
        self._h.update(chunk)
        self._tar.feed(chunk)
        self._n += len(chunk)

    def _start(self, head: bytes) -> None:
        kind = detect(head)
        if kind == "gzip":
            self._dec = _Gunzip(self._out)
        elif kind == "zstd":
            self._dec = _Unzstd(self._out)
        elif kind == "none":
            self._dec = _Plain(self._out)
        else:  # bzip2/xz: no layer media type; left to a reader-based measure
            self.unsupported = True
            self._dec = _Plain(lambda b: None)

    def feed(self, data: bytes) -> None:
        """The next bytes of the blob (any length, in order)."""
        try:
            if self._dec is None:
                self._head += data
                if len(self._head) < 8:
                    return
                data, self._head = self._head, b""
                self._start(data)
            self._dec.feed(data)
        except (zlib.error, EOFError, OSError) as e:
            raise InvalidArgument(f"layer {self.what}", f"decompressing: {e}") from None
        except Exception as e:
            if type(e).__name__ == "ZstdError":
                raise InvalidArgument(f"layer {self.what}", f"decompressing: {e}") from None
            raise

    def close(self) -> LayerMeasure | None:
        """The blob has ended: check it ended cleanly; return the measure (None when the
        compression is one a layer cannot have: bzip2, xz)."""
        try:
            if self._dec is None:
                head, self._head = self._head, b""
                self._start(head)
                self._dec.feed(head)
            self._dec.close()
        except (zlib.error, EOFError, OSError) as e:
            raise InvalidArgument(f"layer {self.what}", f"decompressing: {e}") from None
        except Exception as e:
            if type(e).__name__ == "ZstdError":
                raise InvalidArgument(f"layer {self.what}", f"decompressing: {e}") from None
            raise
        if self.unsupported:
            return None
        self._tar.close()
        return LayerMeasure("sha256:" + self._h.hexdigest(), self._n, self._tar.content_size)
