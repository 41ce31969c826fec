"""Fixtures for network tests: unique names, a leak check of links/addresses/firewall."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess

import pytest

needs_net = [pytest.mark.requires_root]


def host_state() -> tuple:
    """Links, IPv4 addresses, named namespaces and the nftables ruleset of the host."""
    from skiff.network import bridge

    nft = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout \
        if shutil.which("nft") else ""
    ns = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
    return bridge.links(), bridge.addresses(), ns, nft


def _items(state: tuple) -> set:
    links, addrs, ns, nft = state
    tables = {ln for ln in nft.splitlines() if ln.startswith("table ")}
    rules = {ln.strip() for ln in nft.splitlines() if ln.startswith("\t\t")}
    return ({("link", x) for x in links} | {("addr", x) for x in addrs} |
            {("netns", x) for x in ns} | {("table", x) for x in tables} |
            {("rule", x) for x in rules})


def leaked(before: tuple, timeout: float = 5.0) -> set:
    """What exists now and did not before (links, addresses, netns files, nft tables and
    rules). Other engineers' containers may come and go meanwhile on this shared host, so
    what vanished is ignored and additions get ``timeout`` seconds to go away."""
    import time

    end = time.monotonic() + timeout
    while True:
        extra = _items(host_state()) - _items(before)
        if not extra or time.monotonic() > end:
            return extra
        time.sleep(0.2)


@pytest.fixture
def no_leaks():
    """Assert nothing was left behind: no link, address, netns file or firewall table or
    rule that was not there before the test."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    before = host_state()
    yield before
    assert leaked(before) == set()


@pytest.fixture
def uid() -> str:
    return secrets.token_hex(4)


def nsexec(netns: str, *args: str, timeout: float = 10, **kw) -> subprocess.CompletedProcess:
    """Run a busybox applet inside a network namespace (only the net namespace is joined)."""
    return subprocess.run(["nsenter", f"--net={netns}", "/bin/busybox", *args],
                          capture_output=True, text=True, timeout=timeout, **kw)


def tcp_reach(netns: str, ip: str, port: int, timeout: float = 1.0, send: bytes = b"") -> bool:
    """True when a TCP connection from inside the namespace to ip:port succeeds in time
    (``send`` is written on it before it is closed)."""
    import sys

    code = ("import socket,sys\n"
            f"s = socket.create_connection(({ip!r}, {port}), timeout={timeout})\n"
            f"s.sendall({send!r}); s.close()")
    r = subprocess.run(["nsenter", f"--net={netns}", sys.executable, "-c", code],
                       capture_output=True, timeout=timeout + 10)
    return r.returncode == 0
