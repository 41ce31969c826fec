"""User-namespaced containers: start time and disk, skiff vs podman and docker, one run.

Timed, interleaved rounds (one of each per round), medians printed with ratios:

- ``skiff run --rm --network none bb:1 /bin/true`` without a user namespace, with the
  store's ``userns-remap=default`` and with ``--userns auto``;
- ``podman run --rm --network none --userns auto bb:1 /bin/true`` (private root);
- ``docker run --rm --network none bb:1 /bin/true`` on a private dockerd started with
  ``--userns-remap default``.

Disk: what a second mapping costs. skiff reads the one unpacked copy of each layer
through idmapped mounts, so the store's snapshots grow by the containers' (empty) upper
directories only; dockerd's remap keeps a chowned copy of every layer under
``<data-root>/<uid>.<gid>/``; both are measured after the image is imported and two
containers created.

Usage: python -m benchmarks.userns_bench [--rounds N] [--only skiff,podman,docker] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import run_bench
from benchmarks.run_bench import BENCH, REPO, timed


def du(path: Path) -> int:
    """Bytes allocated under ``path`` (inodes once), as ``du -sB1 -x``."""
    r = subprocess.run(["du", "-sxB1", str(path)], capture_output=True, text=True)
    return int(r.stdout.split()[0]) if r.stdout else 0


class Skiff:
    def __init__(self, work: Path, tar: Path, name: str, remap: str, flags: list[str]):
        self.name = name
        base = work / f"{name}-base"
        base.mkdir()
        os.chmod(base, 0o711)  # the remapped root must reach its bundle (o+x)
        self.root = base / "root"
        self.env = {**os.environ, "SKIFF_ROOT": str(self.root), "SKIFF_USERNS_REMAP": remap}
        subprocess.run([sys.executable, "-m", "skiff", "import", str(tar), "bb:1"], check=True,
                       env=self.env, stdout=subprocess.DEVNULL)
        self.skiff = [sys.executable, "-m", "skiff"]
        self.flags = flags
        self.cmd = [*self.skiff, "run", "--rm", "--network", "none", *flags, "bb:1", "/bin/true"]

    def once(self) -> float:
        return timed(self.cmd, self.env)

    def disk(self) -> tuple[int, int]:
        """(snapshots bytes before, after creating two containers)."""
        before = du(self.root / "snapshots")
        for _ in range(2):
            subprocess.run([*self.skiff, "run", "-d", "--network", "none", *self.flags,
                            "bb:1", "sleep", "30"], check=True, env=self.env,
                           stdout=subprocess.DEVNULL)
        after = du(self.root / "snapshots")
        ids = subprocess.run([*self.skiff, "ps", "-aq"], env=self.env, capture_output=True,
                             text=True).stdout.split()
        subprocess.run([*self.skiff, "rm", "-f", *ids], env=self.env, stdout=subprocess.DEVNULL)
        return before, after

    def close(self) -> None:
        pass


class Podman(run_bench.Podman):
    name = "podman-auto"
    run_flags = ("--userns", "auto")


class Docker(run_bench.Docker):
    name = "docker-remap"
    daemon_flags = ("--userns-remap", "default")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--only", default="skiff,podman,docker")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("userns_bench: needs root")
        return 0
    from skiff.snapshots.idmap import supported

    if not supported():
        print("userns_bench: kernel without idmapped mounts")
        return 0
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "skiff")],
                   check=True, stdout=subprocess.DEVNULL)
    work = Path(tempfile.mkdtemp(prefix="skiff-userns-bench-", dir="/tmp"))
    os.chmod(work, 0o711)
    tar = work / "bb.tar"
    subprocess.run(["bash", str(BENCH / "make-busybox-tar.sh"), str(tar)], check=True)
    only = a.only.split(",")
    tools: list = []
    try:
        if "skiff" in only:
            tools += [Skiff(work, tar, "skiff", "", []),
                      Skiff(work, tar, "skiff-remap", "default", []),
                      Skiff(work, tar, "skiff-auto", "", ["--userns", "auto"])]
        for name, cls, binary in (("podman", Podman, "podman"), ("docker", Docker, "dockerd")):
            if name not in only:
                continue
            if not shutil.which(binary):
                print(f"{name}: not installed, skipped")
                continue
            try:
                tools.append(cls(work, tar))
            except (RuntimeError, subprocess.CalledProcessError) as e:
                print(f"{name}: setup failed, skipped ({e})")
        for t in tools:
            t.once()
        times: dict[str, list[float]] = {t.name: [] for t in tools}
        for _ in range(a.rounds):
            for t in tools:
                times[t.name].append(t.once())
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"run --rm --network none bb:1 /bin/true, median of {a.rounds} interleaved rounds:")
        for k, v in med.items():
            print(f"  {k:<14} {v * 1000:8.1f} ms   (min {min(times[k]) * 1000:.1f} ms)")
        for mine in ("skiff-remap", "skiff-auto"):
            for other in ("skiff", "podman-auto", "docker-remap"):
                if mine in med and other in med:
                    print(f"  {mine} / {other:<12} = {med[mine] / med[other]:.2f}x")
        for t in tools:
            if isinstance(t, Skiff) and t.name != "skiff":
                b, af = t.disk()
                print(f"{t.name}: snapshots {b / 1e6:.2f} MB; +2 containers: "
                      f"+{(af - b) / 1e3:.0f} kB (layers shared through idmapped mounts)")
            if isinstance(t, Docker):
                remapped = [p for p in t.data.iterdir() if "." in p.name]
                for p in remapped:
                    print(f"docker-remap: {p.name}/ (chowned layer copies per mapping) "
                          f"{du(p / 'overlay2') / 1e6:.2f} MB")
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
