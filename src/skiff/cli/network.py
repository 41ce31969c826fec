"""``skiff network create|ls|inspect|rm|prune|connect|disconnect`` (docker network's flags
and output)."""

from __future__ import annotations

import sys

from skiff.cli.context import Context


def _svc(ctx: Context):
    from skiff.network import sandbox
    from skiff.network.service import NetworkService

    sandbox.sweep(ctx.config, ctx.db)  # what a build killed -9 left attached
    return NetworkService(ctx.config, ctx.db)


def _out(ctx: Context, text: str) -> None:
    ctx.out.write(text)
    ctx.out.flush()


def _kv(items: list[str]) -> dict:
    return dict(i.split("=", 1) if "=" in i else (i, "") for i in items)


def create(ctx: Context, argv: list[str]) -> int:
    """``skiff network create [-d bridge] [--subnet CIDR] [--gateway IP] [--internal]
    [--label K=V] [-o K=V] NAME``: print the new network's ID."""
    p = ctx.parser("skiff network create", "Create a network")
    p.add_argument("-d", "--driver", default="bridge", help="Driver to manage the Network")
    p.add_argument("--subnet", action="append", default=[], help="Subnet in CIDR format")
    p.add_argument("--gateway", action="append", default=[], help="IPv4 Gateway for the subnet")
    p.add_argument("--internal", action="store_true", help="Restrict external access to the network")
    p.add_argument("--label", action="append", default=[], help="Set metadata on a network")
    p.add_argument("-o", "--opt", action="append", default=[], help="Set driver specific options")
    p.add_argument("--attachable", action="store_true", help="Enable manual container attachment")
    p.add_argument("--ipv6", action="store_true", help="Enable IPv6 networking")
    p.add_argument("name")
    a = p.parse_args(argv)
    from skiff.errors import InvalidArgument
    from skiff.network.ipv6 import is_ipv6

    v4 = [s for s in a.subnet if not is_ipv6(s)]
    v6 = [s for s in a.subnet if is_ipv6(s)]
    gw4 = [g for g in a.gateway if not is_ipv6(g)]
    gw6 = [g for g in a.gateway if is_ipv6(g)]
    if v6 and not a.ipv6:
        raise InvalidArgument(f"invalid subnet {v6[0]}", "an IPv6 subnet needs --ipv6")
    if len(v4) > 1 or len(v6) > 1 or len(gw4) > 1 or len(gw6) > 1:
        raise InvalidArgument("--subnet", "one IPv4 and one IPv6 subnet per network")
    if gw6 and not v6:
        raise InvalidArgument("invalid gateway", "an IPv6 gateway needs an IPv6 --subnet")
    n = _svc(ctx).create(a.name, driver=a.driver, subnet=(v4 or [None])[0],
                         gateway=(gw4 or [None])[0], internal=a.internal,
                         labels=_kv(a.label), options=_kv(a.opt), ipv6=a.ipv6,
                         subnet6=(v6 or [None])[0], gateway6=(gw6 or [None])[0])
    _out(ctx, n.id + "\n")
    return 0


def _row(n) -> dict:
    """A ``network ls --format`` row: its fields, and ``{{.Label "k"}}`` (docker/cli's)."""
    from skiff.format.gotemplate import LabeledRow

    labels = dict(n.labels)
    return LabeledRow({"ID": n.id[:12], "Name": n.name, "Driver": n.driver, "Scope": "local",
                       "IPv6": str(bool(n.subnet6)).lower(), "Internal": str(n.internal).lower(),
                       "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
                       "CreatedAt": _go_time(n.created)}, labels, "*network.networkContext")


# docker/cli's network.networkContext fields (and Label): any other is a template error
_LS_FIELDS = ("ID", "Name", "Driver", "Scope", "IPv6", "Internal", "Labels", "CreatedAt")


def _go_time(ts: float) -> str:
    """Go's time.Time String() in UTC, as docker/cli's network CreatedAt prints it:
    ``2026-11-30 18:23:45.606961833 +0000 UTC`` (fraction without trailing zeros)."""
    import time

    ns = int(ts * 1e9)  # (as network inspect's Created)
    sec, frac = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(sec))
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + " +0000 UTC"


