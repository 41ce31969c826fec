"""Manifests, tags, referrers, catalog and bad input (in-process, starlette TestClient)."""

from __future__ import annotations

import json
import os

import pytest

from tests.unit.registry_server.ocidata import (
    OCI_INDEX,
    OCI_MANIFEST,
    image,
    push_blob,
    push_image,
    put_manifest,
    sha256,
)

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def code(r) -> str:
    return r.json()["errors"][0]["code"]


def test_push_by_tag_pull_by_tag_and_digest_unchanged(client):
    data, d = image(client, "lib/app", [b"layer one", b"layer two"])
    data = data.replace(b",", b", ")  # odd spacing must survive byte for byte
    d = sha256(data)
    r = put_manifest(client, "lib/app", "v1", data)
    assert r.status_code == 201
    assert r.headers["location"] == f"/v2/lib/app/manifests/{d}"
    assert r.headers["docker-content-digest"] == d
    for ref in ("v1", d):
        g = client.get(f"/v2/lib/app/manifests/{ref}", headers={"Accept": OCI_MANIFEST})
        assert g.status_code == 200
        assert g.content == data
        assert g.headers["content-type"] == OCI_MANIFEST
        assert g.headers["docker-content-digest"] == d
        h = client.head(f"/v2/lib/app/manifests/{ref}")
        assert (h.status_code, h.headers["content-length"]) == (200, str(len(data)))


def test_docker_schema2_media_type_is_kept(client):
    cfg = b"{}"
    cd = push_blob(client, "a", cfg)
    doc = {"schemaVersion": 2, "mediaType": DOCKER_V2,
           "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                      "digest": cd, "size": 2}, "layers": []}
    data = json.dumps(doc).encode()
    assert put_manifest(client, "a", "latest", data, DOCKER_V2).status_code == 201
    assert client.get("/v2/a/manifests/latest").headers["content-type"] == DOCKER_V2


def test_push_by_digest_with_tag_parameters(client):
    data, d = image(client, "a", [b"l"])
    r = client.put(f"/v2/a/manifests/{d}", params=[("tag", "t1"), ("tag", "t2")],
                   content=data, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201
    assert r.headers["oci-tag"] == "t1, t2"
    assert client.get("/v2/a/tags/list").json() == {"name": "a", "tags": ["t1", "t2"]}


def test_digest_in_url_must_match_body(client):
    data, d = image(client, "a", [b"l"])
    r = put_manifest(client, "a", sha256(b"other"), data)
    assert (r.status_code, code(r)) == (400, "DIGEST_INVALID")
    assert client.get(f"/v2/a/manifests/{d}").status_code == 404


def test_manifest_with_missing_blob_is_refused_and_nothing_stored(client):
    cd = push_blob(client, "a", b"{}")
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd,
                      "size": 2},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                       "digest": sha256(b"never pushed"), "size": 12}]}
    r = put_manifest(client, "a", "v1", json.dumps(doc).encode())
    assert (r.status_code, code(r)) == (400, "MANIFEST_BLOB_UNKNOWN")
    assert r.json()["errors"][0]["detail"] == {"digests": [sha256(b"never pushed")]}
    assert client.get("/v2/a/manifests/v1").status_code == 404


def test_index_needs_its_children(client):
    child = push_image(client, "a", "child", [b"x"])
    cdata = client.get(f"/v2/a/manifests/{child}").content
    idx = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": child, "size": len(cdata)}]}
    assert put_manifest(client, "a", "multi", json.dumps(idx).encode(), OCI_INDEX).status_code == 201
    idx["manifests"].append({"mediaType": OCI_MANIFEST, "digest": sha256(b"zz"), "size": 2})
    r = put_manifest(client, "a", "multi2", json.dumps(idx).encode(), OCI_INDEX)
    assert (r.status_code, code(r)) == (400, "MANIFEST_BLOB_UNKNOWN")


@pytest.mark.parametrize("body", [
    b"{not json", b"[1,2]", b'"a string"', b"\xff\xfe",
    b'{"schemaVersion": 1, "config": {}, "layers": []}',
    b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}',
    b'{"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:zz", "size": 1}}',
    b'{"schemaVersion": 2, "config": {"mediaType": "x", "digest": "' + sha256(b"").encode()
    + b'", "size": -1}, "layers": []}',
])
def test_malformed_manifests_are_manifest_invalid(client, body):
    r = put_manifest(client, "a", "bad", body)
    assert (r.status_code, code(r)) == (400, "MANIFEST_INVALID")
    assert client.get("/v2/a/manifests/bad").status_code == 404


def test_media_type_must_agree_with_content_type(client):
    data, _ = image(client, "a", [])
    r = put_manifest(client, "a", "v", data, OCI_INDEX)
    assert (r.status_code, code(r)) == (400, "MANIFEST_INVALID")


def test_oversized_manifest_is_413(make_client):
    c = make_client(max_manifest_size=1000)
    data, _ = image(c, "a", [], extra={"annotations": {"pad": "x" * 2000}})
    r = put_manifest(c, "a", "big", data)
    assert (r.status_code, code(r)) == (413, "MANIFEST_INVALID")
    assert c.get("/v2/").status_code == 200


@pytest.mark.parametrize("name", ["Upper", "a/..b", "-lead", "a//b", "a/.hidden", "a_/b",
                                  "x" * 256, "a/_layers"])
