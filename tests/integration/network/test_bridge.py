"""bridge.py against the real kernel: a bridge, two namespaces, veth pairs, no leaks."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from skiff.errors import SkiffError
from skiff.network import bridge

from .conftest import nsexec

pytestmark = [pytest.mark.requires_root]


def test_two_namespaces_on_a_bridge_reach_each_other(no_leaks, uid):
    subnet = IPv4Network(f"10.90.{int(uid, 16) % 250}.0/24")
    br = "skt" + uid
    gw = str(subnet.network_address + 1)
    ns = []
    try:
        assert bridge.ensure_bridge(br, gw, subnet) is True
        assert bridge.ensure_bridge(br, gw, subnet) is False  # idempotent
        for i in (2, 3):
            p = bridge.create_netns(f"sktest-{uid}-{i}")
            ns.append(p)
            bridge.plug(bridge=br, netns_path=p, host_veth=f"vskt{uid}{i}", ifname="eth0",
                        address=str(subnet.network_address + i), prefix_len=24, gateway=gw,
                        mac=f"02:42:0a:5a:00:0{i}")
        assert bridge.links(ns[0]) == ["eth0", "lo"]
        assert bridge.addresses(ns[0]) == [f"eth0 {subnet.network_address + 2}/24",
                                           "lo 127.0.0.1/8"]
        r = nsexec(str(ns[0]), "ping", "-c1", "-W2", str(subnet.network_address + 3))
        assert r.returncode == 0, r.stdout + r.stderr
        r = nsexec(str(ns[1]), "ping", "-c1", "-W2", gw)  # the host, through the gateway
        assert r.returncode == 0, r.stdout + r.stderr
        r = nsexec(str(ns[1]), "ip", "route")
        assert r.stdout.splitlines()[0] == f"default via {gw} dev eth0 "
        # A second eth0 in the same namespace is refused and leaves no veth behind.
        with pytest.raises(SkiffError, match="eth0: already exists"):
            bridge.plug(bridge=br, netns_path=ns[0], host_veth=f"vskt{uid}9", ifname="eth0",
                        address=str(subnet.network_address + 9), prefix_len=24, gateway=gw,
                        mac="02:42:0a:5a:00:09")
        assert f"vskt{uid}9" not in bridge.links()
    finally:
        for i in (2, 3):
            bridge.delete_link(f"vskt{uid}{i}")
        for p in ns:
            bridge.remove_netns(p)
        bridge.delete_link(br)


def test_plug_into_a_missing_bridge_fails_cleanly(no_leaks, uid):
    p = bridge.create_netns(f"sktest-{uid}")
    try:
        with pytest.raises(SkiffError, match="no such interface"):
            bridge.plug(bridge="sknope" + uid, netns_path=p, host_veth=f"vskt{uid}", ifname="eth0",
                        address="10.90.1.2", prefix_len=24, gateway="10.90.1.1", mac="02:42:0a:5a:01:02")
    finally:
        bridge.remove_netns(p)


def test_ensure_bridge_refuses_a_non_bridge(no_leaks, uid):
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        ipr.link("add", ifname="skd" + uid, kind="veth", peer="ske" + uid)
    try:
        with pytest.raises(SkiffError, match="is a veth"):
            bridge.ensure_bridge("skd" + uid, "10.90.2.1", IPv4Network("10.90.2.0/24"))
    finally:
        bridge.delete_link("skd" + uid)


def test_host_routes_lists_connected_subnets():
    routes = bridge.host_routes()
    assert all(r.prefixlen > 0 for r in routes)


def test_the_leak_check_sees_a_leftover_link(uid):
    from pyroute2 import IPRoute

    from .conftest import host_state, leaked

    before = host_state()
    with IPRoute() as ipr:
        ipr.link("add", ifname="skl" + uid, kind="veth", peer="skm" + uid)
    try:
        assert {("link", "skl" + uid), ("link", "skm" + uid)} <= leaked(before, timeout=0)
    finally:
        bridge.delete_link("skl" + uid)
    assert leaked(before) == set()
