"""umoci (a real OCI image tool) builds a two-layer image whose second layer deletes a file
and replaces a directory's contents; skiff loads it, unpacks it into snapshots, and the
mounted rootfs is the tree umoci itself unpacks (the deletion shows)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from skiff.images import ImageService
from skiff.snapshots import unpack

from ..integration.snapfixtures import Mounted, make_snapshotter, tree

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_overlay,
              pytest.mark.requires_peer("umoci")]


def _umoci(*args: str, cwd: Path) -> None:
    subprocess.run(["umoci", *args], cwd=cwd, check=True, capture_output=True)


def _describe(root: Path) -> dict[str, tuple[int, bytes | str]]:
    out = {}
    for rel in tree(root):
        p = root / rel
        st = p.lstat()
        if stat.S_ISREG(st.st_mode):
            body: bytes | str = p.read_bytes()
        elif stat.S_ISLNK(st.st_mode):
            body = os.readlink(p)
        else:
            body = b""
        out[rel] = (st.st_mode, st.st_uid, st.st_gid, body)
    return out


def test_umoci_image_with_deletion(tmp_path, skiff_root):
    w = tmp_path / "umoci"
    w.mkdir()
    _umoci("init", "--layout", "img", cwd=w)
    _umoci("new", "--image", "img:t", cwd=w)
    _umoci("unpack", "--image", "img:t", "bundle", cwd=w)
    rootfs = w / "bundle" / "rootfs"
    (rootfs / "etc").mkdir()
    (rootfs / "etc" / "hosts").write_text("hi\n")
    (rootfs / "etc" / "keep").write_text("keep\n")
    os.symlink("keep", rootfs / "etc" / "link")
    (rootfs / "d").mkdir()
    (rootfs / "d" / "x").write_text("x\n")
    _umoci("repack", "--refresh-bundle", "--image", "img:t", "bundle", cwd=w)
    (rootfs / "etc" / "hosts").unlink()
    (rootfs / "d" / "x").unlink()
    (rootfs / "d" / "y").write_text("y\n")
    os.chmod(rootfs / "etc" / "keep", 0o600)
    _umoci("repack", "--image", "img:t", "bundle", cwd=w)
    _umoci("unpack", "--image", "img:t", "check", cwd=w)
    subprocess.run(["tar", "-C", str(w / "img"), "-cf", str(w / "img.tar"), "."], check=True)

    sn = make_snapshotter(skiff_root)
    images = ImageService(sn.config, sn.db)
    with open(w / "img.tar", "rb") as f:
        [(image_id, _)] = images.load(f)
    img = images.get(image_id)
    assert len(img.layers) == 2
    top = unpack(sn, images.content, img)
    with Mounted(sn.view("check", top), skiff_root / "mnt") as m:
        assert tree(m) == ["d", "d/y", "etc", "etc/keep", "etc/link"]
        assert _describe(m) == _describe(w / "check" / "rootfs")
    sn.db.close()
