"""Container queries: ps, logs, inspect (containers, then images, for ``skiff inspect``).

Split from cli/container.py (lifecycle); docker/cli's flags, columns and texts.
"""

from __future__ import annotations

import os
import sys

from skiff.cli.container import _out, _service, _write_stream
from skiff.cli.context import Context

# ------------------------------------------------------------------ ps
PS_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
              "RunningFor": "CREATED", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES",
              "State": "STATE", "CreatedAt": "CREATED AT", "Size": "SIZE", "Labels": "LABELS",
              "Mounts": "MOUNTS", "Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES"}


class _PsRow(dict):
    """One ``ps`` row: fields computed when a template or the table asks for them. It
    stands for docker/cli's ``*formatter.ContainerContext`` (gotemplate.ContextRow): a
    field it lacks is a template error, not ``<no value>``."""

    go_type = "*formatter.ContainerContext"

    def __init__(self, rec: dict, trunc: bool, now: float):
        super().__init__()
        self.rec, self.trunc, self.now = rec, trunc, now

    def __missing__(self, key: str):
        fn = _PS_FIELDS.get(key)
        if fn is None:
            raise KeyError(key)
        v = fn(self.rec, self.trunc, self.now)
        self[key] = v
        return v

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key) -> bool:
        return key in _PS_FIELDS

    def keys(self):
        return _PS_FIELDS.keys()

    def __iter__(self):
        return iter(_PS_FIELDS)

    def items(self):
        return [(k, self[k]) for k in _PS_FIELDS]

    def Label(self, name: object) -> str:  # noqa: N802 (docker/cli's ContainerContext.Label)
        """``{{.Label "k"}}``: the value of label k, "" when the container has none."""
        return (self.rec["Config"].get("Labels") or {}).get(name, "") if isinstance(name, str) \
            else ""


def _quote(s: str) -> str:
    """Go's strconv.Quote; the common all-printable case without the general machinery."""
    if s.isprintable() and (s.isascii() or s.replace("…", "").isascii()):  # (no DEL: not printable)
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    from skiff.format.gofmt import go_quote

    return go_quote(s)


def _ts(rec: dict, key: str) -> float:
    """Unix seconds of one of the record's RFC 3339 times (ours: always UTC, 'Z')."""
    import datetime as dt

    s = rec[key] if key == "Created" else rec["State"][key]
    try:
        return dt.datetime.fromisoformat(s).timestamp()
    except ValueError:
        from skiff.format.humanize import parse_rfc3339

        return parse_rfc3339(s)


def _command(rec: dict, trunc: bool, now: float) -> str:
    from skiff.runtime import records

    cmd = records.command_text(rec)
    if trunc and len(cmd) > 20:
        cmd = cmd[:19] + "…"
    return _quote(cmd)


def _created_at(rec: dict, trunc: bool, now: float) -> str:
    import datetime as dt

    from skiff.format.humanize import parse_rfc3339

    return dt.datetime.fromtimestamp(int(parse_rfc3339(rec["Created"]))).astimezone().strftime(
        "%Y-%m-%d %H:%M:%S %z %Z")


def _running_for(rec: dict, trunc: bool, now: float) -> str:
    from skiff.format.humanize import human_duration

    return human_duration(now - _ts(rec, "Created")) + " ago"


def _image(rec: dict, trunc: bool, now: float) -> str:
    image = rec["Config"].get("Image") or rec["Image"] or ""
    if image.startswith("sha256:") and trunc:
        image = image[7:19]
    return image


class _ImageNames:
    """What ps shows for a container's image name, as dockerd's container list: the name it
    was created from while that name still resolves to the container's image, else the
    image ID (``ps`` truncates it to 12 hex digits). One resolution per name per command."""

    def __init__(self, db):
        self.db = db
        self.cache: dict[str, str | None] = {}

    def _resolve(self, name: str) -> str | None:
        """The image ID ``name`` (tag, repo@digest or ID prefix) names now, or None."""
        import re

        from skiff import reference
        from skiff.errors import InvalidArgument

        db = self.db
        if name.startswith("sha256:") or re.fullmatch(r"[0-9a-f]{1,64}", name):
            rows = db.execute("SELECT id FROM images WHERE id LIKE ? LIMIT 2",
                              ("sha256:" + name.removeprefix("sha256:") + "%",)).fetchall()
            if len(rows) == 1:
                return rows[0][0]
            if name.startswith("sha256:"):
                return None
        try:
            ref = reference.parse_normalized_named(name)
        except InvalidArgument:
            return None
        if ref.digest:
            r = db.execute("SELECT image_id FROM repo_digests WHERE name = ?",
                           (f"{ref.name}@{ref.digest}",)).fetchone()
            r = r or db.execute("SELECT id FROM images WHERE manifest_digest = ?",
                                (ref.digest,)).fetchone()
        else:
            r = db.execute("SELECT image_id FROM tags WHERE name = ?",
                           (str(ref.tagged_or_latest()),)).fetchone()
        return r[0] if r else None

    def shown(self, name: str, image_id: str | None) -> str:
        """``name`` if it still points at ``image_id``, else ``image_id`` (full)."""
        if not name or not image_id or name == image_id:
            return name or image_id or ""
        if name not in self.cache:
            self.cache[name] = self._resolve(name)
        return name if self.cache[name] == image_id else image_id

    def rec(self, rec: dict) -> dict:
        """``rec`` with Config.Image replaced by what ps shows (a copy when it differs)."""
        name = (rec.get("Config") or {}).get("Image") or ""
        shown = self.shown(name, rec.get("Image"))
        if shown == name:
            return rec
        return {**rec, "Config": {**rec["Config"], "Image": shown}}


