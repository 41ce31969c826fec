"""Session fixtures: one plain and one htpasswd docker-registry, the busybox OCI layout."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

from tests.interop.regclient.servers import Proxy, make_oci_layout, start_registry

needs_registry = pytest.mark.skipif(not shutil.which("docker-registry"),
                                    reason="peer tool 'docker-registry' not installed")


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """A docker-registry on 127.0.0.1 without auth."""
    if not shutil.which("docker-registry"):
        pytest.skip("peer tool 'docker-registry' not installed")
    r = start_registry(tmp_path_factory.mktemp("registry"))
    yield r
    r.stop()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory):
    """A docker-registry on 127.0.0.1 with htpasswd (bcrypt) Basic auth: alice / s3cret."""
    for tool in ("docker-registry", "htpasswd"):
        if not shutil.which(tool):
            pytest.skip(f"peer tool {tool!r} not installed")
    r = start_registry(tmp_path_factory.mktemp("registry-auth"), user="alice",
                       password="s3cret")
    yield r
    r.stop()


@pytest.fixture(scope="session")
def bb_layout(tmp_path_factory, busybox_tar):
    """An OCI layout made by umoci with two images on the same busybox base:
    ``bb`` (1 layer) and ``bb2`` (the same layer + a small second one)."""
    if not shutil.which("umoci"):
        pytest.skip("peer tool 'umoci' not installed")
    if os.geteuid() != 0:
        pytest.skip("umoci unpack needs root")
    d = tmp_path_factory.mktemp("oci") / "layout"
    make_oci_layout(busybox_tar, d, "bb")
    make_oci_layout(busybox_tar, d, "bb2", base="bb", extra={"hello.txt": b"hello from layer two\n"})
    return d


@pytest.fixture
def repo_name():
    """A unique repository name for the test (the registries are shared per session)."""
    return f"t/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def proxy(registry):
    p = Proxy(registry.host)
    yield p
    p.close()


@pytest.fixture(autouse=True)
def _docker_config(tmp_path):
    """Every test gets its own empty Docker config directory ($DOCKER_CONFIG).

    Set in os.environ directly, not with monkeypatch: the ``cli`` fixture undoes its
    monkeypatch after each command, which would point later commands at ~/.docker.
    """
    d = tmp_path / "docker-config"
    d.mkdir()
    old = os.environ.get("DOCKER_CONFIG")
    os.environ["DOCKER_CONFIG"] = str(d)
    yield d
    if old is None:
        os.environ.pop("DOCKER_CONFIG", None)
    else:
        os.environ["DOCKER_CONFIG"] = old
