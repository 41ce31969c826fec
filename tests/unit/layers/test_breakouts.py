"""Hostile layer tars: nothing may land outside the root (TestBreakouts, after containerd).

Each case extracts into ``tmp/root`` next to ``tmp/outside``; afterwards ``outside`` must be
byte-for-byte what it was, and the refused cases raise InvalidArgument.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skiff.errors import InvalidArgument
from skiff.layers.apply import apply_layer

from .tarbuilder import TarBuilder


def _snapshot(d: Path) -> dict[str, tuple[int, bytes | str]]:
    out = {}
    for p in sorted(d.rglob("*")):
        st = p.lstat()
        if p.is_symlink():
            out[str(p)] = (st.st_mode, os.readlink(p))
        elif p.is_file():
            out[str(p)] = (st.st_mode, p.read_bytes())
        else:
            out[str(p)] = (st.st_mode, b"")
    return out


@pytest.fixture
def dirs(tmp_path: Path):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "victim").write_bytes(b"precious")
    (outside / "dir").mkdir()
    (outside / "dir" / "kept").write_bytes(b"kept")
    before = _snapshot(tmp_path / "outside")
    yield root, outside
    assert _snapshot(tmp_path / "outside") == before, "something outside the root changed"
    assert not (tmp_path / "evil").exists()


REFUSED = {
    "dotdot_file": TarBuilder().file("../evil", b"x"),
    "dotdot_nested": TarBuilder().dir("a").file("a/../../evil", b"x"),
    "absolute_name": TarBuilder().file("/evil", b"x"),
    "symlink_out_then_file": TarBuilder().symlink("esc", "../outside").file("esc/victim", b"pwn"),
    "symlink_out_deep": TarBuilder().dir("a").dir("a/b").symlink("a/b/up", "../../../outside")
    .file("a/b/up/new", b"pwn"),
    "symlink_chain_out": TarBuilder().symlink("one", "two").symlink("two", "../outside")
    .file("one/new", b"pwn"),
    "symlink_out_then_dir": TarBuilder().symlink("esc", "..").dir("esc/evil"),
    "symlink_loop": TarBuilder().symlink("a", "b").symlink("b", "a").file("a/x", b"x"),
    "hardlink_dotdot": TarBuilder().hardlink("h", "../outside/victim"),
    "hardlink_through_symlink": TarBuilder().symlink("esc", "../outside")
    .hardlink("h", "esc/victim"),
    "hardlink_absolute": TarBuilder().hardlink("h", "/etc/passwd"),
    "whiteout_through_symlink": TarBuilder().symlink("esc", "../outside").whiteout("esc/victim"),
    "opaque_through_symlink": TarBuilder().symlink("esc", "../outside/dir").opaque("esc"),
    "whiteout_dotdot": TarBuilder().file("../.wh.outside", b""),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_breakout_refused(dirs, case):
    root, _ = dirs
    with pytest.raises(InvalidArgument):
        apply_layer(root, REFUSED[case].stream())


def test_symlink_then_file_replaces_the_symlink(dirs):
    # A file entry over an existing symlink replaces the link; it never writes through it.
    root, outside = dirs
    apply_layer(root, TarBuilder().symlink("f", "../outside/victim").file("f", b"new").stream())
    assert not (root / "f").is_symlink()
    assert (root / "f").read_bytes() == b"new"


def test_symlink_then_symlink_then_file(dirs):
    root, _ = dirs
    tb = TarBuilder().symlink("f", "/etc/passwd").symlink("f", "../outside/victim").file("f", b"z")
    apply_layer(root, tb.stream())
    assert (root / "f").read_bytes() == b"z"


def test_absolute_symlink_is_followed_inside_the_root(dirs):
    # As in a chroot: /usr/lib means <root>/usr/lib, never the host's.
    root, _ = dirs
    tb = TarBuilder().dir("usr").dir("usr/lib").symlink("lib", "/usr/lib").file("lib/x.so", b"so")
    apply_layer(root, tb.stream())
    assert (root / "usr/lib/x.so").read_bytes() == b"so"
    assert (root / "lib").is_symlink()


def test_absolute_symlink_dotdot_stops_at_root(dirs):
    root, _ = dirs
    tb = TarBuilder().symlink("up", "/../../../").file("up/x", b"x")
    apply_layer(root, tb.stream())
    assert (root / "x").read_bytes() == b"x"


def test_relative_symlink_inside_root_is_followed(dirs):
    root, _ = dirs
    tb = (TarBuilder().dir("usr").dir("lib").symlink("usr/lib64", "../lib")
          .file("usr/lib64/libc.so", b"c"))
    apply_layer(root, tb.stream())
    assert (root / "lib/libc.so").read_bytes() == b"c"


def test_dotdot_that_stays_inside_is_cleaned(dirs):
    root, _ = dirs
    apply_layer(root, TarBuilder().dir("a").file("a/../b", b"b").stream())
    assert (root / "b").read_bytes() == b"b"


def test_hardlink_to_symlink_links_the_symlink_itself(dirs):
    root, _ = dirs
    apply_layer(root, TarBuilder().symlink("s", "../outside/victim").hardlink("h", "s").stream())
    assert (root / "h").is_symlink()
    assert os.readlink(root / "h") == "../outside/victim"
    assert (root / "h").lstat().st_ino == (root / "s").lstat().st_ino


def test_file_through_dir_replaced_by_symlink_later(dirs):
    # A directory resolved for an early entry becomes an escaping symlink: later entries
    # through it must be re-checked (regression: the resolver's cache must be dropped).
    root, _ = dirs
    tb = (TarBuilder().dir("d").file("d/one", b"1").symlink("d", "../outside")
          .file("d/victim", b"pwn"))
    with pytest.raises(InvalidArgument):
        apply_layer(root, tb.stream())


def test_deferred_dir_mtime_not_applied_through_later_symlink(dirs):
    # Regression (found by test_breakouts_fuzz): directory mtimes are set after all entries;
    # "d" turning into a symlink to ../outside must not redirect d/dir's mtime outside.
    root, outside = dirs
    before = (outside / "dir").stat().st_mtime_ns
    tb = TarBuilder().dir("d").dir("d/dir", mtime=1).symlink("d", "../outside")
    apply_layer(root, tb.stream())
    assert (outside / "dir").stat().st_mtime_ns == before
    assert os.readlink(root / "d") == "../outside"


def test_dir_replaced_by_file_after_its_children(dirs):
    # Regression (found by test_breakouts_fuzz): a deferred mtime for b/a once failed with
    # "Not a directory" after "b" became a file.
    root, _ = dirs
    apply_layer(root, TarBuilder().file("a").dir("b/a").file("b", b"f").stream())
    assert (root / "b").read_bytes() == b"f"


def test_hardlink_replacing_the_directory_holding_its_target(dirs):
    # Regression (found by test_breakouts_fuzz): "a" → hardlink to "a/a" removes the
    # directory "a" first; the missing target must be InvalidArgument, not an OS error.
    root, _ = dirs
    with pytest.raises(InvalidArgument, match="hardlink target 'a/a' not found"):
        apply_layer(root, TarBuilder().dir("a").file("a/a").hardlink("a", "a/a").stream())
