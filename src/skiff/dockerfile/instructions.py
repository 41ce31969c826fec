"""Typed Dockerfile instructions: one frozen dataclass per instruction, and the node → type
conversion with BuildKit's argument checks and error wording (``instructions/parse.go``).

Every instruction carries ``line``/``end_line`` (1-based, inclusive, continuation and heredoc
lines included) and ``original`` (the instruction line as the parser joined it). Instructions
whose arguments Docker expands with build args and ENV (ENV, LABEL, ADD, COPY, EXPOSE, USER,
WORKDIR, VOLUME, STOPSIGNAL, ARG, and the ``--mount`` values of RUN) offer
``expand(expander) -> same type`` where ``expander(word) -> str`` is typically
``lambda w: lexer.process_word(w, env)``; values are stored as written (quotes kept) until
expanded, as BuildKit does. The others return themselves unchanged from ``expand``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from skiff.dockerfile.fastinit import fast_constructor
from skiff.dockerfile.gotext import (  # _levenshtein: re-exported for checks
    InstructionError,
    _levenshtein,  # noqa: F401
    _suggest,
    parse_go_duration,
)
from skiff.dockerfile.parser import Node, chomp_heredoc_content, parse_heredoc

Expander = Callable[[str], str]

__all__ = ["Instruction", "From", "Run", "Cmd", "Entrypoint", "Env", "Label", "Expose", "Add",
           "Copy", "Volume", "User", "Workdir", "Arg", "Onbuild", "Stopsignal", "Healthcheck",
           "Shell", "Maintainer", "Heredoc", "InstructionError", "from_node",
           "parse_go_duration", "INSTRUCTION_NAMES"]

INSTRUCTION_NAMES = ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM",
                     "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL",
                     "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")


@dataclass(frozen=True, slots=True)
class Heredoc:
    """A heredoc body attached to RUN/COPY/ADD. ``content`` is ready to use: for ``<<-``
    (``chomp``) leading tabs are already stripped. ``expand`` is False when the delimiter
    was quoted (the content is then not variable-expanded)."""

    name: str
    content: str
    expand: bool = True
    chomp: bool = False
    file_descriptor: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Instruction:
    """Common fields: ``line``/``end_line`` (1-based, inclusive) and ``original`` text."""

    line: int = 0
    end_line: int = 0
    original: str = ""

    @property
    def name(self) -> str:
        """The instruction keyword, upper case (``RUN``)."""
        return type(self).__name__.upper()

    def expand(self, expander: Expander) -> Instruction:
        """Return a copy with variables expanded (no-op for instructions Docker does not
        expand)."""
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``{"instruction": "RUN", "line": 3, ...fields}``."""
        d: dict[str, Any] = {"instruction": self.name}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Heredoc):
                v = dataclasses.asdict(v)
            elif isinstance(v, list):
                v = [dataclasses.asdict(x) if isinstance(x, Heredoc) else
                     list(x) if isinstance(x, tuple) else x for x in v]
            d[f.name.rstrip("_")] = v
        return d


@dataclass(frozen=True, slots=True, kw_only=True)
class From(Instruction):
    """``FROM [--platform=P] image [AS name]``; ``name`` is lower-cased as Docker does."""

    base: str
    stage_name: str | None = None
    platform: str | None = None

    def expand(self, expander: Expander) -> From:
        return dataclasses.replace(
            self, base=expander(self.base),
            platform=expander(self.platform) if self.platform else self.platform)


