"""QA: ``skiff stop`` of a ``run --rm -d`` container, as ``docker stop`` does it."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def test_stop_of_autoremove_container_succeeds(cli, busybox_tar):
    # docker run --rm -d --name x busybox sleep 100; docker stop -t 1 x  -> prints "x", exit 0,
    # and the container is gone afterwards.
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    assert cli("run", "--rm", "-d", "--name", "qa-rm-stop", "bb:1", "sleep", "100").code == 0
    r = cli("stop", "-t", "1", "qa-rm-stop")
    try:
        assert (r.code, r.out, r.err) == (0, "qa-rm-stop\n", "")
    finally:
        cli("rm", "-f", "qa-rm-stop")
    assert cli("ps", "-aq").out == ""
