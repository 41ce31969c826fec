"""One registry host over HTTP: scheme choice, TLS, auth retries, backoff, error decoding.

``http://`` is used for ``localhost``, ``127.0.0.0/8`` and ``::1``; a host listed in
``Config.insecure_registries`` (Docker's ``insecure-registries``: host, name or CIDR) is
tried over https with its certificate unchecked, then over http (Docker's
lookupV2Endpoints order); every other registry is reached over TLS with the system CAs
plus the per-registry files Docker reads from ``/etc/docker/certs.d/<host>/`` (``*.crt``
CAs, ``*.cert``/``*.key`` client pairs) and the same layout under ``<root>/certs.d/``.
HTTP itself is :mod:`skiff.registry.client.httpclient` (urllib3).

Errors follow distribution-spec "Error Codes": a JSON body ``{"errors": [{"code",
"message", "detail"}]}`` becomes one line ``<code lower-cased>: <message>`` (Docker prints
``manifest unknown: manifest unknown``); registry errors exit 1 as ``docker pull`` does.
"""

from __future__ import annotations

import http.client
import ipaddress
import random
import ssl
import threading
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from skiff.config import Config
from skiff.errors import NotFound, SkiffError, Unauthorized, Unavailable
from skiff.registry.client import httpclient
from skiff.registry.client.auth import Authenticator
from skiff.registry.client.credentials import Credentials, CredentialStore

USER_AGENT = "skiff/0.1"
RETRIES = 4            # attempts after the first for idempotent requests
BACKOFF_S = 0.25       # first retry delay; doubles each time (with jitter)
TIMEOUT_S = 30.0      # socket timeout: connect and every read
RETRY_STATUS = (408, 429, 500, 502, 503, 504)


def _split(host: str) -> str:
    """``name[:port]`` / ``[v6]:port`` → the name or address alone."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") and host.count(":") == 1 else host
    if host.startswith("["):
        name = host[1:].split("]", 1)[0]
    return name


def is_loopback(host: str) -> bool:
    """``localhost``, ``*.localhost``, 127.0.0.0/8 and ``::1``: reached over plain http."""
    name = _split(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_listed_insecure(host: str, config: Config | None) -> bool:
    """True when ``config.insecure_registries`` lists ``host``: by ``name[:port]``, by
    name alone, or by a CIDR (``10.0.0.0/8``) holding its address (a name is resolved
    only when a CIDR is listed), as Docker's ``insecure-registries``."""
    listed = config.insecure_registries if config is not None else ()
    name = _split(host)
    if host in listed or name in listed:
        return True
    nets = []
    for entry in listed:
        if "/" in entry:
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                continue
    if not nets:
        return False
    try:
        addrs = {ipaddress.ip_address(name)}
    except ValueError:
        import socket

        try:
            addrs = {ipaddress.ip_address(ai[4][0].split("%")[0])
                     for ai in socket.getaddrinfo(name, None)}
        except (OSError, ValueError):
            return False
    return any(a in n for a in addrs for n in nets if a.version == n.version)


def is_insecure(host: str, config: Config | None = None) -> bool:
    """True when ``host`` (``name[:port]``) may be reached over plain http: loopback, or
    listed as insecure (see :class:`Registry` for the order of attempts)."""
    return is_loopback(host) or is_listed_insecure(host, config)


def _unverified(ctx: ssl.SSLContext) -> ssl.SSLContext:
    """``ctx`` with certificate and hostname checks off (an insecure registry's own TLS)."""
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def system_ca_context() -> ssl.SSLContext:
    """A TLS client context (hostname checked, certificate required) trusting the system CAs.

    Debian's ``/etc/ssl/certs`` is a hashed directory: given as ``capath`` OpenSSL reads a
    CA only when a chain needs it (~1 ms), where ``ssl.create_default_context()`` parses
    the whole bundle up front (60-90 ms of every registry command). ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR`` naming other files than the system's own, or no hashed directory,
    fall back to the default loading.
    """
    import os

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    p = ssl.get_default_verify_paths()
    real = os.path.realpath
    env_file = os.environ.get(p.openssl_cafile_env)
    env_dir = os.environ.get(p.openssl_capath_env)
    own = ((not env_file or real(env_file) == real(p.openssl_cafile))
           and (not env_dir or real(env_dir) == real(p.openssl_capath)))
    if own and _hashed_dir(p.openssl_capath):
        ctx.load_verify_locations(capath=p.openssl_capath)
    else:
        ctx.load_default_certs()
    return ctx


