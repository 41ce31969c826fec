"""Dockerfile text → a generic syntax tree of instructions with source line ranges.

This is the first of the two layers BuildKit's front end has (``frontend/dockerfile/parser``):
it knows lines, comments, parser directives (``# syntax=``, ``# escape=``, ``# check=``),
line continuations with the escape character, heredocs, flags (``--from=x``) and the
argument shape of each instruction (JSON array or shell form, key=value pairs, words). It
does not know what the instructions mean: :mod:`skiff.dockerfile.instructions` turns the
tree into typed instructions and stages.

The tree is :class:`Node` (BuildKit's shape): ``value`` (the instruction word as written),
``next`` (the argument chain), ``children`` (instructions of the root, or ONBUILD's
trigger), ``flags``, ``attributes`` (``{"json": True}`` for exec form), ``heredocs``,
``original`` (the joined source line), ``start_line``/``end_line`` (1-based, inclusive).
:meth:`Node.dump` prints BuildKit's S-expression form, the ``result`` files of BuildKit's
parser test corpus.
"""

from __future__ import annotations

import gc
import json
import re
from typing import NamedTuple

from skiff.dockerfile.heredoc import chomp_heredoc_content, heredocs_from_line, parse_heredoc
from skiff.dockerfile.lineparse import (
    DISPATCH,
    _can_contain_heredoc,
    _extract_builder_flags_slow,
    _go_json_array,
    _node_from_line,
    _NotStringArray,
    _parse_json,
    _parse_words_slow,
    _split_command,
    extract_builder_flags,
    parse_words,
)
from skiff.dockerfile.nodes import (
    HEREDOC_INSTRUCTIONS,
    MAX_LINE,
    Heredoc,
    Node,
    ParseResult,
    ParseWarning,
    go_quote,
)
from skiff.errors import DockerfileError

__all__ = ["Node", "Heredoc", "ParseWarning", "ParseResult", "parse_ast", "scan", "go_quote",
           "parse_heredoc", "heredocs_from_line", "chomp_heredoc_content", "parse_words",
           "detect_syntax", "extract_builder_flags", "MAX_LINE", "DISPATCH",
           "_extract_builder_flags_slow", "_parse_words_slow", "_go_json_array",
           "_split_command"]

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
KNOWN_DIRECTIVES = ("syntax", "escape", "check")


# ---------------------------------------------------------------------------------------
# Directives

class _Directives:
    """Parser-directive state: the escape token, its continuation regex, what was seen."""

    __slots__ = ("escape", "continuation", "seen", "done", "line", "values")

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
        e = re.escape(s)
        self.continuation = re.compile(rf"([^{e}]){e}[ \t]*$|^{e}[ \t]*$")

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


