"""Blob push and pull through the registry's HTTP API (in-process, starlette TestClient)."""

from __future__ import annotations

import os

from tests.unit.registry_server.ocidata import push_blob, sha256

V = ("docker-distribution-api-version", "registry/2.0")


def test_ping_answers_empty_json_with_api_version(client):
    r = client.get("/v2/")
    assert (r.status_code, r.json(), r.headers[V[0]]) == (200, {}, V[1])


def test_monolithic_push_then_get_and_head(client):
    data = b"hello blob" * 1000
    d = push_blob(client, "lib/a", data)
    r = client.get(f"/v2/lib/a/blobs/{d}")
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["docker-content-digest"] == d
    assert r.headers["content-length"] == str(len(data))
    assert r.headers["content-type"] == "application/octet-stream"
    h = client.head(f"/v2/lib/a/blobs/{d}")
    assert (h.status_code, h.content, h.headers["content-length"]) == (200, b"", str(len(data)))


def test_push_response_headers(client):
    data = b"x" * 10
    d = sha256(data)
    r = client.post("/v2/a/blobs/uploads/", params={"digest": d}, content=data)
    assert r.status_code == 201
    assert r.headers["location"] == f"/v2/a/blobs/{d}"
    assert r.headers["docker-content-digest"] == d


def test_range_requests(client):
    data = bytes(range(256)) * 4
    d = push_blob(client, "a", data)
    r = client.get(f"/v2/a/blobs/{d}", headers={"Range": "bytes=10-19"})
    assert (r.status_code, r.content) == (206, data[10:20])
    assert r.headers["content-range"] == f"bytes 10-19/{len(data)}"
    r = client.get(f"/v2/a/blobs/{d}", headers={"Range": "bytes=-5"})
    assert (r.status_code, r.content) == (206, data[-5:])
    r = client.get(f"/v2/a/blobs/{d}", headers={"Range": "bytes=1000-"})
    assert (r.status_code, r.content) == (206, data[1000:])
    r = client.get(f"/v2/a/blobs/{d}", headers={"Range": "bytes=5000-6000"})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{len(data)}"


def test_chunked_upload_with_out_of_order_chunk(client):
    data = os.urandom(3000)
    r = client.post("/v2/a/blobs/uploads/")
    assert r.status_code == 202
    assert r.headers["range"] == "0-0"
    loc = r.headers["location"]
    uuid = loc.rsplit("/", 1)[1]
    assert r.headers["docker-upload-uuid"] == uuid
    r = client.patch(loc, content=data[:1000], headers={"Content-Range": "0-999"})
    assert (r.status_code, r.headers["range"]) == (202, "0-999")
    # a chunk that skips ahead: 416, the upload says where it stands
    r = client.patch(loc, content=data[2000:], headers={"Content-Range": "2000-2999"})
    assert r.status_code == 416
    assert r.json()["errors"][0]["code"] == "BLOB_UPLOAD_INVALID"
    assert r.headers["range"] == "0-999"
    r = client.get(loc)
    assert (r.status_code, r.headers["range"]) == (204, "0-999")
    r = client.patch(loc, content=data[1000:2000], headers={"Content-Range": "1000-1999"})
    assert r.status_code == 202
    d = sha256(data)
    r = client.put(loc, params={"digest": d}, content=data[2000:],
                   headers={"Content-Range": "2000-2999"})
    assert r.status_code == 201
    assert client.get(f"/v2/a/blobs/{d}").content == data


def test_streamed_patch_without_content_range(client):
    data = os.urandom(5 << 20)
    loc = client.post("/v2/a/blobs/uploads/").headers["location"]
    r = client.patch(loc, content=iter([data[: 1 << 20], data[1 << 20:]]))
    assert (r.status_code, r.headers["range"]) == (202, f"0-{len(data) - 1}")
    d = sha256(data)
    assert client.put(loc, params={"digest": d}).status_code == 201
    assert client.get(f"/v2/a/blobs/{d}").content == data


