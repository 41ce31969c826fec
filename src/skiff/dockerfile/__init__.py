"""The Dockerfile front end: parse a Dockerfile into stages of typed instructions.

>>> df = parse("FROM busybox AS base\\nRUN echo hi\\n")
>>> df.stages[0].name, df.stages[0].instructions[0].cmd
('base', 'echo hi')

Layers (after BuildKit's front end):

- :mod:`.parser` — text → node tree with line ranges (directives, continuations, heredocs,
  JSON vs shell form); ``Node.dump()`` is BuildKit's S-expression form.
- :mod:`.instructions` — node → one frozen dataclass per instruction, with argument checks.
- :mod:`.shell` — the word lexer (quotes, escapes, ``${VAR:-x}`` ...).
- :mod:`.ignore` — ``.dockerignore`` patterns and a pruning context walk.
- :mod:`.checks` — best-practice warnings (``skiff dockerfile check``).

Errors are :class:`skiff.errors.DockerfileError` carrying the line; the CLI prints
``skiff: Dockerfile:LINE: message`` and exits 1.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from itertools import compress, count, repeat
from operator import is_
from typing import Any

from skiff.dockerfile.instructions import (
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
    InstructionError,
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
from skiff.dockerfile.lineparse import _can_contain_heredoc
from skiff.dockerfile.parser import Node, ParseWarning, _set_heredocs, directive_value, parse_ast
from skiff.dockerfile.segment import gc_resume
from skiff.dockerfile.segment import segment as _segment
from skiff.errors import DockerfileError

__all__ = ["parse", "Dockerfile", "Stage", "Instruction", "From", "Run", "Cmd", "Entrypoint",
           "Env", "Label", "Expose", "Add", "Copy", "Volume", "User", "Workdir", "Arg",
           "Onbuild", "Stopsignal", "Healthcheck", "Shell", "Maintainer", "Heredoc",
           "ParseWarning", "DockerfileError"]


@dataclass(slots=True)
class Stage:
    """One build stage: ``FROM base [AS name]`` and the instructions after it.

    ``name`` is lower-cased (None when unnamed), ``index`` its 0-based position, ``base``
    the image or stage reference as written (unexpanded), ``platform`` the ``--platform``
    value as written, ``line`` the FROM line, ``from_`` the FROM instruction itself.
    """

    name: str | None
    index: int
    base: str
    platform: str | None
    instructions: list[Instruction]
    line: int
    from_: From | None = None

    @property
    def end_line(self) -> int:
        """The last line of the stage's last instruction (or of its FROM)."""
        if self.instructions:
            return self.instructions[-1].end_line
        return self.from_.end_line if self.from_ else self.line


@dataclass(slots=True)
class Dockerfile:
    """A parsed Dockerfile.

    ``directives``: parser directives found at the top (``syntax``, ``escape``, ``check``:
    values as strings); ``meta_args``: ARG instructions before the first FROM; ``stages``;
    ``warnings``: parser warnings; ``escape``: the escape character; ``ast``: the raw node
    tree (``ast.children`` one node per instruction); ``filename``: for messages;
    ``source``: the text parsed.
    """

    directives: dict[str, str]
    meta_args: list[Arg]
    stages: list[Stage]
    warnings: list[ParseWarning] = field(default_factory=list)
    escape: str = "\\"
    filename: str = "Dockerfile"
    source: str = field(default="", repr=False, compare=False)
    _ast: Node | None = field(default=None, repr=False, compare=False)

    @property
    def ast(self) -> Node:
        """BuildKit's node tree of :attr:`source` (``ast.children``: one node per
        instruction), built on first use: the typed parse does not need it."""
        if self._ast is None:
            self._ast = parse_ast(self.source, filename=self.filename).ast
        return self._ast

    def stage(self, name_or_index: str | int) -> Stage:
        """Find a stage by name (case-insensitive) or index; KeyError when absent."""
        if isinstance(name_or_index, int) or str(name_or_index).isdigit():
            i = int(name_or_index)
            if 0 <= i < len(self.stages):
                return self.stages[i]
        else:
            low = name_or_index.lower()
            for s in self.stages:
                if s.name == low:
                    return s
        raise KeyError(name_or_index)

    def instructions(self) -> list[Instruction]:
        """Every instruction in file order (meta ARGs, then each stage's FROM and body)."""
        out: list[Instruction] = list(self.meta_args)
        for s in self.stages:
            if s.from_ is not None:
                out.append(s.from_)
            out.extend(s.instructions)
        return out

    def dump(self) -> str:
        """BuildKit's AST dump (the ``result`` files of its parser corpus), ending in ``\\n``."""
        return "".join("(" + c.dump() + ")\n" for c in self.ast.children)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: directives, escape, meta_args, stages (with instructions), warnings."""
        return {
            "directives": self.directives,
            "escape": self.escape,
            "meta_args": [a.to_dict() for a in self.meta_args],
            "stages": [{"name": s.name, "index": s.index, "base": s.base,
                        "platform": s.platform, "line": s.line,
                        "instructions": [i.to_dict() for i in s.instructions]}
                       for s in self.stages],
            "warnings": [{"message": w.short, "line": w.line, "url": w.url}
                         for w in self.warnings],
        }


def parse(text: str | bytes, *, filename: str = "Dockerfile", require_stage: bool = True,
          allow_duplicate_stages: bool = False) -> Dockerfile:
    """Parse Dockerfile text into stages of typed instructions, as ``docker build`` would.

    ``text`` as str (or bytes, decoded as UTF-8 with undecodable bytes kept). Raises
    DockerfileError (line set) with BuildKit's wording: ``file with no instructions``,
    ``unknown instruction: FOO``, ``no build stage in current context`` (an instruction
    before FROM), ``dockerfile contains no stages to build`` (only ARGs), ``duplicate stage
    name "x"``, argument and flag errors. ``require_stage=False`` accepts a stage-less file
    of ARGs (for tools that only inspect); ``allow_duplicate_stages=True`` lets a checker
    report duplicate stage names instead of failing.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    gc_was_enabled = gc.isenabled()
    gc.disable()  # everything built here is acyclic; a big parse need not pay for collections
    try:
        return _parse(text, filename, require_stage, allow_duplicate_stages)
    finally:
        gc_resume(gc_was_enabled)


