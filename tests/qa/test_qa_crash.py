"""QA: kill -9 in the middle of a command, then the store must be clean or say it is not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def _mounts_under(root) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [ln.split()[4] for ln in f if ln.split()[4].startswith(str(root))]


def test_build_killed_during_run_leaves_no_mount(cli, skiff_root, busybox_tar, tmp_path):
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM bb:1\nRUN sleep 2 && echo a > /a\n")
    env = {**os.environ, "SKIFF_ROOT": str(skiff_root)}
    p = subprocess.Popen([sys.executable, "-m", "skiff", "build", "-q", str(ctx)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):  # wait until the RUN step's rootfs is mounted
            if any("oneshot" in m for m in _mounts_under(skiff_root)):
                break
            time.sleep(0.05)
        assert any("oneshot" in m for m in _mounts_under(skiff_root))
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    time.sleep(2.5)  # the container's `sleep 2` is over by now
    assert cli("build", "-q", str(ctx)).code == 0
    check = cli("system", "check")
    leftovers = [m for m in _mounts_under(skiff_root) if "oneshot" in m]
    # Either nothing is left mounted, or check says the store is not clean.
    assert leftovers == [] or check.code == 1, (leftovers, check)
    # the killed build's own snapshots, mounts and work dir are gone too
    from skiff import metadata
    from skiff.config import Config

    config = Config.from_env()
    db = metadata.connect(config.metadata_path)
    try:
        kinds = [r[0] for r in db.execute("SELECT kind FROM snapshots WHERE key LIKE 'build-%'")]
    finally:
        db.close()
    assert (kinds, _mounts_under(skiff_root), sorted(os.listdir(config.tmp_dir))) == ([], [], [])
