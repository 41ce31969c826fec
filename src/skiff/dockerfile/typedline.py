"""The typed parse's way from a joined instruction line to its typed instruction, without
a tree node (:func:`from_line`, the ``build`` of :func:`skiff.dockerfile.segment.segment`).

The usual shapes (RUN/CMD/ENTRYPOINT in shell form or a plain JSON array, WORKDIR, USER,
ENV/LABEL ``k=v`` pairs, ARG, FROM, COPY) have their own short code; the other
instructions go through their line parser and the rule function of :mod:`.convert`. What
needs a node (heredocs, ONBUILD, HEALTHCHECK, an unknown word) or fails a rule comes back
as the tree node: :func:`skiff.dockerfile.convert.from_node` then gives the instruction,
or raises its error, in file order once the whole file has been read, as BuildKit reports
parse errors before instruction errors.

The line loop tries :data:`skiff.dockerfile.typedfast.FAST` first (one pattern per usual
shape, checked against this module by the tests); ``from_line`` is the general path it
falls back to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from skiff.dockerfile.convert import (
    _COPY_FLAGS,
    _CORES,
    _VALID_STAGE,
    _Arg,
    _Cmd,
    _Copy,
    _copy_core,
    _Core,
    _Entrypoint,
    _Env,
    _flag_values,
    _From,
    _Label,
    _Run,
    _User,
    _Workdir,
)
from skiff.dockerfile.gotext import InstructionError
from skiff.dockerfile.instructions import Instruction
from skiff.dockerfile.lineparse import (
    DISPATCH,
    FLAGS_OR_BLANK,
    _node_from_line,
    extract_builder_flags,
    pair_parts,
    parse_words,
    simple_json_strings,
    split_command,
)
from skiff.dockerfile.nodes import WS, Node

__all__ = ["from_line"]

# Shapes common enough to deserve their own code: each gives the instruction, or None to
# let the general line path below decide (which gives the same instruction or the error).
# They see no flags (but COPY), and ``rest`` (the arguments, stripped) is not empty and
# starts with neither whitespace nor "<<" anywhere in the line.

def _l_run(rest, flags, line, start, end, d):
    if flags:
        return None
    if rest[0] != "[":  # shell form
        # cmd, prepend_shell, mounts, network, security, devices, heredocs
        return _Run(start, end, line, rest, True, (), None, None, (), ())
    cmd = simple_json_strings(rest)
    if cmd is not None:
        return _Run(start, end, line, cmd, False, (), None, None, (), ())
    return None


def _l_cmd(rest, flags, line, start, end, d):
    if flags:
        return None
    if rest[0] != "[":
        return _Cmd(start, end, line, rest, True)  # cmd, prepend_shell
    cmd = simple_json_strings(rest)
    if cmd is not None:
        return _Cmd(start, end, line, cmd, False)
    return None


def _l_entrypoint(rest, flags, line, start, end, d):
    if flags:
        return None
    if rest[0] != "[":
        return _Entrypoint(start, end, line, rest, True)
    cmd = simple_json_strings(rest)
    if cmd:
        return _Entrypoint(start, end, line, cmd, False)
    return None


def _l_workdir(rest, flags, line, start, end, d):
    return None if flags else _Workdir(start, end, line, rest)


def _l_user(rest, flags, line, start, end, d):
    return None if flags else _User(start, end, line, rest)


def _l_pairs(rest: str, d):
    """ENV/LABEL ``k=v ...`` pairs (not the legacy ``k v``), or None."""
    parts = pair_parts(rest)
    if parts is not None:  # [gap, k1, v1, gap, k2, v2, ..., gap]: the usual 1-3 pairs by hand
        n = len(parts)
        if n == 4:
            return [(parts[1], parts[2])]
        if n == 7:
            return [(parts[1], parts[2]), (parts[4], parts[5])]
        if n == 10:
            return [(parts[1], parts[2]), (parts[4], parts[5]), (parts[7], parts[8])]
        return list(zip(parts[1::3], parts[2::3], strict=True))
    words = parse_words(rest, d.escape)
    if not words or "=" not in words[0]:
        return None
    pairs = []
    for w in words:
        k, eq, v = w.partition("=")
        if not k or not eq:
            return None
        pairs.append((k, v))
    return pairs


def _l_env(rest, flags, line, start, end, d):
    pairs = None if flags else _l_pairs(rest, d)
    return None if pairs is None else _Env(start, end, line, pairs, False)


def _l_label(rest, flags, line, start, end, d):
    pairs = None if flags else _l_pairs(rest, d)
    return None if pairs is None else _Label(start, end, line, pairs, False)


_PLAIN_WORD = re.compile(r"""[^\s"'\\`]+""")


