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
        userns_remap (str): dockerd's ``userns-remap``: ``""`` (off), ``default`` (the
            ``skiff`` user's subordinate ranges, created on first use) or ``USER[:GROUP]``;
            see skiff.runtime.userns. From ``$SKIFF_USERNS_REMAP``, else the
            ``"userns-remap"`` key of ``<root>/daemon.json``.
    """

    root: Path = field(default_factory=lambda: Path(DEFAULT_ROOT))
    runtime: str = DEFAULT_RUNTIME
    insecure_registries: tuple[str, ...] = ()
    userns_remap: str = ""

    @classmethod
    def from_env(cls, root: str | os.PathLike[str] | None = None,
                 runtime: str | None = None) -> Config:
        """Build a Config from explicit values, then $SKIFF_ROOT / $SKIFF_RUNTIME, then defaults."""
        r = root or os.environ.get("SKIFF_ROOT") or DEFAULT_ROOT
        rt = runtime or os.environ.get("SKIFF_RUNTIME") or DEFAULT_RUNTIME
        insecure = tuple(h for h in os.environ.get("SKIFF_INSECURE_REGISTRIES", "").split(",") if h)
        root_path = Path(r).absolute()
        remap = os.environ.get("SKIFF_USERNS_REMAP")
        if remap is None:
            remap = _daemon_json(root_path).get("userns-remap", "")
        return cls(root=root_path, runtime=rt, insecure_registries=insecure,
                   userns_remap=str(remap or ""))

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


def _daemon_json(root: Path) -> dict:
    """``<root>/daemon.json`` (dockerd's file name and keys), ``{}`` when absent.

    Raises:
        InvalidArgument: the file is not a JSON object.
    """
    import json

    try:
        with open(root / "daemon.json") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        from skiff.errors import InvalidArgument

        raise InvalidArgument(f"{root / 'daemon.json'}", str(e)) from None
    if not isinstance(data, dict):
        from skiff.errors import InvalidArgument

        raise InvalidArgument(f"{root / 'daemon.json'}", "not a JSON object")
    return data
