"""The parse tree's types: :class:`Node` (BuildKit's shape), :class:`Heredoc`, parser
warnings and results, and Go's string quoting (``strconv.Quote``) used by the AST dump."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Node", "Heredoc", "ParseWarning", "ParseResult", "go_quote", "MAX_LINE",
           "HEREDOC_INSTRUCTIONS"]

MAX_LINE = 65535  # bufio.MaxScanTokenSize - 1: BuildKit's limit on one physical line
WS = re.compile(r"[\t\v\f\r ]+")  # BuildKit's reWhitespace
NO_ATTRS: dict[str, bool] = {}
HEREDOC_INSTRUCTIONS = frozenset({"add", "copy", "run"})


@dataclass(slots=True)
class Heredoc:
    """One ``<<NAME`` body: ``content`` keeps its newlines (and tabs, even for ``<<-``;
    :func:`chomp_heredoc_content` strips them); ``expand`` is False when any part of the
    delimiter was quoted; ``file_descriptor`` is N in ``N<<EOF`` (0 when absent)."""

    name: str
    content: str = ""
    expand: bool = True
    chomp: bool = False
    file_descriptor: int = 0


class Node:
    """A node of BuildKit's parse tree (see the module docstring).

    Sequence fields default to shared empty tuples (a node is built once by the parser);
    the root's ``children`` is a list. The parser stores a plain argument chain (every
    instruction but ONBUILD) as a tuple of strings (``vals``) and builds the ``next`` nodes
    only when something reads ``next``: most users only need :meth:`args`.
    """

    __slots__ = ("value", "_next", "_vals", "children", "heredocs", "attributes", "original",
                 "flags", "start_line", "end_line", "prev_comment")

    def __init__(self, value: str = "", next: Node | None = None,
                 children: list[Node] | tuple[()] = (), heredocs: list[Heredoc] | tuple[()] = (),
                 attributes: dict[str, bool] | None = None, original: str = "",
                 flags: list[str] | tuple[()] = (), start_line: int = 0, end_line: int = 0,
                 prev_comment: list[str] | tuple[()] = (),
                 vals: tuple[str, ...] | None = None):
        self.value = value
        self._next = next
        self._vals = vals if next is None else None
        self.children = children
        self.heredocs = heredocs
        self.attributes = attributes if attributes is not None else NO_ATTRS
        self.original = original
        self.flags = flags
        self.start_line = start_line
        self.end_line = end_line
        self.prev_comment = prev_comment

    @property
    def next(self) -> Node | None:
        """The first argument node (BuildKit's ``Next``); built on first access from the
        stored argument values."""
        n = self._next
        if n is None and self._vals:
            vals = self._vals
            n = last = Node(vals[0])
            for v in vals[1:]:
                nxt = Node(v)
                last._next = nxt
                last = nxt
            self._next = n
            self._vals = None  # the chain is now the only copy (it may be edited)
        return n

    @next.setter
    def next(self, node: Node | None) -> None:
        self._next = node
        self._vals = None

    def __repr__(self) -> str:
        return f"Node({self.dump()!r}, lines {self.start_line}-{self.end_line})"

    def args(self) -> list[str]:
        """The argument values after the instruction word (ONBUILD: the trigger's word and
        its arguments), as BuildKit's ``nodeArgs``."""
        if self._vals is not None:
            return list(self._vals)
        out: list[str] = []
        n = self._next
        while n is not None:
            if not n.children:
                out.append(n.value)
            elif len(n.children) == 1:
                c = n.children[0]
                out.append(c.value)
                out.extend(c.args())
            n = n.next
        return out

    def dump(self) -> str:
        """BuildKit's ``Node.Dump()``: ``(run "echo hi")``, flags as ``["--from=a"]``."""
        parts = [self.value.lower()]
        if self.flags:
            parts.append(" [" + " ".join(go_quote(f) for f in self.flags) + "]")
        for c in self.children:
            parts.append("(" + c.dump() + ")\n")
        if self._vals is not None:
            for v in self._vals:
                parts.append(" " + go_quote(v))
            return "".join(parts).strip()
        n = self._next
        while n is not None:
            if n.children:
                parts.append(" " + n.dump())
            else:
                parts.append(" " + go_quote(n.value))
            n = n.next
        return "".join(parts).strip()


@dataclass(frozen=True, slots=True)
class ParseWarning:
    """A parser warning (BuildKit gives one per instruction with empty continuation lines)."""

    short: str
    detail: str
    url: str
    line: int


@dataclass(slots=True)
class ParseResult:
    """The root node (children = instructions), the escape character, the parser directives
    (lower-case name → value), and warnings."""

    ast: Node
    escape: str
    directives: dict[str, str]
    warnings: list[ParseWarning]


# ---------------------------------------------------------------------------------------
# Go-compatible quoting (strconv.Quote), used by dump() and error messages.

_GO_ESC = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
           "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def go_quote(s: str) -> str:
    """Go's ``strconv.Quote``: ``\\"``, ``\\\\``, ``\\n``..., other control bytes as ``\\xNN``,
    non-printable runes as ``\\uNNNN``/``\\UNNNNNNNN``, printable non-ASCII kept."""
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return '"' + s + '"'
    out = ['"']
    for ch in s:
        e = _GO_ESC.get(ch)
        if e is not None:
            out.append(e)
            continue
        o = ord(ch)
        if o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif o < 0x80 or ch.isprintable():
            out.append(ch)
        elif 0xDC80 <= o <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{o - 0xDC00:02x}")
        elif o > 0xFFFF:
            out.append(f"\\U{o:08x}")
        else:
            out.append(f"\\u{o:04x}")
    out.append('"')
    return "".join(out)


