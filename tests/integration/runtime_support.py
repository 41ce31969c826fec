"""Helpers shared by the tests/integration/test_runtime_*.py files: a module's store with
the busybox image as ``bb:1`` and an in-process ``skiff`` runner against it."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from tests.integration.test_container_lifecycle import _main, drop_runc_root


def store(busybox_tar, *, searchable: bool = False):
    """Yield a fresh store root with ``bb:1`` imported; remove its containers after.

    ``searchable``: the root lives in a directory every user may traverse (o+x), as a
    user-namespaced container's remapped root must reach its bundle (pytest's own
    temporary directories are 0700)."""
    base = Path(tempfile.mkdtemp(prefix="skiff-rt-", dir="/tmp"))
    if searchable:
        os.chmod(base, 0o711)
    r = base / "root"
    res = _main(r, "import", str(busybox_tar), "bb:1")
    assert res.code == 0, res
    try:
        yield r
    finally:
        ids = _main(r, "ps", "-aq", "--no-trunc").out.split()
        if ids:
            _main(r, "rm", "-f", *ids)
        with open("/proc/self/mountinfo") as f:
            mounts = [ln.split()[4] for ln in f]
        for m in sorted((m for m in mounts if m.startswith(str(r))), reverse=True):
            subprocess.run(["umount", "-l", m], check=False)
        drop_runc_root(r)
        subprocess.run(["rm", "-rf", str(base)], check=False)


def inspect(root, name: str) -> dict:
    """``skiff inspect NAME``'s object (the command must succeed)."""
    import json

    res = _main(root, "inspect", name)
    assert res.code == 0, res
    return json.loads(res.out)[0]


def runner(root):
    """``run(*args, stdin=None) -> CliResult``: skiff in-process against ``root``."""
    def run(*args: str, stdin: bytes | None = None):
        return _main(root, *args, stdin=stdin)
    return run

