"""The token server (distribution token spec): scopes, ACL, JWT claims and signatures, the
/token endpoint and the /v2/ checks of ``--auth token``."""

from __future__ import annotations

import base64
import json
import time

import pytest

from skiff.registry.server.tokens import (
    Access,
    TokenKey,
    TokenService,
    libtrust_key_id,
    parse_scope,
)


@pytest.fixture(scope="module", params=["rsa", "ec"])
def key_dir(request, tmp_path_factory):
    """A directory with key.pem and a self-signed cert.pem: RSA 2048, then EC P-256."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    d = tmp_path_factory.mktemp("key")
    k = (rsa.generate_private_key(public_exponent=65537, key_size=2048)
         if request.param == "rsa" else ec.generate_private_key(ec.SECP256R1()))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signer")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(k.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(k, hashes.SHA256()))
    (d / "key.pem").write_bytes(k.private_bytes(serialization.Encoding.PEM,
                                                serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return d


@pytest.fixture(scope="module")
def key(key_dir) -> TokenKey:
    return TokenKey(key_dir / "key.pem", key_dir / "cert.pem")


def _claims(token: str) -> tuple[dict, dict]:
    h, c, _ = token.split(".")
    dec = lambda s: json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))  # noqa: E731
    return dec(h), dec(c)


def test_parse_scope():
    assert parse_scope("repository:samalba/my-app:pull,push") == Access(
        "repository", "samalba/my-app", ("pull", "push"))
    assert parse_scope("registry:catalog:*") == Access("registry", "catalog", ("*",))
    assert parse_scope("repository(plugin):a/b:pull") == Access("repository(plugin)", "a/b",
                                                                ("pull",))
    assert parse_scope("repository") is None
    assert parse_scope("repository::pull") is None


def test_key_id_is_libtrust_shaped(key):
    kid = libtrust_key_id(key.public)
    assert kid == key.kid
    groups = kid.split(":")
    # base32 (A-Z, 2-7) in 12 groups of 4; a group may be all digits ("5733")
    assert len(groups) == 12 and all(len(g) == 4 and set(g) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                                     for g in groups)


def test_issue_claims_and_header(key):
    svc = TokenService(key, "iss1", "svc1", ttl_s=120)
    before = int(time.time())
    ans = svc.issue("alice", ["repository:a/b:pull,push", "bad", "registry:catalog:*"])
    assert ans["token"] == ans["access_token"] and ans["expires_in"] == 120
    header, claims = _claims(ans["token"])
    assert header == {"typ": "JWT", "alg": key.alg, "kid": key.kid, "x5c": [key.x5c]}
    assert (claims["iss"], claims["sub"], claims["aud"]) == ("iss1", "alice", "svc1")
    assert before <= claims["iat"] <= claims["exp"] - 120 and claims["nbf"] == claims["iat"] - 1
    assert len(claims["jti"]) == 32
    # default policy: users pull/push repositories; the catalog is not granted
    assert claims["access"] == [{"type": "repository", "name": "a/b",
                                 "actions": ["pull", "push"]}]
    _, anon = _claims(svc.issue("", ["repository:a/b:pull"])["token"])
    assert anon["access"] == [] and anon["sub"] == ""
    _, anon = _claims(TokenService(key, "i", "s", anonymous_read=True).issue(
        "", ["repository:a/b:pull,push"])["token"])
    assert anon["access"] == [{"type": "repository", "name": "a/b", "actions": ["pull"]}]


def test_acl_first_match_wins(key):
    svc = TokenService(key, "i", "s", acl=[
        {"account": "bob", "name": "team/*", "actions": ["*"]},
        {"account": "bob", "name": "*", "actions": ["pull"]},
        {"account": "", "name": "public/*", "actions": ["pull"]},
        {"type": "registry", "account": "admin", "name": "catalog", "actions": ["*"]}])
    a = Access("repository", "team/x", ("pull", "push", "delete"))
    assert svc.allowed("bob", a) == ("pull", "push", "delete")
    assert svc.allowed("bob", Access("repository", "other", ("pull", "push"))) == ("pull",)
    assert svc.allowed("", Access("repository", "public/x", ("pull", "push"))) == ("pull",)
    assert svc.allowed("", Access("repository", "team/x", ("pull",))) == ()
    assert svc.allowed("carol", Access("repository", "public/x", ("pull",))) == ()
    assert svc.allowed("admin", Access("registry", "catalog", ("*",))) == ("*",)


def test_check(key):
    svc = TokenService(key, "i", "s")
    tok = svc.issue("alice", ["repository:a/b:pull"])["token"]
    assert svc.check(tok, [Access("repository", "a/b", ("pull",))]) is None
    assert svc.check(tok, []) is None
    assert svc.check(tok, [Access("repository", "a/b", ("push",))]) == "insufficient_scope"
    assert svc.check(tok, [Access("repository", "a/c", ("pull",))]) == "insufficient_scope"
    h, c, s = tok.split(".")
    forged = json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)))
    forged["access"][0]["actions"] = ["pull", "push"]
    c2 = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    assert svc.check(f"{h}.{c2}.{s}", []) == "invalid token"
    assert svc.check("garbage", []) == "invalid token"
    assert TokenService(key, "other", "s").check(tok, []) == "invalid token"  # issuer
    assert TokenService(key, "i", "other").check(tok, []) == "invalid token"  # audience
    old = TokenService(key, "i", "s", ttl_s=-61).issue("alice", [])["token"]
    assert svc.check(old, []) == "invalid token"  # expired beyond the 60 s leeway
    recent = TokenService(key, "i", "s", ttl_s=-30).issue("alice", [])["token"]
    assert svc.check(recent, []) is None  # within the leeway


def test_token_endpoint_and_v2_checks(key, key_dir, tmp_path):
    from starlette.testclient import TestClient

    from skiff.registry.server.app import ServerOptions, create_app
    from skiff.registry.server.auth import hash_password

    (tmp_path / "htpasswd").write_text(f"alice:{hash_password('pw', 4)}\n")
    opts = ServerOptions(root=tmp_path / "reg", htpasswd=tmp_path / "htpasswd",
                         token_key=key_dir / "key.pem", token_cert=key_dir / "cert.pem",
                         token_issuer="iss", token_service="svc")
    with TestClient(create_app(opts), base_url="http://reg") as c:
        r = c.get("/token", params={"service": "svc", "scope": "repository:a/b:pull,push"},
                  auth=("alice", "pw"))
        assert r.status_code == 200
        _, claims = _claims(r.json()["token"])
        assert (claims["sub"], claims["access"][0]["actions"]) == ("alice", ["pull", "push"])
        assert c.get("/token", auth=("alice", "bad")).json() == {
            "details": "invalid username or password"}
        assert c.get("/token", auth=("alice", "bad")).status_code == 401
        assert c.get("/token", params={"service": "other"}).status_code == 400
        r = c.post("/token", data={"grant_type": "password", "username": "alice",
                                   "password": "pw", "service": "svc",
                                   "scope": "repository:a/b:pull repository:c/d:push"})
        assert [a["name"] for a in _claims(r.json()["token"])[1]["access"]] == ["a/b", "c/d"]
        assert c.post("/token", data={"grant_type": "refresh_token"}).status_code == 400

        r = c.get("/v2/")
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == 'Bearer realm="http://reg/token",service="svc"'
        anon = c.get("/token", params={"scope": "repository:a/b:pull"}).json()["token"]
        assert c.get("/v2/", headers={"Authorization": f"Bearer {anon}"}).status_code == 200
        r = c.get("/v2/a/b/tags/list", headers={"Authorization": f"Bearer {anon}"})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == (
            'Bearer realm="http://reg/token",service="svc",scope="repository:a/b:pull",'
            'error="insufficient_scope"')
        assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"
        tok = c.get("/token", params={"scope": ["repository:a/b:pull", "repository:x:pull"]},
                    auth=("alice", "pw")).json()["token"]
        r = c.get("/v2/a/b/tags/list", headers={"Authorization": f"Bearer {tok}"})
        assert (r.status_code, r.json()["errors"][0]["code"]) == (404, "NAME_UNKNOWN")
        # a mount from x needs pull there too; push on a/b alone is not enough
        r = c.post("/v2/a/b/blobs/uploads/?mount=sha256:" + "0" * 64 + "&from=x",
                   headers={"Authorization": f"Bearer {tok}"})
        assert 'scope="repository:a/b:pull,push repository:x:pull"' in \
            r.headers["www-authenticate"]
