"""``skiff volume create|ls|inspect|rm|prune`` (docker volume's flags and output)."""

from __future__ import annotations

import sys

from skiff.cli.container import _each, _out, _service
from skiff.cli.context import Context


def create(ctx: Context, argv: list[str]) -> int:
    """``skiff volume create [--name N] [--label K=V] [-d local] [NAME]``: print the name.

    docker 20.10's volume create has no ``-l`` shorthand (``unknown shorthand flag: 'l' in
    -l``, exit 125); ``--label`` only."""
    p = ctx.parser("skiff volume create", "Create a volume")
    p.add_argument("-d", "--driver", default="local", help="Specify volume driver name")
    p.add_argument("--name", help="Specify volume name")
    p.add_argument("--label", action="append", default=[], help="Set metadata for a volume")
    p.add_argument("-o", "--opt", action="append", default=[], help="Set driver specific options")
    p.add_argument("volume", nargs="?")
    a = p.parse_args(argv)
    from skiff.errors import InvalidArgument
    from skiff.runtime import volumes

    if a.name and a.volume and a.name != a.volume:
        raise InvalidArgument("conflicting options: either specify --name or provide positional arg, not both")
    if a.opt:
        raise InvalidArgument("volume options", "the local driver here takes no options")
    labels = dict(lb.split("=", 1) if "=" in lb else (lb, "") for lb in a.label)
    v = volumes.create(_service(ctx), a.name or a.volume, labels=labels, driver=a.driver,
                       exist_ok=True)
    _out(ctx, v["Name"] + "\n")
    return 0


def ls(ctx: Context, argv: list[str]) -> int:
    """``skiff volume ls [-q] [--format T] [-f dangling=true|name=X|label=K]``."""
    p = ctx.parser("skiff volume ls", "List volumes")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display volume names")
    p.add_argument("-f", "--filter", action="append", default=[], help="Provide filter values")
    p.add_argument("--format", help="Format output using a custom template")
    a = p.parse_args(argv)
    from skiff.errors import InvalidArgument
    from skiff.runtime import volumes

    for f in a.filter:  # moby volume list: driver, label, name, dangling (dockerd's words)
        k, _, v = f.partition("=")
        if k not in ("dangling", "name", "label", "driver"):
            raise InvalidArgument(f"Invalid filter '{k}'", exit_code=1)
        if k == "dangling" and v.lower() not in ("true", "1", "false", "0"):
            raise InvalidArgument(f"Invalid filter 'dangling=[{v}]'", exit_code=1)
    svc = _service(ctx)
    vols = volumes.list_all(svc)
    for f in a.filter:
        k, _, v = f.partition("=")
        if k == "dangling":
            want = v.lower() in ("true", "1")
            vols = [x for x in vols if (not volumes.users(svc, x["Name"])) == want]
        elif k == "name":
            vols = [x for x in vols if v in x["Name"]]
        elif k == "label":
            lk, _, lv = v.partition("=")
            vols = [x for x in vols if lk in (x["Labels"] or {}) and (not lv or x["Labels"][lk] == lv)]
        elif k == "driver":
            vols = [x for x in vols if x["Driver"] == v]
    if a.quiet:
        _out(ctx, "".join(v["Name"] + "\n" for v in vols))
        return 0
    if a.format:
        from skiff.format.gotemplate import render_list

        _out(ctx, render_list(a.format, [_ls_row(v) for v in vols],
                              headers={"Name": "VOLUME NAME"}, fields=_LS_FIELDS))
        return 0
    from skiff.format.table import render

    _out(ctx, render(vols, [("DRIVER", "Driver"), ("VOLUME NAME", "Name")]))
    return 0


