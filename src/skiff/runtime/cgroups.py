"""cgroups around runc: a per-container parent group that survives the container.

runc creates the container's cgroup (``/skiff/<id>/ctr``) with the limits from the spec
and removes it when the container exits, taking its counters with it. To be able to say
``OOMKilled`` afterwards, skiff puts the memory limit one level up, on ``/skiff/<id>``,
which it creates before the start and removes after reading the OOM counter:

- cgroup v1 (this machine: "hybrid", v1 controllers with a v2 mount beside):
  ``memory/skiff/<id>/memory.limit_in_bytes`` (+ ``memory.memsw.limit_in_bytes``); the
  kernel counts an OOM kill in the *task's* group (runc's, gone after the exit), so the
  monitor registers an eventfd on the parent's ``memory.oom_control`` through
  ``cgroup.event_control`` (what containerd does on v1): it fires when the parent's limit
  drives an OOM.
- cgroup v2 (``/sys/fs/cgroup/cgroup.controllers`` exists): ``memory.max`` /
  ``memory.swap.max``; ``memory.events``'s ``oom_kill`` (hierarchical).

The container's own group carries the same limit (runc sets it from the spec), so inside
the container ``/sys/fs/cgroup/memory/memory.limit_in_bytes`` (v2: ``memory.max``) shows
``--memory`` as Docker's does; the parent's is one page lower (:data:`PARENT_SLACK`) so
that it is the parent's limit that drives the OOM and fires the eventfd above.

Other limits (cpu, pids, blkio) are runc's, in the spec.
"""

from __future__ import annotations

import os

ROOT = "/sys/fs/cgroup"  # text, not a Path: run's path has no pathlib (~4-8 ms of import)
_j = os.path.join
PARENT = "skiff"
PARENT_SLACK = 4096  # bytes: the parent's limits sit this far below the container's own


def is_v2() -> bool:
    """True on a unified (cgroup v2 only) host."""
    return os.path.exists(_j(ROOT, "cgroup.controllers"))


def _parent(parent: str) -> str:
    """``--cgroup-parent`` (``foo``, ``/foo/bar``) as a relative path; "" is skiff's."""
    return parent.strip("/") or PARENT


def container_path(cid: str, parent: str = "") -> str:
    """The cgroupsPath runc gets for container ``cid``: ``/skiff/<id>/ctr``, or with
    ``--cgroup-parent P`` ``/P/<id>/ctr`` (dockerd's cgroupfs driver: ``/P/<id>``)."""
    return f"/{_parent(parent)}/{cid}/ctr"


def _group_dir(cid: str, parent: str = "") -> str:
    if is_v2():
        return _j(ROOT, _parent(parent), cid)
    return _j(ROOT, "memory", _parent(parent), cid)


def _mkdir(p: str) -> None:
    """``Path.mkdir(exist_ok=True)``: an existing directory is fine."""
    try:
        os.mkdir(p)
    except FileExistsError:
        if not os.path.isdir(p):
            raise


def _read(p: str) -> str:
    with open(p) as f:
        return f.read()


def _write(p: str, value: str) -> None:
    with open(p, "w") as f:
        f.write(value)


def prepare(cid: str, memory: int | None, memory_swap: int | None, *, parent: str = "",
            oom_kill_disable: bool = False) -> None:
    """Create ``/skiff/<id>`` (``parent``: ``/P/<id>``) with the memory limit (bytes; swap
    = memory+swap total, -1 unlimited), each :data:`PARENT_SLACK` below the container's
    own (see the module docstring); with ``oom_kill_disable`` (v1) its OOM killer is off
    too, as the limit that is reached first is this group's. Without a limit nothing is
    created.

    Raises:
        OSError: the kernel refused (e.g. a limit below current usage).
    """
    if not memory:
        return
    memory -= PARENT_SLACK
    if memory_swap is not None and memory_swap > 0:
        memory_swap -= PARENT_SLACK
    d = _group_dir(cid, parent)
    if is_v2():
        # the controllers enabled down from the root (each level of a nested parent)
        level = ROOT
        for name in ["", *_parent(parent).split("/")]:
            if name:
                level = _j(level, name)
                _mkdir(level)
            try:
                _write(_j(level, "cgroup.subtree_control"), "+memory +pids +cpu")
            except OSError:
                pass
        _mkdir(d)
        try:
            _write(_j(d, "cgroup.subtree_control"), "+memory +pids +cpu")
        except OSError:
            pass
        _write(_j(d, "memory.max"), str(memory))
        if memory_swap is not None and os.path.exists(_j(d, "memory.swap.max")):
            _write(_j(d, "memory.swap.max"), "max" if memory_swap < 0 else str(max(memory_swap - memory, 0)))
        return
    os.makedirs(d, exist_ok=True)
    _write(_j(d, "memory.limit_in_bytes"), str(memory))
    if memory_swap is not None and os.path.exists(_j(d, "memory.memsw.limit_in_bytes")):
        _write(_j(d, "memory.memsw.limit_in_bytes"), "-1" if memory_swap < 0 else str(memory_swap))
    if oom_kill_disable:
        _write(_j(d, "memory.oom_control"), "1")


