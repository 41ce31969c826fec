"""What a container leaves on the host after it stopped, or after a skiff process was
killed at a bad moment: mounts, half-made bundles, runc states. Real runc and overlayfs;
Docker 20.10's behaviour as observed on this machine where it has one."""

from __future__ import annotations

import os
import time

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def _mounted(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(ln.split()[4] == path for ln in f)


def _until(cond, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def test_shareable_ipc_shm_unmounted_when_the_container_stops(sk, root):
    # dockerd's Cleanup on exit unmounts a shareable container's /dev/shm; a joiner that
    # runs on keeps its own view of it (what it wrote stays readable)
    cid = sk("run", "-d", "--ipc", "shareable", "--name", "ipc-x", "bb:1",
             "sleep", "1").out.strip()
    shm = os.path.join(str(root), "containers", cid, "shm")
    assert _mounted(shm)
    r = sk("run", "-d", "--ipc", "container:ipc-x", "--name", "ipc-y", "bb:1", "sh", "-c",
           "echo hi > /dev/shm/f; sleep 3; cat /dev/shm/f; ls /dev/shm")
    assert r.code == 0, r
    assert sk("wait", "ipc-x").out == "0\n"
    assert _until(lambda: not _mounted(shm)), "the donor's /dev/shm is still mounted"
    assert sk("wait", "ipc-y").out == "0\n"
    assert sk("logs", "ipc-y").out == "hi\nf\n"
    # a stopped donor cannot be joined (dockerd's words)
    r = sk("run", "--rm", "--ipc", "container:ipc-x", "bb:1", "true")
    assert (r.code, r.err) == (125, f"skiff: can't join IPC of container {cid}: container "
                                    f"{cid} is not running\n")
    # a new start mounts a fresh one; rm leaves nothing mounted
    assert sk("start", "ipc-x").code == 0
    assert _mounted(shm)
    assert sk("rm", "-f", "ipc-x", "ipc-y").code == 0
    assert not _mounted(shm)


def test_shareable_ipc_run_rm_leaves_no_mount(sk, root):
    before = [ln.split()[4] for ln in open("/proc/self/mountinfo")]
    listed = sk("ps", "-aq").out
    r = sk("run", "--rm", "--ipc", "shareable", "bb:1", "sh", "-c", "echo x > /dev/shm/a")
    assert (r.code, r.err) == (0, ""), r
    prefix = os.path.join(str(root), "")

    def clean() -> bool:
        now = [ln.split()[4] for ln in open("/proc/self/mountinfo")]
        return [m for m in now if m.startswith(prefix)] == [
            m for m in before if m.startswith(prefix)]
    assert _until(clean)
    assert sk("ps", "-aq").out == listed
