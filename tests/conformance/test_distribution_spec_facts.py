"""Each row of ../shared/peer/distribution-spec-facts as a test of ``skiff registry serve``.

endpoints.tsv: for every endpoint (end-1 ... end-14) we make the request succeed and fail
as the spec describes and check that the status codes are the ones the table lists.
error-codes.tsv: every error code with the spec's message, triggered over HTTP where the
registry can produce it (DENIED and TOOMANYREQUESTS have no trigger in skiff: no per-user
ACLs or rate limits; for those the server's table itself is checked).
"""

from __future__ import annotations

import csv
import json
import warnings

import pytest

from tests.conftest import PEER
from tests.unit.registry_server.ocidata import (
    OCI_MANIFEST,
    image,
    push_blob,
    push_image,
    put_manifest,
    sha256,
)

FACTS = PEER / "distribution-spec-facts"


def _rows(name: str) -> list[dict[str, str]]:
    path = FACTS / name
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    header = lines[0].lstrip("# ").split("\t")
    return [dict(zip(header, r, strict=True)) for r in csv.reader(lines[1:], delimiter="\t", quoting=csv.QUOTE_NONE)]


ENDPOINTS = {r["id"]: r for r in _rows("endpoints.tsv")}
ERRORS = {r["code"]: r for r in _rows("error-codes.tsv")}


def _codes(s: str) -> set[int]:
    return {int(x) for x in s.split("/") if x}


