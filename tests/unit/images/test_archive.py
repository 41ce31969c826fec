"""Loading archives in every layout skiff reads, and refusing bad ones without a trace."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time

import pytest

from skiff import digest, metadata
from skiff.config import Config
from skiff.errors import DigestMismatch, InvalidArgument
from skiff.images import ImageService
from skiff.images.check import check
from skiff.oci import canonical_json, mediatypes
from tests.unit.images.helpers import rootfs_tar

BASE = rootfs_tar({"etc/os-release": b"ID=skiff\n"})
TOP = rootfs_tar({"app": b"#!/bin/sh\n"}, dirs=())


def _tar(entries: list[tuple[str, bytes | str]]) -> bytes:
    """entries: (name, bytes) for files, (name, '->target') for symlinks."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            if isinstance(data, str):
                ti.type = tarfile.SYMTYPE
                ti.linkname = data[2:]
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _config(layers: list[bytes]) -> bytes:
    return json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                       "created": "2024-01-01T00:00:00Z",
                       "rootfs": {"type": "layers",
                                  "diff_ids": [digest.of_bytes(x) for x in layers]},
                       "history": [{"created_by": "base"}, {"created_by": "top"}]}).encode()


def old_layout() -> bytes:
    """docker save before Docker 25: <v1id>/layer.tar, <hex>.json, a symlinked duplicate."""
    cfg = _config([BASE, TOP, BASE])
    chex = digest.encoded(digest.of_bytes(cfg))
    manifest = [{"Config": f"{chex}.json", "RepoTags": ["old:1"],
                 "Layers": ["aaa/layer.tar", "bbb/layer.tar", "ccc/layer.tar"]}]
    return _tar([("aaa/layer.tar", BASE), ("aaa/VERSION", b"1.0"), ("bbb/layer.tar", TOP),
                 ("ccc/layer.tar", "->../aaa/layer.tar"), (f"{chex}.json", cfg),
                 ("manifest.json", json.dumps(manifest).encode()),
                 ("repositories", json.dumps({"old": {"1": "ccc"}}).encode())])