def _status(rec: dict, trunc: bool, now: float) -> str:
    from skiff.format.humanize import human_duration
    from skiff.runtime import records

    st = rec["State"]
    status = st["Status"]
    if status == "created":
        return "Created"
    if status == "exited" and st["FinishedAt"] != records.ZERO_TIME:
        return f"Exited ({st['ExitCode']}) {human_duration(now - _ts(rec, 'FinishedAt'))} ago"
    if status == "running":
        up = f"Up {human_duration(now - _ts(rec, 'StartedAt'))}"
        if st.get("Health"):  # docker's State.String: "Up 3 seconds (healthy)"
            from skiff.runtime.health import status_suffix

            up += status_suffix(st["Health"])
        return up
    return records.status_text(rec, now)


def _ports(rec: dict) -> str:
    from skiff.network.glue import ps_ports

    return ps_ports(rec.get("NetworkSettings"))


def _networks(rec: dict) -> str:
    """ps NETWORKS: the names of the networks the container is on, sorted and joined by ','
    (dockerd's Networks map); the mode's network name when none is recorded ('default' is
    the bridge), nothing for ``container:<id>``."""
    nets = (rec.get("NetworkSettings") or {}).get("Networks") or {}
    if nets:
        return ",".join(sorted(nets))
    mode = rec["HostConfig"].get("NetworkMode", "")
    if mode == "default":
        return "bridge"
    return "" if mode.startswith("container:") else mode


_PS_FIELDS = {
    "ID": lambda r, t, n: r["Id"][:12] if t else r["Id"],
    "Image": _image,
    "Command": _command,
    "CreatedAt": _created_at,
    "RunningFor": _running_for,
    "Ports": lambda r, t, n: _ports(r),
    "State": lambda r, t, n: r["State"]["Status"],
    "Status": _status,
    "Size": lambda r, t, n: _size(r),
    "Names": lambda r, t, n: r["Name"].lstrip("/"),
    "Labels": lambda r, t, n: ",".join(f"{k}={v}" for k, v in
                                       sorted((r["Config"].get("Labels") or {}).items())),
    "Mounts": lambda r, t, n: ",".join(_ellipsis(m.get("Name") or m["Source"], 15) if t else
                                       m.get("Name") or m["Source"]
                                       for m in r.get("Mounts") or []),
    "Networks": lambda r, t, n: _networks(r),
    "LocalVolumes": lambda r, t, n: str(sum(1 for m in r.get("Mounts") or []
                                            if m["Type"] == "volume")),
}


def _json_of_dot(fmt: str) -> bool:
    """True when template ``fmt`` marshals a whole row: ``{{json .}}``, ``{{. | json}}``."""
    if "json" not in fmt:
        return False
    import re

    return re.search(r"\bjson\s+\.\s*(?:\}\}|\)|\|)|\.\s*\|\s*json\b", fmt) is not None


def _ellipsis(s: str, width: int) -> str:
    """docker/cli's formatter.Ellipsis for the usual text: ``s`` cut to ``width`` - 1
    characters and "…" when it is longer than ``width``."""
    return s if len(s) <= width else s[:width - 1] + "…"


def _size(rec: dict) -> str:
    """docker/cli's ps SIZE: ``6B (virtual 1.98MB)`` from SizeRw / SizeRootFs (set by
    :func:`_add_sizes`; empty when sizes were not asked for)."""
    if "SizeRw" not in rec:
        return ""
    from skiff.format.humanize import human_size

    rw, root = rec["SizeRw"], rec.get("SizeRootFs") or 0
    return f"{human_size(rw)} (virtual {human_size(root)})" if root > 0 else human_size(rw)


