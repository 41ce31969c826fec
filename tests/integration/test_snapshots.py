"""Snapshotter behaviour suite (after containerd core/snapshots/testsuite): Basic, Remove,
ViewReadonly, 128LayersMount, commit/prepare errors, cleanup, usage. Needs root + overlayfs."""

from __future__ import annotations

import errno
import os
import subprocess

import pytest

from skiff.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from skiff.snapshots import Kind, Mount

from .snapfixtures import Mounted, commit_files, make_snapshotter, tree

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_overlay]


@pytest.fixture
def sn(skiff_root):
    s = make_snapshotter(skiff_root)
    yield s
    s.db.close()


def test_basic(sn, skiff_root):
    sdir = skiff_root / "snapshots"
    mounts = sn.prepare("a", None)
    assert mounts == [Mount("bind", str(sdir / "1" / "fs"), ("rbind", "rw"))]
    with Mounted(mounts, skiff_root / "mnt") as m:
        (m / "etc").mkdir()
        (m / "etc" / "hosts").write_text("base\n")
        (m / "gone").write_text("x")
    sn.commit("base", "a")
    info = sn.stat("base")
    assert (info.kind, info.parent, info.id) == (Kind.COMMITTED, None, 1)
    assert not sn.exists("a")

    mounts = sn.prepare("b", "base")
    assert mounts == [Mount("overlay", "overlay", ("index=off", "redirect_dir=off",
                                                   "metacopy=off", f"workdir={sdir}/2/work",
                                                   f"upperdir={sdir}/2/fs",
                                                   f"lowerdir={sdir}/1/fs"))]
    with Mounted(mounts, skiff_root / "mnt") as m:
        assert (m / "etc" / "hosts").read_text() == "base\n"
        (m / "etc" / "hosts").write_text("changed\n")
        (m / "new").write_text("n")
        os.unlink(m / "gone")
    assert sorted(os.listdir(sn.upperdir("b"))) == ["etc", "gone", "new"]
    sn.commit("top", "b")
    assert sn.lowerdirs("top") == [sdir / "1" / "fs"]

    mounts = sn.view("v", "top")
    assert mounts == [Mount("overlay", "overlay", (f"lowerdir={sdir}/2/fs:{sdir}/1/fs",))]
    with Mounted(mounts, skiff_root / "mnt") as m:
        assert tree(m) == ["etc", "etc/hosts", "new"]
        assert (m / "etc" / "hosts").read_text() == "changed\n"
    # the base level was not touched by the layer above it
    assert (sdir / "1" / "fs" / "etc" / "hosts").read_text() == "base\n"
    assert [i.key for i in sn.list()] == ["base", "top", "v"]


def test_view_readonly(sn, skiff_root):
    commit_files(sn, "l1", None, {"one": b"1"})
    commit_files(sn, "l2", "l1", {"two": b"2"})
    single = sn.view("v1", "l1")
    assert single == [Mount("bind", str(sn.upperdir("l1")), ("rbind", "ro"))]
    assert single[0].readonly
    for key, parent in (("v1", "l1"), ("v2", "l2")):
        mounts = single if key == "v1" else sn.view(key, parent)
        with Mounted(mounts, skiff_root / "mnt" / key) as m:
            assert (m / "one").read_bytes() == b"1"
            with pytest.raises(OSError) as e:
                (m / "write").write_bytes(b"x")
            assert e.value.errno == errno.EROFS
    with pytest.raises(InvalidArgument, match="not active"):
        sn.commit("nope", "v2")


def test_view_without_parent_is_empty_ro_bind(sn, skiff_root):
    mounts = sn.view("empty", None)
    assert mounts == [Mount("bind", str(sn.upperdir("empty")), ("rbind", "ro"))]
    with Mounted(mounts, skiff_root / "mnt") as m:
        assert os.listdir(m) == []


def test_remove(sn, skiff_root):
    commit_files(sn, "base", None, {"f": b"f"})
    sn.prepare("c1", "base")
    d = sn.upperdir("c1").parent
    sn.remove("c1")
    assert not sn.exists("c1") and not d.exists()
    sn.prepare("c2", "base")
    with pytest.raises(Conflict, match="cannot remove a snapshot with 1 child"):
        sn.remove("base")
    sn.remove("c2")
    sn.remove("base")
    with pytest.raises(NotFound):
        sn.remove("base")
    assert sn.list() == []
    assert sorted(os.listdir(skiff_root / "snapshots")) == []


def test_128_layers_mount(sn, skiff_root):
    parent = None
    for i in range(128):
        parent = commit_files(sn, f"layer{i}", parent, {f"f{i:03}": str(i).encode()})
    mounts = sn.prepare("top", parent)
    opts = ",".join(mounts[0].options)
    assert len(opts) > 4096  # longer than a page: mount_all must compact it
    assert len(sn.lowerdirs("top")) == 128
    with Mounted(mounts, skiff_root / "mnt") as m:
        assert sorted(os.listdir(m)) == [f"f{i:03}" for i in range(128)]
        assert (m / "f000").read_bytes() == b"0"
        (m / "f127").write_bytes(b"mine")
    assert os.listdir(sn.upperdir("top")) == ["f127"]