def test_invalid_names_are_name_invalid(client, name):
    r = client.get(f"/v2/{name}/tags/list")
    assert (r.status_code, code(r)) == (400, "NAME_INVALID")
    r = client.post(f"/v2/{name}/blobs/uploads/")
    assert (r.status_code, code(r)) == (400, "NAME_INVALID")


def test_percent_encoded_path_tricks_are_refused(client, reg_root):
    r = client.post("/v2/a/%2e%2e/%2e%2e/etc/blobs/uploads/")
    assert (r.status_code, code(r)) == (400, "NAME_INVALID")
    assert not (reg_root.parent / "etc").exists()


def test_unknown_repository_and_manifest(client):
    r = client.get("/v2/nothing/tags/list")
    assert (r.status_code, code(r)) == (404, "NAME_UNKNOWN")
    r = client.get("/v2/nothing/manifests/latest")
    assert (r.status_code, code(r)) == (404, "MANIFEST_UNKNOWN")
    r = client.get("/v2/nothing/manifests/sha256:baddigeststring")
    assert (r.status_code, code(r)) == (400, "DIGEST_INVALID")


def test_tags_pagination_with_link_header(client):
    data, _ = image(client, "a", [])
    for t in ["c", "a", "e", "b", "d"]:
        assert put_manifest(client, "a", t, data).status_code == 201
    r = client.get("/v2/a/tags/list", params={"n": 2})
    assert r.json() == {"name": "a", "tags": ["a", "b"]}
    assert r.headers["link"] == '</v2/a/tags/list?last=b&n=2>; rel="next"'
    r = client.get("/v2/a/tags/list", params={"n": 2, "last": "b"})
    assert r.json()["tags"] == ["c", "d"]
    r = client.get("/v2/a/tags/list", params={"n": 2, "last": "d"})
    assert r.json()["tags"] == ["e"]
    assert "link" not in r.headers
    assert client.get("/v2/a/tags/list", params={"n": 0}).json()["tags"] == []


def test_catalog_pagination(client):
    for repo in ["zeta", "alpha/one", "mid"]:
        push_blob(client, repo, b"x")
    assert client.get("/v2/_catalog").json() == {"repositories": ["alpha/one", "mid", "zeta"]}
    r = client.get("/v2/_catalog", params={"n": 1, "last": "alpha/one"})
    assert r.json() == {"repositories": ["mid"]}
    assert r.headers["link"] == '</v2/_catalog?last=mid&n=1>; rel="next"'


def test_referrers_and_subject(client):
    subject = push_image(client, "a", "v1", [b"base"])
    sdata = client.get(f"/v2/a/manifests/{subject}").content
    empty = push_blob(client, "a", b"{}")
    art = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/x-sbom",
           "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
           "layers": [], "subject": {"mediaType": OCI_MANIFEST, "digest": subject,
                                     "size": len(sdata)},
           "annotations": {"org.example": "yes"}}
    adata = json.dumps(art).encode()
    ad = sha256(adata)
    r = put_manifest(client, "a", ad, adata)
    assert (r.status_code, r.headers["oci-subject"]) == (201, subject)
    r = client.get(f"/v2/a/referrers/{subject}")
    assert r.status_code == 200
    assert r.headers["content-type"] == OCI_INDEX
    assert r.json() == {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": ad, "size": len(adata),
         "artifactType": "application/x-sbom", "annotations": {"org.example": "yes"}}]}
    r = client.get(f"/v2/a/referrers/{subject}", params={"artifactType": "other"})
    assert (r.json()["manifests"], r.headers["oci-filters-applied"]) == ([], "artifactType")
    # deleting the referrer takes it out of the list
    assert client.delete(f"/v2/a/manifests/{ad}").status_code == 202
    assert client.get(f"/v2/a/referrers/{subject}").json()["manifests"] == []


def test_delete_tag_and_manifest(client):
    d = push_image(client, "a", "v1", [b"z"])
    data = client.get(f"/v2/a/manifests/{d}").content
    assert put_manifest(client, "a", "v2", data).status_code == 201
    assert client.delete("/v2/a/manifests/v1").status_code == 202
    assert client.get("/v2/a/manifests/v1").status_code == 404
    assert client.get("/v2/a/manifests/v2").status_code == 200
    assert client.delete(f"/v2/a/manifests/{d}").status_code == 202
    r = client.get(f"/v2/a/manifests/{d}")
    assert (r.status_code, code(r)) == (404, "MANIFEST_UNKNOWN")
    assert client.get("/v2/a/tags/list").json()["tags"] == []


def test_delete_disabled_is_unsupported(make_client):
    c = make_client(delete_enabled=False)
    d = push_image(c, "a", "v1", [b"z"])
    for url in (f"/v2/a/manifests/{d}", "/v2/a/manifests/v1", f"/v2/a/blobs/{d}"):
        r = c.delete(url)
        assert (r.status_code, code(r)) == (405, "UNSUPPORTED")
    assert c.get("/v2/a/manifests/v1").status_code == 200


def test_read_only_refuses_writes_but_serves_reads(tmp_path, make_client):
    rw = make_client(root=tmp_path / "r")
    d = push_blob(rw, "a", b"data")
    ro = make_client(root=tmp_path / "r", read_only=True)
    r = ro.post("/v2/a/blobs/uploads/")
    assert (r.status_code, code(r)) == (405, "UNSUPPORTED")
    assert ro.get(f"/v2/a/blobs/{d}").content == b"data"
    assert os.listdir(tmp_path / "r" / "uploads") == []