def _add_sizes(ctx: Context, recs: list[dict]) -> None:
    """Docker's ``ps -s`` fields: SizeRw (file bytes of the rw layer, moby ChangesSize) and
    SizeRootFs (that plus the image's size)."""
    from skiff.errors import SkiffError
    from skiff.images import ImageService
    from skiff.runtime import records
    from skiff.runtime.ops import rw_size
    from skiff.snapshots import Snapshotter

    snaps, images = Snapshotter(ctx.config, ctx.db), ImageService(ctx.config, ctx.db)
    image_sizes: dict[str, int] = {}
    for r in recs:
        rw = 0
        sk = r.get("Skiff") or (records.get(ctx.db, r["Id"]) or {}).get("Skiff") or {}
        key = sk.get("Snapshot")
        if key:
            try:
                rw = rw_size(snaps.upperdir(key), snaps.lowerdirs(key))
            except SkiffError:
                pass
        iid = r.get("Image") or ""
        if iid not in image_sizes:
            try:
                image_sizes[iid] = images.get(iid).size
            except SkiffError:
                image_sizes[iid] = 0
        r["SizeRw"], r["SizeRootFs"] = rw, rw + image_sizes[iid]


def _ps_row(rec: dict, trunc: bool, now: float) -> dict:
    return _PsRow(rec, trunc, now)


def _validate_ps_format(fmt: str, now: float) -> None:
    """docker/cli's ps checks ``--format`` before listing (buildContainerListOptions): the
    template as given, run on an empty ContainerContext, so a bad field fails with no
    container too: ``failed to execute template: template: :1:8: executing "" at <.Foo>:
    can't evaluate field Foo in type *formatter.ContainerContext`` (exit 1)."""
    from skiff.format.gotemplate import LabeledRow, validate_on
    from skiff.format.humanize import human_duration

    empty = {k: "" for k in _PS_FIELDS}  # what the methods give for a zero types.Container
    empty.update(Image="<no image>", Command='""', CreatedAt="1970-01-01 00:00:00 +0000 UTC",
                 RunningFor=human_duration(now) + " ago", Size="0B", LocalVolumes="0")
    validate_on(fmt, LabeledRow(empty, {}, _PsRow.go_type))


_PS_FILTERS = ("status", "name", "id", "label", "exited", "ancestor", "volume", "before",
               "since", "network", "publish", "expose", "health", "isolation", "is-task")
_STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def _check_filters(filters: list[tuple[str, str]]) -> None:
    """dockerd's refusals of ``ps --filter`` values (exit 1, before anything is listed)."""
    from skiff.errors import InvalidArgument

    for k, v in filters:
        if k not in _PS_FILTERS:
            raise InvalidArgument(f"Invalid filter '{k}'", exit_code=1)
        if k == "status" and v not in _STATUSES:
            raise InvalidArgument(f"Invalid filter 'status={v}'", exit_code=1)
        if k == "health" and v not in ("starting", "healthy", "unhealthy", "none"):
            raise InvalidArgument(f"Unrecognised filter value for health: {v}", exit_code=1)
        if k == "exited":
            try:
                int(v)
            except ValueError:
                raise InvalidArgument("strconv.Atoi", f'parsing "{v}": invalid syntax',
                                      exit_code=1) from None


def _match(rec: dict, filters: list[tuple[str, str]]) -> bool:
    from skiff.errors import InvalidArgument

    by: dict[str, list[str]] = {}
    for k, v in filters:
        by.setdefault(k, []).append(v)
    for k, vals in by.items():
        if k == "status":
            ok = rec["State"]["Status"] in vals
        elif k == "name":
            ok = any(v.lstrip("/") in rec["Name"].lstrip("/") for v in vals)
        elif k == "id":
            ok = any(rec["Id"].startswith(v) for v in vals)
        elif k == "label":
            labels = rec["Config"].get("Labels") or {}
            ok = all((lambda kk, _, vv: kk in labels and (not _ or labels[kk] == vv))(*v.partition("="))
                     for v in vals)
        elif k == "exited":
            ok = rec["State"]["Status"] == "exited" and str(rec["State"]["ExitCode"]) in vals
        elif k == "ancestor":
            ok = any(v in (rec["Config"].get("Image"), rec["Image"], rec["Image"][7:19]) for v in vals)
        elif k == "volume":
            ok = any(any(v in (m.get("Name"), m["Destination"], m["Source"])
                         for m in rec.get("Mounts") or []) for v in vals)
        elif k == "health":
            from skiff.runtime.health import ps_status

            ok = ps_status(rec) in vals
        elif k in ("before", "since", "network", "publish", "expose", "isolation", "is-task"):
            ok = True
        else:
            raise InvalidArgument(f"invalid filter '{k}'")
        if not ok:
            return False
    return True


