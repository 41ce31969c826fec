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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from skiff.dockerfile.gotext import (  # _levenshtein: re-exported for checks
    InstructionError,
    _levenshtein,  # noqa: F401
    parse_go_duration,
)
from skiff.dockerfile.parser import Node

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
            elif isinstance(v, (list, tuple)):
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
    ``heredocs`` the inline files (``RUN <<EOF``). Tuples (the shared ``()`` when none):
    the value is frozen, and an empty tuple is not one more GC-tracked object per RUN."""

    mounts: tuple[str, ...] = ()
    network: str | None = None
    security: str | None = None
    devices: tuple[str, ...] = ()
    heredocs: tuple[Heredoc, ...] = ()

    def expand(self, expander: Expander) -> Run:
        if not self.mounts:
            return self
        return dataclasses.replace(self, mounts=tuple([expander(m) for m in self.mounts]))


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
    ``chown`` are as written; ``exclude`` the ``--exclude`` patterns. ``heredocs`` and
    ``exclude`` are tuples (the shared ``()`` when none)."""

    sources: list[str] = field(default_factory=list)
    dest: str = ""
    heredocs: tuple[Heredoc, ...] = ()
    chown: str | None = None
    chmod: str | None = None
    link: bool = False
    exclude: tuple[str, ...] = ()
    json: bool = False

    def _expand_common(self, expander: Expander, **extra: Any) -> Any:
        return dataclasses.replace(
            self, sources=[expander(s) for s in self.sources], dest=expander(self.dest),
            chown=expander(self.chown) if self.chown else self.chown,
            chmod=expander(self.chmod) if self.chmod else self.chmod,
            exclude=tuple([expander(x) for x in self.exclude]) if self.exclude else (), **extra)


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
# Conversion (skiff.dockerfile.convert holds the rules)

def from_node(node: Node) -> Instruction:
    """Convert one parsed instruction node to its typed instruction
    (:func:`skiff.dockerfile.convert.from_node`); raises InstructionError."""
    from skiff.dockerfile.convert import from_node as convert

    return convert(node)