def test_prepare_and_commit_errors(sn, skiff_root):
    sn.prepare("act", None)
    with pytest.raises(AlreadyExists, match="snapshot act: already exists"):
        sn.prepare("act", None)
    with pytest.raises(NotFound, match="snapshot missing: parent does not exist"):
        sn.prepare("x", "missing")
    with pytest.raises(InvalidArgument, match="parent is not a committed snapshot"):
        sn.prepare("x", "act")
    with pytest.raises(NotFound):
        sn.commit("n", "missing")
    commit_files(sn, "taken", None, {})
    with pytest.raises(AlreadyExists):
        sn.commit("taken", "act")
    with pytest.raises(InvalidArgument):
        sn.prepare("", None)
    # failed prepares leave no directories behind
    assert sorted(os.listdir(skiff_root / "snapshots")) == ["1", "2"]


def test_cleanup_removes_orphans_only(sn, skiff_root):
    commit_files(sn, "keep", None, {"k": b"k"})
    sn.prepare("active", "keep")
    sdir = skiff_root / "snapshots"
    for orphan in ("new-crashed", "999", "rm-7-dead"):
        (sdir / orphan / "fs").mkdir(parents=True)
        (sdir / orphan / "fs" / "junk").write_bytes(b"j")
    assert sn.cleanup() == 3
    assert sorted(os.listdir(sdir)) == ["1", "2"]
    assert (sn.upperdir("keep") / "k").read_bytes() == b"k"
    assert sn.cleanup() == 0


def test_orphan_directory_number_is_not_reused(sn, skiff_root):
    (skiff_root / "snapshots" / "1").mkdir()  # left by a crash between rename and COMMIT
    sn.prepare("a", None)
    assert sn.stat("a").id == 2


def test_usage_counts_hardlinks_once_like_du(sn, skiff_root):
    sn.prepare("u", None)
    up = sn.upperdir("u")
    (up / "big").write_bytes(os.urandom(300_000))
    os.link(up / "big", up / "hard")
    (up / "d").mkdir()
    (up / "d" / "small").write_bytes(b"s")
    du = subprocess.run(["du", "-s", "--block-size=1", str(up.parent)], capture_output=True,
                        text=True, check=True).stdout.split()[0]
    assert sn.usage("u") == int(du)
    assert sn.usage_detail("u").inodes == 6  # <n>, fs, work, big(=hard), d, d/small
    sn.commit("c", "u")
    assert sn.stat("c").size == int(du)
    assert sn.usage("c") == int(du)


def test_two_processes_share_the_store(skiff_root):
    a, b = make_snapshotter(skiff_root), make_snapshotter(skiff_root)
    commit_files(a, "base", None, {"x": b"x"})
    assert b.stat("base").kind == Kind.COMMITTED
    b.prepare("c", "base")
    with pytest.raises(AlreadyExists):
        a.prepare("c", "base")


def _level(sn, skiff_root, name, parent, change):
    """prepare on ``parent`` → mount → change(mounted dir) → unmount → commit as ``name``."""
    key = f"work-{name}"
    with Mounted(sn.prepare(key, parent), skiff_root / "mnt" / name) as m:
        change(m)
    sn.commit(name, key)
    return name


def _view(sn, skiff_root, name):
    key = f"view-{name}-{len(sn.list())}"
    return Mounted(sn.view(key, name), skiff_root / "mnt" / key)


def test_remove_directory_in_lower_layer(sn, skiff_root):
    def base(m):
        (m / "a" / "b" / "c").mkdir(parents=True)
        (m / "a" / "b" / "c" / "f").write_bytes(b"f")
        (m / "keep").write_bytes(b"k")

    _level(sn, skiff_root, "base", None, base)
    _level(sn, skiff_root, "rm", "base", lambda m: subprocess.run(["rm", "-rf", str(m / "a")],
                                                                  check=True))
    with _view(sn, skiff_root, "rm") as m:
        assert tree(m) == ["keep"]
    with _view(sn, skiff_root, "base") as m:
        assert tree(m) == ["a", "a/b", "a/b/c", "a/b/c/f", "keep"]


def test_chown_and_chmod_of_lower_entries(sn, skiff_root):
    def base(m):
        (m / "d").mkdir(mode=0o755)
        (m / "d" / "f").write_bytes(b"f")

    def change(m):
        os.chown(m / "d", 1000, 1000)
        os.chmod(m / "d", 0o700)
        os.chown(m / "d" / "f", 65534, 65534)

    _level(sn, skiff_root, "base", None, base)
    _level(sn, skiff_root, "owned", "base", change)
    with _view(sn, skiff_root, "owned") as m:
        st = (m / "d").stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (1000, 1000, 0o700)
        assert (m / "d" / "f").stat().st_uid == 65534
        assert (m / "d" / "f").read_bytes() == b"f"
    with _view(sn, skiff_root, "base") as m:
        assert (m / "d").stat().st_uid == 0


