"""-p parsing (go-connections' ParsePortSpec), allocation rules, Docker's displays."""

from __future__ import annotations

import socket

import pytest

from skiff import metadata
from skiff.errors import Conflict, InvalidArgument, NotFound
from skiff.network import firewall
from skiff.network.ports import (
    PortBinding,
    PortSpec,
    allocate,
    bindings,
    docker_ports,
    parse_exposed,
    parse_publish,
    port_lines,
    release,
)


def test_parse_publish_forms():
    assert parse_publish("80") == [PortSpec(80)]
    assert parse_publish("8080:80") == [PortSpec(80, "tcp", "", 8080)]
    assert parse_publish("127.0.0.1:8080:80/udp") == [PortSpec(80, "udp", "127.0.0.1", 8080)]
    assert parse_publish("127.0.0.1::80") == [PortSpec(80, "tcp", "127.0.0.1", 0)]
    assert parse_publish("0.0.0.0:8080:80") == [PortSpec(80, "tcp", "", 8080)]
    assert parse_publish("8000-8001:80-81") == [PortSpec(80, "tcp", "", 8000),
                                                PortSpec(81, "tcp", "", 8001)]
    # IPv6 host addresses, bracketed or not, recorded without brackets (Docker's HostIp)
    assert parse_publish("[fd00::1]:8080:80") == [PortSpec(80, "tcp", "fd00::1", 8080)]
    assert parse_publish("[fd00::1]::80/udp") == [PortSpec(80, "udp", "fd00::1", 0)]
    assert parse_publish("fd00::1:8080:80") == [PortSpec(80, "tcp", "fd00::1", 8080)]
    assert parse_publish("[::]:8080:80") == [PortSpec(80, "tcp", "::", 8080)]
    assert parse_publish("[fd00:0::1]:8080:80") == [PortSpec(80, "tcp", "fd00::1", 8080)]


# docker 20.10's words (its go-connections): "Invalid containerPort: bad" (capital I)
@pytest.mark.parametrize("spec,msg", [
    ("abc", "^Invalid containerPort: abc$"),
    ("x:80", "^Invalid hostPort: x$"),
    ("1.2.3:80:80", "^Invalid ip address: 1.2.3$"),
    ("80/sctpx", "^Invalid proto: sctpx$"),
    ("70000", "^Invalid containerPort: 70000$"),
    ("8000-8002:80-81", "^Invalid ranges specified for container and host Ports: 80-81 and 8000-8002$"),
    ("1:2:3:4", "^Invalid ip address: 1:2$"),  # (go-connections: all before the last two)
    ("[::1:80:80", "^Invalid ip address \\[::1: address \\[::1:: missing ']' in address$"),
    ("[::1]:8080:80", "the IPv6 loopback cannot be forwarded"),  # (Docker: its proxy)
])
def test_parse_publish_errors(spec, msg):
    with pytest.raises(InvalidArgument, match=msg):
        parse_publish(spec)


def test_parse_exposed():
    assert parse_exposed({"443/tcp": {}, "53/udp": {}, "80": {}}) == [
        PortSpec(443, "tcp"), PortSpec(53, "udp"), PortSpec(80, "tcp")]


@pytest.fixture
def db(tmp_path):
    d = metadata.connect(tmp_path / "m.db")
    yield d
    d.close()


def test_allocate_records_and_refuses_a_second_holder(db):
    with metadata.transaction(db):
        got = allocate(db, "c1", "n", [PortSpec(80, "tcp", "127.0.0.1", 0), PortSpec(53, "udp")])
    assert all(b.host_port > 0 for b in got)
    assert bindings(db, "c1") == sorted(got, key=lambda b: b.container_port)
    hp = got[0].host_port
    with pytest.raises(Conflict, match=f"Bind for 0.0.0.0:{hp} failed: port is already allocated"):
        with metadata.transaction(db):
            allocate(db, "c2", "n", [PortSpec(81, "tcp", "", 1), PortSpec(80, "tcp", "", hp)])
    assert bindings(db, "c2") == []  # all or nothing
    with metadata.transaction(db):
        assert release(db, "c1") == 2
    assert bindings(db, "c1") == []


def test_a_port_bound_on_the_host_is_refused(db):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        with pytest.raises(Conflict, match="port is already allocated"):
            with metadata.transaction(db):
                allocate(db, "c1", "n", [PortSpec(80, "tcp", "", port)])
    finally:
        s.close()


