"""HTTP/1.1 for the registry client: urllib3's connection pools behind a small API.

Transport (keep-alive pools, proxies, TLS handshakes) is not what skiff exists for, so it
is urllib3's (2.x): a :class:`urllib3.PoolManager` for direct connections and one
:func:`urllib3.proxy_from_url` manager per proxy the environment names
(``https_proxy``/``http_proxy``/``no_proxy``/``all_proxy``, as Docker and httpx read them:
a CONNECT tunnel for https, the absolute URL sent to the proxy for http). Each https pool
gets the ``ssl.SSLContext`` the caller chooses for that ``host:port`` (an insecure
registry's unchecked context applies to that host only). urllib3's retries and redirects
are off: :mod:`skiff.registry.client.transport` owns both (backoff, auth, Docker's rules).

Bodies are read through urllib3's ``preload_content=False`` response, which reads from
``http.client`` exactly as our own code did: ``read(n)`` is one ``http.client`` read of
``n`` bytes from the socket's buffered reader (the GIL released), no Python-level parsing.
Measured against bare ``http.client`` (a 200 MB body read 1 MiB at a time from a loopback
server, median of 7): 0.089 CPU-s through urllib3, 0.094 without, so the blob body GET
goes through urllib3 too. urllib3 is imported on the first request only, never by a
command that does not talk to a registry; its import (URL regexes, logging,
importlib.metadata) is its price: ~+26 ms CPU on a small pull.

:class:`Response` is one answer: ``status_code``, ``reason_phrase``, ``headers``
(case-insensitive ``get``; repeated fields joined with ", "), ``read(n)`` (b"" at the end
of the body), ``read()``/``content``/``text``/``json()`` and ``close()``. Failures are
raised as the standard library reported them underneath urllib3's wrappers (OSError,
``ssl.SSLError``, ``TimeoutError``, ``http.client.HTTPException`` such as
``IncompleteRead`` for a body the server cut short; the caller resumes with ``Range``):
see :data:`BROKEN`. A request with a replayable body (none, or bytes) whose connection is
found closed or reset by the server while sending is sent once more, silently (a
keep-alive connection the server dropped just then).
"""

from __future__ import annotations

import http.client
import json as _json
import os
import ssl
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

BROKEN = (OSError, http.client.HTTPException)
"""What a broken connection raises on this path (timeouts and TLS errors are OSError)."""

MAX_IDLE = 8  # idle connections kept per (scheme, host)
DRAIN = 65536  # an unread rest up to this size is read off so the connection is kept

_u3 = None  # the urllib3 module, imported by the first Pool.request


def _urllib3():
    global _u3
    if _u3 is None:
        import urllib3

        _u3 = urllib3
    return _u3


class Broken(OSError):
    """A transport failure urllib3 reported with no standard-library error beneath it."""


def _unwrap(e: BaseException) -> BaseException:
    """The standard-library error beneath urllib3's wrappers (MaxRetryError.reason,
    NewConnectionError's cause, ProtocolError/ProxyError/SSLError args), or :class:`Broken`
    with urllib3's message."""
    errors = _urllib3().exceptions.HTTPError
    seen: set[int] = set()
    cur = e
    while isinstance(cur, errors) and id(cur) not in seen:
        seen.add(id(cur))
        inner = [getattr(cur, "reason", None), cur.__cause__,
                 *(a for a in cur.args if isinstance(a, BaseException)), cur.__context__]
        nxt = next((x for x in inner if isinstance(x, BaseException)), None)
        if nxt is None:
            break
        cur = nxt
    if isinstance(cur, BROKEN):  # urllib3's IncompleteRead is http.client's too
        return cur
    return Broken(str(e) or type(e).__name__)


def _stale(e: BaseException) -> bool:
    """True for the marks of a keep-alive connection the server dropped as we sent."""
    return isinstance(e, http.client.RemoteDisconnected | ConnectionResetError
                      | BrokenPipeError | ConnectionAbortedError)


