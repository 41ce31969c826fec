"""QA (session 2): ``skiff import URL`` as ``docker import https://.../rootfs.tar``.

skiff took the URL for a file name ("open http://...: no such file or directory"). Docker's
daemon GETs it, the history comment is ``Imported from <URL>``, and an HTTP error reads
``failed to GET <URL> with status 404 Not Found: <body>`` (exit 1).
"""

from __future__ import annotations

import functools
import http.server
import threading

import pytest


@pytest.fixture
def served(busybox_tar, tmp_path):
    (tmp_path / "rootfs.tar").write_bytes(busybox_tar.read_bytes())

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send_error(self, code, message=None, explain=None):
            self.send_response(code, "Not Found")
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not\nthere")

    handler = functools.partial(Quiet, directory=str(tmp_path))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_import_from_url(cli, served, busybox_tar):
    url = f"{served}/rootfs.tar"
    r = cli("import", url, "fromurl:1")
    assert r.code == 0, r
    local = cli("import", str(busybox_tar), "fromfile:1")
    # same layer either way; the comment names the URL
    assert (cli("inspect", "-f", "{{.RootFS.Layers}}", "fromurl:1").out
            == cli("inspect", "-f", "{{.RootFS.Layers}}", "fromfile:1").out)
    assert local.code == 0
    h = cli("history", "--format", "{{.Comment}}", "fromurl:1")
    assert h.out == f"Imported from {url}\n"


def test_import_url_http_error(cli, served):
    url = f"{served}/missing.tar"
    r = cli("import", url, "x:1")
    assert (r.code, r.out) == (1, "")
    assert r.err == f"skiff: failed to GET {url} with status 404 Not Found: not there\n"
    assert cli("images", "-q").out == ""


def test_import_url_nobody_listening(cli, served):
    r = cli("import", "http://127.0.0.1:1/x.tar", "x:1")
    assert r.code == 1
    assert r.err.startswith('skiff: Get "http://127.0.0.1:1/x.tar": ') and r.err.count("\n") == 1