def _hashed_dir(path: str) -> bool:
    """True when ``path`` holds OpenSSL subject-hash links (``<8 hex>.0``)."""
    import os

    try:
        with os.scandir(path) as it:
            return any(len(e.name) == 10 and e.name.endswith(".0") for e in it)
    except OSError:
        return False


def _ssl_context(host: str, config: Config | None) -> ssl.SSLContext:
    ctx = system_ca_context()
    dirs = [Path("/etc/docker/certs.d") / host]
    if config is not None:
        dirs.append(config.root / "certs.d" / host)
    for d in dirs:
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.crt")):
            ctx.load_verify_locations(cafile=str(f))
        for cert in sorted(d.glob("*.cert")):
            key = cert.with_suffix(".key")
            if key.exists():
                ctx.load_cert_chain(str(cert), str(key))
    return ctx


class RegistryError(SkiffError):
    """An error answered by a registry (distribution-spec error body); exits 1.

    ``status`` is the HTTP status, ``codes`` the spec's error codes (``MANIFEST_UNKNOWN``…).
    """

    exit_code = 1

    def __init__(self, what: str, why: str, status: int = 0, codes: tuple[str, ...] = ()):
        self.status = status
        self.codes = codes
        super().__init__(what, why)


def decode_error(r) -> tuple[str, tuple[str, ...]]:
    """(one-line reason, error codes) of a registry error response."""
    codes: list[str] = []
    parts: list[str] = []
    try:
        body = r.json()
        for e in body.get("errors") or []:
            code = str(e.get("code", "UNKNOWN"))
            codes.append(code)
            msg = str(e.get("message", "")) or code.lower().replace("_", " ")
            parts.append(f"{code.lower().replace('_', ' ')}: {msg}")
    except (ValueError, AttributeError, TypeError):
        pass
    if parts:
        return "; ".join(parts), tuple(codes)
    return f"unexpected HTTP status: {r.status_code} {r.reason_phrase}", ()


def raise_for(r, what: str) -> None:
    """Raise the SkiffError for a failed response (call only when it failed; ``r`` has
    ``status_code``, ``reason_phrase`` and ``json()``)."""
    why, codes = decode_error(r)
    if r.status_code == 401 and not codes:
        # a 401 without an error body (HEAD): say why as Docker does, not "unexpected
        # HTTP status" — no credentials for a Basic challenge, else authentication needed
        headers = getattr(r, "headers", None) or {}
        req = getattr(r, "request", None)
        sent = req is not None and "authorization" in {k.lower() for k in req.headers}
        basic = str(headers.get("WWW-Authenticate", "")).lower().startswith("basic")
        why = ("no basic auth credentials" if basic and not sent
               else "unauthorized: authentication required")
    if r.status_code == 401 or "UNAUTHORIZED" in codes or "DENIED" in codes:
        raise Unauthorized(what, why)
    if r.status_code == 404 or {"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"} & set(codes):
        raise NotFound(what, why, exit_code=1)
    raise RegistryError(what, why, r.status_code, codes)


