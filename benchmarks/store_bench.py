"""Image store benchmark: import + save of a ~300 MB rootfs tar, skiff vs umoci/skopeo.

Run: ``python -m benchmarks.store_bench [--input ROOTFS.tar] [--workdir DIR]``.

The same input goes through both sides in one run:
  import   skiff import ROOTFS.tar big:1        vs  umoci raw add-layer --image L:t ROOTFS.tar
  save     skiff save -o out.tar big:1          vs  skopeo copy oci:L:t docker-archive:out.tar
  load     skiff load -i out.tar (fresh root)   vs  skopeo copy docker-archive:out.tar oci:L2:t
Prints wall seconds, the ratio skiff/peer, and each process's peak RSS (skiff must stay
under 100 MB: layers stream, they are never held in memory).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.procs import run_timed

RSS_LIMIT_MB = 100


def measure(args: list[str], env: dict | None = None) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MB). Raises on failure."""
    try:
        wall, ru = run_timed(args, env)
    except RuntimeError as e:
        raise SystemExit(str(e)) from None
    return wall, ru.ru_maxrss / 1024


def make_input(path: Path, target: int = 300_000_000) -> None:
    """A ~300 MB rootfs tar of real files: /usr/bin then /usr/lib, sorted by name, taken until
    ``target`` bytes, owned by root (the same selection on the same machine every run)."""
    picked: list[str] = []
    total = 0
    for top in ("usr/bin", "usr/lib"):
        for dirpath, dirnames, filenames in os.walk("/" + top):
            dirnames.sort()
            for n in sorted(filenames):
                p = os.path.join(dirpath, n)
                if total >= target:
                    break
                if os.path.isfile(p) and not os.path.islink(p):
                    total += os.path.getsize(p)
                    picked.append(p.lstrip("/"))
    lst = path.with_suffix(".list")
    lst.write_text("\n".join(picked) + "\n")
    subprocess.run(["tar", "--owner=0", "--group=0", "-C", "/", "-cf", str(path), "-T", str(lst)],
                   check=True, stderr=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", type=Path, help="rootfs tar (default: ~300 MB of /usr/bin and /usr/lib)")
    ap.add_argument("--workdir", type=Path, help="scratch directory (default: a temp dir)")
    a = ap.parse_args(argv)
    for tool in ("umoci", "skopeo"):
        if not shutil.which(tool):
            print(f"store_bench: {tool} not installed (apt-get install {tool})")
            return 1
    work = a.workdir or Path(tempfile.mkdtemp(prefix="skiff-store-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        src = a.input or work / "rootfs.tar"
        if not a.input:
            make_input(src)
        size_mb = src.stat().st_size / 1e6
        env = {**os.environ, "SKIFF_ROOT": str(work / "skiff-root")}
        skiff = [sys.executable, "-m", "skiff"]
        rows = []
        s_imp = measure([*skiff, "import", str(src), "big:1"], env)
        layout = work / "L"
        subprocess.run(["umoci", "init", "--layout", str(layout)], check=True)
        subprocess.run(["umoci", "new", "--image", f"{layout}:t"], check=True)
        p_imp = measure(["umoci", "raw", "add-layer", "--image", f"{layout}:t", str(src)])
        rows.append(("import", s_imp, p_imp, "umoci raw add-layer"))
        s_save = measure([*skiff, "save", "-o", str(work / "skiff-save.tar"), "big:1"], env)
        p_save = measure(["skopeo", "copy", "-q", f"oci:{layout}:t",
                          f"docker-archive:{work / 'peer-save.tar'}:big:1"])
        rows.append(("save", s_save, p_save, "skopeo copy oci: docker-archive:"))
        env2 = {**os.environ, "SKIFF_ROOT": str(work / "skiff-root2")}
        s_load = measure([*skiff, "load", "-i", str(work / "skiff-save.tar")], env2)
        p_load = measure(["skopeo", "copy", "-q", f"docker-archive:{work / 'peer-save.tar'}",
                          f"oci:{work / 'L2'}:t"])
        rows.append(("load", s_load, p_load, "skopeo copy docker-archive: oci:"))
        print(f"input: {src} ({size_mb:.0f} MB)")
        print(f"{'step':<8}{'skiff s':>9}{'peer s':>9}{'ratio':>8}{'skiff RSS MB':>14}"
              f"{'peer RSS MB':>13}  peer")
        ok = True
        for name, (sw, sr), (pw, pr), peer in rows:
            print(f"{name:<8}{sw:>9.2f}{pw:>9.2f}{sw / pw:>8.2f}{sr:>14.1f}{pr:>13.1f}  {peer}")
            ok &= sr < RSS_LIMIT_MB
        blob_mb = sum(f.stat().st_size for f in (work / "skiff-root" / "content" / "blobs" / "sha256")
                      .iterdir()) / 1e6
        peer_mb = sum(f.stat().st_size for f in (layout / "blobs" / "sha256").iterdir()) / 1e6
        print(f"blobs after import: skiff {blob_mb:.1f} MB (gzip level 1), umoci {peer_mb:.1f} MB; "
              f"skiff peak RSS {'under' if ok else 'OVER'} {RSS_LIMIT_MB} MB")
        return 0 if ok else 1
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