def ps(ctx: Context, argv: list[str]) -> int:
    """``skiff ps [-a] [-q] [-n N] [-l] [--filter K=V] [--format T] [--no-trunc]``."""
    p = ctx.parser("skiff ps", "List containers")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display container IDs")
    p.add_argument("-n", "--last", type=int, default=-1, help="Show n last created containers")
    p.add_argument("-l", "--latest", action="store_true", help="Show the latest created container")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter output based on conditions provided")
    p.add_argument("--format", help="Format output using a custom template")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("-s", "--size", action="store_true", help="Display total file sizes")
    a = p.parse_args(argv)
    import time

    from skiff.errors import InvalidArgument

    if a.format and "{{" in a.format:  # (plain text, bare `table`, cannot fail)
        _validate_ps_format(a.format, time.time())
    filters = []
    for f in a.filter:
        k, eq, v = f.partition("=")
        if not eq:
            # docker/cli's flag parsing refuses it: a usage error (125)
            raise InvalidArgument(f'invalid argument "{f}" for "-f, --filter" flag',
                                  "bad format of filter (expected name=value)")
        filters.append((k.strip().lower(), v))
    _check_filters(filters)
    show_all = a.all or a.latest or a.last >= 0 or any(k in ("status", "exited") for k, _ in filters)
    trunc = not a.no_trunc
    # docker/cli: sizes are computed with -s or when the template uses .Size
    # ({{json .}} marshals every field, Size included: docker/cli's FieldsUsed has it)
    sizes = a.size or ".Size" in (a.format or "") or _json_of_dot(a.format or "")
    if not filters and not sizes and (not a.format or a.format == "table"):
        return _ps_table(ctx, show_all, trunc, a.quiet, a.latest, a.last)
    recs = _service(ctx).list_summaries(all=show_all)
    if filters:
        recs = [r for r in recs if _match(r, filters)]
    if a.latest:
        recs = recs[:1]
    elif a.last >= 0:
        recs = recs[:a.last]
    if a.quiet and not a.format:
        _out(ctx, "".join((r["Id"][:12] if trunc else r["Id"]) + "\n" for r in recs))
        return 0
    names = _ImageNames(ctx.db)
    recs = [names.rec(r) for r in recs]
    if sizes:
        _add_sizes(ctx, recs)
    now = time.time()
    if a.format and a.format != "table":
        from skiff.format.gotemplate import render_list

        rows = [_ps_row(r, trunc, now) for r in recs]
        _out(ctx, render_list(a.format, rows, headers=PS_HEADERS, fields=_PS_FIELDS))
        return 0
    from skiff.format.table import tabwrite

    lines = ["CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES"
             + ("\tSIZE" if sizes else "")]
    for r in recs:
        lines.append("\t".join((r["Id"][:12] if trunc else r["Id"], _image(r, trunc, now),
                                _command(r, trunc, now), _running_for(r, trunc, now),
                                _status(r, trunc, now), _ports(r), r["Name"][1:])
                               + ((_size(r),) if sizes else ())))
    _out(ctx, tabwrite("\n".join(lines) + "\n"))
    return 0


def _ps_table(ctx: Context, show_all: bool, trunc: bool, quiet: bool, latest: bool,
              last: int) -> int:
    """``ps`` without filters or a template: the default table (or ``-q``) from the
    records' ``ps_*`` columns (skiff.runtime.records.ps_rows), no JSON decoded for created
    and exited containers. Active ones (and rows from before those columns) are read whole
    and reconciled with their monitor, as ContainerService.list_summaries does."""
    import time

    from skiff.format.humanize import human_duration
    from skiff.runtime import records

    active = records.ACTIVE
    svc = None
    rows: list[tuple] = []  # (id, name, row or None, record or None)
    seen = []
    for row in records.ps_rows(ctx.db):
        seen.append(row[0])
        status = row[2]
        if status == "created" or (status == "exited" and row[6] is not None):
            if show_all:
                rows.append((row[0], row[1], row, None))
            continue
        rec = records.get(ctx.db, row[0])
        if rec is None:
            continue
        if rec["State"]["Status"] in active:
            if svc is None:
                svc = _service(ctx)
            rec = svc._reconcile(rec)
        if show_all or rec["State"]["Status"] in active:
            rows.append((rec["Id"], rec["Name"][1:], None, rec))
    from skiff.runtime.orphans import sweep_runc_states

    sweep_runc_states(ctx.config, ctx.db, seen)  # (as list_summaries: a killed monitor's)
    if latest:
        rows = rows[:1]
    elif last >= 0:
        rows = rows[:last]
    if quiet:
        _out(ctx, "".join((r[0][:12] if trunc else r[0]) + "\n" for r in rows))
        return 0
    now = time.time()
    names = _ImageNames(ctx.db)
    image_ids = dict(ctx.db.execute("SELECT id, image_id FROM containers").fetchall())
    lines = [("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES")]
    for cid, name, row, rec in rows:
        if rec is not None:
            rec = names.rec(rec)
            lines.append((cid[:12] if trunc else cid, _image(rec, trunc, now),
                          _command(rec, trunc, now), _running_for(rec, trunc, now),
                          _status(rec, trunc, now), _ports(rec), name))
            continue
        _, _, status, code, created, _, finished, image, cmd, ports = row
        image = names.shown(image, image_ids.get(cid))
        if trunc:
            if image.startswith("sha256:"):
                image = image[7:19]
            if len(cmd) > 20:
                cmd = cmd[:19] + "…"
        if status == "created":
            st = "Created"
        else:
            st = f"Exited ({code}) {human_duration(now - finished)} ago"
        lines.append((cid[:12] if trunc else cid, image, _quote(cmd),
                      human_duration(now - created) + " ago", st, ports, name))
    _out(ctx, _columns(lines))
    return 0


