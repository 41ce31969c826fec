"""Build integration fixtures: a store with the busybox rootfs imported as ``bb:1``."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
def bb(skiff_root, busybox_tar):
    """Import the busybox rootfs as ``bb:1`` into the test's store; returns its image ID."""
    pytest.importorskip("skiff.images", reason="skiff.images (store) not merged yet")
    pytest.importorskip("skiff.snapshots", reason="skiff.snapshots not merged yet")
    pytest.importorskip("skiff.runtime.oneshot", reason="skiff.runtime not merged yet")
    pytest.importorskip("skiff.dockerfile", reason="skiff.dockerfile not merged yet")
    from skiff.images import ImageService

    from skiff import metadata
    from skiff.config import Config

    config = Config.from_env()
    db = metadata.connect(config.metadata_path)
    try:
        with open(busybox_tar, "rb") as f:
            image = ImageService(config, db).import_rootfs(f, tag="bb:1")
        return image.id
    finally:
        db.close()


@pytest.fixture
def example(tmp_path):
    """Copy ``examples/<name>`` to a temp dir (tests change files in it)."""

    def copy(name: str) -> Path:
        dst = tmp_path / name
        shutil.copytree(EXAMPLES / name, dst, symlinks=True)
        return dst

    return copy


STEP = re.compile(r"^#(\d+) (CACHE HIT|CACHE MISS)(?:: (.*))?", re.M)


def outcomes(err: str) -> list[tuple[str, str | None]]:
    """[("HIT", None) | ("MISS", why), ...] in step order from plain progress output."""
    return [("HIT" if m.group(2) == "CACHE HIT" else "MISS", m.group(3))
            for m in STEP.finditer(err)]


def image_config(skiff_root: Path, ref: str) -> dict:
    from skiff.images import ImageService

    from skiff import metadata
    from skiff.config import Config

    config = Config.from_env()
    db = metadata.connect(config.metadata_path)
    try:
        return ImageService(config, db).get(ref).config.raw
    finally:
        db.close()