def test_ipv6_host_addresses_allocate_apart_from_ipv4(db):
    with metadata.transaction(db):
        (b4,) = allocate(db, "c1", "n", [PortSpec(80, "tcp", "", 0)])
        # the same port on an IPv6 address: another family, no clash (Docker binds both)
        (b6,) = allocate(db, "c2", "n", [PortSpec(80, "tcp", "::1", b4.host_port)])
    assert (b6.host_ip, b6.host_port) == ("::1", b4.host_port)
    with pytest.raises(Conflict, match=rf"Bind for \[::\]:{b4.host_port} failed: port is "
                                       "already allocated"):
        with metadata.transaction(db):
            allocate(db, "c3", "n", [PortSpec(81, "tcp", "::", b4.host_port)])
    with metadata.transaction(db):
        (r6,) = allocate(db, "c3", "n", [PortSpec(81, "tcp", "::1", 0)])  # a random one
    assert r6.host_port > 0 and r6.host_ip == "::1"


def test_displays():
    b = [PortBinding("", 8080, "tcp", 80), PortBinding("127.0.0.1", 5353, "udp", 53)]
    assert b[0].ps_text() == "0.0.0.0:8080->80/tcp"
    assert docker_ports(b, ["443/tcp"]) == {
        "443/tcp": None, "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}]}
    assert port_lines(b) == ["80/tcp -> 0.0.0.0:8080", "53/udp -> 127.0.0.1:5353"]
    assert port_lines(b, "53/udp") == ["127.0.0.1:5353"]
    with pytest.raises(NotFound, match="No public port '81/tcp' published"):
        port_lines(b, "81")
    v6 = [PortBinding("::1", 8080, "tcp", 80)]
    assert v6[0].ps_text() == "[::1]:8080->80/tcp"
    assert port_lines(v6) == ["80/tcp -> [::1]:8080"]
    assert docker_ports(v6) == {"80/tcp": [{"HostIp": "::1", "HostPort": "8080"}]}
    from skiff.network.glue import ps_ports

    assert ps_ports({"Ports": docker_ports(v6 + b)}) == (
        "127.0.0.1:5353->53/udp, [::1]:8080->80/tcp, 0.0.0.0:8080->80/tcp")


def test_rule_scripts():
    s = firewall.port_rules("c" * 64, [firewall.PortRule("", 8080, "tcp", "10.88.0.2", 80),
                                       firewall.PortRule("127.0.0.1", 53, "udp", "10.88.0.2", 53)])
    t = "skiff_p_cccccccccccc"
    assert f"add rule ip {t} prerouting fib daddr type local tcp dport 8080 dnat to 10.88.0.2:80" in s
    assert f"add rule ip {t} output ip daddr 127.0.0.1 fib daddr type local udp dport 53 dnat to 10.88.0.2:53" in s
    assert f"add table ip6 {t}\ndelete table ip6 {t}\n" in s  # no IPv6 rules: none left
    assert "add chain ip6" not in s
    s6 = firewall.port_rules("c" * 64, [firewall.PortRule("::1", 8080, "tcp", "fd00::5", 80),
                                        firewall.PortRule("::", 53, "udp", "fd00::5", 53)])
    assert (f"add rule ip6 {t} output ip6 daddr ::1 fib daddr type local tcp dport 8080 "
            "dnat to [fd00::5]:80") in s6
    assert f"add rule ip6 {t} prerouting fib daddr type local udp dport 53 dnat to [fd00::5]:53" in s6
    assert f"add rule ip {t}" not in s6
    n = firewall.network_rules("sk-x", "10.89.0.0/24", internal=True)
    assert n.startswith("add table ip skiff_n_sk_x\n")
    assert "masquerade" not in n
    assert 'iifname "sk-x" oifname != "sk-x" drop' in n


def test_create_time_checks(tmp_path):
    from skiff.config import Config
    from skiff.errors import NotFound
    from skiff.network import glue

    config = Config(root=tmp_path)
    db = metadata.connect(tmp_path / "m.db")
    with pytest.raises(InvalidArgument, match="supported on user defined networks only"):
        glue.check_mode(config, db, "default", ip="10.88.0.9")
    with pytest.raises(InvalidArgument, match="alias is supported only"):
        glue.check_mode(config, db, "bridge", aliases=("x",))
    with pytest.raises(NotFound, match="network nope not found"):
        glue.check_mode(config, db, "nope")
    assert glue.check_mode(config, db, "none") == "none"
    assert glue.port_bindings(["127.0.0.1:8080:80", "53/udp"]) == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "", "HostPort": ""}]}
    assert glue.ps_ports({"Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
                                    "443/tcp": None}}) == "0.0.0.0:8080->80/tcp, 443/tcp"
    db.close()
