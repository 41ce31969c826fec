"""NetworkService: ``network create/ls/inspect/rm/prune`` over the metadata DB.

Docker's three predefined networks are recorded on first use: ``bridge`` (skiff's default
bridge: device ``$SKIFF_BRIDGE`` or ``skiff0``, subnet ``$SKIFF_BRIDGE_SUBNET`` or
10.88.0.0/16 — read when first recorded, then persisted), ``host`` and ``none``. A bridge
device and its firewall table come into being when the network is created (user-defined)
or first used (the default bridge) and go away on ``rm`` (``reset`` removes them all).
Connecting containers is skiff.network.attach's job (it needs the container's netns).
"""

from __future__ import annotations

import os
import time
from ipaddress import IPv4Network

from skiff import metadata
from skiff.config import Config
from skiff.errors import Conflict, InvalidArgument, NotFound, SkiffError
from skiff.metadata import sqlite3  # (the C module: the sqlite3 package imports datetime)
from skiff.network import ipam, records
from skiff.network.records import Network

DEFAULT_BRIDGE = "skiff0"
DEFAULT_SUBNET = "10.88.0.0/16"
DRIVERS = {"bridge": "bridge", "host": "host", "null": "null"}


def bridge_name(network_id: str) -> str:
    """A user-defined network's bridge device: ``sk-`` + 12 hex (15 chars, IFNAMSIZ-1)."""
    return "sk-" + network_id[:12]


