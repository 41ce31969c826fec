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
