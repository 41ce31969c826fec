"""unpack(): layers → committed snapshots named by chainID; sharing, verification, races.

Images come from the real image store (skiff.images.ImageService over skiff.content), made
from tars built in memory.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import tarfile
from pathlib import Path

import pytest

from skiff.config import Config
from skiff.digest import chain_ids
from skiff.errors import DigestMismatch, InvalidArgument
from skiff.images import ImageService
from skiff.images.importer import ingest_layer
from skiff.images.model import Layer
from skiff.snapshots import Kind, unpack
from tests.unit.layers.tarbuilder import TarBuilder

from .snapfixtures import Mounted, make_snapshotter, tree

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_overlay]
CONFIG = {"architecture": "amd64", "os": "linux", "config": {}}


def make_image(images: ImageService, *tars: bytes, compression: str = "gzip"):
    layers = [ingest_layer(images, io.BytesIO(t), compression=compression) for t in tars]
    return images.create(CONFIG, layers)


BASE = (TarBuilder().dir("etc").file("etc/hosts", b"h").file("etc/passwd", b"p")
        .dir("var").file("var/x", b"x").bytes())
TOP = (TarBuilder().dir("etc").whiteout("etc/hosts").dir("var").opaque("var")
       .file("var/y", b"y").bytes())


@pytest.fixture
def sn(skiff_root):
    s = make_snapshotter(skiff_root)
    yield s
    s.db.close()


@pytest.fixture
def images(sn):
    return ImageService(sn.config, sn.db)


def test_unpack_applies_whiteouts_through_overlay(sn, images, skiff_root):
    img = make_image(images, BASE, TOP)
    seen = []
    top = unpack(sn, images.content, img, progress=lambda d, s: seen.append(s))
    chain = chain_ids(img.diff_ids)
    assert top == chain[-1] == img.chain_id
    assert seen == ["extracted", "extracted"]
    assert [(i.key, i.kind, i.parent) for i in sn.list()] == [
        (chain[0], Kind.COMMITTED, None), (chain[1], Kind.COMMITTED, chain[0])]
    with Mounted(sn.view("v", top), skiff_root / "mnt") as m:
        assert tree(m) == ["etc", "etc/passwd", "var", "var/y"]
    seen.clear()
    assert unpack(sn, images.content, img, progress=lambda d, s: seen.append(s)) == top
    assert seen == ["exists", "exists"]


def test_zstd_layers(sn, images, skiff_root):
    img = make_image(images, BASE, compression="zstd")
    assert img.layers[0].media_type.endswith("+zstd")
    with Mounted(sn.view("v", unpack(sn, images.content, img)), skiff_root / "mnt") as m:
        assert (m / "etc" / "hosts").read_bytes() == b"h"


def test_container_layer_diff_round_trip(sn, images, skiff_root):
    from skiff.layers.diff import changes, write_layer

    top = unpack(sn, images.content, make_image(images, BASE))
    with Mounted(sn.prepare("ctr", top), skiff_root / "mnt") as m:
        os.unlink(m / "etc" / "passwd")
        (m / "var" / "new").write_bytes(b"n")
    out = io.BytesIO()
    write_layer(sn.upperdir("ctr"), out, lower=sn.lowerdirs("ctr"))
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        assert tf.getnames() == ["etc", "etc/.wh.passwd", "var", "var/new"]
    assert changes(sn.upperdir("ctr"), sn.lowerdirs("ctr")) == [
        ("C", "/etc"), ("D", "/etc/passwd"), ("C", "/var"), ("A", "/var/new")]


def test_images_on_one_base_share_its_files(sn, images, skiff_root, busybox_tar):
    """Disk sharing: two images on one base hold one copy of the base layer."""
    with open(busybox_tar, "rb") as f:
        base = images.import_rootfs(f, tag="bb:1")
    app1 = ingest_layer(images, io.BytesIO(TarBuilder().file("app1", b"one").bytes()))
    app2 = ingest_layer(images, io.BytesIO(TarBuilder().file("app2", b"two").bytes()))
    img1 = images.create(CONFIG, [*base.layers, app1], tags=["app:1"])
    img2 = images.create(CONFIG, [*base.layers, app2], tags=["app:2"])
    unpack(sn, images.content, img1)
    unpack(sn, images.content, img2)
    sdir = skiff_root / "snapshots"
    numbered = sorted(p.name for p in sdir.iterdir() if p.name.isdigit())
    assert numbered == ["1", "2", "3"]  # base once, one level per app
    copies = [p for p in sdir.rglob("busybox") if p.is_file() and not p.is_symlink()]
    assert len(copies) == 1
    with tarfile.open(busybox_tar) as tf:
        n_base = sum(1 for m in tf if not m.isdir())
    files = [p for n in numbered for p in (sdir / n).rglob("*") if not p.is_dir()]
    # the base's non-directory entries once, plus one file per app, nothing else
    assert len(files) == n_base + 2
    assert sn.stat(img1.chain_ids[0]) == sn.stat(img2.chain_ids[0])


def test_diff_id_mismatch_leaves_nothing(sn, images, skiff_root):
    good = ingest_layer(images, io.BytesIO(BASE))
    bad = Layer(good.digest, good.size, good.media_type, "sha256:" + "0" * 64)
    img = images.create(CONFIG, [bad])
    with pytest.raises(DigestMismatch, match="expected sha256:0000"):
        unpack(sn, images.content, img)
    assert sn.list() == []
    assert sorted(os.listdir(skiff_root / "snapshots")) == ["locks"]


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_corrupt_layer_leaves_lower_levels_only(sn, images, skiff_root, compression):
    img = make_image(images, BASE, TOP, compression=compression)
    blob = images.content.path(img.layers[1].digest)
    data = blob.read_bytes()
    os.chmod(blob, 0o644)
    blob.write_bytes(data[:30])  # bit rot in the store
    with pytest.raises(InvalidArgument):
        unpack(sn, images.content, img)
    assert [i.key for i in sn.list()] == [img.diff_ids[0]]


def test_stale_active_from_killed_unpack_is_replaced(sn, images):
    img = make_image(images, BASE)
    cid = img.chain_ids[0]
    sn.prepare(f"unpack-{cid.split(':')[1]}-deadbeef", None)  # as a kill -9 would leave it
    unpack(sn, images.content, img)
    assert [(i.key, i.kind) for i in sn.list()] == [(cid, Kind.COMMITTED)]


def _unpack_in_child(root: str, image_id: str, q) -> None:
    s = make_snapshotter(Path(root))
    imgs = ImageService(Config(root=Path(root)), s.db)
    q.put(unpack(s, imgs.content, imgs.get(image_id)))


def test_concurrent_unpacks_of_one_chain(sn, images, skiff_root):
    img = make_image(images, BASE, TOP, TarBuilder().file("z").bytes())
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_unpack_in_child, args=(str(skiff_root), img.id, q))
             for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert {q.get(timeout=5) for _ in procs} == {img.chain_id}
    assert [(i.key, i.kind) for i in sn.list()] == [(c, Kind.COMMITTED) for c in img.chain_ids]
    assert sorted(p for p in os.listdir(skiff_root / "snapshots") if p != "locks") == \
        ["1", "2", "3"]


def test_prune_removes_levels_no_image_needs(sn, images):
    shared = make_image(images, BASE)
    both = make_image(images, BASE, TOP)
    unpack(sn, images.content, both)
    sn.prepare("ctr", both.chain_id)  # a container's snapshot pins its chain
    assert sn.prune({shared.chain_id}) == []
    sn.remove("ctr")
    assert sn.prune({shared.chain_id}) == [both.chain_id]
    assert [i.key for i in sn.list()] == [shared.chain_id]
    assert sn.prune(set()) == [shared.chain_id]
    assert sn.list() == []
    assert os.listdir(sn.root / "locks") == []


def test_prune_keeps_named_and_active_snapshots(sn):
    from .snapfixtures import commit_files

    commit_files(sn, "named", None, {"f": b"f"})  # not a chainID: not an image level
    level = commit_files(sn, "sha256:" + "a" * 64, None, {"g": b"g"})  # as build commits
    assert sn.prune(set()) == [level]
    assert [i.key for i in sn.list()] == ["named"]


class _StallingContent:
    """The real content store, but one layer's stream stops halfway (a kill lands mid-apply)."""

    def __init__(self, content, stall: str, ready):
        self.content, self.stall, self.ready = content, stall, ready

    def open(self, digest: str):
        inner = self.content.open(digest)
        if digest != self.stall:
            return inner
        size = self.content.size(digest)
        ready = self.ready

        class Stalling:
            def __init__(self):
                self.n = 0

            def read(self, k=-1):
                if self.n >= size // 2:
                    ready.set()
                    import time

                    time.sleep(120)
                k = size // 2 - self.n if k < 0 else min(k, size // 2 - self.n)
                b = inner.read(k)
                self.n += len(b)
                return b

            def close(self):
                inner.close()

        return Stalling()


