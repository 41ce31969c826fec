"""layers.apply: metadata kept, compression, whiteouts (image-spec layer.md), bad archives."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from skiff.errors import InvalidArgument
from skiff.layers import whiteouts as wh
from skiff.layers.apply import apply_layer, apply_tar

from .tarbuilder import MTIME, TarBuilder

requires_root = pytest.mark.requires_root


def _base(root: Path) -> None:
    tb = (TarBuilder().dir("etc").file("etc/hosts", b"127.0.0.1 localhost\n")
          .file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n").dir("var").dir("var/lib")
          .file("var/lib/a", b"a").file("var/lib/b", b"b").dir("var/lib/sub")
          .file("var/lib/sub/c", b"c"))
    apply_layer(root, tb.stream())


def test_regular_file_mode_and_mtime(tmp_path):
    tb = TarBuilder().dir("bin", mode=0o751).file("bin/tool", b"#!/bin/sh\n", mode=0o4755,
                                                  pax={"mtime": "1700000000.123456789"})
    n = apply_layer(tmp_path, tb.stream())
    assert n == len(tb.bytes())
    st = (tmp_path / "bin/tool").stat()
    assert (tmp_path / "bin/tool").read_bytes() == b"#!/bin/sh\n"
    assert stat.S_IMODE(st.st_mode) == 0o4755
    assert st.st_mtime_ns == 1_700_000_000_123_456_789
    dst = (tmp_path / "bin").stat()
    assert stat.S_IMODE(dst.st_mode) == 0o751
    # the directory's mtime is set after its children were written
    assert dst.st_mtime_ns == MTIME * 1_000_000_000


@requires_root
def test_ownership_and_setuid_survive_chown(tmp_path):
    tb = TarBuilder().file("suid", b"x", mode=0o4750, uid=1234, gid=5678)
    apply_layer(tmp_path, tb.stream())
    st = (tmp_path / "suid").lstat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o4750)


@requires_root
def test_security_capability_xattr_survives_chown(tmp_path):
    # cap_net_raw+ep, as setcap writes it (VFS_CAP_REVISION_2)
    cap = bytes.fromhex("0000000200200000000000000000000000000000")
    tb = TarBuilder().file("ping", b"x", mode=0o755, uid=7, xattrs={"security.capability": cap,
                                                                    "user.note": b"hi"})
    apply_layer(tmp_path, tb.stream())
    assert os.getxattr(tmp_path / "ping", "security.capability") == cap
    assert os.getxattr(tmp_path / "ping", "user.note") == b"hi"


def test_archive_cannot_set_overlay_xattrs(tmp_path):
    tb = TarBuilder().dir("d", xattrs={"trusted.overlay.opaque": b"y", "user.k": b"v"})
    apply_layer(tmp_path, tb.stream())
    assert os.getxattr(tmp_path / "d", "user.k") == b"v"
    assert "trusted.overlay.opaque" not in os.listxattr(tmp_path / "d")


def test_symlink_hardlink_fifo(tmp_path):
    tb = (TarBuilder().file("f", b"data").hardlink("h", "f").symlink("s", "f")
          .symlink("dangling", "/nowhere").fifo("p", mode=0o640))
    apply_layer(tmp_path, tb.stream())
    assert (tmp_path / "h").stat().st_ino == (tmp_path / "f").stat().st_ino
    assert (tmp_path / "f").stat().st_nlink == 2
    assert os.readlink(tmp_path / "s") == "f"
    assert os.readlink(tmp_path / "dangling") == "/nowhere"
    assert (tmp_path / "s").lstat().st_mtime == MTIME
    st = (tmp_path / "p").lstat()
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640


@requires_root
def test_device_nodes(tmp_path):
    tb = TarBuilder().dir("dev").chardev("dev/null", 1, 3).blockdev("dev/loop9", 7, 9)
    apply_layer(tmp_path, tb.stream())
    c = (tmp_path / "dev/null").lstat()
    b = (tmp_path / "dev/loop9").lstat()
    assert stat.S_ISCHR(c.st_mode) and (os.major(c.st_rdev), os.minor(c.st_rdev)) == (1, 3)
    assert stat.S_ISBLK(b.st_mode) and (os.major(b.st_rdev), os.minor(b.st_rdev)) == (7, 9)
    assert stat.S_IMODE(c.st_mode) == 0o666


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_any_compression_gives_the_same_tree_and_diff_id(tmp_path, compression):
    tb = TarBuilder().dir("d").file("d/x", b"x" * 5000)
    r = apply_tar(tmp_path, tb.stream(compression))
    assert r.size == len(tb.bytes())
    assert r.diff_id == "sha256:" + hashlib.sha256(tb.bytes()).hexdigest()
    assert r.entries == 2
    assert (tmp_path / "d/x").read_bytes() == b"x" * 5000


def test_entries_replace_what_was_there(tmp_path):
    _base(tmp_path)
    tb = (TarBuilder().file("var/lib", b"now a file").dir("etc/hosts")
          .symlink("etc/passwd", "hosts").dir("etc", mode=0o700))
    apply_layer(tmp_path, tb.stream())
    assert (tmp_path / "var/lib").read_bytes() == b"now a file"
    assert (tmp_path / "etc/hosts").is_dir()
    assert os.readlink(tmp_path / "etc/passwd") == "hosts"
    assert stat.S_IMODE((tmp_path / "etc").stat().st_mode) == 0o700  # dir over dir: merged


def test_whiteouts_delete_files_and_trees(tmp_path):
    _base(tmp_path)
    apply_layer(tmp_path, TarBuilder().whiteout("etc/hosts").whiteout("var/lib/sub").stream())
    assert sorted(os.listdir(tmp_path / "etc")) == ["passwd"]
    assert sorted(os.listdir(tmp_path / "var/lib")) == ["a", "b"]


def test_whiteout_of_missing_path_is_harmless(tmp_path):
    _base(tmp_path)
    apply_layer(tmp_path, TarBuilder().whiteout("nope/deeper").whiteout("etc/nope").stream())
    assert not (tmp_path / "nope").exists()
    assert sorted(os.listdir(tmp_path / "etc")) == ["hosts", "passwd"]


def test_opaque_whiteout_keeps_same_layer_entries(tmp_path):
    # image-spec layer.md: an opaque dir hides the lower layers' children only.
    _base(tmp_path)
    tb = (TarBuilder().dir("var/lib").file("var/lib/before", b"1").opaque("var/lib")
          .file("var/lib/after", b"2"))
    apply_layer(tmp_path, tb.stream())
    assert sorted(os.listdir(tmp_path / "var/lib")) == ["after", "before"]


def test_aufs_metadata_entries_are_ignored(tmp_path):
    apply_layer(tmp_path, TarBuilder().dir(".wh..wh.plnk").file(".wh..wh.aufs", b"").stream())
    assert os.listdir(tmp_path) == []


@requires_root
def test_overlay_mode_writes_kernel_whiteouts(tmp_path):
    tb = TarBuilder().dir("etc").whiteout("etc/hosts").dir("var").opaque("var")
    apply_layer(tmp_path, tb.stream(), whiteouts="overlay")
    assert wh.is_overlay_whiteout((tmp_path / "etc/hosts").lstat())
    assert wh.is_overlay_opaque(tmp_path / "var")
    assert not wh.is_overlay_opaque(tmp_path / "etc")


def test_hardlink_to_missing_target(tmp_path):
    with pytest.raises(InvalidArgument, match="hardlink target 'nope' not found"):
        apply_layer(tmp_path, TarBuilder().hardlink("h", "nope").stream())


def test_truncated_archive(tmp_path):
    data = TarBuilder().file("big", os.urandom(20000)).bytes()
    with pytest.raises(InvalidArgument, match="invalid tar archive"):
        apply_layer(tmp_path, io.BytesIO(data[:9000]))


def test_corrupt_gzip(tmp_path):
    data = TarBuilder().file("big", b"y" * 20000).stream("gzip").getvalue()
    with pytest.raises(InvalidArgument):
        apply_layer(tmp_path, io.BytesIO(data[:40] + b"\x00" * 40 + data[80:]))


def test_garbage_is_not_a_tar(tmp_path):
    with pytest.raises(InvalidArgument, match="invalid tar archive"):
        apply_layer(tmp_path, io.BytesIO(b"this is not a tar archive at all" * 40))


def test_empty_blob_is_an_empty_layer(tmp_path):
    assert apply_layer(tmp_path, io.BytesIO(b"")) == 0
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_truncated_compressed_stream(tmp_path, compression):
    data = TarBuilder().file("big", os.urandom(30000)).stream(compression).getvalue()
    with pytest.raises(InvalidArgument, match="layer: invalid"):
        apply_layer(tmp_path, io.BytesIO(data[: len(data) // 2]))


def test_corrupt_zstd(tmp_path):
    data = bytearray(TarBuilder().file("big", b"z" * 30000).stream("zstd").getvalue())
    data[10:30] = b"\xff" * 20
    with pytest.raises(InvalidArgument, match="layer: invalid"):
        apply_layer(tmp_path, io.BytesIO(bytes(data)))
