"""Build one of the Go oracles in this folder and talk to it: one JSON request per line."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def go_oracle(tmp_path_factory, folder: str, what: str) -> Iterator[Callable[..., dict]]:
    """Build ``folder``'s main package with the local Go toolchain and the module proxy;
    yield ``ask(**request) -> response`` (JSON lines over the process's stdin/stdout).
    Skips the test (naming *what*) when Go or the module cannot be had."""
    exe = tmp_path_factory.mktemp(folder) / folder
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    try:
        r = subprocess.run(["go", "build", "-o", str(exe), "."], cwd=HERE / folder,
                           env=env, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.skip(f"building the {what} oracle timed out (no module proxy?)")
    if r.returncode != 0:
        pytest.skip(f"cannot build the {what} oracle: {r.stderr.strip()[:200]}")
    proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(**req: object) -> dict:
        assert proc.stdin and proc.stdout
        proc.stdin.write(json.dumps(req) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    yield ask
    assert proc.stdin
    proc.stdin.close()
    proc.wait(timeout=10)
