"""What skiff.runtime calls around a container's life (the record-level side of attach).

The container record (Docker's shapes) carries the network choices:

* ``HostConfig.NetworkMode``: ``default``/``bridge``, a user network's name, ``none``,
  ``host``; ``HostConfig.PortBindings`` (``{"80/tcp": [{"HostIp": "", "HostPort": ""}]}``)
  and ``HostConfig.PublishAllPorts`` (``-P``: every ``Config.ExposedPorts``);
* ``NetworkSettings.Networks[name]``: ``IPAMConfig.IPv4Address`` (``--ip``), ``Aliases``
  (``--network-alias``), ``MacAddress`` (``--mac-address``), as dockerd stores them.

``create_settings`` fills those at create; ``start`` (before the OCI config is written)
makes the namespace, attaches it, records addresses and ports in ``NetworkSettings``
and returns what the spec and /etc files need; ``release`` undoes it (idempotent).
"""

from __future__ import annotations

import os

from skiff.config import Config
from skiff.errors import InvalidArgument
from skiff.metadata import sqlite3  # (the C module: the sqlite3 package imports datetime)
from skiff.runtime.value import value

BUILTIN = ("host", "none")


def uses_bridge(mode: str | None) -> bool:
    """True for modes that get a netns from skiff (default/bridge/user networks)."""
    m = mode or "default"
    return m not in BUILTIN and not m.startswith("container:")


def check_mode(config: Config, db: sqlite3.Connection, mode: str, *, ip: str = "",
               aliases: tuple[str, ...] = (), hostname: str | None = "",
               dns: tuple[str, ...] = (), extra_hosts: tuple[str, ...] = (),
               publish: bool = False, expose: tuple[str, ...] = (), mac: str = "") -> str:
    """Validate ``--network`` (and ``--ip``/``--network-alias``) at create, as dockerd
    does: NotFound for an unknown network; InvalidArgument for --ip/aliases outside
    user-defined networks. Returns the mode to record: ``container:NAME`` becomes
    ``container:<full ID>`` (dockerd's form); ContainerNotFound when there is none.

    ``container:`` refuses what would give the container a network identity of its own,
    with dockerd's messages (runconfig's validateNetContainerMode, in its order):
    ``hostname``, ``dns``, ``extra_hosts`` (--add-host), ``mac``, ``publish`` (-p/-P),
    ``expose`` (--expose)."""
    if mode.startswith("container:"):
        return _check_container_mode(db, mode, hostname=hostname, dns=dns,
                                     extra_hosts=extra_hosts, mac=mac, publish=publish,
                                     expose=expose, ip=ip, aliases=aliases)
    if ip and (mode in ("default", "bridge") or not uses_bridge(mode)):
        raise InvalidArgument("user specified IP address is supported on user defined "
                              "networks only")
    if aliases and (mode in ("default", "bridge") or not uses_bridge(mode)):
        raise InvalidArgument("network-scoped alias is supported only for containers in "
                              "user defined networks")
    if uses_bridge(mode) and mode not in ("default", "bridge"):
        from skiff.network.service import NetworkService

        n = NetworkService(config, db).get(mode)
        if n.driver != "bridge":
            return n.name
    return mode


def _check_container_mode(db: sqlite3.Connection, mode: str, *, hostname, dns, extra_hosts,
                          mac, publish, expose, ip, aliases) -> str:
    from skiff.runtime import records as crec

    ref = mode.partition(":")[2]
    if not ref:
        raise InvalidArgument("Invalid network mode: invalid container format "
                              "container:<name|id>")
    for bad, what in ((hostname, "hostname"), (dns, "dns"),
                      (extra_hosts, "custom host-to-IP mapping"), (mac, "mac-address")):
        if bad:
            raise InvalidArgument(f"conflicting options: {what} and the network mode")
    if publish:
        raise InvalidArgument("conflicting options: port publishing and the container type "
                              "network mode")
    if expose:
        raise InvalidArgument("conflicting options: port exposing and the container type "
                              "network mode")
    if ip:
        raise InvalidArgument("user specified IP address is supported on user defined "
                              "networks only")
    if aliases:
        raise InvalidArgument("network-scoped alias is supported only for containers in "
                              "user defined networks")
    return "container:" + crec.lookup(db, ref)["Id"]


def port_bindings(publish: tuple[str, ...] | list[str]) -> dict:
    """``-p`` values → ``HostConfig.PortBindings`` (Docker's shape). InvalidArgument."""
    from skiff.network import ports

    out: dict = {}
    for spec in publish:
        for s in ports.parse_publish(spec):
            out.setdefault(f"{s.container_port}/{s.proto}", []).append(
                {"HostIp": s.host_ip, "HostPort": str(s.host_port) if s.host_port else ""})
    return out


