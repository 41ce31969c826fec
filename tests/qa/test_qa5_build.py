"""QA pass 5: Dockerfile builds a user writes, compared with docker build (20.10)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_overlay, pytest.mark.requires_runc]


@pytest.fixture
def bb(cli, busybox_tar):
    assert cli("import", str(busybox_tar), "bb:1").code == 0


def _tree(ctx, files):
    for rel in files:
        p = ctx / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel + "\n")


@pytest.mark.parametrize("rules, expected", [
    # docker build: an exception re-includes a file under an excluded directory, and the
    # directories above it come along (the file is copied to /ctx/a/b/y.key).
    ("a\n!a/b/y.key\n", [".", "./Dockerfile", "./a", "./a/b", "./a/b/y.key", "./d",
                         "./d/keep.txt"]),
    ("**\n!d/keep.txt\n!Dockerfile\n", [".", "./Dockerfile", "./d", "./d/keep.txt"]),
])
def test_dockerignore_exception_below_an_excluded_dir_is_copied(cli, bb, tmp_path, rules,
                                                                expected):
    ctx = tmp_path / "ctx"
    _tree(ctx, ["a/x.key", "a/b/y.key", "d/keep.txt"])
    (ctx / "Dockerfile").write_text("FROM bb:1\nCOPY . /ctx/\n")
    (ctx / ".dockerignore").write_text(rules + ".dockerignore\n")
    r = cli("build", "-q", "-t", "ign:1", str(ctx))
    assert r.code == 0, r.err
    r = cli("run", "--rm", "ign:1", "sh", "-c", "cd /ctx && find . | sort")
    assert (r.code, r.out.splitlines()) == (0, expected)


def test_proxy_build_args_reach_run_without_an_arg_and_stay_out_of_history(cli, bb,
                                                                           tmp_path):
    # docker build --build-arg HTTP_PROXY=...: the predefined proxy ARGs are in RUN's
    # environment without an ARG line, and not in the image's history; a declared ARG
    # is. Changing the proxy does not rebuild the step (BuildKit: proxy env is not part
    # of the cache key).
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        'FROM bb:1\nARG OTHER\nRUN echo "$HTTP_PROXY|$no_proxy|$OTHER" > /p\n')
    r = cli("build", "-q", "--build-arg", "HTTP_PROXY=http://proxy:3128", "--build-arg",
            "no_proxy=local", "--build-arg", "OTHER=o", "-t", "px:1", str(ctx))
    assert r.code == 0, r.err
    assert cli("run", "--rm", "px:1", "cat", "/p").out == "http://proxy:3128|local|o\n"
    hist = cli("history", "--no-trunc", "--format", "{{.CreatedBy}}", "px:1").out
    assert "proxy:3128" not in hist and "=local" not in hist and "OTHER=o" in hist
    r = cli("build", "--build-arg", "HTTP_PROXY=http://other:1", "--build-arg",
            "OTHER=o", "-t", "px:2", str(ctx))
    assert r.code == 0, r.err
    assert "CACHE MISS" not in r.err


def test_copy_keeps_hard_links_within_what_it_copies(cli, bb, tmp_path):
    # docker build (classic and BuildKit): files hard-linked in the context stay one
    # inode in the image (link count 2), so the layer holds the content once
    ctx = tmp_path / "ctx"
    (ctx / "d").mkdir(parents=True)
    (ctx / "d" / "a").write_text("h\n")
    import os

    os.link(ctx / "d" / "a", ctx / "d" / "b")
    (ctx / "Dockerfile").write_text("FROM bb:1\nCOPY d /d/\n")
    r = cli("build", "-q", "-t", "hl:1", str(ctx))
    assert r.code == 0, r.err
    r = cli("run", "--rm", "hl:1", "sh", "-c", "stat -c '%h %i' /d/a /d/b")
    a, b = r.out.splitlines()
    assert a == b and a.startswith("2 ")