def _ls_row(v: dict) -> dict:
    """A ``volume ls --format`` row as docker 20.10's volume formatter gives it: Labels as
    ``k=v,k2=v2`` (sorted here; Go's map order is random), N/A for what a local volume
    lacks (usage is only known to ``system df -v``); ``{{.Label "k"}}`` as docker/cli's."""
    from skiff.format.gotemplate import LabeledRow

    labels = v.get("Labels") or {}
    return LabeledRow({"Driver": v["Driver"],
                       "Labels": ",".join(f"{k}={x}" for k, x in sorted(labels.items())),
                       "Links": "N/A", "Mountpoint": v.get("Mountpoint", ""), "Name": v["Name"],
                       "Scope": v.get("Scope", "local"), "Size": "N/A"},
                      labels, _LS_TYPE)


# docker 20.10's formatter.volumeContext: these fields (and Label) only; a template naming
# another (Group, Status: newer docker's cluster volumes) fails as docker's does
_LS_TYPE = "*formatter.volumeContext"
_LS_FIELDS = ("Driver", "Labels", "Links", "Mountpoint", "Name", "Scope", "Size")


def inspect(ctx: Context, argv: list[str]) -> int:
    """``skiff volume inspect [-f T] VOLUME...``."""
    p = ctx.parser("skiff volume inspect", "Display detailed information on one or more volumes")
    p.add_argument("-f", "--format", help="Format output using a custom template")
    p.add_argument("volumes", nargs="+")
    a = p.parse_args(argv)
    from skiff.cli.container_query import inspect_each
    from skiff.runtime import volumes

    svc = _service(ctx)
    return inspect_each(ctx, a.volumes, lambda n: volumes.get(svc, n), a.format, "volume")


def rm(ctx: Context, argv: list[str]) -> int:
    """``skiff volume rm [-f] VOLUME...``."""
    p = ctx.parser("skiff volume rm", "Remove one or more volumes")
    p.add_argument("-f", "--force", action="store_true", help="Force the removal of one or more volumes")
    p.add_argument("volumes", nargs="+")
    a = p.parse_args(argv)
    from skiff.errors import NotFound
    from skiff.runtime import volumes

    svc = _service(ctx)

    def one(name: str) -> str:
        try:
            volumes.remove(svc, name)
        except NotFound:
            if not a.force:
                raise
        return name
    return _each(ctx, a.volumes, one)


def prune(ctx: Context, argv: list[str]) -> int:
    """``skiff volume prune [-a] [-f]``: unused anonymous volumes (all unused with -a)."""
    p = ctx.parser("skiff volume prune", "Remove unused local volumes")
    p.add_argument("-a", "--all", action="store_true", help="Remove all unused volumes, not just anonymous ones")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="Provide filter values")
    a = p.parse_args(argv)
    from skiff.errors import InvalidArgument
    from skiff.format.humanize import human_size
    from skiff.runtime import volumes

    labels: list[tuple[bool, str, str | None]] = []  # (wanted, key, value or None)
    for f in a.filter:
        k, _, v = f.partition("=")
        if k not in ("label", "label!"):  # moby volume prune; dockerd's words
            raise InvalidArgument(f"Invalid filter '{k}'", exit_code=1)
        lk, eq, lv = v.partition("=")
        labels.append((k == "label", lk, lv if eq else None))
    if not a.force:
        # Docker's prompt (cli/command/volume/prune.go); anything but y/yes cancels
        _out(ctx, ("WARNING! This will remove all local volumes not used by at least one "
                   "container.\n" if a.all else
                   "WARNING! This will remove anonymous local volumes not used by at least "
                   "one container.\n") + "Are you sure you want to continue? [y/N] ")
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0

    def keep(v: dict) -> bool:
        have = v.get("Labels") or {}
        return any((lk in have and (lv is None or have[lk] == lv)) != wanted
                   for wanted, lk, lv in labels)

    gone, size = volumes.prune(_service(ctx), all=a.all, keep=keep if labels else None)
    text = ""
    if gone:
        text = "Deleted Volumes:\n" + "".join(n + "\n" for n in gone) + "\n"
    _out(ctx, text + f"Total reclaimed space: {human_size(size)}\n")
    return 0
