"""``--pid`` / ``--ipc`` / ``--uts`` modes, and joining another container's PID or IPC
namespace (``--pid container:X``, ``--ipc container:X``) as dockerd does.

- The flags are checked as docker/cli and dockerd check them (:func:`check_flags`).
- At create, ``container:REF`` is recorded as ``container:<full ID>`` (inspect's
  ``HostConfig.PidMode`` / ``IpcMode``); an unknown REF is ``No such container: REF``
  (:func:`resolve`).
- At start the donor must be running; the joiner's OCI namespace gets its path
  ``/proc/<donor pid>/ns/pid|ipc``; under a user namespace the joiner lives in the
  donor's user namespace (:func:`pin_userns`: a PID, IPC or network namespace can only
  be joined from the user namespace that owns it, as dockerd's WithNamespaces). An IPC donor must be shareable: ``--ipc shareable``
  (its /dev/shm a tmpfs on the host, ``<bundle>/shm``, bound into the joiners) or
  ``--ipc host`` (the host's /dev/shm), else dockerd's ``non-shareable IPC`` error
  (:func:`join`, :func:`apply`).
- ``--ipc none``: a private IPC namespace and no /dev/shm at all; ``--ipc host``: the
  host's /dev/shm bound in.

Docker's texts (20.10): ``container <ID> is not running`` (pid), ``can't join IPC of
container <ID>: container <ID> is not running``, ``can't join IPC of container <ID>:
non-shareable IPC (hint: use IpcMode:shareable for the donor container)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from skiff.errors import Conflict, InvalidArgument, SkiffError

SHM_DIR = "shm"  # a shareable container's /dev/shm, in its bundle


def check_flags(pid: str, ipc: str, uts: str) -> None:
    """Validate ``--pid``, ``--ipc`` and ``--uts`` as docker/cli (PID, UTS) and dockerd
    (IPC) do. ``--pid``: "", host, container:<name|id>; ``--uts``: "", host; ``--ipc``:
    "", none, private, shareable, host, container:<name|id>.

    Raises:
        InvalidArgument: ``--pid: invalid PID mode``, ``--uts: invalid UTS mode``,
            ``Invalid IPC mode: X`` (exit 125).
    """
    kind, _, ref = pid.partition(":")
    if not (pid in ("", "host") or (kind == "container" and ref)):
        raise InvalidArgument("--pid: invalid PID mode")
    if uts not in ("", "host"):
        raise InvalidArgument("--uts: invalid UTS mode")
    if ipc not in ("", "none", "private", "shareable", "host") and not ipc.startswith(
            "container:"):
        raise InvalidArgument(f"Invalid IPC mode: {ipc}")


def resolve(db, host: dict) -> None:
    """At create: ``container:REF`` in ``host["PidMode"]`` / ``host["IpcMode"]`` becomes
    ``container:<full ID>`` (in place), as dockerd records it.

    Raises:
        ContainerNotFound: ``No such container: REF``.
        InvalidArgument: ``--ipc container:`` (no name): dockerd's ``can't join IPC of
            container : invalid name or ID supplied: ""``.
    """
    from skiff.runtime import records

    for key in ("IpcMode", "PidMode"):
        mode = host.get(key) or ""
        if not mode.startswith("container:"):
            continue
        ref = mode.partition(":")[2]
        if not ref:
            raise InvalidArgument("can't join IPC of container ",
                                  'invalid name or ID supplied: ""')
        host[key] = "container:" + records.lookup(db, ref)["Id"]


@dataclass(frozen=True, slots=True)
class Joined:
    """What a start joins: namespace paths (``/proc/<pid>/ns/...``; "" = its own) and
    the /dev/shm to bind ("" = none given: runc's own tmpfs, or none for ``--ipc
    none``)."""

    pid: str = ""
    ipc: str = ""
    shm: str = ""
    no_shm: bool = False


def join(svc, rec: dict) -> Joined:
    """The namespaces a start of ``rec`` joins, checked as dockerd does (IPC first, then
    PID); a shareable container's /dev/shm is mounted here (``<bundle>/shm``, a tmpfs of
    ``ShmSize``, owned by the container's root).

    Raises:
        ContainerNotFound: the donor was removed.
        Conflict: the donor is not running, or its IPC is not shareable (Docker's texts).
    """
    hc = rec["HostConfig"]
    ipc_mode, pid_mode = hc.get("IpcMode") or "private", hc.get("PidMode") or ""
    ipc = pid = shm = ""
    if ipc_mode.startswith("container:"):
        did = ipc_mode.partition(":")[2]
        what = f"can't join IPC of container {did}"
        donor = _running(svc, did, what)
        dmode = donor["HostConfig"].get("IpcMode") or "private"
        if dmode == "host":
            shm = "/dev/shm"
        elif dmode == "shareable" or dmode.startswith("container:"):
            shm = str(svc.bundle(dmode.partition(":")[2] or donor["Id"]) / SHM_DIR)
        if not shm or not os.path.ismount(shm):
            raise Conflict(what, "non-shareable IPC (hint: use IpcMode:shareable for the "
                                 "donor container)")
        ipc = f"/proc/{donor['State']['Pid']}/ns/ipc"
    elif ipc_mode == "shareable":
        shm = _mount_shm(svc, rec)
    elif ipc_mode == "host":
        shm = "/dev/shm"  # dockerd binds the host's
    if pid_mode.startswith("container:"):
        donor = _running(svc, pid_mode.partition(":")[2], "")
        pid = f"/proc/{donor['State']['Pid']}/ns/pid"
    return Joined(pid=pid, ipc=ipc, shm=shm, no_shm=ipc_mode == "none")


def pin_userns(svc, rec: dict, m) -> str:
    """Pin the user namespace of a user-namespaced container that joins another's
    network, IPC or PID namespace (``container:X``): the running donor's own, when it has
    the same mapping (a namespace can only be joined from the user namespace owning it;
    dockerd too gives the joiner the donor's: WithNamespaces), else a new one
    (userns.repin). Everything of the joiner then lives in it: its idmapped rootfs, its
    network namespace, runc's process. Returns the pin's path.

    Raises:
        SkiffError: the bind mount or the new namespace failed.
    """
    from skiff.runtime import userns

    path = userns.pin_path(rec["Id"])
    hc = rec["HostConfig"]
    for key in ("NetworkMode", "IpcMode", "PidMode"):
        mode = hc.get(key) or ""
        if not mode.startswith("container:"):
            continue
        try:
            donor = svc.get(mode.partition(":")[2])
        except SkiffError:
            break  # (start reports it)
        st = donor["State"]
        if (st.get("Running") and st.get("Pid")
                and (donor.get("Skiff") or {}).get("IdMap") == rec["Skiff"]["IdMap"]):
            userns.unpin(path)
            with open(path, "a"):
                pass
            userns._mount(f"/proc/{st['Pid']}/ns/user", path, _MS_BIND)
            return path
        break
    return userns.repin(m, path)


_MS_BIND = 4096


def _running(svc, cid: str, what: str) -> dict:
    donor = svc.get(cid)
    st = donor["State"]
    if not st.get("Running") or st.get("Restarting") or not st.get("Pid"):
        why = f"container {donor['Id']} is not running"
        raise Conflict(what, why) if what else Conflict(why)
    return donor


def _mount_shm(svc, rec: dict) -> str:
    """A fresh tmpfs at ``<bundle>/shm`` (dockerd's ShmPath for a shareable container)."""
    path = str(svc.bundle(rec["Id"]) / SHM_DIR)
    mount_shm(path, shm_size(rec), shm_owner(rec))
    return path


def shm_size(rec: dict) -> int:
    """A shareable container's /dev/shm size in bytes (``ShmSize``, default 64 MiB)."""
    return int(rec["HostConfig"].get("ShmSize") or 64 * 1024 * 1024)


def shm_owner(rec: dict) -> tuple[int, int]:
    """(uid, gid) owning its /dev/shm: the container's root (remapped under userns)."""
    idmap = (rec.get("Skiff") or {}).get("IdMap")
    if idmap:
        from skiff.runtime import userns

        return tuple(userns.IdMapping.from_json(idmap).root)
    return (0, 0)


def mount_shm(path: str, size: int, owner: tuple[int, int] = (0, 0)) -> None:
    """Mount an empty tmpfs of ``size`` bytes at ``path`` (made if missing), owned by
    ``owner``, in place of what was mounted there (each start or restart gets an empty
    one, as dockerd's setupIpcDirs). Raises SkiffError when the mount fails."""
    from skiff.runtime import mounts

    os.makedirs(path, exist_ok=True)
    mounts.unmount(path)  # the last run's, if any
    mounts._sys_mount("shm", path, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC,
                      f"mode=1777,size={size // 1024}k")
    if owner != (0, 0):
        os.chown(path, *owner)


_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 2, 4, 8


def release(svc, rec: dict) -> None:
    """Unmount a shareable container's /dev/shm (its run is over, or it is removed)."""
    if (rec.get("HostConfig") or {}).get("IpcMode") == "shareable":
        from skiff.runtime import mounts

        try:
            mounts.unmount(str(svc.bundle(rec["Id"]) / SHM_DIR))
        except SkiffError:
            pass


def shm_mount(j: Joined) -> list[dict]:
    """The bind of the shared /dev/shm to add to the container's mounts (or none)."""
    if not j.shm:
        return []
    return [{"destination": "/dev/shm", "type": "bind", "source": j.shm,
             "options": ["rbind"]}]  # (the tmpfs's own flags: dockerd's)


def apply(spec: dict, j: Joined) -> dict:
    """Set the joined namespaces' paths in an OCI ``spec`` (in place; returned):
    ``linux.namespaces`` pid/ipc ``path``; ``--ipc none`` drops /dev/shm."""
    paths = {"pid": j.pid, "ipc": j.ipc}
    for ns in spec["linux"]["namespaces"]:
        if paths.get(ns["type"]):
            ns["path"] = paths[ns["type"]]
    if j.no_shm:
        spec["mounts"] = [m for m in spec["mounts"] if m["destination"] != "/dev/shm"]
    return spec
