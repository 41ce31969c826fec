"""TLS: a registry on a non-loopback address is reached over https; its CA is trusted
from ``<root>/certs.d/<host>/ca.crt`` (Docker's /etc/docker/certs.d layout)."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from skiff.config import Config
from skiff.errors import Unavailable
from skiff.registry.client.layout import OCILayout
from skiff.registry.client.pulling import pull_image
from skiff.registry.client.transport import Registry
from tests.interop.regclient.servers import start_registry

pytestmark = [pytest.mark.requires_peer("skopeo", "umoci", "docker-registry", "openssl"),
              pytest.mark.requires_root]


def _local_address() -> str | None:
    """A non-loopback IPv4 address of this machine (the default route's source)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            ip = s.getsockname()[0]
        return None if ip.startswith("127.") else ip
    except OSError:
        return None


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory):
    ip = _local_address()
    if ip is None or not shutil.which("docker-registry"):
        pytest.skip("needs a non-loopback address and docker-registry")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"),
                    "-subj", "/CN=skiff-test", "-addext", f"subjectAltName=IP:{ip}"],
                   check=True, capture_output=True)
    r = start_registry(d / "reg", tls=(d / "cert.pem", d / "key.pem"), addr=ip)
    yield r, d / "cert.pem"
    r.stop()


def test_tls_with_per_registry_ca(tls_registry, bb_layout, repo_name, tmp_path):
    from skiff.registry.client.pushing import push_image
    from tests.interop.regclient.test_protocol import layout_manifest

    reg_proc, cert = tls_registry
    cfg = Config(root=tmp_path / "root")
    with Registry(reg_proc.host, cfg) as reg, pytest.raises(Unavailable) as ei:
        reg.ping()
    assert "CERTIFICATE_VERIFY_FAILED" in str(ei.value)
    ca_dir = cfg.root / "certs.d" / reg_proc.host
    ca_dir.mkdir(parents=True)
    shutil.copy(cert, ca_dir / "ca.crt")
    digest, data = layout_manifest(bb_layout, "bb")
    with Registry(reg_proc.host, cfg) as reg:
        assert reg.base == f"https://{reg_proc.host}"
        push_image(reg, repo_name, "1", digest, OCILayout(bb_layout))
        got = pull_image(reg, repo_name, "1", OCILayout(tmp_path / "out"))
    assert got.manifest.data == data
