"""``skiff run`` on networks end to end: real runc, overlayfs, busybox image, nftables."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.conftest import CliResult

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def _ok(r: CliResult) -> str:
    assert r.code == 0, r
    return r.out


def test_names_between_containers_and_isolation(sk):
    _ok(sk("network", "create", "front"))
    _ok(sk("network", "create", "back"))
    _ok(sk("run", "-d", "--name", "web", "--network", "front", "--network-alias", "www",
           "bb:1", "httpd", "-f", "-p", "80", "-h", "/etc"))
    time.sleep(0.3)
    web = json.loads(_ok(sk("inspect", "web")))[0]
    ip = web["NetworkSettings"]["Networks"]["front"]["IPAddress"]
    assert ip.startswith("10.89.")
    out = _ok(sk("run", "--rm", "--network", "front", "bb:1", "sh", "-c",
                 "ping -c1 -W2 web >/dev/null && echo ping-ok; wget -q -O- http://www:80/hostname"))
    assert out == "ping-ok\nweb\n" or out.startswith("ping-ok\n"), out
    r = sk("run", "--rm", "--network", "back", "bb:1", "ping", "-c1", "-W1", ip)
    assert r.code == 1
    r = sk("network", "rm", "front")
    assert r.code == 1 and "has active endpoints" in r.err
    _ok(sk("rm", "-f", "web"))
    assert _ok(sk("network", "rm", "front", "back")) == "front\nback\n"


def test_published_port_and_none(sk, tmp_path):
    cid = _ok(sk("run", "-d", "-p", "127.0.0.1::80", "bb:1", "httpd", "-f", "-p", "80",
                 "-h", "/etc")).strip()
    time.sleep(0.3)
    line = _ok(sk("port", cid))
    assert line.startswith("80/tcp -> 127.0.0.1:")
    hp = int(line.strip().rsplit(":", 1)[1])
    assert _ok(sk("port", cid, "80")) == f"127.0.0.1:{hp}\n"
    ps = _ok(sk("ps", "--format", "{{.Ports}}", "-f", f"id={cid}"))
    assert ps == f"127.0.0.1:{hp}->80/tcp\n"
    # The default table shows the same PORTS cell as --format does.
    table = _ok(sk("ps", "-f", f"id={cid}")).splitlines()
    assert table[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                                "PORTS", "NAMES"]
    assert f"127.0.0.1:{hp}->80/tcp" in table[1].split()
    r = subprocess.run(["/bin/busybox", "wget", "-q", "-O-", f"http://127.0.0.1:{hp}/hostname"],
                       capture_output=True, text=True, timeout=20)
    assert r.stdout == cid[:12] + "\n", r.stderr
    _ok(sk("stop", "-t", "1", cid))
    assert _ok(sk("port", cid)) == ""
    from skiff.network import firewall

    assert firewall.ports_table(cid) not in firewall.tables()
    out = _ok(sk("run", "--rm", "--network", "none", "bb:1", "ls", "/sys/class/net"))
    assert out.split() == ["lo"]
    out = _ok(sk("run", "--rm", "bb:1", "ls", "/sys/class/net"))
    assert out.split() == ["eth0", "lo"]


def test_connect_disconnect_and_release_after_a_foreground_run(sk):
    _ok(sk("network", "create", "extra"))
    _ok(sk("run", "-d", "--name", "two", "bb:1", "sleep", "60"))
    _ok(sk("network", "connect", "--alias", "deux", "extra", "two"))
    assert _ok(sk("exec", "two", "ls", "/sys/class/net")).split() == ["eth0", "eth1", "lo"]
    d = json.loads(_ok(sk("network", "inspect", "extra")))[0]
    (c,) = d["Containers"].values()
    assert c["Name"] == "two" and c["IPv4Address"].endswith("/24")
    r = sk("network", "connect", "extra", "two")
    assert r.code == 125 and "already exists in network" in r.err
    _ok(sk("network", "disconnect", "extra", "two"))
    assert _ok(sk("exec", "two", "ls", "/sys/class/net")).split() == ["eth0", "lo"]
    _ok(sk("rm", "-f", "two"))
    _ok(sk("network", "rm", "extra"))
    # A foreground run without --rm gives its address back when it exits.
    _ok(sk("run", "--name", "fg", "bb:1", "true"))
    assert json.loads(_ok(sk("network", "inspect", "bridge")))[0]["Containers"] == {}
    fg = json.loads(_ok(sk("inspect", "fg")))[0]
    assert fg["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == ""
    _ok(sk("rm", "fg"))
