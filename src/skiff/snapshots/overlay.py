"""The overlay snapshotter: layer stack levels as directories, handed out as mounts.

Vocabulary (containerd core/snapshots/snapshotter.go):

- a **committed** snapshot is a read-only layer stack level, named (by unpack: its chainID);
  it can be the parent of others;
- an **active** snapshot (``prepare``) is a writable level on top of a committed parent,
  identified by a *key*; ``commit(name, key)`` turns it into a committed one;
- a **view** (``view``) is a read-only active snapshot: it cannot be committed.

Lifecycle, as call sequences:

- importing a layer: ``prepare(key, parent)`` → extract into ``upperdir(key)`` →
  ``commit(chainID, key)`` (this is :func:`skiff.snapshots.unpacker.unpack`);
- running a container: ``prepare(container_id, image_chain_id)`` → ``mount_all(mounts,
  rootfs)`` → run → ``unmount(rootfs)`` → ``remove(container_id)``;
- building a step: prepare → mount → run → unmount → ``write_layer(upperdir(key), ...,
  lower=lowerdirs(key))`` → ``commit(name, key)``.

On disk (DESIGN.md "On disk"): ``<root>/snapshots/<n>/fs`` holds the level's files (the
overlay upperdir while active), ``<n>/work`` the overlay workdir of an active snapshot.
``<n>`` is the record's ``id`` in the ``snapshots`` table (skiff.metadata). A new snapshot
is assembled in ``snapshots/new-XXXX`` and renamed to ``<n>`` inside the SQLite transaction
that records it, so a crash leaves at most an orphan directory that :meth:`cleanup` deletes.
``remove`` drops the record, then deletes the directory (or leaves it to ``cleanup`` if that
fails).

Mounts (containerd plugins/snapshots/overlay): an active snapshot without parent is a rw bind
of ``fs``; with parents it is one overlay with ``lowerdir`` newest first, ``upperdir=fs`` and
``workdir=work``. A view on nothing is a ro bind of its (empty) ``fs``, on one level a ro bind
of that level, on more a read-only overlay of the lowerdirs.
"""

from __future__ import annotations

import os
import time

from skiff import jsonio as json  # (json.loads/dumps without importing re)
from skiff.config import Config
from skiff.errors import AlreadyExists, Conflict, InvalidArgument, NotFound, map_exceptions
from skiff.metadata import transaction
from skiff.runtime.value import factory, value
from skiff.snapshots.mount import Mount

TYPE_CHECKING = False  # (not typing's: `run` starts faster without importing typing)
if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from skiff.snapshots.usage import Usage


class Kind(str):
    """The kind of a snapshot (the ``kind`` column): ``Kind.COMMITTED`` (read-only, named,
    may be a parent), ``Kind.ACTIVE`` (writable, keyed, may be committed), ``Kind.VIEW``
    (read-only, keyed, may not be committed). Strings, equal to the column's text, as a
    StrEnum's members are; ``Kind(text)`` gives the member or raises ValueError. (Not
    enum.StrEnum: the run path does not import enum.)"""

    __slots__ = ()
    COMMITTED: Kind
    ACTIVE: Kind
    VIEW: Kind

    def __new__(cls, value: str) -> Kind:
        try:
            return _KINDS[value]
        except KeyError:
            raise ValueError(f"{value!r} is not a valid Kind") from None

    def __repr__(self) -> str:
        return f"<Kind.{str.upper(self)}: {str.__repr__(self)}>"


_KINDS = {v: str.__new__(Kind, v) for v in ("committed", "active", "view")}
Kind.COMMITTED, Kind.ACTIVE, Kind.VIEW = _KINDS["committed"], _KINDS["active"], _KINDS["view"]


@value
class Info:
    """A snapshot record.

    Attributes:
        key (str): its name (committed) or key (active/view).
        kind (Kind): committed, active or view.
        parent (str | None): the committed snapshot it sits on.
        id (int): its directory number under ``<root>/snapshots``.
        created (float): unix time it was prepared.
        size (int | None): disk usage in bytes recorded at commit (None while active).
        labels (dict[str, str]): free-form labels given at prepare/view.
    """

    key: str
    kind: Kind
    parent: str | None
    id: int
    created: float
    size: int | None = None
    labels: dict = factory(dict)


_RW_OPTIONS: tuple[str, ...] | None = None


def _rw_overlay_options() -> tuple[str, ...]:
    """Options that keep a writable overlay's upperdir diffable into a layer tar.

    With ``redirect_dir`` or ``metacopy`` on (some distributions' kernel default), a renamed
    directory or a chmod'ed file is recorded in the upperdir as an xattr pointing into a
    lower layer instead of as data — nothing a tar can carry. Each is switched off when the
    kernel knows the option (its module parameter exists). ``index=off`` lets the same
    lower layers be mounted under several uppers, as containerd and Docker mount them.
    """
    global _RW_OPTIONS
    if _RW_OPTIONS is None:
        opts = []
        for name in ("index", "redirect_dir", "metacopy"):
            if os.path.exists(f"/sys/module/overlay/parameters/{name}"):
                opts.append(f"{name}=off")
        _RW_OPTIONS = tuple(opts)
    return _RW_OPTIONS


