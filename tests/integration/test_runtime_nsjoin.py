"""``--pid container:X`` and ``--ipc container:X``: join a running container's PID / IPC
namespace. Every expected value was read from docker 20.10.24 (dockerd with its own data
root on this machine, the busybox image imported as bb:1): its messages, exit codes (run
125; start 1) and inspect's ``HostConfig.PidMode`` / ``IpcMode`` (``container:<full ID>``)."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


@pytest.fixture(scope="module")
def donors(root):
    """``nj-a`` (private IPC), ``nj-sh`` (--ipc shareable), both running; ``nj-stopped``
    created only."""
    from tests.integration.test_container_lifecycle import _main

    ids = {}
    for name, extra in (("nj-a", ()), ("nj-sh", ("--ipc", "shareable"))):
        res = _main(root, "run", "-d", "--name", name, *extra, "bb:1", "sleep", "300")
        assert res.code == 0, res
        ids[name] = res.out.strip()
    res = _main(root, "create", "--name", "nj-stopped", "bb:1", "sleep", "300")
    assert res.code == 0, res
    ids["nj-stopped"] = res.out.strip()
    yield ids
    _main(root, "rm", "-f", *ids.values())


def _hc(sk, ref: str) -> dict:
    res = sk("inspect", ref)
    assert res.code == 0, res
    return json.loads(res.out)[0]["HostConfig"]


def test_pid_container_sees_the_donors_processes(sk, donors):
    # docker: "PID USER COMMAND / 1 root sleep 60 / 7 root ps"
    res = sk("run", "--rm", "--pid", "container:nj-a", "bb:1", "ps", "-o", "pid,comm")
    assert res.code == 0, res
    rows = [ln.split() for ln in res.out.splitlines()[1:]]
    assert rows[0] == ["1", "sleep"]
    assert [r[1] for r in rows[1:]] == ["ps"]


def test_ipc_container_shares_the_namespace(sk, donors):
    res = sk("exec", "nj-sh", "readlink", "/proc/self/ns/ipc")
    assert res.code == 0, res
    res2 = sk("run", "--rm", "--ipc", "container:nj-sh", "bb:1", "readlink", "/proc/self/ns/ipc")
    assert (res2.code, res2.out) == (0, res.out)
    assert res.out.startswith("ipc:[")
    # and its /dev/shm: docker binds the donor's shm into the joiner
    assert sk("exec", "nj-sh", "touch", "/dev/shm/hello").code == 0
    res3 = sk("run", "--rm", "--ipc", "container:nj-sh", "bb:1", "ls", "/dev/shm")
    assert (res3.code, res3.out) == (0, "hello\n")


def test_inspect_records_the_full_id(sk, donors):
    res = sk("create", "--name", "nj-joiner", "--pid", "container:nj-a",
             "--ipc", "container:nj-sh", "bb:1", "true")
    assert res.code == 0, res
    hc = _hc(sk, "nj-joiner")
    assert (hc["PidMode"], hc["IpcMode"]) == (
        "container:" + donors["nj-a"], "container:" + donors["nj-sh"])
    assert sk("rm", "nj-joiner").code == 0
    hc = _hc(sk, "nj-a")
    assert (hc["PidMode"], hc["IpcMode"]) == ("", "private")
    assert _hc(sk, "nj-sh")["IpcMode"] == "shareable"


def test_unknown_donor(sk, donors):
    before = sk("ps", "-aq").out
    for flag in ("--pid", "--ipc"):
        res = sk("run", "--rm", flag, "container:nj-nope", "bb:1", "true")
        assert (res.code, res.out, res.err) == (125, "", "skiff: No such container: nj-nope\n")
    res = sk("run", "--rm", "--ipc", "container:", "bb:1", "true")
    assert (res.code, res.err) == (
        125, 'skiff: can\'t join IPC of container : invalid name or ID supplied: ""\n')
    assert sk("ps", "-aq").out == before


def test_donor_not_running(sk, donors):
    sid = donors["nj-stopped"]
    res = sk("run", "--rm", "--pid", "container:nj-stopped", "bb:1", "true")
    assert (res.code, res.err) == (125, f"skiff: container {sid} is not running\n")
    res = sk("run", "--rm", "--ipc", "container:nj-stopped", "bb:1", "true")
    assert (res.code, res.err) == (
        125, f"skiff: can't join IPC of container {sid}: container {sid} is not running\n")
    # without --rm the container stays created; docker start says the same, exit 1
    res = sk("run", "--name", "nj-left", "--pid", "container:nj-stopped", "bb:1", "true")
    assert res.code == 125
    res = sk("start", "nj-left")
    assert (res.code, res.err) == (
        1, f"skiff: container {sid} is not running\n"
           "skiff: failed to start containers: nj-left\n")
    assert sk("ps", "-a", "--filter", "name=nj-left", "--format", "{{.Status}}").out == "Created\n"
    assert sk("rm", "nj-left").code == 0


def test_donor_ipc_not_shareable(sk, donors):
    aid = donors["nj-a"]
    res = sk("run", "--rm", "--ipc", "container:nj-a", "bb:1", "true")
    assert (res.code, res.err) == (
        125, f"skiff: can't join IPC of container {aid}: non-shareable IPC "
             "(hint: use IpcMode:shareable for the donor container)\n")


@pytest.mark.parametrize("flag,value,err", [
    ("--pid", "private", "--pid: invalid PID mode"),
    ("--pid", "shareable", "--pid: invalid PID mode"),
    ("--pid", "container:", "--pid: invalid PID mode"),
    ("--uts", "private", "--uts: invalid UTS mode"),
    ("--ipc", "bogus", "Invalid IPC mode: bogus"),
])
def test_bad_modes(sk, flag, value, err):
    res = sk("run", "--rm", flag, value, "bb:1", "true")
    assert (res.code, res.err) == (125, f"skiff: {err}\n")


def test_ipc_none_has_no_dev_shm(sk):
    # docker run --ipc none bb:1 ls /dev/shm: "ls: /dev/shm: No such file or directory", 1
    res = sk("run", "--rm", "--ipc", "none", "bb:1", "ls", "/dev/shm")
    assert (res.code, res.err) == (1, "ls: /dev/shm: No such file or directory\n")
    res = sk("create", "--name", "nj-none", "--ipc", "none", "bb:1", "true")
    assert res.code == 0, res
    assert _hc(sk, "nj-none")["IpcMode"] == "none"
    assert sk("rm", "nj-none").code == 0


def test_ipc_host_binds_the_hosts_dev_shm(sk, donors):
    # docker run --ipc host: the host's /dev/shm (its files, its tmpfs's own flags), and a
    # container joining such a donor gets it too
    import os

    marker = f"/dev/shm/skiff-nj-{os.getpid()}"
    open(marker, "w").close()
    try:
        res = sk("run", "--rm", "--ipc", "host", "bb:1", "ls", marker)
        assert (res.code, res.out) == (0, marker + "\n")
        assert sk("run", "-d", "--name", "nj-host", "--ipc", "host", "bb:1", "sleep", "300").code == 0
        res = sk("run", "--rm", "--ipc", "container:nj-host", "bb:1", "ls", marker)
        assert (res.code, res.out) == (0, marker + "\n")
    finally:
        os.unlink(marker)
        sk("rm", "-f", "nj-host")