def _match(n, svc, f: str) -> bool:
    k, _, v = f.partition("=")
    if k == "driver":
        return n.driver == v
    if k == "name":
        return v in n.name
    if k == "id":
        return n.id.startswith(v)
    if k == "label":
        lk, _, lv = v.partition("=")
        return lk in n.labels and (not lv or n.labels[lk] == lv)
    if k == "scope":
        return v == "local"
    if k == "type":
        return (v == "custom") == n.user_defined
    from skiff.errors import InvalidArgument

    if k == "dangling":
        from skiff.network import records

        if v.lower() not in ("true", "1", "false", "0"):  # dockerd's words
            raise InvalidArgument("invalid value for filter 'dangling', must be \"true\" (or "
                                  "\"1\"), or \"false\" (or \"0\")", exit_code=1)
        unused = n.user_defined and not records.endpoints(svc.db, network_id=n.id)
        return unused == (v.lower() in ("true", "1"))
    raise InvalidArgument(f"Invalid filter '{k}'", exit_code=1)


def ls(ctx: Context, argv: list[str]) -> int:
    """``skiff network ls [-q] [--no-trunc] [--format T] [-f K=V]``."""
    p = ctx.parser("skiff network ls", "List networks")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display network IDs")
    p.add_argument("--no-trunc", action="store_true", help="Do not truncate the output")
    p.add_argument("-f", "--filter", action="append", default=[], help="Provide filter values")
    p.add_argument("--format", help="Format output using a custom template")
    a = p.parse_args(argv)
    svc = _svc(ctx)
    nets = [n for n in svc.list() if all(_match(n, svc, f) for f in a.filter)]
    rows = [_row(n) for n in nets]
    if a.no_trunc:
        for r, n in zip(rows, nets, strict=True):
            r["ID"] = n.id
    if a.quiet:
        _out(ctx, "".join(r["ID"] + "\n" for r in rows))
        return 0
    if a.format:
        from skiff.format.gotemplate import render_list

        _out(ctx, render_list(a.format, rows, headers={"ID": "NETWORK ID"}, fields=_LS_FIELDS))
        return 0
    from skiff.format.table import render

    _out(ctx, render(rows, [("NETWORK ID", "ID"), ("NAME", "Name"), ("DRIVER", "Driver"),
                            ("SCOPE", "Scope")]))
    return 0


def inspect(ctx: Context, argv: list[str]) -> int:
    """``skiff network inspect [-f T] NETWORK...``: Docker's JSON array, or the template
    per network; unknown names → stderr, exit 1."""
    p = ctx.parser("skiff network inspect", "Display detailed information on one or more networks")
    p.add_argument("-f", "--format", help="Format output using a custom template")
    p.add_argument("-v", "--verbose", action="store_true", help="Verbose output for diagnostics")
    p.add_argument("networks", nargs="+")
    a = p.parse_args(argv)
    from skiff.cli.container_query import inspect_each

    svc = _svc(ctx)

    def lookup(ref: str):
        from skiff.errors import NotFound

        try:
            return svc.inspect(ref)
        except NotFound:
            raise NotFound("No such network", ref) from None  # (docker/cli's words)
    return inspect_each(ctx, a.networks, lookup, a.format, "network")


def rm(ctx: Context, argv: list[str]) -> int:
    """``skiff network rm [-f] NETWORK...``: print each name removed; errors → exit 1."""
    p = ctx.parser("skiff network rm", "Remove one or more networks")
    p.add_argument("-f", "--force", action="store_true", help="Do not error if the network does not exist")
    p.add_argument("networks", nargs="+")
    a = p.parse_args(argv)
    from skiff.errors import NotFound, SkiffError

    svc = _svc(ctx)
    code = 0
    for ref in a.networks:
        try:
            svc.remove(ref)
        except NotFound:
            if a.force:
                continue
            sys.stderr.write(f"skiff: No such network: {ref}\n")  # (docker/cli's words)
            code = 1
            continue
        except SkiffError as e:
            sys.stderr.write(f"skiff: {e}\n")
            code = 1
            continue
        _out(ctx, ref + "\n")
    return code


