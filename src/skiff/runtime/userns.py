"""User namespaces: container root as an unprivileged range of host ids.

Three ways a container gets a mapping (``HostConfig.UsernsMode`` and the store's
configuration, skiff.config.Config.userns_remap):

- the store is configured with ``userns-remap`` (dockerd's option, same values):
  ``default`` → the ``skiff`` user's ranges in /etc/subuid and /etc/subgid, the user and
  one 65536-id range created on first use as dockerd creates ``dockremap``; or
  ``USER[:GROUP]`` (names or numeric ids) → that user's (group's) ranges. Every container
  of the store gets it unless run with ``--userns host``.
- ``--userns auto`` (Podman's): a range of its own for this container, carved from the
  ``containers`` user's ranges (Podman's convention; created with 16 × 65536 ids on
  first use when missing) where no other container of the store has one; its size
  covers the ids in the image's /etc/passwd and /etc/group (``nobody`` 65534 aside), at
  least 1024 (Podman's minimum).
- ``--userns host`` or nothing configured: no user namespace.

Docker maps several subordinate ranges one after another from container id 0; so does
:func:`mapping_from_ranges`. The mapping is fixed at create and kept in the record
(``Skiff.IdMap``), so later configuration changes do not move existing containers.
"""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from skiff.errors import InvalidArgument, SkiffError

DEFAULT_USER = "skiff"
DEFAULT_RANGE = 65536  # dockerd's size for dockremap
AUTO_USER = "containers"  # Podman's user for --userns auto
AUTO_RANGE = 16 * 65536
AUTO_MIN_SIZE = 1024  # Podman's minimum for --userns auto
FIRST_SUBID = 100000  # where useradd and dockerd start the subordinate ids
SUBUID, SUBGID = "/etc/subuid", "/etc/subgid"
LOCK = "/run/lock/skiff-subid.lock"


@dataclass(frozen=True, slots=True)
class IdMapping:
    """A container's uid and gid mappings: ``(container_id, host_id, size)`` triples, as
    /proc/PID/uid_map lines and the OCI ``linux.uidMappings`` entries."""

    uids: tuple[tuple[int, int, int], ...]
    gids: tuple[tuple[int, int, int], ...]

    def to_json(self) -> dict:
        """``{"UidMap": [[c, h, n], ...], "GidMap": [...]}`` (the record's Skiff.IdMap)."""
        return {"UidMap": [list(t) for t in self.uids], "GidMap": [list(t) for t in self.gids]}

    @classmethod
    def from_json(cls, d: dict | None) -> IdMapping | None:
        if not d:
            return None
        return cls(tuple(tuple(t) for t in d["UidMap"]), tuple(tuple(t) for t in d["GidMap"]))

    def to_oci(self) -> dict:
        """runtime-spec config-linux.md ``uidMappings`` / ``gidMappings``."""
        def conv(ts):
            return [{"containerID": c, "hostID": h, "size": n} for c, h, n in ts]
        return {"uidMappings": conv(self.uids), "gidMappings": conv(self.gids)}

    @property
    def root(self) -> tuple[int, int]:
        """(host uid, host gid) of the container's root."""
        return self.host_uid(0), self.host_gid(0)

    def host_uid(self, cid: int) -> int:
        """The host uid for container uid ``cid`` (the overflow uid 65534 if unmapped)."""
        return _map(self.uids, cid)

    def host_gid(self, cid: int) -> int:
        return _map(self.gids, cid)

    def container_uid(self, host: int) -> int:
        """The container uid for host uid ``host`` (65534 when outside the mapping)."""
        return _map(((h, c, n) for c, h, n in self.uids), host)

    def container_gid(self, host: int) -> int:
        return _map(((h, c, n) for c, h, n in self.gids), host)


def _map(table: Iterable[tuple[int, int, int]], i: int) -> int:
    for c, h, n in table:
        if c <= i < c + n:
            return h + i - c
    return 65534


def read_ranges(path: str, names: Sequence[str]) -> list[tuple[int, int]]:
    """``(start, count)`` ranges of /etc/subuid-style ``path`` for any of ``names`` (a user
    name and its numeric id), in file order; a missing file has none."""
    out = []
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[0] in names and parts[1].isdigit() and parts[2].isdigit():
            out.append((int(parts[1]), int(parts[2])))
    return out


