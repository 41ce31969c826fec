"""skopeo (containers/image) copies images to and from ``skiff registry serve``."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from tests.interop.registry_server.layout import write_layout
from tests.unit.registry_server.server_proc import RegistryProcess

pytestmark = pytest.mark.requires_peer("skopeo")


def skopeo(*args: str) -> subprocess.CompletedProcess:
    r = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r


def test_skopeo_copy_both_ways(tmp_path, busybox_tar):
    src = tmp_path / "src"
    digest = write_layout(src, busybox_tar, "v1")
    with RegistryProcess(tmp_path / "reg") as reg:
        dest = f"docker://{reg.host}/skopeo/busybox:v1"
        skopeo("copy", "--dest-tls-verify=false", "--preserve-digests", f"oci:{src}:v1", dest)
        r = httpx.get(f"{reg.url}/v2/skopeo/busybox/manifests/v1")
        assert r.headers["docker-content-digest"] == digest
        info = json.loads(skopeo("inspect", "--tls-verify=false", dest).stdout)
        assert (info["Digest"], info["Architecture"], info["Os"]) == (digest, "amd64", "linux")
        out = tmp_path / "out"
        skopeo("copy", "--src-tls-verify=false", dest, f"oci:{out}:v1")
        index = json.loads((out / "index.json").read_text())
        assert index["manifests"][0]["digest"] == digest
        for blob in (src / "blobs" / "sha256").iterdir():
            assert (out / "blobs" / "sha256" / blob.name).read_bytes() == blob.read_bytes()
        # a second repository: skopeo mounts or re-uses the layer, stored once
        skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", dest,
               f"docker://{reg.host}/other/busybox:copy")
        assert httpx.get(f"{reg.url}/v2/other/busybox/manifests/copy").status_code == 200
        assert len(list((reg.root / "blobs" / "sha256").iterdir())) == 3


def test_skopeo_with_htpasswd(tmp_path, busybox_tar):
    from skiff.registry.server.auth import hash_password

    pw = tmp_path / "htpasswd"
    pw.write_text(f"tester:{hash_password('pa55', rounds=4)}\n")
    src = tmp_path / "src"
    write_layout(src, busybox_tar)
    with RegistryProcess(tmp_path / "reg", "--htpasswd", str(pw)) as reg:
        dest = f"docker://{reg.host}/auth/busybox:latest"
        r = subprocess.run(["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
                            "--dest-creds", "tester:wrong", f"oci:{src}:latest", dest],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode != 0
        assert "unauthorized" in r.stderr.lower() or "401" in r.stderr
        skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "tester:pa55",
               f"oci:{src}:latest", dest)
        tags = json.loads(skopeo("list-tags", "--tls-verify=false", "--creds", "tester:pa55",
                                 f"docker://{reg.host}/auth/busybox").stdout)
        assert tags == {"Repository": f"{reg.host}/auth/busybox", "Tags": ["latest"]}
