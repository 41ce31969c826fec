"""QA pass 3: the build cache's disk space (builder prune, system df) and COPY --from hits."""

from __future__ import annotations

import os
import sqlite3

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_overlay]


@pytest.fixture
def bb(cli, busybox_tar):
    assert cli("import", str(busybox_tar), "bb:1").code == 0


def _blobs(root) -> set[str]:
    return set(os.listdir(root / "content" / "blobs" / "sha256"))


def _cache_keys(root) -> list[str]:
    db = sqlite3.connect(root / "metadata.db")
    try:
        return [r[0] for r in db.execute("SELECT key FROM build_cache")]
    finally:
        db.close()


def test_builder_prune_frees_the_layers_only_the_cache_held(cli, bb, skiff_root, tmp_path):
    # Docker: `docker builder prune -f` lists the cache objects it deleted, a blank line,
    # then "Total reclaimed space: ..."; the space is really gone from the disk, and
    # `docker system df` counted it under Build Cache before.
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "big").write_bytes(os.urandom(3_000_000))
    (ctx / "small").write_text("small\n")
    (ctx / "Dockerfile").write_text(
        "FROM bb:1 AS b\nCOPY big small /stage/\nFROM bb:1\nCOPY --from=b /stage/small /s\n")
    before = _blobs(skiff_root)
    assert cli("build", "-q", "-t", "ms:1", str(ctx)).code == 0
    df = cli("system", "df").out.splitlines()
    cache_row = [ln.split() for ln in df if ln.startswith("Build Cache")][0]
    assert cache_row[3] == "0" and cache_row[4].endswith("MB") and float(cache_row[4][:-2]) > 3
    keys = _cache_keys(skiff_root)
    r = cli("builder", "prune", "-f")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "Deleted build cache objects:"
    assert sorted(lines[1:-2]) == sorted(k.split(":", 1)[1] for k in keys)
    assert lines[-2] == "" and lines[-1].startswith("Total reclaimed space: ")
    assert float(lines[-1].split()[-1][:-2]) > 3 and lines[-1].endswith("MB")
    # what is left is the images' blobs only: no 3 MB stage layer
    left = _blobs(skiff_root) - before
    sizes = [os.path.getsize(skiff_root / "content" / "blobs" / "sha256" / b) for b in left]
    assert max(sizes) < 100_000
    assert "0 unreferenced blobs" in cli("system", "check").out
    assert [ln.split() for ln in cli("system", "df").out.splitlines()
            if ln.startswith("Build Cache")] == [["Build", "Cache", "0", "0", "0B", "0B"]]
    r = cli("builder", "prune", "-f")
    assert (r.code, r.out) == (0, "Total reclaimed space: 0B\n")


def _outcomes(err: str) -> list[str]:
    """HIT / MISS: why, per step, from plain progress output."""
    out = []
    for ln in err.splitlines():
        parts = ln.split(" ", 1)
        if len(parts) == 2 and parts[0].startswith("#") and parts[1].startswith("CACHE "):
            out.append("HIT" if parts[1].startswith("CACHE HIT") else parts[1][6:])
    return out


def test_copy_from_a_rebuilt_stage_hits_when_the_copied_files_are_the_same(cli, bb, tmp_path):
    # Docker keys COPY --from=STAGE on the checksum of the files copied: when the stage is
    # rebuilt (a.txt changed) but /s/keep.txt is the same, the final stage is all cache hits.
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a.txt").write_text("1\n")
    (ctx / "keep.txt").write_text("keep\n")
    (ctx / "Dockerfile").write_text(
        "FROM bb:1 AS b\nCOPY a.txt keep.txt /s/\n"
        "FROM bb:1\nCOPY --from=b /s/keep.txt /k\nLABEL x=1\n")
    args = ("build", "--progress", "plain", "-t", "cf:1", str(ctx))
    r = cli(*args)
    assert r.code == 0, r.err
    first = cli("image", "inspect", "-f", "{{.Id}}", "cf:1").out
    (ctx / "a.txt").write_text("2\n")
    r = cli(*args)
    assert r.code == 0, r.err
    assert _outcomes(r.err) == ["HIT", "MISS: 1 file changed: a.txt", "HIT", "HIT", "HIT"]
    assert cli("image", "inspect", "-f", "{{.Id}}", "cf:1").out == first
    # and a change in what is copied misses, naming the file
    (ctx / "keep.txt").write_text("changed\n")
    r = cli(*args)
    assert _outcomes(r.err)[3] == "MISS: 1 file changed: s/keep.txt"


def test_build_of_a_missing_context_quotes_the_path_as_docker(cli, tmp_path):
    # docker build /nonexist: `unable to prepare context: path "/nonexist" not found`, exit 1
    r = cli("build", "-q", str(tmp_path / "nonexist"))
    assert (r.code, r.err) == (
        1, f'skiff: unable to prepare context: path "{tmp_path}/nonexist" not found\n')


