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
- ENV/LABEL: one to three ``k=v`` pairs (values without escapes and with at most one
  quoted part, kept as written), separated by spaces or tabs, nothing after the last;
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
from skiff.dockerfile.instructions import (
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    From,
    Label,
    Run,
    User,
    Workdir,
)
from skiff.dockerfile.lineparse import FLAGS_OR_BLANK

__all__ = ["FAST"]

# What the arguments may not start with for a shortcut: nothing, flags, blanks to strip.
_NOT_PLAIN = FLAGS_OR_BLANK | {""}
# ... and for the shell form: a JSON array either.
_NOT_SHELL = _NOT_PLAIN | {"["}

# The patterns take printable ASCII only, each character class a set of ranges below 128
# (one bitmap test per character; a class such as [^\s"] tests Unicode categories):
# text with other characters goes the general way.
_WORD = r"""!#-&(-\[\]-_a-~"""  # printable ASCII but the quotes, "\" and "`"
_QUOTED = r"""\t !#-\[\]-_a-~"""  # inside "...": also blanks, not "\" or "`"
_SQUOTED = r"\t -&(-~"  # inside '...': anything printable or blank but "'"

# The usual exec form: strings without backslashes or control characters (JSON's escapes),
# ", " between them; group 1 holds them joined by '", "', which no string can contain.
_EXEC = re.compile(r'\["([ !#-\[\]-~]*+(?:", "[ !#-\[\]-~]*+)*)"\]').fullmatch

# ENV/LABEL k=v: the key without quotes, escapes or "=" (nor a leading "-": a flag); the
# value runs of such characters (and "=") and at most one quoted string without escapes:
# part of what the pairs pattern of lineparse (:data:`skiff.dockerfile.lineparse._PAIR`)
# takes. Optional parts are alternatives with an empty one, ``(?:...|)``, not ``(?:...)?``:
# sre runs a repeated group through a REPEAT context (allocated, marks saved) and a
# branch without; repeated classes are possessive (each disjoint from what follows).
_KEY = r"""([!#-&(-,.-<>-\[\]-_a-~][!#-&(-<>-\[\]-_a-~]*+)"""
_VALUE = rf"""([{_WORD}]*+(?:"[{_QUOTED}]*+"[{_WORD}]*+|'[{_SQUOTED}]*+'[{_WORD}]*+|))"""
_KV = rf"{_KEY}={_VALUE}"
_PAIRS = re.compile(rf"{_KV}(?:[ \t]++{_KV}(?:[ \t]++{_KV}|)|)").fullmatch

_ARG = re.compile(rf"{_KEY}(?:=([{_WORD}]*+)|)").fullmatch

# FROM base [AS name]: the name as convert's _VALID_STAGE takes it once lower-cased
_FROM = re.compile(r"([!-,.-~][!-~]*+)"
                   r"(?:[ \t]++(?:AS|as|As|aS)[ \t]++([a-zA-Z][a-zA-Z0-9_.-]*+)|)").fullmatch

_FLAG_VALUE = rf"([{_WORD}]++)[ \t]++"
_COPY = re.compile(rf"(?:--from={_FLAG_VALUE}|)(?:--chown={_FLAG_VALUE}|)"
                   rf"(?:--chmod={_FLAG_VALUE}|)(?:--(link)[ \t]++|)"
                   rf"([!#-&(-,.-Z\]-_a-~][{_WORD}]*+[ \t]++[{_WORD}][\t {_WORD}]*+)"
                   r"(?<![ \t])").fullmatch


# The instructions are built here without a constructor call: a fastinit twin made
# with ``object.__new__`` (no ``__init__``), its slots stored one by one (every field,
# in the dataclass's order), then its class set to the real one (see fastinit).
_new = object.__new__
_RunB, _CmdB, _EntrypointB, _WorkdirB, _UserB = _Run, _Cmd, _Entrypoint, _Workdir, _User
_EnvB, _LabelB, _ArgB, _FromB, _CopyB = _Env, _Label, _Arg, _From, _Copy


