"""Docker's ``local`` log driver (dockerd daemon/logger/local, 20.10): the container's
output in ``<bundle>/local-logs/container.log`` as length-framed protobuf entries, rotated
as json-file's (skiff.runtime.logopts.Rotator) with the driver's defaults: max-size 20 MiB,
max-file 5, compress true (``container.log.1.gz`` ...). LogPath is "" (as dockerd).

A frame is a 4-byte big-endian length, the encoded ``LogEntry`` (api/types/plugins/logdriver
entry.proto: ``source`` 1 string, ``time_nano`` 2 int64, ``line`` 3 bytes without the
newline, ``partial`` 4 bool, ``partial_log_metadata`` 5 {``last`` 1, ``id`` 2, ``ordinal``
3}), the same length again. A line without its newline (the stream's last bytes, or
16 KiB of one line) is ``partial``; ``logs`` adds the newline to the others.
"""

from __future__ import annotations

import os

DIR = "local-logs"
FILE = "container.log"
DEFAULTS = {"max-size": 20 * 1024 * 1024, "max-file": 5, "compress": True}
OPTS = ("max-file", "max-size", "compress")


def path(bundle: str) -> str:
    """The live log file of the container whose bundle is ``bundle``."""
    return os.path.join(bundle, DIR, FILE)


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # (int64 as protobuf writes a negative one)
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num: int, data: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def encode(stream: str, time_ns: int, line: bytes, partial: bool = False,
           partial_id: str = "", ordinal: int = 0) -> bytes:
    """One frame (length, LogEntry, length); zero fields left out, as proto3."""
    msg = _field(1, stream.encode())
    if time_ns:
        msg += _varint(2 << 3) + _varint(time_ns)
    if line:
        msg += _field(3, line)
    if partial:
        msg += _varint(4 << 3) + b"\x01"
        meta = b""
        if partial_id:
            meta += _field(2, partial_id.encode())
        if ordinal:
            meta += _varint(3 << 3) + _varint(ordinal)
        msg += _field(5, meta)
    n = len(msg).to_bytes(4, "big")
    return n + msg + n


def _read_varint(b: bytes, i: int) -> tuple[int, int]:
    shift = n = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        if not c & 0x80:
            return n, i
        shift += 7


def decode(msg: bytes) -> tuple[str, int, bytes, bool]:
    """A LogEntry → (source, time_nano, line, partial)."""
    source, t, line, partial = "", 0, b"", False
    i = 0
    while i < len(msg):
        key, i = _read_varint(msg, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _read_varint(msg, i)
            if num == 2:
                t = v - (1 << 64) if v >= 1 << 63 else v
            elif num == 4:
                partial = bool(v)
        elif wire == 2:
            size, i = _read_varint(msg, i)
            data = msg[i:i + size]
            i += size
            if num == 1:
                source = data.decode("utf-8", "replace")
            elif num == 3:
                line = data
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            break
    return source, t, line, partial


def frames(data: bytes) -> tuple[list[tuple[str, int, bytes, bool]], int]:
    """The complete frames of ``data`` decoded, and how many bytes they took."""
    out = []
    i = 0
    while i + 4 <= len(data):
        n = int.from_bytes(data[i:i + 4], "big")
        if i + 8 + n > len(data):
            break
        out.append(decode(data[i + 4:i + 4 + n]))
        i += 8 + n
    return out, i


class Writer:
    """The monitor's writer: json-file entries from skiff.runtime.jsonlog's splitter,
    re-encoded as frames (written through a logopts.Rotator when rotating)."""

    def __init__(self, fd: int, rotator=None):
        from skiff.format.humanize import parse_rfc3339_ns

        self.fd, self.rotator, self.parse_time = fd, rotator, parse_rfc3339_ns
        self.partial_id = ""
        self.ordinal = 0

    def write(self, entries: bytes) -> None:
        from skiff import jsonio as json
        from skiff.runtime.attachio import write_all

        for raw in entries.splitlines():
            try:
                d = json.loads(raw)
            except ValueError:
                continue
            text = d.get("log", "").encode("utf-8", "surrogateescape")
            t = self.parse_time(d.get("time", "")) if d.get("time") else 0
            partial = not text.endswith(b"\n")
            if partial:
                if not self.partial_id:
                    self.partial_id = os.urandom(32).hex()
                self.ordinal += 1
                frame = encode(d.get("stream", "stdout"), t, text, True, self.partial_id,
                               self.ordinal)
            else:
                frame = encode(d.get("stream", "stdout"), t, text[:-1])
                self.partial_id, self.ordinal = "", 0
            if self.rotator is not None:
                self.rotator.write_entry(frame)
                self.fd = self.rotator.fd
            else:
                write_all(self.fd, frame)


def _entries(data: bytes):
    from skiff.format.humanize import format_rfc3339_ns
    from skiff.runtime.jsonlog import Entry

    got, used = frames(data)
    out = []
    for source, t, line, partial in got:
        text = line.decode("utf-8", "replace") + ("" if partial else "\n")
        out.append(Entry(source or "stdout", text, format_rfc3339_ns(t)))
    return out, used


def read(bundle: str):
    """Every entry of a container's local log, across its rotated files, oldest first
    (jsonlog.Entry, as json-file's)."""
    from skiff.runtime.logopts import log_files

    for p in log_files(path(bundle)):
        try:
            if p.endswith(".gz"):
                import gzip

                with gzip.open(p, "rb") as f:
                    data = f.read()
            else:
                with open(p, "rb") as f:
                    data = f.read()
        except (OSError, EOFError):
            continue
        yield from _entries(data)[0]


def follow(bundle: str, offset: int, *, stop, poll: float = 0.05):
    """``logs -f`` of a local log: frames from byte ``offset`` on, across rotations,
    until ``stop()`` and the end has been read."""
    from skiff.runtime.jsonlog import follow_bytes

    buf = b""
    for chunk in follow_bytes(path(bundle), offset, stop=stop, poll=poll, rotating=True):
        buf += chunk
        got, used = _entries(buf)
        buf = buf[used:]
        yield from got
