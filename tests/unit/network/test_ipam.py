"""IPAM: subnet checks, persistent round-robin allocation, never one address twice."""

from __future__ import annotations

import sqlite3
import time
from ipaddress import IPv4Address, IPv4Network

import pytest

from skiff import metadata
from skiff.errors import Conflict, InvalidArgument, SkiffError
from skiff.network import ipam, records


@pytest.fixture
def db(tmp_path):
    d = metadata.connect(tmp_path / "m.db")
    yield d
    d.close()


def _net(db, subnet="10.89.7.0/29", nid="a" * 64):
    n = records.Network(id=nid, name="n-" + nid[:4], driver="bridge", created=time.time(),
                        subnet=subnet, gateway=str(IPv4Network(subnet).network_address + 1),
                        bridge="sk-" + nid[:12])
    with metadata.transaction(db):
        records.insert(db, n)
    return n


def test_parse_subnet_rejects_host_bits_and_garbage():
    assert ipam.parse_subnet("10.89.1.0/24") == IPv4Network("10.89.1.0/24")
    with pytest.raises(InvalidArgument, match="it should be 10.89.1.0/24"):
        ipam.parse_subnet("10.89.1.5/24")
    with pytest.raises(InvalidArgument, match="not an IPv4 CIDR"):
        ipam.parse_subnet("fish")
    with pytest.raises(InvalidArgument, match="prefix length"):
        ipam.parse_subnet("10.89.1.0/31")


def test_gateway_defaults_to_first_host_and_must_be_inside():
    s = IPv4Network("10.89.1.0/24")
    assert ipam.gateway_for(s) == IPv4Address("10.89.1.1")
    assert ipam.gateway_for(s, "10.89.1.254") == IPv4Address("10.89.1.254")
    with pytest.raises(InvalidArgument, match="no matching subnet for gateway 10.89.2.1"):
        ipam.gateway_for(s, "10.89.2.1")
    with pytest.raises(InvalidArgument):
        ipam.gateway_for(s, "10.89.1.255")


def test_overlap_and_pick():
    taken = [IPv4Network("10.89.0.0/24"), IPv4Network("10.89.1.0/25"), IPv4Network("192.0.2.0/24")]
    with pytest.raises(Conflict, match="Pool overlaps with other one on this address space"):
        ipam.check_overlap(IPv4Network("10.89.1.64/26"), taken)
    ipam.check_overlap(IPv4Network("10.89.2.0/24"), taken)
    assert ipam.pick_subnet(taken) == IPv4Network("10.89.2.0/24")
    with pytest.raises(SkiffError, match="fully subnetted"):
        ipam.pick_subnet([IPv4Network("10.89.0.0/16")])


def test_allocate_round_robin_skips_reserved_and_persists(db, tmp_path):
    n = _net(db)  # /29: .1 gateway, hosts .2-.6
    got = []
    for i in range(5):
        with metadata.transaction(db):
            got.append(str(ipam.allocate(db, n.id, f"c{i}")))
    assert got == ["10.89.7.2", "10.89.7.3", "10.89.7.4", "10.89.7.5", "10.89.7.6"]
    with pytest.raises(SkiffError, match="no available IPv4 addresses"):
        with metadata.transaction(db):
            ipam.allocate(db, n.id, "c5")
    with metadata.transaction(db):
        assert ipam.release(db, n.id, "c1") == "10.89.7.3"
        assert ipam.release(db, n.id, "c1") is None
    # A fresh connection sees the persisted state: the one free address is handed out.
    db2 = metadata.connect(tmp_path / "m.db")
    with metadata.transaction(db2):
        assert str(ipam.allocate(db2, n.id, "c6")) == "10.89.7.3"
    db2.close()


def test_released_address_is_not_reused_at_once(db):
    n = _net(db, "10.89.8.0/24", "b" * 64)
    with metadata.transaction(db):
        a = ipam.allocate(db, n.id, "x")
        ipam.release(db, n.id, "x")
        b = ipam.allocate(db, n.id, "y")
    assert (str(a), str(b)) == ("10.89.8.2", "10.89.8.3")


