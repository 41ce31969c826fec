"""Pure parts of issue 8's second round: ``--network container:`` refusals (dockerd's
validateNetContainerMode order and words), IPv6 planning, the iptables and ip6 rule text,
and the sandbox owner files a killed build leaves."""

from __future__ import annotations

import os
from ipaddress import IPv4Network, IPv6Address, IPv6Network

import pytest

from skiff.errors import Conflict, InvalidArgument
from skiff.network import glue, ipv6
from skiff.procinfo import start_time


@pytest.mark.parametrize("kw, msg", [
    ({"hostname": "x"}, "conflicting options: hostname and the network mode"),
    ({"dns": ("1.1.1.1",)}, "conflicting options: dns and the network mode"),
    ({"extra_hosts": ("a:1.2.3.4",)},
     "conflicting options: custom host-to-IP mapping and the network mode"),
    ({"mac": "02:42:ac:11:00:02"}, "conflicting options: mac-address and the network mode"),
    ({"publish": True},
     "conflicting options: port publishing and the container type network mode"),
    ({"expose": ("80",)},
     "conflicting options: port exposing and the container type network mode"),
    ({"ip": "10.0.0.2"}, "user specified IP address is supported on user defined networks only"),
    # dockerd checks the hostname first
    ({"hostname": "x", "publish": True}, "conflicting options: hostname and the network mode"),
])
def test_container_mode_refusals(kw, msg):
    with pytest.raises(InvalidArgument) as e:
        glue.check_mode(None, None, "container:web", **kw)  # refused before any lookup
    assert str(e.value) == msg


def test_container_mode_needs_a_name():
    with pytest.raises(InvalidArgument, match="invalid container format container:<name|id>"):
        glue.check_mode(None, None, "container:")


def test_container_mode_settings_have_no_endpoint():
    assert glue.create_settings("container:" + "a" * 64)["Networks"] == {}
    assert list(glue.create_settings("default")["Networks"]) == ["bridge"]
    assert glue.uses_netns("container:x") and not glue.uses_bridge("container:x")
    assert not glue.uses_netns("host") and not glue.uses_netns("none")


def test_started_etc_mounts_replace_only_the_shared_files():
    st = glue.Started("/proc/1/ns/net", None, (), hostname="abc",
                      etc=(("/etc/hosts", "/x/hosts"), ("/etc/resolv.conf", "/x/resolv.conf")))
    mounts = [{"destination": "/etc/resolv.conf", "source": "/me/resolv.conf", "type": "bind"},
              {"destination": "/etc/hostname", "source": "/me/hostname", "type": "bind"},
              {"destination": "/etc/hosts", "source": "/me/hosts", "type": "bind"}]
    assert [m["source"] for m in st.etc_mounts(mounts)] == [
        "/x/resolv.conf", "/me/hostname", "/x/hosts"]


def test_ipv6_plan_and_addresses():
    v4 = IPv4Network("10.89.3.0/24")
    assert ipv6.plan("n" * 64, v4, "fd00:1::/64", None, []) == (
        IPv6Network("fd00:1::/64"), IPv6Address("fd00:1::1"))
    assert ipv6.plan("n" * 64, v4, "fd00:1::/64", "fd00:1::fe", [])[1] == IPv6Address("fd00:1::fe")
    with pytest.raises(Conflict, match=r"Pool overlaps with other one on this address space \(fd00::/48\)"):
        ipv6.plan("n" * 64, v4, "fd00:0:0:5::/64", None, [IPv6Network("fd00::/48")])
    with pytest.raises(InvalidArgument, match="smaller than the IPv4 subnet"):
        ipv6.plan("n" * 64, v4, "fd00:1::/121", None, [])
    with pytest.raises(InvalidArgument, match="no matching subnet for gateway fd00:2::1"):
        ipv6.plan("n" * 64, v4, "fd00:1::/64", "fd00:2::1", [])
    with pytest.raises(InvalidArgument, match="not an IPv6 CIDR"):
        ipv6.parse_subnet("fd00:1::1/64")  # host bits set
    # the same offset as the IPv4 address; a ULA /64 from the network's ID, stable
    assert ipv6.address_for("10.89.3.0/24", "10.89.3.17", "fd00:1::/64") == IPv6Address("fd00:1::11")
    ula = ipv6.ula_subnet("ab" * 32)
    assert ula.prefixlen == 64 and str(ula).startswith("fd") and ula == ipv6.ula_subnet("ab" * 32)
    assert ula != ipv6.ula_subnet("cd" * 32)


def test_ip6_rules_mirror_the_ip_table():
    text = ipv6.rules("sk-abc", "fd00:1::/64", internal=False)
    assert "add table ip6 skiff_n_sk_abc" in text
    assert 'add rule ip6 skiff_n_sk_abc postrouting ip6 saddr fd00:1::/64 oifname != "sk-abc" masquerade' in text
    assert 'oifname "sk*" drop' in text
    internal = ipv6.rules("sk-abc", "fd00:1::/64", internal=True)
    assert "masquerade" not in internal and internal.count(" drop") == 2