def _stalled_unpack(root: str, image_id: str, ready) -> None:
    s = make_snapshotter(Path(root))
    imgs = ImageService(Config(root=Path(root)), s.db)
    img = imgs.get(image_id)
    unpack(s, _StallingContent(imgs.content, img.layers[-1].digest, ready), img)


def test_kill_9_mid_unpack_then_unpack_again(sn, images, skiff_root):
    big = TarBuilder()
    for i in range(40):
        big.file(f"data/f{i:02}", os.urandom(50_000))
    img = make_image(images, BASE, big.bytes(), compression="none")
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    p = ctx.Process(target=_stalled_unpack, args=(str(skiff_root), img.id, ready))
    p.start()
    assert ready.wait(60)
    os.kill(p.pid, 9)
    p.join()
    left = [(i.kind, i.key.startswith("unpack-")) for i in sn.list()]
    assert left == [(Kind.COMMITTED, False), (Kind.ACTIVE, True)]  # level 2 half-written
    assert unpack(sn, images.content, img) == img.chain_id
    assert [(i.key, i.kind) for i in sn.list()] == [(c, Kind.COMMITTED) for c in img.chain_ids]
    with Mounted(sn.view("v", img.chain_id), skiff_root / "mnt") as m:
        assert sorted(os.listdir(m / "data")) == [f"f{i:02}" for i in range(40)]
    assert sn.cleanup() == 0
    # base, the redone level 2 (the stale one's number, freed with it), the view
    assert sorted(p for p in os.listdir(skiff_root / "snapshots") if p.isdigit()) == ["1", "2", "3"]


