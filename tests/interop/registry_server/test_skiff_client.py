"""skiff's own registry client (``skiff.registry.client``) pushes to and pulls from
``skiff registry serve``; skips until that module is in the tree."""

from __future__ import annotations

import httpx
import pytest

from tests.unit.registry_server.server_proc import RegistryProcess

client = pytest.importorskip("skiff.registry.client",
                             reason="skiff.registry.client is not in the tree yet")


def test_skiff_push_then_pull(skiff_root, tmp_path, busybox_tar):
    from skiff import metadata
    from skiff.config import Config
    from skiff.images.service import ImageService

    config = Config.from_env(skiff_root)
    db = metadata.connect(config.metadata_path)
    try:
        images = ImageService(config, db)
        with RegistryProcess(tmp_path / "reg") as reg:
            ref = f"{reg.host}/skiff/busybox:v1"
            with open(busybox_tar, "rb") as f:
                local = images.import_rootfs(f, tag=ref)
            digest, size = client.push(config, db, ref)
            r = httpx.get(f"{reg.url}/v2/skiff/busybox/manifests/v1")
            assert r.headers["docker-content-digest"] == digest
            assert int(r.headers["content-length"]) == size
            images.remove([ref])
            pulled = client.pull(config, db, ref)
            assert pulled.id == local.id
            assert pulled.diff_ids == local.diff_ids
    finally:
        db.close()
