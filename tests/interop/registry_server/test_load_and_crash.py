"""The registry under load and under failure, on loopback against a real server process.

Load: 50 concurrent clients push (monolithic and chunked) and pull overlapping blobs and
push manifests for a bounded number of rounds; afterwards every blob verifies, every
manifest is there and no upload session or temp file is left. Failure: a body that stops
early, and ``kill -9`` of the server mid-upload: no partial blob is visible after a
restart, the client can retry, and stale sessions are removed after the timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.unit.registry_server.server_proc import RegistryProcess

CLIENTS = 50
ROUNDS = 1


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def _push(c: httpx.AsyncClient, repo: str, data: bytes, chunked: bool) -> None:
    d = sha256(data)
    if not chunked:
        r = await c.post(f"/v2/{repo}/blobs/uploads/", params={"digest": d}, content=data)
        assert r.status_code == 201, r.text
        return
    r = await c.post(f"/v2/{repo}/blobs/uploads/")
    assert r.status_code == 202
    loc = r.headers["location"]
    half = len(data) // 2
    r = await c.patch(loc, content=data[:half], headers={"Content-Range": f"0-{half - 1}"})
    assert r.status_code == 202, r.text
    r = await c.put(loc, params={"digest": d}, content=data[half:],
                    headers={"Content-Range": f"{half}-{len(data) - 1}"})
    assert r.status_code == 201, r.text


async def _client(n: int, url: str, pool: list[bytes], deadline: float, pushed: set) -> int:
    rnd = random.Random(n)
    ops = 0
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        for i in range(ROUNDS):
            if time.monotonic() > deadline:
                break
            repo = f"load/r{rnd.randrange(5)}"
            picks = rnd.sample(range(len(pool)), 3)
            for k in picks:
                await _push(c, repo, pool[k], chunked=(i + k) % 2 == 1)
                ops += 1
            cfg = json.dumps({"client": n, "round": i}).encode()
            await _push(c, repo, cfg, chunked=False)
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": sha256(cfg), "size": len(cfg)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                            "digest": sha256(pool[k]), "size": len(pool[k])} for k in picks],
            }).encode()
            tag = f"c{n}-{i}"
            r = await c.put(f"/v2/{repo}/manifests/{tag}", content=manifest,
                            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
            assert r.status_code == 201, r.text
            pushed.add((repo, tag, sha256(manifest)))
            for k in picks:
                r = await c.get(f"/v2/{repo}/blobs/{sha256(pool[k])}")
                assert r.status_code == 200 and sha256(r.content) == sha256(pool[k])
                ops += 1
    return ops


@pytest.fixture
def fast_root(tmp_path):
    """Storage on tmpfs when there is one: this test is about concurrency, not about the
    disk (fsync latency on a busy shared disk would dominate its time)."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        d = tempfile.mkdtemp(prefix="skiff-regload-", dir="/dev/shm")
        yield Path(d)
        shutil.rmtree(d, ignore_errors=True)
    else:
        yield tmp_path


@pytest.mark.slow
def test_fifty_concurrent_clients(fast_root):
    tmp_path = fast_root
    rnd = random.Random(7)
    pool = [rnd.randbytes(rnd.choice([1, 10, 100, 300]) * 1024) for _ in range(16)]
    pushed: set = set()
    with RegistryProcess(tmp_path / "reg") as reg:
        deadline = time.monotonic() + 60

        async def main():
            return await asyncio.gather(*(
                _client(n, reg.url, pool, deadline, pushed) for n in range(CLIENTS)))

        ops = asyncio.run(main())
        assert sum(ops) == CLIENTS * ROUNDS * 6  # 3 pushes and 3 verified pulls per round
        with httpx.Client(base_url=reg.url) as c:
            for repo, tag, digest in pushed:
                r = c.get(f"/v2/{repo}/manifests/{tag}")
                assert r.headers["docker-content-digest"] == digest
                for layer in r.json()["layers"]:
                    b = c.get(f"/v2/{repo}/blobs/{layer['digest']}")
                    assert sha256(b.content) == layer["digest"]
        # graceful shutdown on SIGTERM (uvicorn re-raises the signal once it has finished)
        assert reg.stop() in (0, -15)
    root = tmp_path / "reg"
    assert os.listdir(root / "uploads") == []
    stored = {p.name for p in (root / "blobs" / "sha256").iterdir()}
    assert not [n for n in stored if n.startswith(".tmp")]
    for name in stored:  # every stored blob is exactly its digest's content
        assert hashlib.sha256((root / "blobs" / "sha256" / name).read_bytes()).hexdigest() == name
    # each pool blob is stored once however many clients and repositories pushed it
    assert {sha256(b)[7:] for b in pool} <= stored


