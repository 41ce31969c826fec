"""Options and reports of ``skiff.build.build`` (Podman's verb(options) → report shape)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """What to build and how (the flags of ``skiff build``).

    Attributes:
        context (Path | None): the context directory; None for no context.
        dockerfile (Path | None): the Dockerfile; default ``<context>/Dockerfile``.
        dockerfile_text (str | None): the Dockerfile's text (``-f -``), overrides ``dockerfile``.
        tags (tuple[str, ...]): names to tag the result with (``-t``).
        build_args (dict[str, str | None]): ``--build-arg`` values (None: take from the env).
        target (str | None): stage name or index to stop at (``--target``).
        no_cache (bool): ignore cache records (results are still recorded).
        labels (dict[str, str]): ``--label`` values set on the final image.
        network (str): RUN steps' network: ``default`` (the default bridge, as Docker's
            classic builder: a veth on skiff0 with NAT), ``host``, ``none``, or a
            user-defined bridge network's name. ``RUN --network=`` overrides it per step.
        platform (str | None): ``linux/amd64`` only.
        secrets (dict[str, Path]): ``--secret id=ID,src=PATH`` files for RUN mounts.
        pull (bool): always pull the base (needs a registry; refused when none is reachable).
        compression (str): how new layers are stored: ``none`` (default, as dockerd and
            podman keep built layers), ``gzip`` or ``zstd``.
    """

    context: Path | None
    dockerfile: Path | None = None
    dockerfile_text: str | None = None
    tags: tuple[str, ...] = ()
    build_args: dict[str, str | None] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    network: str = "default"
    platform: str | None = None
    secrets: dict[str, Path] = field(default_factory=dict)
    pull: bool = False
    compression: str = "none"


@dataclass(frozen=True, slots=True)
class StepReport:
    """One executed (or cached) step.

    Attributes:
        number (int): the global step number (``#N``), 1-based.
        stage (str): stage name, ``stage-N`` for an unnamed stage of a multi-stage build,
            ``""`` in a single-stage build.
        index (int): position in the stage, 1-based (FROM is 1).
        total (int): steps in the stage.
        instruction (str): the instruction as written (one line).
        line (int): Dockerfile line of the instruction.
        cached (bool): the result came from the cache.
        why (str | None): for a miss, why the key differs from the last build of this step.
        seconds (float): wall time of the step.
        key (str): the step's cache key.
        inputs (dict): the cache-key inputs (``cachekey.StepInputs.to_dict`` without files).
        layer (bool): the step added a layer.
    """

    number: int
    stage: str
    index: int
    total: int
    instruction: str
    line: int
    cached: bool
    why: str | None
    seconds: float
    key: str
    inputs: dict[str, Any]
    layer: bool

    @property
    def label(self) -> str:
        """``[2/6]`` or ``[builder 2/6]`` as BuildKit prefixes a step."""
        prefix = self.stage + " " if self.stage else ""
        return f"[{prefix}{self.index}/{self.total}]"

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "stage": self.stage, "index": self.index,
                "total": self.total, "instruction": self.instruction, "line": self.line,
                "cached": self.cached, "why": self.why, "seconds": round(self.seconds, 3),
                "key": self.key, "inputs": self.inputs, "layer": self.layer}


@dataclass(frozen=True, slots=True)
class BuildReport:
    """The result of a build.

    Attributes:
        build_id (str): the build's record ID (``skiff build --logs BUILD``).
        image_id (str): ``sha256:<hex>`` of the image config.
        tags (tuple[str, ...]): the names applied (normalized).
        steps (tuple[StepReport, ...]): every step, in execution order.
        seconds (float): wall time of the whole build.
    """

    build_id: str
    image_id: str
    tags: tuple[str, ...]
    steps: tuple[StepReport, ...]
    seconds: float

    @property
    def built(self) -> int:
        """Steps executed (cache misses)."""
        return sum(1 for s in self.steps if not s.cached)

    @property
    def cached(self) -> int:
        """Steps answered from the cache."""
        return sum(1 for s in self.steps if s.cached)


class Progress:
    """Receives build events; the CLI renders them (plain lines or a rich display).

    The default does nothing. Methods are called from the building thread.
    """

    def step_started(self, number: int, label: str, instruction: str) -> None:
        """A step begins."""

    def step_output(self, number: int, data: bytes) -> None:
        """Output of a running RUN step (any chunking)."""

    def step_finished(self, step: StepReport) -> None:
        """A step ended (cache hit or executed)."""

    def message(self, text: str) -> None:
        """A line not tied to a step (exporting, naming)."""


OutputFn = Callable[[bytes], None]
