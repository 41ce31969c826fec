"""Network benchmark (issue 8): published-port throughput vs loopback (and Podman's bridge
beside it), start time on a bridge network vs ``--network none``, and what the bridge
adds to a ``skiff build`` RUN step.

1. Throughput: one TCP transfer of ``--mb`` MiB from a sender to a receiver on the host,
   the same Python programs on every path (sender: ``socket.sendall`` of 1 MiB buffers,
   run with ``nsenter --net`` in the container's namespace; receiver: ``recv_into`` on
   the host), rounds interleaved; min / median / max of ``--rounds``:
   - ``loopback``: sender on the host, receiver connects to 127.0.0.1 (the ceiling);
   - ``skiff -p (127.0.0.1)``: sender in a namespace attached to a skiff bridge network with
     its port published; the receiver connects to 127.0.0.1:HOST_PORT (DNAT + hairpin);
   - ``skiff -p (host IP)``: the same through the host's own non-loopback address;
   - ``podman -p (...)``: the same through a Podman container's published port on a
     bridge network of its own (netavark: iptables DNAT), where podman is installed; a
     private --root/--runroot/--network-config-dir and bridge name, removed after.
     dockerd is not measured: with --iptables=true it sets the host's FORWARD policy to
     DROP, which would cut off every other bridge on this shared machine.
   Target: within 10% of loopback (kernel forwarding, no proxy).
2. Start: ``skiff run --rm bb:1 /bin/true`` on the default bridge vs ``--network none``
   (median of ``--starts``, interleaved). Target: under 20 ms added.
3. Build: a RUN step's netns on the bridge (skiff.network.sandbox: create, attach,
   release) timed alone, and ``skiff build --no-cache`` of ``--steps`` RUN steps with
   ``--network default`` vs ``none`` (interleaved): the difference per step.

Needs root. Everything is made under private names and removed at the end.
Usage: python -m benchmarks.network_bench [--mb 512] [--rounds 5] [--starts 15] [--steps 10]
       [--only throughput|starts|build]
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


def _busybox_tar() -> Path:
    tar = Path(tempfile.mkdtemp(prefix="skiff-netbench-tar-")) / "busybox.tar"
    subprocess.run(["sh", str(BENCH / "make-busybox-tar.sh"), str(tar)], check=True,
                   stdout=subprocess.DEVNULL)
    return tar


class Podman:
    """A Podman container (busybox, ``sleep``) on a bridge network of its own with one
    published port, under a private root; :meth:`close` removes all of it."""

    def __init__(self, tar: Path, uid: str):
        self.dir = Path(tempfile.mkdtemp(prefix="skiff-netbench-podman-"))
        d = self.dir
        self.pm = ["podman", "--root", str(d / "root"), "--runroot", str(d / "run"),
                   "--network-config-dir", str(d / "net"), "--tmpdir", str(d / "tmp")]
        self._run("import", str(tar), "localhost/bb:1")
        self._run("network", "create", "--disable-dns", "--subnet",
                  f"10.95.{int(uid, 16) % 250}.0/24", "skbench")
        # a bridge name of our own (podman 4.3 has no --interface-name)
        cfg = d / "net" / "skbench.json"
        import json

        data = json.loads(cfg.read_text())
        data["network_interface"] = "skpod" + uid[:4]
        cfg.write_text(json.dumps(data))
        self.cid = self._run("run", "-d", "--ulimit", "nofile=20000:20000", "--ulimit",
                             "nproc=4096:4096", "--network",
                             "skbench", "-p", "5001", "localhost/bb:1", "sleep", "3600").strip()
        self.netns = self._run("inspect", "-f", "{{.NetworkSettings.SandboxKey}}",
                               self.cid).strip()
        line = self._run("port", self.cid, "5001/tcp").split()[0]
        self.port = int(line.rsplit(":", 1)[1])

    def _run(self, *args: str) -> str:
        return subprocess.run([*self.pm, *args], check=True, capture_output=True,
                              text=True).stdout

    def close(self) -> None:
        subprocess.run([*self.pm, "rm", "-f", "-t", "0", "-a"], capture_output=True)
        subprocess.run([*self.pm, "network", "rm", "-f", "skbench"], capture_output=True)
        subprocess.run([*self.pm, "system", "reset", "-f"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def throughput(mb: int, rounds: int, tar: Path) -> dict[str, list[float]]:
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
    podman = None
    try:
        path = net.create_sandbox(cid)
        net.attach(config, db, cid, path, [net.EndpointRequest("bridge")],
                   publish=[ports.PortSpec(5001)])
        hp = ports.bindings(db, cid)[0].host_port
        lo_port = ports._ephemeral("", "tcp")
        procs.append(_start_sender([], lo_port, mb))
        procs.append(_start_sender(["nsenter", f"--net={path}"], 5001, mb))
        hip = _host_ip()
        paths = {"loopback": ("127.0.0.1", lo_port), "skiff -p (127.0.0.1)": ("127.0.0.1", hp)}
        if hip:
            paths["skiff -p (host IP)"] = (hip, hp)
        if shutil.which("podman"):
            try:
                podman = Podman(tar, uid)
            except subprocess.CalledProcessError as e:
                print(f"podman: could not start its container ({e.stderr.strip()[-200:]})")
            else:
                procs.append(_start_sender(["nsenter", f"--net={podman.netns}"], 5001, mb))
                paths["podman -p (127.0.0.1)"] = ("127.0.0.1", podman.port)
                if hip:
                    paths["podman -p (host IP)"] = (hip, podman.port)
        samples: dict[str, list[float]] = {k: [] for k in paths}
        for _ in range(rounds):
            for k, (ip, port) in paths.items():
                samples[k].append(_receive(ip, port))
        return samples
    finally:
        for p in procs:
            p.kill()
            p.wait()
        if podman is not None:
            podman.close()
        net.detach(config, db, cid)
        net.remove_sandbox(cid)
        svc.reset()
        db.close()
        shutil.rmtree(work, ignore_errors=True)


def _store(tar: Path) -> tuple[Path, dict]:
    work = Path(tempfile.mkdtemp(prefix="skiff-netbench-run-"))
    env = {**os.environ, "SKIFF_ROOT": str(work / "root")}
    env.pop("SKIFF_BRIDGE", None)
    env.pop("SKIFF_BRIDGE_SUBNET", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "skiff")],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "skiff", "import", str(tar), "bb:1"], check=True,
                   env=env, stdout=subprocess.DEVNULL)
    return work, env


def _drop_store(work: Path, env: dict) -> None:
    from skiff import metadata
    from skiff.config import Config
    from skiff.network.service import NetworkService

    config = Config.from_env(root=env["SKIFF_ROOT"])
    db = metadata.connect(config.metadata_path)
    NetworkService(config, db).reset()
    db.close()
    shutil.rmtree(work, ignore_errors=True)


def _interleaved(n: int, cmds: dict[str, list[str]], env: dict,
                 cpu: dict[str, list[float]] | None = None) -> dict[str, list[float]]:
    """Wall seconds of each command x n (rounds interleaved, after a warm-up round);
    ``cpu``, when given, gets the CPU seconds (user + system) of each run's process tree
    as far as it is waited for (the command and runc's front end; not the detached
    monitor): a figure the load of a shared host disturbs less than the wall time."""
    import resource

    def used() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    times: dict[str, list[float]] = {k: [] for k in cmds}
    for k in cmds:
        if cpu is not None:
            cpu[k] = []
    for i in range(n + 1):
        for k, argv in cmds.items():
            c0, t0 = used(), time.perf_counter()
            subprocess.run([sys.executable, "-m", "skiff", *argv], check=True, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if i:  # the first round warms caches (and makes the bridge)
                times[k].append(time.perf_counter() - t0)
                if cpu is not None:
                    cpu[k].append(used() - c0)
    return times


def starts(n: int, tar: Path, cpu: dict[str, list[float]] | None = None
           ) -> dict[str, list[float]]:
    work, env = _store(tar)
    try:
        return _interleaved(n, {
            "--network none": ["run", "--rm", "--network", "none", "bb:1", "/bin/true"],
            "default bridge": ["run", "--rm", "bb:1", "/bin/true"]}, env, cpu)
    finally:
        _drop_store(work, env)


def build_steps(n: int, steps: int, tar: Path) -> tuple[list[float], dict[str, list[float]]]:
    """(seconds of one sandbox cycle x n, {network: build seconds x n})."""
    work, env = _store(tar)
    try:
        from skiff import metadata
        from skiff.config import Config
        from skiff.network import sandbox

        config = Config.from_env(root=env["SKIFF_ROOT"])
        db = metadata.connect(config.metadata_path)
        cycles = []
        try:
            for i in range(n + 1):
                t0 = time.perf_counter()
                with sandbox.bridged(config, db):
                    pass
                if i:
                    cycles.append(time.perf_counter() - t0)
        finally:
            db.close()
        ctx = work / "ctx"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text("FROM bb:1\n" + "".join(
            f"RUN echo {i}\n" for i in range(steps)))
        builds = _interleaved(n, {
            net: ["build", "-q", "--no-cache", "--network", net, str(ctx)]
            for net in ("none", "default")}, env)
        return cycles, builds
    finally:
        _drop_store(work, env)


def _spread(v: list[float], scale: float = 1.0) -> str:
    return (f"{min(v) * scale:8.1f} {statistics.median(v) * scale:8.1f} "
            f"{max(v) * scale:8.1f}")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="network_bench")
    ap.add_argument("--mb", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--starts", type=int, default=15)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--only", choices=("throughput", "starts", "build"),
                    help="run one of the three parts")
    a = ap.parse_args(argv)
    run = {a.only} if a.only else {"throughput", "starts", "build"}
    if os.geteuid() != 0:
        print("network_bench: needs root (skipped)")
        return 0
    sys.path.insert(0, str(REPO / "src"))
    if not shutil.which("podman"):
        print("podman: not installed, its bridge is not measured")
    tar = _busybox_tar()
    try:
        if "throughput" in run:
            _throughput_report(a, tar)
        if "starts" in run:
            _starts_report(a, tar)
        if "build" in run:
            _build_report(a, tar)
    finally:
        shutil.rmtree(tar.parent, ignore_errors=True)
    return 0


def _throughput_report(a, tar: Path) -> None:
    tp = throughput(a.mb, a.rounds, tar)
    med = statistics.median(tp["loopback"])
    print(f"TCP transfer of {a.mb} MiB x {a.rounds} rounds, MiB/s min / median / max "
          "(median ratio to loopback's median):")
    for k, v in tp.items():
        print(f"  {k:24s} {_spread(v)}   {statistics.median(v) / med:5.2f}")
    for who in ("127.0.0.1", "host IP"):
        sk, pm = tp.get(f"skiff -p ({who})"), tp.get(f"podman -p ({who})")
        if sk and pm:
            print(f"  skiff / podman ({who}): "
                  f"{statistics.median(sk) / statistics.median(pm):5.2f}")


def _starts_report(a, tar: Path) -> None:
    cpu: dict[str, list[float]] = {}
    st = starts(a.starts, tar, cpu)
    none, br = (statistics.median(st[k]) for k in ("--network none", "default bridge"))
    print(f"skiff run --rm bb:1 /bin/true x {a.starts}, ms min / median / max:")
    print(f"  --network none           {_spread(st['--network none'], 1000)}")
    print(f"  default bridge           {_spread(st['default bridge'], 1000)}"
          f"   (+{(br - none) * 1000:.1f} ms median)")
    cn, cb = (statistics.median(cpu[k]) for k in ("--network none", "default bridge"))
    print("  CPU of the waited-for process tree (user + system), ms min / median / max:")
    print(f"  --network none           {_spread(cpu['--network none'], 1000)}")
    print(f"  default bridge           {_spread(cpu['default bridge'], 1000)}"
          f"   (+{(cb - cn) * 1000:.1f} ms median)")


def _build_report(a, tar: Path) -> None:
    cycles, builds = build_steps(a.starts, a.steps, tar)
    print("build RUN step netns on the bridge (sandbox create + attach + release), "
          f"x {a.starts}, ms min / median / max:\n  sandbox cycle            "
          f"{_spread(cycles, 1000)}")
    print(f"skiff build --no-cache, {a.steps} RUN steps, x {a.starts}, "
          "ms min / median / max:")
    for k, v in builds.items():
        print(f"  --network {k:14s} {_spread(v, 1000)}")
    per = (statistics.median(builds["default"]) - statistics.median(builds["none"])) / a.steps
    print(f"  bridge adds {per * 1000:.1f} ms per RUN step (difference of medians)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