class Response:
    """One response (see the module docstring); close it, or read it whole, when done."""

    def __init__(self, resp, method: str, url: str):
        self._resp = resp  # urllib3.HTTPResponse, preload_content=False
        self._body: bytes | None = None
        self.method = method
        self.url = url
        self.status_code: int = resp.status
        self.reason_phrase: str = resp.reason or ""
        self.headers = resp.headers  # HTTPHeaderDict: case-insensitive get()

    def read(self, n: int | None = None) -> bytes:
        """Up to ``n`` body bytes, b"" at the end; with no ``n`` the whole body (as
        :attr:`content`, and the connection goes back to the pool). Raises what
        :data:`BROKEN` names."""
        if n is None:
            return self.content
        try:
            return self._resp.read(n, decode_content=False)
        except _urllib3().exceptions.HTTPError as e:
            raise _unwrap(e) from e

    @property
    def content(self) -> bytes:
        """The whole body (read once; the connection then goes back to the pool)."""
        if self._body is None:
            try:
                self._body = self._resp.read(decode_content=False)
            except _urllib3().exceptions.HTTPError as e:
                self.close()
                raise _unwrap(e) from e
            self.close()
        return self._body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        """The body parsed as JSON (ValueError when it is not)."""
        return _json.loads(self.content)

    def close(self) -> None:
        """Give the connection back for reuse when the body was read whole (or what is
        left is small: an error's, a HEAD's none, read off now), else drop it."""
        resp = self._resp
        if resp.connection is None:  # released already (body read to its end)
            return
        left = resp.length_remaining
        if left is not None and left <= DRAIN:
            resp.drain_conn()  # to the end: urllib3 puts the connection back
        if resp.connection is not None:
            resp.close()  # a body left unread or cut short: that socket is dropped
            resp.release_conn()  # the pool's slot back (it reconnects on next use)


class Pool:
    """Keep-alive connections for one registry session (thread safe).

    Args:
        timeout: socket timeout in seconds (connect and each read).
        ssl_for: ``host:port`` → the ``ssl.SSLContext`` to use for https there.
        user_agent: the ``User-Agent`` header sent.
    """

    def __init__(self, *, timeout: float, ssl_for: Callable[[str], ssl.SSLContext],
                 user_agent: str):
        self._timeout = timeout
        self._ssl_for = ssl_for
        self._ua = user_agent
        self._managers: dict[str | None, object] = {}
        self._proxies: dict[str, str] = {}
        if any(k.lower().endswith("_proxy") and v for k, v in os.environ.items()):
            import urllib.request  # only then: its import costs every command ~10 ms

            self._proxies = urllib.request.getproxies()

    def request(self, method: str, url: str, headers: dict[str, str],
                body: bytes | Iterable[bytes] | None = None) -> Response:
        """Send ``method url``; the answer with its headers read (the body is not).

        ``body``: bytes, or an iterable of bytes sent as it comes (give Content-Length in
        ``headers``, else it goes chunked). Raises what :data:`BROKEN` names.
        """
        u3 = _urllib3()
        u = urlsplit(url)
        scheme, host = u.scheme, u.hostname or ""
        proxy = self._proxy_for(scheme, host)
        manager = self._manager(proxy)
        absolute = proxy is not None and scheme == "http"  # no tunnel: the proxy gets the URL
        target = url if absolute else (u.path or "/") + ("?" + u.query if u.query else "")
        kw = {"ssl_context": self._ssl_for(u.netloc)} if scheme == "https" else None
        sent = {"User-Agent": self._ua, "Accept-Encoding": "identity", **headers}
        replayable = body is None or isinstance(body, bytes | bytearray)
        for attempt in (0, 1):
            try:
                pool = manager.connection_from_host(host, u.port, scheme, pool_kwargs=kw)
                resp = pool.urlopen(method, target, body=body, headers=sent, retries=False,
                                    redirect=False, assert_same_host=False,
                                    preload_content=False, decode_content=False,
                                    release_conn=False)
            except u3.exceptions.HTTPError as e:
                err = _unwrap(e)
                if attempt == 0 and replayable and _stale(err):
                    continue
                raise err from e
            return Response(resp, method, url)
        raise AssertionError("unreachable")

    def _manager(self, proxy: str | None):
        m = self._managers.get(proxy)
        if m is None:
            u3 = _urllib3()
            # An insecure registry's certificate goes unchecked because the user listed
            # it (Docker's insecure-registries, silent): urllib3 would warn on every
            # request. Set with each session's first request (test runners reset filters).
            u3.disable_warnings(u3.exceptions.InsecureRequestWarning)
            kw = {"num_pools": 16, "maxsize": MAX_IDLE, "block": False,
                  "timeout": self._timeout, "retries": False}
            if proxy is None:
                m = u3.PoolManager(**kw)
            else:
                m = u3.proxy_from_url(proxy if "://" in proxy else "http://" + proxy, **kw)
            m = self._managers.setdefault(proxy, m)
        return m

    def _proxy_for(self, scheme: str, host: str) -> str | None:
        if not self._proxies:
            return None
        import urllib.request

        if urllib.request.proxy_bypass(host):
            return None
        return self._proxies.get(scheme) or self._proxies.get("all")

    def close(self) -> None:
        """Close every idle connection."""
        for m in list(self._managers.values()):
            m.clear()
