"""IPv6 on bridge networks (``network create --ipv6 [--subnet fd00::/64]``), dual stack.

A network with IPv6 keeps its IPv4 subnet (every container still gets an IPv4 address)
and gains an IPv6 subnet: the bridge holds the IPv6 gateway (the subnet's first address,
or ``--gateway``), each container's eth0 an IPv6 address and (unless ``--internal``) a
default IPv6 route via the gateway, and the firewall an ``ip6`` table beside the ``ip``
one (isolation from other skiff bridges, masquerade of the subnet going out, as dockerd
with ip6tables does for ULA subnets).

Addresses: a container's IPv6 address sits at the same offset in the IPv6 subnet as its
IPv4 address in the IPv4 subnet (10.89.0.5 on 10.89.0.0/24 → fd00::5 on fd00::/64), so
IPv4's IPAM (persisted, never handed out twice) gives the IPv6 one too, with no second
allocator. Without ``--subnet`` for IPv6, a ULA /64 is derived from the network's ID
(fdXX:XXXX:XXXX::/64, RFC 4193's random global ID), as dockerd picks from its ULA pool.

Published ports (-p) stay IPv4; the resolver answers AAAA; on the iptables backend the
same rules go into ip6tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from skiff.errors import Conflict, InvalidArgument, SkiffError

IFA_F_NODAD = 0x02


def parse_subnet(text: str) -> IPv6Network:
    """``"fd00::/64"`` → IPv6Network (host bits set: InvalidArgument, as Docker)."""
    try:
        return IPv6Network(text, strict=True)
    except ValueError as e:
        raise InvalidArgument(f"invalid subnet {text}", "not an IPv6 CIDR") from e


def is_ipv6(text: str) -> bool:
    """True when ``text`` (an address or CIDR) is IPv6."""
    return ":" in text


def ula_subnet(network_id: str) -> IPv6Network:
    """The /64 a network gets when --ipv6 names no subnet: fd + 40 bits of its ID's hash."""
    from skiff.hexdigest import sha256_hex

    h = sha256_hex(network_id)
    return IPv6Network(f"fd{h[0:2]}:{h[2:6]}:{h[6:10]}::/64")


def plan(network_id: str, subnet4: IPv4Network, subnet: str | None, gateway: str | None,
         taken: Iterable[IPv6Network]) -> tuple[IPv6Network, IPv6Address]:
    """The IPv6 subnet and gateway for a new network. Raises InvalidArgument (the subnet is
    smaller than the IPv4 one: addresses map offset for offset; a gateway outside it),
    Conflict (overlaps another network's IPv6 subnet: Docker's wording)."""
    net = parse_subnet(subnet) if subnet else ula_subnet(network_id)
    if net.num_addresses < subnet4.num_addresses:
        raise InvalidArgument(f"invalid subnet {net}",
                              f"smaller than the IPv4 subnet {subnet4} (use /64)")
    for t in taken:
        if net.overlaps(t):
            raise Conflict("invalid pool request",
                           f"Pool overlaps with other one on this address space ({t})")
    if gateway is None:
        return net, net.network_address + 1
    try:
        gw = IPv6Address(gateway)
    except ValueError as e:
        raise InvalidArgument(f"invalid gateway {gateway}", "not an IPv6 address") from e
    if gw not in net or gw == net.network_address:
        raise InvalidArgument(f"invalid gateway {gateway}",
                              f"no matching subnet for gateway {gateway}")
    return net, gw


def host_routes() -> list[IPv6Network]:
    """The host's IPv6 destinations in its main table (default, link-local and multicast
    routes left out): what a new network's IPv6 subnet must not overlap."""
    from skiff.network import bridge

    out = []
    with bridge.iproute() as ipr:
        for r in ipr.get_routes(family=10, table=254):
            dst = r.get_attr("RTA_DST")
            if dst and r["dst_len"] > 0:
                net = IPv6Network(f"{dst}/{r['dst_len']}", strict=False)
                if not (net.is_link_local or net.is_multicast):
                    out.append(net)
    return out


