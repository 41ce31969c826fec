"""Build-arg and ENV scoping: which variables an instruction is expanded with.

Docker's rules (BuildKit's dockerfile2llb), for the builder to follow:

- ARGs before the first FROM ("meta args") and the automatic platform ARGs
  (``BUILDPLATFORM``, ``BUILDOS``, ``BUILDARCH``, ``BUILDVARIANT``, ``TARGETPLATFORM``,
  ``TARGETOS``, ``TARGETARCH``, ``TARGETVARIANT``) can be used in FROM lines. A
  ``--build-arg`` overrides a meta arg's default.
- Inside a stage nothing from the global scope is visible until it is redeclared:
  ``ARG NAME`` (no default) takes the meta value (or the build arg, or the platform value);
  ``ARG NAME=default`` takes the build arg if one was given, else its default (expanded).
- ENV always wins over an ARG of the same name, whatever their order; the base image's ENV
  (and a parent stage's) is in scope from the start.
- The proxy ARGs (``HTTP_PROXY``... and lower-case) reach RUN's environment when given as
  build args, without a declaration, and are not expanded in Dockerfile lines.
- ARG values are in RUN's environment but are not written to the image config.
"""

from __future__ import annotations

from collections.abc import Mapping

from skiff.dockerfile import Arg, Dockerfile, Env, Instruction
from skiff.dockerfile.checks import PLATFORM_ARGS, PROXY_ARGS
from skiff.dockerfile.shell import Lexer

__all__ = ["platform_args", "meta_scope", "StageScope", "PROXY_ARGS", "PLATFORM_ARGS"]


def platform_args(build: str, target: str | None = None) -> dict[str, str]:
    """The automatic platform ARGs for ``build`` and ``target`` platforms (``os/arch[/variant]``,
    e.g. ``linux/arm/v7``); ``target`` defaults to ``build``."""
    target = target or build
    out: dict[str, str] = {}
    for prefix, plat in (("BUILD", build), ("TARGET", target)):
        parts = plat.split("/")
        out[prefix + "PLATFORM"] = plat
        out[prefix + "OS"] = parts[0]
        out[prefix + "ARCH"] = parts[1] if len(parts) > 1 else ""
        out[prefix + "VARIANT"] = parts[2] if len(parts) > 2 else ""
    return out


def meta_scope(df: Dockerfile, build_args: Mapping[str, str],
               builtin: Mapping[str, str]) -> dict[str, str]:
    """The variables FROM lines are expanded with: ``builtin`` (platform ARGs) then the meta
    ARGs in order (a build arg overrides the default; defaults are expanded with what came
    before). Raises ShellError for a bad substitution in a default."""
    lex = Lexer(df.escape)
    env = dict(builtin)
    for a in df.meta_args:
        for k, v in a.pairs:
            if k in build_args:
                env[k] = build_args[k]
            elif v is not None:
                env[k] = lex.process_word(v, env)
    return env


class StageScope:
    """The variables in scope while one stage is built, instruction by instruction.

    ``meta``: :func:`meta_scope`'s result; ``build_args``: ``--build-arg`` values;
    ``image_env``: the base image's (or parent stage's) ENV. Call :meth:`expander` to expand
    the next instruction, then :meth:`apply` with the expanded instruction.
    """

    def __init__(self, meta: Mapping[str, str], build_args: Mapping[str, str],
                 image_env: Mapping[str, str] | None = None, *, escape: str = "\\"):
        self.meta = dict(meta)
        self.build_args = dict(build_args)
        self.env: dict[str, str] = dict(image_env or {})   # ENV (image's and the stage's)
        self.args: dict[str, str] = {}                      # declared ARGs with a value
        self.declared: set[str] = set()
        self.used_build_args: set[str] = set()
        self.lexer = Lexer(escape)

    def variables(self) -> dict[str, str]:
        """What Dockerfile words are expanded with now (ENV wins over ARG)."""
        return {**self.args, **self.env}

    def expander(self):
        """A ``word -> str`` function for ``Instruction.expand`` with the current scope."""
        env = self.variables()
        lex = self.lexer
        return lambda word: lex.process_word(word, env)

    def expand(self, inst: Instruction) -> Instruction:
        """Expand ``inst`` with the current scope and apply it (ARG/ENV update the scope).
        An ARG's default is expanded; its key is not."""
        if isinstance(inst, Arg):
            self.apply(inst)
            return inst
        out = inst.expand(self.expander())
        self.apply(out)
        return out

    def apply(self, inst: Instruction) -> None:
        """Record what an (expanded) ENV or a (raw) ARG changes."""
        if isinstance(inst, Env):
            for k, v in inst.pairs:
                self.env[k] = v
        elif isinstance(inst, Arg):
            for k, default in inst.pairs:
                self.declared.add(k)
                if k in self.build_args:
                    self.args[k] = self.build_args[k]
                    self.used_build_args.add(k)
                elif default is not None:
                    self.args[k] = self.lexer.process_word(default, self.variables())
                elif k in self.meta:
                    self.args[k] = self.meta[k]
                else:
                    self.args.pop(k, None)

    def run_env(self) -> dict[str, str]:
        """RUN's environment: ENV, declared ARGs, and proxy build args (ENV wins)."""
        out = {k: v for k, v in self.build_args.items() if k in PROXY_ARGS}
        out.update(self.args)
        out.update(self.env)
        return out
