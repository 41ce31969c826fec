"""Instruction arguments → typed instructions, with BuildKit's checks and wording
(``instructions/parse.go``, ``instructions/bflag.go``).

Two ways in, one set of rules. :func:`from_node` converts a node of the parse tree;
:func:`skiff.dockerfile.typedline.from_line` (the typed parse's way) goes from a joined
line straight to the instruction. Each ``_x_core(args, flags, json, start, end,
original[, heredocs])`` holds the rules for one instruction; the two ways only gather its
inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from skiff.dockerfile.fastinit import fast_constructor
from skiff.dockerfile.gotext import InstructionError, _suggest, parse_go_duration
from skiff.dockerfile.heredoc import chomp_heredoc_content, parse_heredoc
from skiff.dockerfile.instructions import (
    INSTRUCTION_NAMES,
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Heredoc,
    Instruction,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
)
from skiff.dockerfile.nodes import Node, go_quote

__all__ = ["from_node"]

# Constructors that skip the frozen __init__'s per-field object.__setattr__ (fastinit).
# Every field is passed, positionally in the dataclass's field order: line, end_line,
# original, then the class's own fields (written out in a comment at each call).
_From = fast_constructor(From)
_Run = fast_constructor(Run)
_Cmd = fast_constructor(Cmd)
_Entrypoint = fast_constructor(Entrypoint)
_Shell = fast_constructor(Shell)
_Env = fast_constructor(Env)
_Label = fast_constructor(Label)
_Maintainer = fast_constructor(Maintainer)
_Copy = fast_constructor(Copy)
_Add = fast_constructor(Add)
_Onbuild = fast_constructor(Onbuild)
_Workdir = fast_constructor(Workdir)
_Expose = fast_constructor(Expose)
_User = fast_constructor(User)
_Volume = fast_constructor(Volume)
_Stopsignal = fast_constructor(Stopsignal)
_Arg = fast_constructor(Arg)
_Healthcheck = fast_constructor(Healthcheck)


# ---------------------------------------------------------------------------------------
# Flags (BuildKit's BFlags)

class _Flags:
    """Declared flags of one instruction; :meth:`parse` checks the written ones."""

    __slots__ = ("written", "kinds", "values")

    def __init__(self, written: list[str] | tuple[()]):
        self.written = written
        self.kinds: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def add(self, name: str, kind: str, default: Any = None) -> None:
        if self.written:
            self.kinds[name] = kind
        self.values[name] = [] if kind == "strings" else default

    def parse(self) -> None:
        if self.written:
            _parse_flags(self.written, self.kinds, self.values)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


def _parse_flags(written: list[str] | tuple[()], kinds: dict[str, str],
                 values: dict[str, Any]) -> None:
    """BuildKit's BFlags.Parse: check the written ``--name[=value]`` words against the
    declared ``kinds`` (name → "bool" | "string" | "strings") and store their values in
    ``values`` (which holds the defaults, a fresh list per "strings" flag)."""
    used: set[str] = set()
    for arg in written:
        if not arg.startswith("--"):
            raise InstructionError(f"arg should start with -- : {arg}")
        if arg == "--":
            return
        name, eq, value = arg[2:].partition("=")
        kind = kinds.get(name)
        if kind is None:
            raise InstructionError(_suggest(f"unknown flag: {name}", name, kinds))
        if name in used and kind != "strings":
            raise InstructionError(f"duplicate flag specified: {name}")
        used.add(name)
        if kind == "string":
            if not eq:
                raise InstructionError(f"missing a value on flag: {name}")
            values[name] = value
        elif kind == "bool":
            if eq and value == "":
                raise InstructionError(f"missing a value on flag: {name}")
            low = value.lower()
            if low == "":
                values[name] = True
            elif low in ("true", "false"):
                values[name] = low == "true"
            else:
                raise InstructionError(
                    f"expecting boolean value for flag {name}, not: {value}")
        else:
            if not eq:
                raise InstructionError(f"missing a value on flag: {name}")
            values[name].append(value)


_FlagSpec = tuple[dict[str, str], dict[str, Any], tuple[str, ...]]


def _flag_spec(*spec: tuple[str, str, Any]) -> _FlagSpec:
    """(kinds, defaults, names of "strings" flags) for :func:`_flag_values`."""
    return ({name: kind for name, kind, _ in spec},
            {name: default for name, kind, default in spec if kind != "strings"},
            tuple(name for name, kind, _ in spec if kind == "strings"))


def _flag_values(flags: list[str], spec: _FlagSpec) -> dict[str, Any]:
    """The values of the declared flags (``flags`` non-empty), defaults for the others;
    a "strings" flag's values as a tuple."""
    kinds, defaults, multi = spec
    values = defaults.copy()
    for name in multi:
        values[name] = []
    _parse_flags(flags, kinds, values)
    for name in multi:  # frozen instruction values hold tuples (the shared () when none)
        values[name] = tuple(values[name]) if values[name] else ()
    return values


