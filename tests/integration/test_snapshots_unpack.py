"""unpack(): layers → committed snapshots named by chainID; sharing, verification, races.

The image and content store here are small local stand-ins with the shape of
skiff.images.Image / skiff.content.ContentStore (plain data: blobs in a dict), not mocks.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from skiff.digest import chain_ids
from skiff.errors import DigestMismatch, InvalidArgument
from skiff.layers.compression import compress_layer
from skiff.snapshots import Kind, unpack
from tests.unit.layers.tarbuilder import TarBuilder

from .snapfixtures import Mounted, make_snapshotter, tree

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_overlay]


@dataclass(frozen=True)
class Layer:
    digest: str
    size: int
    media_type: str
    diff_id: str


@dataclass(frozen=True)
class Image:
    layers: list[Layer]

    @property
    def diff_ids(self) -> list[str]:
        return [la.diff_id for la in self.layers]


class Blobs:
    def __init__(self):
        self.blobs: dict[str, bytes] = {}

    def add(self, tar: bytes, algorithm: str = "gzip") -> Layer:
        out = io.BytesIO()
        c = compress_layer(io.BytesIO(tar), out, algorithm)
        self.blobs[c.digest] = out.getvalue()
        return Layer(c.digest, c.size, "application/vnd.oci.image.layer.v1.tar+gzip", c.diff_id)

    def open(self, digest: str):
        return io.BytesIO(self.blobs[digest])


BASE = (TarBuilder().dir("etc").file("etc/hosts", b"h").file("etc/passwd", b"p")
        .dir("var").file("var/x", b"x").bytes())
TOP = (TarBuilder().dir("etc").whiteout("etc/hosts").dir("var").opaque("var")
       .file("var/y", b"y").bytes())


@pytest.fixture
def sn(skiff_root):
    s = make_snapshotter(skiff_root)
    yield s
    s.db.close()


def test_unpack_applies_whiteouts_through_overlay(sn, skiff_root):
    blobs = Blobs()
    img = Image([blobs.add(BASE), blobs.add(TOP, "zstd")])
    seen = []
    top = unpack(sn, blobs, img, progress=lambda d, s: seen.append(s))
    chain = chain_ids(img.diff_ids)
    assert top == chain[-1]
    assert seen == ["extracted", "extracted"]
    assert [(i.key, i.kind, i.parent) for i in sn.list()] == [
        (chain[0], Kind.COMMITTED, None), (chain[1], Kind.COMMITTED, chain[0])]
    with Mounted(sn.view("v", top), skiff_root / "mnt") as m:
        assert tree(m) == ["etc", "etc/passwd", "var", "var/y"]
    seen.clear()
    assert unpack(sn, blobs, img, progress=lambda d, s: seen.append(s)) == top
    assert seen == ["exists", "exists"]


def test_container_layer_diff_round_trip(sn, skiff_root):
    from skiff.layers.diff import changes, write_layer

    blobs = Blobs()
    top = unpack(sn, blobs, Image([blobs.add(BASE)]))
    with Mounted(sn.prepare("ctr", top), skiff_root / "mnt") as m:
        os.unlink(m / "etc" / "passwd")
        (m / "var" / "new").write_bytes(b"n")
    out = io.BytesIO()
    write_layer(sn.upperdir("ctr"), out, lower=sn.lowerdirs("ctr"))
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        assert tf.getnames() == ["etc", "etc/.wh.passwd", "var", "var/new"]
    assert changes(sn.upperdir("ctr"), sn.lowerdirs("ctr")) == [
        ("C", "/etc"), ("D", "/etc/passwd"), ("C", "/var"), ("A", "/var/new")]


def test_images_on_one_base_share_its_files(sn, skiff_root, busybox_tar):
    """Disk sharing: two images on one base hold one copy of the base layer."""
    blobs = Blobs()
    base = blobs.add(busybox_tar.read_bytes())
    app1 = blobs.add(TarBuilder().file("app1", b"one").bytes())
    app2 = blobs.add(TarBuilder().file("app2", b"two").bytes())
    unpack(sn, blobs, Image([base, app1]))
    unpack(sn, blobs, Image([base, app2]))
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


def test_diff_id_mismatch_leaves_nothing(sn, skiff_root):
    blobs = Blobs()
    good = blobs.add(BASE)
    bad = Layer(good.digest, good.size, good.media_type, "sha256:" + "0" * 64)
    with pytest.raises(DigestMismatch, match="expected sha256:0000"):
        unpack(sn, blobs, Image([bad]))
    assert sn.list() == []
    assert sorted(os.listdir(skiff_root / "snapshots")) == ["locks"]


def test_corrupt_layer_leaves_lower_levels_only(sn, skiff_root):
    blobs = Blobs()
    base = blobs.add(BASE)
    top = blobs.add(TOP)
    blobs.blobs[top.digest] = blobs.blobs[top.digest][:30]
    with pytest.raises(InvalidArgument):
        unpack(sn, blobs, Image([base, top]))
    assert [i.key for i in sn.list()] == [base.diff_id]


def test_stale_active_from_killed_unpack_is_replaced(sn, skiff_root):
    blobs = Blobs()
    img = Image([blobs.add(BASE)])
    cid = chain_ids(img.diff_ids)[0]
    sn.prepare(f"unpack-{cid.split(':')[1]}-deadbeef", None)  # as a kill -9 would leave it
    unpack(sn, blobs, img)
    assert [(i.key, i.kind) for i in sn.list()] == [(cid, Kind.COMMITTED)]


def _unpack_in_child(root: str, blobs: Blobs, img: Image, q) -> None:
    s = make_snapshotter(Path(root))
    q.put(unpack(s, blobs, img))


def test_concurrent_unpacks_of_one_chain(sn, skiff_root):
    blobs = Blobs()
    img = Image([blobs.add(BASE), blobs.add(TOP), blobs.add(TarBuilder().file("z").bytes())])
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_unpack_in_child, args=(str(skiff_root), blobs, img, q))
             for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    results = {q.get(timeout=5) for _ in procs}
    assert results == {chain_ids(img.diff_ids)[-1]}
    assert [(i.key, i.kind) for i in sn.list()] == [
        (c, Kind.COMMITTED) for c in chain_ids(img.diff_ids)]
    assert sorted(p for p in os.listdir(skiff_root / "snapshots") if p != "locks") == \
        ["1", "2", "3"]
