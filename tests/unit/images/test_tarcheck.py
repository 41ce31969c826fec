"""TarChecker: the streaming structure check and Docker's unpacked size, fed in pieces."""

from __future__ import annotations

import io
import os
import random
import tarfile

import pytest

from skiff.errors import InvalidArgument
from skiff.images.tarcheck import TarChecker


def build(fmt: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        def add(name, typ=tarfile.REGTYPE, data=b"", link=""):
            ti = tarfile.TarInfo(name)
            ti.type = typ
            ti.linkname = link
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data) if data else None)
        add("d", tarfile.DIRTYPE)
        add("d/f", data=b"x" * 1000)
        add("d/" + "long" * 40, data=b"y" * 513)  # > 100 chars: PAX / GNU longname
        add("d/s", tarfile.SYMTYPE, link="f")
        add("d/longlink", tarfile.SYMTYPE, link="t" * 150)  # PAX linkpath / GNU K
        add("d/h", tarfile.LNKTYPE, link="d/f")
        add("d/c", tarfile.CHRTYPE)
        add("d/.wh.gone")
    return buf.getvalue()


def feed_randomly(data: bytes, seed: int) -> TarChecker:
    c = TarChecker()
    rnd = random.Random(seed)
    i = 0
    while i < len(data):
        n = rnd.choice([1, 7, 511, 512, 513, 4096, 10000])
        c.feed(data[i:i + n])
        i += n
    c.close()
    return c


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_sizes_and_entries(fmt, tmp_path):
    if fmt == tarfile.USTAR_FORMAT:
        with pytest.raises(ValueError):
            build(fmt)
        return
    data = build(fmt)
    for seed in range(5):
        c = feed_randomly(data, seed)
        assert c.entries == 8
        # Docker (graphdriver directory.Size): files + symlink target lengths, hardlinks once
        assert c.content_size == 1000 + 513 + 1 + 150


def test_truncated_anywhere_is_refused():
    data = build(tarfile.PAX_FORMAT)
    end = data.index(b"\0" * 1024, 512 * 6)  # start of the end-of-archive marker area
    for cut in [1, 100, 511, 513, 1500, 2047, end - 1]:
        c = TarChecker()
        c.feed(data[:cut])
        with pytest.raises(InvalidArgument) as e:
            c.close()
        assert str(e.value) == "invalid tar archive: unexpected EOF", cut


def test_bad_checksum_refused():
    data = bytearray(build(tarfile.PAX_FORMAT))
    data[10] ^= 0xFF
    with pytest.raises(InvalidArgument) as e:
        TarChecker().feed(bytes(data))
    assert str(e.value) == "invalid tar archive: archive/tar: invalid tar header"


def test_empty_stream_and_trailing_data_after_end():
    c = TarChecker()
    c.close()
    assert c.entries == 0
    c = TarChecker()
    c.feed(build(tarfile.PAX_FORMAT) + os.urandom(100))
    c.close()
    assert c.entries == 8