def _columns(lines: list[tuple[str, ...]]) -> str:
    """Go's tabwriter with docker/cli's settings (skiff.format.table.tabwrite) for lines
    that all have the same number of cells: then every column is one block, as wide as
    its widest cell plus 3 and at least 10; the last cell is not padded."""
    n = len(lines[0]) - 1
    widths = [max(10, max(map(len, col)) + 3) for col in list(zip(*lines, strict=True))[:n]]
    pad = list(enumerate(widths))
    return "".join(["".join([ln[i].ljust(w) for i, w in pad]) + ln[n] + "\n" for ln in lines])


# ------------------------------------------------------------------ logs
def logs(ctx: Context, argv: list[str]) -> int:
    """``skiff logs [-f] [--tail N] [-t] [--since T] [--until T] CONTAINER``."""
    p = ctx.parser("skiff logs", "Fetch the logs of a container")
    p.add_argument("-f", "--follow", action="store_true", help="Follow log output")
    p.add_argument("-n", "--tail", default="all", help='Number of lines to show from the end of the logs')
    p.add_argument("-t", "--timestamps", action="store_true", help="Show timestamps")
    p.add_argument("--since", help="Show logs since timestamp or relative (e.g. 42m)")
    p.add_argument("--until", help="Show logs before a timestamp or relative (e.g. 42m)")
    p.add_argument("--details", action="store_true", help="Show extra details provided to logs")
    p.add_argument("container")
    a = p.parse_args(argv)
    from skiff.runtime import jsonlog
    from skiff.runtime.records import ACTIVE

    svc = _service(ctx)
    rec = svc.get(a.container)
    since = _time_arg(a.since) if a.since else None
    until = _time_arg(a.until, "until") if a.until else None
    if not rec["LogPath"] and (rec["HostConfig"].get("LogConfig") or {}).get("Type") == "none":
        from skiff.errors import InvalidArgument

        raise InvalidArgument("configured logging driver does not support reading")
    local = (rec["HostConfig"].get("LogConfig") or {}).get("Type") == "local"
    if local:  # (--log-driver local: skiff.runtime.locallog)
        from skiff.runtime import locallog

        entries = list(locallog.read(svc._bdir(rec["Id"])))
    elif os.path.exists(rec["LogPath"] + ".1") or os.path.exists(rec["LogPath"] + ".1.gz"):
        from skiff.runtime import logopts  # (rotated: --log-opt max-size)

        entries = list(logopts.read(rec["LogPath"]))
    else:
        entries = list(jsonlog.read(rec["LogPath"]))
    if a.tail != "all":
        try:
            n = int(a.tail)
        except ValueError:
            n = -1
        if n >= 0:
            entries = entries[len(entries) - n:] if n else []
    from skiff.format.humanize import parse_rfc3339_ns

    def show(e) -> None:
        if since is not None or until is not None:
            t = parse_rfc3339_ns(e.time)
            if (since is not None and t < since) or (until is not None and t > until):
                return
        # dockerd: --details puts the entry's attributes (none kept here) and a space
        # before the line, then -t the timestamp before that
        text = " " + e.text if a.details else e.text
        text = f"{e.time} {text}" if a.timestamps else text
        _write_stream(ctx.out if e.stream == "stdout" else sys.stderr, text.encode())

    for e in entries:
        show(e)
    if a.follow and rec["State"]["Status"] in ACTIVE:
        from skiff.runtime import records

        live = rec["LogPath"]
        if local:
            live = locallog.path(svc._bdir(rec["Id"]))
        try:
            offset = os.path.getsize(live)
        except OSError:
            offset = 0

        def stopped() -> bool:
            cur = records.get(svc.db, rec["Id"])
            return cur is None or svc._reconcile(cur)["State"]["Status"] not in ACTIVE
        follow = jsonlog.follow
        if local:
            def follow(_path, offset, stop):
                return locallog.follow(svc._bdir(rec["Id"]), offset, stop=stop)
        elif ((rec["HostConfig"].get("LogConfig") or {}).get("Config") or {}).get("max-size"):
            from skiff.runtime.logopts import follow  # (across rotations)
        if os.path.exists(live):
            for e in follow(live, offset, stop=stopped):
                show(e)
    return 0


