"""The client against skiff's own registry (``skiff registry serve``): round trip, and a
broken upload really resumed from the received range (its upload URLs name the session,
not an offset, so the status request works after a lost answer)."""

from __future__ import annotations

import json

import pytest

from skiff.registry.client.layout import OCILayout
from skiff.registry.client.pulling import pull_image
from skiff.registry.client.pushing import push_image
from skiff.registry.client.transport import Registry
from tests.interop.regclient.servers import Proxy
from tests.unit.registry_server.server_proc import RegistryProcess

pytestmark = [pytest.mark.requires_peer("umoci"), pytest.mark.requires_root]


@pytest.fixture(scope="module")
def skiff_registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("skiff-registry") / "root"
    with RegistryProcess(root) as r:
        yield r


def test_push_resume_and_pull_against_skiff_registry(skiff_registry, bb_layout, repo_name,
                                                     tmp_path):
    src = OCILayout(bb_layout)
    desc = src.resolve("bb")
    data = src.read_blob(desc["digest"])
    layer = json.loads(data)["layers"][0]
    proxy = Proxy(skiff_registry.host)
    proxy.faults.cut_upload_after = 300_000
    try:
        with Registry(proxy.host) as reg:
            res = push_image(reg, repo_name, "1", desc["digest"], src, mount_from=())
            got = pull_image(reg, repo_name, "1", OCILayout(tmp_path / "out"))
    finally:
        proxy.close()
    assert res.digest == desc["digest"]
    assert got.manifest.data == data
    up = f"/v2/{repo_name}/blobs/uploads"
    reqs = [(m, p.split("?")[0].rsplit("/", 1)[0], n) for m, p, _, n in proxy.rec.requests
            if "/blobs/uploads/" in p]
    cut = reqs.index(("PATCH", up, 300_000))
    assert reqs[cut + 1] == ("GET", up, 0)
    assert reqs[cut + 2] == ("PATCH", up, layer["size"] - 300_000)
