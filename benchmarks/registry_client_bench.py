"""Registry client benchmark: push then pull of a 3-layer ~200 MB image to a local
docker-registry, side by side with ``skopeo copy`` in one run; prints times, ratios and
skiff's peak memory (max RSS of the process doing the transfer).

Both sides move the same image to and from the same registry: skopeo from/to an OCI
layout; skiff through its protocol layer (``pull_image``/``push_image`` with an OCI layout
as blob sink/source) or, with ``--store``, through ``skiff push``/``skiff pull`` on a real
store root (content store + metadata DB). Skiff's time is measured inside its process
(interpreter start-up excluded; ~0.1 s). Usage:
``python -m benchmarks.registry_client_bench [--mb 200] [--rounds 3] [--store]``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.interop.regclient.servers import start_registry  # noqa: E402

SKIFF_SIDE = r"""
import sys, time
from pathlib import Path
from skiff.registry.client.layout import OCILayout
from skiff.registry.client.pulling import pull_image
from skiff.registry.client.pushing import push_image
from skiff.registry.client.transport import Registry
op, host, repo, layout = sys.argv[1:5]
t = time.perf_counter()
with Registry(host) as reg:
    if op == "push":
        src = OCILayout(Path(layout))
        d = src.resolve("img")["digest"]
        push_image(reg, repo, "1", d, src)
    else:
        pull_image(reg, repo, "1", OCILayout(Path(layout)))
