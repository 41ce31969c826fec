"""HTTP/1.1 for the registry client over the standard library's ``http.client``.

Why not httpx: a layer's body went through h11 64 KiB at a time in Python (a bytearray
appended to and sliced for every read), most of a pull's CPU time; ``http.client`` reads
a ``Content-Length`` body straight from the socket's buffered reader into one ``bytes``
of the size asked for, the GIL released meanwhile (200 MB 3-layer pull from a local
docker-registry: 0.25 CPU-seconds instead of 0.67 for the download alone). And httpx with
httpcore, h11 and anyio took ~0.15 CPU-s to import, paid by every registry command.

:class:`Pool` keeps idle keep-alive connections per ``(scheme, host:port)`` (a connection
the server closed while idle is noticed before reuse) and goes through the HTTP(S) proxy
the environment names (``https_proxy``/``http_proxy``/``no_proxy``, as Docker and httpx
do: CONNECT tunnels for https). :class:`Response` is one answer: ``status_code``,
``reason_phrase``, ``headers`` (case-insensitive ``get``), ``read(n)`` (b"" at the end of
the body; a body the server cut short ends early, as ``http.client`` reports it, and the
caller resumes with ``Range``), ``read()``/``content``/``text``/``json()`` and ``close()``.
Network failures are raised as ``OSError`` or ``http.client.HTTPException`` (:data:`BROKEN`).
"""

from __future__ import annotations

import http.client
import json as _json
import os
import select
import ssl
import threading
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

BROKEN = (OSError, http.client.HTTPException)
"""What a broken connection raises on this path (timeouts and TLS errors are OSError)."""

MAX_IDLE = 8  # idle connections kept per (scheme, host)


class Response:
    """One response (see the module docstring); close it, or read it whole, when done."""

    def __init__(self, pool: Pool | None, key: tuple[str, str], conn, resp, method: str,
                 url: str):
        self._pool = pool
        self._key = key
        self._conn = conn
        self._resp = resp
        self._body: bytes | None = None
        self.method = method
        self.url = url
        self.status_code: int = resp.status
        self.reason_phrase: str = resp.reason
        self.headers = resp.msg  # email.message.Message: case-insensitive get()

    def read(self, n: int | None = None) -> bytes:
        """Up to ``n`` body bytes, b"" at the end; with no ``n`` the whole body (as
        :attr:`content`, and the connection goes back to the pool)."""
        if n is None:
            return self.content
        return self._resp.read(n)

    @property
    def content(self) -> bytes:
        """The whole body (read once; the connection then goes back to the pool)."""
        if self._body is None:
            self._body = self._resp.read()
            self.close()
        return self._body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        """The body parsed as JSON (ValueError when it is not)."""
        return _json.loads(self.content)

    def close(self) -> None:
        """Give the connection back for reuse when the body was read whole, else drop it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        resp = self._resp
        if not resp.isclosed() and resp.length is not None and resp.length <= 65536:
            try:  # a small unread body (an error, a HEAD's none): drain it, keep the socket
                resp.read()
            except BROKEN:
                pass
        # read whole: http.client closed it at the end of the body (a body the server cut
        # short keeps length > 0: that socket is dropped)
        if resp.isclosed() and not resp.will_close and not resp.length and self._pool:
            self._pool.release(self._key, conn)
        else:
            resp.close()
            conn.close()


class Pool:
    """Keep-alive ``http.client`` connections for one registry session (thread safe).

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
        self._idle: dict[tuple[str, str], list] = {}
        self._lock = threading.Lock()
        self._proxies: dict[str, str] = {}
        if any(k.lower().endswith("_proxy") and v for k, v in os.environ.items()):
            import urllib.request  # only then: its import costs every command ~10 ms

            self._proxies = urllib.request.getproxies()

    def request(self, method: str, url: str, headers: dict[str, str],
                body: bytes | Iterable[bytes] | None = None) -> Response:
        """Send ``method url``; the answer with its headers read (the body is not).

        ``body``: bytes, or an iterable of bytes sent as it comes (give Content-Length in
        ``headers``, else it goes chunked). A reused connection found dead while sending
        a replayable request (no body or bytes) is replaced once, silently. Raises what
        :data:`BROKEN` names.
        """
        u = urlsplit(url)
        key = (u.scheme, u.netloc)
        target = u.path or "/"
        if u.query:
            target += "?" + u.query
        sent = {"User-Agent": self._ua, "Accept-Encoding": "identity", **headers}
        replayable = body is None or isinstance(body, bytes | bytearray)
        for attempt in (0, 1):
            conn, reused, absolute = self._take(key)
            try:
                conn.request(method, url if absolute else target, body=body, headers=sent)
                resp = conn.getresponse()
            except BROKEN:
                conn.close()
                if reused and replayable and attempt == 0:
                    continue
                raise
            return Response(self, key, conn, resp, method, url)
        raise AssertionError("unreachable")

    def _proxy_for(self, scheme: str, host: str) -> str | None:
        if not self._proxies:
            return None
        import urllib.request

        if urllib.request.proxy_bypass(host):
            return None
        return self._proxies.get(scheme) or self._proxies.get("all")

    def _take(self, key: tuple[str, str]):
        """(connection, reused?, send an absolute URL?) for ``key``."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                conn = idle.pop() if idle else None
            if conn is None:
                break
            if _alive(conn):
                return conn, True, getattr(conn, "_skiff_absolute", False)
            conn.close()
        scheme, netloc = key
        u = urlsplit(f"{scheme}://{netloc}")
        proxy = self._proxy_for(scheme, u.hostname or "")
        absolute = False
        if proxy is not None:
            p = urlsplit(proxy if "://" in proxy else "http://" + proxy)
            if scheme == "https":
                conn = http.client.HTTPSConnection(p.hostname, p.port or 80,
                                                   timeout=self._timeout,
                                                   context=self._ssl_for(netloc))
                conn.set_tunnel(u.hostname, u.port or 443)
            else:
                conn = http.client.HTTPConnection(p.hostname, p.port or 80,
                                                  timeout=self._timeout)
                absolute = True
        elif scheme == "https":
            conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=self._timeout,
                                               context=self._ssl_for(netloc))
        else:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=self._timeout)
        conn._skiff_absolute = absolute
        return conn, False, absolute

    def release(self, key: tuple[str, str], conn) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < MAX_IDLE:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for c in conns:
            c.close()


def _alive(conn) -> bool:
    """False when the server closed an idle connection (it reads as ready: EOF)."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
