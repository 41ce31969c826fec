"""Build and push small OCI content through any httpx-like client (test helper)."""

from __future__ import annotations

import hashlib
import json

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(c, repo: str, data: bytes) -> str:
    """Monolithic POST ?digest= push; asserts 201; returns the digest."""
    d = sha256(data)
    r = c.post(f"/v2/{repo}/blobs/uploads/", params={"digest": d}, content=data,
               headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    return d


def image(c, repo: str, layers: list[bytes], *, config: bytes = b'{"architecture":"amd64","os":"linux"}',
          extra: dict | None = None) -> tuple[bytes, str]:
    """Push config + layers, return (manifest bytes, manifest digest) without pushing it."""
    cd = push_blob(c, repo, config)
    doc = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": cd, "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": push_blob(c, repo, b), "size": len(b)}
                   for b in layers],
        **(extra or {}),
    }
    data = json.dumps(doc).encode()
    return data, sha256(data)


def put_manifest(c, repo: str, ref: str, data: bytes, media_type: str = OCI_MANIFEST):
    return c.put(f"/v2/{repo}/manifests/{ref}", content=data,
                 headers={"Content-Type": media_type})


def push_image(c, repo: str, tag: str, layers: list[bytes], **kw) -> str:
    data, d = image(c, repo, layers, **kw)
    r = put_manifest(c, repo, tag, data)
    assert r.status_code == 201, r.text
    return d
