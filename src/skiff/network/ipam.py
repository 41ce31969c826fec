"""IP address management for bridge networks: subnets and per-container addresses.

Subnets: a network's subnet may not overlap another skiff network's or a route the host
already has (libnetwork's "Pool overlaps with other one on this address space"). When
none is given, the first free /24 of ``USER_POOL`` is taken (Podman hands out 10.89.x.0/24;
Docker uses 172.18+.0.0/16 — 10.89 keeps clear of common host routes).

Addresses: persisted in ``network_endpoints`` (``UNIQUE(network_id, address)``, so an
address is never held twice); handed out round robin after the network's ``last_ip`` so a
released address is not reused at once (libnetwork's bitseq allocator does the same).
The network address, the gateway and the broadcast address are never handed out.
"""

from __future__ import annotations

import ipaddress
import json
import sqlite3
import time
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network

from skiff.errors import Conflict, InvalidArgument, SkiffError

USER_POOL = IPv4Network("10.89.0.0/16")
USER_PREFIX = 24


def parse_subnet(text: str) -> IPv4Network:
    """``"10.89.3.0/24"`` → IPv4Network. Host bits set are an error, as in Docker.

    Raises InvalidArgument for anything that is not an IPv4 CIDR with prefix 8..30.
    """
    try:
        net = IPv4Network(text, strict=True)
    except ValueError as e:
        if "/" in text:
            try:
                IPv4Network(text, strict=False)
            except ValueError:
                pass
            else:
                raise InvalidArgument(f"invalid subnet {text}", "it should be " +
                                      str(IPv4Network(text, strict=False))) from e
        raise InvalidArgument(f"invalid subnet {text}", "not an IPv4 CIDR") from e
    if not 8 <= net.prefixlen <= 30:
        raise InvalidArgument(f"invalid subnet {text}", "prefix length must be 8..30")
    return net


def gateway_for(subnet: IPv4Network, gateway: str | None = None) -> IPv4Address:
    """The gateway: ``gateway`` if given (must lie inside the subnet and not be its network
    or broadcast address), else the subnet's first host address (Docker's default)."""
    if gateway is None:
        return subnet.network_address + 1
    try:
        gw = IPv4Address(gateway)
    except ValueError as e:
        raise InvalidArgument(f"invalid gateway {gateway}", "not an IPv4 address") from e
    if gw not in subnet or gw in (subnet.network_address, subnet.broadcast_address):
        raise InvalidArgument(f"invalid gateway {gateway}",
                              f"no matching subnet for gateway {gateway}")
    return gw


def check_overlap(subnet: IPv4Network, taken: Iterable[IPv4Network]) -> None:
    """Raise Conflict (Docker's wording) when ``subnet`` overlaps any of ``taken``."""
    for t in taken:
        if subnet.overlaps(t):
            raise Conflict("invalid pool request",
                           f"Pool overlaps with other one on this address space ({t})")


def pick_subnet(taken: Iterable[IPv4Network], pool: IPv4Network = USER_POOL,
                prefix: int = USER_PREFIX) -> IPv4Network:
    """The first /``prefix`` of ``pool`` that overlaps none of ``taken``.

    Raises SkiffError when the pool is exhausted (Docker: "all predefined address pools
    have been fully subnetted").
    """
    taken = list(taken)
    for cand in pool.subnets(new_prefix=prefix):
        if not any(cand.overlaps(t) for t in taken):
            return cand
    raise SkiffError("could not find an available, non-overlapping IPv4 address pool",
                     "all predefined address pools have been fully subnetted")


def _reserved(subnet: IPv4Network, gateway: IPv4Address) -> set[IPv4Address]:
    return {subnet.network_address, subnet.broadcast_address, gateway}


