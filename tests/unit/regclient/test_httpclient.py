"""skiff.registry.client.httpclient against a real HTTP/1.1 server on loopback: keep-alive
reuse, what close() keeps or drops, a body cut short, a keep-alive connection the server
drops (replayed once), and the standard-library errors seen through urllib3's wrappers."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from skiff.registry.client import httpclient
from skiff.registry.client.transport import _transport_reason

BIG = 4 << 20


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.served = 0
        self.server.conns.append(self.client_address)

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.paths.append(self.path)
        self.served += 1
        if self.path == "/flaky" and self.served > 1:
            self.close_connection = True  # a kept connection dropped, no answer
            return
        body = {"/big": b"x" * BIG, "/cut": b"y" * 1000}.get(self.path, b"hello")
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Content-Digest", "sha256:abc")
        self.end_headers()
        if self.path == "/cut":
            self.wfile.write(body[:500])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.conns, srv.paths = [], []
    t = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    t.start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _pool() -> httpclient.Pool:
    return httpclient.Pool(timeout=10, user_agent="skiff-test",
                           ssl_for=lambda netloc: ssl.create_default_context())


def test_answers_and_keep_alive_reuse(server):
    srv, base = server
    pool = _pool()
    try:
        r = pool.request("GET", base + "/small", {})
        assert (r.status_code, r.reason_phrase) == (200, "OK")
        assert r.headers.get("docker-content-digest") == "sha256:abc"
        assert r.content == b"hello" and r.text == "hello"
        r = pool.request("GET", base + "/big", {})
        got = b"".join(iter(lambda: r.read(1 << 20), b""))
        assert len(got) == BIG and r.read(10) == b""
        r.close()
        pool.request("GET", base + "/small", {}).close()  # unread small body: read off
        assert pool.request("GET", base + "/small", {}).content == b"hello"
    finally:
        pool.close()
    assert len(srv.conns) == 1 and srv.paths == ["/small", "/big", "/small", "/small"]


def test_big_unread_body_drops_the_connection(server):
    srv, base = server
    pool = _pool()
    try:
        r = pool.request("GET", base + "/big", {})
        assert len(r.read(1000)) == 1000
        r.close()  # 4 MiB left: not read off, that socket is closed
        assert pool.request("GET", base + "/small", {}).content == b"hello"
    finally:
        pool.close()
    assert len(srv.conns) == 2


def test_body_cut_short_raises_incomplete_read(server):
    _, base = server
    pool = _pool()
    try:
        r = pool.request("GET", base + "/cut", {})
        got = b""
        with pytest.raises(http.client.IncompleteRead) as ei:
            while True:
                data = r.read(300)
                if not data:
                    break
                got += data
        assert isinstance(ei.value, httpclient.BROKEN)
        assert got == b"y" * 500
        r.close()
        with pytest.raises(http.client.IncompleteRead):
            pool.request("GET", base + "/cut", {}).content  # noqa: B018
    finally:
        pool.close()


def test_kept_connection_dropped_by_the_server_is_replayed_once(server):
    srv, base = server
    pool = _pool()
    try:
        assert pool.request("GET", base + "/flaky", {}).content == b"hello"
        assert pool.request("GET", base + "/flaky", {}).content == b"hello"
    finally:
        pool.close()
    assert srv.paths == ["/flaky"] * 3 and len(srv.conns) == 2


def test_refused_connection_is_the_stdlib_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there now
    pool = _pool()
    with pytest.raises(ConnectionRefusedError) as ei:
        pool.request("GET", f"http://127.0.0.1:{port}/v2/", {})
    assert _transport_reason(ei.value) == "cannot connect: connection refused"


def test_unknown_name_is_the_resolver_error():
    pool = _pool()
    with pytest.raises(socket.gaierror) as ei:
        pool.request("GET", "http://registry.invalid:5000/v2/", {})
    assert _transport_reason(ei.value).startswith("cannot connect: ")
