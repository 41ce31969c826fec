"""LayerMeter: push-mode diffID / tar size / unpacked size, as measure_layers records them."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile

import pytest
import zstandard

from skiff.errors import InvalidArgument
from skiff.images.layermeter import LayerMeter


def _tar() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for i in range(3):
            data = bytes([i]) * (300_000 + i)
            ti = tarfile.TarInfo(f"f{i}")
            ti.size, ti.mtime = len(data), 1700000000
            tf.addfile(ti, io.BytesIO(data))
        ln = tarfile.TarInfo("link")
        ln.type, ln.linkname, ln.mtime = tarfile.SYMTYPE, "f0", 1700000000
        tf.addfile(ln)
    return raw.getvalue()


TAR = _tar()
HALF = len(TAR) // 2
BLOBS = {
    "none": TAR,
    "gzip": gzip.compress(TAR, mtime=0),
    "gzip-2-members-padded": gzip.compress(TAR[:HALF], mtime=0) + b"\0" * 5
    + gzip.compress(TAR[HALF:], mtime=0),
    "zstd": zstandard.ZstdCompressor().compress(TAR),
    "zstd-2-frames": zstandard.ZstdCompressor().compress(TAR[:HALF])
    + zstandard.ZstdCompressor().compress(TAR[HALF:]),
}


def _measure(blob: bytes, step: int):
    m = LayerMeter("sha256:x")
    for i in range(0, len(blob), step):
        m.feed(blob[i:i + step])
    return m.close()


@pytest.mark.parametrize("kind", sorted(BLOBS))
@pytest.mark.parametrize("step", [5, 65536, 1 << 20])
def test_measures_any_chunking(kind: str, step: int) -> None:
    r = _measure(BLOBS[kind], step)
    assert r.diff_id == "sha256:" + hashlib.sha256(TAR).hexdigest()
    assert r.tar_size == len(TAR)
    assert r.unpacked_size == 300_000 + 300_001 + 300_002 + len("f0")


@pytest.mark.parametrize("blob,why", [
    (gzip.compress(TAR, mtime=0)[:-10], "decompressing: Compressed file ended"),
    (gzip.compress(TAR, mtime=0)[:-8] + b"\0" * 8, "decompressing: Error -3"),
    (zstandard.ZstdCompressor().compress(TAR)[:-10], "decompressing: zstd stream ended"),
    (gzip.compress(TAR[:HALF], mtime=0), "invalid tar archive"),
])
def test_refuses_corrupt_layers(blob: bytes, why: str) -> None:
    with pytest.raises(InvalidArgument) as e:
        _measure(blob, 65536)
    assert why in str(e.value)
