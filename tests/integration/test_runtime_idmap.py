"""skiff.snapshots.idmap on the real snapshotter: a 128-layer chain (overlay options past
a page, as containerd's 128LayersMount) mounted with every layer idmapped."""

from __future__ import annotations

import os

import pytest

from skiff.snapshots import idmap
from skiff.snapshots.mount import unmount

from .snapfixtures import commit_files, make_snapshotter

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_overlay,
              pytest.mark.skipif(not idmap.supported(), reason="kernel without idmapped mounts")]


def test_128_idmapped_layers(skiff_root):
    sn = make_snapshotter(skiff_root)
    try:
        parent = None
        for i in range(128):
            parent = commit_files(sn, f"layer{i}", parent, {f"f{i:03}": str(i).encode()})
        mounts = sn.prepare("top", parent)
        target = skiff_root / "mnt"
        target.mkdir()
        scratch = skiff_root / "idmap"
        idmap.mount_idmapped(mounts, str(target), str(scratch),
                             [(0, 300000, 65536)], [(0, 400000, 65536)])
        try:
            assert sorted(os.listdir(target)) == [f"f{i:03}" for i in range(128)]
            st = os.stat(target / "f000")
            assert (st.st_uid, st.st_gid) == (300000, 400000)  # on disk: 0:0
            assert os.stat(sn.lowerdirs("top")[-1] / "f000").st_uid == 0
            assert (target / "f127").read_bytes() == b"127"
            (target / "f127").write_bytes(b"mine")  # copied up with the mapped owner
            st = os.stat(sn.upperdir("top") / "f127")
            assert (st.st_uid, st.st_gid) == (300000, 400000)
            assert not scratch.exists()  # the layer mounts were detached and removed
        finally:
            unmount(str(target))
    finally:
        sn.db.close()