_FAST_SHAPES = True  # the shortcuts of .typedfast (tests turn them off to compare)


def _parse(text: str, filename: str, require_stage: bool,
           allow_duplicate_stages: bool) -> Dockerfile:
    from skiff.dockerfile.typedfast import FAST
    from skiff.dockerfile.typedline import from_line

    # One pass over the text: from_line gives typed instructions, or tree nodes for what
    # needs one (heredocs, instruction errors: converted below, in file order, after the
    # whole file has been read, as BuildKit raises parse errors before instruction errors).
    d, warnings, items = _segment(text, filename, from_line, _heredoc_capable, _set_heredocs,
                                  FAST if _FAST_SHAPES else None)
    kinds = list(map(type, items))
    if any(map(is_, kinds, repeat(Node))):  # identity tests in C: ``in`` compares types
        meta, stages = _assemble(items, filename, allow_duplicate_stages)
    else:  # the usual file: the stages are slices between the FROMs, found in C loops
        meta, stages = _assemble_typed(items, kinds, filename, allow_duplicate_stages)
    if not stages and require_stage:
        first = items[0]
        raise DockerfileError("dockerfile contains no stages to build",
                              line=first.start_line if first.__class__ is Node else first.line,
                              filename=filename)
    directives = {k: directive_value(v) if k != "escape" else v
                  for k, v in d.values.items()}
    return Dockerfile(directives=directives, meta_args=meta, stages=stages,
                      warnings=warnings, escape=d.escape, filename=filename,
                      source=text if not text.startswith("\ufeff") else text[1:])


def _assemble_typed(items: list[Instruction], kinds: list[type], filename: str,
                    allow_duplicate_stages: bool) -> tuple[list[Arg], list[Stage]]:
    """:func:`_assemble` for instructions that are all typed (``kinds``: their classes):
    the same stages and errors, in the same order."""
    n = len(items)
    # where the FROMs are, one C pass (identity tests; list.index compares each type)
    froms = list(compress(count(), map(is_, kinds, repeat(From))))
    first = froms[0] if froms else n
    if first and kinds[:first].count(Arg) != first:  # an instruction before the first FROM
        inst = next(i for i in items[:first] if i.__class__ is not Arg)
        raise DockerfileError("no build stage in current context", line=inst.line,
                              end_line=inst.end_line, filename=filename)
    meta: list[Arg] = items[:first]  # type: ignore[assignment]
    stages: list[Stage] = []
    names: set[str] = set()
    froms.append(n)
    for k in range(len(froms) - 1):
        i = froms[k]
        j = froms[k + 1]
        inst = items[i]
        name = inst.stage_name
        if name is not None:
            if name in names and not allow_duplicate_stages:
                raise DockerfileError(f"duplicate stage name {_q(name)}", line=inst.line,
                                      end_line=inst.end_line, filename=filename)
            names.add(name)
        stages.append(Stage(name, len(stages), inst.base, inst.platform, items[i + 1:j],
                            inst.line, inst))
    return meta, stages


def _assemble(items: list[Instruction | Node], filename: str, allow_duplicate_stages: bool
              ) -> tuple[list[Arg], list[Stage]]:
    """(meta ARGs, stages) of the instructions in file order; tree nodes among them are
    converted here (their InstructionErrors raised in file order, with the other errors)."""
    from skiff.dockerfile.convert import from_node

    meta: list[Arg] = []
    stages: list[Stage] = []
    names: set[str] = set()
    body: list[Instruction] | None = None  # the current stage's instructions
    for inst in items:
        if inst.__class__ is Node:
            try:
                inst = from_node(inst)
            except InstructionError as e:
                raise DockerfileError(str(e), line=inst.start_line, end_line=inst.end_line,
                                      filename=filename) from None
        if body is not None and inst.__class__ is not From:
            body.append(inst)
            continue
        if isinstance(inst, From):
            if inst.stage_name is not None:
                if inst.stage_name in names and not allow_duplicate_stages:
                    raise DockerfileError(f"duplicate stage name {_q(inst.stage_name)}",
                                          line=inst.line, end_line=inst.end_line,
                                          filename=filename)
                names.add(inst.stage_name)
            body = []
            stages.append(Stage(name=inst.stage_name, index=len(stages), base=inst.base,
                                platform=inst.platform, instructions=body, line=inst.line,
                                from_=inst))
        elif not stages:
            if isinstance(inst, Arg):
                meta.append(inst)
                continue
            raise DockerfileError("no build stage in current context", line=inst.line,
                                  end_line=inst.end_line, filename=filename)
        else:
            stages[-1].instructions.append(inst)
    return meta, stages


def _heredoc_capable(node: Node, line: str) -> bool:
    return _can_contain_heredoc(node)  # from_line gives a node for any line with "<<"


def _q(s: str) -> str:
    from skiff.dockerfile.parser import go_quote

    return go_quote(s)
