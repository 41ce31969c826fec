"""The store's metadata database: SQLite in WAL mode, shared by every skiff process.

One file, ``<root>/metadata.db``. Several skiff processes may use it at once: writers take
``BEGIN IMMEDIATE`` (through :func:`transaction`) and wait up to ``BUSY_TIMEOUT_S`` for the
lock. The schema is an ordered list of migrations; ``PRAGMA user_version`` records how many
have run. Each subsystem owns its tables:

    images, tags, repo_digests      skiff.images   (image ID = digest of the image config)
    snapshots                       skiff.snapshots (committed ones keyed by chainID)
    containers                      skiff.runtime  (``data`` holds the JSON record,
                                                    ``ps_*`` what ps shows of it)
    leases, lease_resources         GC roots for builds and pulls in flight
    volumes                         skiff.runtime.volumes
    build_cache                     skiff.build
    networks, network_endpoints,    skiff.network (bridges, IP allocations, published ports)
    port_bindings

Adding a table or column means appending a migration (never editing a shipped one) and a
test that starts from a database at the previous version (tests/unit/test_metadata.py).
"""

from __future__ import annotations

import os
import sys


def _load_sqlite3():
    """The ``_sqlite3`` C module, imported without the ``functools`` package.

    The C module itself: the ``sqlite3`` package's only addition (dbapi2) is the deprecated
    default date/datetime adapters, whose ``import datetime`` costs every ``skiff run``
    ~1.5 ms; its Connection, Row and error classes are these very objects.

    Its initialisation takes ``functools.lru_cache`` for each connection's statement cache,
    and ``functools`` imports ``collections``, ``operator``, ``keyword`` and ``reprlib``:
    ~2.5 ms of every command that opens the store. While the C module is imported, and only
    then, ``sys.modules["functools"]`` is a stand-in whose ``lru_cache`` builds the same
    C ``_lru_cache_wrapper`` that ``functools.lru_cache`` builds (CPython 3.11
    Lib/functools.py), so statements are cached exactly as before; a later ``import
    functools`` gets the real module. Where ``functools`` is already loaded (tests, the
    builder) it is used as is.
    """
    if "functools" in sys.modules:
        import _sqlite3

        return _sqlite3
    import _functools

    def lru_cache(maxsize=128, typed=False):
        maxsize = max(maxsize, 0) if isinstance(maxsize, int) else maxsize
        return lambda fn: _functools._lru_cache_wrapper(fn, maxsize, typed, _cache_info)

    stand_in = type(sys)("functools")
    stand_in.lru_cache = lru_cache
    sys.modules["functools"] = stand_in
    try:
        import _sqlite3
    finally:
        if sys.modules.get("functools") is stand_in:
            del sys.modules["functools"]
    return _sqlite3


def _cache_info(hits: int, misses: int, maxsize: int | None, currsize: int) -> tuple:
    """``cache_info()`` of a statement cache (functools' CacheInfo fields, as a tuple)."""
    return hits, misses, maxsize, currsize


sqlite3 = _load_sqlite3()

TYPE_CHECKING = False  # (not typing's: `run` starts faster without importing typing)
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

BUSY_TIMEOUT_S = 30.0


def _run_script(db: sqlite3.Connection, sql: str) -> None:
    """Run ``;``-separated statements inside the caller's transaction.

    (``executescript`` would COMMIT first, breaking the migration's atomicity.)
    """
    for stmt in sql.split(";"):
        if stmt.strip():
            db.execute(stmt)


