"""The image commands through the CLI (in-process): Docker's columns, messages, exit codes."""

from __future__ import annotations

import json

import pytest

from skiff import digest
from tests.unit.images.helpers import rootfs_tar

TAR = rootfs_tar({"hello": b"world\n"}, dirs=("etc",))
SIZE = 6  # Docker counts a layer by its file bytes once unpacked: "hello" is 6 bytes


@pytest.fixture
def tarfile_path(tmp_path):
    p = tmp_path / "rootfs.tar"
    p.write_bytes(TAR)
    return p


def _import(cli, path, *args):
    r = cli("import", str(path), *args)
    assert r.code == 0, r
    return r.out.strip()


def test_import_prints_id_and_images_lists_it(cli, tarfile_path):
    image_id = _import(cli, tarfile_path, "app:1")
    assert digest.is_digest(image_id)
    r = cli("images")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0] == "REPOSITORY   TAG       IMAGE ID       CREATED                  SIZE"
    assert lines[1].split(None, 3)[:3] == ["app", "1", image_id[7:19]]
    assert lines[1].endswith("   6B")
    assert cli("image", "ls", "-q").out == image_id[7:19] + "\n"
    assert cli("images", "-q", "--no-trunc").out == image_id + "\n"


def test_import_from_stdin_untagged(cli):
    r = cli("import", "-", stdin=TAR)
    assert r.code == 0, r
    out = cli("images").out.splitlines()
    assert out[1].split()[:3] == ["<none>", "<none>", r.out.strip()[7:19]]
    assert cli("images", "-f", "dangling=true", "-q").out == r.out.strip()[7:19] + "\n"


def test_import_bad_file(cli, tmp_path):
    bad = tmp_path / "bad.tar"
    bad.write_bytes(TAR[:700])
    r = cli("import", str(bad), "x")
    assert (r.code, r.err) == (1, "skiff: invalid tar archive: unexpected EOF\n")
    r = cli("import", str(tmp_path / "missing.tar"))
    assert r.code == 1
    assert r.err == f"skiff: open {tmp_path / 'missing.tar'}: no such file or directory\n"
    assert cli("system", "check").code == 0
    assert cli("images", "-q").out == ""


def test_tag_rmi_messages(cli, tarfile_path):
    image_id = _import(cli, tarfile_path, "a")
    assert cli("tag", "a", "b:2").code == 0
    assert [ln.split()[:2] for ln in cli("images").out.splitlines()[1:]] == [["a", "latest"],
                                                                            ["b", "2"]]
    r = cli("rmi", "b:2")
    assert (r.code, r.out) == (0, "Untagged: b:2\n")
    r = cli("image", "rm", "a", "nope")
    assert r.out == f"Untagged: a:latest\nDeleted: {image_id}\n"
    assert (r.code, r.err) == (1, "skiff: No such image: nope\n")  # docker 20.10: as typed
    r = cli("tag", "nope", "x")  # docker: "Error response from daemon: ..." exits 1
    assert (r.code, r.err) == (1, "skiff: No such image: nope:latest\n")
    r = cli("tag", "x", "Bad")
    assert r.code == 1


def test_inspect_fields(cli, tarfile_path):
    image_id = _import(cli, tarfile_path, "app", "--change", "CMD [\"sh\"]",
                       "--change", "LABEL k=v")
    r = cli("inspect", "app")
    assert r.code == 0, r
    (d,) = json.loads(r.out)
    assert d["Id"] == image_id
    assert d["RepoTags"] == ["app:latest"]
    assert d["RepoDigests"] == []
    assert d["Config"]["Cmd"] == ["sh"]
    assert d["Config"]["Labels"] == {"k": "v"}
    assert d["Config"]["Entrypoint"] is None
    assert d["RootFS"] == {"Type": "layers", "Layers": [digest.of_bytes(TAR)]}
    assert d["Size"] == SIZE
    assert d["Comment"] == "Imported from -"
    assert (d["Os"], d["Architecture"]) == ("linux", "amd64")
    assert list(d)[:4] == ["Id", "RepoTags", "RepoDigests", "Parent"]
    r = cli("image", "inspect", "app", "nope")
    assert r.code == 1
    assert r.err == "skiff: No such image: nope\n"  # docker 20.10: the name as typed
    assert len(json.loads(r.out)) == 1
    r = cli("inspect", "nope")
    assert (r.code, r.out, r.err) == (1, "[]\n", "skiff: No such object: nope\n")


def test_images_format(cli, tarfile_path):
    pytest.importorskip("skiff.format")
    image_id = _import(cli, tarfile_path, "a")
    assert cli("tag", "a", "b:2").code == 0
    assert cli("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").out == \
        f"a:latest {image_id[7:19]}\nb:2 {image_id[7:19]}\n"
    r = cli("images", "--format", "table {{.Repository}}\t{{.Tag}}")
    assert r.out == "REPOSITORY   TAG\na            latest\nb            2\n"


