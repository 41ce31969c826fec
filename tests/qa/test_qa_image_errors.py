"""QA: image commands fail as Docker's CLI does (one line, exit 1 for daemon errors).

Docker's CLI exits 125 only for its own flag/usage errors (and for ``docker run``); an
error the engine reports for ``docker tag|history|save|load|import`` ("Error response from
daemon: No such image: nope:latest") makes it exit 1, as ``docker rmi`` and ``docker
inspect`` already do in skiff.
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("argv, shown", [
    (("tag", "nope", "x:1"), "nope:latest"),
    (("image", "tag", "nope", "x:1"), "nope:latest"),
    (("history", "nope"), "nope:latest"),
    (("image", "history", "nope"), "nope:latest"),
    # docker 20.10 save: a bare name means all the repository's tags; none and no image
    # by that ID reads "No such image: nope"
    (("save", "-o", "{tmp}/out.tar", "nope"), "nope"),
    # docker 20.10 rmi and image inspect name it as typed (measured)
    (("rmi", "nope"), "nope"),
    (("image", "inspect", "nope"), "nope"),
    (("rmi", "sha256:abcd"), "sha256:abcd"),
])
def test_unknown_image_exits_1(cli, tmp_path, argv, shown):
    r = cli(*(a.format(tmp=tmp_path) for a in argv))
    assert (r.code, r.err) == (1, f"skiff: No such image: {shown}\n")
    assert r.out == ("[]\n" if "inspect" in argv else "")
    assert not (tmp_path / "out.tar").exists()  # save leaves no half-written file


def test_load_garbage_exits_1_and_stores_nothing(cli, tmp_path):
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"\x01garbage" * 700)
    r = cli("load", "-i", str(bad))
    assert r.code == 1
    assert r.err.startswith("skiff: ") and r.err.count("\n") == 1
    assert cli("images", "-q").out == ""
    chk = cli("system", "check")
    assert chk.code == 0
    assert chk.out == ("0 blobs, 0 images, 0 names checked; 0 unreferenced blobs; "
                       "0 unfinished ingests; no problems found\n")


def test_import_missing_file_exits_1(cli, tmp_path):
    r = cli("import", str(tmp_path / "missing.tar"), "z:1")
    assert r.code == 1
    assert r.err == f"skiff: open {tmp_path}/missing.tar: no such file or directory\n"


def test_bad_flag_still_exits_125(cli):
    r = cli("tag", "--bogus", "a", "b")
    assert r.code == 125
    # docker 20.10: "unknown flag: --bogus" then "See 'docker tag --help'."
    assert r.err == "skiff: unknown flag: --bogus\nSee 'skiff tag --help'.\n"