def _time_arg(s: str, flag: str = "since") -> int:
    """``--since``/``--until`` in nanoseconds; Docker's wording on bad input."""
    from skiff.errors import InvalidArgument
    from skiff.format.humanize import parse_timestamp_ns

    try:
        return parse_timestamp_ns(s)
    except InvalidArgument as e:
        raise InvalidArgument(f'invalid value for "{flag}"', str(e)) from None


# ------------------------------------------------------------------ inspect
# The container's fields that Docker holds as Go maps (section -> keys): encoding/json
# writes a map's keys sorted, where a record keeps them in the order they were given.
_GO_MAPS = {"Config": ("Labels", "ExposedPorts", "Volumes"),
            "HostConfig": ("PortBindings", "Sysctls", "Tmpfs", "StorageOpt"),
            "NetworkSettings": ("Ports", "Networks"),
            "GraphDriver": ("Data",)}


_OMIT = object()  # an ``omitempty`` field: left out unless set
# The JSON zero values dockerd writes for docker 20.10's container.HostConfig and
# NetworkSettings fields (their names and order: skiff.format.structs); the ``omitempty``
# ones only when set. Every field has an entry.
_HOSTCONFIG_ZERO = {
    "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
    "NetworkMode": "default", "PortBindings": {},
    "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "AutoRemove": False,
    "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None, "CapDrop": None,
    "CgroupnsMode": "host", "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None,
    "GroupAdd": None, "IpcMode": "private", "Cgroup": "", "Links": None, "OomScoreAdj": 0,
    "PidMode": "", "Privileged": False, "PublishAllPorts": False, "ReadonlyRootfs": False,
    "SecurityOpt": None, "StorageOpt": _OMIT, "Tmpfs": _OMIT, "UTSMode": "", "UsernsMode": "",
    "ShmSize": 67108864, "Sysctls": _OMIT, "Runtime": "runc", "ConsoleSize": [0, 0],
    "Isolation": "", "CpuShares": 0, "Memory": 0, "NanoCpus": 0, "CgroupParent": "",
    "BlkioWeight": 0, "BlkioWeightDevice": [], "BlkioDeviceReadBps": None,
    "BlkioDeviceWriteBps": None, "BlkioDeviceReadIOps": None, "BlkioDeviceWriteIOps": None,
    "CpuPeriod": 0, "CpuQuota": 0, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
    "CpusetCpus": "", "CpusetMems": "", "Devices": [], "DeviceCgroupRules": None,
    "DeviceRequests": None, "KernelMemory": 0, "KernelMemoryTCP": 0, "MemoryReservation": 0,
    "MemorySwap": 0, "MemorySwappiness": None, "OomKillDisable": False, "PidsLimit": None,
    "Ulimits": None, "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0,
    "IOMaximumBandwidth": 0, "Mounts": _OMIT, "MaskedPaths": None, "ReadonlyPaths": None,
    "Init": _OMIT,
}
_NETWORK_SETTINGS_ZERO = {
    "Bridge": "", "SandboxID": "", "HairpinMode": False, "LinkLocalIPv6Address": "",
    "LinkLocalIPv6PrefixLen": 0, "Ports": {}, "SandboxKey": "", "SecondaryIPAddresses": None,
    "SecondaryIPv6Addresses": None, "EndpointID": "", "Gateway": "", "GlobalIPv6Address": "",
    "GlobalIPv6PrefixLen": 0, "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
    "MacAddress": "", "Networks": None,
}


def _docker_shape(d: dict, struct: str, zeros: dict) -> dict:
    """``d`` with the fields of docker's ``struct`` in their order (its JSON zero value,
    copied, for a missing one; an ``omitempty`` one only when set), then its other keys
    as they are."""
    import copy

    from skiff.format.structs import field_names

    fields = field_names(struct)
    out = {}
    for k in fields:
        zero = zeros[k]
        if k in d:
            if zero is not _OMIT or d[k] not in (None, {}, []):
                out[k] = d[k]
        elif zero is not _OMIT:
            out[k] = copy.deepcopy(zero)
    out.update((k, v) for k, v in d.items() if k not in fields)
    return out


