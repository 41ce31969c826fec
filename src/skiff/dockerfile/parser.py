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
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from skiff.errors import DockerfileError

__all__ = ["Node", "Heredoc", "ParseWarning", "ParseResult", "parse_ast", "go_quote",
           "parse_heredoc", "heredocs_from_line", "chomp_heredoc_content", "parse_words",
           "detect_syntax", "extract_builder_flags", "MAX_LINE"]

MAX_LINE = 65535  # bufio.MaxScanTokenSize - 1: BuildKit's limit on one physical line
_WS = re.compile(r"[\t\v\f\r ]+")
_HEREDOC = re.compile(r"^(\d*)<<(-?)\s*([^<]*)$", re.S)
_LEADING_TABS = re.compile(r"(?m)^\t+")
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
KNOWN_DIRECTIVES = ("syntax", "escape", "check")
_NO_ATTRS: dict[str, bool] = {}
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
    the root's ``children`` is a list.
    """

    __slots__ = ("value", "next", "children", "heredocs", "attributes", "original", "flags",
                 "start_line", "end_line", "prev_comment")

    def __init__(self, value: str = "", next: Node | None = None,
                 children: list[Node] | tuple[()] = (), heredocs: list[Heredoc] | tuple[()] = (),
                 attributes: dict[str, bool] | None = None, original: str = "",
                 flags: list[str] | tuple[()] = (), start_line: int = 0, end_line: int = 0,
                 prev_comment: list[str] | tuple[()] = ()):
        self.value = value
        self.next = next
        self.children = children
        self.heredocs = heredocs
        self.attributes = attributes if attributes is not None else _NO_ATTRS
        self.original = original
        self.flags = flags
        self.start_line = start_line
        self.end_line = end_line
        self.prev_comment = prev_comment

    def __repr__(self) -> str:
        return f"Node({self.dump()!r}, lines {self.start_line}-{self.end_line})"

    def args(self) -> list[str]:
        """The argument values after the instruction word (ONBUILD: the trigger's word and
        its arguments), as BuildKit's ``nodeArgs``."""
        out: list[str] = []
        n = self.next
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
        n = self.next
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
# Line parsers (one per argument shape)

_ParseFn = Callable[[str, _Directives], tuple["Node | None", dict[str, bool]]]


_SIMPLE_FLAG = re.compile(r"--[^\s'\"\\]*")


def _fast_flags(line: str) -> tuple[str, list[str]] | None:
    """Flags without quotes or backslashes (the usual case); None to use the full loop."""
    words: list[str] = []
    pos = 0
    n = len(line)
    while True:
        m = _SIMPLE_FLAG.match(line, pos)
        if m is None:
            return (line[pos:], words) if not line.startswith("-", pos) or \
                not line.startswith("--", pos) else None
        end = m.end()
        if end < n and not line[end].isspace():
            return None  # a quote or backslash inside the flag
        w = m.group()
        if w == "--":
            return line[end:], words
        words.append(w)
        while end < n and line[end].isspace():
            end += 1
        pos = end
        if pos >= n:
            return "", words
        if not line.startswith("--", pos):
            return line[pos:], words


def extract_builder_flags(line: str) -> tuple[str, list[str]]:
    """Split leading ``--flag[=value]`` words off an instruction's arguments.

    Returns (rest, flags). Quotes and backslashes inside flags are processed; ``--`` ends
    the flags. BuildKit's ``extractBuilderFlags``.
    """
    stripped = line.lstrip()
    if not stripped.startswith("--"):
        return stripped, []
    fast = _fast_flags(stripped)
    if fast is not None:
        return fast
    return _extract_builder_flags_slow(line)


def _extract_builder_flags_slow(line: str) -> tuple[str, list[str]]:
    """The character loop of :func:`extract_builder_flags` (quotes, backslashes)."""
    words: list[str] = []
    word: list[str] = []
    phase = 0  # 0 spaces, 1 word, 2 quote
    quote = ""
    blank_ok = False
    n = len(line)
    pos = 0
    while pos <= n:
        ch = line[pos] if pos < n else ""
        if phase == 0:
            if pos == n:
                break
            if ch.isspace():
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or line[pos + 1] != "-":
                return line[pos:], words
            phase = 1
        if pos == n:
            w = "".join(word)
            if w != "--" and (blank_ok or w):
                words.append(w)
            break
        if phase == 1:
            if ch.isspace():
                phase = 0
                w = "".join(word)
                if w == "--":
                    return line[pos:], words
                if blank_ok or w:
                    words.append(w)
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = 2
                pos += 1
                continue
            if ch == "\\":
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = line[pos]
            word.append(ch)
            pos += 1
            continue
        # phase 2: in quotes
        if ch == quote:
            phase = 1
            pos += 1
            continue
        if ch == "\\":
            if pos + 1 == n:
                phase = 1
                pos += 1
                continue
            pos += 1
            ch = line[pos]
        word.append(ch)
        pos += 1
    return "", words