def _command_form(builder: type, cls: type,
                  run: bool = False) -> Callable[[str, str, int, int], Any]:
    """The shortcut for RUN, CMD or ENTRYPOINT (cmd, prepend_shell; ``run``: RUN's flag
    fields too, all empty on this path), made once per class (a closure reads its cells
    as fast as a function its globals)."""
    def build(rest: str, line: str, start: int, end: int) -> Any:
        if rest and rest[0] not in _NOT_SHELL:  # an index costs less than a slice
            cmd = rest.rstrip()
            shell = True
        else:
            m = _EXEC(rest)
            if m is None:
                return None
            cmd = m.group(1).split('", "')
            shell = False
        o = _new(builder)
        o.line = start
        o.end_line = end
        o.original = line
        o.cmd = cmd
        o.prepend_shell = shell
        if run:
            o.mounts = ()
            o.network = None
            o.security = None
            o.devices = ()
            o.heredocs = ()
        o.__class__ = cls
        return o
    return build


_run = _command_form(_RunB, Run, run=True)
_cmd = _command_form(_CmdB, Cmd)
_entrypoint = _command_form(_EntrypointB, Entrypoint)


def _plain_form(builder: type, cls: type, field: str) -> Callable[[str, str, int, int], Any]:
    """The shortcut for WORKDIR or USER: one plain value (no quote, escape or variable) in
    ``field`` (path, user)."""
    def build(rest: str, line: str, start: int, end: int) -> Any:
        if not rest or rest[0] in _NOT_PLAIN:
            return None
        o = _new(builder)
        o.line = start
        o.end_line = end
        o.original = line
        setattr(o, field, rest.rstrip())
        o.__class__ = cls
        return o
    return build


_workdir = _plain_form(_WorkdirB, Workdir, "path")
_user = _plain_form(_UserB, User, "user")


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


def _pairs_form(builder: type, cls: type) -> Callable[[str, str, int, int], Any]:
    """The shortcut for ENV or LABEL in ``k=v`` form (the same fields: pairs, legacy)."""
    def build(rest: str, line: str, start: int, end: int) -> Any:
        pairs = _pairs(rest)
        if pairs is None:
            return None
        o = _new(builder)
        o.line = start
        o.end_line = end
        o.original = line
        o.pairs = pairs
        o.legacy = False
        o.__class__ = cls
        return o
    return build


_env = _pairs_form(_EnvB, Env)
_label = _pairs_form(_LabelB, Label)


def _arg(rest: str, line: str, start: int, end: int) -> Any:
    m = _ARG(rest)
    if m is None:
        return None
    o = _new(_ArgB)
    o.line = start
    o.end_line = end
    o.original = line
    o.pairs = [m.groups()]  # [(key, value or None)]
    o.__class__ = Arg
    return o


def _from(rest: str, line: str, start: int, end: int) -> Any:
    m = _FROM(rest)
    if m is None:
        return None
    base, name = m.groups()
    o = _new(_FromB)
    o.line = start
    o.end_line = end
    o.original = line
    o.base = base
    o.stage_name = name if name is None else name.lower()
    o.platform = None
    o.__class__ = From
    return o


def _copy(rest: str, line: str, start: int, end: int) -> Any:
    m = _COPY(rest)
    if m is None:
        return None
    from_, chown, chmod, link, args = m.groups()
    parts = args.split()  # only spaces and tabs between the words
    o = _new(_CopyB)
    o.line = start
    o.end_line = end
    o.original = line
    o.dest = parts.pop()  # the list left is the sources: no second list
    o.sources = parts
    o.heredocs = ()
    o.chown = chown
    o.chmod = chmod
    o.link = link is not None
    o.exclude = ()
    o.json = False
    o.from_ = from_
    o.parents = False
    o.__class__ = Copy
    return o


def _both_cases(table: dict[str, Any]) -> dict[str, Any]:
    return {**{k.upper(): v for k, v in table.items()}, **table}


FAST: dict[str, Callable[[str, str, int, int], Any]] = _both_cases({
    "run": _run, "cmd": _cmd, "entrypoint": _entrypoint, "workdir": _workdir, "user": _user,
    "env": _env, "label": _label, "arg": _arg, "from": _from, "copy": _copy,
})