def _slow_body(data: bytes, sent: threading.Event, killed: threading.Event,
               chunk: int = 1 << 20):
    for i in range(0, len(data), chunk):
        yield data[i:i + chunk]
        if i >= 8 * chunk:
            sent.set()
            killed.wait(30)  # the server dies while we wait


def test_kill_9_mid_upload_leaves_no_partial_blob(tmp_path):
    data = os.urandom(24 << 20)
    d = sha256(data)
    reg = RegistryProcess(tmp_path / "reg").start()
    try:
        sent, killed = threading.Event(), threading.Event()
        errors: list[BaseException] = []

        def upload():
            try:
                httpx.post(f"{reg.url}/v2/crash/blobs/uploads/", params={"digest": d},
                           content=_slow_body(data, sent, killed), timeout=60)
            except BaseException as e:  # the connection dies with the server
                errors.append(e)

        t = threading.Thread(target=upload, daemon=True)
        t.start()
        assert sent.wait(30)
        time.sleep(0.5)  # let the server write what it received
        reg.kill()
        killed.set()
        t.join(timeout=40)
        assert errors
        root = tmp_path / "reg"
        assert not (root / "blobs" / "sha256" / d[7:]).exists()
        assert len(os.listdir(root / "uploads")) == 1  # the interrupted session, invisible
        reg.start()
        assert httpx.head(f"{reg.url}/v2/crash/blobs/{d}").status_code == 404
        # the client retries from scratch and succeeds
        r = httpx.post(f"{reg.url}/v2/crash/blobs/uploads/", params={"digest": d}, content=data,
                       timeout=60)
        assert r.status_code == 201
        assert sha256(httpx.get(f"{reg.url}/v2/crash/blobs/{d}").content) == d
    finally:
        reg.stop()
    # restarted with a zero timeout, the stale session is removed at start-up
    with RegistryProcess(tmp_path / "reg", "--upload-timeout", "0"):
        assert os.listdir(tmp_path / "reg" / "uploads") == []


def test_body_that_stops_early_stores_nothing_and_server_keeps_serving(tmp_path):
    with RegistryProcess(tmp_path / "reg") as reg:
        loc = httpx.post(f"{reg.url}/v2/early/blobs/uploads/").headers["location"]
        r = httpx.patch(reg.url + loc, content=b"a" * 100)
        assert r.headers["range"] == "0-99"
        with socket.create_connection(("127.0.0.1", reg.port)) as s:
            s.sendall(f"PATCH {loc} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                      "Content-Type: application/octet-stream\r\n\r\n".encode() + b"b" * 5000)
            time.sleep(0.3)
        time.sleep(0.3)
        r = httpx.get(reg.url + loc)
        assert (r.status_code, r.headers["range"]) == (204, "0-99")  # the cut chunk is gone
        d = sha256(b"a" * 100)
        assert httpx.put(reg.url + loc, params={"digest": d}).status_code == 201
        # a monolithic POST cut short: nothing stored
        full = os.urandom(50000)
        with socket.create_connection(("127.0.0.1", reg.port)) as s:
            s.sendall(f"POST /v2/early/blobs/uploads/?digest={sha256(full)} HTTP/1.1\r\n"
                      f"Host: x\r\nContent-Length: {len(full)}\r\n\r\n".encode() + full[:1000])
        time.sleep(0.3)
        assert httpx.head(f"{reg.url}/v2/early/blobs/{sha256(full)}").status_code == 404
        assert httpx.get(f"{reg.url}/v2/").status_code == 200
    assert os.listdir(tmp_path / "reg" / "uploads") == []


def _rss_peak_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.slow
def test_memory_stays_flat_for_a_large_blob(tmp_path):
    size_mb = 128
    block = os.urandom(1 << 20)
    h = hashlib.sha256()

    def body():
        for i in range(size_mb):
            chunk = block[i:] + block[:i]
            h.update(chunk)
            yield chunk

    with RegistryProcess(tmp_path / "reg") as reg:
        pid = reg.proc.pid
        before = _rss_peak_mb(pid)
        loc = httpx.post(f"{reg.url}/v2/big/blobs/uploads/").headers["location"]
        r = httpx.patch(reg.url + loc, content=body(), timeout=120)
        assert r.headers["range"] == f"0-{(size_mb << 20) - 1}"
        d = "sha256:" + h.hexdigest()
        assert httpx.put(reg.url + loc, params={"digest": d}, timeout=120).status_code == 201
        got = hashlib.sha256()
        with httpx.stream("GET", f"{reg.url}/v2/big/blobs/{d}", timeout=120) as resp:
            for chunk in resp.iter_bytes():
                got.update(chunk)
        assert "sha256:" + got.hexdigest() == d
        growth = _rss_peak_mb(pid) - before
        assert growth < 64, f"server peak RSS grew by {growth:.0f} MB for a {size_mb} MB blob"
