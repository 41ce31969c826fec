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


def test_rm_force_kills_container_after_its_monitor_killed(cli, busybox_tar):
    # Docker: `docker rm -f` never leaves a container process behind, whatever happened to
    # the shim/runtime process; a process that is still running is not reported as exited.
    # Here the process holding the container is its monitor.
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    r = cli("run", "-d", "--name", "qa-orphan", "bb:1", "sleep", "300")
    assert r.code == 0, r
    pid = int(cli("inspect", "--format", "{{.State.Pid}}", "qa-orphan").out)
    try:
        # the container's parent: its monitor (runc run --detach returned once it had
        # started it; the monitor, a subreaper, holds the init), conmon's/the shim's role
        holder = _ppid(pid)
        from skiff import metadata
        from skiff.config import Config
        from skiff.runtime import records

        cid = cli("inspect", "--format", "{{.Id}}", "qa-orphan").out.strip()
        db = metadata.connect(Config.from_env().metadata_path)
        try:
            rec = records.get(db, cid)
        finally:
            db.close()
        assert holder == rec["Skiff"]["MonitorPid"]
        os.kill(holder, signal.SIGKILL)
        time.sleep(0.5)
        status = cli("inspect", "--format", "{{.State.Status}}", "qa-orphan").out.strip()
        shown_exited_while_alive = status == "exited" and _alive(pid)
        assert cli("rm", "-f", "qa-orphan").code == 0
        time.sleep(0.3)
        assert (shown_exited_while_alive, _alive(pid)) == (False, False)
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
