"""Docker's ``json-file`` log format: one JSON object per line of container output.

Each line is ``{"log":"text\\n","stream":"stdout","time":"2026-11-30T07:45:01.123456789Z"}``
(moby daemon/logger/jsonfilelog): ``log`` holds one line of output with its newline (a
line longer than 16 KiB, or the last bytes before the stream closes, is written without
one), ``stream`` is ``stdout`` or ``stderr``, ``time`` is when the monitor read it, Go's
RFC3339Nano in UTC. Strings are escaped as Go's encoding/json does (``<``, ``>``, ``&`` as
``\\u003c``...; invalid UTF-8 replaced by U+FFFD).
"""

from __future__ import annotations

import os
import time

from skiff import jsonio as json  # (json.loads/dumps without importing re)
from skiff.runtime.value import value

TYPE_CHECKING = False  # (not typing's: the run path does not import collections)
if TYPE_CHECKING:
    from collections.abc import Iterator

MAX_LINE = 16 * 1024

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
               "\u2029": "\\u2029"}


def _go_string(s: str) -> str:
    out = json.dumps(s, ensure_ascii=False)
    if any(c in s for c in _GO_ESCAPES):
        for k, v in _GO_ESCAPES.items():
            out = out.replace(k, v)
    return out


def _now_text() -> str:
    from skiff.runtime.records import now_rfc3339

    return now_rfc3339()


class StreamSplitter:
    """Cut one stream's bytes into log lines; keeps the unfinished tail between reads."""

    def __init__(self, stream: str):
        self.stream = stream
        self.buf = b""

    def feed(self, data: bytes, now: str | None = None) -> bytes:
        """The encoded log entries for the complete lines in ``data`` (plus the buffer)."""
        self.buf += data
        out = []
        t = now or _now_text()
        while True:
            i = self.buf.find(b"\n")
            if i < 0:
                if len(self.buf) >= MAX_LINE:
                    out.append(self._entry(self.buf[:MAX_LINE], t))
                    self.buf = self.buf[MAX_LINE:]
                    continue
                break
            if i + 1 > MAX_LINE:
                out.append(self._entry(self.buf[:MAX_LINE], t))
                self.buf = self.buf[MAX_LINE:]
                continue
            out.append(self._entry(self.buf[:i + 1], t))
            self.buf = self.buf[i + 1:]
        return b"".join(out)

    def flush(self) -> bytes:
        """The entry for an unfinished last line (stream closed), or b""."""
        if not self.buf:
            return b""
        b, self.buf = self.buf, b""
        return self._entry(b, _now_text())

    def _entry(self, line: bytes, t: str) -> bytes:
        text = line.decode("utf-8", errors="replace")
        return (f'{{"log":{_go_string(text)},"stream":"{self.stream}","time":"{t}"}}\n'
                .encode())


@value
class Entry:
    """One log line read back: ``stream`` (stdout|stderr), ``text``, ``time`` (RFC 3339)."""

    stream: str
    text: str
    time: str


def read(path: str | os.PathLike[str]) -> Iterator[Entry]:
    """Every entry of a json-file log (a torn last line is skipped)."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        yield from _decoded(f)


def follow_bytes(path: str | os.PathLike[str], offset: int, *, poll: float = 0.05,
                 stop=None, rotating: bool = False) -> Iterator[bytes]:
    """What is appended to ``path`` from byte ``offset`` on, in chunks; ends when
    ``stop()`` is true and the file has been read to its end (``docker logs -f`` until the
    container stops). ``rotating``: a log whose file is renamed away and made anew
    (json-file ``max-size``, the local driver): once the old one is read to its end, go
    on at the new one's start, as dockerd's follow does."""
    f = open(path, "rb")
    try:
        f.seek(offset)
        while True:
            chunk = f.read(65536)
            if not chunk:
                if rotating:
                    try:
                        renewed = os.stat(path).st_ino != os.fstat(f.fileno()).st_ino
                    except FileNotFoundError:
                        renewed = False
                    if renewed:
                        f.close()
                        f = open(path, "rb")
                        continue
                if stop is None or not stop():
                    time.sleep(poll)
                    continue
                chunk = f.read()  # the container stopped: read what it wrote last
                if not chunk:
                    return
            yield chunk
    finally:
        f.close()


def follow(path: str | os.PathLike[str], offset: int, *, poll: float = 0.05,
           stop=None, rotating: bool = False) -> Iterator[Entry]:
    """Entries appended from byte ``offset`` on (see :func:`follow_bytes`)."""
    buf = b""
    for chunk in follow_bytes(path, offset, poll=poll, stop=stop, rotating=rotating):
        buf += chunk
        *lines, buf = buf.split(b"\n")
        yield from _decoded(lines)


def _decoded(lines) -> Iterator[Entry]:
    """The entries of json-file ``lines`` (bytes); a line that is not JSON is skipped."""
    for line in lines:
        try:
            d = json.loads(line)
        except ValueError:
            continue
        yield Entry(d.get("stream", "stdout"), d.get("log", ""), d.get("time", ""))