def _m1_initial(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE images (
            id                  TEXT PRIMARY KEY,   -- sha256:<hex> of the image config
            manifest_digest     TEXT NOT NULL,      -- the manifest this image was stored under
            manifest_media_type TEXT NOT NULL,
            manifest_size       INTEGER NOT NULL,
            added               REAL NOT NULL,      -- unix time the store first saw it
            parent              TEXT                -- build parent image ID, if any
        );
        CREATE TABLE tags (
            name     TEXT PRIMARY KEY,              -- normalized: docker.io/library/busybox:latest
            image_id TEXT NOT NULL REFERENCES images(id),
            updated  REAL NOT NULL
        );
        CREATE INDEX tags_image ON tags(image_id);
        CREATE TABLE repo_digests (
            name     TEXT PRIMARY KEY,              -- normalized repo@sha256:<manifest hex>
            image_id TEXT NOT NULL REFERENCES images(id)
        );
        CREATE INDEX repo_digests_image ON repo_digests(image_id);
        CREATE TABLE snapshots (
            key      TEXT PRIMARY KEY,              -- chainID (committed) or an active key
            id       INTEGER NOT NULL UNIQUE,       -- directory number under snapshots/
            kind     TEXT NOT NULL CHECK (kind IN ('committed', 'active', 'view')),
            parent   TEXT REFERENCES snapshots(key),
            created  REAL NOT NULL,
            size     INTEGER,                       -- bytes on disk, when known
            labels   TEXT NOT NULL DEFAULT '{}'     -- JSON object
        );
        CREATE INDEX snapshots_parent ON snapshots(parent);
        CREATE TABLE containers (
            id       TEXT PRIMARY KEY,              -- 64 hex characters
            name     TEXT NOT NULL UNIQUE,          -- without Docker's leading '/'
            image_id TEXT,                          -- image the container was created from
            created  REAL NOT NULL,
            data     TEXT NOT NULL                  -- JSON record (config, host config, state)
        );
        CREATE INDEX containers_image ON containers(image_id);
        CREATE TABLE leases (
            id       TEXT PRIMARY KEY,
            created  REAL NOT NULL,
            expires  REAL,                          -- unix time, NULL = until deleted
            labels   TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE lease_resources (
            lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
            kind     TEXT NOT NULL,                 -- 'content' | 'snapshot' | 'ingest'
            ref      TEXT NOT NULL,
            PRIMARY KEY (lease_id, kind, ref)
        );
        CREATE TABLE volumes (
            name     TEXT PRIMARY KEY,
            driver   TEXT NOT NULL DEFAULT 'local',
            created  REAL NOT NULL,
            labels   TEXT NOT NULL DEFAULT '{}',
            options  TEXT NOT NULL DEFAULT '{}'
        );
        """
    )


def _m2_layer_sizes(db: sqlite3.Connection) -> None:
    """skiff.images: uncompressed size of each layer, by diffID (image Size, history SIZE)."""
    _run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS layer_sizes (
            diff_id  TEXT PRIMARY KEY,              -- sha256 of the uncompressed layer tar
            size     INTEGER NOT NULL               -- bytes of that tar
        );
        ALTER TABLE images ADD COLUMN last_tag_time REAL
        """
    )


def _m3_layer_unpacked_size(db: sqlite3.Connection) -> None:
    """skiff.images: a layer's size as Docker counts it (file bytes once unpacked)."""
    db.execute("ALTER TABLE layer_sizes ADD COLUMN unpacked INTEGER")


def _m4_build_cache(db: sqlite3.Connection) -> None:
    """skiff.build: cache records, step histories, context checksums, builds and RUN logs
    (columns documented in skiff/build/records.py)."""
    _run_script(
        db,
        """
        CREATE TABLE build_cache (
            key        TEXT PRIMARY KEY,
            created    REAL NOT NULL,
            last_used  REAL NOT NULL,
            layer      TEXT,
            chain_id   TEXT,
            config     TEXT NOT NULL
        );
        CREATE TABLE build_steps (
            step_id    TEXT PRIMARY KEY,
            inputs     TEXT NOT NULL,
            updated    REAL NOT NULL
        );
        CREATE TABLE build_checksums (
            context    TEXT NOT NULL,
            path       TEXT NOT NULL,
            ino        INTEGER NOT NULL,
            size       INTEGER NOT NULL,
            mtime_ns   INTEGER NOT NULL,
            ctime_ns   INTEGER NOT NULL,
            digest     TEXT NOT NULL,
            PRIMARY KEY (context, path)
        );
        CREATE TABLE builds (
            id         TEXT PRIMARY KEY,
            created    REAL NOT NULL,
            image_id   TEXT,
            tags       TEXT NOT NULL DEFAULT '[]',
            report     TEXT NOT NULL
        );
        CREATE INDEX builds_image ON builds(image_id);
        CREATE TABLE build_logs (
            key        TEXT PRIMARY KEY,
            log        BLOB NOT NULL
        )
        """
    )


def _m5_networks(db: sqlite3.Connection) -> None:
    """skiff.network: networks, endpoints (one IP per container per network, never two
    holders) and published ports (columns documented in skiff/network/store.py)."""
    _run_script(
        db,
        """
        CREATE TABLE networks (
            id         TEXT PRIMARY KEY,            -- 64 hex characters
            name       TEXT NOT NULL UNIQUE,
            driver     TEXT NOT NULL,               -- 'bridge' | 'host' | 'null'
            created    REAL NOT NULL,
            subnet     TEXT,                        -- CIDR, NULL for host/none
            gateway    TEXT,
            bridge     TEXT,                        -- Linux bridge name
            internal   INTEGER NOT NULL DEFAULT 0,
            last_ip    TEXT,                        -- last address handed out (round robin)
            data       TEXT NOT NULL DEFAULT '{}'   -- JSON: labels, options
        );
        CREATE TABLE network_endpoints (
            network_id   TEXT NOT NULL REFERENCES networks(id),
            container_id TEXT NOT NULL,
            address      TEXT NOT NULL,             -- IPv4 without prefix length
            created      REAL NOT NULL,
            data         TEXT NOT NULL DEFAULT '{}',-- JSON: mac, aliases, host_veth, name
            PRIMARY KEY (network_id, container_id),
            UNIQUE (network_id, address)
        );
        CREATE INDEX network_endpoints_container ON network_endpoints(container_id);
        CREATE TABLE port_bindings (
            host_ip        TEXT NOT NULL,           -- '' = every host address
            host_port      INTEGER NOT NULL,
            proto          TEXT NOT NULL,           -- 'tcp' | 'udp'
            container_id   TEXT NOT NULL,
            container_port INTEGER NOT NULL,
            network_id     TEXT NOT NULL,
            PRIMARY KEY (host_ip, host_port, proto)
        );
        CREATE INDEX port_bindings_container ON port_bindings(container_id)
        """
    )


def _m6_container_ps(db: sqlite3.Connection) -> None:
    """skiff.runtime: what ``ps`` shows of a container, in plain columns beside its JSON
    record, so listing 1,000 containers parses no JSON: ps_status (State.Status), ps_exit
    (State.ExitCode), ps_created / ps_started / ps_finished (unix seconds; NULL for Go's
    zero time), ps_image (Config.Image or the image ID), ps_command (COMMAND before
    quoting), ps_ports (PORTS), and the covering index ``containers_ps`` over them. See
    skiff/runtime/records.py ``ps_values``. Rows written before stay NULL there and are
    listed from their JSON until their next write.
    (No SQL comments here: ADD COLUMN copies the text into the table's CREATE statement.)"""
    for col in ("ps_status TEXT", "ps_exit INTEGER", "ps_created REAL", "ps_started REAL",
                "ps_finished REAL", "ps_image TEXT", "ps_command TEXT", "ps_ports TEXT"):
        db.execute(f"ALTER TABLE containers ADD COLUMN {col}")
    # Added columns sit after the large JSON record (overflow pages): a covering index
    # lets the ps query read them without touching the records (halves its time).
    db.execute("CREATE INDEX containers_ps ON containers(created, name, ps_status, ps_exit, "
               "ps_created, ps_started, ps_finished, ps_image, ps_command, ps_ports, id)")


# Ordered; index i holds the migration that takes user_version i to i+1.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _m1_initial,
    _m2_layer_sizes,
    _m3_layer_unpacked_size,
    _m4_build_cache,
    _m5_networks,
    _m6_container_ps,
]

SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: str | Path, *, migrate: bool = True,
            closed_by_exit: bool = False) -> sqlite3.Connection:
    """Open (creating if needed) the metadata database at ``path`` and bring its schema up.

    The connection is in autocommit mode (``isolation_level=None``); group writes with
    :func:`transaction`. Rows come back as :class:`sqlite3.Row`. ``closed_by_exit``: the
    caller never closes it (the process ends with ``os._exit``), so there is no close
    to keep from checkpointing: the ctypes setup of :func:`_no_checkpoint_on_close`
    (~1 ms) is skipped.

    Raises:
        sqlite3.DatabaseError: the file is not a SQLite database, or its schema is newer
            than this skiff knows (``user_version > SCHEMA_VERSION``).
    """
    db = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                         check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        _switch_to_wal(db)
    if not closed_by_exit:
        _no_checkpoint_on_close(db, str(path))
    if migrate:
        upgrade(db)
    return db


SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE = 1006
# Every process's first connection rebuilds the WAL's index by reading the whole WAL
# (no other connection keeps the -shm valid between skiff commands): ~2.9 ms per open
# with SQLite's default 1,000-page threshold (a WAL near 4 MB), ~0.8 ms when it is
# small. A run writes ~27 pages, so at 128 a commit checkpoints every ~5 runs (two
# fsyncs); measured over 150 open + 3-commit cycles: 3.7-4.1 -> 2.7 ms wall, 3.0-3.4 ->
# 2.0 ms CPU per cycle.
WAL_AUTOCHECKPOINT_PAGES = 128
_sqlite_lib = None


