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


def _cgroup_parent(state_dir: str, cid: str) -> str:
    """The ``--cgroup-parent`` of the container whose runc state is in ``state_dir`` (its
    cgroups path ``/<parent>/<id>/ctr``; "" for skiff's own or when unreadable)."""
    try:
        with open(os.path.join(state_dir, "state.json")) as f:
            path = ((json.load(f).get("config") or {}).get("cgroups") or {}).get("path") or ""
    except (OSError, ValueError, AttributeError):
        return ""
    tail = f"/{cid}/ctr"
    return path[:-len(tail)] if path.endswith(tail) else ""


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

        parent = _cgroup_parent(os.path.join(root, cid), cid)
        try:
            if runc is None:
                from skiff.runtime.runc import Runc

                runc = Runc.for_config(config)
            runc.delete(cid, force=True)
        except SkiffError:
            continue  # (no runc, or it could not: the next sweep tries again)
        cgroups.remove(cid, parent)
        gone.append(cid)
    return gone


def _mounts_under(d: str) -> list[str]:
    """Mount points at or below directory ``d``, deepest first (/proc/self/mountinfo)."""
    prefix = d.rstrip("/") + "/"
    out = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 5:
                    continue
                mp = fields[4]
                if "\\" in mp:  # (octal escapes: space, tab, newline, backslash)
                    import re

                    mp = re.sub(r"\\([0-7]{3})", lambda x: chr(int(x.group(1), 8)), mp)
                if mp == d or mp.startswith(prefix):
                    out.append(mp)
    except OSError:
        return []
    return sorted(set(out), key=len, reverse=True)


def sweep_bundles(config, db) -> list[str]:
    """Delete ``containers/<id>/`` directories that no record owns: what an ``rm`` killed
    between dropping the record and deleting the directory left (create makes the
    directory only once its record is in, so none is a create in progress). Mounts a
    killed start left inside (``rootfs``, ``shm``, idmapped layer views) are detached
    first; a directory with a mount still inside is left alone, and the deletion never
    crosses into a file system (``rm -rf --one-file-system``). For ``container
    prune`` (and so ``system prune``), never on the run path.

    Returns:
        The container IDs whose directory was deleted.
    """
    import subprocess

    from skiff.runtime.mounts import unmount

    top = config.at("containers")
    try:
        names = os.listdir(top)
    except OSError:
        return []
    known = {r[0] for r in db.execute("SELECT id FROM containers")}
    gone = []
    for cid in names:
        if cid in known:
            continue
        if db.execute("SELECT 1 FROM containers WHERE id = ?", (cid,)).fetchone():
            continue
        d = os.path.join(top, cid)
        if not os.path.isdir(d) or os.path.islink(d):
            continue
        for m in _mounts_under(d):  # (rootfs, shm, a remapped start's idmap views)
            try:
                unmount(m)
            except SkiffError:
                pass
        if _mounts_under(d):
            continue  # never delete through a mount (an image's layers may be behind it)
        subprocess.run(["rm", "-rf", "--one-file-system", "--", d], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        gone.append(cid)
    return gone