@dataclass(frozen=True, slots=True, kw_only=True)
class _CommandLine(Instruction):
    """Shell form (``cmd`` is the command text, ``prepend_shell`` True) or exec form
    (``cmd`` is the JSON list, ``prepend_shell`` False)."""

    cmd: list[str] | str = ""
    prepend_shell: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Run(_CommandLine):
    """``RUN [--mount=...] [--network=none|host|default] [--security=insecure|sandbox] cmd``.

    ``mounts`` are the raw ``--mount`` values (``type=cache,target=/root/.cache``);
    ``heredocs`` the inline files (``RUN <<EOF``)."""

    mounts: list[str] = field(default_factory=list)
    network: str | None = None
    security: str | None = None
    devices: list[str] = field(default_factory=list)
    heredocs: list[Heredoc] = field(default_factory=list)

    def expand(self, expander: Expander) -> Run:
        if not self.mounts:
            return self
        return dataclasses.replace(self, mounts=[expander(m) for m in self.mounts])


@dataclass(frozen=True, slots=True, kw_only=True)
class Cmd(_CommandLine):
    """``CMD ["exec", "form"]`` or ``CMD shell form``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Entrypoint(_CommandLine):
    """``ENTRYPOINT ["exec", "form"]`` or ``ENTRYPOINT shell form``; ``cmd`` is None for
    ``ENTRYPOINT []`` (which clears the entrypoint)."""

    cmd: list[str] | str | None = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Shell(Instruction):
    """``SHELL ["executable", "params"]`` (JSON form only)."""

    shell: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class _KeyValues(Instruction):
    """``KEY k=v [k2=v2...]`` or the legacy ``KEY k v`` (``legacy`` True). Values keep their
    quotes until :meth:`expand` (BuildKit's behaviour)."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    legacy: bool = False

    def expand(self, expander: Expander) -> Any:
        return dataclasses.replace(self, pairs=[(expander(k), expander(v))
                                                for k, v in self.pairs])


@dataclass(frozen=True, slots=True, kw_only=True)
class Env(_KeyValues):
    """``ENV key=value ...`` / ``ENV key value``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Label(_KeyValues):
    """``LABEL key=value ...``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Expose(Instruction):
    """``EXPOSE 80 443/tcp ...``; ``ports`` sorted as BuildKit sorts them."""

    ports: list[str] = field(default_factory=list)

    def expand(self, expander: Expander) -> Expose:
        return dataclasses.replace(self, ports=[expander(p) for p in self.ports])


@dataclass(frozen=True, slots=True, kw_only=True)
class _SourcesDest(Instruction):
    """Sources (paths, URLs, globs), heredoc sources, and the destination. ``chmod`` and
    ``chown`` are as written; ``exclude`` the ``--exclude`` patterns."""

    sources: list[str] = field(default_factory=list)
    dest: str = ""
    heredocs: list[Heredoc] = field(default_factory=list)
    chown: str | None = None
    chmod: str | None = None
    link: bool = False
    exclude: list[str] = field(default_factory=list)
    json: bool = False

    def _expand_common(self, expander: Expander, **extra: Any) -> Any:
        return dataclasses.replace(
            self, sources=[expander(s) for s in self.sources], dest=expander(self.dest),
            chown=expander(self.chown) if self.chown else self.chown,
            chmod=expander(self.chmod) if self.chmod else self.chmod,
            exclude=[expander(x) for x in self.exclude], **extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class Add(_SourcesDest):
    """``ADD [--chown] [--chmod] [--link] [--keep-git-dir] [--checksum] [--exclude]
    [--unpack] src... dest``."""

    keep_git_dir: bool = False
    checksum: str | None = None
    unpack: bool | None = None

    def expand(self, expander: Expander) -> Add:
        return self._expand_common(
            expander, checksum=expander(self.checksum) if self.checksum else self.checksum)


@dataclass(frozen=True, slots=True, kw_only=True)
class Copy(_SourcesDest):
    """``COPY [--from=stage|image] [--chown] [--chmod] [--link] [--parents] [--exclude]
    src... dest``."""

    from_: str | None = None
    parents: bool = False

    def expand(self, expander: Expander) -> Copy:
        return self._expand_common(
            expander, from_=expander(self.from_) if self.from_ else self.from_)


@dataclass(frozen=True, slots=True, kw_only=True)
class Volume(Instruction):
    """``VOLUME ["/a", "/b"]`` or ``VOLUME /a /b``."""

    paths: list[str] = field(default_factory=list)

    def expand(self, expander: Expander) -> Volume:
        return dataclasses.replace(self, paths=[expander(p) for p in self.paths])


@dataclass(frozen=True, slots=True, kw_only=True)
class User(Instruction):
    """``USER user[:group]``."""

    user: str = ""

    def expand(self, expander: Expander) -> User:
        return dataclasses.replace(self, user=expander(self.user))


@dataclass(frozen=True, slots=True, kw_only=True)
class Workdir(Instruction):
    """``WORKDIR /path``."""

    path: str = ""

    def expand(self, expander: Expander) -> Workdir:
        return dataclasses.replace(self, path=expander(self.path))


@dataclass(frozen=True, slots=True, kw_only=True)
class Arg(Instruction):
    """``ARG name[=default] [name2[=default2]...]``; ``pairs`` holds (name, default or
    None)."""

    pairs: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The first (usually only) name."""
        return self.pairs[0][0]

    @property
    def value(self) -> str | None:
        """The first default value (None when none was given)."""
        return self.pairs[0][1]

    def expand(self, expander: Expander) -> Arg:
        return dataclasses.replace(self, pairs=[
            (expander(k), expander(v) if v is not None else None) for k, v in self.pairs])


@dataclass(frozen=True, slots=True, kw_only=True)
class Onbuild(Instruction):
    """``ONBUILD <instruction>``: ``expression`` is the trigger's text (heredocs appended),
    ``trigger`` its keyword upper-cased."""

    expression: str = ""
    trigger: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Stopsignal(Instruction):
    """``STOPSIGNAL SIGTERM``."""

    signal: str = ""

    def expand(self, expander: Expander) -> Stopsignal:
        return dataclasses.replace(self, signal=expander(self.signal))


@dataclass(frozen=True, slots=True, kw_only=True)
class Healthcheck(Instruction):
    """``HEALTHCHECK [--interval] [--timeout] [--start-period] [--start-interval]
    [--retries] CMD ...`` or ``HEALTHCHECK NONE``.

    ``test`` is Docker's HealthConfig.Test: ``["NONE"]``, ``["CMD", args...]`` (exec form) or
    ``["CMD-SHELL", "command"]``. Durations are nanoseconds (0 = inherit), as in the image
    config."""

    test: list[str] = field(default_factory=list)
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Maintainer(Instruction):
    """``MAINTAINER name`` (deprecated; becomes the image's author)."""

    maintainer: str = ""


# ---------------------------------------------------------------------------------------
# Flags (BuildKit's BFlags)

class _Flags:
    """Declared flags of one instruction; :meth:`parse` checks the written ones."""

    __slots__ = ("written", "kinds", "values", "used")

    def __init__(self, written: list[str]):
        self.written = written
        self.kinds: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.used: set[str] = set()

    def add(self, name: str, kind: str, default: Any = None) -> None:
        if self.written:
            self.kinds[name] = kind
        self.values[name] = [] if kind == "strings" else default

    def parse(self) -> None:
        if self.written:
            _parse_flags(self.written, self.kinds, self.values)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


def _parse_flags(written: list[str], kinds: dict[str, str], values: dict[str, Any]) -> None:
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


# ---------------------------------------------------------------------------------------
# Conversion

def _err_at_least_one(cmd: str) -> InstructionError:
    return InstructionError(f"{cmd} requires at least one argument")


def _err_exactly_one(cmd: str) -> InstructionError:
    return InstructionError(f"{cmd} requires exactly one argument")


def _base(node: Node) -> dict[str, Any]:
    return {"line": node.start_line, "end_line": node.end_line, "original": node.original}


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


def _cmdline(node: Node, args: list[str]) -> tuple[list[str] | str, bool]:
    if node.attributes.get("json"):
        return list(args), False
    return " ".join(args), True


def _heredocs(node: Node) -> list[Heredoc]:
    return [Heredoc(h.name, chomp_heredoc_content(h.content) if h.chomp else h.content,
                    h.expand, h.chomp, h.file_descriptor) for h in node.heredocs]


def _sources_dest(node: Node, args: list[str], cmd: str
                  ) -> tuple[list[str], str, list[Heredoc]]:
    """(source paths, destination, heredoc sources) of COPY/ADD arguments."""
    dest = args[-1]
    if _maybe_heredoc(dest) is not None:
        raise InstructionError(f"{cmd} cannot accept a heredoc as a destination")
    by_name = {h.name: h for h in _heredocs(node)}
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
    return paths, dest, docs


def _maybe_heredoc(word: str):
    try:
        return parse_heredoc(word)
    except ValueError:
        return None


_VALID_STAGE = re.compile(r"^[a-z][a-z0-9-_.]*$")

# Constructors that skip the frozen __init__'s per-field object.__setattr__ (fastinit): every
# field is passed, so each call below spells out the defaults too.
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


def _no_flags(node: Node) -> None:
    """An instruction without flags of its own: any written flag is an error."""
    if node.flags:
        _Flags(node.flags).parse()


_FlagSpec = tuple[dict[str, str], dict[str, Any], tuple[str, ...]]


def _flag_spec(*spec: tuple[str, str, Any]) -> _FlagSpec:
    """(kinds, defaults, names of "strings" flags) for :func:`_flag_values`."""
    return ({name: kind for name, kind, _ in spec},
            {name: default for name, kind, default in spec if kind != "strings"},
            tuple(name for name, kind, _ in spec if kind == "strings"))


def _flag_values(node: Node, spec: _FlagSpec) -> dict[str, Any]:
    """The values of the declared flags (node.flags non-empty), defaults for the others."""
    kinds, defaults, multi = spec
    values = defaults.copy()
    for name in multi:
        values[name] = []
    _parse_flags(node.flags, kinds, values)
    return values


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


def _from(node: Node, args: list[str]) -> Instruction:
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
    platform = _flag_values(node, _FROM_FLAGS)["platform"] if node.flags else None
    return _From(base=args[0], stage_name=name, platform=platform or None,
                 line=node.start_line, end_line=node.end_line, original=node.original)


def _run(node: Node, args: list[str]) -> Instruction:
    if node.flags:
        f = _flag_values(node, _RUN_FLAGS)
        mounts, network, security, devices = f["mount"], f["network"], f["security"], \
            f["device"]
        if network is not None and network not in ("default", "none", "host"):
            raise InstructionError(f"unsupported network mode {_q(network)}")
        if security is not None and security not in ("sandbox", "insecure"):
            raise InstructionError(f"unsupported security mode {_q(security)}")
    else:
        mounts, network, security, devices = [], None, None, []
    if node.attributes.get("json"):
        cmd: list[str] | str = args
        shell = False
    else:
        cmd = " ".join(args)
        shell = True
    return _Run(cmd=cmd, prepend_shell=shell, mounts=mounts, network=network,
                security=security, devices=devices,
                heredocs=_heredocs(node) if node.heredocs else [],
                line=node.start_line, end_line=node.end_line, original=node.original)


def _cmd(node: Node, args: list[str]) -> Instruction:
    if node.flags:
        _no_flags(node)
    if node.attributes.get("json"):
        return _Cmd(cmd=args, prepend_shell=False, line=node.start_line,
                    end_line=node.end_line, original=node.original)
    return _Cmd(cmd=" ".join(args), prepend_shell=True, line=node.start_line,
                end_line=node.end_line, original=node.original)


def _entrypoint(node: Node, args: list[str]) -> Instruction:
    _no_flags(node)
    cmd, shell = _cmdline(node, args)
    return _Entrypoint(cmd=None if (not shell and not cmd) else cmd, prepend_shell=shell,
                       line=node.start_line, end_line=node.end_line, original=node.original)


def _shell(node: Node, args: list[str]) -> Instruction:
    _no_flags(node)
    if not args:
        raise _err_at_least_one("SHELL")
    if not node.attributes.get("json"):
        raise InstructionError("SHELL requires the arguments to be in JSON form")
    return _Shell(shell=args, line=node.start_line, end_line=node.end_line,
                  original=node.original)


def _env(node: Node, args: list[str]) -> Instruction:
    if node.flags:
        _no_flags(node)
    return _Env(pairs=_kvps(args, "ENV"), legacy=bool(args) and args[2] == "",
                line=node.start_line, end_line=node.end_line, original=node.original)


def _label(node: Node, args: list[str]) -> Instruction:
    if node.flags:
        _no_flags(node)
    return _Label(pairs=_kvps(args, "LABEL"), legacy=bool(args) and args[2] == "",
                  line=node.start_line, end_line=node.end_line, original=node.original)


def _maintainer(node: Node, args: list[str]) -> Instruction:
    if len(args) != 1:
        raise _err_exactly_one("MAINTAINER")
    _no_flags(node)
    return _Maintainer(maintainer=args[0], line=node.start_line, end_line=node.end_line,
                       original=node.original)


def _too_few_sources(kw: str) -> InstructionError:
    return InstructionError(
        f"{kw} requires at least two arguments, but only one was provided. "
        "Destination could not be determined")


def _simple_sources(node: Node, args: list[str]) -> bool:
    """No heredoc anywhere: sources are the arguments but the last, as written."""
    return not node.heredocs and not any("<<" in a for a in args)


def _copy(node: Node, args: list[str]) -> Instruction:
    if len(args) < 2:
        raise _too_few_sources("COPY")
    if node.flags:
        f = _flag_values(node, _COPY_FLAGS)
        chown, chmod, link, exclude, from_, parents = (
            f["chown"], f["chmod"], f["link"], f["exclude"], f["from"], f["parents"])
    else:
        chown = chmod = from_ = None
        link = parents = False
        exclude = []
    if _simple_sources(node, args):
        sources, dest, docs = args[:-1], args[-1], []
    else:
        sources, dest, docs = _sources_dest(node, args, "COPY")
    return _Copy(sources=sources, dest=dest, heredocs=docs,
                 json=bool(node.attributes.get("json")), chown=chown, chmod=chmod,
                 link=link, exclude=exclude, from_=from_, parents=parents,
                 line=node.start_line, end_line=node.end_line, original=node.original)


def _add(node: Node, args: list[str]) -> Instruction:
    if len(args) < 2:
        raise _too_few_sources("ADD")
    if node.flags:
        f = _flag_values(node, _ADD_FLAGS)
    else:
        f = {"chown": None, "chmod": None, "link": False, "exclude": [],
             "keep-git-dir": False, "checksum": None, "unpack": None}
    sources, dest, docs = _sources_dest(node, args, "ADD")
    return _Add(sources=sources, dest=dest, heredocs=docs,
                json=bool(node.attributes.get("json")), chown=f["chown"], chmod=f["chmod"],
                link=f["link"], exclude=f["exclude"], keep_git_dir=f["keep-git-dir"],
                checksum=f["checksum"], unpack=f["unpack"],
                line=node.start_line, end_line=node.end_line, original=node.original)


def _onbuild(node: Node, args: list[str]) -> Instruction:
    if not args:
        raise _err_at_least_one("ONBUILD")
    _no_flags(node)
    trigger = args[0].strip().upper()
    if trigger == "ONBUILD":
        raise InstructionError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise InstructionError(f"{trigger} isn't allowed as an ONBUILD trigger")
    expr = re.sub(r"(?i)^\s*ONBUILD\s*", "", node.original, count=1)
    sub = node.next.children[0] if node.next and node.next.children else node
    for h in sub.heredocs or node.heredocs:
        expr += "\n" + h.content + h.name
    return _Onbuild(expression=expr, trigger=trigger, line=node.start_line,
                    end_line=node.end_line, original=node.original)


def _workdir(node: Node, args: list[str]) -> Instruction:
    if len(args) != 1:
        raise _err_exactly_one("WORKDIR")
    if node.flags:
        _no_flags(node)
    return _Workdir(path=args[0], line=node.start_line, end_line=node.end_line,
                    original=node.original)


def _healthcheck_node(node: Node, args: list[str]) -> Instruction:
    return _healthcheck(node, args, _Flags(node.flags), _base(node))


def _expose(node: Node, args: list[str]) -> Instruction:
    if not args:
        raise _err_at_least_one("EXPOSE")
    _no_flags(node)
    args.sort()
    return _Expose(ports=args, line=node.start_line, end_line=node.end_line,
                   original=node.original)


def _user(node: Node, args: list[str]) -> Instruction:
    if len(args) != 1:
        raise _err_exactly_one("USER")
    _no_flags(node)
    return _User(user=args[0], line=node.start_line, end_line=node.end_line,
                 original=node.original)


def _volume(node: Node, args: list[str]) -> Instruction:
    if not args:
        raise _err_at_least_one("VOLUME")
    _no_flags(node)
    vols = []
    for v in args:
        v = v.strip()
        if not v:
            raise InstructionError("VOLUME specified can not be an empty string")
        vols.append(v)
    return _Volume(paths=vols, line=node.start_line, end_line=node.end_line,
                   original=node.original)


def _stopsignal(node: Node, args: list[str]) -> Instruction:
    if len(args) != 1:
        raise _err_exactly_one("STOPSIGNAL")
    _no_flags(node)
    return _Stopsignal(signal=args[0], line=node.start_line, end_line=node.end_line,
                       original=node.original)


def _arg(node: Node, args: list[str]) -> Instruction:
    if not args:
        raise _err_at_least_one("ARG")
    if node.flags:
        _no_flags(node)
    pairs: list[tuple[str, str | None]] = []
    for a in args:
        k, eq, v = a.partition("=")
        if eq:
            if not k:
                raise InstructionError("ARG names can not be blank")
            pairs.append((k, v))
        else:
            pairs.append((a, None))
    return _Arg(pairs=pairs, line=node.start_line, end_line=node.end_line,
                original=node.original)


_CONVERT: dict[str, Callable[[Node, list[str]], Instruction]] = {
    "from": _from, "run": _run, "cmd": _cmd, "entrypoint": _entrypoint, "shell": _shell,
    "env": _env, "label": _label, "maintainer": _maintainer, "add": _add, "copy": _copy,
    "onbuild": _onbuild, "workdir": _workdir, "healthcheck": _healthcheck_node,
    "expose": _expose, "user": _user, "volume": _volume, "stopsignal": _stopsignal,
    "arg": _arg,
}


def from_node(node: Node) -> Instruction:
    """Convert one parsed instruction node to its typed instruction.

    Raises InstructionError with BuildKit's message (``unknown instruction: FOO``,
    ``COPY requires at least two arguments, but only one was provided. Destination could not
    be determined``, ``unknown flag: x``, ...); the caller adds the line.
    """
    fn = _CONVERT.get(node.value.lower())
    if fn is None:
        raise InstructionError(_unknown(node.value))
    return fn(node, node.args())


def _q(s: str) -> str:
    from skiff.dockerfile.parser import go_quote

    return go_quote(s)


def _healthcheck(node: Node, args: list[str], fl: _Flags, b: dict[str, Any]) -> Healthcheck:
    if not args:
        raise _err_at_least_one("HEALTHCHECK")
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