class Registry:
    """An HTTP session with one registry host (thread safe; close() or use as a context).

    Args:
        host: ``localhost:5000``, ``registry.example.com``; ``docker.io`` is reached at
            ``registry-1.docker.io``.
        config: for insecure registries and per-registry certificates.
        credentials: explicit credentials; default: looked up in Docker's config.json.
    """

    def __init__(self, host: str, config: Config | None = None,
                 credentials: Credentials | None = None, *, anonymous: bool = False):
        self.host = host
        endpoint = "registry-1.docker.io" if host == "docker.io" else host
        self._endpoint = endpoint
        # Docker's order: https first; for a registry listed as insecure with certificate
        # errors ignored (for that host only), then plain http. Loopback is plain http.
        if is_loopback(host):
            self.schemes: tuple[str, ...] = ("http",)
        elif is_listed_insecure(host, config):
            self.schemes = ("https", "http")
        else:
            self.schemes = ("https",)
        self._config = config
        # Other hosts (blob storage a redirect leads to) are always verified against the
        # system CAs; the registry's own context (its certs.d files) applies to it only.
        # Made on the first TLS connection (a loopback registry never needs one).
        self._verify: ssl.SSLContext | None = None
        self._others: dict[str, ssl.SSLContext] = {}
        self._ctx_lock = threading.Lock()
        self.pool = httpclient.Pool(timeout=TIMEOUT_S, ssl_for=self._ssl_for,
                                 user_agent=USER_AGENT)
        self._use(self.schemes[0])
        if credentials is None and not anonymous:
            credentials = CredentialStore().get(host)
        self.auth = Authenticator(host, self._plain, credentials)
        self._pinged = False
        self._ping_lock = threading.Lock()
        self.stats: dict[str, int] = {}

    def _use(self, scheme: str) -> None:
        self.scheme = scheme
        self.base = f"{scheme}://{self._endpoint}"

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.pool.close()

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (``/v2/...``) or a Location the registry gave."""
        if path.startswith(("http://", "https://")):
            return path
        if not path.startswith("/"):
            path = "/" + path
        return self.base + path

    def ping(self) -> None:
        """``GET /v2/`` (distribution-spec end-1); learns the auth challenge.

        Raises Unavailable (registry down, not a registry), Unauthorized (Basic auth refused).
        """
        with self._ping_lock:
            if self._pinged:
                return
            for i, scheme in enumerate(self.schemes):
                self._use(scheme)
                last = i == len(self.schemes) - 1
                try:
                    # the https attempt of an insecure registry is not retried: a plain
                    # http server answers the TLS handshake with an error at once
                    r = self._send_retrying("GET", "/v2/", (), {}, None, stream=False,
                                            what="ping", auth_retry=False, retry=last)
                    break
                except Unavailable:
                    if last:
                        raise
            r.close()
            if r.status_code == 401:
                self.auth.learn(r.headers.get("WWW-Authenticate", ""))
            elif r.status_code != 200:
                if r.status_code == 404:
                    raise Unavailable(f"registry {self.host}",
                                      "not a registry (GET /v2/ answered 404)", exit_code=1)
                raise_for(r, f"registry {self.host}")
            self._pinged = True

    def request(self, method: str, path: str, *, scopes: tuple[str, ...] = (),
                headers: dict[str, str] | None = None, content=None, stream: bool = False,
                follow_redirects: bool = False, what: str = "", retry: bool | None = None
                ) -> httpclient.Response:
        """Send a request with auth, retrying 401s (new token) and, for idempotent methods,
        connection errors and 5xx/429 with exponential backoff.

        ``content`` may be bytes or a zero-argument callable returning a fresh body (bytes
        or an iterable of bytes; give Content-Length) so retries can resend it. Redirects
        (to blob storage) are followed when asked, without the Authorization header when
        they lead to another host, as Go's client does. The response is returned whatever
        its status, its body read unless ``stream`` (then the caller reads ``read(n)`` and
        closes it; a broken body raises one of :data:`STREAM_ERRORS`). Raises Unavailable
        when the registry cannot be reached after the retries.
        """
        self.ping()
        if retry is None:
            retry = method in ("GET", "HEAD")
        return self._send_retrying(method, path, scopes, headers or {}, content, stream=stream,
                                   what=what or f"{method} {path}", retry=retry,
                                   follow_redirects=follow_redirects)

    def stream_get(self, path: str, *, scopes: tuple[str, ...] = (),
                   headers: dict[str, str] | None = None, what: str = ""
                   ) -> httpclient.Response:
        """``GET path`` for a blob body, redirects followed; see :meth:`request`."""
        return self.request("GET", path, scopes=scopes, headers=headers, stream=True,
                            follow_redirects=True, what=what)

    def _plain(self, method: str, url: str, headers: dict[str, str],
               body: bytes | None = None) -> httpclient.Response:
        """One request without the registry's auth (token requests); body read."""
        r = self.pool.request(method, url, headers, body)
        r.content  # noqa: B018 - read it whole, the connection goes back to the pool
        return r

    def _send_retrying(self, method, path, scopes, headers, content, *, stream, what,
                       retry=True, follow_redirects=False, auth_retry=True
                       ) -> httpclient.Response:
        attempt = auth_tries = redirects = 0
        url = self.url(path)
        while True:
            home = urlsplit(url).netloc == self._endpoint
            sent = {**headers, **self.auth.headers(scopes)} if home else dict(headers)
            body = content() if callable(content) else content
            if body is not None and not isinstance(body, bytes | bytearray) \
                    and not any(k.lower() == "content-length" for k in sent):
                body = b"".join(body)  # no length given: send it whole
            self.stats[method] = self.stats.get(method, 0) + 1
            try:
                r = self.pool.request(method, url, sent, body)
            except httpclient.BROKEN as e:
                if retry and attempt < _retries_for(e):
                    attempt += 1
                    _sleep(attempt)
                    continue
                raise Unavailable(f"registry {self.host}", _transport_reason(e),
                                  exit_code=1) from e
            if follow_redirects and r.status_code in (301, 302, 303, 307, 308) \
                    and r.headers.get("Location"):
                r.close()
                redirects += 1
                if redirects > 10:
                    raise Unavailable(f"registry {self.host}", "too many redirects",
                                      exit_code=1)
                url = urljoin(url, r.headers["Location"])
                if r.status_code == 303:
                    method, content = "GET", None
                continue
            if r.status_code == 401 and auth_retry and home and auth_tries < 2:
                wa = r.headers.get("WWW-Authenticate", "")
                if wa and self.auth.on_unauthorized(wa, scopes, sent):
                    r.close()
                    auth_tries += 1
                    continue
            if retry and r.status_code in RETRY_STATUS and attempt < RETRIES:
                delay = _retry_after(r)
                r.close()
                attempt += 1
                _sleep(attempt, delay)
                continue
            if not stream:
                try:
                    r.content  # noqa: B018 - read it whole now
                except httpclient.BROKEN as e:
                    r.close()
                    if retry and attempt < RETRIES:
                        attempt += 1
                        _sleep(attempt)
                        continue
                    raise Unavailable(f"registry {self.host}", _transport_reason(e),
                                      exit_code=1) from e
            return r

    def _ssl_for(self, netloc: str) -> ssl.SSLContext:
        """The TLS context for ``netloc``: the registry's own (its certs.d files; unchecked
        for an insecure registry), or for another host (blob storage a redirect led to)
        the system CAs plus that host's certs.d files, always verified."""
        with self._ctx_lock:
            if netloc == self._endpoint:
                if self._verify is None:
                    own = _ssl_context(self.host, self._config)
                    self._verify = _unverified(own) if len(self.schemes) == 2 else own
                return self._verify
            ctx = self._others.get(netloc)
            if ctx is None:
                ctx = self._others[netloc] = _ssl_context(netloc, self._config)
            return ctx


