"""What a killed monitor leaves behind: runc states that no container record owns.

A container's monitor runs ``runc delete --force`` once the exit has been reported; with
``run --rm`` attached, the command removes the record first, on the exit message. A
monitor killed in between (kill -9, OOM killer) leaves runc's state directory (under
skiff's runc ``--root``) and runc's cgroups for a container nobody knows any more. The
next command that reads every record (``ps``, ``container prune``, ``system prune``) or
removes one (``rm``) calls :func:`sweep_runc_states`: one ``listdir`` of runc's root
when there is nothing to do, so it costs nothing on the ``run --rm`` path, which never
calls it.

Only states whose bundle is this store's ``containers/<id>`` are touched (a build's
one-shot RUN containers share runc's root, with no record, and are left alone); and the
record is looked up again after the state was seen: a record is written before its
container's first start, so a state seen without one after that is an orphan, never a
container being started.
"""

from __future__ import annotations

import os

from skiff import jsonio as json
from skiff.errors import SkiffError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable


def _bundle_of(state_dir: str) -> str | None:
    """The ``bundle=`` label of runc's ``state.json`` in ``state_dir`` (None: unreadable,
    e.g. a state runc is still writing)."""
    try:
        with open(os.path.join(state_dir, "state.json")) as f:
            st = json.load(f)
    except (OSError, ValueError):
        return None
    for label in (st.get("config") or {}).get("labels") or ():
        if isinstance(label, str) and label.startswith("bundle="):
            return label[len("bundle="):]
    return None


def runc_root(config) -> str:
    """skiff.runtime.runc.state_root of the store, without importing that module (``ps``
    calls :func:`sweep_runc_states` on every run; a unit test holds the two equal)."""
    from skiff.hexdigest import sha256_hex

    return f"/run/skiff-runc/{sha256_hex(os.fspath(getattr(config, 'root_dir', None) or config.root))[:16]}"


def sweep_runc_states(config, db, known: Iterable[str] | None = None,
                      runc=None) -> list[str]:
    """Delete (``runc delete --force``, then skiff's cgroup parent) every runc state of
    the store's runc root that belongs to one of its containers but has no record.

    Args:
        config: the store's skiff.config.Config. db: its metadata database.
        known: container IDs the caller has just read (None: read them here); states of
            these are kept without a further lookup.
        runc: a skiff.runtime.runc.Runc for the store (None: made when needed).

    Returns:
        The container IDs whose state was deleted (usually none).
    """
    root = runc_root(config)
    try:
        names = os.listdir(root)
    except OSError:
        return []
    if not names:
        return []
    if known is None:
        known = [r[0] for r in db.execute("SELECT id FROM containers")]
    known = set(known)
    gone = []
    for cid in names:
        if cid in known:
            continue
        if _bundle_of(os.path.join(root, cid)) != config.at("containers", cid):
            continue  # not one of this store's containers (a build's RUN step)
        if db.execute("SELECT 1 FROM containers WHERE id = ?", (cid,)).fetchone():
            continue  # recorded since the caller read its list
        from skiff.runtime import cgroups

        if runc is None:
            from skiff.runtime.runc import Runc

            runc = Runc.for_config(config)
        try:
            runc.delete(cid, force=True)
        except SkiffError:
            continue  # (runc could not: the next sweep tries again)
        cgroups.remove(cid)
        gone.append(cid)
    return gone
