"""Build benchmark: skiff vs BuildKit (``DOCKER_BUILDKIT=1 docker build``) vs ``podman build``.

Input: the context ../shared/bench/make-build-context.sh writes (2,000 small files, one
64 MB file, a 13-instruction Dockerfile on ``bb:1``) and the busybox rootfs of
make-busybox-tar.sh imported as ``bb:1`` by each tool. Three timings per tool, side by side
in one run: the first build (empty cache), a no-op rebuild, and a rebuild after a one-file
change. Peak RSS of the client process is reported for skiff (the whole builder runs in it).

Each tool gets a private state directory (skiff root, dockerd data-root and socket, podman
root); nothing global is touched. Tools that are not installed are skipped.

Usage: python benchmarks/build_bench.py [--only skiff,buildkit,podman] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCH = REPO.parent / "shared" / "bench"


def run_timed(cmd: list[str], *, env: dict | None = None, cwd: Path | None = None
              ) -> tuple[float, int, str]:
    """(wall seconds, peak RSS KiB of the child, combined output); raises on failure."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                         cwd=cwd)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    p.returncode = code
    text = out.decode(errors="replace")
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}):\n{text[-3000:]}")
    return dt, ru.ru_maxrss, text


def fresh_context(template: Path, dst: Path) -> Path:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(template, dst, symlinks=True)
    return dst


def change_one_file(ctx: Path) -> None:
    with open(ctx / "src" / "d7" / "f7.txt", "a") as f:
        f.write("one more line\n")


class Skiff:
    name = "skiff"

    def __init__(self, work: Path):
        self.root = work / "skiff-root"
        self.env = {**os.environ, "SKIFF_ROOT": str(self.root)}
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's install has .pyc files
        self.exe = [sys.executable, "-m", "skiff"]

    def available(self) -> bool:
        return True

    def setup(self, bb_tar: Path) -> None:
        subprocess.run([*self.exe, "import", str(bb_tar), "bb:1"], env=self.env, check=True,
                       capture_output=True)
        subprocess.run([*self.exe, "version"], env=self.env, check=True, capture_output=True)

    def build(self, ctx: Path) -> tuple[float, int, str]:
        return run_timed([*self.exe, "build", "--progress", "plain", "-t", "bench:1",
                          str(ctx)], env=self.env)

    def teardown(self) -> None:
        pass


def docker_client() -> str:
    """A docker CLI that builds with the daemon's BuildKit without the buildx plugin:
    Debian's docker.io client (/usr/bin/docker) when present (docker CLI 23+ insists on
    buildx for DOCKER_BUILDKIT=1)."""
    if os.path.exists("/usr/bin/docker"):
        return "/usr/bin/docker"
    return shutil.which("docker") or "docker"


class BuildKit:
    """The Docker daemon's BuildKit, on a private dockerd (data-root, socket, exec-root)."""

    name = "buildkit"

    def __init__(self, work: Path):
        self.work = work / "docker"
        self.sock = self.work / "docker.sock"
        self.env = {**os.environ, "DOCKER_HOST": f"unix://{self.sock}", "DOCKER_BUILDKIT": "1",
                    "DOCKER_CONFIG": str(self.work / "config")}
        self.proc: subprocess.Popen | None = None

    def available(self) -> bool:
        return bool(shutil.which("dockerd") and shutil.which("docker"))

    def setup(self, bb_tar: Path) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        log = open(self.work / "dockerd.log", "wb")
        self.proc = subprocess.Popen(
            ["dockerd", "--iptables=false", "--ip6tables=false", "--bridge=none",
             "--data-root", str(self.work / "data"), "--exec-root", str(self.work / "exec"),
             "--pidfile", str(self.work / "dockerd.pid"), "--host", f"unix://{self.sock}",
             "--storage-driver", "overlay2"],
            stdout=log, stderr=log)
        for _ in range(120):
            if subprocess.run([docker_client(), "info"], env=self.env, capture_output=True).returncode == 0:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError("dockerd did not start: see " + str(self.work / "dockerd.log"))
        subprocess.run([docker_client(), "import", str(bb_tar), "bb:1"], env=self.env, check=True,
                       capture_output=True)

    def build(self, ctx: Path) -> tuple[float, int, str]:
        return run_timed([docker_client(), "build", "--network", "host", "--progress", "plain",
                          "-t", "bench:1", str(ctx)], env=self.env)

    def teardown(self) -> None:
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Podman:
    name = "podman"

    def __init__(self, work: Path):
        self.work = work / "podman"
        self.base = ["podman", "--root", str(self.work / "root"), "--runroot",
                     str(self.work / "run"), "--storage-driver", "overlay",
                     "--cgroup-manager", "cgroupfs", "--events-backend", "none"]

    def available(self) -> bool:
        return bool(shutil.which("podman"))

    def setup(self, bb_tar: Path) -> None:
        subprocess.run([*self.base, "import", str(bb_tar), "bb:1"], check=True,
                       capture_output=True)

    def build(self, ctx: Path) -> tuple[float, int, str]:
        return run_timed([*self.base, "build", "--network", "host", "--layers",
                          "-t", "bench:1", str(ctx)])

    def teardown(self) -> None:
        subprocess.run([*self.base, "system", "reset", "-f"], capture_output=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="skiff,buildkit,podman")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--rounds", type=int, default=3, help="no-op rebuilds to take the best of")
    a = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="skiff-build-bench-"))
    template = work / "context"
    subprocess.run(["bash", str(BENCH / "make-build-context.sh"), str(template)], check=True)
    bb = work / "bb.tar"
    subprocess.run(["bash", str(BENCH / "make-busybox-tar.sh"), str(bb)], check=True)
    tools = {"skiff": Skiff, "buildkit": BuildKit, "podman": Podman}
    results: dict[str, dict[str, float]] = {}
    try:
        for name in a.only.split(","):
            tool = tools[name](work)
            if not tool.available():
                print(f"{name}: not installed, skipped", flush=True)
                continue
            ctx = fresh_context(template, work / f"ctx-{name}")
            try:
                tool.setup(bb)
                first, rss1, _ = tool.build(ctx)
                noops = [tool.build(ctx) for _ in range(a.rounds)]
                noop = min(n[0] for n in noops)
                change_one_file(ctx)
                one, rss3, out = tool.build(ctx)
                rss = max([rss1, rss3, *(n[1] for n in noops)])
                results[name] = {"first": first, "noop": noop, "one": one, "rss_mb": rss / 1024}
                print(f"{name}: first {first:.2f}s  no-op {noop:.3f}s  one-file {one:.2f}s  "
                      f"peak RSS {rss / 1024:.0f} MB", flush=True)
            except Exception as e:  # a broken peer should not hide the other numbers
                print(f"{name}: failed: {e}", flush=True)
            finally:
                tool.teardown()
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("work dir:", work)
    print()
    print(f"{'':10}{'first build':>14}{'no-op rebuild':>16}{'one-file change':>18}{'peak RSS':>11}")
    for name, r in results.items():
        print(f"{name:10}{r['first']:13.2f}s{r['noop']:15.3f}s{r['one']:17.2f}s"
              f"{r['rss_mb']:9.0f}MB")
    if "skiff" in results:
        s = results["skiff"]
        for peer in ("buildkit", "podman"):
            if peer in results:
                p = results[peer]
                print(f"skiff/{peer}: first {s['first'] / p['first']:.2f}x, "
                      f"no-op {s['noop'] / p['noop']:.2f}x, one-file {s['one'] / p['one']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