def test_wrong_digest_stores_nothing(client, reg_root):
    data = b"some content"
    wrong = sha256(b"other content")
    r = client.post("/v2/a/blobs/uploads/", params={"digest": wrong}, content=data)
    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == "DIGEST_INVALID"
    assert client.head(f"/v2/a/blobs/{wrong}").status_code == 404
    assert client.head(f"/v2/a/blobs/{sha256(data)}").status_code == 404
    assert os.listdir(reg_root / "uploads") == []
    assert not (reg_root / "blobs" / "sha256").exists() or \
        os.listdir(reg_root / "blobs" / "sha256") == []


def test_malformed_digest_is_digest_invalid(client):
    r = client.post("/v2/a/blobs/uploads/", params={"digest": "sha256:abc"}, content=b"x")
    assert (r.status_code, r.json()["errors"][0]["code"]) == (400, "DIGEST_INVALID")
    r = client.get("/v2/a/blobs/md5:abcdef")
    assert (r.status_code, r.json()["errors"][0]["code"]) == (400, "DIGEST_INVALID")


def test_size_mismatch_is_size_invalid(client):
    loc = client.post("/v2/a/blobs/uploads/").headers["location"]
    r = client.put(loc, params={"digest": sha256(b"abc")}, content=b"abc",
                   headers={"Content-Range": "0-9"})
    assert r.status_code == 416


def test_sha512_blob(client):
    import hashlib

    data = b"sha512 content"
    d = "sha512:" + hashlib.sha512(data).hexdigest()
    loc = client.post("/v2/a/blobs/uploads/").headers["location"]
    assert client.put(loc, params={"digest": d}, content=data).status_code == 201
    assert client.get(f"/v2/a/blobs/{d}").content == data


def test_blob_shared_across_repositories_is_stored_once(client, reg_root):
    data = os.urandom(4096)
    d1 = push_blob(client, "one", data)
    d2 = push_blob(client, "two/deep", data)
    assert d1 == d2
    assert os.listdir(reg_root / "blobs" / "sha256") == [d1.split(":")[1]]
    assert client.get(f"/v2/two/deep/blobs/{d1}").content == data


def test_blob_not_visible_in_other_repository(client):
    d = push_blob(client, "one", b"private")
    r = client.get(f"/v2/other/blobs/{d}")
    assert (r.status_code, r.json()["errors"][0]["code"]) == (404, "BLOB_UNKNOWN")


def test_cross_repository_mount(client):
    d = push_blob(client, "src", b"mount me")
    r = client.post("/v2/dst/blobs/uploads/", params={"mount": d, "from": "src"})
    assert (r.status_code, r.headers["location"]) == (201, f"/v2/dst/blobs/{d}")
    assert client.get(f"/v2/dst/blobs/{d}").content == b"mount me"
    # the source does not have it: an ordinary upload starts instead
    missing = sha256(b"nope")
    r = client.post("/v2/dst2/blobs/uploads/", params={"mount": missing, "from": "src"})
    assert r.status_code == 202
    assert r.headers["location"].startswith("/v2/dst2/blobs/uploads/")


def test_cancel_upload(client):
    loc = client.post("/v2/a/blobs/uploads/").headers["location"]
    assert client.delete(loc).status_code == 204
    r = client.get(loc)
    assert (r.status_code, r.json()["errors"][0]["code"]) == (404, "BLOB_UPLOAD_UNKNOWN")


def test_upload_location_of_another_repository_is_unknown(client):
    loc = client.post("/v2/a/blobs/uploads/").headers["location"]
    other = loc.replace("/v2/a/", "/v2/b/")
    r = client.patch(other, content=b"x")
    assert (r.status_code, r.json()["errors"][0]["code"]) == (404, "BLOB_UPLOAD_UNKNOWN")
    r = client.get("/v2/a/blobs/uploads/../../etc")
    assert r.status_code in (400, 404)


def test_delete_blob_then_404(client):
    d = push_blob(client, "a", b"delete me")
    r = client.delete(f"/v2/a/blobs/{d}")
    assert r.status_code == 202
    assert client.head(f"/v2/a/blobs/{d}").status_code == 404
    r = client.delete(f"/v2/a/blobs/{d}")
    assert (r.status_code, r.json()["errors"][0]["code"]) == (404, "BLOB_UNKNOWN")


def test_empty_blob(client):
    d = push_blob(client, "a", b"")
    r = client.get(f"/v2/a/blobs/{d}")
    assert (r.status_code, r.content, r.headers["content-length"]) == (200, b"", "0")