def create_settings(mode: str, *, ip: str = "", aliases: tuple[str, ...] = (),
                    mac: str = "") -> dict:
    """``NetworkSettings`` for a new record: the requested endpoint settings under the
    network's name (``bridge`` for the default), no addresses yet."""
    nets = {}
    if not mode.startswith("container:"):  # a joined namespace has no endpoint of its own
        name = "bridge" if mode in ("default", "bridge") else mode
        nets[name] = endpoint_settings(ip=ip, aliases=aliases, mac=mac)
    return {"Networks": nets, "Ports": {}, "SandboxKey": "", "IPAddress": "", "Gateway": "",
            "MacAddress": ""}


def endpoint_settings(*, ip: str = "", aliases: tuple[str, ...] = (), mac: str = "") -> dict:
    """``NetworkSettings.Networks[name]`` before the container is attached (dockerd's
    EndpointSettings with only the requested IPAMConfig/Aliases/MacAddress)."""
    return {"IPAMConfig": {"IPv4Address": ip} if ip else None, "Links": None,
            "Aliases": list(aliases) or None, "MacAddress": mac, "NetworkID": "",
            "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
            "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
            "DriverOpts": None, "DNSNames": None}


@value
class Started:
    """What the spec and /etc files need: the netns path (``"host"`` for a container
    joining a host-network one), the container's IP (for /etc/hosts) and nameservers (a
    user-defined network's resolver; () = the host's). For ``--network container:X``:
    ``hostname`` (X's, which the container takes, as dockerd) and ``etc``: (destination,
    source) pairs of X's /etc/hosts, /etc/resolv.conf and /etc/hostname files, which the
    container shares (bind mounts of the same files)."""

    netns: str
    ip: str | None
    nameservers: tuple[str, ...]
    hostname: str = ""
    etc: tuple[tuple[str, str], ...] = ()

    def etc_mounts(self, mounts: list[dict]) -> list[dict]:
        """``mounts`` (etcfiles.write's) with the sources replaced by the shared files."""
        shared = dict(self.etc)
        return [{**m, "source": shared[m["destination"]]} if m["destination"] in shared
                else m for m in mounts]


def uses_netns(mode: str | None) -> bool:
    """True for modes that :func:`start` serves (bridge networks and ``container:``)."""
    return uses_bridge(mode) or (mode or "").startswith("container:")


def join(config: Config, db: sqlite3.Connection, rec: dict) -> Started:
    """``--network container:X`` at start: X's network namespace (its pinned netns, else
    its process's), hostname and /etc files, as dockerd's initializeNetworking does.
    Raises ContainerNotFound when X is gone, Conflict (dockerd 20.10's
    getNetworkedContainer: ``cannot join network of a non running container: <X's ID as
    recorded>``) when it is not running."""
    from skiff.errors import Conflict
    from skiff.network import attach as net
    from skiff.runtime.containers import ContainerService

    ref = rec["HostConfig"]["NetworkMode"].partition(":")[2]
    other = ContainerService(config, db).get(ref)
    state = other.get("State") or {}
    pid = int(state.get("Pid") or 0)
    if not state.get("Running") or pid <= 0:
        raise Conflict("cannot join network of a non running container", ref)
    omode = (other.get("HostConfig") or {}).get("NetworkMode") or "default"
    if omode == "host":
        netns = "host"
    elif uses_bridge(omode) and os.path.exists(net.sandbox_path(other["Id"])):
        netns = str(net.sandbox_path(other["Id"]))
    else:
        netns = f"/proc/{pid}/ns/net"
    etc = tuple((f"/etc/{name}", other[key]) for name, key in (
        ("resolv.conf", "ResolvConfPath"), ("hostname", "HostnamePath"),
        ("hosts", "HostsPath")) if other.get(key) and os.path.exists(other[key]))
    return Started(netns, None, (), hostname=other["Config"].get("Hostname") or "", etc=etc)


