"""Dockerfile text → logical instructions (BuildKit's ``Parse`` line loop).

Parser directives at the top (``# syntax=``, ``# escape=``, ``# check=``), comments, empty
lines, line continuations with the escape character (comment and empty lines inside them
skipped, the latter with a warning), heredoc bodies after the line that opens them, and
BuildKit's 65535-byte limit on one physical line.

One physical line at a time (a pattern matching whole logical instructions was tried: on
real Dockerfiles, with comments inside their continuations, it was slower than this loop).
The caller's ``build`` turns each joined line into its object: tree node, typed instruction
or plain record (:mod:`.parser`, :mod:`.convert`).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator
from typing import Any

from skiff.dockerfile.heredoc import heredocs_from_line
from skiff.dockerfile.nodes import MAX_LINE, Heredoc, ParseWarning
from skiff.errors import DockerfileError

__all__ = ["Directives", "segment", "KNOWN_DIRECTIVES"]

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
KNOWN_DIRECTIVES = ("syntax", "escape", "check")


class Directives:
    """Parser-directive state: the escape token, what was seen, whether the block is over."""

    __slots__ = ("escape", "seen", "done", "line", "values")

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.seen: set[str] = set()
        self.done = False
        self.line = 0
        self.set_escape("\\")

    def set_escape(self, s: str) -> None:
        if s not in ("`", "\\"):
            raise ValueError(f"invalid escape token '{s}' does not match ` or \\")
        self.escape = s

    def parse_line(self, line: str) -> bool:
        """Feed one physical line (newline trimmed); True when it was a directive."""
        self.line += 1
        if self.done:
            return False
        if self.line == 1 and line.startswith("#!"):
            return False
        m = _DIRECTIVE.match(line)
        if m is None:
            self.done = True
            return False
        name = m.group(1).lower()
        if name not in KNOWN_DIRECTIVES:
            return False
        if name in self.seen:
            raise ValueError(f"only one {name} parser directive can be used")
        self.seen.add(name)
        value = m.group(2)
        self.values[name] = value
        if name == "escape":
            self.set_escape(value)
        return True


Build = Callable[[str, Directives, list[str], int, int], Any]


def gc_resume(was_enabled: bool) -> None:
    """End a parse run with the cyclic GC off (``gc.disable()`` before it: what a parse
    builds is acyclic). Re-enabled as is, the GC's next young collection would scan every
    object the parse made (its count is past the threshold): 10-30 ms for a 10,000
    -instruction file here, cache-cold, about the parse's own cost. The parse's output is
    long-lived, so its objects go straight to the oldest generation instead (``freeze`` then
    ``unfreeze``: two list splices; objects other threads made meanwhile go with them, to
    be looked at by the next full collection). Skipped when the process has frozen objects
    of its own (``unfreeze`` would release them)."""
    if was_enabled:
        if not gc.get_freeze_count():
            gc.freeze()
            gc.unfreeze()
        gc.enable()


def segment(text: str, filename: str, build: Build, capable: Callable[[Any, str], bool],
            fixup: Callable[[Any, int, list[Heredoc]], Any],
            fast: dict[str, Callable[[str, str, int, int], Any]] | None = None,
            ) -> tuple[Directives, list[ParseWarning], list[Any]]:
    """Split ``text`` into instructions: ``build(line, directives, comments, start, end)``
    makes each from its joined line, the comment lines just above it (a list it must copy
    to keep) and its 1-based line range; ``capable(obj, line)`` (asked only when the line
    has ``<<``) tells whether it may open heredocs; ``fixup(obj, end, heredocs) -> obj``
    gets the bodies read after it and its new last line.

    ``fast`` (optional): shortcuts by instruction word as written, for lines without
    ``<<``: ``fast[word](rest, line, start, end)`` (``rest``: the line after the first
    space, unstripped) gives the object ``build`` would give, or None to call ``build``.

    Returns (directives, warnings, objects). Raises DockerfileError (with the line range):
    ``file with no instructions``, ``unterminated heredoc``, over-long lines, directive
    errors, and the ValueErrors ``build`` and heredoc parsing raise.
    """
    lines = text.split("\n")
    trailing_nl = lines[-1] == ""
    if trailing_nl:
        lines.pop()
    n = len(lines)
    if n and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    has_cr = "\r" in text

    def fail(msg: str, start: int, end: int | None = None) -> DockerfileError:
        return DockerfileError(msg, line=start if start > 0 else None, end_line=end,
                               filename=filename)

    # One iterator feeds every loop below (instruction lines, continuations, heredoc
    # bodies); it checks BuildKit's line limit only when some line could break it.
    if len(text) >= MAX_LINE and max(map(len, lines)) >= MAX_LINE:
        it: Iterator[str] = _CheckedLines(lines, fail)
    else:
        it = iter(lines)
    d = Directives()
    warnings: list[ParseWarning] = []
    out: list[Any] = []
    append = out.append
    comments: list[str] = []
    cur = 0  # physical lines consumed
    esc = d.escape
    maybe_cont = frozenset((esc, " ", "\t"))  # what a continued line's text can end with
    directives_done = False

    # The caller's shortcuts, tried first on each physical line once the directives are
    # over (not with CRs): an instruction on one line, without "<<", whose word as
    # written is in ``fast`` (a comment, a blank or an indented line never is).
    fastget = None
    for raw in it:
        cur += 1
        if fastget is not None and raw and raw[-1] not in maybe_cont:  # index, not slice
            word, _, rest = raw.partition(" ")
            shape = fastget(word)
            if shape is not None and "<<" not in raw and \
                    (obj := shape(rest, raw, cur, cur)) is not None:
                append(obj)
                if comments:
                    comments = []
                continue
        tok = raw.rstrip("\r").lstrip() if has_cr else raw.lstrip()
        if directives_done:
            if tok[:1] == "#":
                c = tok[1:].strip()
                if c == "":
                    comments = []
                else:
                    comments.append(c)
                continue
        else:
            is_comment = tok[:1] == "#"
            if is_comment:
                c = tok[1:].strip()
                if c == "":
                    comments = []
                else:
                    comments.append(c)
            try:
                directive = d.parse_line(tok)
            except ValueError as e:
                raise fail(str(e), cur) from None
            if directive and comments:
                comments.pop()
            esc = d.escape
            maybe_cont = frozenset((esc, " ", "\t"))
            directives_done = d.done
            if directives_done and fast is not None and not has_cr:
                fastget = fast.get
            if is_comment:
                continue
        start = cur
        if tok[-1:] not in maybe_cont:  # the usual line: not continued (or empty)
            if tok == "":
                continue
            line = tok
        else:
            r = tok if tok[-1] == esc else tok.rstrip(" \t")  # not empty: tok is not blank
            if not (r[-1] == esc and r[-2:-1] != esc):
                line = tok
            else:
                buf = [r[:-1]]
                more = buf.append
                empty_cont = False
                for raw in it:
                    cur += 1
                    t = raw.rstrip("\r") if has_cr else raw
                    if t and t[-1] == esc:  # the usual continued line: no blank after the escape
                        # a comment (tested without copying the indented line), skipped
                        if "#" in t and t.lstrip()[0] == "#":
                            continue
                        if t[-2:-1] != esc:
                            more(t[:-1])
                            continue
                        more(t)
                        break
                    if not t or t.isspace():
                        empty_cont = True
                        continue
                    if "#" in t and t.lstrip()[0] == "#":
                        continue
                    if t[-1] not in maybe_cont:
                        more(t)
                        break
                    r = t.rstrip(" \t")
                    # continued: ends in the escape, not itself escaped (r is not empty)
                    if r[-1] == esc and r[-2:-1] != esc:
                        buf.append(r[:-1])
                    else:
                        buf.append(t)
                        break
                line = "".join(buf)
                if empty_cont:
                    warnings.append(ParseWarning(
                        short="Empty continuation line found in: " + line,
                        detail="Empty continuation lines will become errors in a future "
                               "release",
                        url="https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/",
                        line=cur))
        if fast is not None and start != cur and "<<" not in line:
            # a continued line: the shortcuts see it joined (one line took the path above)
            word, _, rest = line.partition(" ")
            shape = fast.get(word)
            if shape is None or (obj := shape(rest, line, start, cur)) is None:
                try:
                    obj = build(line, d, comments, start, cur)
                except ValueError as e:
                    raise fail(str(e), start, cur) from None
        else:
            try:
                obj = build(line, d, comments, start, cur)
            except ValueError as e:
                raise fail(str(e), start, cur) from None
            if "<<" in line and capable(obj, line):
                cur, obj = _heredocs(it, n, trailing_nl, cur, line, obj, start, fixup, fail)
        append(obj)
        if comments:  # build copied them; the usual empty list is reused
            comments = []
    if not out:
        raise fail("file with no instructions", max(cur, 1))
    return d, warnings, out


class _CheckedLines:
    """An iterator over ``lines`` raising BuildKit's error on reaching an instruction line
    longer than it reads (65535 bytes and the newline). Heredoc bodies are not checked
    (``check`` off while they are read), as before this iterator existed."""

    __slots__ = ("lines", "i", "fail", "check")

    def __init__(self, lines: list[str], fail: Callable[..., Exception]):
        self.lines, self.i, self.fail, self.check = lines, 0, fail, True

    def __iter__(self) -> _CheckedLines:
        return self

    def __next__(self) -> str:
        if self.i >= len(self.lines):
            raise StopIteration
        raw = self.lines[self.i]
        self.i += 1
        if self.check and len(raw) >= MAX_LINE and \
                len(raw.rstrip("\r").encode("utf-8", "surrogateescape")) + 1 > MAX_LINE + 1:
            raise self.fail(f"dockerfile line greater than max allowed size of {MAX_LINE}",
                            self.i)
        return raw


def _heredocs(it: Iterator[str], n: int, trailing_nl: bool, cur: int, line: str, obj: Any,
              start: int, fixup: Callable[[Any, int, list[Heredoc]], Any],
              fail: Callable[..., Exception]) -> tuple[int, Any]:
    """Read the bodies of the heredocs ``line`` opens from the line iterator (``cur`` lines
    of ``n`` read so far; each body line with its newline, as Go's scanner gives it);
    returns (lines consumed, obj)."""
    try:
        docs = heredocs_from_line(line)
    except ValueError as e:
        raise fail(str(e), start, cur) from None
    if not docs:
        return cur, obj
    if isinstance(it, _CheckedLines):
        it.check = False
    for h in docs:
        content: list[str] = []
        terminated = False
        for raw in it:
            cur += 1
            body = raw + "\n" if (cur < n or trailing_nl) else raw
            cand = body.rstrip("\r\n")
            if h.chomp:
                cand = cand.lstrip("\t")
            if cand == h.name:
                terminated = True
                break
            content.append(body)
        if not terminated:
            raise fail("unterminated heredoc", start, cur)
        h.content = "".join(content)
    if isinstance(it, _CheckedLines):
        it.check = True
    return cur, fixup(obj, cur, docs)
