"""Write a one-layer OCI image layout from a rootfs tar (test helper for the peers)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path


def _blob(root: Path, data: bytes) -> tuple[str, int]:
    d = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / "sha256" / d).write_bytes(data)
    return "sha256:" + d, len(data)


def write_layout(root: Path, rootfs_tar: Path, tag: str = "latest") -> str:
    """An OCI layout at ``root`` holding one linux/amd64 image tagged ``tag``; returns the
    manifest digest."""
    raw = rootfs_tar.read_bytes()
    layer = gzip.compress(raw, mtime=0)
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "skiff test"}],
    }, sort_keys=True).encode()
    root.mkdir(parents=True, exist_ok=True)
    cd, cs = _blob(root, config)
    ld, ls = _blob(root, layer)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd,
                   "size": cs},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld,
                    "size": ls}],
    }).encode()
    md, ms = _blob(root, manifest)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (root / "index.json").write_text(json.dumps({
        "schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
            "size": ms, "annotations": {"org.opencontainers.image.ref.name": tag}}]}))
    return md