_WORD_RX: dict[str, re.Pattern[str]] = {}


def _word_rx(escape: str) -> re.Pattern[str]:
    rx = _WORD_RX.get(escape)
    if rx is None:
        e = re.escape(escape)
        rx = re.compile(rf"""(?:{e}.|"(?:{e}.|[^"{e}])*(?:"|$)|'[^']*(?:'|$)|[^\s"'{e}])+""",
                        re.S)
        _WORD_RX[escape] = rx
    return rx


def parse_words(rest: str, escape: str = "\\") -> list[str]:
    """Split on whitespace outside quotes, keeping quotes and escapes (BuildKit parseWords;
    used for ENV/LABEL/ARG ``key=value`` lists)."""
    if not rest.endswith(escape):
        return _word_rx(escape).findall(rest)
    return _parse_words_slow(rest, escape)


def _parse_words_slow(rest: str, escape: str) -> list[str]:
    """Character loop (handles an escape character at the very end, which is dropped)."""
    words: list[str] = []
    word: list[str] = []
    phase = 0
    quote = ""
    blank_ok = False
    n = len(rest)
    pos = 0
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == 0:
            if pos == n:
                break
            if ch.isspace():
                pos += 1
                continue
            phase = 1
        if pos == n:
            if blank_ok or word:
                words.append("".join(word))
            break
        if phase == 1:
            if ch.isspace():
                phase = 0
                if blank_ok or word:
                    words.append("".join(word))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = 2
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        if ch == quote:
            phase = 1
        if ch == escape and quote != "'":
            if pos + 1 == n:
                phase = 1
                pos += 1
                continue
            word.append(ch)
            pos += 1
            ch = rest[pos]
        word.append(ch)
        pos += 1
    return words


def _chain(values: list[str]) -> Node | None:
    root: Node | None = None
    prev: Node | None = None
    for v in values:
        node = Node(value=v)
        if prev is None:
            root = node
        else:
            prev.next = node
        prev = node
    return root


def _kv(key: str, value: str, sep: str) -> Node:
    return Node(value=key, next=Node(value=value, next=Node(value=sep)))


