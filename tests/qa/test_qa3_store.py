"""QA pass 3: the image store under stress (full disk) and its cache clean-up."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys

import pytest


@pytest.fixture
def small_root(tmp_path, monkeypatch):
    """SKIFF_ROOT on a 16 MiB tmpfs (a full disk is reached quickly)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], check=True)
    root = mnt / "root"
    root.mkdir()
    monkeypatch.setenv("SKIFF_ROOT", str(root))
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _skiff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skiff", *args], capture_output=True,
                          text=True)


def _fill(path, leave: int) -> None:
    """Write a filler file so that only about ``leave`` bytes stay free on path's fs."""
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    with open(os.path.join(path, "filler"), "wb") as f:
        f.write(b"\0" * max(free - leave, 0))


@pytest.mark.requires_root
def test_load_on_a_full_disk_says_no_space_not_invalid_archive(small_root, busybox_tar,
                                                               tmp_path, monkeypatch):
    # Docker: `docker load` onto a full disk fails with "...: no space left on device",
    # exit 1; the archive itself is fine and must not be called invalid.
    archive = tmp_path / "bb.tar.gz"
    archive.write_bytes(gzip.compress(busybox_tar.read_bytes(), compresslevel=1))
    assert _skiff("images").returncode == 0  # the root and its database exist first
    _fill(small_root.parent, leave=256 * 1024)
    r = _skiff("load", "-i", str(archive))
    assert (r.returncode, r.stderr) == (
        1, "skiff: loading the archive: no space left on device\n")


@pytest.mark.requires_root
@pytest.mark.requires_runc
@pytest.mark.requires_overlay
def test_system_prune_reports_each_kind_then_one_total(cli, skiff_root, busybox_tar, tmp_path):
    # Docker (cli/command/system/prune.go): stopped containers, unused networks, anonymous
    # volumes with --volumes, dangling images, build cache; each report then a blank line;
    # one "Total reclaimed space" at the end. `skiff system prune` did not exist.
    import sqlite3

    assert cli("import", str(busybox_tar), "bb:1").code == 0
    assert cli("run", "-v", "/anon", "bb:1", "true").code == 0
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f").write_text("1\n")
    (ctx / "Dockerfile").write_text("FROM bb:1\nCOPY f /f\n")
    assert cli("build", "-q", "-t", "d:1", str(ctx)).code == 0
    (ctx / "f").write_text("2\n")
    assert cli("build", "-q", "-t", "d:1", str(ctx)).code == 0  # the first d:1 dangles
    cid = cli("ps", "-aq", "--no-trunc").out.split()
    vols = cli("volume", "ls", "-q").out.split()
    dangling = cli("images", "-q", "--no-trunc", "--filter", "dangling=true").out.split()
    db = sqlite3.connect(skiff_root / "metadata.db")
    keys = sorted(r[0].split(":", 1)[1] for r in db.execute("SELECT key FROM build_cache"))
    db.close()
    assert (len(cid), len(vols), len(dangling), len(keys) > 0) == (1, 1, 1, True)
    r = cli("system", "prune", "-f", "--volumes")
    assert r.code == 0, r.err
    body, _, total = r.out.rpartition("Total reclaimed space: ")
    parts = body.split("\n\n")
    assert parts[:3] == [f"Deleted Containers:\n{cid[0]}", f"Deleted Volumes:\n{vols[0]}",
                         f"Deleted Images:\ndeleted: {dangling[0]}"]
    head, *ids = parts[3].split("\n")
    assert (head, sorted(ids), parts[4:]) == ("Deleted build cache objects:", keys, [""])
    assert total.endswith("B\n")
    assert cli("system", "prune", "-f").out == "Total reclaimed space: 0B\n"
    assert cli("images", "--format", "{{.Repository}}:{{.Tag}}").out.split() == ["d:1", "bb:1"]