def start(config: Config, db: sqlite3.Connection, rec: dict,
          userns: str | None = None) -> Started:
    """Make the container's netns and attach it per its record; record the result in
    ``NetworkSettings``. All or nothing (on error nothing is left). Raises what
    skiff.network.attach.attach raises. ``userns``: the container's pinned user namespace,
    to own the netns (skiff.runtime.userns)."""
    from skiff.network import attach as net
    from skiff.network import ports
    from skiff.runtime import records as crec

    cid = rec["Id"]
    hc, cfg = rec["HostConfig"], rec["Config"]
    mode = hc.get("NetworkMode") or "default"
    if mode.startswith("container:"):
        return join(config, db, rec)
    name = (rec.get("Name") or "").lstrip("/")
    settings = (rec.get("NetworkSettings") or {}).get("Networks") or {}
    reqs = []
    key = "bridge" if mode in ("default", "bridge") else mode
    # the mode's network first (eth0), then those `network connect` added (dockerd keeps
    # them in NetworkSettings.Networks and attaches them at every start)
    for net_name in sorted(settings, key=lambda k: k != key):
        es = settings.get(net_name) or {}
        ipam = es.get("IPAMConfig") or {}
        reqs.append(net.EndpointRequest(net_name, ip=ipam.get("IPv4Address") or None,
                                        aliases=tuple(es.get("Aliases") or ()),
                                        mac=es.get("MacAddress") or None, name=name))
    publish = []
    for k, binds in sorted((hc.get("PortBindings") or {}).items()):
        port, _, proto = k.partition("/")
        for b in binds or [{}]:
            publish.append(ports.PortSpec(int(port), proto or "tcp", b.get("HostIp") or "",
                                          int(b.get("HostPort") or 0)))
    if hc.get("PublishAllPorts"):
        have = {(p.container_port, p.proto) for p in publish}
        publish += [p for p in ports.parse_exposed(cfg.get("ExposedPorts"))
                    if (p.container_port, p.proto) not in have]
    # Leftovers of a run that crashed (a monitor killed before its release) go first,
    # and build steps' sandboxes whose build was killed.
    from skiff.network import sweep_sandboxes

    sweep_sandboxes(config, db)
    net.detach(config, db, cid)
    net.remove_sandbox(cid)
    path = net.create_sandbox(cid, userns) if userns else net.create_sandbox(cid)
    try:
        eps = net.attach(config, db, cid, path, reqs, publish=publish)
        etc = net.etc_settings(db, eps)
        bound = ports.bindings(db, cid)

        def fill(r: dict) -> None:
            ns = r.setdefault("NetworkSettings", {})
            nets = ns.setdefault("Networks", {})
            for e in eps:
                d = e.to_docker()
                old = nets.get(e.network_name) or {}
                d["IPAMConfig"] = old.get("IPAMConfig")
                nets[e.network_name] = d
            ns["Ports"] = ports.docker_ports(bound, sorted(cfg.get("ExposedPorts") or {}))
            ns["SandboxKey"] = str(path)
            if eps and eps[0].network_name == "bridge":
                ns.update(IPAddress=eps[0].address, Gateway=eps[0].gateway,
                          MacAddress=eps[0].mac, IPPrefixLen=eps[0].prefix_len)
        crec.update(db, cid, fill)
    except BaseException:
        release(config, db, cid)
        raise
    return Started(str(path), etc.ip, etc.nameservers)


def release(config: Config, db: sqlite3.Connection, cid: str) -> None:
    """Detach, unpin the netns and clear addresses/ports from the record. Idempotent."""
    from skiff.network import attach as net
    from skiff.network import records

    had = bool(records.endpoints(db, container_id=cid)) or os.path.exists(net.sandbox_path(cid))
    try:
        # The namespace goes too, and its veths with it (the kernel's clean-up of a
        # namespace nothing holds: see detach). A container that joined it (--network
        # container:) keeps it alive: then a detached child deletes them, as dockerd
        # takes the endpoint away from such a container when the one it joined stops.
        net.detach(config, db, cid, background=True, with_netns=not _joined(db, cid))
    finally:
        net.remove_sandbox(cid)
    if not had:
        return
    from skiff.runtime import records as crec

    def clear(r: dict) -> None:
        ns = r.get("NetworkSettings") or {}
        for d in (ns.get("Networks") or {}).values():
            d.update(NetworkID="", EndpointID="", Gateway="", IPAddress="", IPPrefixLen=0,
                     MacAddress=d.get("MacAddress") if (d.get("IPAMConfig") or {}) else "")
        ns.update(Ports={}, SandboxKey="", IPAddress="", Gateway="", MacAddress="")
    crec.update(db, cid, clear)


def _joined(db: sqlite3.Connection, cid: str) -> bool:
    """Whether any container was made with ``--network container:<cid>`` (recorded with the
    full ID: check_mode), running or not: one scan of the records' JSON text."""
    return db.execute("SELECT 1 FROM containers WHERE instr(data, ?) > 0 LIMIT 1",
                      (f'"container:{cid}"',)).fetchone() is not None


