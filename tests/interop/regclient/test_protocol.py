"""The registry protocol against Debian's docker-registry (distribution 2.8), seeded by
skopeo from an OCI layout made by umoci; images land in / come from OCI layouts."""

from __future__ import annotations

import json

import pytest

from skiff.errors import DigestMismatch, NotFound, Unauthorized, Unavailable
from skiff.registry.client.credentials import Credentials, CredentialStore
from skiff.registry.client.layout import OCILayout
from skiff.registry.client.pulling import pull_image
from skiff.registry.client.pushing import push_image
from skiff.registry.client.transport import Registry, RegistryError
from tests.interop.regclient.servers import Proxy, skopeo

pytestmark = [pytest.mark.requires_peer("skopeo", "umoci", "docker-registry"),
              pytest.mark.requires_root]


def seed(layout, tag, host, repo, *creds):
    args = ["copy", "--dest-tls-verify=false"]
    if creds:
        args += ["--dest-creds", ":".join(creds)]
    skopeo(*args, f"oci:{layout}:{tag}", f"docker://{host}/{repo}")


def layout_manifest(layout, tag) -> tuple[str, bytes]:
    desc = OCILayout(layout).resolve(tag)
    return desc["digest"], OCILayout(layout).read_blob(desc["digest"])


def test_pull_skopeo_pushed_image_byte_identical(registry, bb_layout, repo_name, tmp_path):
    seed(bb_layout, "bb", registry.host, f"{repo_name}:1")
    digest, data = layout_manifest(bb_layout, "bb")
    sink = OCILayout(tmp_path / "out")
    with Registry(registry.host) as reg:
        got = pull_image(reg, repo_name, "1", sink)
    assert got.manifest.digest == digest
    assert got.manifest.data == data
    assert got.manifest.media_type == "application/vnd.oci.image.manifest.v1+json"
    doc = json.loads(data)
    for d in [doc["config"], *doc["layers"]]:
        assert sink.read_blob(d["digest"]) == OCILayout(bb_layout).read_blob(d["digest"])
    assert list((tmp_path / "out" / ".ingest").iterdir()) == []


def test_push_pull_roundtrip_read_by_skopeo(registry, bb_layout, repo_name, tmp_path):
    digest, data = layout_manifest(bb_layout, "bb2")
    src = OCILayout(bb_layout)
    with Registry(registry.host) as reg:
        # Small chunks: the 2 layers go up in several PATCHes each.
        res = push_image(reg, repo_name, "v2", digest, src, chunk_size=256 * 1024)
        assert (res.digest, res.size) == (digest, len(data))
        got = pull_image(reg, repo_name, "v2", OCILayout(tmp_path / "back"))
    assert got.manifest.data == data
    out = json.loads(skopeo("inspect", "--tls-verify=false",
                            f"docker://{registry.host}/{repo_name}:v2").stdout)
    assert out["Digest"] == digest
    assert out["Layers"] == [ld["digest"] for ld in json.loads(data)["layers"]]
    skopeo("copy", "--src-tls-verify=false", f"docker://{registry.host}/{repo_name}:v2",
           f"oci:{tmp_path / 'skopeo-out'}:x")
    assert OCILayout(tmp_path / "skopeo-out").resolve("x")["digest"] == digest