def test_built_layer_size_is_dockers_file_bytes_not_the_tar_size(cli, bb, tmp_path):
    # Docker sizes a built layer as moby's ChangesSize: file sizes (a symlink: its target's
    # length), no tar headers/padding. COPY of a 1000-byte file and a 4-byte-target symlink
    # adds 1004 bytes to the image (`docker image inspect -f {{.Size}}`), history says 1kB.
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f").write_bytes(b"x" * 1000)
    (ctx / "d").mkdir()
    (ctx / "d" / "l").symlink_to("/f/x")
    (ctx / "Dockerfile").write_text("FROM bb:1\nCOPY f /f\nCOPY d /d/\n")
    base = int(cli("image", "inspect", "-f", "{{.Size}}", "bb:1").out)
    assert cli("build", "-q", "-t", "sz:1", str(ctx)).code == 0
    assert int(cli("image", "inspect", "-f", "{{.Size}}", "sz:1").out) == base + 1004
    assert cli("history", "--format", "{{.Size}}", "sz:1").out.split()[:2] == ["4B", "1kB"]
    assert cli("build", "-q", "-t", "sz:2", "--label", "a=b", str(ctx)).code == 0  # from cache
    assert int(cli("image", "inspect", "-f", "{{.Size}}", "sz:2").out) == base + 1004


@pytest.mark.requires_runc
def test_builder_prune_during_a_build_does_not_break_it(cli, bb, skiff_root, tmp_path):
    # BuildKit leases what a build uses: `docker builder prune` while a build runs never
    # deletes the layers that build took from the cache. Here the prune dropped the cache
    # record of the build's cached step and deleted its layer blob under the build's feet
    # ("layer ...: blob not in the content store", exit 125).
    import subprocess
    import sys
    import time

    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "big").write_bytes(os.urandom(1_000_000))
    df = ctx / "Dockerfile"
    df.write_text("FROM bb:1\nCOPY big /big\nRUN echo 1 > /one\n")
    assert cli("build", "-q", "-t", "p:1", str(ctx)).code == 0
    assert cli("rmi", "p:1").code == 0  # COPY's layer is now held by the cache only
    df.write_text("FROM bb:1\nCOPY big /big\nRUN sleep 2 && echo 2 > /two\n")
    p = subprocess.Popen([sys.executable, "-m", "skiff", "build", "-q", "-t", "p:2", str(ctx)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(200):  # until the RUN step's container is up (the COPY was a hit)
            with open("/proc/self/mountinfo") as f:
                if any("oneshot" in ln and str(skiff_root) in ln for ln in f):
                    break
            time.sleep(0.02)
        assert cli("builder", "prune", "-f").code == 0
    finally:
        out, err = p.communicate(timeout=60)
    assert (p.returncode, err) == (0, "")
    assert cli("run", "--rm", "p:2", "wc", "-c", "/big").out == "1000000 /big\n"
    assert "no problems found" in cli("system", "check").out


def test_system_check_does_not_call_the_build_caches_layers_unreferenced(cli, bb, tmp_path):
    # A stage's layer that only the build cache holds is not garbage: `system check` said
    # "1 unreferenced blobs" after every multi-stage build.
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f").write_text("f\n")
    (ctx / "Dockerfile").write_text("FROM bb:1 AS b\nCOPY f /f\nFROM bb:1\nCOPY --from=b /f /g\n")
    assert cli("build", "-q", str(ctx)).code == 0
    assert "; 0 unreferenced blobs;" in cli("system", "check").out


@pytest.mark.requires_runc
def test_copy_from_a_stage_never_follows_its_symlinks_onto_the_host(cli, bb, tmp_path):
    # A stage's absolute symlink is resolved inside that stage's root (BuildKit: "stat
    # probe/secret: file does not exist"); skiff followed it on the host and copied the
    # host's file into the image.
    host = tmp_path / "hostdir"
    host.mkdir()
    (host / "secret").write_text("host secret\n")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        f"FROM bb:1 AS b\nRUN ln -s {host} /probe && mkdir -p {host} && echo in > {host}/x\n"
        "FROM bb:1\nCOPY --from=b /probe/secret /leak\n")
    r = cli("build", "-q", "-t", "leak:1", str(ctx))
    assert r.code == 1
    assert r.err.endswith("COPY --from=b /probe/secret /leak: COPY source "
                          "'probe/secret': not found\n")
    (ctx / "Dockerfile").write_text(
        f"FROM bb:1 AS b\nRUN ln -s {host} /probe && mkdir -p {host} && echo in > {host}/x\n"
        "FROM bb:1\nCOPY --from=b /probe/x /x\n")
    assert cli("build", "-q", "-t", "ok:1", str(ctx)).code == 0  # the stage's own file
    assert cli("run", "--rm", "ok:1", "cat", "/x").out == "in\n"


def test_missing_dockerfile_is_named_relative_to_the_context(cli, tmp_path):
    # BuildKit: "failed to read dockerfile: open Dockerfile: no such file or directory";
    # for a context read from stdin skiff named its temporary unpack directory.
    import io
    import tarfile

    r = cli("build", "-q", str(tmp_path))
    assert (r.code, r.err) == (1, "skiff: failed to read dockerfile: open Dockerfile: no "
                                  "such file or directory\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("a.txt")
        info.size = 2
        t.addfile(info, io.BytesIO(b"a\n"))
    r = cli("build", "-q", "-f", "sub/Dockerfile", "-", stdin=buf.getvalue())
    assert (r.code, r.err) == (1, "skiff: failed to read dockerfile: open sub/Dockerfile: "
                                  "no such file or directory\n")