class NetworkService:
    """Networks of one store root.

    Args:
        config (Config): the engine configuration (root).
        db (sqlite3.Connection): the metadata database (migration 5 applied).
    """

    def __init__(self, config: Config, db: sqlite3.Connection):
        self.config = config
        self.db = db
        self._ensure_predefined()

    # ----------------------------------------------------------------- predefined networks
    def _ensure_predefined(self) -> None:
        have = {r[0] for r in self.db.execute(
            "SELECT name FROM networks WHERE name IN ('bridge', 'host', 'none')")}
        if len(have) == 3:
            return
        with metadata.transaction(self.db):
            have = {r[0] for r in self.db.execute(
                "SELECT name FROM networks WHERE name IN ('bridge', 'host', 'none')")}
            now = time.time()
            if "bridge" not in have:
                subnet = ipam.parse_subnet(os.environ.get("SKIFF_BRIDGE_SUBNET") or DEFAULT_SUBNET)
                records.insert(self.db, Network(
                    id=os.urandom(32).hex(), name="bridge", driver="bridge", created=now,
                    subnet=str(subnet), gateway=str(ipam.gateway_for(subnet)),
                    bridge=os.environ.get("SKIFF_BRIDGE") or DEFAULT_BRIDGE,
                    options={"com.docker.network.bridge.default_bridge": "true",
                             "com.docker.network.bridge.name":
                                 os.environ.get("SKIFF_BRIDGE") or DEFAULT_BRIDGE}))
            if "host" not in have:
                records.insert(self.db, Network(id=os.urandom(32).hex(), name="host",
                                                driver="host", created=now))
            if "none" not in have:
                records.insert(self.db, Network(id=os.urandom(32).hex(), name="none",
                                                driver="null", created=now))

    # ----------------------------------------------------------------------------- verbs
    def get(self, ref: str) -> Network:
        """By name, ID or unique ID prefix; NotFound ``network REF not found``."""
        return records.find(self.db, ref)

    def list(self) -> list[Network]:
        """Every network, sorted by name (``docker network ls`` order)."""
        return sorted(records.all_networks(self.db), key=lambda n: n.name)

    def create(self, name: str, *, driver: str = "bridge", subnet: str | None = None,
               gateway: str | None = None, internal: bool = False,
               labels: dict | None = None, options: dict | None = None,
               ipv6: bool = False, subnet6: str | None = None,
               gateway6: str | None = None) -> Network:
        """Record a bridge network and bring up its bridge and firewall table.

        ``ipv6``: dual stack (skiff.network.ipv6): ``subnet6``/``gateway6`` or a ULA /64.

        Raises InvalidArgument (bad name/driver/subnet/gateway), Conflict (``network with
        name NAME already exists``; a subnet overlapping another network or a host route),
        SkiffError from netlink/nft (nothing is left behind).
        """
        from skiff.network import bridge, firewall

        _check_name(name)
        if driver not in ("bridge",):
            if driver in ("host", "null"):
                raise Conflict(f"only one instance of \"{driver}\" network is allowed")
            raise NotFound(f"plugin \"{driver}\" not found")
        if gateway and not subnet:
            raise InvalidArgument("invalid gateway", "a gateway needs --subnet")
        nid = os.urandom(32).hex()
        br = bridge_name(nid)
        with metadata.transaction(self.db):
            if self.db.execute("SELECT 1 FROM networks WHERE name = ?", (name,)).fetchone():
                raise Conflict(f"network with name {name} already exists")
            taken = [IPv4Network(r[0]) for r in self.db.execute(
                "SELECT subnet FROM networks WHERE subnet IS NOT NULL")]
            taken += bridge.host_routes()
            if subnet:
                net = ipam.parse_subnet(subnet)
                ipam.check_overlap(net, taken)
            else:
                net = ipam.pick_subnet(taken)
            gw = ipam.gateway_for(net, gateway)
            net6 = gw6 = None
            if ipv6:
                from skiff.network import ipv6 as v6

                taken6 = [v6.parse_subnet(n.subnet6) for n in records.all_networks(self.db)
                          if n.subnet6]
                taken6 += v6.host_routes()
                net6, gw6 = v6.plan(nid, net, subnet6, gateway6, taken6)
            n = Network(id=nid, name=name, driver=driver, created=time.time(), subnet=str(net),
                        gateway=str(gw), bridge=br, internal=internal, labels=labels or {},
                        options=options or {}, subnet6=str(net6) if net6 else None,
                        gateway6=str(gw6) if gw6 else None)
            records.insert(self.db, n)
            # Devices inside the transaction: a failure rolls the row back with them.
            try:
                bridge.ensure_bridge(br, str(gw), net)
                if net6 is not None:
                    v6.setup_firewall(br, str(net6), internal=internal)
                    v6.ensure_bridge(br, str(gw6), net6.prefixlen)
                firewall.setup_network(br, str(net), internal=internal)
            except BaseException:
                _teardown(n)
                raise
        return n

    def remove(self, ref: str) -> Network:
        """Delete a user-defined network, its bridge and its firewall table.

        Raises NotFound, Conflict (``network NAME id ID has active endpoints``, or a
        predefined network: ``bridge is a pre-defined network and cannot be removed``).
        """
        from skiff.network import dns

        n = self.get(ref)
        if not n.user_defined:
            raise Conflict(f"{n.name} is a pre-defined network and cannot be removed")
        with metadata.transaction(self.db):
            if records.endpoints(self.db, network_id=n.id):
                raise Conflict("error while removing network",
                               f"network {n.name} id {n.id} has active endpoints")
            self.db.execute("DELETE FROM networks WHERE id = ?", (n.id,))
            dns.stop(self.config, n.id)
            _teardown(n)
        return n

    def prune(self, keep=None) -> list[str]:
        """Remove every user-defined network no container is attached to; their names.
        ``keep`` (optional): a predicate on the Network sparing those it accepts (``network
        prune --filter``)."""
        gone = []
        for n in self.list():
            if keep is not None and keep(n):
                continue
            if n.user_defined and not records.endpoints(self.db, network_id=n.id):
                try:
                    self.remove(n.id)
                except Conflict:
                    continue
                gone.append(n.name)
        return gone

    def reset(self) -> None:
        """Delete every bridge device and firewall table this root made (``system reset``
        and tests); records of user-defined networks are removed, endpoints must be gone."""
        if self.db.execute("SELECT 1 FROM network_endpoints").fetchone():
            raise Conflict("network reset", "containers are still attached")
        from skiff.network import dns

        for n in records.all_networks(self.db):
            dns.stop(self.config, n.id)
            if n.driver == "bridge":
                _teardown(n)
        with metadata.transaction(self.db):
            self.db.execute("DELETE FROM networks WHERE name NOT IN ('bridge', 'host', 'none')")

    def inspect(self, ref: str) -> dict:
        """``docker network inspect``'s object for one network."""
        from skiff.format.humanize import format_rfc3339_ns

        n = self.get(ref)
        containers = {}
        names = {}
        try:
            names = {r[0]: r[1] for r in self.db.execute("SELECT id, name FROM containers")}
        except sqlite3.Error:
            pass
        for r in records.endpoints(self.db, network_id=n.id):
            import json

            d = json.loads(r["data"] or "{}")
            prefix = IPv4Network(n.subnet).prefixlen if n.subnet else 32
            containers[r["container_id"]] = {
                "Name": names.get(r["container_id"], d.get("name", "")),
                "EndpointID": records.endpoint_id(n.id, r["container_id"]),
                "MacAddress": d.get("mac", ""),
                "IPv4Address": f"{r['address']}/{prefix}", "IPv6Address": ""}
            if n.subnet6:
                from skiff.network import ipv6

                containers[r["container_id"]]["IPv6Address"] = (
                    f"{ipv6.address_for(n.subnet, r['address'], n.subnet6)}/"
                    f"{n.subnet6.split('/')[1]}")
        ipam_cfg = [{"Subnet": n.subnet, "Gateway": n.gateway}] if n.subnet else []
        if n.subnet6:
            ipam_cfg.append({"Subnet": n.subnet6, "Gateway": n.gateway6})
        return {
            "Name": n.name, "Id": n.id, "Created": format_rfc3339_ns(int(n.created * 1e9)),
            "Scope": "local", "Driver": n.driver, "EnableIPv6": bool(n.subnet6),
            "IPAM": {"Driver": "default", "Options": None if not n.user_defined else {},
                     "Config": ipam_cfg},
            "Internal": n.internal, "Attachable": False, "Ingress": False,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
            "Containers": dict(sorted(containers.items())),
            # (Go maps: encoding/json writes their keys sorted)
            "Options": dict(sorted(dict(n.options).items())),
            "Labels": dict(sorted(dict(n.labels).items())),
        }


def _check_name(name: str) -> None:
    import re

    if not name or not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", name):
        raise InvalidArgument(f"invalid network name {name!r}",
                              "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")
    if name in records.PREDEFINED:
        raise Conflict(f"network with name {name} already exists")


def _teardown(n: Network) -> None:
    """Bridge device, firewall table and DNS server of ``n``, each ignored when absent."""
    from skiff.network import bridge, firewall

    errs = []
    def v6() -> None:
        from skiff.network import ipv6

        ipv6.teardown_firewall(n.bridge)

    for step in (lambda: firewall.teardown_network(n.bridge) if n.bridge else None,
                 lambda: v6() if n.bridge and n.subnet6 else None,
                 lambda: bridge.delete_link(n.bridge) if n.bridge else None):
        try:
            step()
        except SkiffError as e:
            errs.append(e)
    if n.bridge:  # the shared bridge's host-wide claims directory, when no claim is left
        try:
            os.rmdir(f"{ipam.CLAIMS_DIR}/{n.bridge}")
        except OSError:
            pass
    if errs:
        raise errs[0]
