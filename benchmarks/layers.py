"""Layer apply and diff, side by side with GNU tar on the same input in one run.

    python benchmarks/layers.py [ROOTFS_TAR]

Without an argument, a ~300 MB rootfs tar is made from the host's /usr/share and /usr/bin
(many small files plus some large ones). Measured, each in a fresh subprocess (peak RSS from
getrusage):

- apply (uncompressed):  ``tar -xpf``            vs skiff ``apply_layer``
- apply (gzip):          ``tar -xzpf``           vs skiff ``apply_layer`` (decompression included)
- diff:                  ``tar --sort=name -cf`` vs skiff ``write_layer``

Prints seconds, the ratio skiff/tar, and skiff's peak memory (must stay < 100 MB: streaming).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import resource, sys, time
sys.path.insert(0, {src!r})
from pathlib import Path
mode, arg, dest = sys.argv[1], sys.argv[2], sys.argv[3]
t = time.perf_counter()
if mode == "apply":
    from skiff.layers.apply import apply_layer
    with open(arg, "rb") as f:
        apply_layer(Path(dest), f)
else:
    from skiff.layers.diff import write_layer
    with open(dest, "wb") as out:
        write_layer(Path(arg), out)
dt = time.perf_counter() - t
print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _skiff(mode: str, arg: str, dest: str) -> tuple[float, int]:
    code = CHILD.format(src=str(REPO / "src"))
    out = subprocess.run([sys.executable, "-c", code, mode, arg, dest], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]) // 1024


def _timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="skiff-bench-layers-", dir="/var/tmp"))
    try:
        if len(sys.argv) > 1:
            tar = sys.argv[1]
        else:
            tar = str(work / "rootfs.tar")
            subprocess.run(["tar", "-C", "/", "-cf", tar, "usr/share/doc", "usr/share/locale",
                            "usr/share/perl", "usr/bin", "usr/share/zoneinfo"], check=True,
                           stderr=subprocess.DEVNULL)
        tgz = str(work / "rootfs.tar.gz")
        subprocess.run(f"gzip -1 -c {tar} > {tgz}", shell=True, check=True)
        size_mb = os.path.getsize(tar) / 1e6
        n = int(subprocess.run(["sh", "-c", f"tar -tf {tar} | wc -l"], capture_output=True,
                               text=True).stdout)
        print(f"input: {size_mb:.0f} MB uncompressed tar, {n} entries")
        rows = []
        for label, flag, src in (("apply tar", "-xpf", tar), ("apply tar.gz", "-xzpf", tgz)):
            a, b = work / "a", work / "b"
            for d in (a, b):
                shutil.rmtree(d, ignore_errors=True)
                d.mkdir()
            subprocess.run(["sync"])
            t_tar = _timed(["tar", "-C", str(a), flag, src])
            subprocess.run(["sync"])
            t_sk, rss = _skiff("apply", src, str(b))
            rows.append((label, t_tar, t_sk, rss))
        t_tar = _timed(["tar", "--sort=name", "-C", str(work / "a"), "-cf",
                        str(work / "out-tar.tar"), "."])
        t_sk, rss = _skiff("diff", str(work / "b"), str(work / "out-skiff.tar"))
        rows.append(("diff (write_layer)", t_tar, t_sk, rss))
        print(f"{'operation':<22}{'GNU tar s':>10}{'skiff s':>10}{'ratio':>8}{'skiff peak MB':>15}")
        for label, t_tar, t_sk, rss in rows:
            print(f"{label:<22}{t_tar:>10.2f}{t_sk:>10.2f}{t_sk / t_tar:>8.2f}{rss:>15.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
