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


def test_published_port_on_ipv6_host_addresses(sk):
    """-p [IPv6]:HOST:CTR on a dual-stack network: DNAT (ip6 table) to the container's
    IPv6 address, shown bracketed as Docker shows it; refused where the kernel cannot
    forward it (an IPv4-only network, the IPv6 loopback), leaving nothing behind."""
    _ok(sk("network", "create", "--ipv6", "six"))
    r = sk("run", "--rm", "-p", "[::]::80", "bb:1", "true")
    assert r.code == 125 and ("an IPv6 host address needs the container on a network with "
                              "IPv6 (network bridge has none") in r.err, r
    r = sk("run", "--rm", "--network", "six", "-p", "[::1]:8080:80", "bb:1", "true")
    assert r.code == 125 and "the IPv6 loopback cannot be forwarded" in r.err, r
    cid = _ok(sk("run", "-d", "--network", "six", "-p", "[::]::80", "-p", "127.0.0.1::80",
                 "bb:1", "httpd", "-f", "-p", "80", "-h", "/etc")).strip()
    gw6 = json.loads(_ok(sk("inspect", cid)))[0]["NetworkSettings"]["Networks"]["six"][
        "IPv6Gateway"]
    lines = _ok(sk("port", cid)).splitlines()
    assert [ln.rsplit(":", 1)[0] for ln in lines] == ["80/tcp -> 127.0.0.1", "80/tcp -> [::]"]
    hp6 = int(lines[1].rsplit(":", 1)[1])
    assert _ok(sk("ps", "--format", "{{.Ports}}", "-f", f"id={cid}")).endswith(
        f", [::]:{hp6}->80/tcp\n")
    time.sleep(0.3)
    # the host's own IPv6 address on the network's bridge is one of the host's addresses
    r = subprocess.run(["/bin/busybox", "wget", "-q", "-O-", f"http://[{gw6}]:{hp6}/hostname"],
                       capture_output=True, text=True, timeout=20)
    assert r.stdout == cid[:12] + "\n", r.stderr
    _ok(sk("stop", "-t", "1", cid))
    assert _ok(sk("port", cid)) == ""
    from skiff.network import firewall

    tables6 = subprocess.run(["nft", "list", "tables", "ip6"], capture_output=True,
                             text=True).stdout
    assert firewall.ports_table(cid) not in tables6


def test_connect_disconnect_and_release_after_a_foreground_run(sk):
    _ok(sk("network", "create", "extra"))
    _ok(sk("run", "-d", "--name", "two", "bb:1", "sleep", "60"))
    _ok(sk("network", "connect", "--alias", "deux", "extra", "two"))
    assert _ok(sk("exec", "two", "ls", "/sys/class/net")).split() == ["eth0", "eth1", "lo"]
    d = json.loads(_ok(sk("network", "inspect", "extra")))[0]
    (c,) = d["Containers"].values()
    assert c["Name"] == "two" and c["IPv4Address"].endswith("/24")
    r = sk("network", "connect", "extra", "two")  # a daemon error: docker/cli exits 1
    assert r.code == 1 and "already exists in network" in r.err
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