def mapping_from_ranges(uid_ranges: Sequence[tuple[int, int]],
                        gid_ranges: Sequence[tuple[int, int]]) -> IdMapping:
    """Ranges laid end to end from container id 0 (dockerd's idtools.NewIdentityMapping)."""
    def lay(ranges):
        out, c = [], 0
        for start, count in ranges:
            out.append((c, start, count))
            c += count
        return tuple(out)
    return IdMapping(lay(uid_ranges), lay(gid_ranges))


def _user_names(user: str) -> tuple[list[str], int | None]:
    try:
        pw = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except KeyError:
        if user.isdigit():
            return [user], int(user)
        raise InvalidArgument(f"userns-remap {user}", "no such user") from None
    return [pw.pw_name, str(pw.pw_uid)], pw.pw_gid


def _group_names(group: str) -> list[str]:
    try:
        gr = grp.getgrgid(int(group)) if group.isdigit() else grp.getgrnam(group)
    except KeyError:
        if group.isdigit():
            return [group]
        raise InvalidArgument(f"userns-remap group {group}", "no such group") from None
    return [gr.gr_name, str(gr.gr_gid)]


def remap(spec: str) -> IdMapping:
    """The mapping for a ``userns-remap`` value (``default`` or ``USER[:GROUP]``).

    Raises:
        InvalidArgument: no such user or group, or no subordinate ranges for them
            (dockerd's ``No subuid ranges found for user "X"``).
        SkiffError: ``default``: creating the ``skiff`` user or its ranges failed.
    """
    if spec == "default":
        ensure_default_user()
        spec = DEFAULT_USER
    user, _, group = spec.partition(":")
    unames, _gid = _user_names(user)
    gnames = _group_names(group) if group else unames
    uids, gids = read_ranges(SUBUID, unames), read_ranges(SUBGID, gnames)
    if not uids:
        raise InvalidArgument(f'No subuid ranges found for user "{user}"')
    if not gids:
        raise InvalidArgument(f'No subgid ranges found for group "{group or user}"')
    return mapping_from_ranges(uids, gids)


class _Locked:
    """An exclusive flock on :data:`LOCK` (user creation and range edits)."""

    def __enter__(self):
        os.makedirs(os.path.dirname(LOCK), exist_ok=True)
        self.fd = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        os.close(self.fd)


def _next_free(paths: Sequence[str], size: int) -> int:
    """The lowest start >= FIRST_SUBID after every range in ``paths`` (dockerd's
    createSubordinateRanges looks for the first gap of ``size``; after all is simpler and
    never overlaps)."""
    end = FIRST_SUBID
    for path in paths:
        try:
            with open(path) as f:
                for line in f:
                    parts = line.strip().split(":")
                    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                        end = max(end, int(parts[1]) + int(parts[2]))
        except FileNotFoundError:
            pass
    return end


def ensure_default_user() -> None:
    """Create the ``skiff`` system user and one 65536-id subordinate uid and gid range for
    it when missing (what dockerd does for ``dockremap``: ``useradd --system``, then
    ``usermod -v/-w``). Idempotent and safe against concurrent skiff processes.

    Raises:
        SkiffError: useradd/usermod failed.
    """
    ensure_user(DEFAULT_USER, DEFAULT_RANGE)


def ensure_user(name: str, size: int) -> None:
    """Create system user ``name`` with one ``size``-id subordinate uid and gid range
    (after every range already in /etc/subuid and /etc/subgid) unless it has both."""
    def have() -> bool:
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            return False
        names = [name, str(pw.pw_uid)]
        return bool(read_ranges(SUBUID, names)) and bool(read_ranges(SUBGID, names))

    if have():
        return
    with _Locked():
        if have():
            return
        try:
            pwd.getpwnam(name)
        except KeyError:
            _run(["useradd", "--system", "--no-create-home", "--shell", "/bin/false",
                  "--user-group", name])
        start = _next_free((SUBUID, SUBGID), size)
        last = start + size - 1
        if not read_ranges(SUBUID, [name]):
            _run(["usermod", "--add-subuids", f"{start}-{last}", name])
        if not read_ranges(SUBGID, [name]):
            _run(["usermod", "--add-subgids", f"{start}-{last}", name])