def allocate(db: sqlite3.Connection, network_id: str, container_id: str, *,
             requested: str | None = None, data: dict | None = None) -> IPv4Address:
    """Give ``container_id`` an address on the network and record its endpoint row.

    Must run inside the caller's :func:`skiff.metadata.transaction` (it reads then writes).
    ``requested`` (``--ip``) must lie in the subnet and be free; else the next free address
    after the network's ``last_ip`` (wrapping). Raises InvalidArgument (outside the subnet,
    reserved), Conflict ("Address already in use", or the container already has an
    endpoint here), SkiffError when the subnet is full.
    """
    row = db.execute("SELECT name, subnet, gateway, last_ip FROM networks WHERE id = ?",
                     (network_id,)).fetchone()
    if row is None or not row["subnet"]:
        raise InvalidArgument("network " + network_id[:12], "has no IPv4 subnet to allocate from")
    subnet, gateway = IPv4Network(row["subnet"]), IPv4Address(row["gateway"])
    if db.execute("SELECT 1 FROM network_endpoints WHERE network_id = ? AND container_id = ?",
                  (network_id, container_id)).fetchone():
        raise Conflict(f"endpoint with name {container_id[:12]}",
                       "already exists in network " + network_id[:12])
    used = {IPv4Address(r[0]) for r in db.execute(
        "SELECT address FROM network_endpoints WHERE network_id = ?", (network_id,))}
    reserved = _reserved(subnet, gateway)
    if requested is not None:
        try:
            addr = IPv4Address(requested)
        except ValueError as e:
            raise InvalidArgument(f"invalid IPv4 address: {requested}") from e
        if addr not in subnet or addr in reserved:
            raise InvalidArgument(f"invalid address {requested}",
                                  f"no available IPv4 address in subnet {subnet} for it")
        if addr in used:
            raise Conflict(f"failed to allocate address {requested}", "Address already in use")
    else:
        last = IPv4Address(row["last_ip"]) if row["last_ip"] else None
        if last is None and row["name"] == "bridge":
            last = shared_start(subnet, network_id)
        addr = _next_free(subnet, reserved | used, last)
        db.execute("UPDATE networks SET last_ip = ? WHERE id = ?", (str(addr), network_id))
    db.execute("INSERT INTO network_endpoints (network_id, container_id, address, created, data)"
               " VALUES (?, ?, ?, ?, ?)",
               (network_id, container_id, str(addr), time.time(), json.dumps(data or {})))
    return addr


def shared_start(subnet: IPv4Network, network_id: str) -> IPv4Address:
    """Where a store's first allocation on the default bridge starts: the bridge device
    (skiff0) is shared by every store root on the host while each root keeps its own
    IPAM, so each starts at an offset derived from its (random) network ID instead of at
    .2 — concurrent roots (test suites, a build beside a daemon-less run) rarely meet.
    User-defined networks have a bridge of their own and start at .2, as Docker's."""
    span = int(subnet.broadcast_address) - int(subnet.network_address) - 1
    return IPv4Address(int(subnet.network_address) + int(network_id[:8], 16) % max(span, 1))


def _next_free(subnet: IPv4Network, unavailable: set[IPv4Address],
               last: IPv4Address | None) -> IPv4Address:
    first = int(subnet.network_address) + 1
    last_host = int(subnet.broadcast_address) - 1
    size = last_host - first + 1
    start = int(last) + 1 if last is not None and last in subnet else first
    for i in range(size):
        n = first + (start - first + i) % size
        a = IPv4Address(n)
        if a not in unavailable:
            return a
    raise SkiffError(f"no available IPv4 addresses on this network's address pools ({subnet})")


def release(db: sqlite3.Connection, network_id: str, container_id: str) -> str | None:
    """Drop the container's endpoint row on the network; return the address it held
    (None when it had none). Idempotent."""
    row = db.execute("SELECT address FROM network_endpoints WHERE network_id = ? AND "
                     "container_id = ?", (network_id, container_id)).fetchone()
    if row is None:
        return None
    db.execute("DELETE FROM network_endpoints WHERE network_id = ? AND container_id = ?",
               (network_id, container_id))
    return row[0]


def mac_for(addr: IPv4Address) -> str:
    """Docker's MAC for an address: ``02:42:`` + the four address bytes in hex."""
    return "02:42:" + ":".join(f"{b:02x}" for b in addr.packed)


def is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True