def prune(ctx: Context, argv: list[str]) -> int:
    """``skiff network prune [-f]``: remove unused user-defined networks."""
    p = ctx.parser("skiff network prune", "Remove all unused networks")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="Provide filter values")
    a = p.parse_args(argv)
    keep = _prune_keep(a.filter)
    if not a.force:
        sys.stderr.write("WARNING! This will remove all custom networks not used by at least "
                         "one container.\nAre you sure you want to continue? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    gone = _svc(ctx).prune(keep)
    if gone:  # docker/cli: Fprintln of the list, so a blank line after it
        _out(ctx, "Deleted Networks:\n" + "".join(n + "\n" for n in gone) + "\n")
    return 0


def _prune_keep(filters: list[str]):
    """moby network prune filters (until, label, label!) as a predicate sparing a network;
    None without filters. Raises InvalidArgument (exit 1) in dockerd's words."""
    if not filters:
        return None
    from skiff.errors import InvalidArgument
    from skiff.format.humanize import parse_timestamp_ns

    until = None
    want: list[tuple[bool, str, str | None]] = []
    for f in filters:
        k, _, v = f.partition("=")
        if k == "until":
            try:
                until = parse_timestamp_ns(v) / 1e9
            except InvalidArgument as e:
                raise InvalidArgument(str(e), exit_code=1) from None
        elif k in ("label", "label!"):
            lk, eq, lv = v.partition("=")
            want.append((k == "label", lk, lv if eq else None))
        else:
            raise InvalidArgument(f"Invalid filter '{k}'", exit_code=1)

    def has(n, lk: str, lv: str | None) -> bool:
        return lk in n.labels and (lv is None or n.labels[lk] == lv)

    def keep(n) -> bool:
        if until is not None and n.created >= until:
            return True
        pos = [(lk, lv) for ok, lk, lv in want if ok]
        neg = [(lk, lv) for ok, lk, lv in want if not ok]
        if not all(has(n, lk, lv) for lk, lv in pos):
            return True
        return bool(neg) and all(has(n, lk, lv) for lk, lv in neg)

    return keep


def connect(ctx: Context, argv: list[str]) -> int:
    """``skiff network connect [--ip IP] [--alias A] NETWORK CONTAINER``: plug a running
    container into one more network (the next ethN); a stopped one is attached at start."""
    p = ctx.parser("skiff network connect", "Connect a container to a network")
    p.add_argument("--ip", help="IPv4 address (e.g., 172.30.100.104)")
    p.add_argument("--alias", action="append", default=[], help="Add network-scoped alias for the container")
    p.add_argument("network")
    p.add_argument("container")
    a = p.parse_args(argv)
    from skiff.network import glue

    _svc(ctx)  # sweeps
    glue.connect(ctx.config, ctx.db, a.container, a.network, ip=a.ip or "",
                 aliases=tuple(a.alias))
    return 0


def disconnect(ctx: Context, argv: list[str]) -> int:
    """``skiff network disconnect [-f] NETWORK CONTAINER``."""
    p = ctx.parser("skiff network disconnect", "Disconnect a container from a network")
    p.add_argument("-f", "--force", action="store_true", help="Force the container to disconnect from a network")
    p.add_argument("network")
    p.add_argument("container")
    a = p.parse_args(argv)
    from skiff.network import glue

    _svc(ctx)
    glue.disconnect(ctx.config, ctx.db, a.container, a.network)
    return 0


def port(ctx: Context, argv: list[str]) -> int:
    """``skiff port CONTAINER [PRIVATE_PORT[/PROTO]]``: the container's published ports
    (``80/tcp -> 0.0.0.0:8080``), from its record (nothing while it is stopped)."""
    p = ctx.parser("skiff port", "List port mappings or a specific mapping for the container")
    p.add_argument("container")
    p.add_argument("private", nargs="?")
    a = p.parse_args(argv)
    from skiff.network.ports import PortBinding, port_lines
    from skiff.runtime.containers import ContainerService

    rec = ContainerService(ctx.config, ctx.db).get(a.container)
    bound = []
    for key, binds in ((rec.get("NetworkSettings") or {}).get("Ports") or {}).items():
        cport, _, proto = key.partition("/")
        for b in binds or ():
            ip = "" if b["HostIp"] == "0.0.0.0" else b["HostIp"]
            bound.append(PortBinding(ip, int(b["HostPort"]), proto, int(cport)))
    bound.sort(key=lambda b: (b.container_port, b.proto, b.host_ip))
    _out(ctx, "".join(line + "\n" for line in port_lines(bound, a.private, a.container)))
    return 0
