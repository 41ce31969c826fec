"""QA pass 3: the image store under stress (full disk) and its cache clean-up."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys

import pytest


@pytest.fixture
def small_root(tmp_path, monkeypatch):
    """SKIFF_ROOT on a 16 MiB tmpfs (a full disk is reached quickly)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], check=True)
    root = mnt / "root"
    root.mkdir()
    monkeypatch.setenv("SKIFF_ROOT", str(root))
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _skiff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skiff", *args], capture_output=True,
                          text=True)


def _fill(path, leave: int) -> None:
    """Write a filler file so that only about ``leave`` bytes stay free on path's fs."""
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    with open(os.path.join(path, "filler"), "wb") as f:
        f.write(b"\0" * max(free - leave, 0))


@pytest.mark.requires_root
def test_load_on_a_full_disk_says_no_space_not_invalid_archive(small_root, busybox_tar,
                                                               tmp_path, monkeypatch):
    # Docker: `docker load` onto a full disk fails with "...: no space left on device",
    # exit 1; the archive itself is fine and must not be called invalid.
    archive = tmp_path / "bb.tar.gz"
    archive.write_bytes(gzip.compress(busybox_tar.read_bytes(), compresslevel=1))
    assert _skiff("images").returncode == 0  # the root and its database exist first
    _fill(small_root.parent, leave=256 * 1024)
    r = _skiff("load", "-i", str(archive))
    assert (r.returncode, r.stderr) == (
        1, "skiff: loading the archive: no space left on device\n")
