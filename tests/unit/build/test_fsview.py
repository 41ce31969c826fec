"""The merged view over an unmounted snapshot (overlayfs lookup rules)."""

from __future__ import annotations

import os
import stat

import pytest

from skiff.build.copy import Copier
from skiff.build.fsview import LayeredFS
from skiff.errors import BuildError

pytestmark = pytest.mark.requires_root  # whiteouts are device nodes, opaque is trusted.*


@pytest.fixture
def layers(tmp_path):
    low, mid, up = (tmp_path / n for n in ("low", "mid", "up"))
    for d in (low, mid, up):
        d.mkdir()
    (low / "etc").mkdir()
    (low / "etc/passwd").write_text("root:x:0:0::/:/bin/sh\nnode:x:1000:1000::/:/bin/sh\n")
    (low / "app").mkdir(mode=0o750)
    os.chown(low / "app", 1000, 1000)
    (low / "app/old.txt").write_text("old")
    (low / "gone").write_text("x")
    (low / "data").mkdir()
    (low / "data/hidden.txt").write_text("h")
    (low / "cur").symlink_to("/app")
    os.mknod(mid / "gone", stat.S_IFCHR | 0o000, 0)       # whiteout
    (mid / "data").mkdir()
    os.setxattr(mid / "data", "trusted.overlay.opaque", b"y")  # opaque
    (mid / "data/new.txt").write_text("n")
    return LayeredFS(up, [mid, low])


def test_lookups(layers):
    assert layers.is_dir("/app")
    assert not layers.exists("/gone")
    assert layers.exists("/data/new.txt") and not layers.exists("/data/hidden.txt")
    assert layers.resolve("/cur/old.txt") == "/app/old.txt"
    assert layers.read_text("/etc/passwd").startswith("root:")
    assert layers.resolve("/../../cur") == "/app"


def test_ensure_dir_copies_up_metadata(layers):
    p = layers.ensure_dir("/cur/sub", 5, 5)
    assert p == layers.upper / "app/sub"
    st = os.lstat(layers.upper / "app")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o750, 1000, 1000)
    st = os.lstat(p)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o755, 5, 5)
    with pytest.raises(BuildError, match="not a directory"):
        layers.ensure_dir("/etc/passwd/x")


def test_copier_writes_only_the_new_entries_to_upper(layers, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    Copier(src, layers).copy(["a.txt"], "/cur")  # an existing dir through a symlink
    assert (layers.upper / "app/a.txt").read_text() == "a"
    assert sorted(os.listdir(layers.upper)) == ["app"]
    assert sorted(os.listdir(layers.upper / "app")) == ["a.txt"]
