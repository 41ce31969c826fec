"""An HTTP proxy named by the environment (``http_proxy``) carries the registry traffic,
as with Docker: requests go to the proxy in absolute form."""

from __future__ import annotations

import pytest

from skiff.config import Config
from skiff.registry.client.layout import OCILayout
from skiff.registry.client.pulling import pull_image
from skiff.registry.client.transport import Registry
from tests.interop.regclient.servers import Proxy
from tests.interop.regclient.test_protocol import layout_manifest, seed

pytestmark = [pytest.mark.requires_peer("skopeo", "umoci", "docker-registry"),
              pytest.mark.requires_root]


def test_pull_through_the_environment_proxy(registry, bb_layout, repo_name, tmp_path,
                                            monkeypatch):
    seed(bb_layout, "bb", registry.host, f"{repo_name}:1")
    digest, data = layout_manifest(bb_layout, "bb")
    fwd = Proxy(registry.host)  # forwards whatever it gets to the registry
    try:
        monkeypatch.setenv("http_proxy", f"http://{fwd.host}")
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        # a name no resolver knows: only the proxy can reach it (insecure: https first,
        # which fails without an https proxy, then http through the proxy)
        host = "registry.invalid:5000"
        with Registry(host, Config(insecure_registries=(host,))) as reg:
            got = pull_image(reg, repo_name, "1", OCILayout(tmp_path / "out"))
            assert reg.base == f"http://{host}"
    finally:
        fwd.close()
    assert got.manifest.data == data and got.manifest.digest == digest
    paths = [p for _, p, _, _ in fwd.rec.requests]
    assert paths[0] == f"http://{host}/v2/"
    assert f"http://{host}/v2/{repo_name}/manifests/1" in paths
    assert all(p.startswith(f"http://{host}/v2/") for p in paths)