def _parse_ignore(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    return Node(), _NO_ATTRS


def _parse_sub_command(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    if rest == "":
        return None, _NO_ATTRS
    child = _node_from_line(rest, d, [])
    return Node(children=[child]), _NO_ATTRS


def _parse_name_val(rest: str, key: str, d: _Directives) -> Node | None:
    words = parse_words(rest, d.escape)
    if not words:
        return None
    if "=" not in words[0]:
        parts = _WS.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise ValueError(f"{key} must have two arguments")
        return _kv(parts[0], parts[1], "")
    root: Node | None = None
    last: Node | None = None
    for w in words:
        if "=" not in w:
            raise ValueError(f"Syntax error - can't find = in {go_quote(w)}. "
                             "Must be of the form: name=value")
        k, v = w.split("=", 1)
        node = _kv(k, v, "=")
        if root is None:
            root = node
        else:
            assert last is not None
            last.next = node
        last = node.next.next  # type: ignore[union-attr]
    return root


def _parse_env(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    return _parse_name_val(rest, "ENV", d), _NO_ATTRS


def _parse_label(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    return _parse_name_val(rest, "LABEL", d), _NO_ATTRS


def _parse_name_or_name_val(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    return _chain(parse_words(rest, d.escape)), _NO_ATTRS


def _parse_strings_ws(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    if rest == "":
        return None, _NO_ATTRS
    parts = _WS.split(rest)
    if parts and parts[-1] == "":
        parts.pop()
    return _chain(parts), _NO_ATTRS


def _parse_string(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    if rest == "":
        return None, _NO_ATTRS
    return Node(value=rest), _NO_ATTRS


class _NotStringArray(ValueError):
    def __init__(self) -> None:
        super().__init__("when using JSON array syntax, arrays must be comprised of strings only")


_SIMPLE_JSON_ARRAY = re.compile(r'\[[ \t]*(?:"[^"\\\x00-\x1f]*"[ \t]*'
                                r'(?:,[ \t]*"[^"\\\x00-\x1f]*"[ \t]*)*)?\][ \t]*')
_JSON_STRING = re.compile(r'"([^"\\\x00-\x1f]*)"')


def _go_json_array(rest: str) -> list[object] | None:
    """json.Unmarshal into []interface{}: None when it is not a JSON array."""
    rest = rest.lstrip()
    if not rest.startswith("["):
        return None
    if _SIMPLE_JSON_ARRAY.fullmatch(rest):  # strings without escapes: no decoder needed
        return _JSON_STRING.findall(rest)
    try:
        val = json.loads(rest, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    return val if isinstance(val, list) else None


def _reject_constant(name: str) -> object:
    raise ValueError(name)  # Go's JSON has no NaN/Infinity


def _parse_json(rest: str) -> tuple[Node | None, dict[str, bool]] | None:
    arr = _go_json_array(rest)
    if arr is None:
        return None
    if not all(isinstance(x, str) for x in arr):
        raise _NotStringArray()
    return _chain(arr), {"json": True}  # type: ignore[arg-type]


def _parse_maybe_json(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    if rest == "":
        return None, _NO_ATTRS
    r = _parse_json(rest)
    if r is not None:
        return r
    return Node(value=rest), _NO_ATTRS


def _parse_maybe_json_to_list(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    r = _parse_json(rest)
    if r is not None:
        return r
    return _parse_strings_ws(rest, d)


def _parse_health_config(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    sep = 0
    n = len(rest)
    while sep < n and not rest[sep].isspace():
        sep += 1
    nxt = sep
    while nxt < n and rest[nxt].isspace():
        nxt += 1
    if sep == 0:
        return None, _NO_ATTRS
    cmd, attrs = _parse_maybe_json(rest[nxt:], d)
    return Node(value=rest[:sep], next=cmd), attrs


DISPATCH: dict[str, _ParseFn] = {
    "add": _parse_maybe_json_to_list,
    "arg": _parse_name_or_name_val,
    "cmd": _parse_maybe_json,
    "copy": _parse_maybe_json_to_list,
    "entrypoint": _parse_maybe_json,
    "env": _parse_env,
    "expose": _parse_strings_ws,
    "from": _parse_strings_ws,
    "healthcheck": _parse_health_config,
    "label": _parse_label,
    "maintainer": _parse_string,
    "onbuild": _parse_sub_command,
    "run": _parse_maybe_json,
    "shell": _parse_maybe_json,
    "stopsignal": _parse_string,
    "user": _parse_string,
    "volume": _parse_maybe_json_to_list,
    "workdir": _parse_string,
}


def _split_command(line: str) -> tuple[str, list[str], str]:
    parts = _WS.split(line.strip(), maxsplit=1)
    flags: list[str] = []
    args = ""
    if len(parts) == 2:
        args, flags = extract_builder_flags(parts[1])
    return parts[0], flags, args.strip()


def _node_from_line(line: str, d: _Directives, comments: list[str]) -> Node:
    cmd, flags, args = _split_command(line)
    fn = DISPATCH.get(cmd.lower(), _parse_ignore)
    nxt, attrs = fn(args, d)
    return Node(cmd, nxt, (), (), attrs, line, flags, 0, 0,
                list(comments) if comments else ())


def _can_contain_heredoc(node: Node) -> bool:
    if node.value.lower() == "onbuild" and node.next is not None and node.next.children:
        node = node.next.children[0]
    return node.value.lower() in HEREDOC_INSTRUCTIONS and not node.attributes.get("json")


# ---------------------------------------------------------------------------------------
# Heredocs

def parse_heredoc(word: str) -> Heredoc | None:
    """Classify one word: a heredoc (``<<EOF``, ``<<-'EOF'``, ``3<<EOF``) or None.

    Raises ValueError for an unbalanced quote in the delimiter (BuildKit ParseHeredoc).
    """
    if "<<" not in word:
        return None
    m = _HEREDOC.match(word)
    if m is None:
        return None
    from skiff.dockerfile.shell import Lexer, ShellError

    fd = int(m.group(1)) if m.group(1) else 0
    chomp = m.group(2) == "-"
    rest = m.group(3)
    if not rest:
        return None
    lex = Lexer("\\", skip_unset_env=True)
    try:
        words = lex.process_words(rest, {})
        if len(words) != 1:
            return None
        lex.raw_quotes = True
        raw = lex.process_words(rest, {})
    except ShellError as e:
        raise ValueError(str(e)) from None
    if len(raw) != 1:
        raise ValueError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    name = words[0]
    expand = (name.count("'") + name.count('"')) == (raw[0].count("'") + raw[0].count('"'))
    return Heredoc(name=name, expand=expand, chomp=chomp, file_descriptor=fd)


_HEREDOC_OPEN = re.compile(r"^\d*<<-?$")


def heredocs_from_line(line: str) -> list[Heredoc]:
    """The heredocs an instruction line opens, in order (``RUN <<A <<B`` → A, B).

    ``<< EOF`` (space after the operator) names ``EOF``; quoted ``'<<EOF'`` is no heredoc.
    """
    from skiff.dockerfile.shell import Lexer, ShellError

    lex = Lexer("\\", raw_quotes=True, raw_escapes=True, skip_unset_env=True)
    try:
        words = lex.process_words(line, {})
    except ShellError:
        words = _partial_words(lex, line)
    docs: list[Heredoc] = []
    i = 0
    while i < len(words):
        w = words[i]
        if _HEREDOC_OPEN.match(w) and i + 1 < len(words):
            h = parse_heredoc(w + " " + words[i + 1])
            if h is not None:
                docs.append(h)
                i += 2
                continue
        h = parse_heredoc(w)
        if h is not None:
            docs.append(h)
        i += 1
    return docs


def _partial_words(lex: object, line: str) -> list[str]:
    """BuildKit ignores lexing errors here and uses the words found so far."""
    from skiff.dockerfile.shell import ShellError

    for end in range(len(line), 0, -1):
        try:
            return lex.process_words(line[:end], {})  # type: ignore[attr-defined]
        except ShellError:
            continue
    return []


def chomp_heredoc_content(src: str) -> str:
    """Strip leading tabs from every line (the ``<<-`` form)."""
    return _LEADING_TABS.sub("", src)


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

    def build(line: str, d: _Directives, comments: list[str]):
        if "<<" not in line:
            return line.split(None, 1)[0], False
        word = line.split(None, 1)
        kw = word[0] if word else ""
        low = kw.lower()
        capable = False
        if low in HEREDOC_INSTRUCTIONS or low == "onbuild":
            rest = word[1] if len(word) > 1 else ""
            if low == "onbuild":
                sub = rest.split(None, 1)
                capable = bool(sub) and sub[0].lower() in HEREDOC_INSTRUCTIONS
                rest = sub[1] if len(sub) > 1 else ""
            else:
                capable = True
            if capable:
                rest, _ = extract_builder_flags(rest)
                capable = _parse_json_quiet(rest.strip()) is None
        return kw, capable

    append = out.append

    def add(obj, start: int, end: int, heredocs: list[Heredoc]) -> None:
        append(ScannedInstruction(obj[0], obj[1], start, end, tuple(heredocs)))

    def build_pair(line, d, comments):
        kw, capable = build(line, d, comments)
        return (kw, line), capable

    _run(text, filename, build_pair, add)
    return out


def _parse_json_quiet(rest: str):
    try:
        return _parse_json(rest)
    except _NotStringArray:
        return None


def _run(text: str, filename: str, build, add) -> tuple[_Directives, list[ParseWarning], int]:
    """The line loop shared by :func:`scan` and :func:`parse_ast` (BuildKit's Parse).

    ``build(line, directives, comments) -> (obj, may_have_heredocs)`` makes the
    instruction; ``add(obj, start, end, heredocs)`` receives it with its line range.
    Returns (directives, warnings, number of instructions).
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()  # the tree is acyclic; collections during a big parse only cost time
    try:
        return _run_lines(text, filename, build, add)
    finally:
        if gc_was_enabled:
            gc.enable()


def _run_lines(text: str, filename: str, build, add
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
        if len(raw) >= MAX_LINE:
            check_len(raw, cur + 1)
        tok = raw.rstrip("\r").lstrip()
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
                if len(raw) >= MAX_LINE:
                    check_len(raw, cur + 1)
                cur += 1
                t = raw.rstrip("\r")
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
            obj, capable = build(line, d, comments)
        except ValueError as e:
            raise fail(str(e), start, cur) from None
        docs: list[Heredoc] = []
        if capable and "<<" in line:
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

    def build(line: str, d: _Directives, comments: list[str]):
        child = _node_from_line(line, d, comments)
        return child, _can_contain_heredoc(child)

    def add(child: Node, start: int, end: int, heredocs: list[Heredoc]) -> None:
        child.start_line, child.end_line = start, end
        if heredocs:
            child.heredocs = heredocs
        children.append(child)

    d, warnings, _ = _run(text, filename, build, add)
    root.start_line = children[0].start_line
    root.end_line = children[-1].end_line
    directives = {k: directive_value(v) if k != "escape" else v
                  for k, v in d.values.items()}
    return ParseResult(ast=root, escape=d.escape, directives=directives, warnings=warnings)
