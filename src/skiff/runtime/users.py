"""``--user`` → numeric uid, gid and supplementary groups, from the image's own files.

Docker resolves ``-u`` against the container's /etc/passwd and /etc/group (moby/sys/user
GetExecUser): a name must exist; a number need not (its gid is then 0); ``user:group``
takes the group by name or number; without a group, the supplementary groups are every
group in /etc/group whose member list names the user; ``--group-add`` appends more.
"""

from __future__ import annotations

import os

from skiff.errors import SkiffError
from skiff.runtime.fsutil import secure_join_text
from skiff.runtime.value import value


@value
class ExecUser:
    """A resolved process user: uid, gid, supplementary gids and home directory.

    ``additional_gids`` starts with the primary gid, then the user's member groups, then
    ``--group-add`` ones (moby's getUser: ``id`` in the container lists the primary group)."""

    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()
    home: str = "/"


def _read_db(rootfs: str, name: str) -> list[list[str]]:
    try:
        with open(secure_join_text(rootfs, f"/etc/{name}"), errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        rows.append(line.split(":"))
    return rows


def _int(s: str) -> int | None:
    try:
        v = int(s)
    except ValueError:
        return None
    return v if v >= 0 else None


def resolve(rootfs: str | os.PathLike[str], user: str, group_add: tuple[str, ...] = ()) -> ExecUser:
    """Resolve ``user`` (``""``, ``name``, ``uid``, ``name:group``, ``uid:gid``) in ``rootfs``.

    Raises:
        SkiffError: a name not in /etc/passwd (``unable to find user NAME: no matching
            entries in passwd file``) or a group not in /etc/group (exit 125, as Docker).
    """
    rootfs = os.fspath(rootfs)
    spec = user or "0"
    uspec, _, gspec = spec.partition(":")
    passwd = _read_db(rootfs, "passwd")
    uid, gid, home, uname = 0, 0, "/", None
    num = _int(uspec)
    entry = None
    for row in passwd:
        if len(row) < 4:
            continue
        if (num is None and row[0] == uspec) or (num is not None and _int(row[2]) == num):
            entry = row
            break
    if entry is not None:
        uname = entry[0]
        uid = _int(entry[2]) or 0
        gid = _int(entry[3]) or 0
        home = entry[5] if len(entry) > 5 and entry[5] else "/"
    elif num is None:
        raise SkiffError(f"unable to find user {uspec}", "no matching entries in passwd file")
    else:
        uid = num

    groups = _read_db(rootfs, "group")
    sgids: list[int] = []
    if gspec:
        gnum = _int(gspec)
        found = None
        for row in groups:
            if len(row) >= 3 and ((gnum is None and row[0] == gspec)
                                  or (gnum is not None and _int(row[2]) == gnum)):
                found = row
                break
        if found is not None:
            gid = _int(found[2]) or 0
        elif gnum is None:
            raise SkiffError(f"unable to find group {gspec}", "no matching entries in group file")
        else:
            gid = gnum
    elif uname is not None:
        for row in groups:
            if len(row) >= 4 and uname in row[3].split(","):
                g = _int(row[2])
                if g is not None:
                    sgids.append(g)
    for g in group_add:
        gnum = _int(g)
        if gnum is None:
            for row in groups:
                if len(row) >= 3 and row[0] == g:
                    gnum = _int(row[2])
                    break
            if gnum is None:
                raise SkiffError(f"unable to find group {g}", "no matching entries in group file")
        sgids.append(gnum)
    return ExecUser(uid, gid, (gid, *sgids), home)