def test_inspect_format(cli, tarfile_path):
    pytest.importorskip("skiff.format")
    image_id = _import(cli, tarfile_path, "app", "-c", "LABEL k=v")
    assert cli("inspect", "-f", "{{.Id}}", "app").out == image_id + "\n"
    assert cli("inspect", "--format", "{{len .RootFS.Layers}}", "app").out == "1\n"
    assert cli("inspect", "-f", '{{index .Config.Labels "k"}}', "app").out == "v\n"


def test_history(cli, tarfile_path):
    image_id = _import(cli, tarfile_path, "app")
    r = cli("history", "app")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert lines[1].startswith(image_id[7:19] + "   ")
    assert lines[1].endswith("   6B        Imported from -")
    assert cli("history", "-q", "--no-trunc", "app").out == image_id + "\n"
    r = cli("history", "-H=false", "app")
    assert "   6         Imported from -" in r.out


def test_prune(cli, tarfile_path):
    keep = _import(cli, tarfile_path, "keep")
    dang = cli("import", "-", stdin=rootfs_tar({"x": b"1"})).out.strip()
    r = cli("image", "prune", "-f")
    assert r.code == 0
    assert r.out.startswith(f"Deleted Images:\ndeleted: {dang}\n\nTotal reclaimed space: ")
    r = cli("image", "prune", stdin=b"n\n")
    assert r.out == "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] "
    r = cli("image", "prune", "-a", stdin=b"y\n")
    assert f"untagged: keep:latest\ndeleted: {keep}\n" in r.out
    assert cli("images", "-q").out == ""


def test_save_load_round_trip(cli, tarfile_path, tmp_path, skiff_root):
    image_id = _import(cli, tarfile_path, "app:1", "-c", "ENV X=1")
    out = tmp_path / "out.tar"
    assert cli("save", "-o", str(out), "app:1").code == 0
    assert cli("rmi", "app:1").code == 0
    assert cli("images", "-q").out == ""
    r = cli("load", "-i", str(out))
    assert (r.code, r.out) == (0, "Loaded image: app:1\n")
    assert cli("images", "-q", "--no-trunc").out == image_id + "\n"
    assert cli("system", "check").code == 0
    r = cli("save", "-o", str(tmp_path / "x.tar"), "nope")
    assert (r.code, r.err) == (1, "skiff: No such image: nope\n")  # docker 20.10 save
    assert not (tmp_path / "x.tar").exists()


def test_system_check_finds_corruption(cli, tarfile_path, skiff_root):
    image_id = _import(cli, tarfile_path, "app")
    r = cli("system", "check")
    assert (r.code, r.out) == (0, "3 blobs, 1 images, 1 names checked; 0 unreferenced blobs; "
                                  "0 unfinished ingests; no problems found\n")
    blob = skiff_root / "content" / "blobs" / "sha256" / image_id[7:]
    blob.chmod(0o644)
    blob.write_bytes(b"{}")
    r = cli("system", "check")
    assert r.code == 1
    assert r.out.splitlines()[0] == (f"blob {image_id}: digest mismatch: content hashes to "
                                     f"{digest.of_bytes(b'{}')}")
    assert r.out.splitlines()[-1].endswith("; 2 problems found")


def test_system_df(cli, tarfile_path):
    _import(cli, tarfile_path, "app")
    r = cli("system", "df")
    lines = r.out.splitlines()
    assert lines[0] == "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE"
    assert lines[1].split() == ["Images", "1", "0", "6B", "6B", "(100%)"]
    assert lines[2].split() == ["Containers", "0", "0", "0B", "0B"]


def test_system_df_verbose_attributes_every_byte(tarfile_path, skiff_root, cli):
    import subprocess

    from skiff.config import Config
    from skiff.images import ImageService
    from skiff.images.check import attribute
    from skiff.metadata import connect

    _import(cli, tarfile_path, "app")
    assert "image blobs" in cli("system", "df", "-v").out
    cfg = Config.from_env()
    db = connect(cfg.metadata_path)
    parts = attribute(ImageService(cfg, db))
    du = int(subprocess.run(["du", "-s", "-B1", str(skiff_root)], capture_output=True,
                            text=True, check=True).stdout.split()[0])
    db.close()
    assert sum(n for _, _, n in parts) == du
    owners = [o for _, o, _ in parts]
    assert owners[0] == "image blobs (layers, configs, manifests)"