def _host_config(hc: dict) -> dict:
    """HostConfig in docker 20.10's shape; MaskedPaths/ReadonlyPaths what the container
    gets (dockerd fills them in at create: none when privileged or with
    ``systempaths=unconfined``); Devices ``[]`` when none."""
    hc = dict(hc)
    if hc.get("Devices") is None:
        hc["Devices"] = []
    if "MaskedPaths" not in hc and not hc.get("Privileged"):
        from skiff.runtime.options import security_options

        # (what the spec gets: skiff.runtime.containers passes the same to build_spec)
        if security_options(hc.get("SecurityOpt") or ()).get("systempaths") != "unconfined":
            from skiff.runtime.spec import READONLY_PATHS, masked_paths

            hc["MaskedPaths"], hc["ReadonlyPaths"] = masked_paths(), list(READONLY_PATHS)
    return _docker_shape(hc, "HostConfig", _HOSTCONFIG_ZERO)


def _graph_driver(rec: dict, svc) -> dict | None:
    """``GraphDriver`` of docker inspect: the overlay's directories (LowerDir newest
    first, as overlayfs's lowerdir lists them), or None for a ``--rootfs`` container."""
    key = (rec.get("Skiff") or {}).get("Snapshot")
    if not key or svc is None:
        return None
    from skiff.errors import SkiffError

    sn = svc.snapshotter
    try:
        data = {"LowerDir": ":".join(str(p) for p in sn.lowerdirs(key)),
                "MergedDir": svc._bdir(rec["Id"], "rootfs"),
                "UpperDir": str(sn.upperdir(key)), "WorkDir": str(sn.workdir(key))}
    except SkiffError:
        return None
    return {"Data": data, "Name": rec.get("Driver") or "overlay"}


def public(rec: dict, svc=None) -> dict:
    """The record as ``docker inspect`` shows it: skiff's bookkeeping left out, and the
    objects Docker holds as Go maps (Config.Labels, ExposedPorts, Volumes, PortBindings,
    ...) with their keys sorted as encoding/json writes them (``-l z=1 -l a=2`` shows
    ``{"a": "2", "z": "1"}``), in the JSON and in ``--format '{{json .Config.Labels}}'``.
    HostConfig and NetworkSettings have docker 20.10's keys in its order (zero values for
    what skiff does not record); with ``svc`` (a ContainerService), GraphDriver too."""
    out = {}
    for k, v in rec.items():
        if k == "Skiff":
            continue
        if k == "HostConfig" and isinstance(v, dict):
            v = _host_config(v)
        elif k == "NetworkSettings" and isinstance(v, dict):
            v = _docker_shape(v, "NetworkSettings", _NETWORK_SETTINGS_ZERO)
        elif k == "Mounts":
            gd = _graph_driver(rec, svc)
            if gd is not None:
                out["GraphDriver"] = gd
        out[k] = v
    if isinstance((out.get("Config") or {}).get("Env"), list) and not out["Config"]["Env"]:
        out["Config"] = {**out["Config"], "Env": None}  # (docker: null when there is none)
    for section, keys in _GO_MAPS.items():
        sub = out.get(section)
        if not isinstance(sub, dict):
            continue
        for k in keys:
            m = sub.get(k)
            if isinstance(m, dict) and len(m) > 1 and list(m) != sorted(m):
                sub = out[section] = dict(sub) if sub is rec.get(section) else sub
                sub[k] = dict(sorted(m.items()))
    cfg = out.get("Config")
    if isinstance(cfg, dict) and "ExposedPorts" in cfg and "AttachStderr" in cfg \
            and list(cfg).index("ExposedPorts") != list(cfg).index("AttachStderr") + 1:
        # (container.Config's field order: ExposedPorts comes after AttachStderr)
        ports = cfg["ExposedPorts"]
        moved = {}
        for k, v in cfg.items():
            if k != "ExposedPorts":
                moved[k] = v
            if k == "AttachStderr":
                moved["ExposedPorts"] = ports
        out["Config"] = moved
    if any("NoCopy" in m for m in out.get("Mounts") or ()):  # (skiff's, not Docker's)
        out["Mounts"] = [{k: v for k, v in m.items() if k != "NoCopy"} for m in out["Mounts"]]
    return out


def _views(kind: str, obj: dict) -> tuple[object, object]:
    """(typed, raw) for one object of ``kind`` as docker/cli's inspect runs a template on
    it (gotemplate.render_inspect): raw is None when docker/cli has no raw retry."""
    if kind == "image":
        from skiff.images.inspect import template_view

        return template_view(obj), obj
    from skiff.format import structs

    if kind == "container":
        return structs.container_view(obj), obj
    if kind == "network":
        return structs.network_view(obj), obj
    # `docker volume inspect` has no raw retry; `docker inspect --type volume` has one
    return structs.volume_view(obj), (obj if kind == "volume-raw" else None)


