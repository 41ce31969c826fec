"""The seed example (issue 5): six steps built three times with the expected cache use."""

from __future__ import annotations

import pytest

from tests.integration.build.conftest import image_config, image_files, outcomes

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def test_seed_three_builds(cli, bb, example, skiff_root):
    ctx = example("busybox-seed")
    r = cli("build", "--progress", "plain", "-t", "seed:1", str(ctx))
    assert r.code == 0, r.err
    got = outcomes(r.err)
    assert [o for o, _ in got] == ["MISS"] * 6
    assert "6 layers built (0 cached)" in r.err

    # a code change: FROM, WORKDIR, COPY package*.json and RUN come from the cache
    (ctx / "app.js").write_text('console.log("changed");\n')
    r = cli("build", "--progress", "plain", "-t", "seed:1", str(ctx))
    assert r.code == 0, r.err
    assert outcomes(r.err) == [("HIT", None)] * 4 + [
        ("MISS", "1 file changed: app.js"), ("MISS", "parent layer changed")]
    assert "2 layers built (4 cached)" in r.err
    # unchanged files are linked from the previous COPY result, the changed one copied
    files = image_files("seed:1")
    assert files["/app/app.js"] == ("f", 0o644, 0, 0, b'console.log("changed");\n')
    assert files["/app/src/util.js"] == ("f", 0o644, 0, 0, b"module.exports = 1;\n")

    # a package.json change: only FROM and WORKDIR are reused
    (ctx / "package.json").write_text('{"name": "seed", "version": "1.0.1"}\n')
    r = cli("build", "--progress", "plain", "-t", "seed:1", str(ctx))
    assert r.code == 0, r.err
    assert outcomes(r.err) == [("HIT", None)] * 2 + [
        ("MISS", "1 file changed: package.json")] + [("MISS", "parent layer changed")] * 3
    assert "4 layers built (2 cached)" in r.err

    cfg = image_config(skiff_root, "seed:1")
    assert cfg["config"]["WorkingDir"] == "/app"
    assert cfg["config"]["Cmd"] == ["cat", "/app/app.js"]
    assert [h.get("created_by") for h in cfg["history"]][-5:] == [
        "WORKDIR /app",
        "COPY package*.json ./ # buildkit",
        "RUN /bin/sh -c mkdir -p node_modules && cat package.json > node_modules/.installed"
        " && echo installed $(wc -c < package.json) bytes # buildkit",
        "COPY . . # buildkit",
        'CMD ["cat" "/app/app.js"]',
    ]
    assert len(cfg["rootfs"]["diff_ids"]) == 5  # busybox + WORKDIR + 2 COPY + RUN

    # the RUN's full output is kept with the build
    r = cli("build", "--logs", "seed:1")
    assert r.code == 0, r.err
    assert "installed 37 bytes" in r.out
    # one step of a build by its ID
    import sqlite3

    db = sqlite3.connect(skiff_root / "metadata.db")
    build_id = db.execute("SELECT id FROM builds ORDER BY created DESC LIMIT 1").fetchone()[0]
    db.close()
    r = cli("build", "--logs", build_id, "4")
    assert r.code == 0, r.err
    assert r.out.splitlines()[0].startswith("#4 [4/6] RUN mkdir -p node_modules")
    assert r.out.splitlines()[1:] == ["installed 37 bytes"]


def test_noop_rebuild_gives_same_image(cli, bb, example):
    ctx = example("busybox-seed")
    r1 = cli("build", "-q", str(ctx))
    r2 = cli("build", "-q", str(ctx))
    assert r1.code == r2.code == 0, r1.err + r2.err
    assert r1.out == r2.out and r1.out.startswith("sha256:")


def _fast(skiff_root) -> bool:
    """Whether the last build was answered by the no-op fast path."""
    import json
    import sqlite3

    db = sqlite3.connect(skiff_root / "metadata.db")
    try:
        row = db.execute("SELECT report FROM builds ORDER BY created DESC LIMIT 1").fetchone()
        return bool(json.loads(row[0]).get("fast"))
    finally:
        db.close()


def test_noop_fast_path_and_what_defeats_it(cli, bb, example, skiff_root, busybox_tar):
    ctx = example("busybox-seed")
    assert cli("build", "-q", "-t", "seed:fast", str(ctx)).code == 0
    assert not _fast(skiff_root)
    r = cli("build", "--progress", "plain", "-t", "seed:fast", str(ctx))
    assert r.code == 0 and _fast(skiff_root)
    assert outcomes(r.err) == [("HIT", None)] * 6
    assert "0 layers built (6 cached)" in r.err
    # an ignored new file changes no step, but the walk must run again
    (ctx / "debug.log").write_text("x")
    r = cli("build", "--progress", "plain", "-t", "seed:fast", str(ctx))
    assert not _fast(skiff_root) and outcomes(r.err) == [("HIT", None)] * 6
    # a new tag: same image, through the full path
    r = cli("build", "-q", "-t", "seed:other", str(ctx))
    assert r.code == 0 and not _fast(skiff_root)
    # a content change defeats it
    (ctx / "src/util.js").write_text("module.exports = 2;\n")
    r = cli("build", "--progress", "plain", "-t", "seed:fast", str(ctx))
    assert not _fast(skiff_root)
    assert outcomes(r.err)[4] == ("MISS", "1 file changed: src/util.js")
    # the base tag moved to another image: FROM misses
    assert cli("build", "-q", "-t", "seed:fast", str(ctx)).code == 0
    assert _fast(skiff_root)
    other = ctx.parent / "bb2"
    other.mkdir()
    (other / "Dockerfile").write_text("FROM bb:1\nLABEL moved=1\n")
    assert cli("build", "-q", "-t", "bb:1", str(other)).code == 0
    r = cli("build", "--progress", "plain", "-t", "seed:fast", str(ctx))
    assert not _fast(skiff_root)
    assert outcomes(r.err)[0] == ("MISS", "base image bb:1 changed")


def test_concurrent_builds_share_the_cache(bb, example, skiff_root):
    """Two skiff processes building the same steps at once: both succeed (records and
    snapshots committed by the other are taken, not fought over)."""
    import os
    import subprocess
    import sys

    ctxs = [example("busybox-seed"), None]
    ctxs[1] = ctxs[0].parent / "seed-copy"
    import shutil

    shutil.copytree(ctxs[0], ctxs[1], symlinks=True)
    env = {**os.environ, "SKIFF_ROOT": str(skiff_root)}
    procs = [subprocess.Popen([sys.executable, "-m", "skiff", "build", "-q", "-t", f"c:{i}",
                               str(c)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i, c in enumerate(ctxs)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert all(o[0].startswith(b"sha256:") and len(o[0].strip()) == 71 for o in outs)
