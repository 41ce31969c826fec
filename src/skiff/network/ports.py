"""Published ports: ``-p``/``-P`` parsing, host port allocation, Docker's displays.

``-p [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]`` (docker/go-connections nat.ParsePortSpec):
ranges (``8000-8001:80-81``) expand to one binding per port; a missing or empty host port
is a random one (the kernel's ephemeral range, as Docker ≥ 25 picks). ``-P`` publishes
every ``ExposedPorts`` entry of the image/container config on a random port.

Bindings are recorded in ``port_bindings`` (primary key host_ip, host_port, proto). A
host port is refused ("port is already allocated", Docker's text) when another skiff
container holds it on an overlapping address, or when a host socket is bound to it.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # (the C module: the sqlite3 package imports datetime)
import errno

from skiff.errors import Conflict, InvalidArgument
from skiff.runtime.value import value

PROTOS = ("tcp", "udp")


@value
class PortSpec:
    """A requested binding; ``host_port`` 0 = pick one; ``host_ip`` "" = every address."""

    container_port: int
    proto: str = "tcp"
    host_ip: str = ""
    host_port: int = 0


@value
class PortBinding:
    """A binding in force (host_port is never 0 here)."""

    host_ip: str
    host_port: int
    proto: str
    container_port: int

    def display_ip(self) -> str:
        return self.host_ip or "0.0.0.0"

    def host_text(self) -> str:
        """``0.0.0.0:8080``, ``[::1]:8080`` (IPv6 bracketed, as Docker prints them)."""
        return host_text(self.display_ip(), self.host_port)

    def ps_text(self) -> str:
        """``0.0.0.0:8080->80/tcp`` (a PORTS entry of ``docker ps``)."""
        return f"{self.host_text()}->{self.container_port}/{self.proto}"


def host_text(ip: str, port: int | str) -> str:
    """``IP:PORT`` with an IPv6 address in brackets."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def is_v6(host_ip: str) -> bool:
    """Whether a binding's host IP is IPv6 (``""`` is every IPv4 address)."""
    return ":" in host_ip


def _port(text: str, what: str, invalid: str = "invalid") -> tuple[int, int]:
    lo, sep, hi = text.partition("-")
    try:
        a = int(lo)
        b = int(hi) if sep else a
    except ValueError:
        raise InvalidArgument(f"{invalid} {what}: {text}") from None
    if not (0 < a <= 65535 and 0 < b <= 65535) or b < a:
        raise InvalidArgument(f"{invalid} {what}: {text}")
    return a, b


def parse_publish(spec: str) -> list[PortSpec]:
    """One ``-p`` value → its bindings. Raises InvalidArgument with Docker 20.10's wording
    (go-connections nat.ParsePortSpec as docker/cli 20.10 vendors it: ``Invalid
    containerPort: x``, ``Invalid hostPort: x``, ``Invalid ip address: x``, ``Invalid
    proto: x``, ``No port specified: ...``).

    The host IP is what precedes the last two ``:``-separated parts, as go-connections
    splits it, so IPv6 host addresses work bracketed (``[::1]:8080:80``, ``[::1]::80``)
    or not (``::1:8080:80``); it is recorded without brackets, ``0.0.0.0`` as "" (every
    IPv4 address) and ``::`` as is (every IPv6 address)."""
    import ipaddress

    rest, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOS:
        raise InvalidArgument(f"Invalid proto: {proto}")
    parts = rest.split(":")
    ctr, host, ip = parts[-1], parts[-2] if len(parts) > 1 else "", ":".join(parts[:-2])
    if ip.startswith("["):
        if not ip.endswith("]"):
            raise InvalidArgument(f"Invalid ip address {ip}",
                                  f"address {ip}:: missing ']' in address")
        ip = ip[1:-1]
    if ip:
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            raise InvalidArgument(f"Invalid ip address: {ip}") from None
        if ip == "0.0.0.0":
            ip = ""
        if ip == "::1":
            # Docker serves it from its userland proxy; a packet from ::1 never leaves the
            # loopback device, and IPv6 has no route_localnet to DNAT it to a container
            raise InvalidArgument(f"--publish {spec}", "the IPv6 loopback cannot be forwarded "
                                  "to a container by the kernel: publish on [::] or an IPv6 "
                                  "address of the host")
    if not ctr:
        raise InvalidArgument(f"No port specified: {spec}<empty>")
    c0, c1 = _port(ctr, "containerPort", "Invalid")
    if host:
        h0, h1 = _port(host, "hostPort", "Invalid")
        if h1 - h0 != c1 - c0:
            if c0 != c1:
                raise InvalidArgument(f"Invalid ranges specified for container and host Ports: "
                                      f"{ctr} and {host}")
            # Docker: one container port on a range of host ports = the first free of them;
            # skiff takes the first.
            h1 = h0
    else:
        h0 = h1 = 0
    out = []
    for i in range(c1 - c0 + 1):
        out.append(PortSpec(c0 + i, proto, ip, (h0 + i) if h0 else 0))
    return out