def _l_arg(rest, flags, line, start, end, d):
    if flags:
        return None
    if _PLAIN_WORD.fullmatch(rest):  # one word, the usual ARG
        k, eq, v = rest.partition("=")
        if not eq:
            return _Arg(start, end, line, [(rest, None)])
        return _Arg(start, end, line, [(k, v)]) if k else None
    pairs: list[tuple[str, str | None]] = []
    for a in parse_words(rest, d.escape):
        k, eq, v = a.partition("=")
        if eq:
            if not k:
                return None
            pairs.append((k, v))
        else:
            pairs.append((a, None))
    return _Arg(start, end, line, pairs) if pairs else None


def _l_from(rest, flags, line, start, end, d):
    if flags:
        return None
    # printable text holds no blank but " ": str.split splits it as reWhitespace does
    parts = rest.split() if rest.isprintable() and rest[:1] != " " else WS.split(rest)
    if parts[-1] == "":
        parts.pop()
    if len(parts) == 1:
        return _From(start, end, line, parts[0], None, None)
    if len(parts) == 3 and parts[1].lower() == "as":
        name = parts[2].lower()
        if _VALID_STAGE.match(name):
            return _From(start, end, line, parts[0], name, None)
    return None


def _l_copy(rest, flags, line, start, end, d):
    if rest[0] == "[":
        return None
    # printable text holds no blank but " ": str.split splits it as reWhitespace does
    parts = rest.split() if rest.isprintable() and rest[:1] != " " else WS.split(rest)
    if parts[-1] == "":
        parts.pop()
    if len(parts) < 2:
        return None
    if flags:
        # The usual flags (--chown/--chmod/--from with a value, once each; bare --link,
        # --parents) read here; anything else through BuildKit's flag rules.
        chown = chmod = from_ = None
        link = parents = False
        for w in flags:
            name, eq, value = w[2:].partition("=")
            if not value:
                if eq:
                    break
                if name == "link" and not link:
                    link = True
                elif name == "parents" and not parents:
                    parents = True
                else:
                    break
            elif name == "chown" and chown is None:
                chown = value
            elif name == "chmod" and chmod is None:
                chmod = value
            elif name == "from" and from_ is None:
                from_ = value
            else:
                break
        else:
            return _Copy(start, end, line, parts[:-1], parts[-1], (), chown, chmod, link, (),
                         False, from_, parents)
        f = _flag_values(flags, _COPY_FLAGS)
        # sources, dest, heredocs, chown, chmod, link, exclude, json, from_, parents
        return _Copy(start, end, line, parts[:-1], parts[-1], (), f["chown"], f["chmod"],
                     f["link"], f["exclude"], False, f["from"], f["parents"])
    return _Copy(start, end, line, parts[:-1], parts[-1], (), None, None, False, (), False,
                 None, False)


def _both_cases(table: dict[str, Any]) -> dict[str, Any]:
    """``table`` keyed by the lower-case word, plus its usual upper-case spelling (looked
    up as written first, saving a ``lower()`` per instruction)."""
    return {**table, **{k.upper(): v for k, v in table.items()}}


_SHAPES: dict[str, Callable[..., Instruction | None]] = _both_cases({
    "run": _l_run, "cmd": _l_cmd, "entrypoint": _l_entrypoint, "workdir": _l_workdir,
    "user": _l_user, "env": _l_env, "label": _l_label, "arg": _l_arg, "from": _l_from,
    "copy": _l_copy,
})

# Every instruction whose core needs no node: its line parser and its core.
_LINE: dict[str, tuple[Callable[..., Any], _Core]] = {
    kw: (DISPATCH[kw], core) for kw, core in {**_CORES, "copy": _copy_core}.items()}


def from_line(line: str, d: Any, comments: list[str], start: int, end: int
              ) -> Instruction | Node:
    """The typed instruction of one joined instruction line (lines ``start``..``end``), or
    its tree node when it needs one (heredocs, ONBUILD, HEALTHCHECK, an unknown word, or
    an instruction error, which :func:`from_node` raises): the ``build`` of
    :func:`skiff.dockerfile.segment.segment` for the typed parse.

    Raises ValueError (the line parsers' errors) like the tree's ``_node_from_line``.
    """
    if "<<" not in line:
        word, sep, rest = line.partition(" ")  # split_command, inlined
        if not (sep and word.isalpha() and (rest := rest.rstrip())):
            word, rest = split_command(line)
        if rest:
            flags: list[str] | tuple[()] = ()
            if rest[0] in FLAGS_OR_BLANK:
                rest, flags = extract_builder_flags(rest)
                rest = rest.strip()
            try:
                shape = _SHAPES.get(word)
                if shape is None:
                    word = word.lower()
                    shape = _SHAPES.get(word)
                if shape is not None and rest:
                    inst = shape(rest, flags, line, start, end, d)
                    if inst is not None:
                        return inst
                entry = _LINE.get(word.lower())
                if entry is not None:
                    parse_args, core = entry
                    vals, attrs = parse_args(rest, d)
                    return core(list(vals) if vals else [], flags, bool(attrs.get("json")),
                                start, end, line)
            except InstructionError:
                pass  # from_node raises it once the whole file has been read
    return _node_from_line(line, d, comments, start, end)