def test_second_image_on_same_base_moves_only_new_layers(registry, bb_layout, repo_name,
                                                         tmp_path):
    src = OCILayout(bb_layout)
    d1, _ = layout_manifest(bb_layout, "bb")
    d2, m2 = layout_manifest(bb_layout, "bb2")
    base, new = (ld["digest"] for ld in json.loads(m2)["layers"])
    assert base == json.loads(src.read_blob(d1))["layers"][0]["digest"]
    proxy = Proxy(registry.host)
    try:
        with Registry(proxy.host) as reg:
            push_image(reg, repo_name, "1", d1, src)
            before = len(proxy.rec.requests)
            res = push_image(reg, repo_name, "2", d2, src)
            second = proxy.rec.requests[before:]
            assert res.blobs[base] == "exists"
            assert res.blobs[new] == "pushed"
            uploads = [(m, p) for m, p, _, n in second if "/blobs/uploads/" in p and n > 0]
            # Only the new layer and the new config carried bytes.
            assert sum(n for m, p, _, n in second if "/blobs/uploads/" in p) == (
                src.size(new) + src.size(json.loads(m2)["config"]["digest"]))
            assert len(uploads) == 2

            sink = OCILayout(tmp_path / "pulled")
            pull_image(reg, repo_name, "1", sink)
            before = len(proxy.rec.requests)
            got = pull_image(reg, repo_name, "2", sink)
            blob_gets = [p for m, p, _, _ in proxy.rec.requests[before:]
                         if m == "GET" and "/blobs/" in p]
            assert got.downloaded == (new,)
            assert sorted(blob_gets) == sorted(
                [f"/v2/{repo_name}/blobs/{new}",
                 f"/v2/{repo_name}/blobs/{json.loads(m2)['config']['digest']}"])
    finally:
        proxy.close()


def test_cross_repository_mount(registry, bb_layout, repo_name):
    src = OCILayout(bb_layout)
    d1, m1 = layout_manifest(bb_layout, "bb")
    with Registry(registry.host) as reg:
        push_image(reg, repo_name + "-a", "1", d1, src)
        res = push_image(reg, repo_name + "-b", "1", d1, src, mount_from=(repo_name + "-a",))
    assert set(res.blobs.values()) == {"mounted"}


def test_broken_download_resumes_with_range(registry, bb_layout, repo_name, tmp_path, proxy):
    seed(bb_layout, "bb", registry.host, f"{repo_name}:1")
    _, data = layout_manifest(bb_layout, "bb")
    layer = json.loads(data)["layers"][0]
    half = layer["size"] // 2
    proxy.faults.cut_after, proxy.faults.only = half, layer["digest"]
    sink = OCILayout(tmp_path / "out")
    with Registry(proxy.host) as reg:
        got = pull_image(reg, repo_name, "1", sink)
    assert proxy.rec.ranges == [f"bytes={half}-"]
    assert got.downloaded == (layer["digest"],)
    assert sink.read_blob(layer["digest"]) == OCILayout(bb_layout).read_blob(layer["digest"])


def test_corrupted_byte_fails_and_stores_nothing(registry, bb_layout, repo_name, tmp_path,
                                                 proxy):
    seed(bb_layout, "bb", registry.host, f"{repo_name}:1")
    _, data = layout_manifest(bb_layout, "bb")
    layer = json.loads(data)["layers"][0]
    proxy.faults.flip_at, proxy.faults.only = 1000, layer["digest"]
    sink = OCILayout(tmp_path / "out")
    with Registry(proxy.host) as reg, pytest.raises(DigestMismatch) as ei:
        pull_image(reg, repo_name, "1", sink)
    assert ei.value.expected == layer["digest"]
    assert ei.value.exit_code == 1
    assert list((tmp_path / "out" / "blobs" / "sha256").iterdir()) == []
    assert list((tmp_path / "out" / ".ingest").iterdir()) == []
    # A rerun without the fault finishes the job.
    proxy.faults.flip_at = None
    with Registry(proxy.host) as reg:
        pull_image(reg, repo_name, "1", sink)
    assert sink.exists(layer["digest"])


def _upload_requests(proxy, repo):
    return [(m, p.split("?")[0].rsplit("/", 1)[0], n) for m, p, _, n in proxy.rec.requests
            if "/blobs/uploads/" in p and m in ("PUT", "PATCH", "GET", "POST", "DELETE")]


