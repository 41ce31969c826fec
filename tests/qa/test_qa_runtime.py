"""QA: container lifecycle faults compared with Docker."""

from __future__ import annotations

import os
import signal
import time

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def test_rm_force_kills_container_after_runc_killed(cli, busybox_tar):
    # Docker: `docker rm -f` never leaves a container process behind, whatever happened to
    # the shim/runtime process; a process that is still running is not reported as exited.
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    r = cli("run", "-d", "--name", "qa-orphan", "bb:1", "sleep", "300")
    assert r.code == 0, r
    pid = int(cli("inspect", "--format", "{{.State.Pid}}", "qa-orphan").out)
    try:
        runc = _ppid(pid)
        with open(f"/proc/{runc}/cmdline", "rb") as f:
            assert b"runc" in f.read()
        os.kill(runc, signal.SIGKILL)
        time.sleep(0.5)
        status = cli("inspect", "--format", "{{.State.Status}}", "qa-orphan").out.strip()
        shown_exited_while_alive = status == "exited" and _alive(pid)
        assert cli("rm", "-f", "qa-orphan").code == 0
        time.sleep(0.3)
        assert (shown_exited_while_alive, _alive(pid)) == (False, False)
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
