"""The monitor's wait before a start: a pidfd that wakes when ``runc run --detach``
returns (the container has started), instead of a 2 ms tick."""

from __future__ import annotations

import os
import select
import subprocess

from skiff.runtime.monitor import _pidfd


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