def address_for(subnet4: str, address4: str, subnet6: str) -> IPv6Address:
    """The container's IPv6 address: ``address4``'s offset in ``subnet4``, in ``subnet6``."""
    off = int(IPv4Address(address4)) - int(IPv4Network(subnet4).network_address)
    return IPv6Network(subnet6).network_address + off


def ensure_bridge(name: str, gateway: str, prefix_len: int) -> None:
    """The bridge's IPv6 gateway address (no DAD), and IPv6 forwarding on."""
    from skiff.network import bridge

    bridge.set_sysctl(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "0")
    with bridge.iproute() as ipr, bridge.netlink_errors(f"bridge {name}"):
        idx = bridge.link_index(ipr, name)
        if idx is None:
            raise SkiffError(f"bridge {name}", "no such interface")
        have = {(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(
            family=10, index=idx)}
        if (str(IPv6Address(gateway)), prefix_len) not in have:
            try:
                ipr.addr("add", index=idx, address=gateway, prefixlen=prefix_len,
                         family=10, flags=IFA_F_NODAD)
            except Exception as e:  # noqa: BLE001 - EEXIST from a racing process is fine
                if getattr(e, "code", None) != 17:
                    raise
    bridge.set_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1")


def configure(netns_path: str | os.PathLike[str], ifname: str, address: str,
              prefix_len: int, gateway: str | None) -> None:
    """Give ``ifname`` in the namespace its IPv6 address (no DAD: usable at once) and,
    unless ``gateway`` is None (internal), the default IPv6 route via the gateway."""
    import errno

    from skiff.network import bridge

    # (skiff.network.nl, not pyroute2: this is on the start path of dual-stack networks)
    with bridge.rtnl(netns_path) as nl, bridge.netlink_errors(f"interface {ifname}"):
        idx = nl.link_index(ifname)
        if idx is None:
            raise SkiffError(f"interface {ifname}", "not in the container")
        nl.add_addr(idx, address, prefix_len, nodad=True)
        if gateway is not None:  # the first network with one gives it (as for IPv4)
            try:
                nl.add_default_route(gateway, oif=idx)
            except OSError as e:
                if e.errno != errno.EEXIST:
                    raise


def rules(bridge: str, subnet: str, *, internal: bool) -> str:
    """The nft script (re)creating the network's ``ip6`` table (see the module docstring)."""
    from skiff.network.firewall import BRIDGE_PATTERN, _q, _recreate, network_table

    t, br = network_table(bridge), _q(bridge)
    lines = [_recreate(t).replace("table ip ", "table ip6 ").rstrip("\n"),
             f"add chain ip6 {t} forward {{ type filter hook forward priority 0; "
             "policy accept; }",
             f"add chain ip6 {t} postrouting {{ type nat hook postrouting priority 100; "
             "policy accept; }"]
    if internal:
        lines += [f"add rule ip6 {t} forward iifname {br} oifname != {br} drop",
                  f"add rule ip6 {t} forward oifname {br} iifname != {br} drop"]
    else:
        lines += [f"add rule ip6 {t} forward iifname {br} oifname != {br} "
                  f"oifname {_q(BRIDGE_PATTERN)} drop",
                  f"add rule ip6 {t} postrouting ip6 saddr {subnet} oifname != {br} "
                  "masquerade"]
    return "\n".join(lines) + "\n"


def setup_firewall(bridge: str, subnet: str, *, internal: bool) -> None:
    """Install the network's ``ip6`` table (nftables backend) or ip6tables chains."""
    from skiff.network import firewall

    if firewall.backend() == "iptables":
        from skiff.network import iptables

        return iptables.setup_network(bridge, subnet, internal=internal, family=6)
    firewall._nft(rules(bridge, subnet, internal=internal), "bridge " + bridge)


def teardown_firewall(bridge: str) -> None:
    """Delete the network's ``ip6`` table or ip6tables chains (no-op when absent)."""
    from skiff.network import firewall

    if firewall.backend() == "iptables":
        from skiff.network import iptables

        return iptables.teardown_network(bridge, family=6)
    t = firewall.network_table(bridge)
    firewall._nft(f"add table ip6 {t}\ndelete table ip6 {t}\n", "bridge " + bridge)
