"""Run ``skiff registry serve`` as a real subprocess on a free loopback port (test helper)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RegistryProcess:
    """``skiff registry serve --addr <addr>:<port> --root <root> [args]`` (addr default
    127.0.0.1); ``.url``,
    ``.host`` (``127.0.0.1:<port>``), ``.start()``, ``.stop()``, ``.kill()`` (SIGKILL)."""

    def __init__(self, root: Path, *args: str, port: int | None = None, scheme: str = "http",
                 addr: str = "127.0.0.1"):
        self.root = Path(root)
        self.args = args
        self.port = port or free_port()
        self.scheme = scheme
        self.host = f"{addr}:{self.port}"
        self.url = f"{scheme}://{self.host}"
        self.proc: subprocess.Popen | None = None
        self.log = self.root.parent / f"registry-{self.port}.log"

    def start(self, timeout: float = 20) -> RegistryProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "skiff", "registry", "serve", "--addr", self.host,
             "--root", str(self.root), "--log-level", "warning", *self.args],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"registry exited {self.proc.returncode}: {self.log.read_text()}")
            try:
                httpx.get(self.url + "/v2/", verify=False, timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"registry did not start: {self.log.read_text()}")

    def stop(self) -> int | None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def __enter__(self) -> RegistryProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
