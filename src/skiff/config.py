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
        insecure_registries (tuple[str, ...]): registries (host[:port], name or CIDR) tried
            over https without certificate checks, then plain http, besides loopback:
            ``$SKIFF_INSECURE_REGISTRIES`` (comma-separated), else the
            ``"insecure-registries"`` list of ``<root>/daemon.json`` (dockerd's key).
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
        root_path = Path(r).absolute()
        env_insecure = os.environ.get("SKIFF_INSECURE_REGISTRIES")
        remap = os.environ.get("SKIFF_USERNS_REMAP")
        daemon = _daemon_json(root_path) if env_insecure is None or remap is None else {}
        if env_insecure is not None:
            insecure = tuple(h for h in env_insecure.split(",") if h)
        else:
            listed = daemon.get("insecure-registries", [])
            if not isinstance(listed, list) or not all(isinstance(h, str) for h in listed):
                from skiff.errors import InvalidArgument

                raise InvalidArgument(f"{root_path / 'daemon.json'}",
                                      '"insecure-registries" must be a list of strings')
            insecure = tuple(listed)
        if remap is None:
            remap = daemon.get("userns-remap", "")
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
