"""``skiff system check`` and ``skiff system df``: verify the store, account for its bytes.

check re-hashes every blob and walks every image and name, so tests can assert that a
failed or killed command left the store consistent. df follows ``docker system df``.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from skiff import digest
from skiff.errors import SkiffError
from skiff.oci import ImageConfig, Manifest

if TYPE_CHECKING:
    from skiff.images.service import ImageService


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What ``check`` found: ``problems`` (one line each; empty = sound) and counts."""

    problems: list[str] = field(default_factory=list)
    blobs: int = 0
    images: int = 0
    names: int = 0
    ingests: int = 0
    unreferenced: int = 0


def check(service: ImageService) -> CheckReport:
    """Verify every blob's digest, every image's manifest/config/layers, every name."""
    problems: list[str] = []
    nblobs = 0
    referenced: set[str] = set()
    all_blobs: set[str] = set()
    for d, _ in service.content.walk():
        nblobs += 1
        all_blobs.add(d)
        with service.content.open(d) as f:
            actual, _ = digest.of_stream(f)
        if actual != d:
            problems.append(f"blob {d}: digest mismatch: content hashes to {actual}")
    rows = service.db.execute("SELECT id, manifest_digest, manifest_media_type FROM images").fetchall()
    for r in rows:
        image_id, md = r["id"], r["manifest_digest"]
        try:
            m = Manifest.from_bytes(service.content.read_blob(md), r["manifest_media_type"])
        except SkiffError as e:
            problems.append(f"image {image_id}: manifest {md}: {e}")
            continue
        referenced |= {md, m.config.digest, *(x.digest for x in m.layers)}
        if m.config.digest != image_id:
            problems.append(f"image {image_id}: manifest {md} names config {m.config.digest}")
        try:
            cfg = ImageConfig.from_bytes(service.content.read_blob(image_id))
            if len(cfg.diff_ids) != len(m.layers):
                problems.append(f"image {image_id}: {len(cfg.diff_ids)} diff_ids for {len(m.layers)} layers")
        except SkiffError as e:
            problems.append(f"image {image_id}: config: {e}")
        for ld in m.layers:
            if not service.content.exists(ld.digest):
                problems.append(f"image {image_id}: layer {ld.digest}: blob missing")
            elif service.content.size(ld.digest) != ld.size:
                problems.append(f"image {image_id}: layer {ld.digest}: size differs from manifest")
    ids = {r["id"] for r in rows}
    names = 0
    for table in ("tags", "repo_digests"):
        for r in service.db.execute(f"SELECT name, image_id FROM {table}"):
            names += 1
            if r["image_id"] not in ids:
                problems.append(f"name {r['name']}: points at missing image {r['image_id']}")
    referenced |= {r[0] for r in service.db.execute(
        "SELECT ref FROM lease_resources WHERE kind = 'content'")}
    # the build cache's layers are referenced too (builder prune frees them), not garbage
    for (layer,) in _rows(service, "SELECT layer FROM build_cache WHERE layer IS NOT NULL"):
        with contextlib.suppress(ValueError, KeyError, TypeError):
            referenced.add(json.loads(layer)["digest"])
    return CheckReport(problems=problems, blobs=nblobs, images=len(rows), names=names,
                       ingests=len(service.content.list_ingests()),
                       unreferenced=len(all_blobs - referenced))


def du(path: Path, seen: set[tuple[int, int]] | None = None) -> int:
    """Bytes allocated under ``path`` (st_blocks * 512), like ``du -s -B1``: each inode once,
    also across calls sharing ``seen``; other filesystems' mounts are not entered
    (skiff.snapshots.disk_usage does the walk)."""
    from skiff.snapshots.usage import disk_usage

    return disk_usage(path, seen).size


