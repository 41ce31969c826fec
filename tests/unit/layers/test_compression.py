"""Layer compression: round trips, detection by magic, deterministic gzip."""

import gzip
import io

import pytest
import zstandard

from skiff import digest
from skiff.layers.compression import compress_layer, decompressed, detect

DATA = b"hello layer\n" * 100_000 + bytes(range(256)) * 50


@pytest.mark.parametrize("alg", ["gzip", "zstd", "none"])
def test_round_trip_and_digests(alg):
    out = io.BytesIO()
    r = compress_layer(io.BytesIO(DATA), out, alg)
    assert r.diff_id == digest.of_bytes(DATA)
    assert r.digest == digest.of_bytes(out.getvalue())
    assert (r.size, r.uncompressed_size) == (len(out.getvalue()), len(DATA))
    assert decompressed(io.BytesIO(out.getvalue())).read() == DATA


def test_gzip_output_is_deterministic_and_standard():
    a, b = io.BytesIO(), io.BytesIO()
    compress_layer(io.BytesIO(DATA), a)
    compress_layer(io.BytesIO(DATA), b)
    assert a.getvalue() == b.getvalue()
    assert gzip.decompress(a.getvalue()) == DATA


def test_detect_by_magic_not_by_label():
    assert detect(gzip.compress(b"x")) == "gzip"
    assert detect(zstandard.ZstdCompressor().compress(b"x")) == "zstd"
    assert detect(b"ustar-ish") == "none"
    # A zstd blob decompresses even when a caller thought it was gzip.
    z = zstandard.ZstdCompressor().compress(DATA)
    assert decompressed(io.BytesIO(z)).read() == DATA
