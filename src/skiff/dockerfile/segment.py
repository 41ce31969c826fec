"""Dockerfile text → logical instructions (BuildKit's ``Parse`` line loop).

Parser directives at the top (``# syntax=``, ``# escape=``, ``# check=``), comments, empty
lines, line continuations with the escape character (comment and empty lines inside them
skipped, the latter with a warning), heredoc bodies after the line that opens them, and
BuildKit's 65535-byte limit on one physical line.

Two paths give the same result. The general one reads a physical line at a time. The fast
one matches a whole logical instruction (the blank and comment lines before it, then its
continuation lines) with one regular expression and joins the continuations with one
substitution; it applies once the directives are over, on text without CRs or over-long
lines, and whenever it sees anything else (a comment or empty line inside a continuation, a
continuation at the end of the file, Unicode whitespace at the start of a line) it leaves
that instruction to the general path. Heredoc bodies are read the same way by both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


def _fast_patterns(esc: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    e = re.escape(esc)
    # group 1: blank and comment lines; group 2: the instruction from its first
    # non-blank character: continuation lines (ending in an escape not itself escaped),
    # each followed by a line that starts with a non-blank, non-# character, then the
    # last line. Everything else fails to match or ends in an escape (checked after).
    # Groups 3 and 4 split the first line as BuildKit splits the joined one: the word, and
    # the blanks after it (the arguments start after them).
    whole = re.compile(
        rf"((?:[ \t]*(?:#[^\n]*)?\n)*)[ \t]*"
        rf"(([^\s#][^\t\v\f\r \n]*)([\t\v\f\r ]*)"
        rf"(?:[^\n]*{e}(?<!{e}{e})[ \t]*\n(?=[ \t]*[^\s#]))*[^\n]*)\n?"
        # or nothing (all groups None), so that finditer's matches are contiguous: the
        # loop leaves at the first empty match and hands that line to the general path
        rf"|")
    # (the escape is matched before the look-behind that checks the one before it, so
    # the engine scans back for the escape character instead of trying every position)
    joint = re.compile(rf"{e}(?<!{e}{e})[ \t]*\n")
    return whole, joint


_FAST = {esc: _fast_patterns(esc) for esc in ("\\", "`")}

Build = Callable[[str, Directives, list[str], int, int, 'str | None', int], Any]


def segment(text: str, filename: str, build: Build, capable: Callable[[Any, str], bool],
            fixup: Callable[[Any, int, list[Heredoc]], Any], *, fast: bool = True
            ) -> tuple[Directives, list[ParseWarning], list[Any]]:
    """Split ``text`` into instructions: ``build(line, directives, comments, start, end,
    word, args_at)`` makes each from its joined line, the comment lines just above it (a
    list it must copy to keep), its 1-based line range and, when the fast path knows them,
    the instruction word and where its arguments start in ``line`` (BuildKit's split at
    the first run of blanks; ``word`` None: split ``line`` yourself); ``capable(obj, line)`` (asked only when the line has ``<<``) tells whether it
    may open heredocs; ``fixup(obj, end, heredocs) -> obj`` gets the bodies read after it
    and its new last line. ``fast=False`` keeps to the general path (tests compare both).

    Returns (directives, warnings, objects). Raises DockerfileError (with the line range):
    ``file with no instructions``, ``unterminated heredoc``, over-long lines, directive
    errors, and the ValueErrors ``build`` and heredoc parsing raise.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    tlen = len(text)
    has_cr = "\r" in text
    max_len = 1 << 62
    if tlen >= MAX_LINE and max(map(len, text.split("\n"))) >= MAX_LINE:
        max_len = MAX_LINE  # checked per line only when some line could be too long
    d = Directives()
    warnings: list[ParseWarning] = []
    out: list[Any] = []
    append = out.append
    comments: list[str] = []
    cur = 0  # physical lines consumed
    pos = 0  # where the next physical line starts
    esc = d.escape
    pattern: re.Pattern[str] | None = None
    joint = _FAST[esc][1]
    fast_allowed = fast and not has_cr and max_len > MAX_LINE
    tail_chars = esc + " \t"

    def fail(msg: str, start: int, end: int | None = None) -> DockerfileError:
        return DockerfileError(msg, line=start if start > 0 else None, end_line=end,
                               filename=filename)

    def check_len(raw: str, lineno: int) -> None:
        if len(raw) >= MAX_LINE and \
                len(raw.rstrip("\r").encode("utf-8", "surrogateescape")) + 1 > MAX_LINE + 1:
            raise fail(f"dockerfile line greater than max allowed size of {MAX_LINE}", lineno)

    while pos < tlen:
        if pattern is not None:
            for m in pattern.finditer(text, pos):
                pre, line, word, blanks = m.groups()
                if line is None:
                    pos = m.start()
                    break
                if pre:
                    if "#" in pre:
                        for raw in pre.split("\n"):
                            tok = raw.lstrip()
                            if tok[:1] == "#":
                                c = tok[1:].strip()
                                if c == "":
                                    comments = []
                                else:
                                    comments.append(c)
                    cur += pre.count("\n")
                if line[-1] in tail_chars:
                    r = line.rstrip(" \t")
                    if r.endswith(esc) and (len(r) == 1 or r[-2] != esc):
                        # a continuation the pattern could not join: the general path
                        # takes this instruction from its first line
                        pos = m.start() + len(pre)
                        break
                start = cur + 1
                k = line.count("\n")
                if k:
                    line = joint.sub("", line)
                cur += k + 1
                try:
                    if blanks and word[-1] != esc:
                        obj = build(line, d, comments, start, cur, word,
                                    len(word) + len(blanks))
                    else:
                        obj = build(line, d, comments, start, cur, None, 0)
                except ValueError as e:
                    raise fail(str(e), start, cur) from None
                if "<<" in line and capable(obj, line):
                    cur, pos, obj = _heredocs(text, m.end(), cur, line, obj, start, fixup,
                                              fail)
                    append(obj)
                    comments = []
                    break  # the match after this one began inside the bodies
                append(obj)
                if comments:
                    comments = []
            else:  # pragma: no cover - the empty alternative always ends the matches
                raise AssertionError("segment: the fast pattern ran out of matches")
            if pos >= tlen:
                break
        # The general path: one physical line, or one logical instruction.
        nl = text.find("\n", pos)
        if nl < 0:
            raw, pos = text[pos:], tlen
        else:
            raw, pos = text[pos:nl], nl + 1
        if len(raw) >= max_len:
            check_len(raw, cur + 1)
        tok = raw.rstrip("\r").lstrip() if has_cr else raw.lstrip()
        is_comment = tok[:1] == "#"
        if not d.done:
            if is_comment:
                c = tok[1:].strip()
                if c == "":
                    comments = []
                else:
                    comments.append(c)
            try:
                directive = d.parse_line(tok)
            except ValueError as e:
                raise fail(str(e), cur + 1) from None
            if directive and comments:
                comments.pop()
            esc = d.escape
            if d.done and fast_allowed:
                pattern, joint = _FAST[esc]
                tail_chars = esc + " \t"
        elif is_comment:
            c = tok[1:].strip()
            if c == "":
                comments = []
            else:
                comments.append(c)
        cur += 1
        if is_comment:
            continue
        start = cur
        r = tok.rstrip(" \t")
        if not (r.endswith(esc) and (len(r) == 1 or r[-2] != esc)):
            if tok == "":
                continue
            line = tok
        else:
            buf = [r[:-1]]
            empty_cont = False
            while pos < tlen:
                nl = text.find("\n", pos)
                if nl < 0:
                    raw, pos = text[pos:], tlen
                else:
                    raw, pos = text[pos:nl], nl + 1
                if len(raw) >= max_len:
                    check_len(raw, cur + 1)
                cur += 1
                t = raw.rstrip("\r") if has_cr else raw
                stripped = t.lstrip()
                if stripped[:1] == "#":
                    continue
                if stripped == "":
                    empty_cont = True
                    continue
                r = t.rstrip(" \t")
                if r.endswith(esc) and (len(r) == 1 or r[-2] != esc):
                    buf.append(r[:-1])
                else:
                    buf.append(t)
                    break
            line = "".join(buf)
            if empty_cont:
                warnings.append(ParseWarning(
                    short="Empty continuation line found in: " + line,
                    detail="Empty continuation lines will become errors in a future release",
                    url="https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/",
                    line=cur))
        try:
            obj = build(line, d, comments, start, cur, None, 0)
        except ValueError as e:
            raise fail(str(e), start, cur) from None
        if "<<" in line and capable(obj, line):
            cur, pos, obj = _heredocs(text, pos, cur, line, obj, start, fixup, fail)
        append(obj)
        comments = []
    if not out:
        raise fail("file with no instructions", max(cur, 1))
    return d, warnings, out


def _heredocs(text: str, pos: int, cur: int, line: str, obj: Any, start: int,
              fixup: Callable[[Any, int, list[Heredoc]], Any], fail: Callable[..., Exception]
              ) -> tuple[int, int, Any]:
    """Read the bodies of the heredocs ``line`` opens from ``pos`` on (each physical line
    with its newline, as Go's scanner gives it); returns (lines consumed, position, obj)."""
    try:
        docs = heredocs_from_line(line)
    except ValueError as e:
        raise fail(str(e), start, cur) from None
    if not docs:
        return cur, pos, obj
    tlen = len(text)
    for h in docs:
        content: list[str] = []
        terminated = False
        while pos < tlen:
            nl = text.find("\n", pos)
            if nl < 0:
                body, pos = text[pos:], tlen
            else:
                body, pos = text[pos:nl + 1], nl + 1
            cur += 1
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
    return cur, pos, fixup(obj, cur, docs)