def _run(argv: list[str]) -> None:
    import subprocess  # (not at import: `run` without user namespaces never needs it)

    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        raise SkiffError(" ".join(argv[:1] + argv[-1:]), r.stderr.strip() or f"exit {r.returncode}")


def auto_size(etc_files: Iterable[str]) -> int:
    """How many ids ``--userns auto`` gives a container whose image has these /etc/passwd
    and /etc/group texts: the highest id named (nobody/nogroup 65534 and above aside) + 1,
    at least :data:`AUTO_MIN_SIZE`."""
    top = 0
    for text in etc_files:
        for line in text.splitlines():
            parts = line.split(":")
            for field in parts[2:4]:
                if field.isdigit() and int(field) < 65534:
                    top = max(top, int(field))
    return max(AUTO_MIN_SIZE, top + 1)


def auto(size: int, taken: Iterable[IdMapping]) -> IdMapping:
    """A mapping of ``size`` ids (same host range for uids and gids) from the
    ``containers`` user's ranges, overlapping no mapping in ``taken`` (the store's other
    containers and its userns-remap).
    Call under the store's lock so that two creates cannot pick the same range.

    Raises:
        InvalidArgument: the ranges have no free run of ``size`` ids.
    """
    ensure_user(AUTO_USER, AUTO_RANGE)
    names = [AUTO_USER, str(pwd.getpwnam(AUTO_USER).pw_uid)]
    uranges, granges = read_ranges(SUBUID, names), read_ranges(SUBGID, names)
    busy = sorted({(h, h + n) for m in taken for _, h, n in (*m.uids, *m.gids)})
    for start, count in uranges:
        pos, moved = start, True
        while moved and pos + size <= start + count:
            moved = False
            for b0, b1 in busy:
                if b0 < pos + size and pos < b1:
                    pos, moved = b1, True
        if not moved and pos + size <= start + count and any(
                g0 <= pos and pos + size <= g0 + gn for g0, gn in granges):
            return IdMapping(((0, pos, size),), ((0, pos, size),))
    raise InvalidArgument("--userns auto",
                          f"not enough free subordinate ids for a range of {size} "
                          f"in the {AUTO_USER} user's /etc/subuid and /etc/subgid ranges")


