"""What a container leaves on the host after it stopped, or after a skiff process was
killed at a bad moment: mounts, half-made bundles, runc states. Real runc and overlayfs;
Docker 20.10's behaviour as observed on this machine where it has one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def test_shareable_ipc_restart_gets_an_empty_shm(sk, root):
    # dockerd unmounts it at each exit and mounts a new one at the restart: nothing the
    # last run wrote is listed (docker logs: empty)
    cid = sk("run", "-d", "--ipc", "shareable", "--restart", "on-failure:2", "bb:1", "sh",
             "-c", "ls /dev/shm; touch /dev/shm/x$$; exit 1").out.strip()
    assert sk("wait", cid).out == "1\n"
    rec = json.loads(sk("inspect", cid).out)[0]
    assert rec["RestartCount"] == 2
    assert sk("logs", cid).out == ""
    shm = os.path.join(str(root), "containers", cid, "shm")
    assert _until(lambda: not _mounted(shm))
    assert sk("rm", cid).code == 0


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


# a skiff command killed (SIGKILL, as kill -9) at a chosen point
_KILLED = r"""
import os, signal, sys
from skiff.cli.main import main
root, where, when, match, *argv = sys.argv[1:]
mod_name, _, attr = where.partition(":")
holder = __import__(mod_name, fromlist=["x"])
owner, _, fn_name = attr.rpartition(".")
if owner:
    holder = getattr(holder, owner)
orig = getattr(holder, fn_name)

def hooked(*a, **k):
    if match not in " ".join(map(str, a)):
        return orig(*a, **k)
    if when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    out = orig(*a, **k)
    if when == "monitor":  # the run's monitor, before it let go of its runc state
        from skiff.runtime import monitor
        while monitor._FORKED:
            pid = monitor._FORKED.pop()
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        return out
    os.kill(os.getpid(), signal.SIGKILL)
setattr(holder, fn_name, hooked)
sys.exit(main(["--root", root, *argv]))
"""


def _killed(root, where: str, when: str, *argv: str, match: str = "") -> subprocess.CompletedProcess:
    """skiff ``argv`` in a child killed (SIGKILL) before/after the first call of ``where``
    (``module:function`` or ``module:Class.method``) whose arguments' text contains ``match``;
    ``when="monitor"``: the run's monitor is killed after that call instead."""
    return subprocess.run([sys.executable, "-c", _KILLED, str(root), where, when, match,
                           *argv], capture_output=True, text=True, timeout=60)


def _ids(sk) -> set[str]:
    return set(sk("ps", "-aq", "--no-trunc").out.split())


def _bundles(root) -> set[str]:
    try:
        return set(os.listdir(os.path.join(str(root), "containers")))
    except FileNotFoundError:
        return set()


@pytest.mark.parametrize("where,when", [
    ("skiff.runtime.records:insert", "after"),  # in the create's transaction, uncommitted
    ("skiff.runtime.containers:transaction", "before"),  # before the record's transaction
])
def test_create_killed_leaves_no_bundle_without_record(sk, root, where, when):
    ids = _ids(sk)
    r = _killed(root, where, when, "create", "--name", "killed-create", "bb:1", "true")
    assert r.returncode == -9, r
    assert _ids(sk) == ids  # no record...
    assert _bundles(root) <= ids  # ...and no containers/<id>/ without one


def test_create_killed_after_commit_leaves_a_startable_container(sk, root):
    # killed once the record is in but before its directory is made: the record is
    # a created container as any other, and starts
    r = _killed(root, "os:makedirs", "before", "create", "--name", "killed-late", "bb:1",
                "echo", "ok", match=os.path.join(str(root), "containers", ""))
    assert r.returncode == -9, r
    assert sk("ps", "-a", "--filter", "name=killed-late", "--format", "{{.Status}}").out == \
        "Created\n"
    r = sk("start", "-a", "killed-late")
    assert (r.code, r.out, r.err) == (0, "ok\n", ""), r
    assert sk("rm", "killed-late").code == 0
    assert _bundles(root) <= _ids(sk)


def _runc_ids(root) -> set[str]:
    from skiff.runtime.runc import state_root

    try:
        return set(os.listdir(state_root(str(root))))
    except FileNotFoundError:
        return set()


@pytest.mark.parametrize("cmd", [["ps"], ["rm", "-f", "nosuch-rt5"], ["container", "prune", "-f"],
                                 ["system", "prune", "-f"]])
def test_runc_state_of_a_removed_container_is_swept(sk, root, cmd):
    # run --rm attached: the command removes the record on the exit message; its monitor
    # is killed before its `runc delete`: runc's state (and cgroups) stay, no record owns
    # them. The next command that reconciles deletes them.
    ids = _ids(sk)
    before = _runc_ids(root)
    r = _killed(root, "skiff.runtime.containers:ContainerService._remove_files", "monitor",
                "run", "--rm", "bb:1", "true")
    assert r.returncode == 0, r
    left = _runc_ids(root) - before
    assert len(left) == 1, left  # what the killed monitor left
    (cid,) = left
    sk(*cmd)
    assert _runc_ids(root) == before
    assert _ids(sk) == ids
    from skiff.runtime import cgroups

    assert not os.path.exists(cgroups._group_dir(cid))


def test_runc_state_of_an_exited_container_does_not_block_its_start(sk, root):
    # attached run (no --rm): the monitor is killed after the exit was reported and
    # recorded, before its `runc delete`; the next start must not meet runc's "container
    # with given ID already exists"
    before = _runc_ids(root)
    r = _killed(root, "skiff.runtime.containers:ContainerService._fold", "monitor",
                "run", "--name", "stale-state", "bb:1", "echo", "hi")
    assert (r.returncode, r.stdout) == (0, "hi\n"), r
    assert len(_runc_ids(root) - before) == 1  # what the killed monitor left
    r = sk("start", "-a", "stale-state")
    assert (r.code, r.out, r.err) == (0, "hi\n", ""), r
    assert sk("rm", "stale-state").code == 0
    assert _runc_ids(root) == before


@pytest.mark.parametrize("cmd", [["container", "prune", "-f"], ["system", "prune", "-f"]])
def test_rm_killed_after_the_record_went_leaves_a_bundle_for_prune(sk, root, cmd):
    # rm drops the record, then the directory: killed in between, the directory (with
    # the rootfs mount point of the last start) has no owner; prune deletes it
    assert sk("run", "--name", "rm-killed", "bb:1", "true").code == 0
    cid = json.loads(sk("inspect", "rm-killed").out)[0]["Id"]
    r = _killed(root, "skiff.runtime.records:delete", "after", "rm", "rm-killed", match=cid)
    assert r.returncode == -9, r
    assert cid not in _ids(sk)
    assert cid in _bundles(root)  # what the killed rm left
    sk(*cmd)
    assert _bundles(root) <= _ids(sk)