def oci_layout(name: str | None = "docker.io/library/oci:2", layer_bytes=None,
               nested: bool = False, zstd: bool = False) -> bytes:
    layers = [gzip.compress(BASE), TOP]
    mt0 = mediatypes.OCI_LAYER_GZIP
    if zstd:
        import zstandard

        layers[0] = zstandard.ZstdCompressor().compress(BASE)
        mt0 = mediatypes.OCI_LAYER_ZSTD
    if layer_bytes is not None:
        layers[0] = layer_bytes
    cfg = _config([BASE, TOP])
    descs = [{"mediaType": mt0, "digest": digest.of_bytes(layers[0]),
              "size": len(layers[0])},
             {"mediaType": mediatypes.OCI_LAYER, "digest": digest.of_bytes(TOP), "size": len(TOP)}]
    m = canonical_json({"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST,
                        "config": {"mediaType": mediatypes.OCI_CONFIG,
                                   "digest": digest.of_bytes(cfg), "size": len(cfg)},
                        "layers": descs})
    mdesc = {"mediaType": mediatypes.OCI_MANIFEST, "digest": digest.of_bytes(m), "size": len(m),
             "platform": {"os": "linux", "architecture": "amd64"}}
    blobs = [*layers, cfg, m]
    if nested:
        sub = canonical_json({"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX,
                              "manifests": [{**mdesc, "digest": "sha256:" + "e" * 64,
                                             "platform": {"os": "linux", "architecture": "arm64"}},
                                            {**mdesc, "digest": "sha256:" + "f" * 64,
                                             "platform": {"os": "unknown", "architecture": "unknown"},
                                             "annotations": {"vnd.docker.reference.type":
                                                             "attestation-manifest"}},
                                            mdesc]})
        blobs.append(sub)
        mdesc = {"mediaType": mediatypes.OCI_INDEX, "digest": digest.of_bytes(sub), "size": len(sub)}
    if name:
        mdesc["annotations"] = {"org.opencontainers.image.ref.name": name}
    index = canonical_json({"schemaVersion": 2, "manifests": [mdesc]})
    entries = [(f"./blobs/sha256/{digest.encoded(digest.of_bytes(b))}", b) for b in blobs]
    return _tar([("./oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), *entries,
                 ("./index.json", index)])


def _blobs(svc):
    return sorted(d for d, _ in svc.content.walk())


def test_load_old_docker_layout_with_symlinked_layer(svc):
    (loaded,) = svc.load(io.BytesIO(old_layout()))
    img = svc.get("old:1")
    assert loaded == (img.id, "old:1")
    assert img.diff_ids == [digest.of_bytes(BASE), digest.of_bytes(TOP), digest.of_bytes(BASE)]
    assert [x.media_type for x in img.layers] == [mediatypes.OCI_LAYER] * 3
    assert img.layers[0].digest == img.layers[2].digest
    # Docker's size: file bytes once unpacked (etc/os-release 9 B twice, app 10 B)
    assert img.size == 9 + 10 + 9
    assert check(svc).problems == []


@pytest.mark.parametrize("nested,zstd", [(False, False), (True, False), (False, True)])
def test_load_oci_layout_keeps_manifest_bytes(svc, nested, zstd):
    data = oci_layout(nested=nested, zstd=zstd)
    (loaded,) = svc.load(io.BytesIO(data))
    img = svc.get("oci:2")
    assert loaded == (img.id, "oci:2")
    assert svc.content.exists(img.manifest_digest)
    first = mediatypes.OCI_LAYER_ZSTD if zstd else mediatypes.OCI_LAYER_GZIP
    assert [x.media_type for x in img.layers] == [first, mediatypes.OCI_LAYER]
    assert [x.uncompressed_size for x in img.layers] == [len(BASE), len(TOP)]
    assert [x.unpacked_size for x in img.layers] == [9, 10]
    assert check(svc).problems == []


def test_load_untagged_oci_layout_and_compressed_archive(svc):
    (loaded,) = svc.load(io.BytesIO(gzip.compress(oci_layout(name="latest"))))
    assert loaded[1] is None
    assert svc.get(loaded[0]).repo_tags == ()


def test_save_then_load_round_trip_through_both_layouts(svc, tmp_path):
    svc.load(io.BytesIO(old_layout()))
    svc.load(io.BytesIO(oci_layout()))
    svc.tag("old:1", "old:alias")
    out = io.BytesIO()
    svc.save(["old:1", "old:alias", "oci:2"], out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as t:
        names = t.getnames()
        manifest = json.load(t.extractfile("manifest.json"))
        index = json.load(t.extractfile("index.json"))
    assert names[:2] == ["blobs", "blobs/sha256"]
    assert names[-3:] == ["index.json", "manifest.json", "oci-layout"]
    assert [m["RepoTags"] for m in manifest] == [["old:1", "old:alias"], ["oci:2"]]
    assert [m["annotations"]["io.containerd.image.name"] for m in index["manifests"]] == [
        "docker.io/library/old:1", "docker.io/library/old:alias", "docker.io/library/oci:2"]
    ids = {svc.get("old:1").id, svc.get("oci:2").id}
    cfg2 = Config(root=tmp_path / "other")
    cfg2.root.mkdir()
    other = ImageService(cfg2, metadata.connect(cfg2.metadata_path))
    loaded = other.load(io.BytesIO(out.getvalue()))
    assert loaded == [(svc.get("old:1").id, "old:1"), (svc.get("old:1").id, "old:alias"),
                      (svc.get("oci:2").id, "oci:2")]
    assert {i.id for i in other.list()} == ids
    assert other.get("oci:2").manifest_digest == svc.get("oci:2").manifest_digest
    assert (check(other).problems, check(other).unreferenced) == ([], 0)


@pytest.mark.parametrize("make,exc,text", [
    (lambda: oci_layout(layer_bytes=gzip.compress(TOP)), DigestMismatch,
     f"expected {digest.of_bytes(BASE)}, got {digest.of_bytes(TOP)}"),
    (lambda: old_layout()[:3000], InvalidArgument, "invalid archive"),
    (lambda: _tar([("hello", b"x")]), InvalidArgument,
     "invalid archive: no manifest.json (docker-archive) or index.json (OCI layout)"),
    (lambda: _tar([("manifest.json", b"[{]")]), InvalidArgument, "invalid archive: manifest.json"),
    (lambda: _tar([("manifest.json", b'[{"Config":"c.json","Layers":[]}]')]), InvalidArgument,
     "invalid archive: c.json: no such file in the archive"),
    (lambda: b"garbage" * 100, InvalidArgument, "invalid archive"),
])
def test_bad_archives_leave_store_unchanged(svc, make, exc, text):
    svc.load(io.BytesIO(old_layout()))
    before = _blobs(svc)
    with pytest.raises(exc) as e:
        svc.load(io.BytesIO(make()))
    assert text in str(e.value)
    assert _blobs(svc) == before
    assert [i.repo_tags for i in svc.list()] == [("old:1",)]
    assert svc.content.list_ingests() == []
    report = check(svc)
    assert (report.problems, report.unreferenced) == ([], 0)


def test_unknown_layer_media_type_refused(svc):
    data = oci_layout()
    t = tarfile.open(fileobj=io.BytesIO(data))
    entries = []
    for m in t.getmembers():
        b = t.extractfile(m).read()
        entries.append((m.name, b))
    # rewrite the manifest's first layer media type, then re-point index.json at it
    new = []
    for name, b in entries:
        if b"layers" in b and b"schemaVersion" in b:
            old_d = digest.of_bytes(b)
            b = b.replace(mediatypes.OCI_LAYER_GZIP.encode(), b"application/x-unknown", 1)
            new_d = digest.of_bytes(b)
            name = f"./blobs/sha256/{digest.encoded(new_d)}"
            fix = (old_d, new_d, len(b))
        new.append((name, b))
    final = []
    for name, b in new:
        if name.endswith("index.json"):
            d = json.loads(b)
            d["manifests"][0].update(digest=fix[1], size=fix[2])
            b = json.dumps(d).encode()
        final.append((name, b))
    with pytest.raises(InvalidArgument) as e:
        svc.load(io.BytesIO(_tar(final)))
    assert "unsupported media type 'application/x-unknown'" in str(e.value)
    assert list(svc.content.walk()) == []


def test_two_images_on_one_base_share_its_blob(svc):
    """Disk sharing: the base layer is stored once however many images use it."""
    base = svc.import_rootfs(io.BytesIO(BASE), tag="base")
    top = svc.import_rootfs(io.BytesIO(TOP))
    a = svc.create({"architecture": "amd64", "os": "linux"}, [base.layers[0], top.layers[0]], tags=["a"])
    b = svc.create({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["x"]}},
                   [base.layers[0], top.layers[0]], tags=["b"])
    assert a.layers[0].digest == b.layers[0].digest == base.layers[0].digest
    files = list((svc.config.content_dir / "blobs" / "sha256").iterdir())
    inodes = {f.stat().st_ino for f in files}
    # 2 layers + (config + manifest) for base, top, a, b
    assert len(files) == len(inodes) == 2 + 2 * 4


@pytest.mark.slow
def test_kill_9_mid_import_leaves_store_as_before(skiff_exe, skiff_root, tmp_path):
    """A skiff import killed with SIGKILL halfway: nothing visible, system check passes."""
    assert skiff_exe("import", "-", "keep", input=BASE).returncode == 0
    blobs_dir = skiff_root / "content" / "blobs" / "sha256"
    before = sorted(os.listdir(blobs_dir))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    p = subprocess.Popen([sys.executable, "-m", "skiff", "import", str(fifo), "killed"],
                         env={**os.environ, "SKIFF_ROOT": str(skiff_root)},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    big = rootfs_tar({"big": os.urandom(4 << 20)})
    with open(fifo, "wb") as w:
        w.write(big[: len(big) // 2])
        w.flush()
        deadline = time.time() + 20
        ingest = skiff_root / "content" / "ingest"
        while time.time() < deadline and not any(ingest.glob("*/data")):
            time.sleep(0.05)
        time.sleep(0.3)
        p.send_signal(signal.SIGKILL)
        p.wait()
    assert p.returncode == -signal.SIGKILL
    assert sorted(os.listdir(blobs_dir)) == before
    r = skiff_exe("system", "check")
    assert r.returncode == 0, r.stdout
    assert b"0 unreferenced blobs; 1 unfinished ingests; no problems found" in r.stdout
    assert skiff_exe("images", "-q").stdout.decode().count("\n") == 1


@pytest.mark.requires_root
def test_full_disk_mid_import(tmp_path, monkeypatch):
    """ENOSPC while writing the layer: one clear line, nothing half-written left visible."""
    from skiff.cli.main import main

    root = tmp_path / "small"
    root.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(root)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount tmpfs: {r.stderr!r}")
    try:
        monkeypatch.setenv("SKIFF_ROOT", str(root))
        big = tmp_path / "big.tar"
        big.write_bytes(rootfs_tar({"random": os.urandom(3 << 20)}))
        err = io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        monkeypatch.setattr(sys, "stdout", io.StringIO())
        assert main(["import", str(big), "big"]) == 1  # docker: daemon errors exit 1
        assert err.getvalue() == "skiff: writing to the content store: no space left on device\n"
        assert list((root / "content" / "blobs").glob("sha256/*")) == []
        assert list((root / "content" / "ingest").iterdir()) == []
        assert main(["system", "check"]) == 0
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def test_two_processes_load_the_same_archive_at_once(skiff_exe, skiff_root, tmp_path):
    archive = tmp_path / "a.tar"
    archive.write_bytes(oci_layout())
    env = {**os.environ, "SKIFF_ROOT": str(skiff_root)}
    procs = [subprocess.Popen([sys.executable, "-m", "skiff", "load", "-i", str(archive)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [o for o, _ in outs] == [b"Loaded image: oci:2\n"] * 2
    r = skiff_exe("system", "check")
    assert r.returncode == 0
    assert r.stdout.endswith(b"0 unreferenced blobs; 0 unfinished ingests; no problems found\n")
    assert skiff_exe("images", "-q").stdout.count(b"\n") == 1