def test_requested_address(db):
    n = _net(db, "10.89.9.0/24", "c" * 64)
    with metadata.transaction(db):
        assert str(ipam.allocate(db, n.id, "x", requested="10.89.9.77")) == "10.89.9.77"
    with pytest.raises(Conflict, match="Address already in use"):
        with metadata.transaction(db):
            ipam.allocate(db, n.id, "y", requested="10.89.9.77")
    for bad in ("10.89.10.1", "10.89.9.1", "10.89.9.255"):
        with pytest.raises(InvalidArgument):
            with metadata.transaction(db):
                ipam.allocate(db, n.id, "y", requested=bad)
    with pytest.raises(Conflict, match="already exists in network"):
        with metadata.transaction(db):
            ipam.allocate(db, n.id, "x")
    # Failed requests left nothing behind.
    assert [r["container_id"] for r in records.endpoints(db, network_id=n.id)] == ["x"]


def test_the_database_refuses_a_second_holder(db):
    n = _net(db, "10.89.11.0/24", "d" * 64)
    with metadata.transaction(db):
        ipam.allocate(db, n.id, "x", requested="10.89.11.9")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO network_endpoints (network_id, container_id, address, created)"
                   " VALUES (?, 'y', '10.89.11.9', 0)", (n.id,))


def test_mac_is_dockers_form():
    assert ipam.mac_for(IPv4Address("10.88.0.2")) == "02:42:0a:58:00:02"


def test_two_stores_sharing_the_default_bridge_never_hand_out_one_address(tmp_path, monkeypatch):
    """Each root has its own IPAM but the default bridge's device is the host's: an address
    is also claimed host-wide (a file per address), skipped by the other root while its
    holder's netns pin exists, taken over once it is gone, dropped on release."""
    claims, pins = tmp_path / "claims", tmp_path / "pins"
    pins.mkdir()
    monkeypatch.setattr(ipam, "CLAIMS_DIR", str(claims))
    monkeypatch.setattr(ipam, "PINS_DIR", str(pins))
    dbs = []
    for i in range(2):
        d = metadata.connect(tmp_path / f"m{i}.db")
        dbs.append(d)
        n = records.Network(id="0000000a" + f"{i}" * 56, name="bridge", driver="bridge",
                            created=time.time(), subnet="10.88.0.0/16", gateway="10.88.0.1",
                            bridge="sktest0")
        with metadata.transaction(d):
            records.insert(d, n)
    nid = [records.find(d, "bridge").id for d in dbs]
    ca, cb, cc = "a" * 64, "b" * 64, "c" * 64
    (pins / f"skiff-{ca[:12]}").touch()
    with metadata.transaction(dbs[0]):
        a = str(ipam.allocate(dbs[0], nid[0], ca))
    assert a == "10.88.0.11"  # both stores start at the same offset (ID prefix 0x0a)
    assert (claims / "sktest0" / a).read_text() == ca
    with metadata.transaction(dbs[1]):
        b = str(ipam.allocate(dbs[1], nid[1], cb))
    assert b == "10.88.0.12"  # the other store's live holder keeps .11
    # a claim whose holder's pin is gone is stale: taken over
    (pins / f"skiff-{ca[:12]}").unlink()
    with metadata.transaction(dbs[1]):
        dbs[1].execute("UPDATE networks SET last_ip = NULL")
        c = str(ipam.allocate(dbs[1], nid[1], cc))
    assert c == "10.88.0.11" and (claims / "sktest0" / a).read_text() == cc
    # release drops only the releasing holder's claim
    with metadata.transaction(dbs[0]):
        assert ipam.release(dbs[0], nid[0], ca) == a
    assert (claims / "sktest0" / a).read_text() == cc
    with metadata.transaction(dbs[1]):
        ipam.release(dbs[1], nid[1], cc)
        ipam.release(dbs[1], nid[1], cb)
    assert list((claims / "sktest0").iterdir()) == []
    for d in dbs:
        d.close()
