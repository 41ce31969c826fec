"""A pull holds a content-store lease on its image's blobs until the image is recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from skiff.config import Config
from tests.interop.regclient.servers import skopeo

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_peer("skopeo", "docker-registry"),
              pytest.mark.requires_peer("umoci")]


def test_concurrent_prune_keeps_the_blobs_of_an_image_being_pulled(
        cli, skiff_root, registry, bb_layout, repo_name, proxy):
    """``bb2`` = bb's layer + a small one. The store has ``bb`` (so bb's layer is present and
    not downloaded again); while the pull of ``bb2`` waits for its second layer, a real
    ``skiff image prune -a`` in another process removes ``bb``. The shared layer is under
    the pull's lease: it stays, and ``bb2`` is whole. The lease is gone afterwards."""
    from skiff import metadata
    from skiff.content import ContentStore
    from skiff.registry.client.layout import OCILayout

    base = f"{registry.host}/{repo_name}:base"
    app = f"{registry.host}/{repo_name}:app"
    skopeo("copy", "--dest-tls-verify=false", f"oci:{bb_layout}:bb", f"docker://{base}")
    skopeo("copy", "--dest-tls-verify=false", f"oci:{bb_layout}:bb2", f"docker://{app}")
    layout = OCILayout(bb_layout)
    man = json.loads(layout.read_blob(layout.resolve("bb2")["digest"]))
    shared, top = (ld["digest"] for ld in man["layers"])
    assert cli("pull", "-q", base).code == 0
    store = ContentStore(Config.from_env(skiff_root).content_dir)
    assert store.exists(shared) and not store.exists(top)

    proxy.faults.only, proxy.faults.delay_s = top, 3.0
    pull = subprocess.Popen(
        [sys.executable, "-m", "skiff", "pull", "-q", app.replace(registry.host, proxy.host)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "SKIFF_ROOT": str(skiff_root)})
    try:
        assert proxy.faults.delayed.wait(60), "the pull never asked for its second layer"
        r = cli("image", "prune", "-a", "-f")
        assert r.code == 0, r.err
        assert r.out.startswith("Deleted Images:\nuntagged: "), r.out
        out, err = pull.communicate(timeout=120)
    finally:
        pull.kill()
    assert pull.returncode == 0, err
    assert store.exists(shared) and store.exists(top)
    pulled = app.replace(registry.host, proxy.host)
    r = cli("image", "inspect", "--format", "{{len .RootFS.Layers}}", pulled)
    assert (r.code, r.out) == (0, "2\n")
    r = cli("image", "inspect", base)
    assert r.code == 1  # pruned
    db = metadata.connect(Config.from_env(skiff_root).metadata_path)
    try:
        assert db.execute("SELECT COUNT(*) FROM leases").fetchone()[0] == 0
    finally:
        db.close()