def df(service: ImageService) -> list[dict]:
    """``docker system df`` rows: Images, Containers, Local Volumes, Build Cache.

    Image SIZE counts each layer (diffID) once; RECLAIMABLE is what no container's image needs.
    """
    db = service.db
    imgs = service.list()
    used_ids = {r[0] for r in db.execute("SELECT image_id FROM containers WHERE image_id IS NOT NULL")}
    sizes: dict[str, int] = {}
    active_layers: set[str] = set()
    for img in imgs:
        for lay in img.layers:
            sizes[lay.diff_id] = lay.docker_size
            if img.id in used_ids:
                active_layers.add(lay.diff_id)
    total = sum(sizes.values())
    reclaim = sum(v for k, v in sizes.items() if k not in active_layers)
    # docker/cli formatter/disk_usage.go: a container is active while running, paused or
    # restarting (its space is not reclaimable); a volume while any container refers to it
    # SIZE: each container's SizeRw (moby: the file bytes of its rw layer; 6B after
    # `echo hello > /f`), not the bundle, logs and config files skiff keeps beside it
    from skiff.runtime.ops import rw_size
    from skiff.snapshots import Snapshotter

    snaps = Snapshotter(service.config, db)
    running, vol_refs = [], set()
    csize = crun = 0
    for cid, data in db.execute("SELECT id, data FROM containers"):
        try:
            rec = json.loads(data)
        except ValueError:
            continue
        size = 0
        key = (rec.get("Skiff") or {}).get("Snapshot")
        if key:
            with contextlib.suppress(SkiffError):
                size = rw_size(snaps.upperdir(key), snaps.lowerdirs(key))
        csize += size
        if (rec.get("State") or {}).get("Status") in ("running", "paused", "restarting"):
            running.append(cid)
            crun += size
        vol_refs |= {m.get("Name") for m in rec.get("Mounts") or [] if m.get("Type") == "volume"}
    ncont = db.execute("SELECT COUNT(*) FROM containers").fetchone()[0]
    vols = [r[0] for r in db.execute("SELECT name FROM volumes")]
    nvol = len(vols)
    # docker/cli: SIZE sums each volume's size (moby pkg/directory.Size: apparent file
    # sizes), RECLAIMABLE those no container refers to
    from skiff.snapshots.usage import content_size

    vsizes = {v: content_size(service.config.volumes_dir / v) for v in vols}
    vsize = sum(vsizes.values())
    vused = sum(n for v, n in vsizes.items() if v in vol_refs)
    try:
        nbuild = db.execute("SELECT COUNT(*) FROM build_cache").fetchone()[0]
    except Exception:  # the build engineer's table may not exist yet
        nbuild = 0
    bsize = build_cache_size(service) if nbuild else 0
    return [
        {"Type": "Images", "TotalCount": len(imgs), "Active": len([i for i in imgs if i.id in used_ids]),
         "Size": total, "Reclaimable": reclaim},
        {"Type": "Containers", "TotalCount": ncont, "Active": len(running), "Size": csize,
         "Reclaimable": max(csize - crun, 0)},
        {"Type": "Local Volumes", "TotalCount": nvol, "Active": len([v for v in vols if v in vol_refs]),
         "Size": vsize, "Reclaimable": max(vsize - vused, 0)},
        {"Type": "Build Cache", "TotalCount": nbuild, "Active": 0, "Size": bsize, "Reclaimable": bsize},
    ]


def build_cache_size(service: ImageService) -> int:
    """Bytes only the build cache holds (what ``skiff builder prune`` frees): the layer blobs
    cache records name and no image does, plus the unpacked levels (snapshot sizes recorded
    at commit) under the records' chainIDs that no image needs. ``docker system df``'s
    Build Cache SIZE."""
    image_blobs: set[str] = set()
    for r in _rows(service, "SELECT id, manifest_digest FROM images"):
        image_blobs |= service._blobs_of(r[0], r[1])
    size = 0
    for (layer,) in _rows(service, "SELECT DISTINCT layer FROM build_cache WHERE layer IS NOT NULL"):
        try:
            d = json.loads(layer)["digest"]
        except (ValueError, KeyError, TypeError):
            continue
        if d not in image_blobs:
            with contextlib.suppress(SkiffError):
                size += service.content.size(d)
    snaps = {r[0]: (r[1], r[2] or 0) for r in _rows(
        service, "SELECT key, parent, size FROM snapshots WHERE kind = 'committed'")}
    image_chains = service.chain_ids_in_use()
    levels: set[str] = set()
    for (top,) in _rows(service, "SELECT DISTINCT chain_id FROM build_cache WHERE chain_id IS NOT NULL"):
        k = top
        while k in snaps and k not in levels and k not in image_chains:
            levels.add(k)
            k = snaps[k][0]
    return size + sum(snaps[k][1] for k in levels)


