"""compression.decompressed: a zstd stream cut short is an error (python-zstandard itself
returns what it could decode and no error), valid streams of every shape still read."""

from __future__ import annotations

import io
import os

import pytest
import zstandard

from skiff.layers.compression import ZstdFrameWalker, compress_layer, decompressed

DATA = os.urandom(200_000) + b"\0" * 3_000_000 + b"text " * 50_000


def _read(blob: bytes) -> bytes:
    return decompressed(io.BytesIO(blob)).read()


def _streamed(data: bytes, **kw) -> bytes:
    out = io.BytesIO()
    with zstandard.ZstdCompressor(**kw).stream_writer(out, closefd=False) as w:
        for i in range(0, len(data), 100_000):
            w.write(data[i:i + 100_000])
    return out.getvalue()


SKIPPABLE = (0x184D2A53).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"hello"
VALID = {
    "one-shot with content size": zstandard.ZstdCompressor().compress(DATA),
    "checksum": zstandard.ZstdCompressor(write_checksum=True).compress(DATA),
    "no content size": zstandard.ZstdCompressor(write_content_size=False).compress(DATA),
    "streamed": _streamed(DATA),
    "streamed, checksum, level 19": _streamed(DATA[:400_000], level=19, write_checksum=True),
    "two frames": zstandard.ZstdCompressor().compress(DATA[:1000])
    + zstandard.ZstdCompressor().compress(DATA[1000:]),
    "skippable frame first": SKIPPABLE + zstandard.ZstdCompressor().compress(DATA),
    "empty content": zstandard.ZstdCompressor().compress(b""),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_streams_read_whole(name):
    want = b"" if name == "empty content" else (DATA[:400_000] if "level 19" in name else DATA)
    assert _read(VALID[name]) == want


def test_compress_layer_output_reads_back():
    out = io.BytesIO()
    compress_layer(io.BytesIO(DATA), out, "zstd")
    assert _read(out.getvalue()) == DATA


@pytest.mark.parametrize("name", sorted(VALID))
def test_every_cut_inside_a_frame_is_an_error(name):
    # (fewer than 4 bytes are not recognisable as zstd at all: they read as themselves)
    blob = VALID[name]
    for cut in sorted({4, 5, 7, len(blob) // 3, len(blob) // 2, len(blob) - 4, len(blob) - 1}):
        if not 4 <= cut < len(blob):
            continue
        with pytest.raises(EOFError):
            _read(blob[:cut])


def test_cut_between_frames_is_fine():
    one = zstandard.ZstdCompressor().compress(b"first")
    assert _read(one + zstandard.ZstdCompressor().compress(b"second")[:0]) == b"first"


def test_walker_fed_byte_by_byte():
    w = ZstdFrameWalker()
    for b in VALID["checksum"]:
        w.feed(bytes([b]))
    w.finish()


def test_garbage_after_magic_detection():
    with pytest.raises(EOFError):
        ZstdFrameWalker().feed(b"\x28\xb5\x2f\xfe" + b"\0" * 20)
