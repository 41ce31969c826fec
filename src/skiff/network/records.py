"""Network rows in the metadata DB (migration 5) and the value types built from them.

Tables (skiff/metadata.py ``_m5_networks``):

    networks(id, name UNIQUE, driver, created, subnet, gateway, bridge, internal, last_ip,
             data JSON {labels, options, ipv6?: {subnet, gateway}})
    network_endpoints(network_id, container_id, address, created, data JSON {mac, aliases,
             host_veth, name, ifname}) — PRIMARY KEY (network_id, container_id),
             UNIQUE (network_id, address)
    port_bindings(host_ip, host_port, proto, container_id, container_port, network_id)
             — PRIMARY KEY (host_ip, host_port, proto)
"""

from __future__ import annotations

from skiff import jsonio as json  # (json.loads/dumps without importing re)
from skiff.errors import InvalidArgument, NotFound
from skiff.hexdigest import sha256_hex
from skiff.metadata import sqlite3  # (the C module: the sqlite3 package imports datetime)
from skiff.runtime.value import factory, value

# Docker's three predefined networks; "bridge" is skiff's default bridge (skiff0).
PREDEFINED = ("bridge", "host", "none")


@value
class Network:
    """One network as stored. ``subnet``/``gateway``/``bridge`` are None for host/none."""

    id: str
    name: str
    driver: str
    created: float
    subnet: str | None = None
    gateway: str | None = None
    bridge: str | None = None
    internal: bool = False
    labels: dict = factory(dict)
    options: dict = factory(dict)
    subnet6: str | None = None  # IPv6 (network create --ipv6): skiff.network.ipv6
    gateway6: str | None = None

    @property
    def user_defined(self) -> bool:
        """True for networks made by ``network create`` (they get name resolution)."""
        return self.name not in PREDEFINED


@value
class Endpoint:
    """A container's attachment to a network (what ``attach`` returns).

    ``address`` is IPv4 without prefix; ``prefix_len`` the subnet's; ``host_veth`` the host
    end's interface name; ``aliases`` the names it resolves under (user-defined networks).
    """

    network_id: str
    network_name: str
    container_id: str
    address: str
    prefix_len: int
    gateway: str
    mac: str
    host_veth: str
    ifname: str = "eth0"
    aliases: tuple[str, ...] = ()
    address6: str = ""  # on IPv6 networks: address, prefix length, gateway
    prefix_len6: int = 0
    gateway6: str = ""

    def to_docker(self) -> dict:
        """The ``NetworkSettings.Networks[name]`` entry of ``docker inspect``."""
        return {
            "IPAMConfig": None, "Links": None, "Aliases": list(self.aliases) or None,
            "MacAddress": self.mac, "NetworkID": self.network_id,
            "EndpointID": endpoint_id(self.network_id, self.container_id),
            "Gateway": self.gateway, "IPAddress": self.address,
            "IPPrefixLen": self.prefix_len, "IPv6Gateway": self.gateway6,
            "GlobalIPv6Address": self.address6, "GlobalIPv6PrefixLen": self.prefix_len6,
            "DriverOpts": None, "DNSNames": None,
        }


def endpoint_id(network_id: str, container_id: str) -> str:
    """A stable 64-hex endpoint ID derived from the pair (Docker's are random)."""
    return sha256_hex(f"{network_id}/{container_id}")


def from_row(r: sqlite3.Row) -> Network:
    data = json.loads(r["data"] or "{}")
    return Network(id=r["id"], name=r["name"], driver=r["driver"], created=r["created"],
                   subnet=r["subnet"], gateway=r["gateway"], bridge=r["bridge"],
                   internal=bool(r["internal"]), labels=data.get("labels") or {},
                   options=data.get("options") or {},
                   subnet6=(data.get("ipv6") or {}).get("subnet"),
                   gateway6=(data.get("ipv6") or {}).get("gateway"))


def insert(db: sqlite3.Connection, n: Network) -> None:
    """Record ``n`` (inside the caller's transaction). IntegrityError on a taken name/ID."""
    db.execute("INSERT INTO networks (id, name, driver, created, subnet, gateway, bridge, "
               "internal, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (n.id, n.name, n.driver, n.created, n.subnet, n.gateway, n.bridge,
                int(n.internal), json.dumps({"labels": n.labels, "options": n.options,
                                             **({"ipv6": {"subnet": n.subnet6,
                                                          "gateway": n.gateway6}}
                                                if n.subnet6 else {})})))


def all_networks(db: sqlite3.Connection) -> list[Network]:
    """Every network, ordered by creation time."""
    return [from_row(r) for r in db.execute("SELECT * FROM networks ORDER BY created, name")]


def find(db: sqlite3.Connection, ref: str) -> Network:
    """A network by exact name, full ID, or unique ID prefix (Docker's lookup order).

    Raises NotFound (``network NAME not found``) or InvalidArgument when a prefix is ambiguous.
    """
    r = db.execute("SELECT * FROM networks WHERE name = ? OR id = ?", (ref, ref)).fetchone()
    if r is not None:
        return from_row(r)
    if ref and all(c in "0123456789abcdef" for c in ref):
        rows = db.execute("SELECT * FROM networks WHERE id LIKE ?", (ref + "%",)).fetchall()
        if len(rows) == 1:
            return from_row(rows[0])
        if len(rows) > 1:
            raise InvalidArgument(f"network {ref} is ambiguous", f"{len(rows)} matches found")
    raise NotFound(f"network {ref} not found")


def endpoints(db: sqlite3.Connection, *, network_id: str | None = None,
              container_id: str | None = None) -> list[sqlite3.Row]:
    """Endpoint rows filtered by network and/or container (data still JSON text)."""
    q, args = "SELECT * FROM network_endpoints WHERE 1=1", []
    if network_id:
        q += " AND network_id = ?"
        args.append(network_id)
    if container_id:
        q += " AND container_id = ?"
        args.append(container_id)
    return db.execute(q + " ORDER BY created", args).fetchall()
