"""Connecting a container's network namespace to skiff networks: the runtime's entry point.

The runtime's side (pre-start call, docs/contracts.md section skiff.network):

1. ``path = create_sandbox(container_id)`` — a fresh netns pinned at
   ``/run/netns/skiff-<id[:12]>`` (loopback up); the OCI config's network namespace is
   ``{"type": "network", "path": path}`` so runc joins it.
2. ``endpoints = attach(config, db, container_id, path, [EndpointRequest("mynet")],
   ports=[...])`` before the process starts; ``etc_settings(endpoints)`` gives the IP for
   /etc/hosts and the nameservers for /etc/resolv.conf.
3. On stop/exit: ``detach(config, db, container_id)`` then ``remove_sandbox(container_id)``
   (both idempotent; a crash at any point is repaired by calling them again).

For ``--network none`` only step 1 (lo only); for ``host`` none of it.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # (the C module: the sqlite3 package imports datetime)
import contextlib
import os
from ipaddress import IPv4Network

from skiff import jsonio as json  # (json.loads/dumps without importing re)
from skiff import metadata
from skiff.config import Config
from skiff.errors import InvalidArgument, SkiffError
from skiff.network import bridge, ipam, ports, records
from skiff.network.records import Endpoint
from skiff.runtime.value import value

TYPE_CHECKING = False  # (not typing's: a bridge start does not import collections)
if TYPE_CHECKING:
    from collections.abc import Sequence


@value
class EndpointRequest:
    """One ``--network`` the container joins.

    ``network``: name/ID (``bridge`` or ``default`` = the default bridge); ``ip``:
    ``--ip``; ``aliases``: ``--network-alias`` (user-defined networks only, as Docker);
    ``mac``: ``--mac-address`` (else 02:42 + the IP's bytes); ``name``: the container's
    name (resolvable on user-defined networks).
    """

    network: str
    ip: str | None = None
    aliases: tuple[str, ...] = ()
    mac: str | None = None
    name: str = ""


@value
class EtcSettings:
    """What /etc/hosts and /etc/resolv.conf need: the container's primary IP (or None)
    and the nameservers to list (empty = the host's, filtered, as Docker)."""

    ip: str | None
    nameservers: tuple[str, ...] = ()


def sandbox_path(container_id: str) -> str:
    return os.path.join(bridge.NETNS_DIR, f"skiff-{container_id[:12]}")


def create_sandbox(container_id: str, userns: str | None = None) -> str:
    """A new network namespace for the container (see the module docstring); its path.
    ``userns``: a pinned user namespace to own it (bridge.create_netns)."""
    return bridge.create_netns(f"skiff-{container_id[:12]}", userns)


def remove_sandbox(container_id: str) -> None:
    """Unpin the container's namespace (its veth ends die with it). Idempotent."""
    bridge.remove_netns(sandbox_path(container_id))


def _service(config: Config, db: sqlite3.Connection):
    from skiff.network.service import NetworkService

    return NetworkService(config, db)


def attach(config: Config, db: sqlite3.Connection, container_id: str,
           netns_path: str | os.PathLike[str], networks: Sequence[EndpointRequest], *,
           publish: Sequence[ports.PortSpec] = ()) -> list[Endpoint]:
    """Plug the namespace into each network (``eth0``, ``eth1``, ... in order), then
    publish ``publish`` on the first network's address.

    All or nothing: on any error every veth, address, DB row and rule made here is undone
    before the error propagates. Raises NotFound (``network X not found``),
    InvalidArgument (``none``/``host`` mixed with others, aliases on the default bridge,
    --ip outside the subnet), Conflict (address or host port in use), SkiffError
    (netlink/nft failures).
    """
    svc = _service(config, db)
    out: list[Endpoint] = []
    start = len(records.endpoints(db, container_id=container_id))
    try:
        for i, req in enumerate(networks):
            out.append(_attach_one(svc, db, container_id, os.fspath(netns_path), req,
                                   f"eth{start + i}"))
        if publish:
            from skiff.network import firewall  # subprocess (nft): only when publishing

            if not out:
                raise InvalidArgument("--publish", "needs a bridge network")
            v6 = [p for p in publish if ports.is_v6(p.host_ip)]
            if v6 and not out[0].address6:
                # (Docker forwards those through its userland proxy; skiff forwards in
                # the kernel only, and NAT does not turn IPv6 into IPv4)
                raise InvalidArgument(
                    f"--publish {ports.host_text(v6[0].host_ip, v6[0].host_port or '')}:"
                    f"{v6[0].container_port}", f"an IPv6 host address needs the container "
                    f"on a network with IPv6 (network {out[0].network_name} has none: "
                    "network create --ipv6)")
            with metadata.transaction(db):
                bound = ports.allocate(db, container_id, out[0].network_id, list(publish))
            firewall.publish(container_id, [
                firewall.PortRule(b.host_ip, b.host_port, b.proto,
                                  out[0].address6 if ports.is_v6(b.host_ip) else out[0].address,
                                  b.container_port) for b in bound])
    except BaseException:
        if publish:
            from skiff.network import firewall

            with contextlib.suppress(Exception):
                firewall.unpublish(container_id)
            with contextlib.suppress(Exception), metadata.transaction(db):
                ports.release(db, container_id)
        for e in out:  # only what this call added (connect keeps the others)
            with contextlib.suppress(Exception):
                detach(config, db, container_id, e.network_id)
        raise
    return out


def _attach_one(svc, db, container_id: str, netns: str, req: EndpointRequest,
                ifname: str) -> Endpoint:
    ref = "bridge" if req.network in ("default", "bridge") else req.network
    n = svc.get(ref)
    if n.driver != "bridge":
        raise InvalidArgument(f"network {n.name}",
                              "container cannot be connected to host or none with others")
    if req.aliases and not n.user_defined:
        raise InvalidArgument("network-scoped alias is supported only for containers in "
                              "user defined networks")
    if req.ip and not n.user_defined:
        raise InvalidArgument("user specified IP address is supported on user defined "
                              "networks only")
    subnet = IPv4Network(n.subnet)
    host_veth = bridge.veth_name(n.id, container_id)
    # Record first (the veth name is derived from the pair): a crash after the veth is
    # made leaves a row that detach() finds and undoes.
    with metadata.transaction(db):
        addr = ipam.allocate(db, n.id, container_id, requested=req.ip)
        mac = req.mac or ipam.mac_for(addr)
        aliases = tuple(dict.fromkeys(a for a in (*req.aliases,) if a))
        db.execute("UPDATE network_endpoints SET data = ? WHERE network_id = ? AND "
                   "container_id = ?",
                   (json.dumps({"mac": mac, "aliases": list(aliases), "host_veth": host_veth,
                                "name": req.name, "ifname": ifname, "netns": str(netns)}),
                    n.id, container_id))
    try:
        if bridge.ensure_bridge(n.bridge, n.gateway, subnet):
            from skiff.network import firewall

            firewall.setup_network(n.bridge, n.subnet, internal=n.internal)
        bridge.plug(bridge=n.bridge, netns_path=netns, host_veth=host_veth, ifname=ifname,
                    address=str(addr), prefix_len=subnet.prefixlen,
                    gateway=None if n.internal else n.gateway, mac=mac)
        if n.subnet6:
            from skiff.network import ipv6

            ipv6.configure(netns, ifname, str(ipv6.address_for(n.subnet, str(addr), n.subnet6)),
                           int(n.subnet6.split("/")[1]), None if n.internal else n.gateway6)
        if n.user_defined:
            from skiff.network import dns

            dns.ensure(svc.config, n)
    except BaseException:
        with contextlib.suppress(Exception):
            detach(svc.config, db, container_id, n.id)
        raise
    return Endpoint(network_id=n.id, network_name=n.name, container_id=container_id,
                    address=str(addr), prefix_len=subnet.prefixlen, gateway=n.gateway,
                    mac=mac, host_veth=host_veth, ifname=ifname, aliases=aliases,
                    **_v6(n, str(addr)))


def _v6(n, address: str) -> dict:
    """Endpoint's IPv6 fields on a dual-stack network (else none)."""
    if not n.subnet6:
        return {}
    from skiff.network import ipv6

    return {"address6": str(ipv6.address_for(n.subnet, address, n.subnet6)),
            "prefix_len6": int(n.subnet6.split("/")[1]), "gateway6": n.gateway6 or ""}


def detach(config: Config, db: sqlite3.Connection, container_id: str,
           network: str | None = None, *, background: bool = False,
           with_netns: bool = False) -> list[str]:
    """Undo attach for the container (or only its endpoint on ``network``): delete the
    host veth ends, the DNAT table, the port and address records. Idempotent; returns the
    IDs of the networks it left. The first SkiffError is raised after every step ran.

    ``background``: the container's namespace is being removed too (its process is gone):
    the veth ends are deleted by a detached child (bridge.delete_links_later) instead of
    before returning — the records and rules are released at once either way.
    ``with_netns`` (implies ``background``): the caller unpins the namespace right after
    and no process holds it any more, so the veth pairs go with it — the kernel deletes
    a namespace's devices, and a veth's peer with it, once its last reference is gone
    (asynchronously, in its netns clean-up work): nothing is deleted or spawned here."""
    errors: list[BaseException] = []
    later: list[str] = []
    only = records.find(db, network).id if network else None
    if only is None and ports.bindings(db, container_id):
        # Rows are written before the rules and dropped after them: no rows, no table.
        from skiff.network import firewall

        with contextlib.suppress(SkiffError):
            firewall.unpublish(container_id)
        with metadata.transaction(db):
            ports.release(db, container_id)
    left = []
    for r in records.endpoints(db, container_id=container_id, network_id=only):
        d = json.loads(r["data"] or "{}")
        veth = d.get("host_veth") or bridge.veth_name(r["network_id"], container_id)
        if with_netns:
            pass  # (see the docstring: the kernel deletes the pair with the namespace)
        elif background:
            later.append(veth)
        else:
            try:
                bridge.delete_link(veth)
            except SkiffError as e:
                errors.append(e)
        with metadata.transaction(db):
            ipam.release(db, r["network_id"], container_id)
        left.append(r["network_id"])
        try:
            n = records.find(db, r["network_id"])
            if n.user_defined:
                from skiff.network import dns

                dns.refresh(config, n, db)
        except SkiffError as e:
            errors.append(e)
    bridge.delete_links_later(later)
    if errors:
        raise errors[0]
    return left


def endpoints(db: sqlite3.Connection, container_id: str) -> list[Endpoint]:
    """The container's endpoints in force (``NetworkSettings.Networks``), in ifname order."""
    out = []
    for r in records.endpoints(db, container_id=container_id):
        n = records.find(db, r["network_id"])
        d = json.loads(r["data"] or "{}")
        out.append(Endpoint(network_id=n.id, network_name=n.name, container_id=container_id,
                            address=r["address"], prefix_len=IPv4Network(n.subnet).prefixlen,
                            gateway=n.gateway, mac=d.get("mac", ""),
                            host_veth=d.get("host_veth", ""), ifname=d.get("ifname", "eth0"),
                            aliases=tuple(d.get("aliases") or ()), **_v6(n, r["address"])))
    return sorted(out, key=lambda e: e.ifname)


def etc_settings(db: sqlite3.Connection, eps: Sequence[Endpoint]) -> EtcSettings:
    """/etc/hosts and /etc/resolv.conf inputs: the first endpoint's IP; on a user-defined
    network its gateway as the only nameserver (skiff's resolver listens there, answering
    names and forwarding the rest to the host's resolvers)."""
    if not eps:
        return EtcSettings(None)
    ns: tuple[str, ...] = ()
    for e in eps:
        if records.find(db, e.network_id).user_defined:
            ns = (e.gateway,)
            break
    return EtcSettings(eps[0].address, ns)
