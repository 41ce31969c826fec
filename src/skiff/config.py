"""Engine configuration: where the store lives and which OCI runtime runs containers.

Precedence for each setting: an explicit argument (the CLI's global flags) > the
environment (``SKIFF_ROOT``, ``SKIFF_RUNTIME``) > the default.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ROOT = "/var/lib/skiff"
DEFAULT_RUNTIME = "runc"


@dataclass(frozen=True, slots=True)
class Config:
    """Settings for one engine instance.

    Attributes:
        root (Path): the store's root directory (DESIGN.md "On disk"), default /var/lib/skiff.
        runtime (str): the OCI runtime binary (name on PATH or absolute path), default runc.
        insecure_registries (tuple[str, ...]): hosts reached over plain http besides loopback.
    """

    root: Path = field(default_factory=lambda: Path(DEFAULT_ROOT))
    runtime: str = DEFAULT_RUNTIME
    insecure_registries: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, root: str | os.PathLike[str] | None = None,
                 runtime: str | None = None) -> Config:
        """Build a Config from explicit values, then $SKIFF_ROOT / $SKIFF_RUNTIME, then defaults."""
        r = root or os.environ.get("SKIFF_ROOT") or DEFAULT_ROOT
        rt = runtime or os.environ.get("SKIFF_RUNTIME") or DEFAULT_RUNTIME
        insecure = tuple(h for h in os.environ.get("SKIFF_INSECURE_REGISTRIES", "").split(",") if h)
        return cls(root=Path(r).absolute(), runtime=rt, insecure_registries=insecure)

    def runtime_path(self) -> str | None:
        """Absolute path of the runtime binary, or None when it is not installed."""
        if os.path.isabs(self.runtime):
            return self.runtime if os.access(self.runtime, os.X_OK) else None
        return shutil.which(self.runtime)

    # Well-known paths under the root (DESIGN.md "On disk").
    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "snapshots"

    @property
    def containers_dir(self) -> Path:
        return self.root / "containers"

    @property
    def volumes_dir(self) -> Path:
        return self.root / "volumes"

    @property
    def builds_dir(self) -> Path:
        return self.root / "builds"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def metadata_path(self) -> Path:
        return self.root / "metadata.db"
