"""Helpers shared by the snapshot integration tests (not a conftest: imported explicitly)."""

from __future__ import annotations

import os
from pathlib import Path

from skiff.config import Config
from skiff.metadata import connect
from skiff.snapshots import Snapshotter, mount_all, unmount


def make_snapshotter(root: Path) -> Snapshotter:
    config = Config(root=root)
    return Snapshotter(config, connect(config.metadata_path))


def commit_files(sn: Snapshotter, name: str, parent: str | None, files: dict[str, bytes]) -> str:
    """A committed snapshot ``name`` on ``parent`` holding ``files`` (written into its upper)."""
    key = f"prep-{name}"
    sn.prepare(key, parent)
    up = sn.upperdir(key)
    for rel, data in files.items():
        p = up / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    sn.commit(name, key)
    return name


class Mounted:
    """``with Mounted(mounts, target):`` mount_all … unmount."""

    def __init__(self, mounts, target: Path):
        self.mounts, self.target = mounts, target

    def __enter__(self) -> Path:
        self.target.mkdir(parents=True, exist_ok=True)
        mount_all(self.mounts, self.target)
        return self.target

    def __exit__(self, *exc) -> None:
        unmount(self.target)


def tree(d: Path) -> list[str]:
    """Sorted relative paths under ``d`` (what a mounted rootfs shows)."""
    return sorted(os.path.relpath(os.path.join(r, n), d)
                  for r, ds, fs in os.walk(d) for n in ds + fs)
