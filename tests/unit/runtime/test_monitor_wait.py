"""The monitor's waits before a start (runperf3): an inotify watch of the bundle that
wakes on runc's pid file (written to a temporary name, then renamed in) and a pidfd that
wakes when runc exits, instead of a 2 ms tick."""

from __future__ import annotations

import os
import select
import subprocess

from skiff.runtime.monitor import _drain, _pidfd, _watch_dir


def test_watch_wakes_on_a_file_renamed_into_the_directory(tmp_path):
    fd = _watch_dir(str(tmp_path))
    assert fd >= 0
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        assert p.poll(0) == []
        (tmp_path / ".init.pid").write_text("123")  # closed after writing: an event
        assert p.poll(1000) == [(fd, select.POLLIN)]
        _drain(fd)
        assert p.poll(0) == []
        os.rename(tmp_path / ".init.pid", tmp_path / "init.pid")
        assert p.poll(1000) == [(fd, select.POLLIN)]
        _drain(fd)
        assert p.poll(0) == []
    finally:
        os.close(fd)


def test_watch_of_a_missing_directory_is_no_watch(tmp_path):
    assert _watch_dir(str(tmp_path / "absent")) == -1


def test_pidfd_wakes_when_the_child_exits():
    r, w = os.pipe()
    proc = subprocess.Popen(["cat"], stdin=r, stdout=subprocess.DEVNULL)
    os.close(r)
    fd = _pidfd(proc.pid)
    assert fd >= 0
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        assert p.poll(0) == []
        os.close(w)  # cat sees EOF and exits
        assert p.poll(5000) == [(fd, select.POLLIN)]
        assert proc.wait(5) == 0
    finally:
        os.close(fd)