def _no_flags(flags: list[str] | tuple[()]) -> None:
    """An instruction without flags of its own: any written flag is an error."""
    if flags:
        _parse_flags(flags, {}, {})


_RUN_FLAGS = _flag_spec(("mount", "strings", None), ("network", "string", None),
                        ("security", "string", None), ("device", "strings", None))
_COPY_FLAGS = _flag_spec(("chown", "string", None), ("chmod", "string", None),
                         ("link", "bool", False), ("exclude", "strings", None),
                         ("from", "string", None), ("parents", "bool", False))
_ADD_FLAGS = _flag_spec(("chown", "string", None), ("chmod", "string", None),
                        ("link", "bool", False), ("exclude", "strings", None),
                        ("keep-git-dir", "bool", False), ("checksum", "string", None),
                        ("unpack", "bool", None))
_FROM_FLAGS = _flag_spec(("platform", "string", None))


# ---------------------------------------------------------------------------------------
# Shared pieces

def _q(s: str) -> str:
    return go_quote(s)


def _err_at_least_one(cmd: str) -> InstructionError:
    return InstructionError(f"{cmd} requires at least one argument")


def _err_exactly_one(cmd: str) -> InstructionError:
    return InstructionError(f"{cmd} requires exactly one argument")


def _kvps(args: list[str], cmd: str) -> list[tuple[str, str]]:
    if not args:
        raise _err_at_least_one(cmd)
    if len(args) % 3 != 0:
        raise InstructionError(f"Bad input to {cmd}, too many arguments")
    out = []
    for j in range(0, len(args), 3):
        if not args[j]:
            raise InstructionError(f"{cmd} names can not be blank")
        out.append((args[j], args[j + 1]))
    return out


def _heredocs(docs) -> tuple[Heredoc, ...]:
    return tuple([Heredoc(h.name, chomp_heredoc_content(h.content) if h.chomp else h.content,
                    h.expand, h.chomp, h.file_descriptor) for h in docs])


def _maybe_heredoc(word: str):
    try:
        return parse_heredoc(word)
    except ValueError:
        return None


def _sources_dest(args: list[str], heredocs, cmd: str
                  ) -> tuple[list[str], str, tuple[Heredoc, ...]]:
    """(source paths, destination, heredoc sources) of COPY/ADD arguments."""
    dest = args[-1]
    if _maybe_heredoc(dest) is not None:
        raise InstructionError(f"{cmd} cannot accept a heredoc as a destination")
    by_name = {h.name: h for h in _heredocs(heredocs)}
    paths: list[str] = []
    docs: list[Heredoc] = []
    for src in args[:-1]:
        h = _maybe_heredoc(src)
        if h is not None and h.name in by_name:
            docs.append(by_name[h.name])
        elif h is not None:
            docs.append(Heredoc(h.name, "", h.expand, h.chomp, h.file_descriptor))
        else:
            paths.append(src)
    return paths, dest, tuple(docs) if docs else ()


def _too_few_sources(kw: str) -> InstructionError:
    return InstructionError(
        f"{kw} requires at least two arguments, but only one was provided. "
        "Destination could not be determined")


_VALID_STAGE = re.compile(r"^[a-z][a-z0-9-_.]*$")


# ---------------------------------------------------------------------------------------
# The rules, one function per instruction

def _from_core(args, flags, json, start, end, original) -> Instruction:
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not _VALID_STAGE.match(name):
            raise InstructionError(
                f"invalid name for build stage: {_q(args[2])}, name can't start with a "
                "number or contain symbols")
    elif len(args) != 1:
        raise InstructionError("FROM requires either one or three arguments")
    else:
        name = None
    platform = _flag_values(flags, _FROM_FLAGS)["platform"] if flags else None
    # base, stage_name, platform
    return _From(start, end, original, args[0], name, platform or None)


def _run_core(args, flags, json, start, end, original, heredocs=()) -> Instruction:
    if flags:
        f = _flag_values(flags, _RUN_FLAGS)
        mounts, network, security, devices = f["mount"], f["network"], f["security"], \
            f["device"]
        if network is not None and network not in ("default", "none", "host"):
            raise InstructionError(f"unsupported network mode {_q(network)}")
        if security is not None and security not in ("sandbox", "insecure"):
            raise InstructionError(f"unsupported security mode {_q(security)}")
    else:
        mounts, network, security, devices = (), None, None, ()
    # cmd, prepend_shell, mounts, network, security, devices, heredocs
    return _Run(start, end, original, args if json else " ".join(args), not json, mounts,
                network, security, devices, _heredocs(heredocs) if heredocs else ())


