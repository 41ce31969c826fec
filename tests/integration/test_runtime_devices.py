"""``--device`` of a path the host lacks: dockerd accepts it at create and fails the
start, which docker/cli's run turns into exit 127 (its rule for "no such file or
directory" in a start error); the record keeps the error and exit code 128. Expected
values read from docker 20.10.24 on this machine (busybox image as bb:1)."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]

MISSING = ('error gathering device information while adding custom device "/nonexistent": '
           "no such file or directory")


def test_missing_device_run_rm_exits_127_and_leaves_nothing(sk):
    before = sk("ps", "-aq").out
    res = sk("run", "--rm", "--device", "/nonexistent", "bb:1", "true")
    assert (res.code, res.out, res.err) == (127, "", f"skiff: {MISSING}\n")
    assert sk("ps", "-aq").out == before


def test_missing_device_is_a_start_error(sk):
    res = sk("create", "--name", "dv-created", "--device", "/nonexistent", "bb:1", "true")
    assert res.code == 0, res
    res = sk("start", "dv-created")
    assert (res.code, res.err) == (
        1, f"skiff: {MISSING}\nskiff: failed to start containers: dv-created\n")
    rec = json.loads(sk("inspect", "dv-created").out)[0]
    assert rec["HostConfig"]["Devices"] == [{"PathOnHost": "/nonexistent",
                                             "PathInContainer": "/nonexistent",
                                             "CgroupPermissions": "rwm"}]
    st = rec["State"]
    assert (st["Status"], st["Running"], st["Pid"], st["ExitCode"], st["Error"]) == (
        "created", False, 0, 128, MISSING)
    res = sk("run", "--name", "dv-run", "--device", "/nonexistent", "bb:1", "true")
    assert (res.code, res.err) == (127, f"skiff: {MISSING}\n")
    assert sk("ps", "-a", "--filter", "name=dv-run", "--format", "{{.Status}}").out == "Created\n"
    assert sk("rm", "dv-created", "dv-run").code == 0


@pytest.mark.parametrize("spec,err", [
    ("/etc/passwd", 'error gathering device information while adding custom device '
                    '"/etc/passwd": not a device node'),
    ("/dev/null:x", "x is not an absolute path"),
    ("/dev/null:/dev/x:rwz", "bad mode specified: rwz"),
])
def test_bad_device(sk, spec, err):
    res = sk("run", "--rm", "--device", spec, "bb:1", "true")
    assert (res.code, res.err) == (125, f"skiff: {err}\n")


def test_device_mode_only(sk):
    # docker: --device /dev/null:r -> PathInContainer /dev/null, permissions r
    res = sk("create", "--name", "dv-mode", "--device", "/dev/null:r", "bb:1", "true")
    assert res.code == 0, res
    rec = json.loads(sk("inspect", "dv-mode").out)[0]
    assert rec["HostConfig"]["Devices"] == [{"PathOnHost": "/dev/null",
                                             "PathInContainer": "/dev/null",
                                             "CgroupPermissions": "r"}]
    assert sk("rm", "dv-mode").code == 0
