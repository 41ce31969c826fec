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
    from skiff import metadata
    from skiff.config import Config
    from skiff.images import ImageService

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
    from skiff import metadata
    from skiff.config import Config
    from skiff.images import ImageService

    config = Config.from_env()
    db = metadata.connect(config.metadata_path)
    try:
        return ImageService(config, db).get(ref).config.raw
    finally:
        db.close()


def apply_layer_to_tree(tree: dict[str, tuple], tf) -> None:
    """Apply one layer (an open tarfile, streamed or not) to ``tree`` in place, OCI
    whiteouts included (``.wh..wh..opq`` empties its directory, ``.wh.NAME`` removes NAME):
    path → (type, mode, uid, gid, content bytes | link target). Serves skiff's images and
    the peers' (Docker, BuildKit) alike, so the trees compare like for like."""
    for m in tf:
        name = "/" + m.name.lstrip("./").rstrip("/")
        base = name.rsplit("/", 1)[1]
        if base == ".wh..wh..opq":
            d = name.rsplit("/", 1)[0]
            for k in [k for k in tree if k.startswith(d + "/")]:
                del tree[k]
            continue
        if base.startswith(".wh."):
            gone = name.rsplit("/", 1)[0] + "/" + base[4:]
            for k in [k for k in tree if k == gone or k.startswith(gone + "/")]:
                del tree[k]
            continue
        mode = m.mode & 0o7777  # Docker's tars carry the type bits in mode too
        if m.isfile():
            tree[name] = ("f", mode, m.uid, m.gid, tf.extractfile(m).read())
        elif m.isdir():
            tree[name] = ("d", mode, m.uid, m.gid, None)
        elif m.issym():
            tree[name] = ("l", mode, m.uid, m.gid, m.linkname)
        elif m.islnk():
            tree[name] = ("h", mode, m.uid, m.gid, m.linkname)


def image_files(ref: str) -> dict[str, tuple]:
    """The image's file tree from its layer tars, bottom up (whiteouts applied):
    path → (type, mode, uid, gid, content bytes | link target)."""
    import tarfile

    from skiff import metadata
    from skiff.config import Config
    from skiff.content import ContentStore
    from skiff.images import ImageService
    from skiff.layers.compression import decompressed

    config = Config.from_env()
    db = metadata.connect(config.metadata_path)
    try:
        image = ImageService(config, db).get(ref)
        content = ContentStore(config.content_dir)
        tree: dict[str, tuple] = {}
        for layer in image.layers:
            with content.open(layer.digest) as raw, \
                    tarfile.open(fileobj=decompressed(raw), mode="r|") as tf:
                apply_layer_to_tree(tree, tf)
        return tree
    finally:
        db.close()


def tags(ref_prefix: str = "") -> list[str]:
    from skiff import metadata
    from skiff.config import Config

    config = Config.from_env()
    db = metadata.connect(config.metadata_path)
    try:
        return [r[0] for r in db.execute("SELECT name FROM tags ORDER BY name")]
    finally:
        db.close()