# VmHWM (peak RSS of this address space; ru_maxrss would include the forking parent's)
hwm = next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(time.perf_counter() - t, hwm, time.process_time())
"""


def make_image(layout: Path, mb: int) -> None:
    """An OCI layout with image ``img``: 3 gzip layers of incompressible data (~mb MB)."""
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def blob(data: bytes) -> tuple[str, int]:
        d = hashlib.sha256(data).hexdigest()
        (layout / "blobs" / "sha256" / d).write_bytes(data)
        return "sha256:" + d, len(data)

    layers, diff_ids = [], []
    per = mb * 1024 * 1024 // 3
    for i in range(3):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tf:
            payload = os.urandom(per)
            ti = tarfile.TarInfo(f"layer{i}.bin")
            ti.size, ti.mtime = len(payload), 1700000000
            tf.addfile(ti, io.BytesIO(payload))
        diff_ids.append("sha256:" + hashlib.sha256(raw.getvalue()).hexdigest())
        d, n = blob(gzip.compress(raw.getvalue(), compresslevel=1, mtime=0))
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": d, "size": n})
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": diff_ids},
                      "config": {"Cmd": ["sh"]}}).encode()
    cd, cn = blob(cfg)
    man = json.dumps({"schemaVersion": 2,
                      "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": cd, "size": cn},
                      "layers": layers}).encode()
    md, mn = blob(man)
    (layout / "index.json").write_text(json.dumps({
        "schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
            "size": mn, "annotations": {"org.opencontainers.image.ref.name": "img"}}]}))


CLI_SIDE = r"""
import sys, time
from skiff.cli.main import main
t = time.perf_counter()
rc = main(sys.argv[1:])
hwm = next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(time.perf_counter() - t, hwm, time.process_time(), file=sys.stderr)
sys.exit(rc)
"""


WALL: dict[str, list[float]] = {"push": [], "pull": []}  # whole skiff process, start-up incl.
# CPU seconds (user + system) of each whole process, skiff's and skopeo's, per operation:
# on a shared 2-core machine the wall times wander with the load, the CPU times much less.
CPU: dict[str, list[float]] = {k: [] for k in
                               ("skiff push", "skopeo push", "skiff pull", "skopeo pull")}


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def skiff(op: str, host: str, repo: str, layout: Path) -> tuple[float, int]:
    c = _children_cpu()
    out = subprocess.run([sys.executable, "-c", SKIFF_SIDE, op, host, repo, str(layout)],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    CPU[f"skiff {op}"].append(_children_cpu() - c)
    secs, rss_kb, _ = out.stdout.split()
    return float(secs), int(rss_kb) * 1024


def skiff_cli(root: Path, *args: str) -> tuple[float, int]:
    """``skiff --root ROOT ARGS`` in a subprocess; (seconds, peak RSS bytes). The whole
    process's wall time (interpreter start-up included) goes to WALL[push|pull]."""
    t, c = time.perf_counter(), _children_cpu()
    out = subprocess.run([sys.executable, "-c", CLI_SIDE, "--root", str(root), *args],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    if args[0] in WALL:
        WALL[args[0]].append(time.perf_counter() - t)
        CPU[f"skiff {args[0]}"].append(_children_cpu() - c)
    secs, rss_kb, _ = out.stderr.split()[-3:]
    return float(secs), int(rss_kb) * 1024


def load_into_store(layout: Path, root: Path, name: str) -> None:
    """Put the layout's image into a skiff store under ``name`` (blobs + ImageService.record)."""
    from skiff import metadata
    from skiff.config import Config
    from skiff.content import ContentStore
    from skiff.images import ImageService

    cfg = Config.from_env(root)
    cfg.root.mkdir(parents=True, exist_ok=True)
    store = ContentStore(cfg.content_dir)
    for f in (layout / "blobs" / "sha256").iterdir():
        with open(f, "rb") as fh:
            store.ingest(fh, expected_digest="sha256:" + f.name)
    idx = json.loads((layout / "index.json").read_text())
    db = metadata.connect(cfg.metadata_path)
    ImageService(cfg, db, store).record(idx["manifests"][0]["digest"], tags=[name])
    db.close()


def skopeo(src: str, dst: str) -> float:
    t, c = time.perf_counter(), _children_cpu()
    subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", "--src-tls-verify=false",
                    "--dest-tls-verify=false", src, dst], check=True, capture_output=True)
    CPU["skopeo push" if dst.startswith("docker://") else "skopeo pull"].append(
        _children_cpu() - c)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--store", action="store_true",
                    help="skiff side through `skiff push/pull` on a real store root")
    a = ap.parse_args()
    for tool in ("skopeo", "docker-registry"):
        if not shutil.which(tool):
            sys.exit(f"needs {tool}")
    times: dict[str, list[float]] = {k: [] for k in
                                     ("skiff push", "skopeo push", "skiff pull", "skopeo pull")}
    rss = 0
    with tempfile.TemporaryDirectory(prefix="regbench-") as t:
        tmp = Path(t)
        make_image(tmp / "src", a.mb)
        if a.store:
            sys.path.insert(0, str(REPO / "src"))
            load_into_store(tmp / "src", tmp / "root", "bench/img:1")
        for i in range(a.rounds):
            # A fresh registry (new port) each round: nothing is there already, and
            # skopeo's blob-info cache (keyed by registry) cannot turn uploads into mounts.
            reg = start_registry(tmp / f"reg{i}")
            try:
                if a.store:
                    name = f"{reg.host}/skiff/img:1"
                    skiff_cli(tmp / "root", "tag", "bench/img:1", name)
                    s, m = skiff_cli(tmp / "root", "push", "-q", name)
                else:
                    s, m = skiff("push", reg.host, "skiff/img", tmp / "src")
                times["skiff push"].append(s)
                rss = max(rss, m)
                times["skopeo push"].append(
                    skopeo(f"oci:{tmp / 'src'}:img", f"docker://{reg.host}/skopeo/img:1"))
                if a.store:
                    s, m = skiff_cli(tmp / f"skiff-out{i}", "pull", "-q", name)
                else:
                    s, m = skiff("pull", reg.host, "skiff/img", tmp / f"skiff-out{i}")
                times["skiff pull"].append(s)
                rss = max(rss, m)
                times["skopeo pull"].append(
                    skopeo(f"docker://{reg.host}/skopeo/img:1", f"oci:{tmp / f'sk-out{i}'}:x"))
            finally:
                reg.stop()
                shutil.rmtree(tmp / f"reg{i}", ignore_errors=True)
                shutil.rmtree(tmp / f"skiff-out{i}", ignore_errors=True)
                shutil.rmtree(tmp / f"sk-out{i}", ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    side = "skiff push/pull CLI on a store" if a.store else "skiff protocol layer, OCI layout"
    print(f"registry client ({side}): {a.mb} MB, 3 layers, {a.rounds} rounds "
          "(median seconds)")
    for op in ("push", "pull"):
        s, k = med[f"skiff {op}"], med[f"skopeo {op}"]
        print(f"  {op}: skiff {s:.2f} s   skopeo copy {k:.2f} s   ratio skiff/skopeo "
              f"{s / k:.2f}")
    if a.store:
        for op in ("push", "pull"):
            s, k = statistics.median(WALL[op]), med[f"skopeo {op}"]
            print(f"  {op}, whole skiff process (interpreter start-up included): {s:.2f} s   "
                  f"ratio skiff/skopeo {s / k:.2f}")
    print(f"  skiff peak memory (max RSS): {rss / 1e6:.1f} MB (target < 100 MB)")
    for op in ("push", "pull"):
        s, k = statistics.median(CPU[f"skiff {op}"]), statistics.median(CPU[f"skopeo {op}"])
        print(f"  {op} CPU (user+system, whole process): skiff {s:.2f} s   skopeo {k:.2f} s   "
              f"ratio {s / k:.2f}")


if __name__ == "__main__":
    main()
