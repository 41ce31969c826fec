"""Container start benchmark: ``skiff run --rm bb:1 /bin/true`` vs podman, docker, bare runc.

Side by side in one run, rounds interleaved (one of each tool per round) so a noisy machine
hits every tool alike; medians and ratios are printed. Targets (issue 4): skiff at most
half of podman's median and at most 3x bare ``runc run``. Then ``skiff ps -a`` with 1,000
containers recorded (target: under 150 ms).

Inputs: the busybox rootfs of ../shared/bench/make-busybox-tar.sh, imported as ``bb:1`` by
each tool. Every tool gets private state (skiff root, podman --root/--runroot and its own
containers.conf via CONTAINERS_CONF, a private dockerd with its own data-root and socket,
runc with its own --root); tools that are not installed are skipped. skiff's modules are
byte-compiled first (this machine sets PYTHONDONTWRITEBYTECODE; an installed skiff has
its .pyc files).

Usage: python -m benchmarks.run_bench [--rounds N] [--only skiff,runc,podman,docker]
       [--containers 1000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCH = REPO.parent / "shared" / "bench"


def skiff_argv() -> list[str]:
    """How a user runs skiff: the installed ``skiff`` console script next to this
    interpreter (as podman and docker are their installed binaries), else ``python -m
    skiff``."""
    exe = Path(sys.executable).with_name("skiff")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "skiff"]


def timed(cmd: list[str], env: dict | None = None) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=env)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.decode()[-2000:]}")
    return dt


# skiff run's --network (main's --network). Like for like: the peers run with
# ``--network none`` (dockerd has --bridge=none here; podman is given none), so skiff does
# too unless told otherwise (``--network default``: skiff's bridge, Docker's default).
NET_ARGS: list[str] = ["--network", "none"]


class Skiff:
    name = "skiff"

    def __init__(self, work: Path, tar: Path):
        self.root = work / "skiff-root"
        self.env = {**os.environ, "SKIFF_ROOT": str(self.root)}
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "skiff")],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([sys.executable, "-m", "skiff", "import", str(tar), "bb:1"], check=True,
                       env=self.env, stdout=subprocess.DEVNULL)
        self.cmd = [*skiff_argv(), "run", "--rm", *NET_ARGS, "bb:1", "/bin/true"]

    def once(self) -> float:
        return timed(self.cmd, self.env)

    def close(self) -> None:
        pass


class SkiffBaseline(Skiff):
    """Another checkout of skiff (``--baseline DIR``: its ``src`` first on PYTHONPATH, its
    own store root), timed in the same interleaved rounds: before/after figures."""

    name = "skiff-baseline"
    src: Path | None = None

    def __init__(self, work: Path, tar: Path):
        src = self.src
        self.root = work / "skiff-baseline-root"
        self.env = {**os.environ, "SKIFF_ROOT": str(self.root), "PYTHONPATH": str(src)}
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src / "skiff")],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([sys.executable, "-m", "skiff", "import", str(tar), "bb:1"], check=True,
                       env=self.env, stdout=subprocess.DEVNULL)
        self.cmd = [*self._console_script(work, src), "run", "--rm", *NET_ARGS, "bb:1",
                    "/bin/true"]

    @staticmethod
    def _console_script(work: Path, src: Path) -> list[str]:
        """The ``skiff`` script pip would install for that checkout (its pyproject's
        ``[project.scripts]`` target, which may differ from this checkout's)."""
        import tomllib

        try:
            scripts = tomllib.loads((src.parent / "pyproject.toml").read_text())["project"]["scripts"]
            module, func = scripts["skiff"].split(":")
        except (OSError, KeyError, ValueError):
            return skiff_argv()
        exe = work / "skiff-baseline-script"
        exe.write_text(f"#!{sys.executable}\nimport sys\nfrom {module} import {func}\n"
                       f"if __name__ == '__main__':\n    sys.exit({func}())\n")
        exe.chmod(0o755)
        return [str(exe)]


class Runc:
    name = "runc"

    def __init__(self, work: Path, tar: Path):
        self.bundle = work / "runc-bundle"
        (self.bundle / "rootfs").mkdir(parents=True)
        subprocess.run(["tar", "-C", str(self.bundle / "rootfs"), "-xf", str(tar)], check=True)
        subprocess.run(["runc", "spec"], cwd=self.bundle, check=True)
        cfg = json.loads((self.bundle / "config.json").read_text())
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = ["/bin/true"]
        (self.bundle / "config.json").write_text(json.dumps(cfg))
        self.state = work / "runc-state"
        self.n = 0

    def once(self) -> float:
        self.n += 1
        return timed(["runc", "--root", str(self.state), "run", "--bundle", str(self.bundle),
                      f"bench{self.n}"])

    def close(self) -> None:
        pass


class Podman:
    name = "podman"
    run_flags: tuple[str, ...] = ()  # extra `podman run` flags (userns_bench: --userns auto)

    def __init__(self, work: Path, tar: Path):
        conf = work / "containers.conf"
        conf.write_text('[containers]\ndefault_ulimits = ["nofile=1000:1000","nproc=1000:1000"]\n'
                        '[engine]\nruntime="runc"\n')
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        self.base = ["podman", "--root", str(work / "podman-root"), "--runroot",
                     str(work / "podman-run"), "--storage-driver", "overlay"]
        subprocess.run([*self.base, "import", str(tar), "bb:1"], check=True, env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.cmd = [*self.base, "run", "--rm", "--network", "none", *self.run_flags, "bb:1",
                    "/bin/true"]

    def once(self) -> float:
        return timed(self.cmd, self.env)

    def close(self) -> None:
        subprocess.run([*self.base, "system", "reset", "-f"], env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Docker:
    name = "docker"
    daemon_flags: tuple[str, ...] = ()  # extra dockerd flags (userns_bench: --userns-remap)

    def __init__(self, work: Path, tar: Path):
        d = work / "docker"
        d.mkdir()
        self.data = d / "data"
        self.sock = d / "docker.sock"
        self.proc = subprocess.Popen(
            ["dockerd", "--iptables=false", "--bridge=none", *self.daemon_flags,
             "--data-root", str(self.data), "--exec-root", str(d / "exec"),
             "-H", f"unix://{self.sock}", "--pidfile", str(d / "docker.pid")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = ["docker", "-H", f"unix://{self.sock}"]
        for _ in range(300):
            if subprocess.run([*self.base, "info"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0:
                break
            time.sleep(0.1)
        else:
            self.close()
            raise RuntimeError("dockerd did not come up")
        subprocess.run([*self.base, "import", str(tar), "bb:1"], check=True,
                       stdout=subprocess.DEVNULL)
        self.cmd = [*self.base, "run", "--rm", "--network", "none", "bb:1", "/bin/true"]

    def once(self) -> float:
        return timed(self.cmd)

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


TOOLS = {"skiff": (Skiff, None), "skiff-baseline": (SkiffBaseline, None), "runc": (Runc, "runc"), "podman": (Podman, "podman"),
         "docker": (Docker, "dockerd")}


def bench_ps(work: Path, n: int, rounds: int = 7) -> tuple[float, float]:
    """Median seconds of ``skiff ps -a`` (a fresh process) with ``n`` containers recorded,
    and of ``skiff version`` (the interpreter's and CLI's start-up alone) in the same rounds."""
    root = work / "ps-root"
    rootfs = work / "ps-rootfs"
    rootfs.mkdir()
    env = {**os.environ, "SKIFF_ROOT": str(root)}
    code = (
        "import sys\n"
        "from skiff.config import Config\nfrom skiff import metadata\n"
        "from skiff.runtime.containers import ContainerService\n"
        "from skiff.runtime.options import CreateOptions\n"
        f"c = Config.from_env({str(root)!r})\nc.root.mkdir(parents=True, exist_ok=True)\n"
        "db = metadata.connect(c.metadata_path)\nsvc = ContainerService(c, db)\n"
        f"for i in range({n}):\n"
        f"    svc.create(CreateOptions(rootfs={str(rootfs)!r}, cmd=('sh', '-c', f'echo {{i}}')))\n")
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    cmd = [*skiff_argv(), "ps", "-a"]
    out = subprocess.run(cmd, env=env, capture_output=True, check=True).stdout
    assert out.count(b"\n") == n + 1, "ps -a must list every container"
    base = [*skiff_argv(), "version"]
    ps, ver = [], []
    for _ in range(rounds):
        ps.append(timed(cmd, env))
        ver.append(timed(base, env))
    return statistics.median(ps), statistics.median(ver)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--only", default="skiff,runc,podman,docker")
    ap.add_argument("--containers", type=int, default=1000)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--baseline", type=Path, metavar="DIR",
                    help="also time the skiff checkout at DIR (e.g. `git archive` of an older "
                         "commit) in the same rounds, as skiff-baseline")
    ap.add_argument("--network", default="none",
                    help="skiff's --network for the run (default none, as the peers here; "
                         "'default' is skiff's bridge, Docker's default)")
    a = ap.parse_args(argv)
    NET_ARGS[:] = ["--network", a.network]
    if a.baseline:
        SkiffBaseline.src = a.baseline.resolve() / "src"
        if "skiff-baseline" not in a.only.split(","):
            a.only = a.only.replace("skiff", "skiff,skiff-baseline", 1)
    if os.geteuid() != 0:
        print("run_bench: needs root (runc, overlayfs)")
        return 0
    work = Path(tempfile.mkdtemp(prefix="skiff-run-bench-"))
    tar = work / "bb.tar"
    subprocess.run(["bash", str(BENCH / "make-busybox-tar.sh"), str(tar)], check=True)
    tools = []
    try:
        for name in a.only.split(","):
            cls, binary = TOOLS[name]
            if binary and not shutil.which(binary):
                print(f"{name}: not installed, skipped")
                continue
            try:
                tools.append(cls(work, tar))
            except (RuntimeError, subprocess.CalledProcessError) as e:
                print(f"{name}: setup failed, skipped ({e})")
        for t in tools:  # warm-up: caches, page cache, first-run setup
            t.once()
        times: dict[str, list[float]] = {t.name: [] for t in tools}
        for _ in range(a.rounds):
            for t in tools:
                times[t.name].append(t.once())
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"run --rm bb:1 /bin/true, median of {a.rounds} interleaved rounds "
              f"(networks: skiff {a.network}, podman none, docker none, runc none):")
        for k, v in med.items():
            print(f"  {k:<14} {v * 1000:8.1f} ms   (min {min(times[k]) * 1000:.1f} ms)")
        if "skiff" in med:
            for k in ("skiff-baseline", "runc", "podman", "docker"):
                if k in med:
                    print(f"  skiff / {k:<6} = {med['skiff'] / med[k]:.2f}x")
        if a.containers and "skiff" in [t.name for t in tools]:
            ps, ver = bench_ps(work, a.containers, rounds=a.rounds)
            print(f"skiff ps -a with {a.containers} containers: {ps * 1000:.1f} ms (target < 150 ms); "
                  f"skiff version in the same rounds: {ver * 1000:.1f} ms")
    finally:
        for t in tools:
            t.close()
        if not a.keep:
            for line in open("/proc/self/mountinfo").read().splitlines():
                mp = line.split()[4]
                if mp.startswith(str(work)):
                    subprocess.run(["umount", "-l", mp], check=False)
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
