"""attach/detach with real namespaces, bridges, nftables and busybox (issue 8's scenarios).

Traffic stays on this host: the test's own namespaces, the bridge, 127.0.0.1 and the host's
own address. Every test checks links, addresses, netns files and the ruleset are as before.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time

import pytest

from skiff import metadata
from skiff.config import Config
from skiff.errors import Conflict, InvalidArgument, NotFound
from skiff.network import attach as net
from skiff.network import bridge, firewall, ports
from skiff.network.attach import EndpointRequest
from skiff.network.service import NetworkService

from .conftest import nsexec, tcp_reach

pytestmark = [pytest.mark.requires_root]


@pytest.fixture
def env(skiff_root, monkeypatch, no_leaks, uid):
    """A store with its own default bridge (device and subnet unique to this test)."""
    monkeypatch.setenv("SKIFF_BRIDGE", "skb" + uid)
    monkeypatch.setenv("SKIFF_BRIDGE_SUBNET", f"10.91.{int(uid, 16) % 250}.0/24")
    config = Config.from_env()
    db = metadata.connect(config.metadata_path)
    svc = NetworkService(config, db)
    made: list[str] = []

    class Env:
        pass

    e = Env()
    e.config, e.db, e.svc, e.uid = config, db, svc, uid

    def sandbox():
        cid = secrets.token_hex(32)
        made.append(cid)
        return cid, str(net.create_sandbox(cid))

    e.sandbox = sandbox
    yield e
    for cid in made:
        net.detach(config, db, cid)
        net.remove_sandbox(cid)
    svc.reset()
    db.close()


def _links_of(env, *cids: str) -> list[str]:
    """The host links this test's store could have made for ``cids``: its bridges and
    their veths (other engineers' containers come and go on this shared host)."""
    nets = env.svc.list()
    mine = {n.bridge for n in nets if n.bridge}
    mine |= {bridge.veth_name(n.id, c) for n in nets for c in cids}
    return sorted(x for x in bridge.links() if x in mine)


def _tables_of(env, *cids: str) -> list[str]:
    mine = {firewall.network_table(n.bridge) for n in env.svc.list() if n.bridge}
    mine |= {firewall.ports_table(c) for c in cids}
    return [t for t in firewall.tables() if t in mine]


def _host_ip() -> str:
    """An address of this host that is not loopback (eth0's)."""
    with bridge.iproute() as ipr:
        for a in ipr.get_addr(family=2):
            ip = a.get("IFA_ADDRESS")
            if not ip.startswith("127.") and not ip.startswith("10."):
                return ip
    pytest.skip("no non-loopback host address")


def _resolve_ping(netns: str, resolv: str, name: str) -> subprocess.CompletedProcess:
    """ping NAME in the namespace with RESOLV as its /etc/resolv.conf (a private mount ns)."""
    return subprocess.run(
        ["unshare", "-m", "sh", "-c",
         f"mount --bind {resolv} /etc/resolv.conf && "
         f"nsenter --net={netns} /bin/busybox ping -c1 -W2 {name}"],
        capture_output=True, text=True, timeout=20)


def test_user_network_names_and_isolation(env, tmp_path):
    a = env.svc.create("a" + env.uid)
    b = env.svc.create("b" + env.uid)
    c1, ns1 = env.sandbox()
    c2, ns2 = env.sandbox()
    c3, ns3 = env.sandbox()
    e1 = net.attach(env.config, env.db, c1, ns1, [EndpointRequest(a.name, name="web")])
    e2 = net.attach(env.config, env.db, c2, ns2, [EndpointRequest(a.name, name="client",
                                                                  aliases=("cli",))])
    net.attach(env.config, env.db, c3, ns3, [EndpointRequest(b.name, name="other")])
    assert e1[0].address == str(__import__("ipaddress").IPv4Network(a.subnet).network_address + 2)
    assert bridge.links(ns1) == ["eth0", "lo"]
    # Same network: by address and by name (the network's resolver on its gateway).
    r = nsexec(ns2, "ping", "-c1", "-W2", e1[0].address)
    assert r.returncode == 0, r.stdout + r.stderr
    r = nsexec(ns2, "nslookup", "web", a.gateway)
    assert e1[0].address in r.stdout, r.stdout + r.stderr
    r = nsexec(ns1, "nslookup", "cli", a.gateway)
    assert e2[0].address in r.stdout, r.stdout + r.stderr
    r = nsexec(ns1, "nslookup", c2[:12], a.gateway)
    assert e2[0].address in r.stdout, r.stdout + r.stderr
    settings = net.etc_settings(env.db, e2)
    assert settings == net.EtcSettings(e2[0].address, (a.gateway,))
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("".join(f"nameserver {n}\n" for n in settings.nameservers))
    r = _resolve_ping(ns2, str(resolv), "web")
    assert r.returncode == 0 and e1[0].address in r.stdout, r.stdout + r.stderr
    # Fetch over HTTP by name.
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("hello from web\n")
    httpd = subprocess.Popen(["nsenter", f"--net={ns1}", "/bin/busybox", "httpd", "-f",
                              "-p", "80", "-h", str(www)])
    try:
        time.sleep(0.2)
        r = subprocess.run(
            ["unshare", "-m", "sh", "-c", f"mount --bind {resolv} /etc/resolv.conf && "
             f"nsenter --net={ns2} /bin/busybox wget -q -O- http://web:80/"],
            capture_output=True, text=True, timeout=20)
        assert r.stdout == "hello from web\n", r.stderr
        # Another network: no route across (the isolation rule drops it).
        assert tcp_reach(ns2, e1[0].address, 80)
        assert not tcp_reach(ns3, e1[0].address, 80)
        r = nsexec(ns3, "ping", "-c1", "-W1", e1[0].address)
        assert r.returncode != 0
        # ... and names on network a are not answered on b.
        r = nsexec(ns3, "nslookup", "web", b.gateway, timeout=30)
        assert e1[0].address not in r.stdout
    finally:
        httpd.kill()
        httpd.wait()
    # Removing a network with containers attached is refused; after detach it goes.
    with pytest.raises(Conflict, match="has active endpoints"):
        env.svc.remove(a.name)
    net.detach(env.config, env.db, c1)
    net.detach(env.config, env.db, c2)
    assert env.svc.inspect(a.name)["Containers"] == {}
    env.svc.remove(a.name)
    with pytest.raises(NotFound, match=f"network {a.name} not found"):
        env.svc.get(a.name)


def test_published_port_outbound_and_hairpin(env, tmp_path):
    cid, ns = env.sandbox()
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("published\n")
    eps = net.attach(env.config, env.db, cid, ns, [EndpointRequest("bridge")],
                     publish=ports.parse_publish("80") + ports.parse_publish("127.0.0.1::80/udp"))
    bound = ports.bindings(env.db, cid)
    assert [(b.host_ip, b.proto, b.container_port) for b in bound] == [
        ("", "tcp", 80), ("127.0.0.1", "udp", 80)]
    hp = bound[0].host_port
    assert firewall.ports_table(cid) in firewall.tables()
    httpd = subprocess.Popen(["nsenter", f"--net={ns}", "/bin/busybox", "httpd", "-f",
                              "-p", "80", "-h", str(www)])
    host_ip = _host_ip()
    srv = socket.socket()
    srv.bind((host_ip, 0))
    srv.listen()
    try:
        time.sleep(0.2)
        for addr in ("127.0.0.1", host_ip):
            r = subprocess.run(["/bin/busybox", "wget", "-q", "-O-",
                                f"http://{addr}:{hp}/"], capture_output=True, text=True)
            assert r.stdout == "published\n", (addr, r.stderr)
        # Outbound: the container reaches a server on the host through its default route.
        assert tcp_reach(ns, host_ip, srv.getsockname()[1], send=b"ping\n")
        conn, peer = srv.accept()
        assert conn.recv(10) == b"ping\n"
        assert peer[0] == eps[0].address
        conn.close()
    finally:
        httpd.kill()
        httpd.wait()
        srv.close()
    # A second container asking for the same host port is refused, leaving nothing behind.
    c2, ns2 = env.sandbox()
    before = (_links_of(env, cid, c2), _tables_of(env, cid, c2))
    with pytest.raises(Conflict, match=f"Bind for 0.0.0.0:{hp} failed: port is already allocated"):
        net.attach(env.config, env.db, c2, ns2, [EndpointRequest("bridge")],
                   publish=[ports.PortSpec(80, "tcp", "", hp)])
    assert (_links_of(env, cid, c2), _tables_of(env, cid, c2)) == before
    assert bridge.links(ns2) == ["lo"]
    # Detach releases everything.
    net.detach(env.config, env.db, cid)
    assert ports.bindings(env.db, cid) == []
    assert firewall.ports_table(cid) not in firewall.tables()


def test_internal_network_has_no_route_out(env):
    n = env.svc.create("i" + env.uid, internal=True)
    cid, ns = env.sandbox()
    c2, ns2 = env.sandbox()
    net.attach(env.config, env.db, cid, ns, [EndpointRequest(n.name)])
    e2 = net.attach(env.config, env.db, c2, ns2, [EndpointRequest(n.name)])
    r = nsexec(ns, "ip", "route")
    assert "default" not in r.stdout
    r = nsexec(ns, "ping", "-c1", "-W1", _host_ip())
    assert r.returncode != 0 and "unreachable" in (r.stdout + r.stderr).lower()
    r = nsexec(ns, "ping", "-c1", "-W2", e2[0].address)
    assert r.returncode == 0


def test_network_none_has_only_loopback(env):
    cid, ns = env.sandbox()
    assert net.attach(env.config, env.db, cid, ns, []) == []
    assert bridge.links(ns) == ["lo"]
    assert bridge.addresses(ns) == ["lo 127.0.0.1/8"]


def test_bad_requests_leave_nothing(env):
    cid, ns = env.sandbox()
    before = (_links_of(env, cid), _tables_of(env, cid))
    with pytest.raises(NotFound, match="network nope not found"):
        net.attach(env.config, env.db, cid, ns, [EndpointRequest("bridge"), EndpointRequest("nope")])
    with pytest.raises(InvalidArgument, match="user defined networks only"):
        net.attach(env.config, env.db, cid, ns, [EndpointRequest("bridge", ip="10.91.0.9")])
    # The default bridge was brought up by the first request and stays (as docker0 does).
    assert bridge.links(ns) == ["lo"]
    assert env.db.execute("SELECT count(*) FROM network_endpoints").fetchone()[0] == 0
    assert set(_links_of(env, cid)) - set(before[0]) <= {"skb" + env.uid}
    assert set(_tables_of(env, cid)) - set(before[1]) <= {firewall.network_table("skb" + env.uid)}


def test_overlapping_subnet_is_refused(env):
    a = env.svc.create("a" + env.uid)
    with pytest.raises(Conflict, match="Pool overlaps"):
        env.svc.create("b" + env.uid, subnet=a.subnet)
    with pytest.raises(Conflict, match="Pool overlaps"):
        env.svc.create("c" + env.uid, subnet="192.0.2.0/25")  # the host's eth0 route
    with pytest.raises(Conflict, match="already exists"):
        env.svc.create(a.name)
    assert [n.name for n in env.svc.list()] == sorted(["bridge", "host", "none", a.name])


def test_a_crash_after_the_veth_is_made_is_repaired_by_detach(env):
    cid, ns = env.sandbox()
    pid = os.fork()
    if pid == 0:  # the "crashing" process: dies right after plugging, no clean-up runs
        try:
            real = bridge.plug

            def plug_then_die(**kw):
                real(**kw)
                os._exit(9)

            bridge.plug = plug_then_die
            db = metadata.connect(env.config.metadata_path)
            net.attach(env.config, db, cid, ns, [EndpointRequest("bridge")])
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 9
    veth = bridge.veth_name(env.svc.get("bridge").id, cid)
    assert veth in bridge.links()
    assert env.db.execute("SELECT count(*) FROM network_endpoints WHERE container_id = ?",
                          (cid,)).fetchone()[0] == 1
    net.detach(env.config, env.db, cid)
    assert veth not in bridge.links()
    assert env.db.execute("SELECT count(*) FROM network_endpoints").fetchone()[0] == 0


def _backends() -> list:
    """nftables, and iptables through each of Debian's two binaries the host has."""
    import shutil

    out = [pytest.param(("nftables", ""), id="nftables")]
    for exe in ("iptables-legacy", "iptables-nft"):
        out.append(pytest.param(("iptables", exe), id=exe, marks=pytest.mark.skipif(
            shutil.which(exe) is None, reason=f"{exe} not installed")))
    return out


@pytest.mark.parametrize("fw", _backends())
def test_firewall_backends_nat_ports_isolation_and_cleanup(fw, monkeypatch, request, tmp_path):
    kind, exe = fw
    monkeypatch.setenv("SKIFF_FIREWALL", kind)
    if exe:
        monkeypatch.setenv("SKIFF_IPTABLES", exe)
    env = request.getfixturevalue("env")
    assert firewall.backend() == kind
    from ipaddress import IPv6Network

    sub6 = str(IPv6Network(f"fd00:5c1e:{env.uid[:4]}::/64"))
    other = env.svc.create("o" + env.uid, ipv6=True, subnet6=sub6)
    cid, ns = env.sandbox()
    c2, ns2 = env.sandbox()
    eps = net.attach(env.config, env.db, cid, ns, [EndpointRequest("bridge")],
                     publish=[ports.PortSpec(80, "tcp", "", 0)])
    (ep2,) = net.attach(env.config, env.db, c2, ns2, [EndpointRequest(other.name)],
                        publish=[ports.PortSpec(80, "tcp", "::", 0)])  # -p [::]::80
    hp = ports.bindings(env.db, cid)[0].host_port
    hp6 = ports.bindings(env.db, c2)[0].host_port
    assert _v6_ports(kind, c2)
    assert {firewall.network_table("skb" + env.uid), firewall.network_table(other.bridge),
            firewall.ports_table(cid)} <= set(firewall.tables())
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("via " + kind + "\n")
    httpd = subprocess.Popen(["nsenter", f"--net={ns}", "/bin/busybox", "httpd", "-f",
                              "-p", "80", "-h", str(www)])
    httpd6 = subprocess.Popen(["nsenter", f"--net={ns2}", "/bin/busybox", "httpd", "-f",
                               "-p", "[::]:80", "-h", str(www)])
    host_ip = _host_ip()
    srv = socket.socket()
    srv.bind(("0.0.0.0", 0))
    srv.listen()
    try:
        time.sleep(0.2)
        for addr in ("127.0.0.1", host_ip):  # DNAT from the host, hairpin on loopback
            r = subprocess.run(["/bin/busybox", "wget", "-q", "-O-", f"http://{addr}:{hp}/"],
                               capture_output=True, text=True, timeout=20)
            assert r.stdout == f"via {kind}\n", (addr, r.stderr)
        # outbound to the host, and no way across to the other network
        assert tcp_reach(ns, host_ip, srv.getsockname()[1])
        assert tcp_reach(ns2, host_ip, srv.getsockname()[1])
        assert not tcp_reach(ns2, eps[0].address, 80)
        # the dual-stack network's IPv6 side: its rules live in the same backend
        r = nsexec(ns2, "ping6", "-c1", "-W2", other.gateway6)
        assert r.returncode == 0, r.stdout + r.stderr
        assert _v6_rules(kind, other.bridge)
        # a published port on an IPv6 host address (the host's own on that bridge): DNAT
        # to the container's IPv6 address
        r = subprocess.run(["/bin/busybox", "wget", "-q", "-O-",
                            f"http://[{other.gateway6}]:{hp6}/"],
                           capture_output=True, text=True, timeout=20)
        assert (r.stdout, ep2.address6 != "") == (f"via {kind}\n", True), r.stderr
    finally:
        httpd.kill()
        httpd.wait()
        httpd6.kill()
        httpd6.wait()
        srv.close()
    net.detach(env.config, env.db, cid)
    assert firewall.ports_table(cid) not in firewall.tables()
    net.detach(env.config, env.db, c2)
    assert not _v6_ports(kind, c2)
    env.svc.reset()
    assert not [t for t in firewall.tables() if env.uid in t]
    assert not _v6_rules(kind, other.bridge)


def _v6_rules(kind: str, bridge_name: str) -> bool:
    """Whether the backend holds IPv6 rules for the bridge (nft ip6 table / ip6tables)."""
    if kind == "nftables":
        out = subprocess.run(["nft", "list", "tables", "ip6"], capture_output=True,
                             text=True).stdout
        return firewall.network_table(bridge_name) in out
    from skiff.network import iptables

    return f"filter:{iptables.network_chain(bridge_name)}" in iptables.chains(6)


def test_ipv6_dual_stack_network(env):
    from ipaddress import IPv4Network, IPv6Network

    from skiff.network import ipv6

    sub6 = str(IPv6Network(f"fd00:5c1f:{env.uid[:4]}::/64"))
    base = IPv6Network(sub6).network_address
    n = env.svc.create("six" + env.uid, ipv6=True, subnet6=sub6)
    assert (n.subnet6, n.gateway6) == (sub6, str(base + 1))
    c1, ns1 = env.sandbox()
    c2, ns2 = env.sandbox()
    (e1,) = net.attach(env.config, env.db, c1, ns1, [EndpointRequest(n.name, name="web6")])
    (e2,) = net.attach(env.config, env.db, c2, ns2, [EndpointRequest(n.name)])
    # IPv6 address at the IPv4 address's offset; Docker's inspect fields
    assert (e1.address, e1.address6) == (str(IPv4Network(n.subnet).network_address + 2),
                                         str(base + 2))
    d = e2.to_docker()
    assert (d["GlobalIPv6Address"], d["GlobalIPv6PrefixLen"], d["IPv6Gateway"]) == (
        str(base + 3), 64, n.gateway6)
    insp = env.svc.inspect(n.name)
    assert insp["EnableIPv6"] is True
    assert insp["IPAM"]["Config"] == [{"Subnet": n.subnet, "Gateway": n.gateway},
                                      {"Subnet": sub6, "Gateway": n.gateway6}]
    assert insp["Containers"][c1]["IPv6Address"] == e1.address6 + "/64"
    # container to container and to the gateway over IPv6; default route via the gateway
    for ns, dst in ((ns2, e1.address6), (ns1, n.gateway6)):
        r = nsexec(ns, "ping6", "-c1", "-W2", dst)
        assert r.returncode == 0, r.stdout + r.stderr
    assert f"default via {n.gateway6} dev eth0" in nsexec(ns1, "ip", "-6", "route").stdout
    # the network's resolver answers AAAA with the IPv6 twin, A with the IPv4 address
    r = nsexec(ns2, "nslookup", "-type=AAAA", "web6", n.gateway)
    assert f"Address: {e1.address6}" in r.stdout, r.stdout + r.stderr
    r = nsexec(ns2, "nslookup", "-type=A", "web6", n.gateway)
    assert f"Address: {e1.address}" in r.stdout and e1.address6 not in r.stdout
    assert firewall.network_table(n.bridge) in subprocess.run(
        ["nft", "list", "tables", "ip6"], capture_output=True, text=True).stdout
    # bad input: overlap with this network's IPv6 subnet, a subnet too small for the
    # IPv4 one; a ULA /64 when none is given
    with pytest.raises(Conflict, match="Pool overlaps"):
        env.svc.create("dup" + env.uid, ipv6=True, subnet6=sub6)
    with pytest.raises(InvalidArgument, match="smaller than the IPv4 subnet"):
        env.svc.create("small" + env.uid, ipv6=True, subnet6="fd00:5c1f:ffff::/121")
    auto = env.svc.create("ula" + env.uid, ipv6=True)
    assert IPv6Network(auto.subnet6).prefixlen == 64 and auto.subnet6.startswith("fd")
    assert auto.subnet6 == str(ipv6.ula_subnet(auto.id))
    net.detach(env.config, env.db, c1)
    net.detach(env.config, env.db, c2)
    env.svc.remove(n.name)
    env.svc.remove(auto.name)
    assert firewall.network_table(n.bridge) not in subprocess.run(
        ["nft", "list", "tables", "ip6"], capture_output=True, text=True).stdout


def test_a_released_namespace_takes_its_veth_and_the_same_pair_plugs_again_at_once(env):
    """detach(with_netns=True) deletes nothing itself: unpinning the namespace (no process
    in it) makes the kernel delete its veth pair. Attaching the same container again at
    once (a restart) replaces the pair if it is still there."""
    cid, ns = env.sandbox()
    (ep,) = net.attach(env.config, env.db, cid, ns, [EndpointRequest("bridge")])
    assert ep.host_veth in bridge.links()
    assert net.detach(env.config, env.db, cid, with_netns=True) == [ep.network_id]
    assert ep.host_veth in bridge.links()  # not deleted here: it goes with the namespace
    net.remove_sandbox(cid)
    ns2 = str(net.create_sandbox(cid))  # same name: the pair may still be there
    (ep2,) = net.attach(env.config, env.db, cid, ns2, [EndpointRequest("bridge")])
    assert ep2.host_veth == ep.host_veth
    assert bridge.addresses(ns2) == sorted(["lo 127.0.0.1/8", f"eth0 {ep2.address}/24"])
    assert net.detach(env.config, env.db, cid, with_netns=True) == [ep.network_id]
    net.remove_sandbox(cid)
    end = time.monotonic() + 5
    while ep.host_veth in bridge.links():
        assert time.monotonic() < end, "the kernel did not delete the pair with its netns"
        time.sleep(0.05)
    assert env.db.execute("SELECT count(*) FROM network_endpoints").fetchone()[0] == 0


def _v6_ports(kind: str, cid: str) -> bool:
    """Whether the backend holds the container's IPv6 port rules (ip6 table / chain)."""
    if kind == "nftables":
        out = subprocess.run(["nft", "list", "tables", "ip6"], capture_output=True,
                             text=True).stdout
        return firewall.ports_table(cid) in out.split()
    from skiff.network import iptables

    return f"nat:{iptables.ports_chain(cid)}" in iptables.chains(6)
