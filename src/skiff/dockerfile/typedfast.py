"""Shortcuts of the typed parse for the most common instruction shapes (:data:`FAST`, the
``fast`` table of :func:`skiff.dockerfile.segment.segment`).

The line loop looks the instruction word up as written (``RUN``, ``run``) and hands the
rest of the line (after the first space, unstripped) to its shortcut, which recognises
one usual shape, most by a single pattern, and builds the typed instruction directly. For
anything else it returns None and the line goes through
:func:`skiff.dockerfile.typedline.from_line`, the general path: a shortcut must give
exactly what ``from_line`` gives for the same line (tests/unit/dockerfile/test_typed_path.py
checks them against it with hypothesis). Nothing here raises.

Shapes taken (the arguments starting with neither a blank nor ``-``, so without builder
flags but COPY's):

- RUN/CMD/ENTRYPOINT: shell form; exec form ``["a", "b"]`` (strings without escapes or
  control characters, ``", "`` between them);
- WORKDIR/USER: any argument;
- ENV/LABEL: one to three ``k=v`` pairs (values without escapes, quoted parts kept),
  separated by spaces or tabs, nothing after the last;
- ARG: one ``k`` or ``k=v`` word without quotes or escapes;
- FROM: ``base`` or ``base AS name`` (``AS`` in either case, the name ASCII);
- COPY: sources and destination without quotes, escapes or a leading ``-``/``[``, after
  ``--from=``, ``--chown=``, ``--chmod=`` (values without quotes or escapes) and
  ``--link``, each at most once, in that order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from skiff.dockerfile.convert import (
    _Arg,
    _Cmd,
    _Copy,
    _Entrypoint,
    _Env,
    _From,
    _Label,
    _Run,
    _User,
    _Workdir,
)
from skiff.dockerfile.lineparse import FLAGS_OR_BLANK

__all__ = ["FAST"]

# What the arguments may not start with for a shortcut: nothing, flags, blanks to strip.
_NOT_PLAIN = FLAGS_OR_BLANK | {""}
# ... and for the shell form: a JSON array either.
_NOT_SHELL = _NOT_PLAIN | {"["}

# The usual exec form: strings without backslashes or control characters (JSON's escapes),
# ", " between them; group 1 holds them joined by '", "', which no string can contain.
_EXEC = re.compile(r'\["([^"\\\x00-\x1f]*(?:", "[^"\\\x00-\x1f]*)*)"\]').fullmatch

# ENV/LABEL k=v: the key without blanks, quotes, escapes or "=" (nor a leading "-": a
# flag); the value runs of such characters or quoted strings without escapes (the
# pairs pattern of lineparse, :data:`skiff.dockerfile.lineparse._PAIR`).
_KV = r"""([^\s="'\\`-][^\s="'\\`]*)=((?:[^\s"'\\`]+|"[^"\\`]*"|'[^']*')*)"""
_PAIRS = re.compile(rf"{_KV}(?:[ \t]+{_KV}(?:[ \t]+{_KV})?)?").fullmatch

_ARG = re.compile(r"""([^\s="'\\`-][^\s="'\\`]*)(?:=([^\s"'\\`]*))?""").fullmatch

# FROM base [AS name]: the name as convert's _VALID_STAGE takes it once lower-cased
_FROM = re.compile(r"([^\s-]\S*)(?:[ \t]+(?:AS|as|As|aS)[ \t]+([a-zA-Z][a-zA-Z0-9_.-]*))?"
                   ).fullmatch

_FLAG_VALUE = r"""([^\s"'\\`]+)[ \t]+"""
_COPY = re.compile(rf"(?:--from={_FLAG_VALUE})?(?:--chown={_FLAG_VALUE})?"
                   rf"(?:--chmod={_FLAG_VALUE})?(?:--(link)[ \t]+)?"
                   r"""([^\s"'\\`\[-][^\s"'\\`]*(?:[ \t]+[^\s"'\\`]+)+)""").fullmatch


def _run(rest: str, line: str, start: int, end: int) -> Any:
    if rest[:1] not in _NOT_SHELL:
        # cmd, prepend_shell, mounts, network, security, devices, heredocs
        return _Run(start, end, line, rest.rstrip(), True, (), None, None, (), ())
    m = _EXEC(rest)
    if m is None:
        return None
    return _Run(start, end, line, m.group(1).split('", "'), False, (), None, None, (), ())


def _cmd(rest: str, line: str, start: int, end: int) -> Any:
    if rest[:1] not in _NOT_SHELL:
        return _Cmd(start, end, line, rest.rstrip(), True)  # cmd, prepend_shell
    m = _EXEC(rest)
    return None if m is None else _Cmd(start, end, line, m.group(1).split('", "'), False)


def _entrypoint(rest: str, line: str, start: int, end: int) -> Any:
    if rest[:1] not in _NOT_SHELL:
        return _Entrypoint(start, end, line, rest.rstrip(), True)
    m = _EXEC(rest)
    return None if m is None else _Entrypoint(start, end, line, m.group(1).split('", "'),
                                              False)


def _workdir(rest: str, line: str, start: int, end: int) -> Any:
    return None if rest[:1] in _NOT_PLAIN else _Workdir(start, end, line, rest.rstrip())


def _user(rest: str, line: str, start: int, end: int) -> Any:
    return None if rest[:1] in _NOT_PLAIN else _User(start, end, line, rest.rstrip())


def _pairs(rest: str) -> list[tuple[str, str]] | None:
    m = _PAIRS(rest)
    if m is None:
        return None
    k1, v1, k2, v2, k3, v3 = m.groups()
    if k2 is None:
        return [(k1, v1)]
    if k3 is None:
        return [(k1, v1), (k2, v2)]
    return [(k1, v1), (k2, v2), (k3, v3)]


def _env(rest: str, line: str, start: int, end: int) -> Any:
    pairs = _pairs(rest)
    return None if pairs is None else _Env(start, end, line, pairs, False)  # pairs, legacy


def _label(rest: str, line: str, start: int, end: int) -> Any:
    pairs = _pairs(rest)
    return None if pairs is None else _Label(start, end, line, pairs, False)


def _arg(rest: str, line: str, start: int, end: int) -> Any:
    m = _ARG(rest)
    return None if m is None else _Arg(start, end, line, [m.groups()])  # [(key, value)]


def _from(rest: str, line: str, start: int, end: int) -> Any:
    m = _FROM(rest)
    if m is None:
        return None
    base, name = m.groups()
    # base, stage_name, platform
    return _From(start, end, line, base, name if name is None else name.lower(), None)


def _copy(rest: str, line: str, start: int, end: int) -> Any:
    m = _COPY(rest)
    if m is None:
        return None
    from_, chown, chmod, link, args = m.groups()
    parts = args.split()  # only spaces and tabs between the words
    # sources, dest, heredocs, chown, chmod, link, exclude, json, from_, parents
    return _Copy(start, end, line, parts[:-1], parts[-1], (), chown, chmod, link is not None,
                 (), False, from_, False)


def _both_cases(table: dict[str, Any]) -> dict[str, Any]:
    return {**{k.upper(): v for k, v in table.items()}, **table}


FAST: dict[str, Callable[[str, str, int, int], Any]] = _both_cases({
    "run": _run, "cmd": _cmd, "entrypoint": _entrypoint, "workdir": _workdir, "user": _user,
    "env": _env, "label": _label, "arg": _arg, "from": _from, "copy": _copy,
})
