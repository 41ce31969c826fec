"""Real peers for the registry-client tests: Debian's docker-registry (distribution) on a
free 127.0.0.1 port, an OCI layout made by umoci, and a recording / fault-injecting proxy."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RegistryProc:
    host: str                 # 127.0.0.1:PORT
    root: Path                # storage directory
    proc: subprocess.Popen
    log: Path
    user: str | None = None
    password: str | None = None

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_registry(workdir: Path, *, user: str | None = None,
                   password: str | None = None, tls: tuple[Path, Path] | None = None,
                   addr: str = "127.0.0.1",
                   token: tuple[str, str, str, Path] | None = None) -> RegistryProc:
    """Start ``docker-registry serve`` with a temp config; wait until /v2/ answers.
    ``tls``: (certificate, key) to serve https on ``addr``. ``token``: (realm, service,
    issuer, rootcertbundle) for distribution's ``auth: token:``."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    storage = workdir / "storage"
    storage.mkdir(exist_ok=True)
    auth = ""
    if user:
        htpasswd = workdir / "htpasswd"
        subprocess.run(["htpasswd", "-Bbc", str(htpasswd), user, password], check=True,
                       capture_output=True)
        auth = f"auth:\n  htpasswd:\n    realm: basic-realm\n    path: {htpasswd}\n"
    if token:
        realm, service, issuer, bundle = token
        auth = (f"auth:\n  token:\n    realm: {realm}\n    service: {service}\n"
                f"    issuer: {issuer}\n    rootcertbundle: {bundle}\n")
    cfg = workdir / "config.yml"
    cfg.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n  accesslog:\n    disabled: false\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: {addr}:{port}\n"
        + (f"  tls:\n    certificate: {tls[0]}\n    key: {tls[1]}\n" if tls else "")
        + auth)
    log = workdir / "registry.log"
    proc = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((addr, port), timeout=1):
                pass
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {log.read_text()}") from None
            time.sleep(0.05)
    return RegistryProc(f"{addr}:{port}", storage, proc, log, user, password)


def make_oci_layout(rootfs_tar: Path, layout: Path, tag: str, *, base: str | None = None,
                    extra: dict[str, bytes] | None = None) -> Path:
    """Add image ``tag`` to the OCI layout ``layout`` with umoci: from ``rootfs_tar`` as one
    layer, or (``base``) the image ``base`` plus one layer holding the ``extra`` files.
    Needs root for umoci unpack."""
    bundle = layout.parent / f"bundle-{tag}"
    if not (layout / "index.json").exists():
        subprocess.run(["umoci", "init", "--layout", str(layout)], check=True)
    if base is None:
        subprocess.run(["umoci", "new", "--image", f"{layout}:{tag}"], check=True)
    src = f"{layout}:{base or tag}"
    subprocess.run(["umoci", "unpack", "--image", src, str(bundle)], check=True,
                   capture_output=True)
    if base is None:
        subprocess.run(["tar", "-xf", str(rootfs_tar), "-C", str(bundle / "rootfs")],
                       check=True)
    for name, data in (extra or {}).items():
        (bundle / "rootfs" / name).write_bytes(data)
    subprocess.run(["umoci", "repack", "--image", f"{layout}:{tag}", str(bundle)], check=True)
    if base is None:
        subprocess.run(["umoci", "config", "--image", f"{layout}:{tag}", "--config.cmd", "sh"],
                       check=True)
    shutil.rmtree(bundle)
    return layout


def skopeo(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True,
                          text=True, check=check, timeout=300)


# -- the proxy -----------------------------------------------------------------------------

@dataclass
class Faults:
    """What the proxy does to blob downloads (``GET /v2/<repo>/blobs/<digest>``).

    ``cut_after``: send only this many body bytes of the next ``cut_times`` full (non-Range)
    blob GETs, then drop the connection. ``flip_at``: flip the byte at this body offset
    of every blob GET. ``only``: apply to this digest only (None: any blob).
    """

    cut_after: int | None = None
    cut_times: int = 1
    flip_at: int | None = None
    only: str | None = None
    cut_upload_after: int | None = None   # forward only this many bytes of the next
    cut_upload_times: int = 1             # blob upload body (PUT/PATCH), then drop it
    unavailable_times: int = 0            # answer the next N GETs/HEADs 503 (Retry-After: 0)
    redirect_blobs: bool = False          # blob GETs answer 307 to /_storage/... (as S3)
    delay_s: float = 0.0                  # hold blob GETs (of ``only``) this long first;
    delayed: threading.Event = field(default_factory=threading.Event)  # set when one came


