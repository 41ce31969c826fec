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

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

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


@dataclass(slots=True, eq=False)
class Node:
    """A node of BuildKit's parse tree (see the module docstring)."""

    value: str = ""
    next: Node | None = None
    children: list[Node] = field(default_factory=list)
    heredocs: list[Heredoc] = field(default_factory=list)
    attributes: dict[str, bool] = field(default_factory=dict)
    original: str = ""
    flags: list[str] = field(default_factory=list)
    start_line: int = 0
    end_line: int = 0
    prev_comment: list[str] = field(default_factory=list)

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


def extract_builder_flags(line: str) -> tuple[str, list[str]]:
    """Split leading ``--flag[=value]`` words off an instruction's arguments.

    Returns (rest, flags). Quotes and backslashes inside flags are processed; ``--`` ends
    the flags. BuildKit's ``extractBuilderFlags``.
    """
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


def parse_words(rest: str, escape: str = "\\") -> list[str]:
    """Split on whitespace outside quotes, keeping quotes and escapes (BuildKit parseWords;
    used for ENV/LABEL/ARG ``key=value`` lists)."""
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
    return Node(), {}


def _parse_sub_command(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    if rest == "":
        return None, {}
    child = _node_from_line(rest, d, [])
    return Node(children=[child]), {}


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
    return _parse_name_val(rest, "ENV", d), {}


def _parse_label(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    return _parse_name_val(rest, "LABEL", d), {}


def _parse_name_or_name_val(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    return _chain(parse_words(rest, d.escape)), {}


def _parse_strings_ws(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    if rest == "":
        return None, {}
    parts = _WS.split(rest)
    if parts and parts[-1] == "":
        parts.pop()
    return _chain(parts), {}


def _parse_string(rest: str, d: _Directives) -> tuple[Node | None, dict[str, bool]]:
    if rest == "":
        return None, {}
    return Node(value=rest), {}


class _NotStringArray(ValueError):
    def __init__(self) -> None:
        super().__init__("when using JSON array syntax, arrays must be comprised of strings only")


def _go_json_array(rest: str) -> list[object] | None:
    """json.Unmarshal into []interface{}: None when it is not a JSON array."""
    rest = rest.lstrip()
    if not rest.startswith("["):
        return None
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
        return None, {}
    r = _parse_json(rest)
    if r is not None:
        return r
    return Node(value=rest), {}


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
        return None, {}
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
    return Node(value=cmd, original=line, flags=flags, next=nxt, attributes=attrs,
                prev_comment=list(comments))


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
    from skiff.dockerfile.shell import Lexer, ShellError

    m = _HEREDOC.match(word)
    if m is None:
        return None
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


def parse_ast(text: str, *, filename: str = "Dockerfile") -> ParseResult:
    """Parse Dockerfile text into BuildKit's node tree.

    Raises DockerfileError with the 1-based line: ``file with no instructions``,
    ``unterminated heredoc``, ``dockerfile line greater than max allowed size of 65535``,
    ``invalid escape token ...``, JSON arrays of non-strings, ENV/LABEL shape errors.
    """
    d = _Directives()
    lines = _split_lines(text)
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    root = Node(start_line=-1)
    warnings: list[ParseWarning] = []
    comments: list[str] = []
    cur = 0
    i = 0
    n = len(lines)

    def fail(msg: str, start: int, end: int | None = None) -> DockerfileError:
        return DockerfileError(msg, line=start if start > 0 else None, end_line=end,
                               filename=filename)

    def check_len(raw: str, lineno: int) -> None:
        if len(raw) > MAX_LINE and len(raw.rstrip("\n").encode("utf-8", "surrogateescape")) \
                > MAX_LINE:
            raise fail(f"dockerfile line greater than max allowed size of {MAX_LINE}", lineno)

    def process(raw: str, strip_left: bool) -> tuple[str, bool]:
        tok = _trim_newline(raw)
        if strip_left:
            tok = tok.lstrip()
        try:
            ok = d.parse_line(tok)
        except ValueError as e:
            raise fail(str(e), cur + 1) from None
        return ("" if _is_comment(tok) else tok), ok

    while i < n:
        raw = lines[i]
        i += 1
        check_len(raw, cur + 1)
        if _is_comment(raw):
            c = raw.lstrip()[1:].strip()
            if c == "":
                comments = []
            else:
                comments.append(c)
        tok, directive = process(raw, True)
        if directive and comments:
            comments.pop()
        cur += 1
        start = cur
        m = d.continuation.search(tok)
        if m:
            tok = tok[:m.start()] + (m.group(1) or "")
            end_of_line = False
        else:
            end_of_line = True
        if end_of_line and tok == "":
            continue
        buf = [tok]
        empty_cont = False
        while not end_of_line and i < n:
            raw = lines[i]
            i += 1
            check_len(raw, cur + 1)
            tok, _ = process(raw, False)
            cur += 1
            if _is_comment(raw):
                continue
            if _trim_newline(raw).lstrip() == "":
                empty_cont = True
                continue
            m = d.continuation.search(tok)
            if m:
                tok = tok[:m.start()] + (m.group(1) or "")
                end_of_line = False
            else:
                end_of_line = True
            buf.append(tok)
        line = "".join(buf)
        if empty_cont:
            warnings.append(ParseWarning(
                short="Empty continuation line found in: " + line,
                detail="Empty continuation lines will become errors in a future release",
                url="https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/",
                line=cur))
        try:
            child = _node_from_line(line, d, comments)
        except ValueError as e:
            raise fail(str(e), start, cur) from None
        if "<<" in line and _can_contain_heredoc(child):
            try:
                docs = heredocs_from_line(line)
            except ValueError as e:
                raise fail(str(e), start, cur) from None
            for h in docs:
                content: list[str] = []
                terminated = False
                while i < n:
                    raw = lines[i]
                    i += 1
                    cur += 1
                    cand = _trim_newline(raw)
                    if h.chomp:
                        cand = cand.lstrip("\t")
                    if cand == h.name:
                        terminated = True
                        break
                    content.append(raw)
                if not terminated:
                    raise fail("unterminated heredoc", start, cur)
                h.content = "".join(content)
                child.heredocs.append(h)
        child.start_line, child.end_line = start, cur
        if root.start_line < 0:
            root.start_line = start
        root.end_line = cur
        root.children.append(child)
        comments = []
    if root.start_line < 0:
        raise fail("file with no instructions", max(cur, 1))
    directives = {k: directive_value(v) if k != "escape" else v
                  for k, v in d.values.items()}
    return ParseResult(ast=root, escape=d.escape, directives=directives, warnings=warnings)