STREAM_ERRORS = httpclient.BROKEN
"""What reading a streamed body raises when the connection breaks."""


def _retries_for(e: Exception) -> int:
    """How many retries a transport error deserves: none for TLS failures (a bad
    certificate does not heal), two for a refused connection, RETRIES for broken ones."""
    if isinstance(e, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(e):
        return 0
    if isinstance(e, ConnectionRefusedError):
        return 2
    return RETRIES


def _retry_after(r) -> float | None:
    v = r.headers.get("Retry-After")
    try:
        return min(float(v), 10.0) if v else None
    except ValueError:
        return None


def _sleep(attempt: int, fixed: float | None = None) -> None:
    d = fixed if fixed is not None else BACKOFF_S * (2 ** (attempt - 1))
    time.sleep(d * (0.75 + random.random() / 2))


def _transport_reason(e: Exception) -> str:
    s = str(e)
    if isinstance(e, ConnectionRefusedError):
        return "cannot connect: connection refused"
    if isinstance(e, ConnectionError | OSError) and not isinstance(e, ssl.SSLError) \
            and getattr(e, "errno", None) is not None and not isinstance(e, TimeoutError):
        return f"cannot connect: {e.strerror or s}"
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e, http.client.HTTPException):
        return f"bad answer: {s or type(e).__name__}"
    return s or type(e).__name__