def test_network_container_mode_joins_another_containers_namespace(sk):
    web = _ok(sk("run", "-d", "--name", "web", "bb:1", "httpd", "-f", "-p", "8080", "-h",
                 "/etc")).strip()
    web_ip = json.loads(_ok(sk("inspect", "web")))[0]["NetworkSettings"]["IPAddress"]
    time.sleep(0.3)
    # same interfaces, same loopback (the httpd answers on 127.0.0.1), web's hostname
    # and web's /etc/hosts (dockerd's initializeNetworking for container mode)
    out = _ok(sk("run", "--rm", "--network", "container:web", "bb:1", "sh", "-c",
                 "hostname; ls /sys/class/net; wget -q -O- http://127.0.0.1:8080/hostname; "
                 "tail -n1 /etc/hosts"))
    assert out.split("\n") == [web[:12], "eth0", "lo", web[:12], f"{web_ip}\t{web[:12]}", ""]
    # recorded with the full ID, as dockerd; no endpoint of its own
    cid = _ok(sk("create", "--network", "container:web", "bb:1", "true")).strip()
    rec = json.loads(_ok(sk("inspect", cid)))[0]
    assert rec["HostConfig"]["NetworkMode"] == "container:" + web
    assert rec["NetworkSettings"]["Networks"] == {}
    # dockerd's refusals, exit 125
    for flags, msg in ((["-p", "80"], "port publishing and the container type network mode"),
                       (["-P"], "port publishing and the container type network mode"),
                       (["--hostname", "x"], "hostname and the network mode"),
                       (["--dns", "10.0.0.1"], "dns and the network mode"),
                       (["--add-host", "a:10.0.0.1"], "custom host-to-IP mapping and the "
                                                      "network mode"),
                       (["--expose", "81"], "port exposing and the container type network mode")):
        r = sk("run", "--rm", *flags, "--network", "container:web", "bb:1", "true")
        assert (r.code, r.err) == (125, f"skiff: conflicting options: {msg}\n"), flags
    r = sk("run", "--rm", "--network", "container:nosuch", "bb:1", "true")
    assert (r.code, r.err) == (125, "skiff: No such container: nosuch\n")
    # web stops while a container that joined it runs on: the joiner holds the namespace,
    # so the veth does not go with it; it is deleted (dockerd: the endpoint leaves)
    _ok(sk("run", "-d", "--name", "joiner", "--network", "container:web", "bb:1", "sleep", "60"))
    _ok(sk("stop", "-t", "0", "web"))
    end = time.monotonic() + 5
    while (nets := _ok(sk("exec", "joiner", "ls", "/sys/class/net")).split()) != ["lo"]:
        assert time.monotonic() < end, nets
        time.sleep(0.1)
    _ok(sk("rm", "-f", "joiner"))
    r = sk("start", cid)
    assert r.err == ("skiff: cannot join network of a non running container: "
                     f"{web}\n"
                     f"skiff: failed to start containers: {cid}\n"), r  # docker/cli's line
    _ok(sk("rm", "-f", cid, "web"))


def test_connect_a_stopped_container_attaches_at_start(sk):
    _ok(sk("network", "create", "later"))
    cid = _ok(sk("create", "--name", "c1", "bb:1", "ls", "/sys/class/net")).strip()
    _ok(sk("network", "connect", "--alias", "ali", "later", "c1"))
    r = sk("network", "connect", "later", "c1")  # a daemon error: docker/cli exits 1
    assert (r.code, r.err) == (1, "skiff: endpoint with name c1 already exists in network "
                                    "later\n")
    es = json.loads(_ok(sk("inspect", "c1")))[0]["NetworkSettings"]["Networks"]["later"]
    assert (es["Aliases"], es["IPAddress"]) == (["ali"], "")
    # attached at every start until disconnected (dockerd keeps it in the record)
    assert _ok(sk("start", "-a", "c1")).split() == ["eth0", "eth1", "lo"]
    assert _ok(sk("start", "-a", "c1")).split() == ["eth0", "eth1", "lo"]
    assert json.loads(_ok(sk("network", "inspect", "later")))[0]["Containers"] == {}
    _ok(sk("network", "disconnect", "later", "c1"))
    r = sk("network", "disconnect", "later", "c1")
    assert (r.code, r.err) == (1, f"skiff: container {cid[:12]} is not connected to "
                                    "network later\n")
    assert _ok(sk("start", "-a", "c1")).split() == ["eth0", "lo"]
    r = sk("network", "connect", "host", "c1")
    assert r.code == 1 and "connected to host network" in r.err
    _ok(sk("rm", "c1"))
    _ok(sk("network", "rm", "later"))
