"""Docker 20.10's behaviour where skiff used other words or refused: ``--network
container:X`` with X not running, ``--device`` of a directory (every device node under
it) and of a path that is neither. Expected values read from docker 20.10.24 on this
machine (busybox image as bb:1)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def _id(sk, ref: str) -> str:
    return json.loads(sk("inspect", ref).out)[0]["Id"]


def test_network_container_not_running(sk):
    # dockerd's getNetworkedContainer: the ID from HostConfig.NetworkMode (full, resolved
    # at create), Conflict: docker run exits 125, docker start 1 (docker/cli's line)
    assert sk("create", "--name", "nj-x", "bb:1", "sleep", "100").code == 0
    xid = _id(sk, "nj-x")
    msg = f"cannot join network of a non running container: {xid}"
    before = sk("ps", "-aq").out
    r = sk("run", "--rm", "--network", "container:nj-x", "bb:1", "true")
    assert (r.code, r.out, r.err) == (125, "", f"skiff: {msg}\n")
    assert sk("ps", "-aq").out == before  # --rm: nothing left
    r = sk("run", "--name", "nj-w", "--network", "container:nj-x", "bb:1", "true")
    assert (r.code, r.err) == (125, f"skiff: {msg}\n")
    assert sk("ps", "-a", "--filter", "name=nj-w", "--format", "{{.Status}}").out == "Created\n"
    r = sk("start", "nj-w")
    assert (r.code, r.err) == (1, f"skiff: {msg}\nskiff: failed to start containers: nj-w\n")
    # exited (after a run) says the same
    assert sk("start", "nj-x").code == 0
    assert sk("kill", "nj-x").code == 0
    assert sk("wait", "nj-x").out == "137\n"
    r = sk("start", "nj-w")
    assert (r.code, r.err) == (1, f"skiff: {msg}\nskiff: failed to start containers: nj-w\n")
    assert sk("rm", "nj-w", "nj-x").code == 0


@pytest.fixture
def devdir():
    """/dev/skiff-rt5-XXXX/ with a char device (1:3, 0660, 1000:1000), a block device (7:200, 0640) in
    a subdirectory, a regular file and a symlink (not device nodes: skipped)."""
    d = tempfile.mkdtemp(prefix="skiff-rt5-", dir="/dev")
    os.mknod(os.path.join(d, "cnull"), 0o660 | stat.S_IFCHR, os.makedev(1, 3))
    os.mkdir(os.path.join(d, "sub"))
    os.mknod(os.path.join(d, "sub", "blk"), 0o640 | stat.S_IFBLK, os.makedev(7, 200))
    with open(os.path.join(d, "plain"), "w") as f:
        f.write("x")
    os.symlink("/dev/null", os.path.join(d, "link"))
    for p in (d, os.path.join(d, "sub")):
        os.chmod(p, 0o755)
    os.chmod(os.path.join(d, "cnull"), 0o660)
    os.chown(os.path.join(d, "cnull"), 1000, 1000)
    os.chmod(os.path.join(d, "sub", "blk"), 0o640)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_device_directory_adds_every_node(sk, devdir):
    # docker 20.10 (oci_linux.go, devicesFromPath): each device node under the directory,
    # recursively, at the same path below the container path, mode and owner as on the
    # host; the record keeps the one --device entry as given
    name = os.path.basename(devdir)
    r = sk("run", "--rm", "--device", devdir, "bb:1", "sh", "-c",
           f"cd {devdir} && find . | sort && stat -c '%n %F %t:%T %a %u:%g' cnull sub/blk")
    assert (r.code, r.err) == (0, ""), r
    assert r.out == (".\n./cnull\n./sub\n./sub/blk\n"
                     "cnull character special file 1:3 660 1000:1000\n"
                     "sub/blk block special file 7:c8 640 0:0\n")
    # one node: its owner too
    r = sk("run", "--rm", "--device", f"{devdir}/cnull:/dev/one", "bb:1", "stat", "-c",
           "%F %t:%T %a %u:%g", "/dev/one")
    assert (r.code, r.out, r.err) == (0, "character special file 1:3 660 1000:1000\n", ""), r
    # another container path: the nodes go below it; the cgroup lets the container use them
    r = sk("run", "--rm", "--device", f"{devdir}:/dev/mine:r", "bb:1", "sh", "-c",
           "ls /dev/mine /dev/mine/sub && head -c 3 /dev/mine/cnull | wc -c")
    assert (r.code, r.out, r.err) == (0, "/dev/mine:\ncnull\nsub\n\n/dev/mine/sub:\nblk\n0\n", ""), r
    r = sk("create", "--name", "dd-rec", "--device", f"{devdir}:/dev/{name}x", "bb:1", "true")
    assert r.code == 0, r
    rec = json.loads(sk("inspect", "dd-rec").out)[0]
    assert rec["HostConfig"]["Devices"] == [{"PathOnHost": devdir,
                                             "PathInContainer": f"/dev/{name}x",
                                             "CgroupPermissions": "rwm"}]
    assert sk("rm", "dd-rec").code == 0


def test_device_directory_without_nodes(sk, tmp_path):
    # docker 20.10: a directory holding no device node is "not a device node" (a start
    # error: run exits 125, the container stays created)
    (tmp_path / "f").write_text("x")
    (tmp_path / "l").symlink_to("/dev/null")  # (a symlink is not followed)
    msg = (f'error gathering device information while adding custom device "{tmp_path}": '
           "not a device node")
    r = sk("run", "--name", "dd-none", "--device", str(tmp_path), "bb:1", "true")
    assert (r.code, r.out, r.err) == (125, "", f"skiff: {msg}\n"), r
    rec = json.loads(sk("inspect", "dd-none").out)[0]
    assert (rec["State"]["Status"], rec["State"]["ExitCode"], rec["State"]["Error"]) == (
        "created", 128, msg)
    assert sk("rm", "dd-none").code == 0


def test_device_symlink_to_directory(sk, devdir, tmp_path):
    # docker 20.10: the link is resolved, the nodes go below the path as given
    link = tmp_path / "devs"
    link.symlink_to(devdir)
    r = sk("run", "--rm", "--device", str(link), "bb:1", "ls", "-R", str(link))
    assert (r.code, r.out, r.err) == (0, f"{link}:\ncnull\nsub\n\n{link}/sub:\nblk\n", ""), r


def test_device_neither_node_nor_directory(sk):
    r = sk("run", "--rm", "--device", "/etc/passwd", "bb:1", "true")
    assert (r.code, r.err) == (125, 'skiff: error gathering device information while adding '
                                    'custom device "/etc/passwd": not a device node\n')