def _no_checkpoint_on_close(db: sqlite3.Connection, path: str) -> None:
    """Keep the WAL when this connection closes instead of checkpointing it into the
    database (``SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE``).

    Every skiff command is a short process; the last close of a WAL database checkpoints,
    fsyncs and deletes the WAL, and the next writer recreates it: 10-50 ms per command
    (``skiff run``, ``ps``). Leaving the WAL is exactly the state a killed process leaves,
    which SQLite recovers by design; commits still checkpoint once the WAL passes
    ``wal_autocheckpoint`` pages, so it stays bounded. Python 3.12 has
    ``Connection.setconfig``; on 3.11 the option is set through ctypes on the connection's
    ``sqlite3*`` (the first field after the object header), checked against
    ``sqlite3_db_filename`` first, and silently skipped if anything does not match.
    """
    setconfig = getattr(db, "setconfig", None)
    if setconfig is not None:  # Python >= 3.12
        setconfig(SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, True)
        return
    global _sqlite_lib
    try:
        import ctypes

        if _sqlite_lib is None:
            import _sqlite3

            lib = ctypes.CDLL(_sqlite3.__file__)
            lib.sqlite3_db_filename.restype = ctypes.c_char_p
            lib.sqlite3_db_filename.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.sqlite3_db_config.restype = ctypes.c_int
            _sqlite_lib = lib
        lib = _sqlite_lib
        handle = ctypes.c_void_p.from_address(id(db) + object.__basicsize__).value
        if not handle:
            return
        name = lib.sqlite3_db_filename(handle, b"main")
        if not name or os.path.realpath(os.fsdecode(name)) != os.path.realpath(path):
            return
        out = ctypes.c_int(-1)
        lib.sqlite3_db_config(ctypes.c_void_p(handle), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                              ctypes.c_int(1), ctypes.byref(out))
    except (ImportError, OSError, AttributeError, ValueError):
        return


def _switch_to_wal(db: sqlite3.Connection) -> None:
    """Put a new database in WAL mode. Two processes opening a fresh store at once race on
    this switch, and SQLite answers "database is locked" at once instead of waiting on the
    busy timeout, so retry (every 10 ms) until the timeout runs out."""
    import time

    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def upgrade(db: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Run the migrations from the database's user_version up to ``target``; return it.

    Each migration runs in its own IMMEDIATE transaction together with the version bump, so
    a crash leaves the database at a whole version. Concurrent processes serialize on the lock.
    """
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"metadata schema version {version} is newer than this skiff ({SCHEMA_VERSION})")
    while version < target:
        with transaction(db):
            # Re-read under the lock: another process may have migrated meanwhile.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version >= target:
                break
            MIGRATIONS[version](db)
            version += 1
            db.execute(f"PRAGMA user_version = {version}")
    return version


class transaction:  # noqa: N801 (a context manager used like a function)
    """``with transaction(db):`` ``BEGIN IMMEDIATE`` … ``COMMIT``, rolling back if the
    block raises; the ``as`` target is ``db``.

    Nested use is allowed: an inner block joins the outer transaction. (A class, not
    ``contextlib.contextmanager``: the run path does not import contextlib.)
    """

    __slots__ = ("db", "own")

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.own = False

    def __enter__(self) -> sqlite3.Connection:
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self.own = True
        return self.db

    def __exit__(self, typ, e, tb) -> bool:
        if self.own:
            self.own = False
            self.db.execute("COMMIT" if typ is None else "ROLLBACK")
        return False