@dataclass
class Recorder:
    requests: list[tuple[str, str, int, int]] = field(default_factory=list)
    # (method, path, status, request body bytes)
    ranges: list[str] = field(default_factory=list)  # Range headers of blob GETs
    auth: list[str] = field(default_factory=list)    # Authorization headers seen
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, method: str, contains: str = "") -> int:
        return sum(1 for m, p, _, _ in self.requests if m == method and contains in p)

    def body_bytes(self, method: str) -> int:
        return sum(n for m, _, _, n in self.requests if m == method)


class Proxy:
    """A recording, fault-injecting HTTP proxy in front of a registry (127.0.0.1)."""

    def __init__(self, upstream: str, *, bearer: bool = False, token_uses: int = 1000,
                 fresh_state: bool = False):
        self.upstream = upstream
        # fresh_state: emulate a registry whose upload URL names only the session (zot,
        # skiff's own): a request on an upload gets the session's latest _state, so a
        # client that lost an answer can still ask for the received range.
        self.fresh_state = fresh_state
        self.states: dict[str, str] = {}
        self.tokens: dict[str, int] | None = {} if bearer else None  # token -> uses left
        self.token_uses = token_uses
        self.token_requests: list[dict] = []
        self.rec = Recorder()
        self.faults = Faults()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def _do(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = _read_chunked(self.rfile)
                self._body = body
                f = proxy.faults
                if self.headers.get("Range"):
                    proxy.rec.ranges.append(self.headers["Range"])
                if f.unavailable_times > 0 and self.command in ("GET", "HEAD") \
                        and self.path != "/v2/":
                    f.unavailable_times -= 1
                    proxy.rec.requests.append((self.command, self.path, 503, 0))
                    msg = b'{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}'
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(msg)
                    return
                if (f.redirect_blobs and self.command == "GET"
                        and "/blobs/sha256:" in self.path
                        and not self.path.startswith("/_storage/")):
                    proxy.rec.requests.append((self.command, self.path, 307, 0))
                    self.send_response(307)
                    self.send_header("Location", f"http://{proxy.host}/_storage{self.path}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                storage = self.path.startswith("/_storage/")
                if storage:
                    proxy.rec.auth.append(self.headers.get("Authorization", ""))
                    self.path = self.path[len("/_storage"):]
                elif proxy.tokens is not None and not self._bearer_ok():
                    return
                host, port = proxy.upstream.split(":")
                c = http.client.HTTPConnection(host, int(port), timeout=60)
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() not in ("transfer-encoding", "content-length")}
                if proxy.tokens is not None:
                    hdrs.pop("Authorization", None)
                hdrs["Host"] = proxy.upstream
                method, path = self.command, self.path
                if proxy.fresh_state and "/blobs/uploads/" in path and "_state=" in path:
                    sess = path.split("?")[0]
                    if sess in proxy.states:
                        path = sess + "?" + "&".join(
                            q if not q.startswith("_state=") else proxy.states[sess]
                            for q in path.split("?", 1)[1].split("&"))
                cut_upload = (f.cut_upload_after is not None and f.cut_upload_times > 0
                              and "/blobs/uploads/" in path and method in ("PUT", "PATCH")
                              and len(body) > f.cut_upload_after)
                if cut_upload:
                    # The registry gets the first bytes (as a PATCH without digest); the
                    # client sees its connection die with no answer.
                    f.cut_upload_times -= 1
                    body = body[:f.cut_upload_after]
                    method = "PATCH"
                    path = path.split("?")[0] + "?" + "&".join(
                        q for q in path.split("?", 1)[1].split("&")
                        if not q.startswith("digest=")) if "?" in path else path
                    hdrs.pop("Content-Range", None)
                hdrs["Content-Length"] = str(len(body))
                c.request(method, path, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                c.close()
                with proxy.rec.lock:
                    proxy.rec.requests.append((method, path, r.status, len(body)))
                loc = r.getheader("Location") or ""
                if "/blobs/uploads/" in loc and "_state=" in loc:
                    from urllib.parse import urlsplit

                    u = urlsplit(loc)
                    proxy.states[u.path] = next(q for q in u.query.split("&")
                                                if q.startswith("_state="))
                if cut_upload:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                is_blob = (self.command == "GET" and "/blobs/sha256:" in self.path
                           and r.status in (200, 206))
                if is_blob and f.only and f.only not in self.path:
                    is_blob = False
                if is_blob and f.delay_s:
                    f.delayed.set()
                    time.sleep(f.delay_s)
                if is_blob and f.flip_at is not None and f.flip_at < len(data):
                    i = f.flip_at
                    data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
                cut = None
                if (is_blob and f.cut_after is not None and f.cut_times > 0
                        and r.status == 200):
                    f.cut_times -= 1
                    cut = f.cut_after
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() in ("transfer-encoding", "connection", "content-length"):
                        continue
                    if k.lower() == "location" and proxy.upstream in v:
                        v = v.replace(proxy.upstream, proxy.host)
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                if cut is not None:
                    self.wfile.write(data[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(data)

            def _bearer_ok(self) -> bool:
                """Token auth in front of the registry (distribution token spec)."""
                if self.path.startswith("/token"):
                    from urllib.parse import parse_qs, urlsplit

                    q = parse_qs(urlsplit(self.path).query)
                    if self.command == "POST":  # OAuth2 form (refresh_token grant)
                        q = parse_qs(self._body.decode())
                        q["scope"] = q.get("scope", [""])[0].split()
                    proxy.rec.requests.append((self.command, self.path, 200, 0))
                    proxy.token_requests.append({"scope": q.get("scope", []),
                                                 "service": q.get("service", [""])[0],
                                                 "auth": self.headers.get("Authorization"),
                                                 "grant_type": q.get("grant_type", [""])[0],
                                                 "refresh_token": q.get("refresh_token",
                                                                        [""])[0]})
                    tok = f"tok{len(proxy.token_requests)}"
                    proxy.tokens[tok] = proxy.token_uses
                    body = json.dumps({"token": tok, "expires_in": 300}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return False
                a = self.headers.get("Authorization", "")
                proxy.rec.auth.append(a)
                tok = a[len("Bearer "):] if a.startswith("Bearer ") else None
                if tok is not None and proxy.tokens.get(tok, 0) > 0:
                    proxy.tokens[tok] -= 1
                    return True
                body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
                self.send_response(401)
                self.send_header("WWW-Authenticate",
                                 f'Bearer realm="http://{proxy.host}/token",'
                                 f'service="test-registry"')
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                return False

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _do

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _read_chunked(rfile) -> bytes:
    out = bytearray()
    while True:
        size = int(rfile.readline().split(b";")[0].strip(), 16)
        if size == 0:
            rfile.readline()
            return bytes(out)
        out += rfile.read(size)
        rfile.readline()


def docker_config(tmp: Path, monkeypatch) -> Path:
    """Point DOCKER_CONFIG at an empty directory for the test."""
    d = tmp / "docker-config"
    d.mkdir(exist_ok=True)
    monkeypatch.setenv("DOCKER_CONFIG", str(d))
    return d




class ConnectProxy:
    """A forward proxy that answers only ``CONNECT host:port`` (what clients use for https
    through a proxy) and relays bytes both ways; ``tunnels`` lists the targets asked for."""

    def __init__(self):
        import socketserver

        proxy = self
        self.tunnels: list[str] = []

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                line = self.rfile.readline().decode("latin-1").split()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                if len(line) < 2 or line[0] != "CONNECT":
                    self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                    return
                proxy.tunnels.append(line[1])
                host, port = line[1].rsplit(":", 1)
                up = socket.create_connection((host.strip("[]"), int(port)), timeout=30)
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                down = self.connection

                def pump(a, b):
                    try:
                        while data := a.recv(65536):
                            b.sendall(data)
                    except OSError:
                        pass
                    finally:
                        for s in (a, b):
                            try:
                                s.shutdown(socket.SHUT_RDWR)
                            except OSError:
                                pass

                t = threading.Thread(target=pump, args=(up, down), daemon=True)
                t.start()
                pump(down, up)
                t.join(30)
                up.close()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
