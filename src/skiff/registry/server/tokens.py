"""A registry token server (Docker's distribution token auth), and token checks for the
registry's own API.

Follows distribution's docs/spec/auth/token.md and jwt.md (what ``auth: token:`` of
Docker's registry verifies): a client refused with ``401`` and ``WWW-Authenticate:
Bearer realm=…,service=…,scope=…`` asks ``GET <realm>?service=<svc>&scope=repository:
<name>:pull,push[&scope=…][&account=<user>]`` (HTTP Basic credentials when it has some,
none for an anonymous token) or ``POST <realm>`` (OAuth2 form, ``grant_type=password``).
The answer is ``{"token", "access_token", "expires_in", "issued_at"}``; the token a JWS
(compact JWT) signed RS256 (RSA key) or ES256 (P-256 key) whose header carries ``kid``
(the libtrust key ID of the signing key, what a registry trusting ``rootcertbundle``
looks up) and ``x5c`` (the signing certificate), and whose claims are ``iss``, ``sub``
(the account, ``""`` anonymous), ``aud`` (the service), ``exp``, ``nbf``, ``iat``,
``jti`` and ``access`` (``[{"type", "name", "actions"}]``: what was asked for, cut down
to what the ACL allows; a scope not allowed at all is left out, not refused).

ACL (JSON list, first matching rule wins, as cesanta/docker_auth): ``[{"account": GLOB,
"name": GLOB, "actions": ["pull", "push", "*"...]}]``; ``account`` ``""`` matches the
anonymous client only, ``*`` anyone. Without an ACL: authenticated users may pull and
push (and delete) everything, anonymous clients pull only with ``anonymous_read``.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from skiff.errors import InvalidArgument

LEEWAY_S = 60  # clock skew accepted on exp/nbf, as distribution's token verifier


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def libtrust_key_id(public_key) -> str:
    """The libtrust key ID of a public key: the SHA-256 of its DER SubjectPublicKeyInfo,
    first 240 bits, base32, in 12 colon-separated groups of 4 (``ABCD:EFGH:…``)."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    s = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(s[i:i + 4] for i in range(0, len(s), 4))


@dataclass(frozen=True, slots=True)
class Access:
    """One ``access`` claim entry: resource type, name, actions granted."""

    type: str
    name: str
    actions: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


def parse_scope(scope: str) -> Access | None:
    """``repository:samalba/my-app:pull,push`` → Access; None for a malformed scope.
    The name may hold colons (``repository:host:5000/x:pull`` is not valid, but a type
    like ``repository(plugin)`` is): the type ends at the first colon, the actions start
    after the last one."""
    typ, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not typ or not name:
        return None
    return Access(typ, name, tuple(a for a in actions.split(",") if a))


