"""Insecure registries as Docker treats them (moby registry/service_v2.go lookupV2Endpoints):
a registry listed in ``insecure_registries`` (by host, name or CIDR) is tried over https
first with certificate errors ignored for that host only, then over plain http; one not
listed is https only and verified. Loopback (127.0.0.0/8, ::1, localhost) is plain http.

The registries run on this machine's non-loopback address (a loopback one would be
plain http whatever the list says): skiff's own ``registry serve`` with a self-signed
certificate, and Debian's docker-registry without TLS.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import warnings

import pytest

from skiff.config import Config
from skiff.errors import Unavailable
from skiff.registry.client.layout import OCILayout
from skiff.registry.client.pulling import pull_image
from skiff.registry.client.pushing import push_image
from skiff.registry.client.transport import Registry
from tests.interop.regclient.servers import start_registry
from tests.interop.regclient.test_protocol import layout_manifest
from tests.interop.regclient.test_tls import _local_address
from tests.unit.registry_server.server_proc import RegistryProcess

pytestmark = [pytest.mark.requires_peer("umoci", "openssl"), pytest.mark.requires_root]


@pytest.fixture(scope="module")
def address():
    ip = _local_address()
    if ip is None:
        pytest.skip("needs a non-loopback address")
    return ip


@pytest.fixture(scope="module")
def tls_skiff_registry(tmp_path_factory, address):
    """``skiff registry serve --tls-cert --tls-key`` on ADDRESS, a self-signed certificate
    that no CA file vouches for."""
    d = tmp_path_factory.mktemp("insecure-tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"),
                    "-subj", "/CN=skiff-insecure", "-addext", f"subjectAltName=IP:{address}"],
                   check=True, capture_output=True)
    with RegistryProcess(d / "root", "--tls-cert", str(d / "cert.pem"), "--tls-key",
                         str(d / "key.pem"), scheme="https", addr=address) as r:
        yield r


@pytest.fixture(scope="module")
def plain_registry(tmp_path_factory, address):
    if not shutil.which("docker-registry"):
        pytest.skip("peer tool 'docker-registry' not installed")
    r = start_registry(tmp_path_factory.mktemp("insecure-plain"), addr=address)
    yield r
    r.stop()


def _cfg(tmp_path, *insecure: str) -> Config:
    return Config(root=tmp_path / "root", insecure_registries=insecure)


def test_listed_registry_over_https_with_its_certificate_unchecked(
        tls_skiff_registry, bb_layout, repo_name, tmp_path, address):
    host = tls_skiff_registry.host
    with Registry(host, _cfg(tmp_path)) as reg, pytest.raises(Unavailable) as ei:
        reg.ping()  # not listed: verified, and nobody vouches for the certificate
    assert "CERTIFICATE_VERIFY_FAILED" in str(ei.value)

    digest, data = layout_manifest(bb_layout, "bb")
    for listed in (host, address, f"{address}/32"):  # host:port, name, CIDR
        with Registry(host, _cfg(tmp_path, listed)) as reg:
            reg.ping()
            assert reg.base == f"https://{host}"
    with Registry(host, _cfg(tmp_path, host)) as reg, \
            warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        push_image(reg, repo_name, "1", digest, OCILayout(bb_layout))
        got = pull_image(reg, repo_name, "1", OCILayout(tmp_path / "out"))
        assert reg.base == f"https://{host}"
    assert got.manifest.data == data
    # listed as insecure: unchecked silently, as Docker (no "Unverified HTTPS request")
    assert [str(w.message) for w in seen] == []
    assert OCILayout(tmp_path / "out").exists(got.layers[0].digest)


def test_certificate_errors_are_ignored_for_the_listed_host_only(tls_skiff_registry,
                                                                  tmp_path):
    """A redirect to another https host (blob storage) is still verified."""
    host = tls_skiff_registry.host
    with Registry(host, _cfg(tmp_path, host)) as reg:
        assert reg._ssl_for(host).verify_mode == ssl.CERT_NONE
        other = reg._ssl_for("storage.example.com:443")
        assert (other.verify_mode, other.check_hostname) == (ssl.CERT_REQUIRED, True)
    with Registry(host, _cfg(tmp_path)) as reg:
        assert reg._ssl_for(host).verify_mode == ssl.CERT_REQUIRED


def test_listed_plain_http_registry_falls_back_to_http(plain_registry, bb_layout, repo_name,
                                                       tmp_path):
    host = plain_registry.host
    with Registry(host, _cfg(tmp_path)) as reg, pytest.raises(Unavailable):
        reg.ping()  # not listed: https only, and the server does not speak TLS
    digest, data = layout_manifest(bb_layout, "bb")
    with Registry(host, _cfg(tmp_path, host)) as reg:
        push_image(reg, repo_name, "1", digest, OCILayout(bb_layout))
        assert reg.base == f"http://{host}"
        got = pull_image(reg, repo_name, "1", OCILayout(tmp_path / "out"))
    assert got.manifest.data == data


def test_cli_uses_the_configured_list(cli, skiff_root, tls_skiff_registry, bb_layout,
                                      repo_name, monkeypatch):
    """``SKIFF_INSECURE_REGISTRIES`` (Config.insecure_registries) reaches ``skiff pull``."""
    host = tls_skiff_registry.host
    digest, _ = layout_manifest(bb_layout, "bb")
    with Registry(host, Config(root=skiff_root, insecure_registries=(host,))) as reg:
        push_image(reg, repo_name, "1", digest, OCILayout(bb_layout))
    r = cli("pull", "-q", f"{host}/{repo_name}:1")
    assert r.code == 1 and "CERTIFICATE_VERIFY_FAILED" in r.err
    monkeypatch.setenv("SKIFF_INSECURE_REGISTRIES", f"other.example,{host}")
    r = cli("pull", "-q", f"{host}/{repo_name}:1")
    assert (r.code, r.out) == (0, f"{host}/{repo_name}:1\n"), r.err


def test_loopback_is_plain_http_only():
    for host in ("127.0.0.1:5000", "127.0.0.2:5000", "localhost:5000", "[::1]:5000",
                 "a.localhost"):
        with Registry(host) as reg:
            assert (reg.schemes, reg.base) == (("http",), f"http://{host}")
    with Registry("registry.example.com") as reg:
        assert reg.schemes == ("https",)
    with Registry("registry.example.com", Config(insecure_registries=("registry.example.com",))
                  ) as reg:
        assert reg.schemes == ("https", "http")


def test_https_through_a_connect_proxy(tls_skiff_registry, bb_layout, repo_name, tmp_path,
                                       monkeypatch):
    """``https_proxy``: the TLS session to the registry runs inside a CONNECT tunnel."""
    from tests.interop.regclient.servers import ConnectProxy

    host = tls_skiff_registry.host
    digest, data = layout_manifest(bb_layout, "bb")
    with Registry(host, _cfg(tmp_path, host)) as reg:
        push_image(reg, repo_name, "1", digest, OCILayout(bb_layout))
    proxy = ConnectProxy()
    try:
        monkeypatch.setenv("https_proxy", f"http://{proxy.host}")
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        with Registry(host, _cfg(tmp_path, host)) as reg:
            got = pull_image(reg, repo_name, "1", OCILayout(tmp_path / "out"))
            assert reg.base == f"https://{host}"
    finally:
        proxy.close()
    assert got.manifest.data == data
    assert proxy.tunnels and set(proxy.tunnels) == {host}