def oom_watch(cid: str, parent: str = "") -> int:
    """An eventfd that becomes readable when the container's memory limit causes an OOM
    (v1 only; -1 on v2, where :func:`oom_kills` reads the hierarchical counter, or when
    there is no limit)."""
    if is_v2():
        return -1
    d = _group_dir(cid, parent)
    if not os.path.exists(_j(d, "memory.oom_control")):
        return -1
    efd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
    try:
        ofd = os.open(_j(d, "memory.oom_control"), os.O_RDONLY | os.O_CLOEXEC)
        try:
            _write(_j(d, "cgroup.event_control"), f"{efd} {ofd}")
        finally:
            os.close(ofd)
    except OSError:
        os.close(efd)
        return -1
    return efd


def oom_fired(efd: int) -> bool:
    """True when the eventfd of :func:`oom_watch` has fired (consumes the count)."""
    if efd < 0:
        return False
    try:
        return os.eventfd_read(efd) > 0
    except BlockingIOError:
        return False


def oom_kills(cid: str, parent: str = "") -> int:
    """How many processes the container's memory limit has OOM-killed (0 without limit)."""
    d = _group_dir(cid, parent)
    name = "memory.events" if is_v2() else "memory.oom_control"
    try:
        text = _read(_j(d, name))
    except OSError:
        return 0
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if k == "oom_kill":
            return int(v)
    return 0


def remove(cid: str, parent: str = "") -> None:
    """Remove ``/skiff/<id>`` (after runc removed its child ``ctr``) in every hierarchy;
    absent is fine. On v1 runc makes the path in each controller's hierarchy (cpu, pids,
    blkio, devices, freezer, ..., and the hybrid v2 mount) and removes only ``ctr``:
    each ``/skiff/<id>`` would stay behind (thousands of empty groups after a test run)."""
    if is_v2():
        dirs = [_j(ROOT, _parent(parent), cid)]
    else:
        try:
            names = os.listdir(ROOT)
        except OSError:
            names = []
        dirs = [_j(ROOT, n, _parent(parent), cid) for n in names]
    for d in dirs:
        for sub in (_j(d, "ctr"), d):
            try:
                os.rmdir(sub)
            except OSError:
                pass


def usage(cid: str, parent: str = "") -> dict:
    """Current counters for ``stats``: memory usage/limit (bytes), pids, cpu time (ns).

    Keys: ``mem``, ``mem_limit``, ``pids``, ``cpu_ns``; missing ones are 0.
    """
    out = {"mem": 0, "mem_limit": 0, "pids": 0, "cpu_ns": 0}
    path = container_path(cid, parent)
    if is_v2():
        base = _j(ROOT, path.lstrip("/"))
        out["mem"] = _int(_j(base, "memory.current"))
        out["mem_limit"] = _int(_j(base, "memory.max"))
        out["pids"] = _int(_j(base, "pids.current"))
        try:
            for line in _read(_j(base, "cpu.stat")).splitlines():
                if line.startswith("usage_usec "):
                    out["cpu_ns"] = int(line.split()[1]) * 1000
        except OSError:
            pass
        return out
    rel = path.lstrip("/")
    out["mem"] = _int(_j(ROOT, "memory", rel, "memory.usage_in_bytes"))
    lim = _int(_j(ROOT, "memory", rel, "memory.limit_in_bytes"))
    out["mem_limit"] = lim if lim and lim < (1 << 62) else 0
    out["pids"] = _int(_j(ROOT, "pids", rel, "pids.current"))
    out["cpu_ns"] = _int(_j(ROOT, "cpuacct", rel, "cpuacct.usage"))
    return out


def _int(p: str) -> int:
    try:
        v = _read(p).strip()
    except OSError:
        return 0
    try:
        return int(v)
    except ValueError:
        return 0
