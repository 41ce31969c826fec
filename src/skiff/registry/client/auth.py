"""Registry authentication: WWW-Authenticate challenges, Basic and Bearer token auth.

Follows the distribution token spec (docs/spec/auth/token.md of distribution/distribution):
a request answered ``401`` carries ``WWW-Authenticate: Bearer realm="…",service="…",
scope="…"`` (or ``Basic realm="…"``). For Bearer the client asks ``GET <realm>?service=…&
scope=repository:<name>:pull[,push]`` — with HTTP Basic credentials when it has any, none
for an anonymous token — and sends ``Authorization: Bearer <token>``. A stored identity
token (OAuth refresh token) uses ``POST <realm>`` with ``grant_type=refresh_token``
(docs/spec/auth/oauth.md). Tokens are cached per scope set until ``expires_in`` (default
60 s) runs out; a ``401`` on a request made with a cached token drops it and fetches anew.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from dataclasses import dataclass, field

from skiff.errors import Unauthorized, Unavailable
from skiff.registry.client.credentials import Credentials

_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*,?')


@dataclass(frozen=True, slots=True)
class Challenge:
    """One parsed ``WWW-Authenticate`` challenge: scheme (lower case) and its parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a ``WWW-Authenticate`` value (RFC 7235) into challenges.

    ``'Bearer realm="https://a/token",service="reg",scope="repository:x:pull"'`` →
    ``[Challenge('bearer', {'realm': 'https://a/token', 'service': 'reg', 'scope': …})]``.
    Several challenges in one header are split at a new scheme token.
    """
    out: list[Challenge] = []
    s = header.strip()
    while s:
        m = re.match(r"([A-Za-z][A-Za-z0-9_-]*)\s*", s)
        if not m:
            break
        scheme = m.group(1).lower()
        s = s[m.end():]
        params: dict[str, str] = {}
        while True:
            pm = _PARAM.match(s)
            if not pm:
                break
            val = pm.group(2) if pm.group(2) is not None else pm.group(3)
            params[pm.group(1).lower()] = re.sub(r"\\(.)", r"\1", val)
            s = s[pm.end():]
        out.append(Challenge(scheme, params))
        s = s.lstrip(", ")
    return out


def pull_scope(repo: str) -> str:
    """``repository:<repo>:pull``."""
    return f"repository:{repo}:pull"


def push_scope(repo: str) -> str:
    """``repository:<repo>:pull,push``."""
    return f"repository:{repo}:pull,push"


class Authenticator:
    """The authorization state for one registry host, shared by all requests (thread safe).

    ``headers(scopes)`` gives the Authorization header for a request needing those scopes;
    ``on_unauthorized(www_authenticate, scopes, used)`` learns from a ``401`` and says
    whether retrying can help. Token requests go through ``http(method, url, headers,
    body=None)`` (the registry session's plain sender: no auth added, body read).

    Raises Unauthorized when the token server refuses the credentials, Unavailable when it
    cannot be reached or answers garbage.
    """

    def __init__(self, host: str, http, credentials: Credentials | None):
        self.host = host
        self.http = http
        self.credentials = credentials
        self.challenge: Challenge | None = None
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def headers(self, scopes: tuple[str, ...]) -> dict[str, str]:
        """The ``Authorization`` header for a request needing ``scopes`` (may be empty)."""
        ch = self.challenge
        if ch is None:
            return {}
        if ch.scheme == "basic":
            c = self.credentials
            if c is None:
                return {}
            raw = f"{c.username}:{c.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        if ch.scheme == "bearer":
            return {"Authorization": "Bearer " + self._token(tuple(sorted(set(scopes))))}
        return {}

    def learn(self, www_authenticate: str) -> None:
        """Record the challenge of a ``GET /v2/`` answered 401 (no retry is made)."""
        chs = [c for c in parse_challenges(www_authenticate) if c.scheme in ("bearer", "basic")]
        if chs:
            with self._lock:
                self.challenge = next((c for c in chs if c.scheme == "bearer"), chs[0])

    def on_unauthorized(self, www_authenticate: str, scopes: tuple[str, ...],
                        sent: dict[str, str]) -> bool:
        """Learn from a 401 answer; True when the request should be retried.

        A new or changed challenge, or an expired/revoked cached Bearer token, makes a retry
        worthwhile; the same credentials refused twice do not.
        """
        chs = [c for c in parse_challenges(www_authenticate) if c.scheme in ("bearer", "basic")]
        if not chs:
            return False
        ch = next((c for c in chs if c.scheme == "bearer"), chs[0])
        with self._lock:
            old = self.challenge
            self.challenge = ch
            key = tuple(sorted(set(scopes)))
            if old is None or old.scheme != ch.scheme or not sent.get("Authorization"):
                return ch.scheme == "bearer" or self.credentials is not None
            if ch.scheme == "bearer":
                # A token was refused: drop it (expired, revoked, or too narrow) and refetch
                # once; ``error="insufficient_scope"`` means the scopes are not granted.
                tok = self._tokens.pop(key, None)
                if ch.params.get("error") == "insufficient_scope":
                    return False
                return tok is not None and sent.get("Authorization") == f"Bearer {tok[0]}"
            return False

    # -- Bearer tokens -------------------------------------------------------------------
    def _token(self, scopes: tuple[str, ...]) -> str:
        with self._lock:
            hit = self._tokens.get(scopes)
            if hit and hit[1] > time.monotonic():
                return hit[0]
            ch = self.challenge
        assert ch is not None
        token, ttl = self._fetch_token(ch, scopes)
        with self._lock:
            self._tokens[scopes] = (token, time.monotonic() + max(ttl - 5, 1))
        return token

    def _fetch_token(self, ch: Challenge, scopes: tuple[str, ...]) -> tuple[str, float]:
        from urllib.parse import urlencode

        from skiff.registry.client.httpclient import BROKEN

        realm = ch.params.get("realm")
        if not realm:
            raise Unavailable(f"registry {self.host}", "Bearer challenge without realm")
        service = ch.params.get("service")
        c = self.credentials
        try:
            if c is not None and c.identity_token:
                form = {"grant_type": "refresh_token", "refresh_token": c.identity_token,
                        "client_id": "skiff", "scope": " ".join(scopes)}
                if service:
                    form["service"] = service
                r = self.http("POST", realm, {
                    "Content-Type": "application/x-www-form-urlencoded"},
                    urlencode(form).encode())
            else:
                params: list[tuple[str, str]] = []
                if service:
                    params.append(("service", service))
                params += [("scope", s) for s in scopes]
                headers: dict[str, str] = {}
                if c is not None and c.username:
                    params.append(("account", c.username))
                    raw = f"{c.username}:{c.password}".encode()
                    headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
                sep = "&" if "?" in realm else "?"
                r = self.http("GET", realm + (sep + urlencode(params) if params else ""),
                              headers)
        except BROKEN as e:
            raise Unavailable(f"fetching token from {realm}", str(e) or type(e).__name__,
                              exit_code=1) from e
        if r.status_code in (401, 403):
            raise Unauthorized(f"authenticating to {self.host}",
                               f"{r.status_code} {r.reason_phrase}: " + _error_text(r))
        if r.status_code != 200:
            raise Unavailable(f"fetching token from {realm}",
                              f"unexpected status {r.status_code}", exit_code=1)
        try:
            body = r.json()
            token = body.get("token") or body.get("access_token")
            ttl = float(body.get("expires_in") or 60)
        except (ValueError, AttributeError) as e:
            raise Unavailable(f"fetching token from {realm}", "invalid JSON", exit_code=1) from e
        if not token:
            raise Unavailable(f"fetching token from {realm}", "no token in response",
                              exit_code=1)
        return token, ttl


def _error_text(r) -> str:
    try:
        errs = r.json().get("errors") or []
        if errs:
            return "; ".join(f"{e.get('code', '').lower()}: {e.get('message', '')}" for e in errs)
        if r.json().get("details"):
            return str(r.json()["details"])
    except (ValueError, AttributeError):
        pass
    return r.text.strip()[:200] or "access denied"