def detect_syntax(text: str) -> tuple[str, str, int] | None:
    """BuildKit's DetectSyntax: the ``# syntax=`` (or ``//syntax=``, or a JSON first line
    ``{"syntax": ...}``) frontend reference at the top of a Dockerfile.

    Returns ``(ref, cmdline, line)`` or None. A shebang may come first; a blank line ends
    the directive block; ``ref`` is the first word of ``cmdline``.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if text.lstrip().startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            return None
        v = obj.get("syntax") if isinstance(obj, dict) else None
        return (v, v, 1) if isinstance(v, str) and v else None
    rx = re.compile(r"^(?:#|//)\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
    for i, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        if i == 1 and line.startswith("#!"):
            continue
        m = rx.match(line)
        if not m:
            return None
        if m.group(1).lower() == "syntax":
            cmdline = m.group(2)
            return cmdline.split()[0], cmdline, i
    return None


def directive_value(cmdline: str) -> str:
    """The value of a directive without a trailing ``// comment`` (``skip=all // x`` →
    ``skip=all``)."""
    return re.split(r"\s+//", cmdline, maxsplit=1)[0].strip()



# ---------------------------------------------------------------------------------------
# The main loop

def _split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    out = [ln + "\n" for ln in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def _trim_newline(s: str) -> str:
    return s.rstrip("\r\n")


def _is_comment(s: str) -> bool:
    s = s.lstrip()
    return s.startswith("#")


class ScannedInstruction(NamedTuple):
    """One logical instruction as :func:`scan` finds it: the keyword as written, the joined
    line (continuations removed), its 1-based line range, and heredoc bodies."""

    keyword: str
    line: str
    start_line: int
    end_line: int
    heredocs: tuple[Heredoc, ...] = ()


def scan(text: str, *, filename: str = "Dockerfile") -> list[ScannedInstruction]:
    """Split Dockerfile text into logical instructions without parsing their arguments
    (BuildKit's line rules: directives, comments, continuations, heredocs).

    The cheap first pass of :func:`parse_ast`, for tools that only need instruction
    boundaries; raises DockerfileError like :func:`parse_ast`.
    """
    out: list[ScannedInstruction] = []

    def capable(obj, line: str) -> bool:
        word = line.split(None, 1)
        kw = word[0] if word else ""
        low = kw.lower()
        ok = False
        if low in HEREDOC_INSTRUCTIONS or low == "onbuild":
            rest = word[1] if len(word) > 1 else ""
            if low == "onbuild":
                sub = rest.split(None, 1)
                ok = bool(sub) and sub[0].lower() in HEREDOC_INSTRUCTIONS
                rest = sub[1] if len(sub) > 1 else ""
            else:
                ok = True
            if ok:
                rest, _ = extract_builder_flags(rest)
                ok = _parse_json_quiet(rest.strip()) is None
        return ok

    append = out.append

    def add(obj, start: int, end: int, heredocs: list[Heredoc]) -> None:
        append(ScannedInstruction(obj[0], obj[1], start, end, tuple(heredocs)))

    def build(line, d, comments):
        return line.split(None, 1)[0], line

    _run(text, filename, build, capable, add)
    return out


def _parse_json_quiet(rest: str):
    try:
        return _parse_json(rest)
    except _NotStringArray:
        return None


def _run(text: str, filename: str, build, capable, add
         ) -> tuple[_Directives, list[ParseWarning], int]:
    """The line loop shared by :func:`scan` and :func:`parse_ast` (BuildKit's Parse).

    ``build(line, directives, comments) -> obj`` makes the instruction,
    ``capable(obj, line) -> bool`` tells whether it may open heredocs (asked only when the
    line has ``<<``); ``add(obj, start, end, heredocs)`` receives it with its line range.
    Returns (directives, warnings, number of instructions).
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()  # the tree is acyclic; collections during a big parse only cost time
    try:
        return _run_lines(text, filename, build, capable, add)
    finally:
        if gc_was_enabled:
            gc.enable()


def _run_lines(text: str, filename: str, build, capable, add
               ) -> tuple[_Directives, list[ParseWarning], int]:
    d = _Directives()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
        trailing_nl = True
    else:
        trailing_nl = False
    n = len(lines)
    if n and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    # Checked per line only when some line could be too long; CRs stripped only if present.
    max_len = MAX_LINE if n and max(map(len, lines)) >= MAX_LINE else 1 << 62
    has_cr = "\r" in text
    warnings: list[ParseWarning] = []
    comments: list[str] = []
    count = 0
    cur = 0
    i = 0
    esc = d.escape

    def fail(msg: str, start: int, end: int | None = None) -> DockerfileError:
        return DockerfileError(msg, line=start if start > 0 else None, end_line=end,
                               filename=filename)

    def check_len(raw: str, lineno: int) -> None:
        if len(raw) >= MAX_LINE and \
                len(raw.rstrip("\r").encode("utf-8", "surrogateescape")) + 1 > MAX_LINE + 1:
            raise fail(f"dockerfile line greater than max allowed size of {MAX_LINE}", lineno)

    def raw_line(k: int) -> str:
        # the physical line with its newline, as Go's scanner gives it (for heredoc bodies)
        return lines[k] + "\n" if (k < n - 1 or trailing_nl) else lines[k]

    while i < n:
        raw = lines[i]
        i += 1
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
            while i < n:
                raw = lines[i]
                i += 1
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
            obj = build(line, d, comments)
        except ValueError as e:
            raise fail(str(e), start, cur) from None
        docs: list[Heredoc] = []
        if "<<" in line and capable(obj, line):
            try:
                docs = heredocs_from_line(line)
            except ValueError as e:
                raise fail(str(e), start, cur) from None
            for h in docs:
                content: list[str] = []
                terminated = False
                while i < n:
                    body = raw_line(i)
                    i += 1
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
        add(obj, start, cur, docs)
        count += 1
        comments = []
    if count == 0:
        raise fail("file with no instructions", max(cur, 1))
    return d, warnings, count


def parse_ast(text: str, *, filename: str = "Dockerfile") -> ParseResult:
    """Parse Dockerfile text into BuildKit's node tree.

    Raises DockerfileError with the 1-based line: ``file with no instructions``,
    ``unterminated heredoc``, ``dockerfile line greater than max allowed size of 65535``,
    ``invalid escape token ...``, JSON arrays of non-strings, ENV/LABEL shape errors.
    """
    children: list[Node] = []
    root = Node(children=children, start_line=-1)

    def capable(child: Node, line: str) -> bool:
        return _can_contain_heredoc(child)

    def add(child: Node, start: int, end: int, heredocs: list[Heredoc]) -> None:
        child.start_line, child.end_line = start, end
        if heredocs:
            child.heredocs = heredocs
        children.append(child)

    d, warnings, _ = _run(text, filename, _node_from_line, capable, add)
    root.start_line = children[0].start_line
    root.end_line = children[-1].end_line
    directives = {k: directive_value(v) if k != "escape" else v
                  for k, v in d.values.items()}
    return ParseResult(ast=root, escape=d.escape, directives=directives, warnings=warnings)
