"""htpasswd auth, garbage collection, the storage layer and the CLI verbs."""

from __future__ import annotations

import base64
import json
import os
import time

import pytest

from skiff.errors import DigestMismatch, InvalidArgument, NotFound
from skiff.registry.server.auth import hash_password, load_htpasswd
from skiff.registry.server.gc import collect
from skiff.registry.storage import FilesystemStorage
from tests.unit.registry_server.ocidata import push_blob, push_image, sha256


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def htpasswd(tmp_path):
    p = tmp_path / "htpasswd"
    p.write_text(f"alice:{hash_password('s3cret', rounds=4)}\n")
    return p


def test_auth_challenge_and_credentials(make_client, htpasswd):
    c = make_client(htpasswd=htpasswd)
    r = c.get("/v2/")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="skiff-registry"'
    assert r.json() == {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
    assert c.get("/v2/", headers=basic("alice", "wrong")).status_code == 401
    assert c.get("/v2/", headers=basic("bob", "s3cret")).status_code == 401
    assert c.get("/v2/", headers=basic("alice", "s3cret")).status_code == 200
    d = sha256(b"x")
    r = c.post("/v2/a/blobs/uploads/", params={"digest": d}, content=b"x",
               headers=basic("alice", "s3cret"))
    assert r.status_code == 201


def test_anonymous_read(make_client, htpasswd):
    c = make_client(htpasswd=htpasswd, anonymous_read=True)
    assert c.get("/v2/").status_code == 200
    assert c.get("/v2/a/tags/list").status_code == 404
    r = c.post("/v2/a/blobs/uploads/")
    assert r.status_code == 401


def test_htpasswd_must_be_bcrypt(tmp_path):
    p = tmp_path / "h"
    p.write_text("bob:{SHA}fDYHuOYbzxlE6ehQOmYPIfS28/E=\n")
    with pytest.raises(InvalidArgument, match="only bcrypt"):
        load_htpasswd(p)


def test_gc_keeps_referenced_blobs_and_frees_the_rest(client, reg_root):
    shared = b"shared layer"
    d1 = push_image(client, "a", "v1", [shared, b"only in a"])
    d2 = push_image(client, "b", "v1", [shared, b"only in b"])
    orphan = push_blob(client, "a", b"uploaded, never referenced")
    assert client.delete(f"/v2/b/manifests/{d2}").status_code == 202
    store = FilesystemStorage(reg_root)
    lines = []
    report = collect(store, dry_run=True, log=lines.append)
    assert sorted(report.deleted) == sorted([d2, sha256(b"only in b"), orphan])
    assert store.blob_size(orphan) is not None  # dry run removed nothing
    report = collect(store)
    assert sorted(report.deleted) == sorted([d2, sha256(b"only in b"), orphan])
    for d in (sha256(shared), sha256(b"only in a"), d1):
        assert store.blob_size(d) is not None
    assert client.get(f"/v2/a/manifests/{d1}").status_code == 200
    assert client.get(f"/v2/a/blobs/{sha256(shared)}").content == shared
    assert client.get(f"/v2/b/blobs/{sha256(b'only in b')}").status_code == 404
    assert lines[-1] == "4 blobs marked, 3 blobs eligible for deletion"


def test_gc_delete_untagged(client, reg_root):
    old = push_image(client, "a", "v1", [b"old layer"])
    new = push_image(client, "a", "v1", [b"new layer"])  # v1 moves on: old is untagged
    report = collect(FilesystemStorage(reg_root), delete_untagged=True)
    assert report.manifests_removed == [("a", old)]
    assert sha256(b"old layer") in report.deleted
    assert client.get(f"/v2/a/manifests/{old}").status_code == 404
    assert client.get("/v2/a/manifests/v1").headers["docker-content-digest"] == new


def test_gc_min_age_keeps_fresh_blobs(client, reg_root):
    orphan = push_blob(client, "a", b"fresh")
    report = collect(FilesystemStorage(reg_root), min_age_s=3600)
    assert report.deleted == []
    assert FilesystemStorage(reg_root).blob_size(orphan) == 5


def test_storage_commit_mismatch_leaves_nothing(tmp_path):
    s = FilesystemStorage(tmp_path)
    st = s.start_upload("a")
    w = s.upload_writer(st.id)
    w.write(b"abc")
    w.close()
    with pytest.raises(DigestMismatch):
        s.commit_upload(st.id, sha256(b"abd"))
    with pytest.raises(NotFound):
        s.upload_state(st.id)
    assert list(s.walk_blobs()) == []


def test_storage_resumes_upload_after_restart(tmp_path):
    s = FilesystemStorage(tmp_path)
    st = s.start_upload("a")
    w = s.upload_writer(st.id)
    w.write(b"first half ")
    w.close()
    s2 = FilesystemStorage(tmp_path)  # a new process: no running hash in memory
    w = s2.upload_writer(st.id)
    w.write(b"second half")
    w.close()
    d = sha256(b"first half second half")
    assert s2.commit_upload(st.id, d) == 22
    assert s2.read_small_blob(d) == b"first half second half"


def test_storage_rollback_drops_partial_chunk(tmp_path):
    s = FilesystemStorage(tmp_path)
    st = s.start_upload("a")
    w = s.upload_writer(st.id)
    w.write(b"good")
    w.close()
    w = s.upload_writer(st.id)
    w.write(b"interrupted")
    w.rollback()
    assert s.upload_state(st.id).offset == 4
    assert s.commit_upload(st.id, sha256(b"good")) == 4


def test_storage_purges_stale_uploads(tmp_path):
    s = FilesystemStorage(tmp_path)
    old = s.start_upload("a")
    info = tmp_path / "uploads" / old.id / "info.json"
    meta = json.loads(info.read_text())
    meta["started"] = time.time() - 7200
    info.write_text(json.dumps(meta))
    for p in (info.parent / "data", info.parent):
        os.utime(p, (meta["started"], meta["started"]))
    fresh = s.start_upload("a")
    # a session started long ago but written to recently is still alive
    busy = s.start_upload("a")
    binfo = tmp_path / "uploads" / busy.id / "info.json"
    bmeta = json.loads(binfo.read_text())
    bmeta["started"] = time.time() - 7200
    binfo.write_text(json.dumps(bmeta))
    assert s.purge_uploads(3600) == 1
    assert sorted(os.listdir(tmp_path / "uploads")) == sorted([fresh.id, busy.id])


def test_cli_gc_output(cli, client, reg_root):
    orphan = push_blob(client, "a", b"orphan")
    r = cli("registry", "gc", "--root", str(reg_root), "--dry-run")
    assert r.code == 0
    assert r.out == f"blob eligible for deletion: {orphan}\n0 blobs marked, 1 blobs eligible for deletion\n"
    r = cli("registry", "gc", "--root", str(reg_root))
    assert r.out.endswith("0 blobs marked, 1 blobs deleted\n")
    assert FilesystemStorage(reg_root).blob_size(orphan) is None


def test_cli_bad_flags(cli, tmp_path):
    r = cli("registry", "serve", "--addr", "nonsense")
    assert (r.code, r.err) == (125, "skiff: invalid address 'nonsense': expected HOST:PORT\n")
    r = cli("registry", "serve", "--tls-cert", "x.pem")
    assert (r.code, r.err) == (125, "skiff: skiff registry serve: --tls-cert and --tls-key go together\n")
    r = cli("registry", "gc", "--root", str(tmp_path / "none"))
    assert r.code == 125
    assert r.err == f"skiff: {tmp_path / 'none'}: not a registry storage directory\n"


def test_gc_delete_untagged_keeps_children_of_tagged_index_and_referrers(client, reg_root):
    from tests.unit.registry_server.ocidata import OCI_INDEX, OCI_MANIFEST, put_manifest

    child = push_image(client, "a", "tmp", [b"child layer"])
    cdata = client.get(f"/v2/a/manifests/{child}").content
    idx = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": child, "size": len(cdata)}]}).encode()
    assert put_manifest(client, "a", "multi", idx, OCI_INDEX).status_code == 201
    assert client.delete("/v2/a/manifests/tmp").status_code == 202  # child now untagged
    empty = push_blob(client, "a", b"{}")
    sig = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "artifactType": "application/x-signature",
                      "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                                 "digest": empty, "size": 2},
                      "layers": [], "subject": {"mediaType": OCI_INDEX, "digest": sha256(idx),
                                                "size": len(idx)}}).encode()
    assert put_manifest(client, "a", sha256(sig), sig).status_code == 201
    report = collect(FilesystemStorage(reg_root), delete_untagged=True)
    assert report.manifests_removed == []
    assert report.deleted == []
    for d in (child, sha256(idx), sha256(sig)):
        assert client.head(f"/v2/a/manifests/{d}").status_code == 200
