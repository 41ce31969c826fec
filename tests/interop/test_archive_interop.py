"""skiff's archives against the real peers from Debian: umoci and skopeo.

- umoci builds an OCI image in two layers (a file deleted in the second) → skiff loads a
  tar of that layout; the second layer carries the OCI whiteout for the deleted file.
- skiff saves → ``skopeo inspect docker-archive:`` accepts it → ``skopeo copy`` to an OCI
  layout → ``umoci unpack`` gives back the very tree skiff imported.
- ``skopeo copy ... oci-archive:`` output loads into skiff with the same layer diffIDs.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.requires_root]


def run(*args: str, cwd: Path | None = None) -> str:
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{args}: {r.stderr}"
    return r.stdout


def tree(root: Path) -> dict[str, object]:
    """path → ('dir'|'link'|file bytes, mode) for everything under root."""
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = str(p.relative_to(root))
            st = p.lstat()
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = ("dir", st.st_mode & 0o7777)
            else:
                out[rel] = (p.read_bytes(), st.st_mode & 0o7777)
    return out


def _umoci_image_with_deletion(tmp_path: Path) -> Path:
    """An OCI layout tar from umoci: layer 1 adds keep+gone, layer 2 deletes gone."""
    layout = tmp_path / "L"
    run("umoci", "init", "--layout", str(layout))
    run("umoci", "new", "--image", f"{layout}:t")
    b = tmp_path / "b"
    run("umoci", "unpack", "--image", f"{layout}:t", str(b))
    (b / "rootfs" / "keep").write_text("hi\n")
    (b / "rootfs" / "gone").write_text("bye\n")
    run("umoci", "repack", "--image", f"{layout}:t", str(b))
    run("rm", "-rf", str(b))
    run("umoci", "unpack", "--image", f"{layout}:t", str(b))
    (b / "rootfs" / "gone").unlink()
    run("umoci", "repack", "--image", f"{layout}:t", str(b))
    # a tar of the layout, as people ship them; ref.name "t" alone names nothing
    archive = tmp_path / "layout.tar"
    run("tar", "-C", str(layout), "-cf", str(archive), ".")
    return archive


@pytest.mark.requires_peer("umoci")
def test_umoci_image_with_deletion_loads(cli, tmp_path):
    archive = _umoci_image_with_deletion(tmp_path)
    r = cli("load", "-i", str(archive))
    assert r.code == 0, r
    assert r.out.startswith("Loaded image ID: sha256:")
    image_id = r.out.split()[-1]
    (d,) = json.loads(cli("inspect", image_id).out)
    assert len(d["RootFS"]["Layers"]) == 2
    assert cli("system", "check").code == 0
    # the second layer deletes "gone" with an OCI whiteout
    from skiff.config import Config
    from skiff.images import ImageService
    from skiff.metadata import connect

    cfg = Config.from_env()
    svc = ImageService(cfg, connect(cfg.metadata_path))
    img = svc.get(image_id)
    from skiff.layers.compression import decompressed

    with svc.content.open(img.layers[1].digest) as f, \
            tarfile.open(fileobj=decompressed(f), mode="r|") as t:
        names = [m.name.removeprefix("./") for m in t]
    assert ".wh.gone" in names
    with svc.content.open(img.layers[0].digest) as f, \
            tarfile.open(fileobj=decompressed(f), mode="r|") as t:
        assert {"keep", "gone"} <= {m.name.removeprefix("./") for m in t}


@pytest.mark.requires_peer("skopeo", "umoci")
def test_skiff_save_is_read_by_skopeo_and_umoci(cli, busybox_tar, tmp_path):
    image_id = cli("import", str(busybox_tar), "bb:1", "-c", 'CMD ["sh"]').out.strip()
    out = tmp_path / "bb.tar"
    assert cli("save", "-o", str(out), "bb:1").code == 0
    info = json.loads(run("skopeo", "inspect", f"docker-archive:{out}"))
    (d,) = json.loads(cli("inspect", "bb:1").out)
    assert info["Layers"] == d["RootFS"]["Layers"]
    assert (info["Os"], info["Architecture"]) == ("linux", "amd64")
    assert info["Created"] == d["Created"]
    raw = json.loads(run("skopeo", "inspect", "--config", "--raw", f"docker-archive:{out}"))
    assert raw["config"]["Cmd"] == ["sh"]
    assert image_id.startswith("sha256:")
    # skopeo copies it to an OCI layout that umoci unpacks to the tree we imported
    run("skopeo", "copy", "-q", f"docker-archive:{out}", f"oci:{tmp_path / 'oci'}:bb")
    run("umoci", "unpack", "--image", f"{tmp_path / 'oci'}:bb", str(tmp_path / "bundle"))
    src = tmp_path / "src"
    src.mkdir()
    run("tar", "-C", str(src), "-xpf", str(busybox_tar))
    got = tree(tmp_path / "bundle" / "rootfs")
    want = tree(src)
    assert got.keys() == want.keys()
    assert got == want


@pytest.mark.requires_peer("skopeo")
def test_skopeo_oci_archive_loads(cli, busybox_tar, tmp_path):
    cli("import", str(busybox_tar), "bb:1")
    out = tmp_path / "bb.tar"
    assert cli("save", "-o", str(out), "bb:1").code == 0
    oa = tmp_path / "oa.tar"
    run("skopeo", "copy", "-q", f"docker-archive:{out}", f"oci-archive:{oa}:example.com/bb:2")
    da = tmp_path / "da.tar"
    run("skopeo", "copy", "-q", f"docker-archive:{out}", f"docker-archive:{da}:other/bb:3")
    (want,) = json.loads(cli("inspect", "bb:1").out)
    cli("rmi", "bb:1")
    r = cli("load", "-i", str(oa))
    assert (r.code, r.out) == (0, "Loaded image: example.com/bb:2\n")
    r = cli("load", "-i", str(da))
    assert (r.code, r.out) == (0, "Loaded image: other/bb:3\n")
    for name in ("example.com/bb:2", "other/bb:3"):
        (d,) = json.loads(cli("inspect", name).out)
        assert d["RootFS"] == want["RootFS"]
        assert d["Size"] == want["Size"]
    assert cli("system", "check").code == 0


@pytest.mark.requires_peer("umoci")
@pytest.mark.requires_overlay
def test_umoci_deletion_shows_in_the_snapshot(cli, tmp_path):
    """skiff loads umoci's image, unpacks it into snapshots; the mounted view lacks 'gone'."""
    from skiff.config import Config
    from skiff.images import ImageService
    from skiff.metadata import connect
    from skiff.snapshots import Snapshotter, mount_all, unmount, unpack

    r = cli("load", "-i", str(_umoci_image_with_deletion(tmp_path)))
    image_id = r.out.split()[-1]
    cfg = Config.from_env()
    db = connect(cfg.metadata_path)
    svc = ImageService(cfg, db)
    img = svc.get(image_id)
    sn = Snapshotter(cfg, db)
    top = unpack(sn, svc.content, img)
    assert top == img.chain_id
    assert svc.chain_ids_in_use() == set(img.chain_ids)
    target = tmp_path / "view"
    target.mkdir()
    mount_all(sn.view("check-view", top), target)
    try:
        assert (target / "keep").read_text() == "hi\n"
        assert not (target / "gone").exists()
    finally:
        unmount(target)
        sn.remove("check-view")
    # system df -v: the unpacked levels are the image's shared snapshots; bytes add up to du
    from skiff.images.check import attribute

    parts = attribute(svc)
    du = int(subprocess.run(["du", "-s", "-B1", str(cfg.root)], capture_output=True, text=True,
                            check=True).stdout.split()[0])
    assert sum(n for _, _, n in parts) == du
    assert "shared snapshots (unpacked image layers)" in [o for _, o, _ in parts]
