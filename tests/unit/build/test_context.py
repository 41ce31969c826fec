"""The context walk's checksums: stat-cached, content and mode sensitive, mtime blind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skiff import metadata
from skiff.build.context import BuildContext, clean_rel
from skiff.errors import BuildError


def walk_all(root: Path, patterns):
    """Every entry under root (no ignore rules): the shape ignore.walk yields."""
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for n in sorted(dirs) + sorted(files):
            p = Path(d) / n
            yield str(p.relative_to(root)), os.lstat(p)


@pytest.fixture
def db(tmp_path):
    return metadata.connect(tmp_path / "m.db")


@pytest.fixture
def ctxdir(tmp_path):
    c = tmp_path / "ctx"
    (c / "src").mkdir(parents=True)
    (c / "src/app.js").write_text("app")
    (c / "src/util.js").write_text("util")
    (c / "package.json").write_text("{}")
    (c / "package-lock.json").write_text("{}")
    (c / "link").symlink_to("src/app.js")
    return c


def make(ctxdir, db):
    return BuildContext(ctxdir, [], db, walk=walk_all)


def test_match_paths_and_wildcards(ctxdir, db):
    ctx = make(ctxdir, db)
    assert ctx.match("package*.json") == ["package-lock.json", "package.json"]
    assert ctx.match(".") == [""]
    assert ctx.match("./src/") == ["src"]
    assert ctx.match("src/*.js") == ["src/app.js", "src/util.js"]
    assert ctx.match("*.js") == []
    assert ctx.match("nope") == []
    with pytest.raises(BuildError):
        ctx.match("../etc/passwd")


def test_clean_rel():
    assert clean_rel("./a//b/") == "a/b"
    assert clean_rel("/x/../y") == "y"
    assert clean_rel(".") == ""


def test_checksum_cache_skips_unchanged_files(ctxdir, db):
    ctx = make(ctxdir, db)
    first = ctx.sources_checksum([""])
    assert ctx.checksums.hashed == 4
    ctx.checksums.flush()
    again = make(ctxdir, db)
    second = again.sources_checksum([""])
    assert again.checksums.hashed == 0
    assert second == first
    (ctxdir / "src/app.js").write_text("changed")
    third_ctx = make(ctxdir, db)
    third = third_ctx.sources_checksum([""])
    assert third_ctx.checksums.hashed == 1
    assert third.digest != first.digest
    assert sorted(k for k in third.files if third.files[k] != first.files[k]) == ["src/app.js"]


def test_mtime_does_not_change_checksum_but_mode_does(ctxdir, db):
    ctx = make(ctxdir, db)
    a = ctx.sources_checksum(["src"])
    os.utime(ctxdir / "src/util.js", (1, 1))
    b = make(ctxdir, db).sources_checksum(["src"])
    assert a.digest == b.digest
    os.chmod(ctxdir / "src/util.js", 0o600)
    c = make(ctxdir, db).sources_checksum(["src"])
    assert c.digest != a.digest


def test_symlink_kept_inside_tree_followed_when_named(ctxdir, db):
    ctx = make(ctxdir, db)
    tree = ctx.sources_checksum([""])
    assert tree.files["link"].endswith(":src/app.js")
    named = ctx.sources_checksum(["link"])
    assert named.files["link"] == tree.files["src/app.js"]


def test_dockerignore_applies_to_copy_sources(tmp_path, db):
    from skiff.dockerfile import ignore

    c = tmp_path / "c"
    (c / "logs").mkdir(parents=True)
    for name in ("Dockerfile", "a.log", "keep.log", "app.js", "logs/x.txt"):
        (c / name).write_text(name)
    (c / ".dockerignore").write_text("*.log\n!keep.log\nDockerfile\nlogs\n.dockerignore\n")
    ctx = BuildContext(c, ignore.read_ignore(c, c / "Dockerfile"), db)
    assert sorted(ctx.entries) == ["app.js", "keep.log"]
    assert ctx.match("*.log") == ["keep.log"]