def test_a_killed_commands_lease_is_reaped_at_once_and_a_builds_keeps_its_blobs(tmp_path):
    # A lease whose process died (kill -9 of a build, pull or load) is dropped by the next
    # command, not an hour later; a build's lease (collect=False) leaves the blobs to their
    # cache records, an import's collects what it added.
    import json
    import subprocess
    import sys

    from skiff import metadata
    from skiff.config import Config
    from skiff.images import ImageService
    from skiff.images.service import LEASE_OWNER

    cfg = Config(root=tmp_path / "root")
    cfg.root.mkdir()
    db = metadata.connect(cfg.metadata_path)
    svc = ImageService(cfg, db)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    built = svc.content.write_blob(b"a layer a killed build made (its cache record names it)")
    orphan = svc.content.write_blob(b"a blob a killed load wrote")
    far = 4102444800  # 2100: not expired
    with metadata.transaction(db):
        for lid, blob, collect in (("build", built, False), ("load", orphan, True)):
            labels = {"owner": LEASE_OWNER, "pid": dead.pid, "start": 1, "collect": collect}
            db.execute("INSERT INTO leases (id, created, expires, labels) VALUES (?, 0, ?, ?)",
                       (lid, far, json.dumps(labels)))
            db.execute("INSERT INTO lease_resources VALUES (?, 'content', ?)", (lid, blob))
    with svc.leased():  # this process's own lease is live: never reaped
        ImageService(cfg, db)
        assert (svc.content.exists(built), svc.content.exists(orphan)) == (True, False)
        assert [json.loads(r[0])["pid"] for r in db.execute("SELECT labels FROM leases")] == [
            os.getpid()]
    db.close()


def test_save_to_a_directory_or_a_missing_directory_fails_as_docker(cli, busybox_tar, tmp_path):
    # docker save -o DIR: "failed to save image: cannot write to a directory"; -o into a
    # directory that does not exist: "invalid output path: stat DIR: no such file or
    # directory" (docker/cli 28, exit 1). skiff said "<path>: Is a directory".
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    r = cli("save", "-o", str(tmp_path), "bb:1")
    assert (r.code, r.err) == (1, "skiff: failed to save image: cannot write to a directory\n")
    r = cli("save", "-o", str(tmp_path / "nope" / "x.tar"), "bb:1")
    assert (r.code, r.err) == (1, f"skiff: failed to save image: invalid output path: stat "
                                  f"{tmp_path}/nope: no such file or directory\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["skiff-root"]


def test_rmi_during_save_does_not_break_the_archive(tmp_path, busybox_tar):
    # Docker's save holds references to what it writes: an rmi meanwhile untags and
    # deletes the image, the archive still completes. skiff failed mid-archive with
    # "blob sha256:...: not found" (the rmi deleted the layer under it).
    import io
    import tarfile

    from skiff import metadata
    from skiff.config import Config
    from skiff.images import ImageService
    from skiff.images.check import check

    cfg = Config(root=tmp_path / "root")
    cfg.root.mkdir()
    db, db2 = metadata.connect(cfg.metadata_path), metadata.connect(cfg.metadata_path)
    svc, other = ImageService(cfg, db), ImageService(cfg, db2)
    with open(busybox_tar, "rb") as f:
        img = svc.import_rootfs(f, tag="bb:1")

    class Sink(io.BytesIO):
        removed = False

        def write(self, b):
            if not self.removed:  # the first bytes are out: now the image goes
                self.removed = True
                assert other.remove(["bb:1"]).deleted == [img.id]
            return super().write(b)

    out = Sink()
    svc.save(["bb:1"], out)
    out.seek(0)
    with tarfile.open(fileobj=out) as t:
        names = t.getnames()
    assert "blobs/sha256/" + img.layers[0].digest.split(":")[1] in names
    r = check(svc)
    assert (r.problems, r.blobs, r.unreferenced) == ([], 0, 0)  # collected after the save
    db.close()
    db2.close()