def connect(config: Config, db: sqlite3.Connection, ref: str, network: str, *,
            ip: str = "", aliases: tuple[str, ...] = ()) -> None:
    """``network connect``: a running container gets the endpoint now (the next ethN); a
    created or stopped one has it recorded in ``NetworkSettings.Networks`` and attached
    at its next start (dockerd). Either way it stays across restarts until disconnect.

    Raises ContainerNotFound, NotFound (network), Conflict (already connected: dockerd's
    ``endpoint with name N already exists in network X``), InvalidArgument (host/none/
    ``container:`` modes, --ip or aliases on the default bridge), and what attach raises."""
    from skiff.errors import Conflict
    from skiff.network import attach as net
    from skiff.network.service import NetworkService
    from skiff.runtime import records as crec

    rec = crec.lookup(db, ref)
    cid, name = rec["Id"], (rec.get("Name") or "").lstrip("/")
    mode = (rec.get("HostConfig") or {}).get("NetworkMode") or "default"
    n = NetworkService(config, db).get(network)
    if mode == "host" or n.driver == "host":
        raise InvalidArgument("container cannot be disconnected from host network or "
                              "connected to host network")
    if mode.startswith("container:"):
        raise InvalidArgument("container sharing network namespace with another container "
                              "or host cannot be connected to any other network")
    if mode == "none" or n.driver == "null":
        raise InvalidArgument("container cannot be connected to multiple networks with one "
                              "of the networks in private (none) mode")
    if (ip or aliases) and not n.user_defined:
        raise InvalidArgument("user specified IP address is supported on user defined "
                              "networks only" if ip else "network-scoped alias is supported "
                              "only for containers in user defined networks")
    nets = (rec.get("NetworkSettings") or {}).get("Networks") or {}
    if n.name in nets:
        raise Conflict(f"endpoint with name {name} already exists in network {n.name}")
    path = net.sandbox_path(cid)
    eps = []
    if os.path.exists(path):
        eps = net.attach(config, db, cid, path,
                         [net.EndpointRequest(n.name, ip=ip or None, aliases=aliases,
                                              name=name)])

    def add(r: dict) -> None:
        es = endpoint_settings(ip=ip, aliases=aliases)
        if eps:
            d = eps[0].to_docker()
            d["IPAMConfig"] = es["IPAMConfig"]
            es = d
        r.setdefault("NetworkSettings", {}).setdefault("Networks", {})[n.name] = es
    crec.update(db, cid, add)


def disconnect(config: Config, db: sqlite3.Connection, ref: str, network: str) -> None:
    """``network disconnect``: detach a running container's endpoint and forget the
    network in its record (a stopped one is not attached at its next start). Raises
    Conflict (``container X is not connected to network Y``), NotFound."""
    from skiff.errors import Conflict
    from skiff.network import attach as net
    from skiff.network import records
    from skiff.network.service import NetworkService
    from skiff.runtime import records as crec

    rec = crec.lookup(db, ref)
    cid = rec["Id"]
    n = NetworkService(config, db).get(network)
    nets = (rec.get("NetworkSettings") or {}).get("Networks") or {}
    live = records.endpoints(db, network_id=n.id, container_id=cid)
    if not live and n.name not in nets:
        raise Conflict(f"container {cid[:12]} is not connected to network {network}")
    if live:
        net.detach(config, db, cid, n.id)

    def drop(r: dict) -> None:
        ((r.get("NetworkSettings") or {}).get("Networks") or {}).pop(n.name, None)
    crec.update(db, cid, drop)


def release_argv(config: Config, cid: str) -> tuple[str, ...]:
    """The command the monitor runs when the container is done (no DB in the monitor)."""
    import sys

    return (sys.executable, "-m", "skiff.network.release", config.root_dir, cid)


def ps_ports(ns: dict | None) -> str:
    """``docker ps`` PORTS: ``0.0.0.0:8080->80/tcp, 443/tcp`` from NetworkSettings.Ports."""
    out = []
    for key, binds in sorted(((ns or {}).get("Ports") or {}).items(),
                             key=lambda kv: (int(kv[0].split("/")[0]), kv[0])):
        if not binds:
            out.append(key)
        for b in binds or ():
            ip = b["HostIp"]
            out.append(f"[{ip}]:{b['HostPort']}->{key}" if ":" in ip
                       else f"{ip}:{b['HostPort']}->{key}")
    return ", ".join(out)
