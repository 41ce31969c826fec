"""Same requests to Debian's ``docker-registry`` (Docker's distribution) and to
``skiff registry serve``: the same status codes and error codes come back.

One known difference is left out: a GET of an OCI manifest without an ``Accept`` header
is 404 from distribution (it assumes a schema1-only client); skiff returns the manifest.
And an unknown upload session is BLOB_UPLOAD_INVALID from distribution (its ``_state``
token is missing), BLOB_UPLOAD_UNKNOWN (the spec's code for it) from skiff."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time

import httpx
import pytest

from tests.unit.registry_server.server_proc import RegistryProcess, free_port

pytestmark = pytest.mark.requires_peer("docker-registry")


def sha256(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


@pytest.fixture
def docker_registry(tmp_path):
    port = free_port()
    cfg = tmp_path / "config.yml"
    cfg.write_text(f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {tmp_path / 'dr-data'}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
""")
    proc = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(url + "/v2/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _cases(c: httpx.Client) -> list[tuple[str, int, str | None]]:
    """Run the requests; (case, status, first error code)."""
    out = []

    def rec(name, r):
        code = None
        if r.headers.get("content-type", "").startswith("application/json") and r.content:
            errs = r.json().get("errors") if isinstance(r.json(), dict) else None
            code = errs[0]["code"] if errs else None
        out.append((name, r.status_code, code))

    blob = b"peer blob"
    d = sha256(blob)
    loc = c.post("/v2/peer/app/blobs/uploads/").headers["location"]
    rec("upload blob", c.put(loc + ("&" if "?" in loc else "?") + f"digest={d}", content=blob))
    rec("get blob", c.get(f"/v2/peer/app/blobs/{d}"))
    rec("blob unknown", c.get(f"/v2/peer/app/blobs/{sha256(b'none')}"))
    rec("blob of other repo", c.get(f"/v2/peer/other/blobs/{d}"))
    rec("range", c.get(f"/v2/peer/app/blobs/{d}", headers={"Range": "bytes=0-3"}))
    loc = c.post("/v2/peer/app/blobs/uploads/").headers["location"]
    rec("digest mismatch", c.put(loc + ("&" if "?" in loc else "?") + f"digest={sha256(b'x')}",
                                 content=b"y"))
    rec("manifest unknown", c.get("/v2/peer/app/manifests/nope"))
    rec("tags of unknown repo", c.get("/v2/peer/unknown/tags/list"))
    rec("manifest not json", c.put("/v2/peer/app/manifests/t", content=b"{oops", headers={
        "Content-Type": "application/vnd.oci.image.manifest.v1+json"}))
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d,
                    "size": len(blob)},
         "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                     "digest": sha256(b"missing"), "size": 7}]}
    rec("manifest blob unknown", c.put("/v2/peer/app/manifests/t", content=json.dumps(m).encode(),
                                       headers={"Content-Type": m["mediaType"]}))
    m["layers"] = []
    body = json.dumps(m).encode()
    rec("manifest put", c.put("/v2/peer/app/manifests/t", content=body,
                              headers={"Content-Type": m["mediaType"]}))
    rec("manifest wrong digest", c.put(f"/v2/peer/app/manifests/{sha256(b'other')}",
                                       content=body, headers={"Content-Type": m["mediaType"]}))
    # Clients send Accept; without it distribution hides OCI manifests (404), skiff does not.
    rec("manifest get", c.get("/v2/peer/app/manifests/t", headers={"Accept": m["mediaType"]}))
    rec("tags", c.get("/v2/peer/app/tags/list"))
    rec("delete manifest", c.delete(f"/v2/peer/app/manifests/{sha256(body)}"))
    rec("deleted manifest", c.get(f"/v2/peer/app/manifests/{sha256(body)}"))
    rec("delete blob", c.delete(f"/v2/peer/app/blobs/{d}"))
    return out


def test_same_answers_as_docker_registry(tmp_path, docker_registry):
    with RegistryProcess(tmp_path / "reg") as reg:
        with httpx.Client(base_url=docker_registry) as c:
            theirs = _cases(c)
        with httpx.Client(base_url=reg.url) as c:
            ours = _cases(c)
    assert ours == theirs