def print_inspect(ctx: Context, found: list[tuple[str, object]], fmt: str | None) -> int:
    """docker/cli's inspect.Inspect over the refs' results in order: ``found`` holds
    (kind, object) with kind container, image, network, volume or volume-raw, or
    ("error", message) for a ref that matched nothing. Without ``fmt`` the objects are
    printed as a JSON array. With it: a template that does not parse fails first (exit
    64); then each object's text and a newline; the errors (not found, or the template's
    ``template parsing error: ...`` on that object) go to stderr after, exit 1. When no
    object printed anything, a lone newline (TemplateInspector.Flush). Returns the exit
    code."""
    import json

    from skiff.errors import InvalidArgument

    if not fmt:
        _out(ctx, json.dumps([o for k, o in found if k != "error"], indent=4,
                             ensure_ascii=False) + "\n")
        for k, o in found:
            if k == "error":
                sys.stderr.write(f"skiff: {o}\n")
        return 1 if any(k == "error" for k, _ in found) else 0
    from skiff.format.gotemplate import inspect_parse, render_inspect

    inspect_parse(fmt)
    errors, buf = [], []
    for kind, obj in found:
        if kind == "error":
            errors.append(str(obj))
            continue
        typed, raw = _views(kind, obj)  # type: ignore[arg-type]
        try:
            buf.append(render_inspect(fmt, typed, raw) + "\n")
        except InvalidArgument as e:
            errors.append(str(e))
    _out(ctx, "".join(buf) or "\n")
    for e in errors:
        sys.stderr.write(f"skiff: {e}\n")
    return 1 if errors else 0


def inspect_each(ctx: Context, refs: list[str], lookup, fmt: str | None,
                 kind: str = "network") -> int:
    """docker/cli's inspect loop for one object kind: ``lookup(ref) -> dict`` for each
    ref (NotFound: its message, printed after the rest), then :func:`print_inspect` with
    the objects as ``kind``. Returns the exit code."""
    from skiff.errors import NotFound

    found: list[tuple[str, object]] = []
    for ref in refs:
        try:
            found.append((kind, lookup(ref)))
        except NotFound as e:
            found.append(("error", str(e)))
    return print_inspect(ctx, found, fmt)


def container_inspect(ctx: Context, argv: list[str]) -> int:
    """``skiff container inspect [-f T] CONTAINER...``."""
    p = ctx.parser("skiff container inspect", "Display detailed information on one or more containers")
    p.add_argument("-f", "--format", help="Format output using a custom template")
    p.add_argument("-s", "--size", action="store_true", help="Display total file sizes")
    p.add_argument("containers", nargs="+")
    a = p.parse_args(argv)
    svc = _service(ctx)
    return inspect_each(ctx, a.containers, lambda ref: public(svc.get(ref), svc), a.format,
                        "container")


def inspect(ctx: Context, argv: list[str]) -> int:
    """``skiff inspect [--type container|image] NAME...``: containers first, then images."""
    p = ctx.parser("skiff inspect", "Return low-level information on skiff objects")
    p.add_argument("-f", "--format", help="Format output using a Go template")
    p.add_argument("--type", help="Only inspect objects of the given type")
    p.add_argument("-s", "--size", action="store_true", help="Display total file sizes")
    p.add_argument("names", nargs="+")
    a = p.parse_args(argv)
    from skiff.errors import InvalidArgument, NotFound

    if a.type and a.type not in ("container", "image", "volume"):
        raise InvalidArgument(f'"{a.type}" is not a valid value for --type')
    svc = _service(ctx)
    found: list[tuple[str, object]] = []
    for n in a.names:
        obj, kind = None, ""
        if a.type in (None, "container"):
            try:
                obj, kind = public(svc.get(n), svc), "container"
            except NotFound:
                obj = None
        if obj is None and a.type in (None, "image"):
            try:
                from skiff.images.inspect import inspect_image

                obj, kind = inspect_image(svc.images.get(n)), "image"
            except NotFound:
                obj = None
        if obj is None and a.type == "volume":
            from skiff.runtime import volumes

            try:
                obj, kind = volumes.get(svc, n), "volume-raw"
            except NotFound:
                obj = None
        if obj is None:
            what = {"container": "container", "image": "image", "volume": "volume"}.get(a.type or "")
            found.append(("error", f"No such {what or 'object'}: {n}"))
            continue
        found.append((kind, obj))
    return print_inspect(ctx, found, a.format)
