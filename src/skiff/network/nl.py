"""A minimal rtnetlink client for the container start path (``skiff run``).

pyroute2 costs 350-850 ms to import (asyncio, its message classes); a container start
needs a handful of fixed requests. This module speaks NETLINK_ROUTE over a plain socket
(``_socket``/``struct`` only, well under a ms) for exactly those: look up a link, add a
bridge or a veth pair, set a link's master/namespace/name/MAC/state, delete a link, add an
IPv4 or IPv6 address or default route, list a link's IPv4 addresses and the default
routes.
Message layouts: rtnetlink(7), netlink(7), <linux/if_link.h>, <linux/veth.h>.

Errors: a kernel refusal raises NetlinkError (an OSError whose ``code``/``errno`` is the
positive errno, as pyroute2's NetlinkError); skiff.network.bridge turns it into a
SkiffError naming the interface.
"""

from __future__ import annotations

# _socket: the C module under ``socket`` (what is used here is all in it); socket.py's
# enum conversions cost ~2 ms of import on every start, for nothing this module needs
import _socket as socket
import os
import struct

NETLINK_ROUTE = 0
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 1, 4, 0x200, 0x400, 0x300
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO, IFLA_NET_NS_FD = 1, 3, 4, 10, 18, 28
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST = 1, 2, 4
IFA_F_NODAD = 0x02
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15
IFF_UP = 1
RT_TABLE_MAIN, RTPROT_BOOT, RTN_UNICAST = 254, 3, 1
NLA_F_NESTED = 0x8000

_HDR = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_IFI = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFA = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RTM = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, proto, scope, type, flags


class NetlinkError(OSError):
    """The kernel refused a request; ``code`` is the positive errno."""

    @property
    def code(self) -> int:
        return self.errno


def attr(kind: int, data: bytes) -> bytes:
    """One rtattr (type, length, payload padded to 4 bytes)."""
    n = 4 + len(data)
    return struct.pack("=HH", n, kind) + data + b"\0" * (-n % 4)


def _name(s: str) -> bytes:
    return s.encode() + b"\0"


def parse_attrs(buf: bytes) -> dict[int, bytes]:
    """rtattrs in ``buf`` → {type (nested flag cleared): payload}; the last one wins."""
    out, i = {}, 0
    while i + 4 <= len(buf):
        n, kind = struct.unpack_from("=HH", buf, i)
        if n < 4:
            break
        out[kind & ~NLA_F_NESTED] = buf[i + 4:i + n]
        i += (n + 3) & ~3
    return out


