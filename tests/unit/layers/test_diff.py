"""layers.diff: upperdir → OCI layer tar (whiteouts converted, deterministic) and changes()."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from skiff.layers import whiteouts as wh
from skiff.layers.apply import apply_layer
from skiff.layers.diff import changes, write_layer

from .tarbuilder import TarBuilder

requires_root = pytest.mark.requires_root
T = 1_600_000_000


def _tree(d: Path) -> None:
    (d / "b").mkdir(parents=True)
    (d / "b" / "z").write_bytes(b"zz")
    (d / "a-c").write_bytes(b"ac")
    (d / "a").mkdir()
    (d / "a" / "f").write_bytes(b"f")
    os.link(d / "a" / "f", d / "b" / "hard")
    os.symlink("../a/f", d / "b" / "sym")
    os.mkfifo(d / "fifo")
    os.setxattr(d / "a-c", "user.x", b"1")
    for p in sorted(d.rglob("*"), reverse=True):
        os.utime(p, (T, T + 0.7), follow_symlinks=False)


def _members(data: bytes) -> list[tuple[str, bytes, str]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return [(m.name, m.type, m.linkname) for m in tf]


def test_tar_order_types_and_hardlinks(tmp_path):
    _tree(tmp_path / "up")
    out = io.BytesIO()
    write_layer(tmp_path / "up", out)
    assert _members(out.getvalue()) == [
        ("a", tarfile.DIRTYPE, ""),
        ("a/f", tarfile.REGTYPE, ""),
        ("a-c", tarfile.REGTYPE, ""),
        ("b", tarfile.DIRTYPE, ""),
        ("b/hard", tarfile.LNKTYPE, "a/f"),
        ("b/sym", tarfile.SYMTYPE, "../a/f"),
        ("b/z", tarfile.REGTYPE, ""),
        ("fifo", tarfile.FIFOTYPE, ""),
    ]
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        m = tf.getmember("a-c")
        assert (m.mtime, m.uname, m.gname) == (T, "", "")
        assert m.pax_headers["SCHILY.xattr.user.x"] == "1"
        assert tf.extractfile("b/z").read() == b"zz"


def test_same_tree_same_bytes(tmp_path):
    _tree(tmp_path / "one")
    _tree(tmp_path / "two")
    outs = []
    for d in ("one", "two", "one"):
        buf = io.BytesIO()
        write_layer(tmp_path / d, buf)
        outs.append(buf.getvalue())
    assert outs[0] == outs[1] == outs[2]


def test_round_trip_through_apply(tmp_path):
    _tree(tmp_path / "up")
    buf = io.BytesIO()
    write_layer(tmp_path / "up", buf)
    (tmp_path / "copy").mkdir()
    apply_layer(tmp_path / "copy", io.BytesIO(buf.getvalue()))
    again = io.BytesIO()
    write_layer(tmp_path / "copy", again)
    assert again.getvalue() == buf.getvalue()


@requires_root
def test_overlay_whiteouts_become_oci_whiteouts(tmp_path):
    up = tmp_path / "up"
    (up / "etc").mkdir(parents=True)
    wh.make_overlay_whiteout(str(up / "etc" / "hosts"))
    (up / "var").mkdir()
    wh.mark_overlay_opaque(str(up / "var"))
    (up / "var" / "new").write_bytes(b"n")
    buf = io.BytesIO()
    write_layer(up, buf)
    assert _members(buf.getvalue()) == [
        ("etc", tarfile.DIRTYPE, ""),
        ("etc/.wh.hosts", tarfile.REGTYPE, ""),
        ("var", tarfile.DIRTYPE, ""),
        ("var/.wh..wh..opq", tarfile.REGTYPE, ""),
        ("var/new", tarfile.REGTYPE, ""),
    ]
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tf:
        assert "SCHILY.xattr.trusted.overlay.opaque" not in tf.getmember("var").pax_headers
        assert tf.getmember("etc/.wh.hosts").mode == 0o600
    # and back: applied in overlay mode, the kernel's whiteouts are reproduced
    (tmp_path / "again").mkdir()
    apply_layer(tmp_path / "again", io.BytesIO(buf.getvalue()), whiteouts="overlay")
    assert wh.is_overlay_whiteout((tmp_path / "again/etc/hosts").lstat())
    assert wh.is_overlay_opaque(tmp_path / "again/var")


@requires_root
def test_whiteouts_hiding_nothing_are_dropped_when_lower_given(tmp_path):
    up, low = tmp_path / "up", tmp_path / "low"
    up.mkdir()
    (low / "etc").mkdir(parents=True)
    (low / "etc" / "hosts").write_bytes(b"h")
    (up / "etc").mkdir()
    wh.make_overlay_whiteout(str(up / "etc" / "hosts"))
    wh.make_overlay_whiteout(str(up / "etc" / "never-existed"))
    buf = io.BytesIO()
    write_layer(up, buf, lower=[low])
    assert [m[0] for m in _members(buf.getvalue())] == ["etc", "etc/.wh.hosts"]


@requires_root
def test_changes_as_docker_diff(tmp_path):
    low = tmp_path / "low"
    low.mkdir()
    apply_layer(low, TarBuilder().dir("etc")
                .file("etc/hosts", b"h").file("etc/passwd", b"p").dir("var").dir("var/cache")
                .file("var/cache/x", b"x").dir("usr").stream())
    up = tmp_path / "up"
    up.mkdir()
    (up / "etc").mkdir()
    st = (low / "etc").stat()
    os.chmod(up / "etc", st.st_mode)
    (up / "etc" / "passwd").write_bytes(b"changed")
    wh.make_overlay_whiteout(str(up / "etc" / "hosts"))
    (up / "var").mkdir()
    (up / "var" / "cache").mkdir()
    wh.mark_overlay_opaque(str(up / "var" / "cache"))
    (up / "var" / "cache" / "y").write_bytes(b"y")
    (up / "tmp").mkdir()
    (up / "tmp" / "new").write_bytes(b"n")
    # Docker's overlay2 Changes is moby's naive tree diff: a directory's own mtime is not
    # a change, but every directory holding a change is "C"; the opaque /var/cache is the
    # same directory with its old entry x deleted and y added.
    vst = (low / "var").stat()
    os.utime(up / "var", ns=(vst.st_atime_ns, vst.st_mtime_ns))
    os.utime(up / "etc", ns=(0, 0))
    assert changes(up, [low]) == [
        ("C", "/etc"),
        ("D", "/etc/hosts"),
        ("C", "/etc/passwd"),
        ("A", "/tmp"),
        ("A", "/tmp/new"),
        ("C", "/var"),
        ("C", "/var/cache"),
        ("D", "/var/cache/x"),
        ("A", "/var/cache/y"),
    ]
    # skipped paths (the runtime's mount points) and what is below them are left out
    assert changes(up, [low], skip=frozenset({"/tmp", "/var"})) == [
        ("C", "/etc"), ("D", "/etc/hosts"), ("C", "/etc/passwd")]


@requires_root
def test_changes_follow_the_merged_lower_view(tmp_path):
    # two lowers, newest first: a path whited out or hidden by an opaque directory in the
    # newer one does not exist below, so recreating it is "A"; a copied-up file with the
    # same metadata is no change; a chmod is.
    old = tmp_path / "old"
    old.mkdir()
    apply_layer(old, TarBuilder().dir("d").file("d/gone", b"g").dir("o").file("o/x", b"x")
                .file("same", b"s").file("mode", b"m").stream())
    new = tmp_path / "new"
    new.mkdir()
    (new / "d").mkdir()
    wh.make_overlay_whiteout(str(new / "d" / "gone"))
    (new / "o").mkdir()
    wh.mark_overlay_opaque(str(new / "o"))
    up = tmp_path / "up"
    up.mkdir()
    (up / "d").mkdir()
    (up / "d" / "gone").write_bytes(b"again")
    (up / "o").mkdir()
    (up / "o" / "x").write_bytes(b"x")
    import shutil

    shutil.copy2(old / "same", up / "same")
    shutil.copy2(old / "mode", up / "mode")
    os.chmod(up / "mode", 0o600)
    assert changes(up, [new, old]) == [
        ("C", "/d"), ("A", "/d/gone"), ("C", "/mode"), ("C", "/o"), ("A", "/o/x")]