class TokenKey:
    """A signing key and its certificate (PEM files). RSA → RS256, EC P-256 → ES256.

    Raises InvalidArgument for unreadable files or another kind of key.
    """

    def __init__(self, key_path: Path, cert_path: Path):
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        try:
            self.key = serialization.load_pem_private_key(Path(key_path).read_bytes(), None)
            self.cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
        except (OSError, ValueError, TypeError) as e:
            raise InvalidArgument("token signing key", str(e)) from e
        if isinstance(self.key, rsa.RSAPrivateKey):
            self.alg = "RS256"
        elif isinstance(self.key, ec.EllipticCurvePrivateKey) and \
                isinstance(self.key.curve, ec.SECP256R1):
            self.alg = "ES256"
        else:
            raise InvalidArgument("token signing key", "only RSA and EC P-256 keys are supported")
        self.public = self.cert.public_key()
        self.kid = libtrust_key_id(self.public)
        self.x5c = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()

    def sign(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

        if self.alg == "RS256":
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        r, s = utils.decode_dss_signature(self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # JWS: R || S, 32 bytes each

    def verify(self, data: bytes, sig: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

        try:
            if self.alg == "RS256":
                self.public.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                if len(sig) != 64:
                    return False
                der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                                 int.from_bytes(sig[32:], "big"))
                self.public.verify(der, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


def load_acl(path: Path) -> list[dict]:
    """The ACL rules of a JSON file (see the module docstring); InvalidArgument if bad."""
    try:
        rules = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise InvalidArgument(f"token ACL {path}", str(e)) from e
    if not isinstance(rules, list) or not all(
            isinstance(r, dict) and isinstance(r.get("actions"), list) for r in rules):
        raise InvalidArgument(f"token ACL {path}",
                              'expected [{"account": ..., "name": ..., "actions": [...]}]')
    return rules


class TokenService:
    """Issues and checks tokens for one service.

    Args:
        key: the signing key (TokenKey). issuer: the ``iss`` claim. service: ``aud``.
        acl: rules (None: the default policy of the module docstring).
        anonymous_read: without an ACL, anonymous clients may pull.
        ttl_s: token lifetime in seconds.
    """

    def __init__(self, key: TokenKey, issuer: str, service: str, *,
                 acl: list[dict] | None = None, anonymous_read: bool = False,
                 ttl_s: int = 300):
        self.key = key
        self.issuer = issuer
        self.service = service
        self.acl = acl
        self.anonymous_read = anonymous_read
        self.ttl_s = ttl_s

    def allowed(self, account: str, access: Access) -> tuple[str, ...]:
        """The actions of ``access`` that ``account`` (``""``: anonymous) may have."""
        if self.acl is None:
            if access.type != "repository":
                return ()
            allow: list[str] = ["pull", "push", "delete"] if account else (
                ["pull"] if self.anonymous_read else [])
        else:
            allow = []
            for rule in self.acl:
                who = str(rule.get("account", "*"))
                who_ok = (account == "") if who == "" else fnmatch.fnmatchcase(account, who)
                typ_ok = rule.get("type", "repository") == access.type
                if who_ok and typ_ok and fnmatch.fnmatchcase(access.name,
                                                             str(rule.get("name", "*"))):
                    allow = [str(a) for a in rule["actions"]]
                    break
        if "*" in allow:
            return access.actions
        return tuple(a for a in access.actions if a in allow)

    def issue(self, account: str, scopes: list[str]) -> dict:
        """The token server's JSON answer for ``account`` asking ``scopes``."""
        now = int(time.time())
        granted = []
        for s in scopes:
            a = parse_scope(s)
            if a is None:
                continue
            acts = self.allowed(account, a)
            if acts:
                granted.append(Access(a.type, a.name, acts).to_dict())
        header = {"typ": "JWT", "alg": self.key.alg, "kid": self.key.kid, "x5c": [self.key.x5c]}
        claims = {"iss": self.issuer, "sub": account, "aud": self.service, "exp": now + self.ttl_s,
                  "nbf": now - 1, "iat": now, "jti": secrets.token_hex(16), "access": granted}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + b64url(json.dumps(claims, separators=(",", ":")).encode()))
        token = signing_input + "." + b64url(self.key.sign(signing_input.encode()))
        issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return {"token": token, "access_token": token, "expires_in": self.ttl_s,
                "issued_at": issued}

    def check(self, token: str, needed: list[Access]) -> str | None:
        """Verify a token this service issued; None when it is valid and grants every
        action of ``needed``, else the reason (``invalid token`` / ``insufficient_scope``)."""
        try:
            h64, c64, s64 = token.split(".")
            header = json.loads(_b64url_decode(h64))
            claims = json.loads(_b64url_decode(c64))
            sig = _b64url_decode(s64)
        except (ValueError, TypeError):
            return "invalid token"
        if header.get("alg") != self.key.alg or not self.key.verify(
                f"{h64}.{c64}".encode(), sig):
            return "invalid token"
        now = time.time()
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if (claims.get("iss") != self.issuer or self.service not in auds
                or not isinstance(claims.get("exp"), int | float)
                or now > claims["exp"] + LEEWAY_S
                or now + LEEWAY_S < claims.get("nbf", 0)):
            return "invalid token"
        have: dict[tuple[str, str], set[str]] = {}
        for a in claims.get("access") or []:
            if isinstance(a, dict):
                have.setdefault((a.get("type"), a.get("name")), set()).update(
                    a.get("actions") or [])
        for n in needed:
            got = have.get((n.type, n.name), set())
            if not set(n.actions) <= got and "*" not in got:
                return "insufficient_scope"
        return None
