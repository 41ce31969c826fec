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

import sqlite3
from dataclasses import dataclass

from skiff.config import Config
from skiff.errors import InvalidArgument

BUILTIN = ("host", "none")


def uses_bridge(mode: str | None) -> bool:
    """True for modes that get a netns from skiff (default/bridge/user networks)."""
    m = mode or "default"
    return m not in BUILTIN and not m.startswith("container:")


def check_mode(config: Config, db: sqlite3.Connection, mode: str, *, ip: str = "",
               aliases: tuple[str, ...] = ()) -> str:
    """Validate ``--network`` (and ``--ip``/``--network-alias``) at create, as dockerd
    does: NotFound for an unknown network; InvalidArgument for ``container:`` (not
    supported) and for --ip/aliases outside user-defined networks. Returns the mode."""
    if mode.startswith("container:"):
        raise InvalidArgument(f"network {mode}", "container network mode is not supported")
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
    name = "bridge" if mode in ("default", "bridge") else mode
    nets[name] = {"IPAMConfig": {"IPv4Address": ip} if ip else None, "Links": None,
                  "Aliases": list(aliases) or None, "MacAddress": mac, "NetworkID": "",
                  "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
                  "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
                  "DriverOpts": None, "DNSNames": None}
    return {"Networks": nets, "Ports": {}, "SandboxKey": "", "IPAddress": "", "Gateway": "",
            "MacAddress": ""}


@dataclass(frozen=True, slots=True)
class Started:
    """What the spec and /etc files need: the netns path, the container's IP (for
    /etc/hosts) and nameservers (a user-defined network's resolver; () = the host's)."""

    netns: str
    ip: str | None
    nameservers: tuple[str, ...]


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
    name = (rec.get("Name") or "").lstrip("/")
    settings = (rec.get("NetworkSettings") or {}).get("Networks") or {}
    reqs = []
    key = "bridge" if mode in ("default", "bridge") else mode
    es = settings.get(key) or {}
    ipam = es.get("IPAMConfig") or {}
    reqs.append(net.EndpointRequest(key, ip=ipam.get("IPv4Address") or None,
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
    # Leftovers of a run that crashed (a monitor killed before its release) go first.
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

    had = bool(records.endpoints(db, container_id=cid)) or net.sandbox_path(cid).exists()
    try:
        # the namespace goes too: its veths are deleted after we return (see detach)
        net.detach(config, db, cid, background=True)
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


def release_argv(config: Config, cid: str) -> tuple[str, ...]:
    """The command the monitor runs when the container is done (no DB in the monitor)."""
    import sys

    return (sys.executable, "-m", "skiff.network.release", str(config.root), cid)


def ps_ports(ns: dict | None) -> str:
    """``docker ps`` PORTS: ``0.0.0.0:8080->80/tcp, 443/tcp`` from NetworkSettings.Ports."""
    out = []
    for key, binds in sorted(((ns or {}).get("Ports") or {}).items(),
                             key=lambda kv: (int(kv[0].split("/")[0]), kv[0])):
        if not binds:
            out.append(key)
        for b in binds or ():
            out.append(f"{b['HostIp']}:{b['HostPort']}->{key}")
    return ", ".join(out)
