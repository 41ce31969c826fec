"""Layer apply, unpack and diff, side by side with GNU tar and umoci on the same input.

    python benchmarks/layers.py [ROOTFS_TAR]

Without an argument, a ~330 MB rootfs tar is made from the host's /usr/share/locale,
/usr/share/doc and /usr/lib/python3.11 (many small files, some large ones). Each skiff step
runs in a fresh subprocess (peak RSS from getrusage); every pair runs back to back in one
run, so the ratio is what to compare (the machine is shared and noisy).

- apply (tar):      ``tar -xpf``                  vs ``skiff.layers.apply.apply_layer``
- unpack (gzip):    ``umoci unpack`` of a one-layer OCI image  vs ``skiff.snapshots.unpack``
                    of the same image loaded into skiff (decompression, extraction, diffID
                    check, snapshot commit; umoci also writes an mtree manifest)
- diff:             ``tar --sort=name -cf``       vs ``skiff.layers.diff.write_layer``

Prints seconds, the ratio skiff/peer, and skiff's peak memory (must stay < 100 MB).
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
if mode == "unpack":
    from skiff.config import Config
    from skiff.images import ImageService
    from skiff.metadata import connect
    from skiff.snapshots import Snapshotter, unpack
    cfg = Config(root=Path(dest))
    db = connect(cfg.metadata_path)
    images = ImageService(cfg, db)
    img = images.get(arg)
    sn = Snapshotter(cfg, db)
t = time.perf_counter()
if mode == "apply":
    from skiff.layers.apply import apply_layer
    with open(arg, "rb") as f:
        apply_layer(Path(dest), f)
elif mode == "unpack":
    unpack(sn, images.content, img)
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


def _timed(cmd: list[str], cwd: Path | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=cwd, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def _load_into_skiff(layout: Path, root: Path) -> str:
    sys.path.insert(0, str(REPO / "src"))
    from skiff.config import Config
    from skiff.images import ImageService
    from skiff.metadata import connect

    archive = layout.parent / "layout.tar"
    subprocess.run(["tar", "-C", str(layout), "-cf", str(archive), "."], check=True)
    root.mkdir(parents=True, exist_ok=True)
    cfg = Config(root=root)
    db = connect(cfg.metadata_path)
    with open(archive, "rb") as f:
        [(image_id, _)] = ImageService(cfg, db).load(f)
    db.close()
    archive.unlink()
    return image_id


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="skiff-bench-layers-", dir="/var/tmp"))
    try:
        if len(sys.argv) > 1:
            tar = sys.argv[1]
        else:
            tar = str(work / "rootfs.tar")
            subprocess.run(["tar", "-C", "/", "-cf", tar, "usr/share/locale", "usr/share/doc",
                            "usr/lib/python3.11"], check=True, stderr=subprocess.DEVNULL)
        n = int(subprocess.run(["sh", "-c", f"tar -tf {tar} | wc -l"], capture_output=True,
                               text=True).stdout)
        print(f"input: {os.path.getsize(tar) / 1e6:.0f} MB uncompressed tar, {n} entries")
        rows = []

        a, b = work / "a", work / "b"
        a.mkdir()
        b.mkdir()
        t_peer = _timed(["tar", "-C", str(a), "-xpf", tar])
        t_sk, rss = _skiff("apply", tar, str(b))
        rows.append(("apply tar", "tar -xpf", t_peer, t_sk, rss))

        if shutil.which("umoci"):
            _timed(["umoci", "init", "--layout", "img"], cwd=work)
            _timed(["umoci", "new", "--image", "img:t"], cwd=work)
            _timed(["umoci", "raw", "add-layer", "--image", "img:t", tar], cwd=work)
            image_id = _load_into_skiff(work / "img", work / "skiff-root")
            t_peer = _timed(["umoci", "unpack", "--image", "img:t", "bundle"], cwd=work)
            t_sk, rss = _skiff("unpack", image_id, str(work / "skiff-root"))
            rows.append(("unpack gzip image", "umoci unpack", t_peer, t_sk, rss))
            shutil.rmtree(work / "bundle", ignore_errors=True)
            shutil.rmtree(work / "skiff-root", ignore_errors=True)

        t_peer = _timed(["tar", "--sort=name", "-C", str(a), "-cf", str(work / "o1.tar"), "."])
        t_sk, rss = _skiff("diff", str(b), str(work / "o2.tar"))
        rows.append(("diff to tar", "tar -c --sort", t_peer, t_sk, rss))

        print(f"{'operation':<20}{'peer':<16}{'peer s':>8}{'skiff s':>9}{'ratio':>7}"
              f"{'skiff peak MB':>15}")
        for label, peer, t_peer, t_sk, rss in rows:
            print(f"{label:<20}{peer:<16}{t_peer:>8.2f}{t_sk:>9.2f}{t_sk / t_peer:>7.2f}"
                  f"{rss:>15.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