def test_broken_upload_resumes_from_received_range(registry, bb_layout, repo_name):
    src = OCILayout(bb_layout)
    d1, m1 = layout_manifest(bb_layout, "bb")
    layer = json.loads(m1)["layers"][0]
    proxy = Proxy(registry.host, fresh_state=True)
    proxy.faults.cut_upload_after = 300_000
    try:
        with Registry(proxy.host) as reg:
            res = push_image(reg, repo_name, "1", d1, src)
    finally:
        proxy.close()
    assert res.blobs[layer["digest"]] == "pushed"
    up = f"/v2/{repo_name}/blobs/uploads"
    layer_reqs = [r for r in _upload_requests(proxy, repo_name)]
    # The body broke after 300000 bytes; the client asked for the received range and sent
    # only the rest, in the same session (one POST for the layer, one for the config).
    assert layer_reqs[:4] == [("POST", up, 0), ("PATCH", up, 300_000), ("GET", up, 0),
                              ("PATCH", up, layer["size"] - 300_000)]
    assert layer_reqs[4] == ("PUT", up, 0)
    out = json.loads(skopeo("inspect", "--tls-verify=false",
                            f"docker://{registry.host}/{repo_name}:1").stdout)
    assert out["Digest"] == d1


def test_broken_upload_on_stale_session_restarts(registry, bb_layout, repo_name, proxy):
    # distribution 2.8 signs the offset into the upload URL: after a lost answer the URL
    # is refused, so the client starts a new session and the push still completes.
    src = OCILayout(bb_layout)
    d1, m1 = layout_manifest(bb_layout, "bb")
    layer = json.loads(m1)["layers"][0]
    proxy.faults.cut_upload_after = 300_000
    with Registry(proxy.host) as reg:
        res = push_image(reg, repo_name, "1", d1, src)
    assert res.blobs[layer["digest"]] == "pushed"
    up = f"/v2/{repo_name}/blobs/uploads"
    assert _upload_requests(proxy, repo_name)[:6] == [
        ("POST", up, 0), ("PATCH", up, 300_000), ("GET", up, 0), ("DELETE", up, 0),
        ("POST", up, 0), ("PUT", up, layer["size"])]


def test_5xx_answers_are_retried(registry, bb_layout, repo_name, tmp_path, proxy):
    seed(bb_layout, "bb", registry.host, f"{repo_name}:1")
    digest, _ = layout_manifest(bb_layout, "bb")
    proxy.faults.unavailable_times = 3
    with Registry(proxy.host) as reg:
        assert pull_image(reg, repo_name, "1", OCILayout(tmp_path / "o")).digest == digest
    assert [s for _, _, s, _ in proxy.rec.requests[1:5]] == [503, 503, 503, 200]
    proxy.faults.unavailable_times = 10  # more than the retries: the registry's error
    with Registry(proxy.host) as reg, pytest.raises(RegistryError) as ei:
        pull_image(reg, repo_name, "1", OCILayout(tmp_path / "p"), what=f"{repo_name}:1")
    assert str(ei.value) == (f"fetching manifest for {repo_name}:1: unavailable: try later")
    assert ei.value.exit_code == 1


def test_unknown_tag_is_manifest_unknown(registry, repo_name, tmp_path):
    with Registry(registry.host) as reg, pytest.raises(NotFound) as ei:
        pull_image(reg, repo_name, "nope", OCILayout(tmp_path / "o"), what=f"{repo_name}:nope")
    assert str(ei.value) == (f"manifest for {repo_name}:nope not found: "
                             "manifest unknown: manifest unknown")
    assert ei.value.exit_code == 1


def test_registry_down_is_unavailable(tmp_path):
    from tests.interop.regclient.servers import free_port

    with Registry(f"127.0.0.1:{free_port()}") as reg, pytest.raises(Unavailable) as ei:
        pull_image(reg, "a/b", "1", OCILayout(tmp_path / "o"))
    assert ei.value.exit_code == 1
    assert "cannot connect" in str(ei.value)