def test_rename_file_from_lower_layer(sn, skiff_root):
    _level(sn, skiff_root, "base", None, lambda m: (m / "old").write_bytes(b"data"))
    _level(sn, skiff_root, "mv", "base", lambda m: os.rename(m / "old", m / "new"))
    with _view(sn, skiff_root, "mv") as m:
        assert tree(m) == ["new"]
        assert (m / "new").read_bytes() == b"data"


def test_deleted_then_recreated_across_levels(sn, skiff_root):
    def base(m):
        (m / "dir").mkdir()
        (m / "dir" / "a").write_bytes(b"a")
        (m / "file").write_bytes(b"v1")

    def delete(m):
        os.unlink(m / "file")
        subprocess.run(["rm", "-rf", str(m / "dir")], check=True)

    def recreate(m):
        (m / "file").write_bytes(b"v3")
        (m / "dir").mkdir()
        (m / "dir" / "b").write_bytes(b"b")

    _level(sn, skiff_root, "l1", None, base)
    _level(sn, skiff_root, "l2", "l1", delete)
    _level(sn, skiff_root, "l3", "l2", recreate)
    with _view(sn, skiff_root, "l2") as m:
        assert tree(m) == []
    with _view(sn, skiff_root, "l3") as m:
        # the recreated directory does not show the deleted one's contents
        assert tree(m) == ["dir", "dir/b", "file"]
        assert (m / "file").read_bytes() == b"v3"


def test_stat_active_and_committed(sn):
    sn.prepare("a", None, labels={"owner": "test"})
    info = sn.stat("a")
    assert (info.key, info.kind, info.parent, info.size, info.labels) == \
        ("a", Kind.ACTIVE, None, None, {"owner": "test"})
    sn.commit("c", "a")
    info = sn.stat("c")
    assert (info.key, info.kind, info.parent, info.labels) == \
        ("c", Kind.COMMITTED, None, {"owner": "test"})
    assert info.size == sn.usage("c") > 0
    sn.prepare("b", "c")
    assert sn.stat("b").parent == "c"
    with pytest.raises(NotFound, match="snapshot nope: does not exist"):
        sn.stat("nope")


def test_diff_of_container_reapplies_to_the_same_tree(sn, skiff_root):
    """The build path: diff a level's upperdir to a layer tar; applying that tar on the
    parent in a fresh snapshot gives the same mounted tree."""
    import io

    from skiff.layers.apply import apply_layer
    from skiff.layers.diff import write_layer

    def base(m):
        (m / "etc").mkdir()
        (m / "etc" / "a").write_bytes(b"a")
        (m / "etc" / "b").write_bytes(b"b")
        (m / "var").mkdir()
        (m / "var" / "old").write_bytes(b"o")

    def change(m):
        os.unlink(m / "etc" / "a")
        subprocess.run(["rm", "-rf", str(m / "var")], check=True)
        (m / "var").mkdir()
        (m / "var" / "new").write_bytes(b"n")
        os.symlink("b", m / "etc" / "link")

    _level(sn, skiff_root, "base", None, base)
    _level(sn, skiff_root, "changed", "base", change)
    buf = io.BytesIO()
    write_layer(sn.upperdir("changed"), buf, lower=sn.lowerdirs("changed"))
    sn.prepare("replay", "base")
    apply_layer(sn.upperdir("replay"), io.BytesIO(buf.getvalue()), whiteouts="overlay")
    sn.commit("replayed", "replay")
    with _view(sn, skiff_root, "changed") as a, _view(sn, skiff_root, "replayed") as b:
        assert tree(a) == tree(b) == ["etc", "etc/b", "etc/link", "var", "var/new"]


def test_renamed_lower_directory_survives_diff_and_replay(sn, skiff_root):
    """With redirect_dir off, renaming a lower directory copies it up (mv falls back to a
    copy on EXDEV), so its diff carries the data and replays to the same tree."""
    import io

    from skiff.layers.apply import apply_layer
    from skiff.layers.diff import write_layer

    def base(m):
        (m / "dir" / "sub").mkdir(parents=True)
        (m / "dir" / "sub" / "f").write_bytes(b"f")

    _level(sn, skiff_root, "base", None, base)
    _level(sn, skiff_root, "mv", "base",
           lambda m: subprocess.run(["mv", str(m / "dir"), str(m / "moved")], check=True))
    buf = io.BytesIO()
    write_layer(sn.upperdir("mv"), buf, lower=sn.lowerdirs("mv"))
    sn.prepare("replay", "base")
    apply_layer(sn.upperdir("replay"), io.BytesIO(buf.getvalue()), whiteouts="overlay")
    sn.commit("replayed", "replay")
    with _view(sn, skiff_root, "replayed") as m:
        assert tree(m) == ["moved", "moved/sub", "moved/sub/f"]
        assert (m / "moved" / "sub" / "f").read_bytes() == b"f"