@pytest.fixture
def make(tmp_path):
    from starlette.testclient import TestClient

    from skiff.registry.server.app import ServerOptions, create_app

    made = []

    def build(**kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c = TestClient(create_app(ServerOptions(root=tmp_path / "reg", **kw)),
                           base_url="http://reg")
        c.__enter__()
        made.append(c)
        return c

    yield build
    for c in made:
        c.__exit__(None, None, None)


def _auth_client(make, tmp_path):
    from skiff.registry.server.auth import hash_password

    p = tmp_path / "htpasswd"
    p.write_text(f"u:{hash_password('p', rounds=4)}\n")
    return make(htpasswd=p)


def _scenario(eid: str, make, tmp_path) -> tuple[list[int], list[int]]:
    """(success statuses, failure statuses) observed for endpoint ``eid``."""
    c = make()
    missing = sha256(b"missing")
    ok: list[int] = []
    bad: list[int] = []
    if eid == "end-1":
        ok.append(c.get("/v2/").status_code)
        bad.append(_auth_client(make, tmp_path).get("/v2/").status_code)
    elif eid == "end-2":
        d = push_blob(c, "r", b"blob")
        ok += [c.get(f"/v2/r/blobs/{d}").status_code, c.head(f"/v2/r/blobs/{d}").status_code]
        bad += [c.get(f"/v2/r/blobs/{missing}").status_code,
                c.head(f"/v2/r/blobs/{missing}").status_code]
    elif eid == "end-3":
        push_image(c, "r", "t", [b"l"])
        ok += [c.get("/v2/r/manifests/t").status_code, c.head("/v2/r/manifests/t").status_code]
        bad += [c.get("/v2/r/manifests/nope").status_code,
                c.head(f"/v2/r/manifests/{missing}").status_code]
    elif eid == "end-4a":
        ok.append(c.post("/v2/r/blobs/uploads/").status_code)
        bad.append(_auth_client(make, tmp_path).post("/v2/r/blobs/uploads/").status_code)
    elif eid == "end-4b":
        ok.append(c.post("/v2/r/blobs/uploads/", params={"digest": sha256(b"a")},
                         content=b"a").status_code)
        bad.append(c.post("/v2/r/blobs/uploads/", params={"digest": sha256(b"b")},
                          content=b"a").status_code)
        bad.append(c.post("/v2/r/blobs/uploads/", params={"digest": "sha256:zz"},
                          content=b"a").status_code)
    elif eid == "end-4c":
        ok.append(c.post("/v2/r/blobs/uploads/", params={"digest-algorithm": "sha512"}).status_code)
        bad.append(c.post("/v2/r/blobs/uploads/", params={"digest-algorithm": "md5"}).status_code)
    elif eid in ("end-5", "end-6", "end-13", "end-14"):
        loc = c.post("/v2/r/blobs/uploads/").headers["location"]
        gone = loc[:-4] + "0000"
        if eid == "end-5":
            ok.append(c.patch(loc, content=b"abc", headers={"Content-Range": "0-2"}).status_code)
            bad.append(c.patch(loc, content=b"abc", headers={"Content-Range": "9-11"}).status_code)
            bad.append(c.patch(gone, content=b"abc").status_code)
        elif eid == "end-6":
            c.patch(loc, content=b"abc")
            bad.append(c.put(loc, params={"digest": sha256(b"abc")}, content=b"d",
                             headers={"Content-Range": "7-7"}).status_code)
            bad.append(c.put(loc, params={"digest": "sha256:zz"}).status_code)
            bad.append(c.put(gone, params={"digest": sha256(b"abc")}).status_code)
            ok.append(c.put(loc, params={"digest": sha256(b"abc")}).status_code)
        elif eid == "end-13":
            ok.append(c.get(loc).status_code)
            bad.append(c.get(gone).status_code)
        else:
            ok.append(c.delete(loc).status_code)
            bad.append(c.delete(loc).status_code)
    elif eid in ("end-7a", "end-7b"):
        data, d = image(c, "r", [b"l"])
        if eid == "end-7a":
            ok.append(put_manifest(c, "r", "t", data).status_code)
        else:
            ok.append(c.put(f"/v2/r/manifests/{d}", params=[("tag", "a"), ("tag", "b")],
                            content=data, headers={"Content-Type": OCI_MANIFEST}).status_code)
        small = make(max_manifest_size=16)
        bad.append(put_manifest(small, "r", "t", data).status_code)
    elif eid in ("end-8a", "end-8b"):
        push_image(c, "r", "t", [b"l"])
        params = {"n": 1, "last": "a"} if eid == "end-8b" else {}
        ok.append(c.get("/v2/r/tags/list", params=params).status_code)
        bad.append(c.get("/v2/unknown/tags/list", params=params).status_code)
    elif eid == "end-9":
        d = push_image(c, "r", "t", [b"l"])
        ok += [c.delete("/v2/r/manifests/t").status_code,
               c.delete(f"/v2/r/manifests/{d}").status_code]
        bad += [c.delete(f"/v2/r/manifests/{d}").status_code,
                c.delete("/v2/r/manifests/sha256:zz").status_code,
                make(delete_enabled=False).delete("/v2/r/manifests/t").status_code]
    elif eid == "end-10":
        d = push_blob(c, "r", b"x")
        ok.append(c.delete(f"/v2/r/blobs/{d}").status_code)
        bad += [c.delete(f"/v2/r/blobs/{d}").status_code,
                c.delete("/v2/r/blobs/sha256:zz").status_code,
                make(delete_enabled=False).delete(f"/v2/r/blobs/{d}").status_code]
    elif eid == "end-11":
        d = push_blob(c, "src", b"m")
        ok.append(c.post("/v2/dst/blobs/uploads/", params={"mount": d, "from": "src"}).status_code)
        ok.append(c.post("/v2/dst/blobs/uploads/",
                         params={"mount": missing, "from": "src"}).status_code)
        bad.append(_auth_client(make, tmp_path).post("/v2/dst/blobs/uploads/").status_code)
    elif eid in ("end-12a", "end-12b"):
        d = push_image(c, "r", "t", [b"l"])
        params = {"artifactType": "application/x"} if eid == "end-12b" else {}
        ok.append(c.get(f"/v2/r/referrers/{d}", params=params).status_code)
        bad.append(c.get("/v2/r/referrers/sha256:zz", params=params).status_code)
    return ok, bad


@pytest.mark.parametrize("eid", sorted(ENDPOINTS))
def test_endpoint_status_codes(eid, make, tmp_path):
    row = ENDPOINTS[eid]
    ok, bad = _scenario(eid, make, tmp_path)
    assert ok and bad, f"no scenario for {eid}"
    success, failure = _codes(row["success_codes"]), _codes(row["failure_codes"])
    # 401 answers any request without credentials when auth is on (end-1 lists it)
    assert set(ok) <= success, (eid, ok, success)
    assert set(bad) <= failure | {401}, (eid, bad, failure)


def test_endpoints_table_is_complete():
    assert len(ENDPOINTS) == 19
    assert {e.split("-")[1].rstrip("abc") for e in ENDPOINTS} == {str(i) for i in range(1, 15)}


def _trigger(code: str, make, tmp_path):
    c = make()
    if code == "BLOB_UNKNOWN":
        return c.get(f"/v2/r/blobs/{sha256(b'x')}")
    if code == "BLOB_UPLOAD_INVALID":
        loc = c.post("/v2/r/blobs/uploads/").headers["location"]
        return c.patch(loc, content=b"ab", headers={"Content-Range": "5-6"})
    if code == "BLOB_UPLOAD_UNKNOWN":
        return c.get("/v2/r/blobs/uploads/" + "0" * 32)
    if code == "DIGEST_INVALID":
        return c.post("/v2/r/blobs/uploads/", params={"digest": sha256(b"a")}, content=b"b")
    if code == "MANIFEST_BLOB_UNKNOWN":
        doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
               "config": {"mediaType": "application/json", "digest": sha256(b"c"), "size": 1},
               "layers": []}
        return put_manifest(c, "r", "t", json.dumps(doc).encode())
    if code == "MANIFEST_INVALID":
        return put_manifest(c, "r", "t", b"{oops")
    if code == "MANIFEST_UNKNOWN":
        return c.get("/v2/r/manifests/latest")
    if code == "NAME_INVALID":
        return c.get("/v2/UPPER/tags/list")
    if code == "NAME_UNKNOWN":
        return c.get("/v2/nobody/tags/list")
    if code == "SIZE_INVALID":
        loc = c.post("/v2/r/blobs/uploads/").headers["location"]
        return c.patch(loc, content=b"abc", headers={"Content-Length": "x"})
    if code == "UNAUTHORIZED":
        return _auth_client(make, tmp_path).get("/v2/")
    if code == "UNSUPPORTED":
        return make(read_only=True).post("/v2/r/blobs/uploads/")
    return None


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_error_code(code, make, tmp_path):
    from skiff.registry.server.errors import CODES

    assert CODES[code][1] == ERRORS[code]["description"]
    r = _trigger(code, make, tmp_path)
    if r is None:
        assert code in ("DENIED", "TOOMANYREQUESTS")
        return
    assert r.status_code == CODES[code][0] or (code, r.status_code) == ("BLOB_UPLOAD_INVALID", 416)
    body = r.json()
    assert body["errors"][0]["code"] == code
    assert body["errors"][0]["message"] == ERRORS[code]["description"] or code in (
        "BLOB_UPLOAD_INVALID",)


def test_error_table_is_complete():
    from skiff.registry.server.errors import CODES

    assert set(CODES) == set(ERRORS) and len(ERRORS) == 14
