"""Network benchmark (issue 8): published-port throughput vs loopback, and start time on a
bridge network vs ``--network none``.

1. Throughput: one TCP transfer of ``--mb`` MiB from a sender to a receiver on the host,
   the same Python programs on every path (sender: ``socket.sendall`` of 1 MiB buffers;
   receiver: ``recv_into``), rounds interleaved, best and median of ``--rounds``:
   - ``loopback``: sender on the host, receiver connects to 127.0.0.1 (the ceiling);
   - ``skiff -p (127.0.0.1)``: sender in a namespace attached to a skiff bridge network with
     its port published; the receiver connects to 127.0.0.1:HOST_PORT (DNAT + hairpin);
   - ``skiff -p (host IP)``: the same through the host's own non-loopback address;
   - docker / podman bridges are measured only where installed (they are not here).
   Target: within 10% of loopback (kernel forwarding, no proxy).
2. Start: ``skiff run --rm bb:1 /bin/true`` on the default bridge vs ``--network none``
   (median of ``--starts``, interleaved). Target: under 20 ms added.

Needs root. Everything is made under private names and removed at the end.
Usage: python -m benchmarks.network_bench [--mb 512] [--rounds 3] [--starts 15]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCH = REPO.parent / "shared" / "bench"

SENDER = """
import socket, sys
mb = int(sys.argv[2])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", int(sys.argv[1]))); srv.listen(1)
print("ready", flush=True)
while True:
    c, _ = srv.accept()
    buf = b"\\0" * (1 << 20)
    for _ in range(mb):
        c.sendall(buf)
    c.close()
"""

RECEIVER = """
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
buf = bytearray(1 << 20); n = 0; t0 = time.perf_counter()
while True:
    k = s.recv_into(buf)
    if not k: break
    n += k
print(n, time.perf_counter() - t0)
"""


def _start_sender(prefix: list[str], port: int, mb: int) -> subprocess.Popen:
    p = subprocess.Popen([*prefix, sys.executable, "-c", SENDER, str(port), str(mb)],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def _receive(ip: str, port: int) -> float:
    """MiB/s of one transfer."""
    out = subprocess.run([sys.executable, "-c", RECEIVER, ip, str(port)], capture_output=True,
                         text=True, check=True).stdout.split()
    return int(out[0]) / (1 << 20) / float(out[1])


def _host_ip() -> str | None:
    from skiff.network import bridge

    with bridge.iproute() as ipr:
        for a in ipr.get_addr(family=2):
            ip = a.get("IFA_ADDRESS")
            if not ip.startswith(("127.", "10.")):
                return ip
    return None


def throughput(mb: int, rounds: int) -> dict[str, list[float]]:
    from skiff import metadata
    from skiff.config import Config
    from skiff.network import attach as net
    from skiff.network import ports
    from skiff.network.service import NetworkService

    uid = secrets.token_hex(3)
    os.environ["SKIFF_BRIDGE"] = "skbench" + uid[:4]
    os.environ["SKIFF_BRIDGE_SUBNET"] = f"10.94.{int(uid, 16) % 250}.0/24"
    work = Path(tempfile.mkdtemp(prefix="skiff-netbench-"))
    config = Config.from_env(root=str(work / "root"))
    config.root.mkdir(parents=True)
    db = metadata.connect(config.metadata_path)
    svc = NetworkService(config, db)
    cid = secrets.token_hex(32)
    procs = []
    try:
        path = net.create_sandbox(cid)
        net.attach(config, db, cid, path, [net.EndpointRequest("bridge")],
                   publish=[ports.PortSpec(5001)])
        hp = ports.bindings(db, cid)[0].host_port
        lo_port = ports._ephemeral("", "tcp")
        procs.append(_start_sender([], lo_port, mb))
        procs.append(_start_sender(["nsenter", f"--net={path}"], 5001, mb))
        paths = {"loopback": ("127.0.0.1", lo_port), "skiff -p (127.0.0.1)": ("127.0.0.1", hp)}
        hip = _host_ip()
        if hip:
            paths["skiff -p (host IP)"] = (hip, hp)
        samples: dict[str, list[float]] = {k: [] for k in paths}
        for _ in range(rounds):
            for k, (ip, port) in paths.items():
                samples[k].append(_receive(ip, port))
        return samples
    finally:
        for p in procs:
            p.kill()
            p.wait()
        net.detach(config, db, cid)
        net.remove_sandbox(cid)
        svc.reset()
        db.close()
        shutil.rmtree(work, ignore_errors=True)


def starts(n: int) -> dict[str, float]:
    tar = Path(tempfile.mkdtemp(prefix="skiff-netbench-tar-")) / "busybox.tar"
    subprocess.run(["sh", str(BENCH / "make-busybox-tar.sh"), str(tar)], check=True,
                   stdout=subprocess.DEVNULL)
    work = Path(tempfile.mkdtemp(prefix="skiff-netbench-run-"))
    env = {**os.environ, "SKIFF_ROOT": str(work / "root")}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "skiff")],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "skiff", "import", str(tar), "bb:1"], check=True,
                   env=env, stdout=subprocess.DEVNULL)
    cmds = {"--network none": ["--network", "none"], "default bridge": []}
    times: dict[str, list[float]] = {k: [] for k in cmds}
    try:
        for i in range(n + 1):
            for k, extra in cmds.items():
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "skiff", "run", "--rm", *extra, "bb:1",
                                "/bin/true"], check=True, env=env, stdout=subprocess.DEVNULL)
                if i:  # the first round warms caches (and makes the bridge)
                    times[k].append(time.perf_counter() - t0)
        return {k: statistics.median(v) for k, v in times.items()}
    finally:
        from skiff import metadata
        from skiff.config import Config
        from skiff.network.service import NetworkService

        config = Config.from_env(root=env["SKIFF_ROOT"])
        db = metadata.connect(config.metadata_path)
        NetworkService(config, db).reset()
        db.close()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(tar.parent, ignore_errors=True)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="network_bench")
    ap.add_argument("--mb", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--starts", type=int, default=15)
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("network_bench: needs root (skipped)")
        return 0
    sys.path.insert(0, str(REPO / "src"))
    for tool in ("docker", "podman"):
        if not shutil.which(tool):
            print(f"{tool}: not installed, its bridge is not measured")
    tp = throughput(a.mb, a.rounds)
    base = max(tp["loopback"])
    med = statistics.median(tp["loopback"])
    print(f"TCP transfer of {a.mb} MiB x {a.rounds} rounds (MiB/s best / median; "
          "ratio to loopback's best / median):")
    for k, v in tp.items():
        print(f"  {k:24s} {max(v):8.0f} {statistics.median(v):8.0f}   "
              f"{max(v) / base:5.2f} {statistics.median(v) / med:5.2f}")
    st = starts(a.starts)
    none, br = st["--network none"], st["default bridge"]
    print(f"skiff run --rm bb:1 /bin/true, median of {a.starts}:")
    print(f"  --network none           {none * 1000:8.1f} ms")
    print(f"  default bridge           {br * 1000:8.1f} ms  (+{(br - none) * 1000:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
