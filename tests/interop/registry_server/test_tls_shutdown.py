"""``--tls-cert/--tls-key`` serve HTTPS; SIGTERM lets an in-flight upload finish."""

from __future__ import annotations

import hashlib
import shutil
import ssl
import subprocess
import threading
import time

import httpx
import pytest

from tests.unit.registry_server.server_proc import RegistryProcess


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl to make a certificate")
def test_tls(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    with RegistryProcess(tmp_path / "reg", "--tls-cert", str(cert), "--tls-key", str(key),
                         scheme="https") as reg:
        r = httpx.get(f"{reg.url}/v2/", verify=ssl.create_default_context(cafile=str(cert)))
        assert (r.status_code, r.headers["docker-distribution-api-version"]) == (200, "registry/2.0")
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://{reg.host}/v2/", timeout=5)


def test_sigterm_lets_an_upload_in_flight_finish(tmp_path):
    data = b"z" * (8 << 20)
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    reg = RegistryProcess(tmp_path / "reg").start()
    started = threading.Event()
    result: list = []

    def body():
        for i in range(0, len(data), 1 << 20):
            yield data[i:i + (1 << 20)]
            if i == 0:
                started.set()
                time.sleep(1.0)  # SIGTERM arrives while the body is still coming

    def upload():
        result.append(httpx.post(f"{reg.url}/v2/g/blobs/uploads/", params={"digest": d},
                                 content=body(), timeout=60))

    t = threading.Thread(target=upload)
    t.start()
    assert started.wait(10)
    time.sleep(0.2)
    code = reg.stop()
    t.join(30)
    assert code in (0, -15)
    assert result and result[0].status_code == 201
    assert (tmp_path / "reg" / "blobs" / "sha256" / d[7:]).read_bytes() == data
