"""Bearer token auth end to end: Debian's docker-registry (distribution) with ``auth:
token:`` trusts the certificate of skiff's own token server (``skiff registry serve
--auth token``), and the client gets its tokens there, Docker Hub style (GET with Basic
credentials, or none for an anonymous token).

ACL: anyone may pull, ``alice`` may also push, ``bob`` only pull.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from skiff.config import Config
from skiff.errors import Unauthorized
from skiff.registry.client.credentials import Credentials
from skiff.registry.client.layout import OCILayout
from skiff.registry.client.pulling import pull_image
from skiff.registry.client.pushing import push_image
from skiff.registry.client.transport import Registry
from tests.interop.regclient.servers import start_registry
from tests.interop.regclient.test_protocol import layout_manifest
from tests.unit.registry_server.server_proc import RegistryProcess

pytestmark = [pytest.mark.requires_peer("docker-registry", "openssl", "htpasswd", "umoci"),
              pytest.mark.requires_root]

SERVICE, ISSUER = "test-registry", "skiff-test-issuer"
ALICE = Credentials("alice", "wonder1and")
BOB = Credentials("bob", "bu1lder")


@pytest.fixture(scope="module", params=["rsa", "ec"])
def token_registry(request, tmp_path_factory):
    """(docker-registry, token server) — once with an RS256 key, once with ES256."""
    if not shutil.which("docker-registry"):
        pytest.skip("peer tool 'docker-registry' not installed")
    d = tmp_path_factory.mktemp(f"token-{request.param}")
    newkey = ["-newkey", "rsa:2048"] if request.param == "rsa" else [
        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-days", "2",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"),
                    "-subj", "/CN=skiff-token-signer"], check=True, capture_output=True)
    htpasswd = d / "htpasswd"
    for i, c in enumerate((ALICE, BOB)):
        subprocess.run(["htpasswd", "-Bb" + ("c" if i == 0 else ""), str(htpasswd),
                        c.username, c.password], check=True, capture_output=True)
    acl = d / "acl.json"
    acl.write_text(json.dumps([
        {"account": "alice", "name": "*", "actions": ["pull", "push"]},
        {"account": "*", "name": "*", "actions": ["pull"]},
        {"account": "", "name": "*", "actions": ["pull"]}]))
    tokens = RegistryProcess(d / "tokroot", "--auth", "token", "--token-key", str(d / "key.pem"),
                             "--token-cert", str(d / "cert.pem"), "--token-issuer", ISSUER,
                             "--token-service", SERVICE, "--token-acl", str(acl),
                             "--htpasswd", str(htpasswd)).start()
    reg = start_registry(d / "reg", token=(f"{tokens.url}/token", SERVICE, ISSUER,
                                           d / "cert.pem"))
    yield reg, tokens
    reg.stop()
    tokens.stop()


def _tokens(reg: Registry) -> dict:
    return {k: v[0] for k, v in reg.auth._tokens.items()}


def test_push_scope_then_anonymous_pull(token_registry, bb_layout, repo_name, tmp_path):
    reg_proc, _ = token_registry
    digest, data = layout_manifest(bb_layout, "bb")
    with Registry(reg_proc.host, credentials=ALICE) as reg:
        push_image(reg, repo_name, "1", digest, OCILayout(bb_layout))
        assert reg.auth.challenge.scheme == "bearer"
        assert reg.auth.challenge.params["service"] == SERVICE
        assert (f"repository:{repo_name}:pull,push",) in _tokens(reg)
    with Registry(reg_proc.host, anonymous=True) as reg:
        got = pull_image(reg, repo_name, "1", OCILayout(tmp_path / "out"))
        assert set(_tokens(reg)) == {(f"repository:{repo_name}:pull",)}
    assert got.manifest.data == data


def test_refused_token_is_fetched_again(token_registry, bb_layout, repo_name, tmp_path):
    """A cached token the registry refuses (401) is dropped and a new one fetched."""
    reg_proc, _ = token_registry
    digest, _ = layout_manifest(bb_layout, "bb")
    with Registry(reg_proc.host, credentials=ALICE) as reg:
        push_image(reg, repo_name, "1", digest, OCILayout(bb_layout))
    with Registry(reg_proc.host, anonymous=True) as reg:
        reg.ping()
        key = (f"repository:{repo_name}:pull",)
        # a token signed by nobody the registry trusts, as an expired or revoked one
        reg.auth._tokens[key] = ("eyJhbGciOiJSUzI1NiJ9.e30.AAAA", time.monotonic() + 300)
        got = pull_image(reg, repo_name, "1", OCILayout(tmp_path / "out"))
        assert _tokens(reg)[key] != "eyJhbGciOiJSUzI1NiJ9.e30.AAAA"
    assert got.manifest.digest == digest


def test_denied_scope_and_wrong_password(token_registry, bb_layout, repo_name):
    reg_proc, _ = token_registry
    digest, _ = layout_manifest(bb_layout, "bb")
    with Registry(reg_proc.host, credentials=BOB) as reg, pytest.raises(Unauthorized) as ei:
        push_image(reg, repo_name, "1", digest, OCILayout(bb_layout))
    # distribution's answer to a token without the push action, as Docker prints it
    assert str(ei.value).endswith(": unauthorized: authentication required")
    with Registry(reg_proc.host, credentials=Credentials("alice", "nope")) as reg, \
            pytest.raises(Unauthorized) as ei:
        push_image(reg, repo_name, "1", digest, OCILayout(bb_layout))
    assert "401 Unauthorized: invalid username or password" in str(ei.value)


def test_cli_login_push_pull(cli, skiff_root, token_registry, bb_layout, repo_name, tmp_path):
    """``skiff login`` stores the password; ``skiff push`` as alice, ``skiff pull`` as bob,
    a push as bob is denied with distribution's message."""
    reg_proc, _ = token_registry
    host = reg_proc.host
    digest, _ = layout_manifest(bb_layout, "bb")
    with Registry(host, Config(root=skiff_root), credentials=ALICE) as reg:
        push_image(reg, repo_name, "1", digest, OCILayout(bb_layout))
    r = cli("login", "-u", "bob", "--password-stdin", host, stdin=b"bu1lder\n")
    assert (r.code, r.out) == (0, "Login Succeeded\n"), r.err
    r = cli("pull", "-q", f"{host}/{repo_name}:1")
    assert (r.code, r.out) == (0, f"{host}/{repo_name}:1\n"), r.err
    assert cli("tag", f"{host}/{repo_name}:1", f"{host}/{repo_name}:2").code == 0
    r = cli("push", f"{host}/{repo_name}:2")
    assert r.code == 1
    assert r.err.endswith(": unauthorized: authentication required\n"), r.err
    assert len(r.err.splitlines()) == 1


