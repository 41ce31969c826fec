"""``skiff build`` RUN steps on the default bridge (Docker's classic builder), per-step
``RUN --network``, and no leaks after a failed RUN or a build killed with ``kill -9``."""

from __future__ import annotations

import functools
import http.server
import ipaddress
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from .conftest import host_state, leaked

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def _ok(r) -> str:
    assert r.code == 0, r
    return r.out


def _bridge(sk) -> dict:
    return json.loads(_ok(sk("network", "inspect", "bridge")))[0]


@pytest.fixture
def host_server(tmp_path):
    """An HTTP server on every host address (ephemeral port) serving tmp_path/www."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(("0.0.0.0", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield www, srv.server_address[1]
    srv.shutdown()


def test_run_steps_use_the_default_bridge(sk, tmp_path, host_server):
    www, port = host_server
    token = os.urandom(8).hex()
    (www / "token.txt").write_text(token + "\n")
    gw = _bridge(sk)["IPAM"]["Config"][0]["Gateway"]
    subnet = _bridge(sk)["IPAM"]["Config"][0]["Subnet"]
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"""\
FROM bb:1
RUN wget -q -O /fetched http://{gw}:{port}/token.txt && ip -4 -o addr show eth0 > /addr
RUN --network=none ls /sys/class/net > /none
RUN --network=default ls /sys/class/net > /default
""")
    _ok(sk("build", "-q", "-t", "nb:1", str(ctx)))
    out = _ok(sk("run", "--rm", "--network", "none", "nb:1", "cat", "/fetched", "/none",
                 "/default", "/addr"))
    lines = out.splitlines()
    assert lines[:4] == [token, "lo", "eth0", "lo"]
    # eth0's address is in the bridge's subnet (a /16 or /24 of the fixture's bridge)
    addr = lines[4].split()[3]
    assert ipaddress.ip_interface(addr).network == ipaddress.ip_network(subnet)
    # the step's endpoint is gone once the build is done
    assert _bridge(sk)["Containers"] == {}
    # --network none for the whole build: the bridge is not reachable, only lo exists
    (ctx / "Dockerfile").write_text(f"""\
FROM bb:1
RUN ls /sys/class/net > /none && (wget -q -T 2 -O- http://{gw}:{port}/token.txt || echo offline) > /w
""")
    _ok(sk("build", "-q", "--network", "none", "-t", "nb:2", str(ctx)))
    out = _ok(sk("run", "--rm", "--network", "none", "nb:2", "cat", "/none", "/w"))
    assert out.split() == ["lo", "offline"]
    # a user-defined network: the RUN steps get an address on its subnet
    _ok(sk("network", "create", "buildnet"))
    sub = json.loads(_ok(sk("network", "inspect", "buildnet")))[0]["IPAM"]["Config"][0]["Subnet"]
    _ok(sk("run", "-d", "--name", "peer", "--network", "buildnet", "bb:1", "sleep", "60"))
    peer_ip = json.loads(_ok(sk("inspect", "peer")))[0]["NetworkSettings"]["Networks"][
        "buildnet"]["IPAddress"]
    # ... and resolve the network's containers by name (its resolver), as the classic builder
    (ctx / "Dockerfile").write_text("FROM bb:1\nRUN ip -4 -o addr show eth0 > /addr && "
                                    "nslookup peer > /peer\n")
    _ok(sk("build", "-q", "--network", "buildnet", "-t", "nb:3", str(ctx)))
    out = _ok(sk("run", "--rm", "--network", "none", "nb:3", "cat", "/addr", "/peer"))
    assert ipaddress.ip_interface(out.split()[3]).network == ipaddress.ip_network(sub)
    assert f"Address: {peer_ip}" in out
    _ok(sk("rm", "-f", "peer"))
    _ok(sk("network", "rm", "buildnet"))
    # an unknown network: Docker's classic builder's error, at the RUN step
    r = sk("build", "-q", "--network", "nonesuch", "--no-cache", str(ctx))
    assert r.code == 1 and r.err.endswith(": network nonesuch not found\n"), r


def test_failed_run_step_leaves_nothing(sk, tmp_path):
    _ok(sk("run", "--rm", "bb:1", "true"))  # the bridge and its table exist before
    before = host_state()
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM bb:1\nRUN ls /sys/class/net/eth0 && exit 3\n")
    r = sk("build", "--progress", "plain", str(ctx))
    assert r.code == 1 and "exit code: 3" in r.err, r
    assert leaked(before) == set()
    assert _bridge(sk)["Containers"] == {}
    assert not [n for n in os.listdir(sk.root / "tmp") if n.startswith("netsandbox-")]


@pytest.mark.parametrize("next_cmd", ["network", "create"])
def test_build_killed_mid_run_is_reconciled_by_the_next_command(sk, tmp_path, next_cmd):
    _ok(sk("run", "--rm", "bb:1", "true"))
    before = host_state()
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM bb:1\nRUN sleep 60\n")
    proc = subprocess.Popen([sys.executable, "-m", "skiff", "--root", str(sk.root), "build",
                             "-q", str(ctx)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 30
        while not _bridge(sk)["Containers"]:  # the step's veth is up: the RUN has started
            assert time.monotonic() < end and proc.poll() is None
            time.sleep(0.1)
        (ep,) = _bridge(sk)["Containers"].values()
        assert leaked(before, timeout=0)  # its veth and netns exist now
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    try:
        # the next command (any `skiff network` one, a container create whatever its
        # network) finds the owner dead, releases it all
        if next_cmd == "create":
            _ok(sk("create", "--network", "none", "bb:1", "true"))
            assert not [n for n in os.listdir(sk.root / "tmp") if n.startswith("netsandbox-")]
        assert _bridge(sk)["Containers"] == {}
        assert leaked(before) == set()
        assert ep["IPv4Address"]  # it had an address, now free again
    finally:
        # the next build also cleans up the killed build's RUN container and mounts
        (ctx / "Dockerfile").write_text("FROM bb:1\nRUN true\n")
        _ok(sk("build", "-q", str(ctx)))
    assert leaked(before) == set()