def test_basic_auth_from_docker_config(auth_registry, bb_layout, repo_name, tmp_path):
    seed(bb_layout, "bb", auth_registry.host, f"{repo_name}:1", "alice", "s3cret")
    digest, _ = layout_manifest(bb_layout, "bb")
    with Registry(auth_registry.host) as reg, pytest.raises(Unauthorized) as ei:
        pull_image(reg, repo_name, "1", OCILayout(tmp_path / "a"))
    assert str(ei.value).endswith("unauthorized: authentication required")
    CredentialStore().store(auth_registry.host, Credentials("alice", "wrong"))
    with Registry(auth_registry.host) as reg, pytest.raises(Unauthorized):
        pull_image(reg, repo_name, "1", OCILayout(tmp_path / "b"))
    CredentialStore().store(auth_registry.host, Credentials("alice", "s3cret"))
    with Registry(auth_registry.host) as reg:
        assert pull_image(reg, repo_name, "1", OCILayout(tmp_path / "c")).digest == digest
        res = push_image(reg, repo_name, "2", digest, OCILayout(bb_layout))
        assert res.digest == digest


def test_bearer_anonymous_tokens_scopes_and_refresh(registry, bb_layout, repo_name, tmp_path):
    src = OCILayout(bb_layout)
    d1, _ = layout_manifest(bb_layout, "bb")
    proxy = Proxy(registry.host, bearer=True, token_uses=3)  # tokens die after 3 requests
    try:
        with Registry(proxy.host) as reg:
            push_image(reg, repo_name, "1", d1, src)
            got = pull_image(reg, repo_name, "1", OCILayout(tmp_path / "o"))
        assert got.digest == d1
        scopes = [tuple(t["scope"]) for t in proxy.token_requests]
        assert (f"repository:{repo_name}:pull,push",) in scopes
        assert (f"repository:{repo_name}:pull",) in scopes
        assert all(t["service"] == "test-registry" and t["auth"] is None
                   for t in proxy.token_requests)
        assert len(proxy.token_requests) > 2  # expired tokens were refreshed on 401
    finally:
        proxy.close()


def test_blob_redirects_are_followed(registry, bb_layout, repo_name, tmp_path, proxy):
    seed(bb_layout, "bb", registry.host, f"{repo_name}:1")
    digest, data = layout_manifest(bb_layout, "bb")
    proxy.faults.redirect_blobs = True
    with Registry(proxy.host) as reg:
        got = pull_image(reg, repo_name, "1", OCILayout(tmp_path / "o"))
    assert got.digest == digest
    # config then layer: each a 307 from the registry, then the bytes from "storage"
    assert [s for m, p, s, _ in proxy.rec.requests if "/blobs/" in p] == [307, 200, 307, 200]
    assert len(proxy.rec.auth) == 2  # the two requests that reached /_storage/


def test_bearer_token_with_stored_credentials(registry, bb_layout, repo_name, tmp_path):
    import base64

    seed(bb_layout, "bb", registry.host, f"{repo_name}:1")
    proxy = Proxy(registry.host, bearer=True)
    try:
        CredentialStore().store(proxy.host, Credentials("bob", "pw"))
        with Registry(proxy.host) as reg:
            pull_image(reg, repo_name, "1", OCILayout(tmp_path / "o"))
    finally:
        proxy.close()
    basic = "Basic " + base64.b64encode(b"bob:pw").decode()
    assert [t["auth"] for t in proxy.token_requests] == [basic]
    assert proxy.token_requests[0]["scope"] == [f"repository:{repo_name}:pull"]
    assert all(a == "Bearer tok1" for a in proxy.rec.auth[1:])


def test_identity_token_uses_refresh_grant(registry, bb_layout, repo_name, tmp_path):
    seed(bb_layout, "bb", registry.host, f"{repo_name}:1")
    proxy = Proxy(registry.host, bearer=True)
    try:
        CredentialStore().store(proxy.host, Credentials("", "", "refresh-xyz"))
        with Registry(proxy.host) as reg:
            pull_image(reg, repo_name, "1", OCILayout(tmp_path / "o"))
    finally:
        proxy.close()
    t = proxy.token_requests[0]
    assert (t["grant_type"], t["refresh_token"], t["service"], t["scope"]) == (
        "refresh_token", "refresh-xyz", "test-registry", [f"repository:{repo_name}:pull"])
