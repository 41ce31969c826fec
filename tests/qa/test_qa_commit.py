"""QA: ``skiff commit`` compared with ``docker commit``."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def test_commit_message_is_the_image_comment(cli, busybox_tar):
    # docker commit -m MSG: `docker inspect -f '{{.Comment}}'` prints MSG; without -m it is
    # empty (the base image's comment is not inherited).
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    assert cli("run", "--name", "qa-commit", "bb:1", "touch", "/f").code == 0
    try:
        assert cli("commit", "-m", "msg", "qa-commit", "qa-c:1").code == 0
        assert cli("commit", "qa-commit", "qa-c:2").code == 0
        got = (cli("inspect", "-f", "{{.Comment}}", "qa-c:1").out,
               cli("inspect", "-f", "{{.Comment}}", "qa-c:2").out)
        assert got == ("msg\n", "\n")
    finally:
        cli("rm", "-f", "qa-commit")