def test_iptables_rules(monkeypatch):
    """The iptables backend's restore scripts (the commands are run in the integration
    tests against iptables-legacy and iptables-nft)."""
    from skiff.network import iptables
    from skiff.network.firewall import PortRule

    scripts = []
    monkeypatch.setattr(iptables, "_restore", lambda s, what, family=4: scripts.append(s))
    monkeypatch.setattr(iptables, "_run", lambda args, what, check=True, family=4:
                        type("R", (), {"returncode": 1, "stdout": ""})())
    iptables.setup_network("sk-abc", "10.89.3.0/24", internal=False)
    iptables.publish("f" * 64, [PortRule("127.0.0.1", 8080, "tcp", "10.89.3.2", 80),
                                PortRule("", 53, "udp", "10.89.3.2", 53)])
    net, ports = scripts
    assert net.splitlines() == [
        "*filter", ":SKIFF-N-sk_abc - [0:0]", "-F SKIFF-N-sk_abc",
        "-A SKIFF-N-sk_abc -i sk-abc -o sk-abc -j ACCEPT",
        "-A SKIFF-N-sk_abc -i sk-abc -o sk+ -j DROP",
        "-A SKIFF-N-sk_abc -i sk-abc -j ACCEPT", "-A SKIFF-N-sk_abc -o sk-abc -j ACCEPT",
        "-I FORWARD -j SKIFF-N-sk_abc", "COMMIT",
        "*nat", ":SKIFF-N-sk_abc - [0:0]", "-F SKIFF-N-sk_abc",
        "-A SKIFF-N-sk_abc -s 10.89.3.0/24 ! -o sk-abc -j MASQUERADE",
        "-A SKIFF-N-sk_abc -s 127.0.0.0/8 -o sk-abc -j MASQUERADE",
        "-A SKIFF-N-sk_abc -s 10.89.3.0/24 -o sk-abc -m conntrack --ctstate DNAT -j MASQUERADE",
        "-I POSTROUTING -j SKIFF-N-sk_abc", "COMMIT"]
    chain = "SKIFF-P-" + "f" * 12
    assert ports.splitlines() == [
        "*nat", f":{chain} - [0:0]", f"-F {chain}",
        f"-A {chain} -d 127.0.0.1 -m addrtype --dst-type LOCAL -p tcp --dport 8080 "
        "-j DNAT --to-destination 10.89.3.2:80",
        f"-A {chain} -m addrtype --dst-type LOCAL -p udp --dport 53 "
        "-j DNAT --to-destination 10.89.3.2:53",
        f"-I PREROUTING -j {chain}", f"-I OUTPUT -j {chain}", "COMMIT"]


def test_firewall_backend_choice(monkeypatch):
    from skiff.errors import Unavailable
    from skiff.network import firewall, iptables

    monkeypatch.setattr(firewall, "_nft_usable", lambda: "nft not found")
    monkeypatch.setattr(iptables, "usable", lambda: None)
    firewall._backend.cache_clear()
    try:
        monkeypatch.delenv("SKIFF_FIREWALL", raising=False)
        assert firewall.backend() == "iptables"
        monkeypatch.setenv("SKIFF_FIREWALL", "nftables")
        with pytest.raises(Unavailable, match="nft not found"):
            firewall.backend()
        monkeypatch.setenv("SKIFF_FIREWALL", "pf")
        with pytest.raises(Unavailable, match="use nftables or iptables"):
            firewall.backend()
        monkeypatch.delenv("SKIFF_FIREWALL")
        monkeypatch.setattr(iptables, "usable", lambda: "iptables not found")
        firewall._backend.cache_clear()
        with pytest.raises(Unavailable, match="nft not found; iptables not found"):
            firewall.backend()
    finally:
        firewall._backend.cache_clear()


def test_sandbox_sweep_releases_only_dead_owners(tmp_path, monkeypatch):
    from skiff.config import Config
    from skiff.network import sandbox

    config = Config.from_env(root=str(tmp_path))
    config.tmp_dir.mkdir(parents=True)
    released = []
    monkeypatch.setattr(sandbox, "release",
                        lambda c, db, sid, settled=True: released.append((sid, settled)))
    me = os.getpid()
    (config.tmp_dir / "netsandbox-live").write_text(f"{me} {start_time(me)}\n")
    (config.tmp_dir / "netsandbox-dead").write_text(f"{me} 1\n")  # pid reused: not it
    (config.tmp_dir / "netsandbox-half.tmp").write_text("")  # being written
    assert sandbox.sweep(config, None) == ["dead"]
    assert released == [("dead", False)]  # its RUN process may live on: not settled


def test_dns_aaaa_records():
    import socket
    import struct

    from skiff.network import dns

    assert dns.records_for(1, ["10.89.3.5"], "10.89.3.0/24", "fd00:1::/64") == ["10.89.3.5"]
    assert dns.records_for(28, ["10.89.3.5"], "10.89.3.0/24", "fd00:1::/64") == ["fd00:1::5"]
    assert dns.records_for(28, ["10.89.3.5"], "10.89.3.0/24", None) == []
    assert dns.records_for(15, ["10.89.3.5"], "10.89.3.0/24", "fd00:1::/64") == []
    q = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x03web\x00" + struct.pack("!HH", 28, 1)
    r = dns.answer(q, ["fd00:1::5"])
    assert struct.unpack("!HHHHHH", r[:12]) == (7, 0x8580, 1, 1, 0, 0)
    assert r[len(q):] == (b"\xc0\x0c" + struct.pack("!HHIH", 28, 1, dns.TTL, 16)
                          + socket.inet_pton(socket.AF_INET6, "fd00:1::5"))


def test_default_bridge_allocations_start_apart_per_store():
    from ipaddress import IPv4Address

    from skiff.network import ipam

    sub = IPv4Network("10.88.0.0/16")
    a = ipam.shared_start(sub, "0000a1b2" + "0" * 56)
    b = ipam.shared_start(sub, "ffff0003" + "0" * 56)
    assert a == IPv4Address("10.88.161.178") and b == IPv4Address("10.88.0.5")
    assert ipam.shared_start(sub, "0000a1b2" + "f" * 56) == a  # stable per network ID
    assert ipam._next_free(sub, set(), a) == IPv4Address("10.88.161.179")
