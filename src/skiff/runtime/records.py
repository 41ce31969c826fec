"""Container records: the ``containers`` table and the JSON each row holds.

A row is (id, name, image_id, created, data); ``data`` is the container as ``docker
inspect`` shows it (Id, Created, Path, Args, State, Image, Name, HostConfig, Config,
Mounts, LogPath, ...) plus skiff's own bookkeeping under ``"Skiff"`` (monitor pid and start
time, snapshot key or ``--rootfs`` directory, whether the user stopped it). The record is
the API's and the CLI's single source; the monitor updates ``State`` as the container runs.

Names: Docker's rules (``[a-zA-Z0-9][a-zA-Z0-9_.-]+``, unique, shown without the leading
``/`` in ``ps``); generated names are ``adjective_noun`` from our own word lists.
Lookups: full ID, then exact name, then a unique ID prefix (Docker's order).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator

from skiff.errors import AlreadyExists, InvalidArgument, NotFound
from skiff.metadata import transaction

TYPE_CHECKING = False  # (not typing's: `ps` starts faster without importing typing)
if TYPE_CHECKING:
    import sqlite3

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_CHARS = _ALNUM | frozenset("_.-")


def valid_name(n: str) -> bool:
    """Whether ``n`` matches Docker's ``^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`` (container and
    volume names; no regex compiled on the run path)."""
    return len(n) >= 2 and n[0] in _ALNUM and all(c in _NAME_CHARS for c in n)
ACTIVE = ("running", "paused", "restarting")

_ADJECTIVES = (
    "amber", "brave", "calm", "daring", "eager", "fancy", "gentle", "happy", "icy", "jolly",
    "keen", "lucid", "merry", "nimble", "odd", "proud", "quiet", "rapid", "sharp", "tidy",
    "upbeat", "vivid", "witty", "young", "zesty", "bold", "clever", "dreamy", "frosty", "golden",
)
_NOUNS = (
    "otter", "falcon", "maple", "harbor", "comet", "lynx", "cedar", "pebble", "heron", "tundra",
    "meadow", "quartz", "willow", "beacon", "canyon", "delta", "ember", "fjord", "glacier",
    "island", "juniper", "kestrel", "lagoon", "mesa", "nebula", "orchid", "prairie", "reef",
    "summit", "voyager",
)


class ContainerNotFound(NotFound):
    """No container matches the reference (``No such container: <ref>``)."""

    def __init__(self, ref: str):
        super().__init__("No such container", ref)


def now_rfc3339() -> str:
    """Now as Go's RFC3339Nano in UTC (Docker's Created/StartedAt/FinishedAt), e.g.
    ``2026-11-30T14:05:06.123456789Z`` (trailing zeros of the fraction dropped, none for
    a whole second): humanize.format_rfc3339_ns's text, built from ``time.gmtime``
    because ``datetime`` (~1.4 ms of import) is otherwise not needed by ``run``."""
    sec, frac = divmod(time.time_ns(), 1_000_000_000)
    t = time.gmtime(sec)
    out = (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
           f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}")
    if frac:
        out += "." + f"{frac:09d}".rstrip("0")
    return out + "Z"


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days from 1970-01-01 to the proleptic Gregorian date y-m-d (negative before)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _utc_seconds(text: str) -> int | None:
    """Unix seconds of ``YYYY-MM-DDTHH:MM:SS`` (UTC), None when it is not a valid date
    and time (what ``datetime.fromisoformat`` refuses: month 13, Feb 30, second 60)."""
    if (len(text) != 19 or text[4] != "-" or text[7] != "-" or text[10] != "T"
            or text[13] != ":" or text[16] != ":"):
        return None
    parts = (text[0:4], text[5:7], text[8:10], text[11:13], text[14:16], text[17:19])
    if not all(p.isdigit() and p.isascii() for p in parts):
        return None
    y, mo, d, h, mi, s = map(int, parts)
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    mdays = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if not (y >= 1 and 1 <= mo <= 12 and 1 <= d <= mdays[mo - 1] and h < 24 and mi < 60
            and s < 60):
        return None
    return _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s


ZERO_TIME = "0001-01-01T00:00:00Z"


def validate_name(name: str) -> str:
    """A user-given name without its optional leading ``/``.

    Raises:
        InvalidArgument: Docker's ``Invalid container name (X), only [a-zA-Z0-9][a-zA-Z0-9_.-]
            are allowed``.
    """
    n = name[1:] if name.startswith("/") else name
    if not valid_name(n):
        raise InvalidArgument(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] "
                              "are allowed")
    return n


def generate_name(db: sqlite3.Connection) -> str:
    """A free ``adjective_noun`` name (a number appended after collisions, as Docker)."""
    rnd = int.from_bytes(os.urandom(4), "big")
    base = f"{_ADJECTIVES[rnd % len(_ADJECTIVES)]}_{_NOUNS[(rnd >> 8) % len(_NOUNS)]}"
    name = base
    i = 0
    while db.execute("SELECT 1 FROM containers WHERE name = ?", (name,)).fetchone():
        i += 1
        name = f"{base}{rnd % 10 + i}"
    return name


def new_state() -> dict:
    """A created container's State (Docker's field order)."""
    return {"Status": "created", "Running": False, "Paused": False, "Restarting": False,
            "OOMKilled": False, "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "",
            "StartedAt": ZERO_TIME, "FinishedAt": ZERO_TIME}


def insert(db: sqlite3.Connection, rec: dict) -> None:
    """Record a new container.

    Raises:
        AlreadyExists: the name is taken (Docker's ``Conflict. The container name "/x" is
            already in use by container "<id>". You have to remove (or rename) that
            container to be able to reuse that name.``).
    """
    import _sqlite3 as sqlite3  # the sqlite3 package's classes, without its datetime import

    name = rec["Name"].lstrip("/")
    with transaction(db):
        row = db.execute("SELECT id FROM containers WHERE name = ?", (name,)).fetchone()
        if row is not None:
            raise _name_conflict(name, row[0])
        try:
            db.execute(f"INSERT INTO containers (id, name, image_id, created, data, {PS_COLUMNS}) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (rec["Id"], name, rec.get("Image") or None, time.time(), json.dumps(rec),
                        *ps_values(rec)))
        except sqlite3.IntegrityError as e:
            raise _name_conflict(name, "") from e


def _name_conflict(name: str, cid: str) -> AlreadyExists:
    e = AlreadyExists(
        f'Conflict. The container name "/{name}" is already in use by container "{cid}". '
        "You have to remove (or rename) that container to be able to reuse that name.")
    e.exit_code = 125
    return e


def _row_to_rec(row) -> dict:
    return json.loads(row["data"])


def lookup(db: sqlite3.Connection, ref: str) -> dict:
    """The record for a full ID, a name (with or without ``/``) or a unique ID prefix.

    Raises:
        ContainerNotFound: nothing matches.
        InvalidArgument: an ID prefix matches several (``multiple IDs found with provided
            prefix: X``).
    """
    if not ref:
        raise ContainerNotFound(ref)
    row = db.execute("SELECT data FROM containers WHERE id = ?", (ref,)).fetchone()
    if row is None:
        row = db.execute("SELECT data FROM containers WHERE name = ?",
                         (ref[1:] if ref.startswith("/") else ref,)).fetchone()
    if row is None and re.fullmatch(r"[0-9a-f]{1,63}", ref):
        rows = db.execute("SELECT data FROM containers WHERE id >= ? AND id < ? LIMIT 2",
                          (ref, ref + "g")).fetchall()
        if len(rows) > 1:
            raise InvalidArgument("multiple IDs found with provided prefix", ref)
        row = rows[0] if rows else None
    if row is None:
        raise ContainerNotFound(ref)
    return _row_to_rec(row)


def get(db: sqlite3.Connection, cid: str) -> dict | None:
    """The record with exactly this ID, or None."""
    row = db.execute("SELECT data FROM containers WHERE id = ?", (cid,)).fetchone()
    return _row_to_rec(row) if row else None


def all_records(db: sqlite3.Connection) -> Iterator[dict]:
    """Every record, newest first (``docker ps`` order)."""
    for row in db.execute("SELECT data FROM containers ORDER BY created DESC, rowid DESC"):
        yield _row_to_rec(row)


_SUMMARY_PATHS = ("$.State", "$.Config.Image", "$.Image", "$.Path", "$.Args", "$.Created",
                  "$.Config.Labels", "$.Mounts", "$.HostConfig.NetworkMode",
                  "$.NetworkSettings.Ports")


def summaries(db: sqlite3.Connection) -> Iterator[dict]:
    """What ``ps`` shows of every record, newest first, without decoding whole records
    (SQLite extracts the fields: ~4x faster than json.loads of each record).

    Keys: Id, Name ("/name"), State (dict), Config ({"Image", "Labels"}), Image, Path,
    Args, Created, Mounts, HostConfig ({"NetworkMode"}), NetworkSettings ({"Ports"}) — a
    record's shape, trimmed.
    """
    paths = ",".join(f"'{p}'" for p in _SUMMARY_PATHS)
    q = (f"SELECT id, name, json_extract(data, {paths}) FROM containers "
         "ORDER BY created DESC, rowid DESC")
    for cid, name, blob in db.execute(q):
        st, img, image_id, path, args, created, labels, mounts, net, ports = json.loads(blob)
        yield {"Id": cid, "Name": "/" + name, "State": st,
               "Config": {"Image": img, "Labels": labels}, "Image": image_id, "Path": path,
               "Args": args, "Created": created, "Mounts": mounts,
               "HostConfig": {"NetworkMode": net}, "NetworkSettings": {"Ports": ports}}


# What ``ps`` shows of a record, kept in plain columns beside it (metadata migration 6).
PS_COLUMNS = ("ps_status, ps_exit, ps_created, ps_started, ps_finished, ps_image, "
              "ps_command, ps_ports")
_PS_SET = ", ".join(f"{c} = ?" for c in PS_COLUMNS.split(", "))


def _unix(text: str | None) -> float | None:
    """Unix seconds of a record's RFC 3339 time; None for Go's zero time (never set) or
    a value that is not a time."""
    if not text or text == ZERO_TIME:
        return None
    # Ours are always Go's RFC3339Nano in UTC (``2026-01-02T03:04:05.123456789Z``): read
    # them without humanize's general grammar (its regex costs ~1 ms to compile on the
    # run path); anything else goes to it. Same value: (seconds * 1e9 + fraction) / 1e9.
    frac = text[20:-1]
    if (len(text) >= 20 and text[-1] == "Z" and text[10] == "T" and text[19] in ".Z"
            and (text[19] == "Z" or (frac.isdigit() and frac.isascii() and len(frac) <= 9))):
        secs = _utc_seconds(text[:19])
        if secs is not None:
            return (secs * 1_000_000_000 + int(frac.ljust(9, "0") if frac else 0)) / 1e9
    from skiff.format.humanize import parse_rfc3339

    try:
        return parse_rfc3339(text)
    except InvalidArgument:  # not a time: ps reads this record whole instead
        return None


def ps_values(rec: dict) -> tuple:
    """The ``ps_*`` column values of a record, in :data:`PS_COLUMNS` order: (status,
    exit code, created, started, finished (unix seconds, None for the zero time), image
    as ps shows it untruncated (Config.Image, else the image ID), command text
    (:func:`command_text`), PORTS text)."""
    st = rec["State"]
    ports = (rec.get("NetworkSettings") or {}).get("Ports")
    if ports:
        from skiff.network.glue import ps_ports

        ports_text = ps_ports(rec.get("NetworkSettings"))
    else:
        ports_text = ""
    return (st["Status"], int(st.get("ExitCode") or 0), _unix(rec.get("Created")),
            _unix(st.get("StartedAt")), _unix(st.get("FinishedAt")),
            (rec.get("Config") or {}).get("Image") or rec.get("Image") or "",
            command_text(rec), ports_text)


def ps_rows(db: sqlite3.Connection) -> list[tuple]:
    """Every container as ``(id, name, ps_status, ps_exit, ps_created, ps_started,
    ps_finished, ps_image, ps_command, ps_ports)``, newest first (``docker ps`` order).
    ps_status is None for a row written before migration 6 (read its record instead)."""
    cur = db.cursor()
    cur.row_factory = None  # plain tuples: ~2x faster than sqlite3.Row for 1,000 rows
    return cur.execute(f"SELECT id, name, {PS_COLUMNS} FROM containers "
                       "ORDER BY created DESC, rowid DESC").fetchall()


def update(db: sqlite3.Connection, cid: str, fn) -> dict | None:
    """Read-modify-write one record in a transaction: ``fn(rec)`` edits it in place.

    Returns the new record, or None when the container is gone (fn not called).
    """
    with transaction(db):
        rec = get(db, cid)
        if rec is None:
            return None
        fn(rec)
        db.execute(f"UPDATE containers SET data = ?, name = ?, {_PS_SET} WHERE id = ?",
                   (json.dumps(rec), rec["Name"].lstrip("/"), *ps_values(rec), cid))
        return rec


def delete(db: sqlite3.Connection, cid: str) -> None:
    """Drop the record (no error when it is already gone)."""
    with transaction(db):
        db.execute("DELETE FROM containers WHERE id = ?", (cid,))


def command_text(rec: dict) -> str:
    """``docker ps``'s COMMAND before quoting: Path then Args, args with spaces in '…'."""
    args = [f"'{a}'" if " " in a else a for a in rec.get("Args") or []]
    return " ".join([rec.get("Path", ""), *args]) if args else rec.get("Path", "")


def status_text(rec: dict, now: float | None = None) -> str:
    """``docker ps`` STATUS (``Up 3 seconds``, ``Exited (0) 2 minutes ago``, ``Created``)."""
    from skiff.format.humanize import status_text as st

    s = rec["State"]
    started = None if s["StartedAt"] == ZERO_TIME else s["StartedAt"]
    finished = None if s["FinishedAt"] == ZERO_TIME else s["FinishedAt"]
    return st(s["Status"], s.get("ExitCode", 0), started, finished, now=now)