def test_rmi_releases_unpacked_levels_but_keeps_a_shared_base(sn, images, skiff_root):
    """Docker frees an image's unpacked layers with its last user; a base that another
    image still stands on stays."""
    one = make_image(images, BASE, TOP)
    two = make_image(images, BASE)  # shares the bottom level with `one`
    images.tag(one.id, "one:1")
    images.tag(two.id, "two:1")
    unpack(sn, images.content, one)
    unpack(sn, images.content, two)
    base, top = chain_ids(one.diff_ids)
    assert sn.exists(base) and sn.exists(top)

    report = images.remove(["one:1"])
    assert report.deleted == [one.id]
    assert not sn.exists(top)
    assert sn.exists(base)

    images.remove(["two:1"])
    assert not sn.exists(base)
    assert [k for k in sn.list()] == []


@pytest.mark.requires_runc
def test_a_128_layer_image_runs(sn, images, skiff_root, busybox_tar):
    """A deep chain's overlay options outgrow a page; the container still starts (the
    runtime mounts its rootfs with the snapshotter's mount code)."""
    from skiff.runtime import oneshot

    tars = [busybox_tar.read_bytes()] + [
        TarBuilder().dir("layers").file(f"layers/{i}", str(i).encode()).bytes()
        for i in range(127)]
    img = make_image(images, *tars)
    top = unpack(sn, images.content, img)
    mounts = sn.prepare("deep-run", top)
    assert len(",".join(mounts[0].options)) > 4096
    out: list[bytes] = []
    rc = oneshot.run(sn.config, mounts=mounts, args=["/bin/sh", "-c", "ls /layers | wc -l"],
                     env=["PATH=/bin"], hostname="deep", network="none", output=out.append)
    assert (rc, b"".join(out)) == (0, b"127\n")
    sn.remove("deep-run")
