"""podman and Docker push to and pull from ``skiff registry serve`` (where installed).

podman runs with a private storage root; Docker's daemon (Debian's docker.io) is started
by the test on a private socket and data root (``--iptables=false --bridge=none``) and the
test skips when it cannot start. Registries on 127.0.0.0/8 are plain-http for both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager

import httpx
import pytest

from tests.unit.registry_server.server_proc import RegistryProcess


@contextmanager
def _cleanup(path: str):
    try:
        yield
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run(*cmd: str, timeout: float = 180) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, (cmd, r.stderr)
    return r


@pytest.mark.requires_root
@pytest.mark.requires_peer("podman")
def test_podman_push_pull(tmp_path, busybox_tar):
    runroot = tempfile.mkdtemp(prefix="skiff-pr-", dir="/tmp")  # podman: at most 50 chars
    store = ["--root", str(tmp_path / "pstore"), "--runroot", runroot,
             "--storage-driver", "vfs", "--events-backend", "file"]
    with RegistryProcess(tmp_path / "reg") as reg, _cleanup(runroot):
        ref = f"{reg.host}/podman/busybox:v1"
        run("podman", *store, "import", str(busybox_tar), ref)
        run("podman", *store, "push", "--tls-verify=false", ref)
        assert httpx.get(f"{reg.url}/v2/podman/busybox/tags/list").json()["tags"] == ["v1"]
        run("podman", *store, "rmi", ref)
        run("podman", *store, "pull", "--tls-verify=false", ref)
        out = run("podman", *store, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout
        assert ref in out.split()


@pytest.fixture
def dockerd(tmp_path):
    """A private dockerd; yields the ``docker`` command prefix."""
    if not shutil.which("dockerd") or not shutil.which("docker") or os.geteuid() != 0:
        pytest.skip("needs root and dockerd/docker (apt-get install docker.io)")
    sock = tmp_path / "docker.sock"
    d = tmp_path / "docker"
    proc = subprocess.Popen(
        ["dockerd", "--iptables=false", "--bridge=none", "--host", f"unix://{sock}",
         "--data-root", str(d / "data"), "--exec-root", str(d / "exec"),
         "--pidfile", str(d / "docker.pid")],
        stdout=open(tmp_path / "dockerd.log", "wb"), stderr=subprocess.STDOUT)
    cli = ["docker", "--host", f"unix://{sock}"]
    try:
        for _ in range(150):
            if proc.poll() is not None:
                break
            if subprocess.run([*cli, "info"], capture_output=True).returncode == 0:
                yield cli
                return
            time.sleep(0.2)
        pytest.skip(f"dockerd could not start: {(tmp_path / 'dockerd.log').read_text()[-500:]}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.requires_root
@pytest.mark.requires_peer("dockerd")
def test_docker_push_pull(tmp_path, busybox_tar, dockerd):
    with RegistryProcess(tmp_path / "reg") as reg:
        ref = f"{reg.host}/docker/busybox:v1"
        run(*dockerd, "import", str(busybox_tar), ref)
        push = run(*dockerd, "push", ref).stdout
        digest = httpx.get(f"{reg.url}/v2/docker/busybox/manifests/v1", headers={
            "Accept": "application/vnd.docker.distribution.manifest.v2+json, "
                      "application/vnd.oci.image.manifest.v1+json"}
        ).headers["docker-content-digest"]
        assert f"digest: {digest}" in push
        run(*dockerd, "rmi", ref)
        pull = run(*dockerd, "pull", ref).stdout
        assert f"Digest: {digest}" in pull
