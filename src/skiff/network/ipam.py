"""IP address management for bridge networks: subnets and per-container addresses.

Subnets: a network's subnet may not overlap another skiff network's or a route the host
already has (libnetwork's "Pool overlaps with other one on this address space"). When
none is given, the first free /24 of ``USER_POOL`` is taken (Podman hands out 10.89.x.0/24;
Docker uses 172.18+.0.0/16 — 10.89 keeps clear of common host routes).

Addresses: persisted in ``network_endpoints`` (``UNIQUE(network_id, address)``, so an
address is never held twice); handed out round robin after the network's ``last_ip`` so a
released address is not reused at once (libnetwork's bitseq allocator does the same).
The network address, the gateway and the broadcast address are never handed out.

Host-wide claims on the default bridge: its device (skiff0) is shared by every store root
on the host while each root keeps its own IPAM, so an address a root picks there is also
claimed in ``/run/skiff/addresses/<bridge>/<address>`` (made with O_EXCL: one holder, no
lock needed; content: the container or sandbox ID). A root skips an address another holds;
a claim whose holder's network namespace pin (``/run/netns/skiff-<id[:12]>``, made before
attach and removed after release) is gone is stale and taken over. /run empties at boot,
with the links. User-defined networks have a bridge of their own per root: no claims.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # (the C module: the sqlite3 package imports datetime)
import ipaddress
import os
import time
from ipaddress import IPv4Address, IPv4Network

from skiff import jsonio as json  # (json.loads/dumps without importing re)
from skiff.errors import Conflict, InvalidArgument, SkiffError

TYPE_CHECKING = False  # (not typing's: a bridge start does not import collections)
if TYPE_CHECKING:
    from collections.abc import Iterable

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
    row = db.execute("SELECT name, subnet, gateway, last_ip, bridge FROM networks WHERE id = ?",
                     (network_id,)).fetchone()
    if row is None or not row["subnet"]:
        raise InvalidArgument("network " + network_id[:12], "has no IPv4 subnet to allocate from")
    subnet, gateway = IPv4Network(row["subnet"]), IPv4Address(row["gateway"])
    shared = _shared_bridge(row["name"], row["bridge"])
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
        claim = None
        if shared:
            def claim(a: IPv4Address) -> bool:
                return claim_shared(shared, str(a), container_id)
        addr = _next_free(subnet, reserved | used, last, claim)
        db.execute("UPDATE networks SET last_ip = ? WHERE id = ?", (str(addr), network_id))
    try:
        db.execute("INSERT INTO network_endpoints (network_id, container_id, address, created, "
                   "data) VALUES (?, ?, ?, ?, ?)",
                   (network_id, container_id, str(addr), time.time(), json.dumps(data or {})))
    except BaseException:
        if requested is None and shared:
            unclaim_shared(shared, str(addr), container_id)
        raise
    return addr


CLAIMS_DIR = "/run/skiff/addresses"
PINS_DIR = "/run/netns"  # skiff.network.bridge.NETNS_DIR (not imported here)


def _shared_bridge(network_name: str, bridge: str | None) -> str | None:
    """The device whose addresses take host-wide claims: the default network's (skiff0,
    shared by every store root); None for user-defined networks (a bridge per root)."""
    return bridge or None if network_name == "bridge" else None


def _claim_path(bridge: str, address: str) -> str:
    return f"{CLAIMS_DIR}/{bridge}/{address}"


def claim_shared(bridge: str, address: str, holder: str) -> bool:
    """Claim ``address`` on the shared bridge for ``holder`` (a container or sandbox ID)
    host-wide; False when a live holder of another store has it (see the module doc). A
    claim of the same holder is its own (a retried attach)."""
    path = _claim_path(bridge, address)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
            except PermissionError:
                return True  # not root: no bridge to share either
            continue
        except PermissionError:
            return True
        except FileExistsError:
            try:
                with open(path) as f:
                    other = f.read().strip()
            except FileNotFoundError:
                continue  # released just now: try again
            if other == holder:
                return True
            if other and os.path.exists(f"{PINS_DIR}/skiff-{other[:12]}"):
                return False
            # stale (its holder's namespace is gone, or a claim cut short): take it over
            # by rename, atomic against another taker
            tmp = f"{path}.{holder[:12]}.{os.getpid()}"
            with open(tmp, "w") as f:
                f.write(holder)
            os.rename(tmp, path)
            return True
        try:
            os.write(fd, holder.encode())
        finally:
            os.close(fd)
        return True
    return False


def unclaim_shared(bridge: str, address: str, holder: str) -> None:
    """Drop ``holder``'s host-wide claim of ``address`` (not another holder's)."""
    path = _claim_path(bridge, address)
    try:
        with open(path) as f:
            if f.read().strip() != holder:
                return
        os.unlink(path)
    except (FileNotFoundError, PermissionError):
        pass


def shared_start(subnet: IPv4Network, network_id: str) -> IPv4Address:
    """Where a store's first allocation on the default bridge starts: the bridge device
    (skiff0) is shared by every store root on the host while each root keeps its own
    IPAM, so each starts at an offset derived from its (random) network ID instead of at
    .2 — concurrent roots (test suites, a build beside a daemon-less run) rarely meet.
    User-defined networks have a bridge of their own and start at .2, as Docker's."""
    span = int(subnet.broadcast_address) - int(subnet.network_address) - 1
    return IPv4Address(int(subnet.network_address) + int(network_id[:8], 16) % max(span, 1))


def _next_free(subnet: IPv4Network, unavailable: set[IPv4Address],
               last: IPv4Address | None, claim=None) -> IPv4Address:
    """The first address after ``last`` (wrapping) not in ``unavailable`` and, when
    ``claim`` is given, that ``claim(address)`` took (the shared bridge's host-wide
    claims)."""
    first = int(subnet.network_address) + 1
    last_host = int(subnet.broadcast_address) - 1
    size = last_host - first + 1
    start = int(last) + 1 if last is not None and last in subnet else first
    for i in range(size):
        n = first + (start - first + i) % size
        a = IPv4Address(n)
        if a not in unavailable and (claim is None or claim(a)):
            return a
    raise SkiffError(f"no available IPv4 addresses on this network's address pools ({subnet})")


def release(db: sqlite3.Connection, network_id: str, container_id: str) -> str | None:
    """Drop the container's endpoint row on the network; return the address it held
    (None when it had none). Idempotent."""
    row = db.execute("SELECT e.address, n.name, n.bridge FROM network_endpoints e JOIN "
                     "networks n ON n.id = e.network_id WHERE e.network_id = ? AND "
                     "e.container_id = ?", (network_id, container_id)).fetchone()
    if row is None:
        return None
    db.execute("DELETE FROM network_endpoints WHERE network_id = ? AND container_id = ?",
               (network_id, container_id))
    shared = _shared_bridge(row[1], row[2])
    if shared:
        unclaim_shared(shared, row[0], container_id)
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