def _cmd_core(args, flags, json, start, end, original) -> Instruction:
    if flags:
        _no_flags(flags)
    # cmd, prepend_shell
    return _Cmd(start, end, original, args if json else " ".join(args), not json)


def _entrypoint_core(args, flags, json, start, end, original) -> Instruction:
    _no_flags(flags)
    if json:
        return _Entrypoint(start, end, original, args or None, False)
    return _Entrypoint(start, end, original, " ".join(args), True)


def _shell_core(args, flags, json, start, end, original) -> Instruction:
    _no_flags(flags)
    if not args:
        raise _err_at_least_one("SHELL")
    if not json:
        raise InstructionError("SHELL requires the arguments to be in JSON form")
    return _Shell(start, end, original, args)


def _env_core(args, flags, json, start, end, original) -> Instruction:
    if flags:
        _no_flags(flags)
    # pairs, legacy
    return _Env(start, end, original, _kvps(args, "ENV"), bool(args) and args[2] == "")


def _label_core(args, flags, json, start, end, original) -> Instruction:
    if flags:
        _no_flags(flags)
    return _Label(start, end, original, _kvps(args, "LABEL"), bool(args) and args[2] == "")


def _maintainer_core(args, flags, json, start, end, original) -> Instruction:
    if len(args) != 1:
        raise _err_exactly_one("MAINTAINER")
    _no_flags(flags)
    return _Maintainer(start, end, original, args[0])


def _copy_core(args, flags, json, start, end, original, heredocs=()) -> Instruction:
    if len(args) < 2:
        raise _too_few_sources("COPY")
    if flags:
        f = _flag_values(flags, _COPY_FLAGS)
        chown, chmod, link, exclude, from_, parents = (
            f["chown"], f["chmod"], f["link"], f["exclude"], f["from"], f["parents"])
    else:
        chown = chmod = from_ = None
        link = parents = False
        exclude = ()
    if not heredocs and "<<" not in original:  # no heredoc anywhere: sources as written
        sources, dest, docs = args[:-1], args[-1], ()
    else:
        sources, dest, docs = _sources_dest(args, heredocs, "COPY")
    # sources, dest, heredocs, chown, chmod, link, exclude, json, from_, parents
    return _Copy(start, end, original, sources, dest, docs, chown, chmod, link, exclude,
                 bool(json), from_, parents)


def _add_core(args, flags, json, start, end, original, heredocs=()) -> Instruction:
    if len(args) < 2:
        raise _too_few_sources("ADD")
    if flags:
        f = _flag_values(flags, _ADD_FLAGS)
    else:
        f = {"chown": None, "chmod": None, "link": False, "exclude": (),
             "keep-git-dir": False, "checksum": None, "unpack": None}
    sources, dest, docs = _sources_dest(args, heredocs, "ADD")
    # sources, dest, heredocs, chown, chmod, link, exclude, json, keep_git_dir, checksum,
    # unpack
    return _Add(start, end, original, sources, dest, docs, f["chown"], f["chmod"],
                f["link"], f["exclude"], bool(json), f["keep-git-dir"], f["checksum"],
                f["unpack"])


def _workdir_core(args, flags, json, start, end, original) -> Instruction:
    if len(args) != 1:
        raise _err_exactly_one("WORKDIR")
    if flags:
        _no_flags(flags)
    return _Workdir(start, end, original, args[0])


def _expose_core(args, flags, json, start, end, original) -> Instruction:
    if not args:
        raise _err_at_least_one("EXPOSE")
    _no_flags(flags)
    args.sort()
    return _Expose(start, end, original, args)


def _user_core(args, flags, json, start, end, original) -> Instruction:
    if len(args) != 1:
        raise _err_exactly_one("USER")
    _no_flags(flags)
    return _User(start, end, original, args[0])


def _volume_core(args, flags, json, start, end, original) -> Instruction:
    if not args:
        raise _err_at_least_one("VOLUME")
    _no_flags(flags)
    vols = []
    for v in args:
        v = v.strip()
        if not v:
            raise InstructionError("VOLUME specified can not be an empty string")
        vols.append(v)
    return _Volume(start, end, original, vols)


def _stopsignal_core(args, flags, json, start, end, original) -> Instruction:
    if len(args) != 1:
        raise _err_exactly_one("STOPSIGNAL")
    _no_flags(flags)
    return _Stopsignal(start, end, original, args[0])


def _arg_core(args, flags, json, start, end, original) -> Instruction:
    if not args:
        raise _err_at_least_one("ARG")
    if flags:
        _no_flags(flags)
    pairs: list[tuple[str, str | None]] = []
    for a in args:
        k, eq, v = a.partition("=")
        if eq:
            if not k:
                raise InstructionError("ARG names can not be blank")
            pairs.append((k, v))
        else:
            pairs.append((a, None))
    return _Arg(start, end, original, pairs)