def _rows(service: ImageService, sql: str) -> list:
    try:
        return service.db.execute(sql).fetchall()
    except Exception:  # a table another subsystem owns may not exist yet
        return []


def attribute(service: ImageService) -> list[tuple[str, str, int]]:
    """Every byte under the root by owner, as (path under the root, owner, bytes).

    Owners: image blobs; build cache layers (blobs only build-cache records name);
    unreferenced blobs; unfinished ingests; shared snapshots (levels of some image's
    chain); build cache snapshots (levels only cache records name); unused snapshots;
    container and build layers (active snapshots); snapshot views; orphaned snapshot
    directories; container logs (``*-json.log``); container bundles; volumes; temporary
    files; the metadata database with the root itself. Each inode counts once, for the
    first owner that reaches it, so the sum equals ``du -s -B1`` of the root.
    """
    root = service.config.root
    seen: set[tuple[int, int]] = set()
    totals: dict[tuple[str, str], int] = {}

    def add(rel: str, owner: str, n: int) -> None:
        totals[(rel, owner)] = totals.get((rel, owner), 0) + n

    # blobs: images' first, then build cache records', then the rest
    image_blobs: set[str] = set()
    for r in _rows(service, "SELECT id, manifest_digest FROM images"):
        image_blobs |= service._blobs_of(r[0], r[1])
    cache_blobs: set[str] = set()
    for r in _rows(service, "SELECT layer FROM build_cache WHERE layer IS NOT NULL"):
        try:
            cache_blobs.add(json.loads(r[0])["digest"])
        except (ValueError, KeyError, TypeError):
            pass
    blobs_dir = root / "content" / "blobs" / "sha256"
    if blobs_dir.is_dir():
        for e in os.scandir(blobs_dir):
            d = "sha256:" + e.name
            owner = ("image blobs (layers, configs, manifests)" if d in image_blobs else
                     "build cache layers" if d in cache_blobs else "unreferenced blobs")
            add("content/blobs", owner, du(Path(e.path), seen))
    add("content/ingest", "unfinished ingests", du(root / "content" / "ingest", seen))
    # snapshots by kind and by who needs them
    image_chains = service.chain_ids_in_use()
    cache_chains = {r[0] for r in _rows(service, "SELECT chain_id FROM build_cache")}
    snaps = {str(r[0]): (r[1], r[2]) for r in _rows(service, "SELECT id, kind, key FROM snapshots")}
    snap_root = root / "snapshots"
    if snap_root.is_dir():
        for e in os.scandir(snap_root):
            kind, key = snaps.get(e.name, ("", ""))
            if kind == "committed":
                owner = ("shared snapshots (unpacked image layers)" if key in image_chains else
                         "build cache snapshots" if key in cache_chains else "unused snapshots")
            else:
                owner = {"active": "container and build layers (active snapshots)",
                         "view": "snapshot views"}.get(kind, "orphaned snapshot directories")
            add("snapshots", owner, du(Path(e.path), seen))
    # container logs apart from the rest of the bundles
    cdir = root / "containers"
    if cdir.is_dir():
        for c in os.scandir(cdir):
            if c.is_dir(follow_symlinks=False):
                for f in os.scandir(c.path):
                    if f.name.endswith("-json.log"):
                        add("containers", "container logs", du(Path(f.path), seen))
    for rel, owner in (("containers", "container bundles"), ("volumes", "volumes"),
                       ("builds", "build cache (other)"), ("tmp", "temporary files"),
                       ("snapshots", "snapshot store directory"),
                       ("content", "content store directory")):
        add(rel, owner, du(root / rel, seen))
    add(".", "metadata database and the root itself", du(root, seen))
    return [(rel, owner, n) for (rel, owner), n in totals.items() if n]
