"""ORAS (the ``oras`` Python package) pushes and pulls an artifact to ``skiff registry serve``."""

from __future__ import annotations

import hashlib
import os

import httpx
import pytest

from tests.unit.registry_server.server_proc import RegistryProcess

oras_client = pytest.importorskip("oras.client", reason="needs the oras Python package")


def test_oras_push_and_pull_artifact(tmp_path, monkeypatch):
    art = tmp_path / "art"
    art.mkdir()
    payload = os.urandom(300_000)
    (art / "artifact.bin").write_bytes(payload)
    (art / "notes.txt").write_text("hello from oras\n")
    with RegistryProcess(tmp_path / "reg") as reg:
        client = oras_client.OrasClient(hostname=reg.host, insecure=True)
        target = f"{reg.host}/oras/artifact:v1"
        monkeypatch.chdir(art)  # oras records paths relative to the working directory
        resp = client.push(target=target, files=["artifact.bin", "notes.txt"])
        assert resp.status_code == 201
        digest = resp.headers["Docker-Content-Digest"]
        r = httpx.get(f"{reg.url}/v2/oras/artifact/manifests/v1")
        assert r.headers["docker-content-digest"] == digest
        manifest = r.json()
        sizes = sorted(layer["size"] for layer in manifest["layers"])
        assert sizes == sorted([len(payload), len("hello from oras\n")])
        out = tmp_path / "out"
        files = client.pull(target=target, outdir=str(out))
        assert sorted(os.path.basename(f) for f in files) == ["artifact.bin", "notes.txt"]
        got = (out / "artifact.bin").read_bytes()
        assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
        assert (out / "notes.txt").read_text() == "hello from oras\n"
        assert client.get_tags(target) == ["v1"]