def store_lock(root: str):
    """An exclusive flock on ``<root>/userns.lock`` (``--userns auto`` allocation), as a
    context manager."""
    class _L:
        def __enter__(self):
            self.fd = os.open(os.path.join(root, "userns.lock"),
                              os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            return self

        def __exit__(self, *exc) -> None:
            os.close(self.fd)
    return _L()


def _in_ranges(table, i: int) -> bool:
    """Whether host id ``i`` lies in one of ``table``'s (container, host, size) ranges."""
    return any(h <= i < h + n for _, h, n in table)


def _chown_tree(path: str, ids) -> None:
    """lchown ``path`` and everything under it to ``ids(st) -> (uid, gid)``, skipping
    entries already owned so; setuid/setgid bits survive the chown (it drops them)."""
    def one(p: str) -> None:
        st = os.lstat(p)
        uid, gid = ids(st)
        if (uid, gid) == (st.st_uid, st.st_gid):
            return
        os.lchown(p, uid, gid)
        if not os.path.islink(p):
            os.chmod(p, st.st_mode & 0o7777)
    one(path)
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            one(os.path.join(dirpath, n))


def shift_tree(path: str, m: IdMapping) -> None:
    """lchown everything under ``path`` (itself included) from container ids to the host
    ids of ``m`` (what ``cp`` put into a user-namespaced container); an entry whose ids are
    both already in the mapping's host ranges is left as it is."""
    def ids(st) -> tuple[int, int]:
        if _in_ranges(m.uids, st.st_uid) and _in_ranges(m.gids, st.st_gid):
            return st.st_uid, st.st_gid
        return m.host_uid(st.st_uid), m.host_gid(st.st_gid)
    _chown_tree(path, ids)


def unshift_tree(path: str, m: IdMapping) -> None:
    """The inverse of :func:`shift_tree`: lchown everything under ``path`` (itself
    included) whose owner is in the mapping's host ranges back to the container's ids (what
    a user-namespaced build RUN step wrote into its upper directory, before it becomes a
    layer: Docker's layers hold container ids, ``0:0`` for what root made). Ids outside
    the ranges are left as they are; setuid/setgid bits survive the chown."""
    def ids(st) -> tuple[int, int]:
        uid = m.container_uid(st.st_uid) if _in_ranges(m.uids, st.st_uid) else st.st_uid
        gid = m.container_gid(st.st_gid) if _in_ranges(m.gids, st.st_gid) else st.st_gid
        return uid, gid
    _chown_tree(path, ids)


def make_searchable(root: str, *dirs: str) -> None:
    """Let the remapped root reach the bundle and rootfs: ``o+x`` on the store's own
    directories ``dirs``; the directories above ``root`` must already allow it (dockerd
    documents the same requirement for its data root).

    Raises:
        SkiffError: a directory above the store root is not searchable by others.
    """
    p = os.path.dirname(os.path.abspath(root))
    while True:
        if not os.stat(p).st_mode & 0o001:
            raise SkiffError("user namespace",
                             f"{p} is not searchable by others (o+x): the remapped root "
                             f"cannot reach the store {root}")
        if p == "/":
            break
        p = os.path.dirname(p)
    for d in (root, *dirs):
        st = os.stat(d)
        if not st.st_mode & 0o001:
            os.chmod(d, (st.st_mode & 0o7777) | 0o001)


_PIN_DIR = "/run/skiff-userns"


def pin_path(cid: str) -> str:
    """Where a container's user namespace is pinned (a file bind-mounted from nsfs)."""
    return os.path.join(_PIN_DIR, cid)


def repin(m: IdMapping, path: str) -> str:
    """:func:`pin` afresh at ``path``: a pin a killed run left there is dropped first
    (:func:`unpin`). Returns ``path``."""
    unpin(path)
    return pin(m, path)


def pin(m: IdMapping, path: str) -> str:
    """Create a user namespace with mapping ``m`` and pin it at ``path`` (a bind mount of
    its nsfs file, as ``ip netns add`` pins network namespaces); return ``path``.
    runc then joins it (``linux.namespaces[].path``) and the container's network
    namespace is made inside it (skiff.network.bridge.create_netns).

    Raises:
        SkiffError: the kernel refused the namespace, a mapping or the bind mount.
    """
    from skiff.snapshots.idmap import userns_fd
    from skiff.snapshots.mount import MS_BIND

    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a"):
        pass
    fd = userns_fd(m.uids, m.gids)
    try:
        _mount(f"/proc/self/fd/{fd}", path, MS_BIND)
    except BaseException:
        os.unlink(path)
        raise
    finally:
        os.close(fd)
    return path


def unpin(path: str) -> None:
    """Undo :func:`pin` (absent is fine)."""
    from skiff.libc import sys_umount2

    sys_umount2(path.encode(), 2)  # MNT_DETACH
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _mount(src: str, target: str, flags: int) -> None:
    from skiff.libc import sys_mount

    err = sys_mount(src.encode(), target.encode(), None, flags, None)
    if err:
        raise SkiffError(f"mount {src} on {target}", os.strerror(err))


def unshare_netns_in(userns: str, path: str) -> None:
    """Make a new network namespace owned by the pinned user namespace ``userns`` and pin
    it on the existing file ``path``: ``nsenter --user=USERNS unshare --net sleep``
    (posix_spawn: no fork of this process) makes it; this process bind-mounts it.

    Raises:
        SkiffError: joining, unsharing or the bind mount failed.
    """
    import shutil

    from skiff.snapshots.idmap import ns_holder
    from skiff.snapshots.mount import MS_BIND

    argv = [shutil.which("nsenter") or "/usr/bin/nsenter", f"--user={userns}", "--",
            shutil.which("unshare") or "/usr/bin/unshare", "--net",
            shutil.which("sleep") or "/bin/sleep", "60"]
    with ns_holder(argv, "net", "network namespace in user namespace") as pid:
        _mount(f"/proc/{pid}/ns/net", path, MS_BIND)