def parse_exposed(exposed: dict | list | None) -> list[PortSpec]:
    """``-P``: every ``"80/tcp"`` key of ExposedPorts on a random host port."""
    out = []
    for key in sorted(exposed or {}):
        port, _, proto = str(key).partition("/")
        c0, c1 = _port(port, "containerPort")
        for p in range(c0, c1 + 1):
            out.append(PortSpec(p, (proto or "tcp").lower()))
    return out


def _socket(ip: str, proto: str):
    import socket  # (only when publishing: not on every start)

    s = socket.socket(socket.AF_INET6 if is_v6(ip) else socket.AF_INET,
                      socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    if is_v6(ip):  # [::] is every IPv6 address only, as Docker's binding of it
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    return s


def _host_port_free(ip: str, port: int, proto: str) -> bool:
    import socket

    s = _socket(ip, proto)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ip or "0.0.0.0", port))
    except OSError as e:
        if e.errno in (errno.EADDRINUSE, errno.EACCES):
            return False
        if e.errno == errno.EADDRNOTAVAIL:
            raise InvalidArgument(f"invalid host IP {ip}", "not an address of this host") from e
        raise
    finally:
        s.close()
    return True


def _ephemeral(ip: str, proto: str) -> int:
    s = _socket(ip, proto)
    try:
        s.bind((ip or "0.0.0.0", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _overlap(a: str, b: str) -> bool:
    """Whether two host IPs of bindings share an address: the same one, or either is the
    wildcard of the other's family ("" for IPv4, ``::`` for IPv6)."""
    if is_v6(a) != is_v6(b):
        return False
    return a == b or (a in ("", "::")) or (b in ("", "::"))


def _taken(db: sqlite3.Connection, ip: str, port: int, proto: str) -> bool:
    return any(_overlap(ip, r[0]) for r in db.execute(
        "SELECT host_ip FROM port_bindings WHERE host_port = ? AND proto = ?", (port, proto)))


def allocate(db: sqlite3.Connection, container_id: str, network_id: str,
             specs: list[PortSpec]) -> list[PortBinding]:
    """Reserve host ports for ``specs`` and record them (call inside a transaction: all or
    none). Raises Conflict ``Bind for IP:PORT failed: port is already allocated``."""
    out: list[PortBinding] = []
    for s in specs:
        if s.host_port:
            port = s.host_port
            dup = any(b.host_port == port and b.proto == s.proto and
                      _overlap(b.host_ip, s.host_ip) for b in out)
            if dup or _taken(db, s.host_ip, port, s.proto) or \
                    not _host_port_free(s.host_ip, port, s.proto):
                raise Conflict("driver failed programming external connectivity on endpoint "
                               + container_id[:12],
                               f"Bind for {host_text(s.host_ip or '0.0.0.0', port)} failed: "
                               "port is already allocated")
        else:
            for _ in range(64):
                port = _ephemeral(s.host_ip, s.proto)
                if not _taken(db, s.host_ip, port, s.proto) and \
                        all(b.host_port != port for b in out):
                    break
            else:
                raise Conflict("port allocation", "no free host port in the ephemeral range")
        b = PortBinding(s.host_ip, port, s.proto, s.container_port)
        db.execute("INSERT INTO port_bindings (host_ip, host_port, proto, container_id, "
                   "container_port, network_id) VALUES (?, ?, ?, ?, ?, ?)",
                   (b.host_ip, b.host_port, b.proto, container_id, b.container_port, network_id))
        out.append(b)
    return out


def bindings(db: sqlite3.Connection, container_id: str) -> list[PortBinding]:
    """The container's bindings in force, by container port."""
    rows = db.execute("SELECT * FROM port_bindings WHERE container_id = ? "
                      "ORDER BY container_port, proto, host_ip", (container_id,)).fetchall()
    return [PortBinding(r["host_ip"], r["host_port"], r["proto"], r["container_port"])
            for r in rows]


def release(db: sqlite3.Connection, container_id: str) -> int:
    """Forget the container's bindings; return how many there were."""
    return db.execute("DELETE FROM port_bindings WHERE container_id = ?",
                      (container_id,)).rowcount


def docker_ports(bound: list[PortBinding], exposed: list[str] = ()) -> dict:
    """``NetworkSettings.Ports``: ``{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
    "443/tcp": None}`` (exposed but unpublished ports map to None)."""
    out: dict = {k: None for k in exposed}
    for b in bound:
        out.setdefault(f"{b.container_port}/{b.proto}", None)
        key = f"{b.container_port}/{b.proto}"
        out[key] = (out[key] or []) + [{"HostIp": b.display_ip(), "HostPort": str(b.host_port)}]
    return out


def port_lines(bound: list[PortBinding], private: str | None = None,
               owner: str = "the container") -> list[str]:
    """``docker port`` lines: ``80/tcp -> 0.0.0.0:8080`` (or just ``0.0.0.0:8080`` when one
    PRIVATE_PORT[/PROTO] was asked for). Raises NotFound when that port is not published."""
    from skiff.errors import NotFound

    if private is None:
        return [f"{b.container_port}/{b.proto} -> {b.host_text()}" for b in bound]
    port, _, proto = private.partition("/")
    proto = proto or "tcp"
    hits = [b.host_text() for b in bound
            if str(b.container_port) == port and b.proto == proto]
    if not hits:
        raise NotFound(f"No public port '{port}/{proto}' published for {owner}")
    return hits
