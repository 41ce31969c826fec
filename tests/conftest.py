"""Shared pytest setup: markers that skip with a reason, a private store root per test."""

from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
PEER = SHARED / "peer"
BENCH_INPUTS = SHARED / "bench"


@functools.cache
def overlay_works() -> bool:
    """True when this process can mount overlayfs (root, kernel support)."""
    if os.geteuid() != 0:
        return False
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        for s in ("l", "u", "w", "m"):
            os.mkdir(os.path.join(d, s))
        r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                            f"lowerdir={d}/l,upperdir={d}/u,workdir={d}/w", f"{d}/m"],
                           capture_output=True)
        if r.returncode != 0:
            return False
        subprocess.run(["umount", f"{d}/m"], check=False)
        return True


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("requires_root") and os.geteuid() != 0:
            item.add_marker(pytest.mark.skip(reason="needs root"))
        if item.get_closest_marker("requires_runc") and not shutil.which("runc"):
            item.add_marker(pytest.mark.skip(reason="needs runc (apt-get install runc)"))
        if item.get_closest_marker("requires_overlay") and not overlay_works():
            item.add_marker(pytest.mark.skip(reason="needs overlayfs (root, kernel support)"))
        for m in item.iter_markers("requires_peer"):
            for name in m.args:
                if not shutil.which(name):
                    item.add_marker(pytest.mark.skip(reason=f"peer tool {name!r} not installed"))


RUNC_STATE = Path("/run/skiff-runc")  # skiff.runtime.runc.state_root's parent


@pytest.fixture(scope="session", autouse=True)
def _runc_state_cleanup():
    """Remove the runc state directories this session's temporary stores left behind
    (one per store root, under /run/skiff-runc), keeping any runc still has a container in."""
    before = set(os.listdir(RUNC_STATE)) if RUNC_STATE.is_dir() else set()
    yield
    if not RUNC_STATE.is_dir():
        return
    for name in set(os.listdir(RUNC_STATE)) - before:
        d = RUNC_STATE / name
        try:
            if not any(p.is_dir() for p in d.iterdir()):
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


@pytest.fixture
def skiff_root(tmp_path: Path, monkeypatch) -> Path:
    """A fresh store root for this test; SKIFF_ROOT points at it."""
    root = tmp_path / "skiff-root"
    root.mkdir()
    monkeypatch.setenv("SKIFF_ROOT", str(root))
    yield root
    # Unmount anything a test left mounted under its root before tmp_path is removed.
    if os.geteuid() == 0:
        with open("/proc/self/mountinfo") as f:
            mounts = [ln.split()[4] for ln in f]
        for m in sorted((m for m in mounts if m.startswith(str(root))), reverse=True):
            subprocess.run(["umount", "-l", m], check=False, capture_output=True)


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def cli(skiff_root, monkeypatch):
    """Run ``skiff ARGS...`` in-process against the test's root; returns a CliResult."""
    from skiff.cli.main import main

    def run(*args: str, stdin: bytes | None = None) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        if stdin is not None:
            fake = io.TextIOWrapper(io.BytesIO(stdin))
            monkeypatch.setattr(sys, "stdin", fake)
        code = main(list(args))
        monkeypatch.undo()
        os.environ["SKIFF_ROOT"] = str(skiff_root)
        return CliResult(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def skiff_exe(skiff_root):
    """Run the real ``skiff`` executable (a subprocess) against the test's root."""
    exe = [sys.executable, "-m", "skiff"]

    def run(*args: str, input: bytes | None = None, timeout: float = 120,
            check: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run([*exe, *args], input=input, capture_output=True,
                              timeout=timeout, check=check,
                              env={**os.environ, "SKIFF_ROOT": str(skiff_root)})

    return run


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory) -> Path:
    """The benchmarks' busybox rootfs tar (../shared/bench/make-busybox-tar.sh)."""
    if not Path("/bin/busybox").exists():
        pytest.skip("needs busybox-static")
    out = tmp_path_factory.mktemp("bb") / "bb.tar"
    subprocess.run(["bash", str(BENCH_INPUTS / "make-busybox-tar.sh"), str(out)], check=True)
    return out
