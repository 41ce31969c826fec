"""QA (session 2): ``system df`` counts running containers and used volumes as active.

docker/cli (formatter/disk_usage.go): a container is ACTIVE while running, paused or
restarting and its space is not RECLAIMABLE; a volume is ACTIVE while a container refers to
it (RefCount > 0). skiff showed ACTIVE 0 and everything reclaimable with a container up.
"""

from __future__ import annotations

import uuid

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def _df(cli) -> dict[str, tuple[str, str]]:
    r = cli("system", "df", "--format", "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Reclaimable}}")
    assert r.code == 0, r
    rows = [line.split("|") for line in r.out.splitlines()]
    return {t: (n, a, rec) for t, n, a, rec in rows}


def test_running_container_and_its_volume_are_active(cli, busybox_tar):
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    up, done = "qa2-up-" + uuid.uuid4().hex[:8], "qa2-done-" + uuid.uuid4().hex[:8]
    vol = "qa2vol" + uuid.uuid4().hex[:8]
    assert cli("volume", "create", "qa2-unused").code == 0
    assert cli("run", "-d", "--name", up, "-v", f"{vol}:/v", "bb:1",
               "sh", "-c", "echo x > /v/f; echo yy > /r; sleep 60").code == 0
    try:
        assert cli("run", "--name", done, "bb:1", "sh", "-c", "echo hello > /f").code == 0
        df = _df(cli)
        # (qa3) Docker's figures: SizeRw of each (3B running + 6B exited), the exited
        # one's reclaimable; the running container's volume is not
        assert df["Containers"] == ("2", "1", "6B (66%)")
        assert df["Local Volumes"] == ("2", "1", "0B (0%)")
    finally:
        cli("rm", "-f", up, done)
    df = _df(cli)
    assert df["Containers"] == ("0", "0", "0B")
    # (qa3) Docker sizes volumes by their files' bytes (moby pkg/directory.Size): "2B"
    assert df["Local Volumes"] == ("2", "0", "2B (100%)")
