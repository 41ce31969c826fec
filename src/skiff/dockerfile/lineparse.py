"""Line parsers: an instruction line → its node (BuildKit's ``line_parsers.go``).

One function per argument shape (JSON-or-shell, JSON-or-words, key=value pairs, words,
a single string, HEALTHCHECK's type + command, ONBUILD's sub-instruction), chosen through
:data:`DISPATCH`; builder flags (``--from=x``) are split off first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from skiff.dockerfile.nodes import HEREDOC_INSTRUCTIONS, NO_ATTRS, WS, Node, go_quote

if TYPE_CHECKING:
    from skiff.dockerfile.parser import _Directives

__all__ = ["extract_builder_flags", "parse_words", "DISPATCH", "_node_from_line"]

# ---------------------------------------------------------------------------------------
# Line parsers (one per argument shape)

# A line parser gives (arguments, attributes): the arguments are a tuple of strings (the
# plain chain BuildKit builds as Next nodes; Node builds those on demand), a Node (ONBUILD's
# sub-instruction) or None.
_Args = "tuple[str, ...] | Node | None"
_ParseFn = Callable[[str, "_Directives"], tuple[_Args, dict[str, bool]]]


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
    if '"' not in stripped and "'" not in stripped and "\\" not in stripped:
        # No quotes or backslashes: the flags are the leading whitespace-separated words
        # starting with "--" (str.split's whitespace is str.isspace's, the loop's).
        flags: list[str] = []
        for i, w in enumerate(stripped.split()):
            if w[:2] != "--":
                return stripped.split(None, i)[i], flags
            if w == "--":
                break  # the rest keeps its leading blank: the regex path gives that
            flags.append(w)
        else:
            return "", flags
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
        # runs of plain characters match in one step, not one per character; the atomic
        # group keeps a failing quote (only possible before a trailing escape) linear
        rx = re.compile(rf"""(?:[^\s"'{e}]+|{e}.|"(?>(?:[^"{e}]+|{e}.)*)(?:"|$)|'[^']*(?:'|$))+""",
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


def _parse_ignore(rest: str, d: _Directives) -> tuple[tuple[str, ...], dict[str, bool]]:
    return ("",), NO_ATTRS


def _parse_sub_command(rest: str, d: _Directives) -> tuple[_Args, dict[str, bool]]:
    if rest == "":
        return None, NO_ATTRS
    child = _node_from_line(rest, d, [])
    return Node(children=[child]), NO_ATTRS


# ``k=v`` words without quotes that could hide a blank, escapes or a blank key: their
# pairs are what parse_words + partition give (conservative: anything else goes the long
# way). Values may hold quoted strings (kept, as BuildKit keeps them).
_PAIR = r"""[^\s="'\\`]+=(?:[^\s"'\\`]+|"[^"\\`]*"|'[^']*')*"""
_PAIRS = re.compile(rf"{_PAIR}(?:\s+{_PAIR})*")
_PAIR_SPLIT = re.compile(r"""([^\s="'\\`]+)=((?:[^\s"'\\`]+|"[^"\\`]*"|'[^']*')*)""")
_EQ = ["="]


def pair_parts(rest: str) -> list[str] | None:
    """``_PAIR_SPLIT.split(rest)``, ``[gap, k1, v1, gap, k2, v2, ..., gap]``, when ``rest``
    is pairs as :data:`_PAIRS` takes them (the first and last gap empty, the others blank),
    else None: one pass of the pattern instead of a full match and a findall."""
    parts = _PAIR_SPLIT.split(rest)
    n = len(parts)
    if n < 4 or parts[0] or parts[-1]:
        return None
    if n > 4:
        gaps = parts[3:-1:3]
        if "" in gaps or not "".join(gaps).isspace():
            return None
    return parts


def _parse_name_val(rest: str, key: str, d: _Directives) -> tuple[str, ...] | None:
    parts = pair_parts(rest)
    if parts is not None:  # k1 v1 "=" k2 v2 "=" ...: each gap after a pair becomes "="
        parts[3::3] = _EQ * (len(parts) // 3)
        return tuple(parts[1:])
    words = parse_words(rest, d.escape)
    if not words:
        return None
    if "=" not in words[0]:
        parts = WS.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise ValueError(f"{key} must have two arguments")
        return (parts[0], parts[1], "")
    out: list[str] = []
    for w in words:
        k, eq, v = w.partition("=")
        if not eq:
            raise ValueError(f"Syntax error - can't find = in {go_quote(w)}. "
                             "Must be of the form: name=value")
        out += (k, v, "=")
    return tuple(out)


def _parse_env(rest: str, d: _Directives) -> tuple[_Args, dict[str, bool]]:
    return _parse_name_val(rest, "ENV", d), NO_ATTRS


def _parse_label(rest: str, d: _Directives) -> tuple[_Args, dict[str, bool]]:
    return _parse_name_val(rest, "LABEL", d), NO_ATTRS


def _parse_name_or_name_val(rest: str, d: _Directives) -> tuple[_Args, dict[str, bool]]:
    return tuple(parse_words(rest, d.escape)), NO_ATTRS


def _parse_strings_ws(rest: str, d: _Directives) -> tuple[_Args, dict[str, bool]]:
    if rest == "":
        return None, NO_ATTRS
    # printable text holds no blank but " ": str.split splits it as reWhitespace does
    parts = rest.split() if rest.isprintable() and rest[:1] != " " else WS.split(rest)
    if parts and parts[-1] == "":
        parts.pop()
    return tuple(parts), NO_ATTRS


def _parse_string(rest: str, d: _Directives) -> tuple[_Args, dict[str, bool]]:
    if rest == "":
        return None, NO_ATTRS
    return (rest,), NO_ATTRS


class _NotStringArray(ValueError):
    def __init__(self) -> None:
        super().__init__("when using JSON array syntax, arrays must be comprised of strings only")


_SIMPLE_JSON_ARRAY = re.compile(r'\[[ \t]*(?:"[^"\\\x00-\x1f]*"[ \t]*'
                                r'(?:,[ \t]*"[^"\\\x00-\x1f]*"[ \t]*)*)?\][ \t]*')
_JSON_STRING = re.compile(r'"([^"\\\x00-\x1f]*)"')


def simple_json_strings(r: str) -> list[str] | None:
    """The strings of ``r`` when it is a JSON array of strings without escapes or control
    characters, spaces and tabs around its items (the usual exec form), else None: what
    ``_JSON_STRING.findall`` gives after ``_SIMPLE_JSON_ARRAY.fullmatch``. Split on the
    quotes (no backslash, so every quote opens or closes a string) when the text allows
    it, the patterns otherwise."""
    if r[-1:] == "]" and r[:1] == "[" and "\\" not in r and r.isprintable():
        parts = r[1:-1].split('"')
        if len(parts) & 1 and len(parts) > 1 and not parts[0].strip(" \t") and \
                not parts[-1].strip(" \t"):
            for sep in parts[2:-1:2]:
                if sep.strip(" \t") != ",":
                    break
            else:
                return parts[1::2]
    if _SIMPLE_JSON_ARRAY.fullmatch(r):
        return _JSON_STRING.findall(r)
    return None


def _go_json_array(rest: str) -> list[object] | None:
    """json.Unmarshal into []interface{}: None when it is not a JSON array."""
    rest = rest.lstrip()
    if not rest.startswith("["):
        return None
    strings = simple_json_strings(rest)  # strings without escapes: no decoder needed
    if strings is not None:
        return strings  # type: ignore[return-value]
    try:
        val = json.loads(rest, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    return val if isinstance(val, list) else None


def _reject_constant(name: str) -> object:
    raise ValueError(name)  # Go's JSON has no NaN/Infinity


JSON_ATTRS: dict[str, bool] = {"json": True}  # shared, like NO_ATTRS: never mutated


def _parse_json(rest: str) -> tuple[_Args, dict[str, bool]] | None:
    r = rest.lstrip()
    if not r.startswith("["):
        return None
    strings = simple_json_strings(r)  # the usual exec form: strings without escapes
    if strings is not None:
        return tuple(strings), JSON_ATTRS
    arr = _go_json_array(r)
    if arr is None:
        return None
    if not all(isinstance(x, str) for x in arr):
        raise _NotStringArray()
    return tuple(arr), JSON_ATTRS  # type: ignore[return-value]


def _parse_maybe_json(rest: str, d: _Directives) -> tuple[_Args, dict[str, bool]]:
    if rest == "":
        return None, NO_ATTRS
    c = rest[0]
    if c != "[" and not c.isspace():  # shell form: no JSON array starts here
        return (rest,), NO_ATTRS
    r = _parse_json(rest)
    if r is not None:
        return r
    return (rest,), NO_ATTRS


def _parse_maybe_json_to_list(rest: str, d: _Directives) -> tuple[_Args, dict[str, bool]]:
    c = rest[:1]
    r = _parse_json(rest) if c == "[" or c.isspace() else None
    if r is not None:
        return r
    return _parse_strings_ws(rest, d)


def _parse_health_config(rest: str, d: _Directives) -> tuple[_Args, dict[str, bool]]:
    sep = 0
    n = len(rest)
    while sep < n and not rest[sep].isspace():
        sep += 1
    nxt = sep
    while nxt < n and rest[nxt].isspace():
        nxt += 1
    if sep == 0:
        return None, NO_ATTRS
    cmd, attrs = _parse_maybe_json(rest[nxt:], d)
    return (rest[:sep],) + (cmd or ()), attrs  # type: ignore[operator]


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


# DISPATCH under the usual upper-case spellings too (looked up as written first, saving a
# lower() per instruction).
_DISPATCH_AS_WRITTEN = {**DISPATCH, **{k.upper(): v for k, v in DISPATCH.items()}}

# What may start the arguments of an instruction with flags or with blanks still to strip
# (extract_builder_flags then takes them): "-" and every character str.isspace() accepts
# (all below U+3001).
FLAGS_OR_BLANK = frozenset("-" + "".join(c for c in map(chr, range(0x3001)) if c.isspace()))

_CMD_ARGS = re.compile(r"([^\t\v\f\r ]+)[\t\v\f\r ]+(.+)", re.S)


def _split_command(line: str) -> tuple[str, list[str], str]:
    """(instruction word, builder flags, arguments) of one joined line (BuildKit's
    splitCommand: the word ends at the first reWhitespace run)."""
    stripped = line.strip()
    m = _CMD_ARGS.match(stripped)
    if m is None:
        return stripped, [], ""
    cmd, rest = m.groups()
    # ``rest`` starts after a whitespace run and ``stripped`` has no trailing whitespace, so
    # without flags and leading Unicode spaces it is already the stripped argument text.
    if rest[0] == "-" or rest[0].isspace():
        rest, flags = extract_builder_flags(rest)
        return cmd, flags, rest.strip()
    return cmd, [], rest


def split_command(line: str) -> tuple[str, str]:
    """(instruction word, arguments) of a joined line (BuildKit's splitCommand: the word
    ends at the first run of reWhitespace; both stripped). The arguments may still start
    with blanks that are not reWhitespace (Unicode spaces): callers strip them with the
    flags (:data:`FLAGS_OR_BLANK`)."""
    word, sep, rest = line.partition(" ")
    if sep and word.isalpha():  # the usual "RUN ...": no other blank can come first
        rest = rest.rstrip()
        if rest:
            return word, rest
    stripped = line.strip()
    m = _CMD_ARGS.match(stripped)
    return m.groups() if m is not None else (stripped, "")  # type: ignore[return-value]


def _node_from_line(line: str, d: _Directives, comments: list[str], start: int = 0,
                    end: int = 0) -> Node:
    """The node of one joined instruction line (lines ``start``..``end``)."""
    flags: list[str] | tuple[()] = ()  # Node's shared empty default when none are written
    cmd, sep, args = line.partition(" ")  # split_command, inlined (once per instruction)
    if not (sep and cmd.isalpha() and (args := args.rstrip())):
        cmd, args = split_command(line)
    if args and args[0] in FLAGS_OR_BLANK:
        args, flags = extract_builder_flags(args)
        args = args.strip()
        if not flags:
            flags = ()
    fn = _DISPATCH_AS_WRITTEN.get(cmd) or DISPATCH.get(cmd.lower(), _parse_ignore)
    nxt, attrs = fn(args, d)
    # What Node(...) gives, stored slot by slot (its __init__, with its defaults and
    # checks, costs about half as much again, once per instruction).
    node = _new_object(Node)
    node.value = cmd
    if nxt.__class__ is tuple:
        node._next = None
        node._vals = nxt
    else:
        node._next = nxt
        node._vals = None
    node.children = ()
    node.heredocs = ()
    node.attributes = attrs
    node.original = line
    node.flags = flags
    node.start_line = start
    node.end_line = end
    node.prev_comment = list(comments) if comments else ()
    return node


_new_object = object.__new__


def _can_contain_heredoc(node: Node) -> bool:
    if node.value.lower() == "onbuild" and node.next is not None and node.next.children:
        node = node.next.children[0]
    return node.value.lower() in HEREDOC_INSTRUCTIONS and not node.attributes.get("json")


