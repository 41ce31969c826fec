"""QA pass 5: images (save/load, tag, rmi), compared with docker 20.10."""

from __future__ import annotations

import json
import tarfile


def _repo_tags(path) -> list:
    with tarfile.open(path) as tf:
        return sorted(m["RepoTags"] for m in json.load(tf.extractfile("manifest.json")))


def test_save_of_a_repository_name_saves_all_its_tags(cli, busybox_tar, tmp_path):
    # docker save REPO (no tag): every tag of REPO, sorted (moby tarexport parseNames,
    # "docker save -o fedora-all.tar fedora"); REPO:TAG one; a repo without tags but an
    # ID prefix still finds the image.
    a = cli("import", str(busybox_tar), "qa5s:1").out.strip()
    assert cli("tag", "qa5s:1", "qa5s:0").code == 0
    assert cli("import", "-c", "CMD [\"sh\"]", str(busybox_tar), "qa5s:2").code == 0
    assert cli("tag", "qa5s:1", "other:1").code == 0
    out = tmp_path / "all.tar"
    assert cli("save", "-o", str(out), "qa5s").code == 0
    assert _repo_tags(out) == [["qa5s:0", "qa5s:1"], ["qa5s:2"]]
    assert cli("save", "-o", str(out), "qa5s:2").code == 0
    assert _repo_tags(out) == [["qa5s:2"]]
    assert cli("save", "-o", str(out), a[7:19]).code == 0
    assert _repo_tags(out) == [None]
    r = cli("save", "-o", str(out), "nosuchrepo")
    assert (r.code, r.err) == (1, "skiff: No such image: nosuchrepo\n")


def test_image_prune_filters_as_docker(cli, busybox_tar):
    # moby image_prune.go (20.10): accepted filters dangling, label, label!, until;
    # dangling=false (what the CLI's -a sends) prunes every unused image; others
    # "Invalid filter 'foo'", a bad dangling value "Invalid filter 'dangling=[maybe]'",
    # a bad until "failed to parse value as time or duration: ..."; exit 1
    keep = cli("import", "-c", "LABEL keep=1", str(busybox_tar), "qa5p:keep").out.strip()
    gone = cli("import", "-c", "LABEL x=1", str(busybox_tar), "qa5p:gone").out.strip()
    for f, err in [("foo=bar", "Invalid filter 'foo'"),
                   ("dangling=maybe", "Invalid filter 'dangling=[maybe]'"),
                   ("until=bogus", 'failed to parse value as time or duration: "bogus"')]:
        r = cli("image", "prune", "-f", "--filter", f)
        assert (r.code, r.err) == (1, f"skiff: {err}\n"), f
    r = cli("image", "prune", "-f", "--filter", "dangling=true")
    assert (r.code, r.out) == (0, "Total reclaimed space: 0B\n")
    r = cli("image", "prune", "-f", "--filter", "dangling=false", "--filter", "label!=keep")
    assert r.code == 0, r.err
    assert r.out.splitlines()[:3] == ["Deleted Images:", "untagged: qa5p:gone",
                                      f"deleted: {gone}"]
    assert cli("images", "-q", "--no-trunc").out == keep + "\n"


def test_load_quiet_still_names_what_it_loaded(cli, busybox_tar, tmp_path):
    # docker load -q: no progress, but "Loaded image: bb:1" all the same (moby
    # tarexport writes it to the output stream whatever quiet says)
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    out = tmp_path / "bb.tar"
    assert cli("save", "-o", str(out), "bb:1").code == 0
    r = cli("load", "-q", "-i", str(out))
    assert (r.code, r.out) == (0, "Loaded image: bb:1\n")
