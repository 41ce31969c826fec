"""COPY/ADD path rules on plain directories (Docker/BuildKit behaviour)."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from skiff.build.copy import (
    Copier,
    Owner,
    dest_path,
    extract_archive,
    is_archive,
    parse_chmod,
    resolve_chown,
)
from skiff.errors import BuildError

pytestmark = pytest.mark.requires_root


@pytest.fixture
def src(tmp_path):
    s = tmp_path / "src"
    (s / "dir/sub").mkdir(parents=True)
    (s / "dir/a.txt").write_text("a")
    (s / "dir/sub/b.txt").write_text("b")
    (s / "one.txt").write_text("1")
    (s / "two.txt").write_text("2")
    os.chmod(s / "two.txt", 0o750)
    (s / "dir/ln").symlink_to("a.txt")
    (s / "top-link").symlink_to("one.txt")
    return s


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    (r / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1001::/home/node:/bin/sh\n")
    (r / "etc/group").write_text("root:x:0:\nstaff:x:50:\nnode:x:1001:\n")
    return r


def ls(root: Path) -> dict[str, tuple[str, int, int, int]]:
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = Path(d) / n
            st = os.lstat(p)
            kind = "l" if stat.S_ISLNK(st.st_mode) else "d" if stat.S_ISDIR(st.st_mode) else "f"
            out[str(p.relative_to(root))] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    return out


def test_dir_source_copies_contents_not_dir(src, root):
    Copier(src, root).copy(["dir"], "/app/")
    got = ls(root / "app")
    assert sorted(got) == ["a.txt", "ln", "sub", "sub/b.txt"]
    assert os.readlink(root / "app/ln") == "a.txt"
    assert got["a.txt"][2:] == (0, 0)


def test_file_to_name_vs_trailing_slash(src, root):
    Copier(src, root).copy(["one.txt"], "/x/renamed")
    assert (root / "x/renamed").read_text() == "1"
    Copier(src, root).copy(["one.txt"], "/y/")
    assert (root / "y/one.txt").read_text() == "1"
    # an existing directory receives the file by its name
    Copier(src, root).copy(["two.txt"], "/y")
    assert (root / "y/two.txt").read_text() == "2"
    assert stat.S_IMODE(os.stat(root / "y/two.txt").st_mode) == 0o750


def test_relative_dest_uses_workdir(src, root):
    Copier(src, root).copy(["one.txt"], ".", workdir="/app")
    assert (root / "app/one.txt").read_text() == "1"
    assert ls(root)["app"] == ("d", 0o755, 0, 0)


def test_multiple_sources_need_dir_dest(src, root):
    with pytest.raises(BuildError, match="must be a directory and end with a /"):
        Copier(src, root).copy(["one.txt", "two.txt"], "/file")
    Copier(src, root).copy(["one.txt", "two.txt"], "/d/")
    assert sorted(os.listdir(root / "d")) == ["one.txt", "two.txt"]


def test_named_symlink_is_followed(src, root):
    Copier(src, root).copy(["top-link"], "/t/")
    p = root / "t/top-link"
    assert not p.is_symlink() and p.read_text() == "1"


def test_chown_names_from_rootfs_and_chmod(src, root):
    owner = resolve_chown("node:staff", root)
    assert owner == Owner(1000, 50)
    assert resolve_chown("node", root) == Owner(1000, 1000)
    assert resolve_chown("7:8", root) == Owner(7, 8)
    with pytest.raises(BuildError, match="unable to find user nobody"):
        resolve_chown("nobody", root)
    Copier(src, root, owner=owner, chmod=parse_chmod("640")).copy(["dir"], "/o/")
    got = ls(root / "o")
    assert got["a.txt"] == ("f", 0o640, 1000, 50)
    assert got["sub"] == ("d", 0o640, 1000, 50)


def test_allowed_filter(src, root):
    Copier(src, root, allowed=lambda r: r != "dir/sub/b.txt").copy(["dir"], "/f/")
    assert sorted(ls(root / "f")) == ["a.txt", "ln", "sub"]


def test_dest_path():
    assert dest_path("app/", "/w") == ("/w/app", True)
    assert dest_path("/x", "/w") == ("/x", False)
    assert dest_path(".", "/w") == ("/w", True)


def test_add_tar_extracts(tmp_path, root):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        data = b"hello"
        ti = tarfile.TarInfo("pkg/hello.txt")
        ti.size, ti.mode, ti.uid, ti.gid = len(data), 0o604, 12, 34
        tf.addfile(ti, io.BytesIO(data))
        evil = tarfile.TarInfo("../../escape.txt")
        evil.size = 1
        tf.addfile(evil, io.BytesIO(b"x"))
    arc = tmp_path / "a.tar.gz"
    arc.write_bytes(buf.getvalue())
    assert is_archive(arc)
    assert not is_archive(root / "etc/passwd")
    extract_archive(arc, root, "/opt/")
    assert (root / "opt/pkg/hello.txt").read_bytes() == b"hello"
    assert ls(root / "opt")["pkg/hello.txt"] == ("f", 0o604, 12, 34)
    assert (root / "opt/escape.txt").exists()
    assert not (tmp_path / "escape.txt").exists()
