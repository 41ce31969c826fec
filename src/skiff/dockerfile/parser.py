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
from skiff.dockerfile.segment import Directives, gc_resume
from skiff.dockerfile.segment import segment as _segment

__all__ = ["Node", "Heredoc", "ParseWarning", "ParseResult", "parse_ast", "scan", "go_quote",
           "parse_heredoc", "heredocs_from_line", "chomp_heredoc_content", "parse_words",
           "detect_syntax", "extract_builder_flags", "MAX_LINE", "DISPATCH",
           "_extract_builder_flags_slow", "_parse_words_slow", "_go_json_array",
           "_split_command"]

_Directives = Directives  # the name lineparse's annotations use


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

    def build(line: str, d, comments, start: int, end: int) -> ScannedInstruction:
        return ScannedInstruction(line.split(None, 1)[0], line, start, end)

    def fixup(obj: ScannedInstruction, end: int, heredocs: list[Heredoc]
              ) -> ScannedInstruction:
        return obj._replace(end_line=end, heredocs=tuple(heredocs))

    gc_was_enabled = gc.isenabled()
    gc.disable()  # nothing built here is cyclic
    try:
        return _segment(text, filename, build, capable, fixup)[2]
    finally:
        gc_resume(gc_was_enabled)


def _parse_json_quiet(rest: str):
    try:
        return _parse_json(rest)
    except _NotStringArray:
        return None


def _set_heredocs(node: Node, end: int, heredocs: list[Heredoc]) -> Node:
    node.end_line = end
    node.heredocs = heredocs
    return node


def parse_ast(text: str, *, filename: str = "Dockerfile") -> ParseResult:
    """Parse Dockerfile text into BuildKit's node tree.

    Raises DockerfileError with the 1-based line: ``file with no instructions``,
    ``unterminated heredoc``, ``dockerfile line greater than max allowed size of 65535``,
    ``invalid escape token ...``, JSON arrays of non-strings, ENV/LABEL shape errors.
    """
    def capable(child: Node, line: str) -> bool:
        return _can_contain_heredoc(child)

    gc_was_enabled = gc.isenabled()
    gc.disable()  # the tree is acyclic; collections during a big parse only cost time
    try:
        d, warnings, children = _segment(text, filename, _node_from_line, capable,
                                         _set_heredocs)
    finally:
        gc_resume(gc_was_enabled)
    root = Node(children=children, start_line=-1)
    root.start_line = children[0].start_line
    root.end_line = children[-1].end_line
    directives = {k: directive_value(v) if k != "escape" else v
                  for k, v in d.values.items()}
    return ParseResult(ast=root, escape=d.escape, directives=directives, warnings=warnings)
