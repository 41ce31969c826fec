"""Cache keys of build steps, and why a step missed.

A step's key is the sha256 of the canonical JSON of its :class:`StepInputs`:

- ``parent``: the previous step's key (the FROM step's parent is the base image ID), so a
  key covers the whole chain below it;
- ``instruction``: the instruction after variable expansion (what would run or be copied);
- ``args``: the build args in effect that the step can see (all of them for RUN, whose
  environment holds them; the ones the instruction text names otherwise);
- ``sources``: for COPY/ADD, the digest over the source entries' content and metadata that
  matter (``context.SourceSet``), plus ``--from`` stage keys; per-file digests are kept in
  ``files`` to name what changed (they are not hashed separately: ``sources`` covers them);
- ``extra``: anything else that changes the result (platform, --chown resolution, network).

:func:`explain_miss` compares the inputs of this build with those recorded the last time
the same step (same context, Dockerfile, stage and position) ran, and says in one phrase
why the key differs: ``parent layer changed``, ``instruction text changed``,
``build arg VERSION changed``, ``3 files changed: a, b, c``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

MAX_NAMED_FILES = 3


@dataclass(frozen=True, slots=True)
class StepInputs:
    """Everything a step's cache key covers (see module docstring)."""

    parent: str
    instruction: str
    args: dict[str, str] = field(default_factory=dict)
    sources: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def key_material(self) -> dict[str, Any]:
        """The dict that is hashed (``files`` excluded: ``sources`` already covers them)."""
        return {"parent": self.parent, "instruction": self.instruction, "args": self.args,
                "sources": self.sources, "extra": self.extra}

    def key(self) -> str:
        """``sha256:<hex>`` of the canonical JSON of :meth:`key_material`."""
        data = json.dumps(self.key_material(), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(data.encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form stored with the step record (``files`` included)."""
        return {**self.key_material(), "files": self.files}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepInputs:
        return cls(parent=d.get("parent", ""), instruction=d.get("instruction", ""),
                   args=dict(d.get("args") or {}), sources=d.get("sources", ""),
                   extra=dict(d.get("extra") or {}), files=dict(d.get("files") or {}))


def changed_files(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Relpaths added, removed or changed between two ``files`` maps, sorted."""
    return sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))


def describe_files(paths: list[str]) -> str:
    """``1 file changed: a`` / ``3 files changed: a, b, c`` / ``5 files changed: a, b, c, ...``."""
    n = len(paths)
    shown = ", ".join(paths[:MAX_NAMED_FILES])
    if n > MAX_NAMED_FILES:
        shown += ", ..."
    return f"{n} file{'s' if n != 1 else ''} changed: {shown}"


def explain_miss(previous: StepInputs | None, current: StepInputs) -> str:
    """Why ``current`` has no cache record, judged against the last build of the same step.

    Order of the checks: no previous build, parent, build args, instruction text, source
    files, other inputs. Returns a short phrase for the ``CACHE MISS`` line.
    """
    if previous is None:
        return "no previous build of this step"
    if previous.key() == current.key():
        return "cached result missing"
    if previous.parent != current.parent:
        return "parent layer changed"
    arg_names = sorted(k for k in previous.args.keys() | current.args.keys()
                       if previous.args.get(k) != current.args.get(k))
    if arg_names:
        return (f"build arg {arg_names[0]} changed" if len(arg_names) == 1
                else "build args " + ", ".join(arg_names) + " changed")
    if previous.instruction != current.instruction:
        return "instruction text changed"
    if previous.sources != current.sources:
        files = changed_files(previous.files, current.files)
        if files:
            return describe_files(files)
        return "source files changed"
    keys = sorted(k for k in previous.extra.keys() | current.extra.keys()
                  if previous.extra.get(k) != current.extra.get(k))
    return (", ".join(keys) + " changed") if keys else "inputs changed"


def explain_inputs(inputs: StepInputs) -> list[str]:
    """Lines for ``skiff build --explain``: every cache-key input of a step."""
    lines = [f"key: {inputs.key()}", f"parent: {inputs.parent}",
             f"instruction: {inputs.instruction}"]
    for k in sorted(inputs.args):
        lines.append(f"build arg: {k}={inputs.args[k]}")
    if inputs.sources:
        lines.append(f"sources: {inputs.sources} ({len(inputs.files)} entries)")
    for k in sorted(inputs.extra):
        lines.append(f"{k}: {inputs.extra[k]}")
    return lines
