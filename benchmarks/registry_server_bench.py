"""Benchmark: ``skiff registry serve`` side by side with Debian's ``docker-registry``.

Both servers run on loopback on this machine in one run, each with its own temp storage:

1. one big blob (1 GiB by default): push (POST, then a streamed PUT by curl) and pull
   (curl GET to /dev/null); MB/s of each and the server's peak RSS (VmHWM) before/after,
   to show memory stays flat;
2. a many-layer image (100 layers of 64 KiB-1 MiB by default): push the blobs (HEAD, then
   POST+PUT, 4 at a time like docker's default concurrency) and the manifest, then pull the
   manifest and every blob, timed.

Prints a table and the ratios skiff/docker-registry (throughput: higher is better).
Usage: ``python -m benchmarks.registry_server_bench [--size-mb 1024] [--layers 100]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, cmd: list[str], port: int, log: Path):
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                httpx.get(self.url + "/v2/", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise SystemExit(f"{name} did not start; see {log}")

    def rss_peak_mb(self) -> float:
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def rss_mb(self) -> float:
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_docker_registry(work: Path) -> Server:
    port = free_port()
    cfg = work / "docker-registry.yml"
    cfg.write_text(f"""version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {work / 'docker-registry-data'}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
""")
    return Server("docker-registry", ["docker-registry", "serve", str(cfg)], port,
                  work / "docker-registry.log")


def start_skiff(work: Path) -> Server:
    port = free_port()
    return Server("skiff", [sys.executable, "-m", "skiff", "registry", "serve", "--addr",
                            f"127.0.0.1:{port}", "--root", str(work / "skiff-data"),
                            "--log-level", "warning"], port, work / "skiff.log")


def make_big_file(path: Path, size_mb: int) -> str:
    h = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i in range(size_mb):
            chunk = block[i % 997:] + block[: i % 997]  # distinct-ish blocks, cheap to make
            f.write(chunk)
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def big_blob(server: Server, path: Path, digest: str) -> dict:
    size = path.stat().st_size
    rss0 = server.rss_mb()
    loc = httpx.post(f"{server.url}/v2/bench/big/blobs/uploads/").headers["location"]
    if loc.startswith("/"):
        loc = server.url + loc
    sep = "&" if "?" in loc else "?"
    t = time.perf_counter()
    subprocess.run(["curl", "-sf", "-X", "PUT", "-H", "Content-Type: application/octet-stream",
                    "-T", str(path), "-o", "/dev/null", f"{loc}{sep}digest={digest}"], check=True)
    push_s = time.perf_counter() - t
    push_peak = server.rss_peak_mb()
    t = time.perf_counter()
    out = subprocess.run(["curl", "-sf", "-o", "/dev/null", "-w", "%{size_download}",
                          f"{server.url}/v2/bench/big/blobs/{digest}"],
                         check=True, capture_output=True, text=True).stdout
    pull_s = time.perf_counter() - t
    assert int(float(out)) == size, out
    return {"push_MBps": size / push_s / 1e6, "pull_MBps": size / pull_s / 1e6,
            "rss_start_MB": rss0, "rss_peak_after_push_MB": push_peak,
            "rss_peak_after_pull_MB": server.rss_peak_mb()}


def many_layers(server: Server, layers: list[bytes], repo: str, workers: int = 4) -> dict:
    digests = ["sha256:" + hashlib.sha256(b).hexdigest() for b in layers]

    def put_blob(c: httpx.Client, d: str, data: bytes) -> None:
        if c.head(f"/v2/{repo}/blobs/{d}").status_code == 200:
            return
        loc = c.post(f"/v2/{repo}/blobs/uploads/").headers["location"]
        sep = "&" if "?" in loc else "?"  # docker-registry's location carries _state
        r = c.put(f"{loc}{sep}digest={d}", content=data,
                  headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 201, r.text

    def push(i: int, c: httpx.Client) -> None:
        put_blob(c, digests[i], layers[i])

    def pull(i: int, c: httpx.Client) -> None:
        r = c.get(f"/v2/{repo}/blobs/{digests[i]}")
        assert r.status_code == 200 and len(r.content) == len(layers[i])

    clients = [httpx.Client(base_url=server.url, timeout=120) for _ in range(workers)]
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": digests}}).encode()
    cfg_d = "sha256:" + hashlib.sha256(cfg).hexdigest()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_d,
                   "size": len(cfg)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d,
                    "size": len(b)} for d, b in zip(digests, layers, strict=True)]}).encode()
    total = sum(map(len, layers))
    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(lambda i: push(i, clients[i % workers]), range(len(layers))))
    c = clients[0]
    put_blob(c, cfg_d, cfg)
    r = c.put(f"/v2/{repo}/manifests/v1", content=manifest,
              headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 201, r.text
    push_s = time.perf_counter() - t
    t = time.perf_counter()
    m = c.get(f"/v2/{repo}/manifests/v1", headers={
        "Accept": "application/vnd.oci.image.manifest.v1+json"}).json()
    assert len(m["layers"]) == len(layers)
    c.get(f"/v2/{repo}/blobs/{cfg_d}")
    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(lambda i: pull(i, clients[i % workers]), range(len(layers))))
    pull_s = time.perf_counter() - t
    for cl in clients:
        cl.close()
    return {"push_s": push_s, "pull_s": pull_s, "push_MBps": total / push_s / 1e6,
            "pull_MBps": total / pull_s / 1e6}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size-mb", type=int, default=1024, help="big blob size in MiB")
    p.add_argument("--layers", type=int, default=100, help="layers in the many-layer image")
    p.add_argument("--rounds", type=int, default=3, help="trials per server (best is kept)")
    p.add_argument("--workdir", help="where to keep data (default: a temp dir, removed)")
    a = p.parse_args(argv)
    for tool in ("docker-registry", "curl"):
        if not shutil.which(tool):
            raise SystemExit(f"needs {tool} (apt-get install {tool})")
    work = Path(a.workdir or tempfile.mkdtemp(prefix="skiff-regbench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        big = work / "big.bin"
        print(f"making a {a.size_mb} MiB blob ...", flush=True)
        digest = make_big_file(big, a.size_mb)
        rnd = random.Random(1)
        layers = [rnd.randbytes(rnd.randrange(64 << 10, 1 << 20)) for _ in range(a.layers)]
        results: dict[str, dict] = {}
        servers = [start_docker_registry(work), start_skiff(work)]
        try:
            # Trials alternate between the servers so that machine noise hits both alike;
            # each figure is the best of --rounds.
            for n in range(a.rounds):
                for server in servers:
                    r = big_blob(server, big, digest)
                    many = many_layers(server, layers, f"bench/many{n}")  # a fresh repository
                    r.update({f"layers_{k}": v for k, v in many.items()})
                    best = results.setdefault(server.name, r)
                    for k, v in r.items():
                        if k.startswith("rss"):
                            best[k] = max(best[k], v)
                        elif k.endswith("_s"):
                            best[k] = min(best[k], v)
                        else:
                            best[k] = max(best[k], v)
        finally:
            for server in servers:
                server.stop()
        d, s = results["docker-registry"], results["skiff"]
        print(f"\n{'metric':<28}{'docker-registry':>16}{'skiff':>12}{'ratio':>8}")
        for k in d:
            ratio = s[k] / d[k] if d[k] else float("nan")
            if k.endswith("_s"):
                ratio = d[k] / s[k]  # time: invert so that > 1 means skiff is faster
            print(f"{k:<28}{d[k]:>16.1f}{s[k]:>12.1f}{ratio:>8.2f}")
        print(f"\n(best of {a.rounds} alternating trials; ratio = skiff relative to "
              "docker-registry, > 1 is better for skiff; rss in MB: skiff's should not grow "
              "with the blob size)")
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