class RtNetlink:
    """A NETLINK_ROUTE socket in the namespace current at creation. Use ``with``."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                  NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RtNetlink:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request(self, kind: int, body: bytes, flags: int = 0) -> list[tuple[int, bytes]]:
        """Send one message; return the replies as (type, payload) until the ACK (or
        NLMSG_DONE for a dump). Raises NetlinkError on a negative ACK."""
        self.seq += 1
        seq = self.seq
        dump = (flags & NLM_F_DUMP) == NLM_F_DUMP
        flags |= NLM_F_REQUEST | (0 if dump else NLM_F_ACK)
        self.sock.send(_HDR.pack(_HDR.size + len(body), kind, flags, seq, 0) + body)
        out = []
        while True:
            data = self.sock.recv(1 << 16)
            i = 0
            while i + _HDR.size <= len(data):
                n, t, _f, s, _p = _HDR.unpack_from(data, i)
                payload = data[i + _HDR.size:i + n]
                i += (n + 3) & ~3
                if s != seq:
                    continue
                if t == NLMSG_DONE:
                    return out
                if t == NLMSG_ERROR:
                    (err,) = struct.unpack_from("=i", payload)
                    if err:
                        raise NetlinkError(-err, os.strerror(-err))
                    return out
                out.append((t, payload))

    # links -------------------------------------------------------------------------
    def link_index(self, name: str) -> int | None:
        """Index of interface ``name``, or None when there is none."""
        info = self.link_info(name)
        return info[0] if info else None

    def link_info(self, name: str) -> tuple[int, str | None] | None:
        """(index, IFLA_INFO_KIND or None) of interface ``name``, or None."""
        info = self.link_state(name)
        return info[:2] if info else None

    def link_state(self, name: str) -> tuple[int, str | None, bool] | None:
        """(index, IFLA_INFO_KIND or None, whether IFF_UP is set) of ``name``, or None."""
        try:
            r = self.request(RTM_GETLINK, _IFI.pack(0, 0, 0, 0, 0) + attr(IFLA_IFNAME, _name(name)))
        except NetlinkError as e:
            if e.errno == 19:  # ENODEV
                return None
            raise
        for t, p in r:
            if t == RTM_NEWLINK:
                _fam, _type, index, flags, _change = _IFI.unpack_from(p)
                li = parse_attrs(parse_attrs(p[_IFI.size:]).get(IFLA_LINKINFO, b""))
                kind = li.get(IFLA_INFO_KIND)
                return (index, kind.rstrip(b"\0").decode() if kind else None,
                        bool(flags & IFF_UP))
        return None

    def add_bridge(self, name: str, mtu: int) -> None:
        li = attr(IFLA_INFO_KIND, b"bridge")
        self.request(RTM_NEWLINK, _IFI.pack(0, 0, 0, 0, 0) + attr(IFLA_IFNAME, _name(name))
                     + attr(IFLA_MTU, struct.pack("=I", mtu))
                     + attr(IFLA_LINKINFO | NLA_F_NESTED, li), NLM_F_CREATE | NLM_F_EXCL)

    def add_veth(self, name: str, peer: str, mtu: int, *, peer_netns_fd: int | None = None,
                 peer_mac: str | None = None, master: int | None = None,
                 up: bool = False) -> None:
        """``ip link add NAME type veth peer name PEER [netns FD] [address MAC]``; the host
        end enslaved to ``master`` when given; ``up``: the host end made up (the flags of
        a new link's ifinfomsg are applied as it is configured: no ``set_link`` after; not
        the peer's: it is opened before the pair is joined, veth_open says ENOTCONN).
        Making the peer inside its namespace saves moving it there afterwards
        (dev_change_net_namespace: 20-40 ms of RCU waits)."""
        flags = IFF_UP if up else 0
        peer_msg = (_IFI.pack(0, 0, 0, 0, 0) + attr(IFLA_IFNAME, _name(peer))
                    + attr(IFLA_MTU, struct.pack("=I", mtu)))
        if peer_netns_fd is not None:
            peer_msg += attr(IFLA_NET_NS_FD, struct.pack("=I", peer_netns_fd))
        if peer_mac is not None:
            peer_msg += attr(IFLA_ADDRESS, bytes.fromhex(peer_mac.replace(":", "")))
        li = attr(IFLA_INFO_KIND, b"veth") + attr(
            IFLA_INFO_DATA | NLA_F_NESTED, attr(VETH_INFO_PEER | NLA_F_NESTED, peer_msg))
        extra = attr(IFLA_MASTER, struct.pack("=I", master)) if master is not None else b""
        self.request(RTM_NEWLINK, _IFI.pack(0, 0, 0, flags, flags)
                     + attr(IFLA_IFNAME, _name(name)) + attr(IFLA_MTU, struct.pack("=I", mtu))
                     + extra + attr(IFLA_LINKINFO | NLA_F_NESTED, li), NLM_F_CREATE | NLM_F_EXCL)

    def set_link(self, index: int, *, up: bool | None = None, master: int | None = None,
                 netns_fd: int | None = None, ifname: str | None = None,
                 mac: str | None = None) -> None:
        """Change link ``index``: state (``up`` True/False), master, namespace, name, MAC."""
        attrs = b""
        if master is not None:
            attrs += attr(IFLA_MASTER, struct.pack("=I", master))
        if netns_fd is not None:
            attrs += attr(IFLA_NET_NS_FD, struct.pack("=I", netns_fd))
        if ifname is not None:
            attrs += attr(IFLA_IFNAME, _name(ifname))
        if mac is not None:
            attrs += attr(IFLA_ADDRESS, bytes.fromhex(mac.replace(":", "")))
        flags = IFF_UP if up else 0
        change = IFF_UP if up is not None else 0
        self.request(RTM_NEWLINK, _IFI.pack(0, 0, index, flags, change) + attrs)

    def del_link(self, index: int) -> None:
        self.request(RTM_DELLINK, _IFI.pack(0, 0, index, 0, 0))

    # addresses and routes ------------------------------------------------------------
    def add_addr(self, index: int, address: str, prefixlen: int, *,
                 nodad: bool = False) -> None:
        """``ip addr add ADDRESS/PREFIXLEN dev INDEX`` (IPv4, or IPv6 when ``address``
        has a colon; ``nodad``: IPv6 without duplicate address detection, usable at once)."""
        if ":" in address:
            a = socket.inet_pton(socket.AF_INET6, address)
            self.request(RTM_NEWADDR, _IFA.pack(socket.AF_INET6, prefixlen,
                                                IFA_F_NODAD if nodad else 0, 0, index)
                         + attr(IFA_ADDRESS, a), NLM_F_CREATE | NLM_F_EXCL)
            return
        a = socket.inet_aton(address)
        self.request(RTM_NEWADDR, _IFA.pack(socket.AF_INET, prefixlen, 0, 0, index)
                     + attr(IFA_LOCAL, a) + attr(IFA_ADDRESS, a), NLM_F_CREATE | NLM_F_EXCL)

    def addrs(self, index: int) -> set[tuple[str, int]]:
        """{(address, prefixlen)} of the IPv4 addresses on link ``index``."""
        out = set()
        for t, p in self.request(RTM_GETADDR, _IFA.pack(socket.AF_INET, 0, 0, 0, 0), NLM_F_DUMP):
            if t != RTM_NEWADDR:
                continue
            _fam, plen, _fl, _sc, idx = _IFA.unpack_from(p)
            a = parse_attrs(p[_IFA.size:]).get(IFA_ADDRESS)
            if idx == index and a:
                out.add((socket.inet_ntoa(a), plen))
        return out

    def has_default_route(self) -> bool:
        """Whether the main table holds an IPv4 default route."""
        for _t, p in self.request(RTM_GETROUTE, _RTM.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0),
                                 NLM_F_DUMP):
            fields = _RTM.unpack_from(p)
            a = parse_attrs(p[_RTM.size:])
            table = struct.unpack("=I", a[RTA_TABLE])[0] if RTA_TABLE in a else fields[4]
            if fields[1] == 0 and table == RT_TABLE_MAIN:
                return True
        return False

    def add_default_route(self, gateway: str, oif: int | None = None) -> None:
        """``ip route add default via GATEWAY [dev OIF]`` (IPv6 when ``gateway`` has a
        colon); NetlinkError EEXIST when the main table has a default route of that family
        already (NLM_F_EXCL)."""
        v6 = ":" in gateway
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        gw = socket.inet_pton(fam, gateway)
        extra = attr(RTA_OIF, struct.pack("=I", oif)) if oif is not None else b""
        self.request(RTM_NEWROUTE, _RTM.pack(fam, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT,
                                             0, RTN_UNICAST, 0)
                     + attr(RTA_GATEWAY, gw) + extra, NLM_F_CREATE | NLM_F_EXCL)