def test_save_to_stdout_piped_into_load(skiff_exe, tmp_path, skiff_root):
    """``skiff save IMAGE | skiff load`` through real pipes (load spools the unseekable stdin)."""
    import os
    import subprocess
    import sys

    src = tmp_path / "r.tar"
    src.write_bytes(TAR)
    image_id = skiff_exe("import", str(src), "piped:1").stdout.decode().strip()
    other = tmp_path / "other-root"
    env = {**os.environ, "SKIFF_ROOT": str(skiff_root)}
    save = subprocess.Popen([sys.executable, "-m", "skiff", "save", "piped:1"], env=env,
                            stdout=subprocess.PIPE)
    load = subprocess.run([sys.executable, "-m", "skiff", "--root", str(other), "load"],
                          stdin=save.stdout, capture_output=True, env=env, timeout=60)
    save.stdout.close()
    assert save.wait() == 0
    assert (load.returncode, load.stdout) == (0, b"Loaded image: piped:1\n"), load.stderr
    r = subprocess.run([sys.executable, "-m", "skiff", "--root", str(other), "images", "-q",
                        "--no-trunc"], capture_output=True, env=env)
    assert r.stdout.decode() == image_id + "\n"
    assert list((other / "tmp").iterdir()) == []  # the spool file is gone


@pytest.mark.parametrize("args,err", [
    # docker's client (ImageTag) wraps a bad name: Error parsing reference: "Bad" is not ...
    (("tag", "app", "Bad"), 'skiff: Error parsing reference: "Bad" is not a valid repository/'
                            "tag: invalid reference format: repository name must be "
                            "lowercase\n"),
    (("tag", "app", "x@sha256:" + "a" * 64), "skiff: refusing to create a tag with a digest "
                                             "reference\n"),
    (("tag", "app", "a:b:c"), 'skiff: Error parsing reference: "a:b:c" is not a valid '
                              "repository/tag: invalid reference format\n"),
    (("import", "-", "UPPER"), "skiff: invalid reference format: repository name must "
                               "be lowercase\n"),
])
def test_invalid_references(cli, tarfile_path, args, err):
    _import(cli, tarfile_path, "app")
    before = cli("images", "-q", "--no-trunc").out
    r = cli(*args, stdin=TAR)
    assert (r.code, r.err) == (1, err)  # docker exits 1 on errors the daemon or client reports
    assert cli("images", "-q", "--no-trunc").out == before
    assert cli("system", "check").out.endswith("0 unreferenced blobs; 0 unfinished ingests; "
                                               "no problems found\n")


def test_images_before_since_and_prune_filters(cli, tmp_path):
    import time

    ids = []
    for i in range(3):
        p = tmp_path / f"{i}.tar"
        p.write_bytes(rootfs_tar({"n": str(i).encode()}))
        ids.append(_import(cli, p, f"img{i}", "-c", f"LABEL n={i}")[7:19])
        time.sleep(0.02)
    assert cli("images", "-q", "--filter", "before=img2").out == f"{ids[1]}\n{ids[0]}\n"
    assert cli("images", "-q", "-f", "since=img0").out == f"{ids[2]}\n{ids[1]}\n"
    assert cli("images", "-q", "-f", "label=n=1").out == f"{ids[1]}\n"
    r = cli("image", "prune", "-a", "-f", "--filter", "label=n=0")
    assert "untagged: img0:latest\n" in r.out
    assert cli("image", "prune", "-a", "-f", "--filter", "until=1h").out == \
        "Total reclaimed space: 0B\n"
    assert cli("images", "-q").out == f"{ids[2]}\n{ids[1]}\n"
    r = cli("image", "prune", "-f", "--filter", "bogus=1")
    assert (r.code, r.err) == (1, "skiff: Invalid filter 'bogus'\n")  # dockerd's words


def test_save_and_load_platform(cli, tarfile_path, tmp_path):
    image_id = _import(cli, tarfile_path, "app:1")  # imported for this host: linux/amd64
    out = tmp_path / "app.tar"
    assert cli("save", "--platform", "linux/amd64", "-o", str(out), "app:1").code == 0
    other = tmp_path / "other.tar"
    r = cli("save", "--platform", "linux/arm64", "-o", str(other), "app:1")
    assert (r.code, r.err) == (1, "skiff: image with reference app:1 was found but does not "
                                  "provide the specified platform (linux/arm64)\n")
    assert not other.exists()
    r = cli("save", "--platform", "linux/arm64/v8/x", "-o", str(other), "app:1")
    assert (r.code, r.err) == (1, "skiff: invalid platform 'linux/arm64/v8/x': expected "
                                  "os/arch[/variant]\n")
    assert not other.exists()
    assert cli("save", "--platform", "linux", "-o", str(other), "app:1").code == 0  # host arch
    assert cli("rmi", "app:1").code == 0
    r = cli("load", "--platform", "linux/arm64/v8", "-i", str(out))
    assert (r.code, r.err) == (1, "skiff: no image in the archive provides the specified "
                                  "platform (linux/arm64)\n")
    assert cli("images", "-q").out == ""
    r = cli("load", "--platform", "linux/arm64,linux/x86_64", "-i", str(out))
    assert (r.code, r.out) == (0, "Loaded image: app:1\n")
    assert cli("images", "-q", "--no-trunc").out == image_id + "\n"
    assert cli("system", "check").code == 0
