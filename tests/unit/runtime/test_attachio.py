"""skiff.runtime.attachio without root: the detach-key scanner (Docker's escape proxy:
ctrl-p ctrl-q, a partial sequence passed on once something else follows) and the
descriptor hand-over over a real unix socket."""

from __future__ import annotations

import os

import pytest

from skiff.runtime import attachio
from skiff.runtime.attachio import DetachScanner


def test_detach_keys_found_across_chunks():
    s = DetachScanner()
    assert s.feed(b"ls\r") == (b"ls\r", False)
    assert s.feed(b"abc\x10") == (b"abc", False)  # maybe the start of the keys: held
    assert s.feed(b"\x11rest") == (b"", True)


def test_partial_sequence_is_passed_on():
    s = DetachScanner()
    assert s.feed(b"\x10") == (b"", False)
    assert s.feed(b"x") == (b"\x10x", False)
    assert s.feed(b"a\x10\x11") == (b"a", True)


def test_descriptors_handed_over(monkeypatch, tmp_path):
    monkeypatch.setattr(attachio, "_DIR", str(tmp_path))
    listener = attachio.listen("c" * 64)
    r, w = os.pipe()
    out_r, out_w = os.pipe()
    try:
        conn = attachio.connect("c" * 64, r, out_w, -1)
        got = attachio.accept(listener)
        assert got is not None
        server, stdin, stdout, stderr, keys = got
        assert (stderr, keys) == (-1, b"\x10\x11")
        os.write(w, b"typed")
        assert os.read(stdin, 5) == b"typed"  # the client's stdin, now the monitor's
        os.write(stdout, b"shown")
        assert os.read(out_r, 5) == b"shown"
        attachio.tell(server, {"exit": 3})
        assert attachio.outcome(conn) == {"exit": 3}
        os.close(stdin)
        os.close(stdout)
    finally:
        for fd in (r, w, out_r, out_w):
            os.close(fd)
        attachio.close_listener(listener, "c" * 64)
    assert os.listdir(tmp_path) == []


def test_parse_detach_keys_as_docker():
    from skiff.errors import InvalidArgument

    assert attachio.parse_detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert attachio.parse_detach_keys("ctrl-a,x") == b"\x01x"
    assert attachio.parse_detach_keys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_") == \
        bytes([0, 27, 28, 29, 30, 31])
    with pytest.raises(InvalidArgument) as e:
        attachio.parse_detach_keys("ctrl-1")
    assert str(e.value) == "Invalid detach keys (ctrl-1) provided: Unknown character: 'ctrl-1'"
    with pytest.raises(InvalidArgument):
        attachio.parse_detach_keys("zz")
