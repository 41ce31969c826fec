"""What the default seccomp profile costs a container start: bare ``runc run`` of one bundle
(skiff's own config.json for ``run --network none bb:1 /bin/true``) with three
``linux.seccomp`` objects, rounds interleaved, medians of wall time and of CPU time
(runc and every process it waited for: wait4's rusage, what ``perf stat -e task-clock``
counts):

- ``containers-common``: Debian's /usr/share/containers/seccomp.json converted as is (what
  skiff used before: ENOSYS default, ~50 EPERM rules for runc to compile);
- ``skiff-default``: ``seccomp.default`` (Docker's effect: EPERM default, those rules gone);
- ``none``: no filter (``--security-opt seccomp=unconfined``).

Also the Python side: ``seccomp.default(caps)`` per call (it runs on every start).

Inputs: the busybox rootfs of ../shared/bench/make-busybox-tar.sh. Needs root and runc.
Usage: python -m benchmarks.seccomp_bench [--rounds N] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import timeit
from pathlib import Path

from benchmarks.procs import run_timed

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent.parent / "shared" / "bench"


def _bundles(work: Path) -> dict[str, Path]:
    import json

    from skiff.runtime import seccomp
    from skiff.runtime.spec import SpecOptions, build_spec

    rootfs = work / "rootfs"
    rootfs.mkdir()
    tar = work / "bb.tar"
    subprocess.run(["bash", str(BENCH / "make-busybox-tar.sh"), str(tar)], check=True)
    subprocess.run(["tar", "-C", str(rootfs), "-xf", str(tar)], check=True)
    out = {}
    for name in ("containers-common", "skiff-default", "none"):
        spec = build_spec(SpecOptions(args=("/bin/true",), rootfs=str(rootfs), network="none",
                                      readonly_rootfs=True, hostname="bench",
                                      cgroups_path=f"/skiff-seccomp-bench-{os.getpid()}-{name}",
                                      seccomp="unconfined" if name == "none" else "default"))
        if name == "containers-common":
            caps = spec["process"]["capabilities"]["bounding"]
            spec["linux"]["seccomp"] = seccomp.convert(seccomp.load_profile(), caps)
        bundle = work / name
        bundle.mkdir()
        (bundle / "config.json").write_text(json.dumps(spec))
        out[name] = bundle
    return out


def _run(state: Path, bundle: Path, cid: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of runc and its waited-for descendants)."""
    wall, ru = run_timed(["runc", "--root", str(state), "run", "--bundle", str(bundle), cid])
    return wall, ru.ru_utime + ru.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args(argv)
    if os.geteuid() != 0 or not shutil.which("runc"):
        print("seccomp_bench: needs root and runc")
        return 0
    from skiff.runtime import seccomp
    from skiff.runtime.spec import DEFAULT_CAPS

    if not os.path.exists(seccomp.DEFAULT_PROFILE):
        print("seccomp_bench: needs golang-github-containers-common")
        return 0
    n, t = timeit.Timer(lambda: seccomp.default(DEFAULT_CAPS)).autorange()
    print(f"seccomp.default(caps): {t / n * 1e6:.0f} us per call")
    work = Path(tempfile.mkdtemp(prefix="skiff-seccomp-bench-", dir="/tmp"))
    try:
        bundles = _bundles(work)
        state = work / "runc-state"
        wall: dict[str, list[float]] = {k: [] for k in bundles}
        cpu: dict[str, list[float]] = {k: [] for k in bundles}
        names = list(bundles)
        for i in range(a.rounds):
            for name in names[i % len(names):] + names[:i % len(names)]:
                w, c = _run(state, bundles[name], f"scb-{i}-{name}")
                wall[name].append(w)
                cpu[name].append(c)
        base_w = statistics.median(wall["none"])
        base_c = statistics.median(cpu["none"])
        print(f"runc run, {a.rounds} interleaved rounds (medians; filter cost = minus 'none'):")
        for name in names:
            mw, mc = statistics.median(wall[name]), statistics.median(cpu[name])
            print(f"  {name:18} wall {mw * 1e3:6.1f} ms  cpu {mc * 1e3:6.1f} ms  "
                  f"filter: wall +{(mw - base_w) * 1e3:5.1f} ms, cpu +{(mc - base_c) * 1e3:5.1f} ms")
        old, new = "containers-common", "skiff-default"
        print(f"  skiff-default / containers-common: wall "
              f"{statistics.median(wall[new]) / statistics.median(wall[old]):.3f}, cpu "
              f"{statistics.median(cpu[new]) / statistics.median(cpu[old]):.3f}")
    finally:
        if a.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