def _onbuild(node: Node, args: list[str]) -> Instruction:
    if not args:
        raise _err_at_least_one("ONBUILD")
    _no_flags(node.flags)
    trigger = args[0].strip().upper()
    if trigger == "ONBUILD":
        raise InstructionError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise InstructionError(f"{trigger} isn't allowed as an ONBUILD trigger")
    expr = re.sub(r"(?i)^\s*ONBUILD\s*", "", node.original, count=1)
    sub = node.next.children[0] if node.next and node.next.children else node
    for h in sub.heredocs or node.heredocs:
        expr += "\n" + h.content + h.name
    # expression, trigger
    return _Onbuild(node.start_line, node.end_line, node.original, expr, trigger)


def _healthcheck(node: Node, args: list[str]) -> Instruction:
    if not args:
        raise _err_at_least_one("HEALTHCHECK")
    fl = _Flags(node.flags)
    b = {"line": node.start_line, "end_line": node.end_line, "original": node.original}
    typ = args[0].upper()
    rest = args[1:]
    if typ == "NONE":
        if rest:
            raise InstructionError("HEALTHCHECK NONE takes no arguments")
        return Healthcheck(test=["NONE"], **b)
    for name in ("interval", "timeout", "start-period", "start-interval", "retries"):
        fl.add(name, "string")
    fl.parse()
    if typ != "CMD":
        raise InstructionError(f"Unknown type {_q(typ)} in HEALTHCHECK (try CMD)")
    if node.attributes.get("json"):
        test = ["CMD", *rest]
        if not rest:
            raise InstructionError("Missing command after HEALTHCHECK CMD")
    else:
        joined = " ".join(rest)
        if not rest:
            raise InstructionError("Missing command after HEALTHCHECK CMD")
        test = ["CMD-SHELL", joined]
    durations = {}
    for name in ("interval", "timeout", "start-period", "start-interval"):
        v = fl[name]
        d = parse_go_duration(v) if v else 0
        if 0 < d < 1_000_000:
            raise InstructionError(f"Interval {_q(name)} cannot be less than 1ms")
        if d < 0:
            raise InstructionError(f"Interval {_q(name)} cannot be less than 1ms")
        durations[name.replace("-", "_")] = d
    retries = 0
    if fl["retries"]:
        raw = fl["retries"]
        if not re.fullmatch(r"[+-]?[0-9]+", raw):
            raise InstructionError(f"strconv.ParseInt: parsing {_q(raw)}: invalid syntax")
        retries = int(raw)
        if not -2**31 <= retries < 2**31:
            raise InstructionError(f"strconv.ParseInt: parsing {_q(raw)}: value out of range")
        if retries < 0:
            raise InstructionError(f"--retries cannot be negative ({retries})")
    return Healthcheck(test=test, retries=retries, **durations, **b)


def _unknown(word: str) -> str:
    """``unknown instruction: COPPY (did you mean copy?)`` as BuildKit's suggest package."""
    return _suggest(f"unknown instruction: {word}", word.lower(),
                    [n.lower() for n in INSTRUCTION_NAMES])


# ---------------------------------------------------------------------------------------
# Entry points

_Core = Callable[..., Instruction]
_CORES: dict[str, _Core] = {
    "from": _from_core, "run": _run_core, "cmd": _cmd_core, "entrypoint": _entrypoint_core,
    "shell": _shell_core, "env": _env_core, "label": _label_core,
    "maintainer": _maintainer_core, "workdir": _workdir_core, "expose": _expose_core,
    "user": _user_core, "volume": _volume_core, "stopsignal": _stopsignal_core,
    "arg": _arg_core,
}
_WITH_HEREDOCS: dict[str, _Core] = {"run": _run_core, "copy": _copy_core, "add": _add_core}
_NODE_ONLY: dict[str, Callable[[Node, list[str]], Instruction]] = {
    "onbuild": _onbuild, "healthcheck": _healthcheck,
}


def from_node(node: Node) -> Instruction:
    """Convert one parsed instruction node to its typed instruction.

    Raises InstructionError with BuildKit's message (``unknown instruction: FOO``,
    ``COPY requires at least two arguments, but only one was provided. Destination could not
    be determined``, ``unknown flag: x``, ...); the caller adds the line.
    """
    kw = node.value.lower()
    core = _WITH_HEREDOCS.get(kw)
    if core is not None:
        return core(node.args(), node.flags, bool(node.attributes.get("json")),
                    node.start_line, node.end_line, node.original, node.heredocs)
    core = _CORES.get(kw)
    if core is not None:
        return core(node.args(), node.flags, bool(node.attributes.get("json")),
                    node.start_line, node.end_line, node.original)
    fn = _NODE_ONLY.get(kw)
    if fn is None:
        raise InstructionError(_unknown(node.value))
    return fn(node, node.args())