def _rmtree(path: str | os.PathLike[str]) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _info(row: sqlite3.Row) -> Info:
    return Info(key=row["key"], kind=Kind(row["kind"]), parent=row["parent"], id=row["id"],
                created=row["created"], size=row["size"], labels=json.loads(row["labels"]))


class Snapshotter:
    """Overlay snapshotter over ``config.snapshots_dir`` and the ``snapshots`` table.

    Args:
        config: the engine's Config (``snapshots_dir`` is created if missing).
        db: a connection from :func:`skiff.metadata.connect` (shared with other services).

    Safe with several skiff processes at once: every change is one SQLite IMMEDIATE
    transaction; directories appear by rename inside it.
    """

    def __init__(self, config: Config, db: sqlite3.Connection):
        self.config = config
        self.db = db
        # text: ``skiff run``'s path (prepare, mounts, remove) has no pathlib (~4-8 ms)
        self._root = config.at("snapshots")
        os.makedirs(self._root, exist_ok=True)

    @property
    def root(self) -> Path:
        """``<store>/snapshots`` (a Path)."""
        from pathlib import Path

        return Path(self._root)

    # -- paths ---------------------------------------------------------------------------
    def _dir(self, sid: int) -> str:
        return os.path.join(self._root, str(sid))

    def directory(self, key: str) -> str:
        """Snapshot ``key``'s own directory (its ``fs`` and ``work`` are inside), as text
        (no pathlib on the run path).

        Raises:
            NotFound: no snapshot ``key``.
        """
        return self._dir(self._row(key)["id"])

    def upperdir(self, key: str) -> Path:
        """The ``fs`` directory of snapshot ``key``: the overlay upperdir while it is active
        (write a layer into it, or diff it), its files once committed.

        Raises:
            NotFound: no snapshot ``key``.
        """
        from pathlib import Path

        return Path(self._dir(self._row(key)["id"]), "fs")

    def workdir(self, key: str) -> Path:
        """The overlay workdir of the active snapshot ``key``."""
        from pathlib import Path

        return Path(self._dir(self._row(key)["id"]), "work")

    def lowerdirs(self, key: str) -> list[Path]:
        """The ``fs`` directories of ``key``'s parents, newest first (empty without parent).

        What ``write_layer(..., lower=)`` and ``changes()`` need.
        """
        row = self._row(key)
        from pathlib import Path

        return [Path(self._dir(sid), "fs") for _, sid in self._chain(row["parent"])]

    # -- queries -------------------------------------------------------------------------
    def _get(self, key: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM snapshots WHERE key = ?", (key,)).fetchone()

    def _row(self, key: str) -> sqlite3.Row:
        row = self._get(key)
        if row is None:
            raise NotFound(f"snapshot {key}", "does not exist")
        return row

    def _chain(self, key: str | None) -> list[tuple[str, int]]:
        """(key, id) of ``key`` and its ancestors, newest first."""
        if key is None:
            return []
        rows = self.db.execute(
            """WITH RECURSIVE chain(key, id, parent, depth) AS (
                   SELECT key, id, parent, 0 FROM snapshots WHERE key = ?
                   UNION ALL
                   SELECT s.key, s.id, s.parent, c.depth + 1
                   FROM snapshots s JOIN chain c ON s.key = c.parent)
               SELECT key, id FROM chain ORDER BY depth""", (key,)).fetchall()
        return [(r["key"], r["id"]) for r in rows]

    def exists(self, key: str) -> bool:
        """True when a snapshot (any kind) named/keyed ``key`` exists."""
        return self._get(key) is not None

    def stat(self, key: str) -> Info:
        """The record of snapshot ``key``.

        Raises:
            NotFound: no snapshot ``key``.
        """
        return _info(self._row(key))

    def list(self) -> list[Info]:
        """Every snapshot record, oldest first."""
        rows = self.db.execute("SELECT * FROM snapshots ORDER BY id").fetchall()
        return [_info(r) for r in rows]

    # -- create --------------------------------------------------------------------------
    def prepare(self, key: str, parent: str | None = None, *,
                labels: dict[str, str] | None = None) -> list[Mount]:
        """Create the active (writable) snapshot ``key`` on the committed ``parent``.

        Returns:
            The mounts that give its root filesystem (see the module docstring).

        Raises:
            AlreadyExists: a snapshot ``key`` exists.
            NotFound: ``parent`` does not exist.
            InvalidArgument: ``parent`` is not committed, or ``key`` is empty.
        """
        return self._create(Kind.ACTIVE, key, parent, labels)

    def view(self, key: str, parent: str | None = None, *,
             labels: dict[str, str] | None = None) -> list[Mount]:
        """Create the read-only snapshot ``key`` on ``parent`` (errors as :meth:`prepare`)."""
        return self._create(Kind.VIEW, key, parent, labels)

    def _create(self, kind: Kind, key: str, parent: str | None,
                labels: dict[str, str] | None) -> list[Mount]:
        if not key:
            raise InvalidArgument("snapshot key", "must not be empty")
        tmp: str | None = None
        with map_exceptions(f"snapshot {key}"):
            try:
                with transaction(self.db):
                    if self._get(key) is not None:
                        raise AlreadyExists(f"snapshot {key}", "already exists")
                    if parent is not None:
                        p = self._get(parent)
                        if p is None:
                            raise NotFound(f"snapshot {parent}", "parent does not exist")
                        if p["kind"] != Kind.COMMITTED:
                            raise InvalidArgument(f"snapshot {parent}",
                                                  "parent is not a committed snapshot")
                    sid = self.db.execute(
                        "SELECT COALESCE(MAX(id), 0) + 1 FROM snapshots").fetchone()[0]
                    while os.path.lexists(self._dir(sid)):  # an orphan awaiting cleanup()
                        sid += 1
                    tmp = os.path.join(self._root, f"new-{os.urandom(6).hex()}")
                    os.mkdir(tmp, 0o700)
                    os.mkdir(os.path.join(tmp, "fs"), 0o755)
                    if kind == Kind.ACTIVE:
                        os.mkdir(os.path.join(tmp, "work"), 0o711)
                    self.db.execute(
                        "INSERT INTO snapshots (key, id, kind, parent, created, labels) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (key, sid, str(kind), parent, time.time(),
                         json.dumps(labels or {}, sort_keys=True)))
                    os.rename(tmp, self._dir(sid))
                    tmp = None
            finally:
                if tmp is not None:
                    _rmtree(tmp)
        return self.mounts(key)

    def commit(self, name: str, key: str) -> None:
        """Turn the active snapshot ``key`` into the committed snapshot ``name``.

        Its files stay where they are (same directory); the record is renamed and its disk
        usage recorded. The caller must have unmounted it.

        Raises:
            NotFound: no snapshot ``key``.
            InvalidArgument: ``key`` is not active (a view or already committed).
            AlreadyExists: a snapshot ``name`` exists (another unpack won the race).
        """
        row = self._row(key)
        if row["kind"] != Kind.ACTIVE:
            raise InvalidArgument(f"snapshot {key}", f"is {row['kind']}, not active")
        from skiff.snapshots.usage import disk_usage

        size = disk_usage(self._dir(row["id"])).size
        with map_exceptions(f"snapshot {name}"), transaction(self.db):
            row = self._row(key)
            if row["kind"] != Kind.ACTIVE:
                raise InvalidArgument(f"snapshot {key}", f"is {row['kind']}, not active")
            if name != key and self._get(name) is not None:
                raise AlreadyExists(f"snapshot {name}", "already exists")
            self.db.execute("UPDATE snapshots SET key = ?, kind = ?, size = ? WHERE key = ?",
                            (name, str(Kind.COMMITTED), size, key))

    # -- remove --------------------------------------------------------------------------
    def remove(self, key: str, *, delete_dir: bool = True) -> str | None:
        """Remove snapshot ``key``: drop its record, then delete its directory.

        The directory is deleted after the transaction; if that fails (or the process
        dies) it is an orphan that :meth:`cleanup` deletes. The caller must have unmounted it.
        With ``delete_dir=False`` the directory is only renamed to such an ``rm-*`` orphan
        and its path returned as text (None if there was none) for the caller to delete when it
        suits it (``run --rm`` does it in a detached child, after the command returns).

        Raises:
            NotFound: no snapshot ``key``.
            Conflict: other snapshots have ``key`` as parent.
        """
        with map_exceptions(f"snapshot {key}"), transaction(self.db):
            row = self._row(key)
            n = self.db.execute("SELECT COUNT(*) FROM snapshots WHERE parent = ?",
                                (key,)).fetchone()[0]
            if n:
                raise Conflict(f"snapshot {key}",
                               f"cannot remove a snapshot with {n} child snapshot(s)")
            self.db.execute("DELETE FROM snapshots WHERE key = ?", (key,))
        return self._delete_dir(self._dir(row["id"]), delete=delete_dir)

    def _delete_dir(self, d: str, *, delete: bool = True) -> str | None:
        gone = os.path.join(self._root, f"rm-{os.path.basename(d)}-{os.urandom(4).hex()}")
        try:
            os.rename(d, gone)
        except FileNotFoundError:
            return None
        except OSError:
            return None  # left for cleanup()
        if not delete:
            return gone
        _rmtree(gone)
        return None

    def cleanup(self) -> int:
        """Delete directories under ``snapshots/`` that no record owns (crash leftovers,
        interrupted removes, half-assembled ``new-*`` dirs).

        Runs under the write lock so it never races a prepare in progress.

        Returns:
            The number of directories deleted.
        """
        doomed: list[str] = []
        with map_exceptions("snapshot cleanup"), transaction(self.db):
            ids = {r[0] for r in self.db.execute("SELECT id FROM snapshots")}
            for e in os.scandir(self._root):
                if e.name == "locks":
                    continue
                if e.name.isdigit() and int(e.name) in ids:
                    continue
                if e.name.startswith("rm-"):
                    doomed.append(e.path)
                    continue
                gone = os.path.join(self._root, f"rm-{e.name}-{os.urandom(4).hex()}")
                os.rename(e.path, gone)
                doomed.append(gone)
        for d in doomed:
            if os.path.isdir(d) and not os.path.islink(d):
                _rmtree(d)
            else:
                try:
                    os.unlink(d)
                except FileNotFoundError:
                    pass
        return len(doomed)

    def prune(self, keep: set[str]) -> list[str]:
        """Remove image layer levels — committed snapshots named by a chainID
        (``sha256:...``, as unpack and build commit them) — that are not in ``keep`` and that
        no other snapshot sits on; repeat up the chain. What ``rmi`` and ``image prune``
        call with :meth:`skiff.images.ImageService.chain_ids_in_use`, so an image's layers
        leave the disk with its last user.

        Active snapshots (containers, build steps, unpacks in progress) and views are never
        touched, and neither is anything they sit on.

        Returns:
            The keys removed, children before parents.
        """
        removed: list[str] = []
        while True:
            rows = self.db.execute(
                """SELECT key FROM snapshots s WHERE kind = 'committed'
                   AND key LIKE 'sha256:%'
                   AND NOT EXISTS (SELECT 1 FROM snapshots c WHERE c.parent = s.key)
                   ORDER BY id DESC""").fetchall()
            doomed = [r[0] for r in rows if r[0] not in keep]
            if not doomed:
                return removed
            for key in doomed:
                try:
                    self.remove(key)
                except (NotFound, Conflict):
                    continue  # raced with another process
                removed.append(key)
                # unpack's lock file for this level (an unpack racing us on a fresh lock
                # file at worst commits second and drops its copy: AlreadyExists)
                try:
                    os.unlink(os.path.join(self._root, "locks", key.split(":", 1)[1]))
                except OSError:
                    pass

    # -- mounts and usage ----------------------------------------------------------------
    def mounts(self, key: str) -> list[Mount]:
        """The mounts giving snapshot ``key``'s root filesystem (module docstring rules).

        A committed snapshot is mounted read-only like a view of itself.

        Raises:
            NotFound: no snapshot ``key``.
        """
        row = self._row(key)
        d = self._dir(row["id"])
        fs = os.path.join(d, "fs")
        lowers = [os.path.join(self._dir(sid), "fs") for _, sid in self._chain(row["parent"])]
        kind = row["kind"]
        if kind == Kind.ACTIVE:
            if not lowers:
                return [Mount("bind", fs, ("rbind", "rw"))]
            return [Mount("overlay", "overlay", (*_rw_overlay_options(),
                                                 f"workdir={os.path.join(d, 'work')}", f"upperdir={fs}",
                                                 "lowerdir=" + ":".join(lowers)))]
        if kind == Kind.COMMITTED:
            lowers = [fs, *lowers]
            fs_ro = lowers[0]
        else:
            fs_ro = lowers[0] if lowers else fs
        if len(lowers) <= 1:
            return [Mount("bind", fs_ro, ("rbind", "ro"))]
        return [Mount("overlay", "overlay", ("lowerdir=" + ":".join(lowers),))]

    def usage(self, key: str) -> int:
        """Disk usage of snapshot ``key`` in bytes: its own directory only (not its parents),
        allocated blocks as ``du`` counts them, each hardlinked inode once.

        Committed snapshots report the figure recorded at commit.

        Raises:
            NotFound: no snapshot ``key``.
        """
        row = self._row(key)
        if row["kind"] == Kind.COMMITTED and row["size"] is not None:
            return int(row["size"])
        from skiff.snapshots.usage import disk_usage

        return disk_usage(self._dir(row["id"])).size

    def usage_detail(self, key: str) -> Usage:
        """Disk usage and inode count of ``key``'s directory, measured now."""
        from skiff.snapshots.usage import disk_usage

        return disk_usage(self._dir(self._row(key)["id"]))
