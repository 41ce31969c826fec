"""skiff.libc's mount(2)/umount2(2)/prctl(2) on _ctypes alone: real syscalls, the kernel's
errno values, and the same answers ctypes.CDLL gives."""

from __future__ import annotations

import errno
import os

import pytest

from skiff import libc


def _mounted(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


@pytest.mark.requires_root
def test_mount_and_umount2_return_zero_then_the_errno(tmp_path):
    target = str(tmp_path / "m")
    os.mkdir(target)
    assert libc.sys_mount(b"tmpfs", target.encode(), b"tmpfs", 0x2 | 0x4, b"size=1m") == 0
    try:
        assert _mounted(target)
        with open("/proc/self/mountinfo") as f:
            opts = next(line.split()[5] for line in f if line.split()[4] == target)
        assert "nosuid" in opts.split(",") and "nodev" in opts.split(",")  # the ulong flags
    finally:
        assert libc.sys_umount2(target.encode(), 0) == 0
    assert not _mounted(target)
    assert libc.sys_umount2(target.encode(), 0) == errno.EINVAL  # not a mount point
    missing = str(tmp_path / "absent").encode()
    assert libc.sys_mount(b"tmpfs", missing, b"tmpfs", 0, None) == errno.ENOENT
    assert libc.sys_mount(b"x", target.encode(), b"no-such-fs", 0, None) == errno.ENODEV


def test_errno_is_the_same_ctypes_reports():
    import ctypes

    assert libc.sys_umount2(b"/nonexistent-skiff-path", 0) == errno.ENOENT
    lib = libc.libc()
    assert lib.umount2(b"/nonexistent-skiff-path", 0) == -1
    assert ctypes.get_errno() == errno.ENOENT


def test_child_subreaper_is_set_in_a_child():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            libc.set_child_subreaper()
            import ctypes

            out = ctypes.c_int(-1)
            libc.libc().prctl(37, ctypes.byref(out), 0, 0, 0)  # PR_GET_CHILD_SUBREAPER
            os.write(w, str(out.value).encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    assert os.read(r, 16) == b"1"
    os.close(r)