def test_key_id_alone_is_trusted(token_registry, bb_layout, repo_name):
    """A token whose header names its key by ``kid`` only (no ``x5c``) is accepted:
    skiff's libtrust key ID is the one distribution computes from rootcertbundle."""
    import httpx

    from skiff.registry.server.tokens import TokenKey, TokenService, b64url

    reg_proc, tokens = token_registry
    digest, _ = layout_manifest(bb_layout, "bb")
    with Registry(reg_proc.host, credentials=ALICE) as reg:
        push_image(reg, repo_name, "1", digest, OCILayout(bb_layout))
    d = tokens.root.parent
    key = TokenKey(d / "key.pem", d / "cert.pem")
    tok = TokenService(key, ISSUER, SERVICE, acl=[{"account": "*", "name": "*",
                                                   "actions": ["pull"]}]).issue(
        "carol", [f"repository:{repo_name}:pull"])["token"]
    _, claims, _ = tok.split(".")
    header = b64url(json.dumps({"typ": "JWT", "alg": key.alg, "kid": key.kid}).encode())
    kid_only = f"{header}.{claims}." + b64url(key.sign(f"{header}.{claims}".encode()))
    url = f"http://{reg_proc.host}/v2/{repo_name}/tags/list"
    r = httpx.get(url, headers={"Authorization": f"Bearer {kid_only}"})
    assert (r.status_code, r.json()) == (200, {"name": repo_name, "tags": ["1"]})
    r = httpx.get(url, headers={"Authorization": f"Bearer {kid_only[:-8]}AAAAAAAA"})
    assert r.status_code == 401


def test_skiff_registry_wants_its_own_tokens(token_registry, bb_layout, repo_name, tmp_path):
    """The token server is a registry too (``--auth token``): its /v2/ API takes the
    tokens it issues, with the same ACL."""
    import httpx

    _, tokens = token_registry
    digest, data = layout_manifest(bb_layout, "bb")
    r = httpx.get(f"{tokens.url}/v2/{repo_name}/tags/list")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == (
        f'Bearer realm="{tokens.url}/token",service="{SERVICE}",'
        f'scope="repository:{repo_name}:pull"')
    with Registry(tokens.host, credentials=ALICE) as reg:
        push_image(reg, repo_name, "1", digest, OCILayout(bb_layout))
    with Registry(tokens.host, anonymous=True) as reg:
        got = pull_image(reg, repo_name, "1", OCILayout(tmp_path / "out"))
    assert got.manifest.data == data
    with Registry(tokens.host, credentials=BOB) as reg, pytest.raises(Unauthorized) as ei:
        push_image(reg, f"{repo_name}-b", "1", digest, OCILayout(bb_layout))
    assert str(ei.value).endswith(": unauthorized: authentication required")
