"""The OCI runtime config (``config.json``) skiff hands to runc, with Docker's defaults.

:func:`build_spec` turns a :class:`SpecOptions` into the dict runtime-spec config.md and
config-linux.md describe. The starting point is dockerd's ``DefaultLinuxSpec``
(../shared/peer/moby-default-oci-spec): the 14 default capabilities, the 7 default mounts,
masked and read-only /proc and /sys paths, the device cgroup rules; then per container, as
dockerd does: process args/env/cwd/user, hostname, the rootfs, /dev/shm size, the cgroup
path and resources, seccomp (Docker's default profile, converted), no-new-privileges,
namespaces from the network/pid/ipc/uts modes, and Docker's two network sysctls for a
private network namespace.

Differences from Docker, on purpose:
- no ``time`` namespace: runc 1.1 (Debian 12) rejects it (``namespace {"time" ""} does not
  exist``); it is added when :data:`TIME_NAMESPACE` is set by a runtime that has it.
- no rlimits unless asked (as Docker), and every asked-for limit is clamped to the host's
  hard limit, which runc could not raise here.
"""

from __future__ import annotations

import os

from skiff.errors import InvalidArgument, SkiffError
from skiff.runtime.value import factory, value

TYPE_CHECKING = False  # (not typing's: the run path does not import collections)
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

OCI_VERSION = "1.0.2-dev"  # what runc 1.1 reports as its spec version
TIME_NAMESPACE = False
DEFAULT_PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHM_SIZE = 64 * 1024 * 1024

# moby daemon/pkg/oci/caps/defaults.go, in its order.
DEFAULT_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)

# Linux capability numbers 0..40 (linux/capability.h).
ALL_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)

MASKED_PATHS = (
    "/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
    "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
    "/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

# Docker's device cgroup rules: deny all, then null zero full random urandom tty console,
# and deny /dev/net/tun explicitly.
_DEFAULT_DEVICE_RULES = (
    {"allow": False, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
    {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
)

RLIMIT_NAMES = {
    "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
    "locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE",
    "nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC",
    "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO", "rttime": "RLIMIT_RTTIME",
    "sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK",
}


@value
class Rlimit:
    """One ``--ulimit``: ``type`` is Docker's short name (``nofile``), soft/hard counts."""

    type: str
    soft: int
    hard: int


@value
class Resources:
    """cgroup limits (runtime-spec config-linux.md "Control groups").

    memory/memory_swap in bytes (memory_swap = memory + swap, -1 unlimited), nano_cpus in
    1e-9 CPUs (``--cpus 1.5`` = 1_500_000_000), cpu_shares relative weight, cpuset_cpus a
    list string (``0-1``), pids_limit a count, blkio_weight 10..1000.
    """

    memory: int | None = None
    memory_swap: int | None = None
    nano_cpus: int | None = None
    cpu_shares: int | None = None
    cpuset_cpus: str | None = None
    pids_limit: int | None = None
    blkio_weight: int | None = None

    def to_oci(self) -> dict:
        """The ``linux.resources`` members for these limits (devices excluded)."""
        r: dict = {}
        if self.memory is not None or self.memory_swap is not None:
            mem: dict = {}
            if self.memory is not None:
                mem["limit"] = self.memory
            if self.memory_swap is not None:
                mem["swap"] = self.memory_swap
            elif self.memory is not None:
                mem["swap"] = self.memory * 2  # Docker: swap defaults to the memory limit
            r["memory"] = mem
        cpu: dict = {}
        if self.cpu_shares:
            cpu["shares"] = self.cpu_shares
        if self.nano_cpus:
            cpu["period"] = 100_000
            cpu["quota"] = self.nano_cpus * 100_000 // 1_000_000_000
        if self.cpuset_cpus:
            cpu["cpus"] = self.cpuset_cpus
        if cpu:
            r["cpu"] = cpu
        if self.pids_limit is not None and self.pids_limit != 0:
            r["pids"] = {"limit": self.pids_limit}
        if self.blkio_weight:
            r["blockIO"] = {"weight": self.blkio_weight}
        return r


@value
class SpecOptions:
    """Everything :func:`build_spec` needs for one container.

    Attributes:
        args: the process argv (entrypoint + cmd already combined).
        rootfs: absolute path of the mounted root filesystem.
        env: ``KEY=value`` strings in order (duplicates resolved by the caller).
        cwd: absolute working directory inside the container.
        uid, gid, additional_gids: the resolved process user.
        hostname: the UTS hostname (ignored with ``uts_host``).
        terminal: allocate a pty (runc then needs ``--console-socket``).
        readonly_rootfs: ``--read-only``.
        network: ``"private"`` (a new, unconfigured netns: loopback only), ``"none"``
            (same), ``"host"``, or a path to a netns file to join.
        pid_host, ipc_host, uts_host: share the host's namespace.
        cap_add, cap_drop: Docker spellings (``NET_ADMIN``, ``CAP_NET_ADMIN``, ``ALL``).
        privileged: all capabilities, all devices, no seccomp, no masked paths.
        seccomp: ``"default"``, ``"unconfined"``, or a path to a Docker-format profile.
        no_new_privileges: ``--security-opt no-new-privileges``.
        mounts: extra OCI mount dicts (binds, tmpfs, /etc/hosts...); one with the
            destination of a default mount replaces it.
        shm_size: bytes of /dev/shm.
        cgroups_path: e.g. ``/skiff/<id>``; None lets runc choose.
        resources: cgroup limits.
        rlimits: ``--ulimit`` values (clamped to the host's hard limits).
        sysctls: extra ``--sysctl`` pairs.
        oom_score_adj: the process's oom_score_adj.
        annotations: OCI annotations.
        devices: ``--device HOST[:CONTAINER[:PERMS]]`` specs.
        device_read_bps, device_write_bps: ``PATH:RATE`` specs (bytes per second; k/m/g
            suffixes as Docker).
        id_mappings: ``{"uidMappings": [...], "gidMappings": [...]}`` (config-linux.md
            "User namespace mappings"): the container gets a user namespace with them
            (skiff.runtime.userns); None: the host's.
        userns_path: a pinned user namespace (with those mappings) for runc to join
            instead of making one (when its network namespace was made inside it).
        cgroupns: ``--cgroupns``: ``private`` gives a cgroup namespace, ``host`` not; ""
            is Docker's default (private on a pure cgroup v2 host, else host).
        unmask_paths: ``--security-opt systempaths=unconfined``: no masked or read-only
            /proc and /sys paths.
    """

    args: tuple[str, ...]
    rootfs: str
    env: tuple[str, ...] = (f"PATH={DEFAULT_PATH_ENV}",)
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    hostname: str = ""
    terminal: bool = False
    readonly_rootfs: bool = False
    network: str = "private"
    pid_host: bool = False
    ipc_host: bool = False
    uts_host: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    seccomp: str = "default"
    no_new_privileges: bool = False
    mounts: tuple[dict, ...] = ()
    shm_size: int = DEFAULT_SHM_SIZE
    cgroups_path: str | None = None
    resources: Resources = factory(Resources)
    rlimits: tuple[Rlimit, ...] = ()
    sysctls: tuple[tuple[str, str], ...] = ()
    oom_score_adj: int | None = None
    annotations: tuple[tuple[str, str], ...] = ()
    devices: tuple[str, ...] = ()
    device_read_bps: tuple[str, ...] = ()
    device_write_bps: tuple[str, ...] = ()
    id_mappings: dict | None = None
    userns_path: str | None = None
    cgroupns: str = ""  # "private" / "host" (--cgroupns); "": private on a cgroup v2 host
    unmask_paths: bool = False  # --security-opt systempaths=unconfined


def normalize_cap(name: str) -> str:
    """``net_admin`` / ``CAP_NET_ADMIN`` → ``CAP_NET_ADMIN``; ``all`` → ``ALL``.

    Raises:
        InvalidArgument: not a capability Linux knows (Docker: ``unknown capability: "X"``).
    """
    n = name.strip().upper()
    if n == "ALL":
        return n
    if not n.startswith("CAP_"):
        n = "CAP_" + n
    if n not in ALL_CAPS:
        raise InvalidArgument("invalid capability", f'unknown capability: "{n}"')
    return n


def capabilities(cap_add: Iterable[str] = (), cap_drop: Iterable[str] = (), *,
                 privileged: bool = False) -> list[str]:
    """The container's capability set (Docker's caps.TweakCapabilities).

    Defaults minus ``cap_drop`` plus ``cap_add``; ``ALL`` in cap_drop starts from nothing,
    ``ALL`` in cap_add (or ``privileged``) gives every capability. Order: defaults first in
    Docker's order, then added ones in kernel order.

    Raises:
        InvalidArgument: an unknown capability name.
    """
    def norm(names: Iterable[str], which: str) -> list[str]:
        try:
            return [normalize_cap(c) for c in names]
        except InvalidArgument as e:  # dockerd: "invalid CapAdd: unknown capability: ..."
            raise InvalidArgument(f"invalid {which}", e.why) from None
    add = norm(cap_add, "CapAdd")
    drop = norm(cap_drop, "CapDrop")
    if privileged or "ALL" in add:
        return list(ALL_CAPS)
    base = [] if "ALL" in drop else [c for c in DEFAULT_CAPS if c not in drop]
    for c in ALL_CAPS:
        if c in add and c not in base:
            base.append(c)
    return base


def host_hard_limit(rtype: str) -> int:
    """The host's hard limit for an OCI rlimit name (``RLIMIT_NOFILE``); -1 is unlimited."""
    import resource  # (only for --ulimit: a shared library's load on every run otherwise)

    num = getattr(resource, rtype, None)
    if num is None:
        return -1
    hard = resource.getrlimit(num)[1]
    return -1 if hard == resource.RLIM_INFINITY else hard


def _rlimits(limits: Sequence[Rlimit]) -> list[dict]:
    out = []
    for lim in limits:
        rtype = RLIMIT_NAMES.get(lim.type)
        if rtype is None:
            raise InvalidArgument("invalid ulimit", f"invalid ulimit type: {lim.type}")
        if lim.soft > lim.hard and lim.hard >= 0:
            raise InvalidArgument(
                "invalid ulimit",
                f"ulimit soft limit must be less than or equal to hard limit: {lim.soft} > {lim.hard}")
        host = host_hard_limit(rtype)
        hard = lim.hard if host < 0 else (host if lim.hard < 0 else min(lim.hard, host))
        soft = min(lim.soft if lim.soft >= 0 else hard, hard) if hard >= 0 else lim.soft
        out.append({"type": rtype, "hard": _u64(hard), "soft": _u64(soft)})
    return out


def _u64(v: int) -> int:
    return (1 << 64) - 1 if v < 0 else v


def default_mounts(shm_size: int = DEFAULT_SHM_SIZE, *, privileged: bool = False) -> list[dict]:
    """Docker's seven default mounts (/proc, /dev, /dev/pts, /sys, /sys/fs/cgroup,
    /dev/mqueue, /dev/shm); privileged containers get /sys and cgroups read-write."""
    ro = [] if privileged else ["ro"]
    return [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", *ro]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": [*ro, "nosuid", "noexec", "nodev"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={shm_size // 1024}k"]},
    ]


def masked_paths() -> list[str]:
    """The paths a container gets masked (Docker's list, and each CPU's thermal_throttle
    directory where the host has one); docker inspect's HostConfig.MaskedPaths."""
    paths = list(MASKED_PATHS)
    # Docker also masks each CPU's thermal_throttle directory where the host has one.
    try:
        cpus = sorted(d for d in os.listdir("/sys/devices/system/cpu")
                      if d.startswith("cpu") and d[3:].isdigit())
    except OSError:
        cpus = []
    for d in cpus:
        p = f"/sys/devices/system/cpu/{d}/thermal_throttle"
        if os.path.exists(p):
            paths.append(p)
    return paths


def _namespaces(o: SpecOptions) -> list[dict]:
    ns: list[dict] = [{"type": "mount"}]
    if o.network == "host":
        pass
    elif o.network in ("private", "none", "bridge", ""):
        ns.append({"type": "network"})
    else:
        ns.append({"type": "network", "path": o.network})
    if TIME_NAMESPACE:
        ns.append({"type": "time"})
    if not o.uts_host:
        ns.append({"type": "uts"})
    if not o.pid_host:
        ns.append({"type": "pid"})
    if not o.ipc_host:
        ns.append({"type": "ipc"})
    if o.cgroupns == "private" or (
            not o.cgroupns and os.path.exists("/sys/fs/cgroup/cgroup.controllers")):
        ns.append({"type": "cgroup"})  # Docker: private cgroupns on a pure v2 host
    return ns


def _merge_mounts(defaults: list[dict], extra: Sequence[dict]) -> list[dict]:
    """Defaults first, minus those an extra mount replaces (same destination or below it,
    as dockerd drops /dev/shm when the user mounts over /dev); then extras, parents
    before children (sorted by path depth, stable)."""
    dests = {m["destination"].rstrip("/") or "/" for m in extra}

    def covered(d: str) -> bool:
        return any(d == x or d.startswith(x.rstrip("/") + "/") for x in dests)

    kept = [m for m in defaults if not covered(m["destination"])]
    ordered = sorted(extra, key=lambda m: len([p for p in m["destination"].split("/") if p]))
    return kept + [dict(m) for m in ordered]


def default_sysctls() -> dict[str, str]:
    """moby's two sysctls for a private network namespace: unprivileged ping and low
    ports."""
    return {"net.ipv4.ip_unprivileged_port_start": "0",
            "net.ipv4.ping_group_range": "0 2147483647"}


def build_spec(o: SpecOptions) -> dict:
    """The OCI runtime config for ``o`` (runtime-spec v1.0.2 config.json as a dict).

    Raises:
        InvalidArgument: an unknown capability or ulimit, a relative cwd, empty args.
        NotFound: the default seccomp profile file is missing.
    """
    if not o.args:
        raise InvalidArgument("no command specified", "no command specified")
    if not o.cwd.startswith("/"):
        raise InvalidArgument("invalid working directory",
                              f"the working directory '{o.cwd}' is invalid, it needs to be an absolute path")
    caps = capabilities(o.cap_add, o.cap_drop, privileged=o.privileged)
    user: dict = {"uid": o.uid, "gid": o.gid}
    if o.additional_gids:
        user["additionalGids"] = list(o.additional_gids)
    process: dict = {
        "terminal": o.terminal,
        "user": user,
        "args": list(o.args),
        "env": list(o.env),
        "cwd": o.cwd,
        "capabilities": {"bounding": caps, "effective": list(caps), "permitted": list(caps)},
        "noNewPrivileges": o.no_new_privileges,
    }
    if o.rlimits:
        process["rlimits"] = _rlimits(o.rlimits)
    if o.oom_score_adj is not None:
        process["oomScoreAdj"] = o.oom_score_adj

    resources = o.resources.to_oci()
    resources["devices"] = ([{"allow": True, "access": "rwm"}] if o.privileged
                            else [dict(r) for r in _DEFAULT_DEVICE_RULES])
    devices = []
    for d in o.devices:
        for dev, rule in device_nodes(d):
            devices.append(dev)
            if not o.privileged:
                resources["devices"].append(rule)
    for key, specs in (("throttleReadBpsDevice", o.device_read_bps),
                       ("throttleWriteBpsDevice", o.device_write_bps)):
        if specs:
            resources.setdefault("blockIO", {})[key] = [throttle(x) for x in specs]
    linux: dict = {
        "resources": resources,
        "namespaces": _namespaces(o),
    }
    if devices:
        linux["devices"] = devices
    if o.cgroups_path:
        linux["cgroupsPath"] = o.cgroups_path
    sysctl: dict[str, str] = default_sysctls() if o.network != "host" else {}
    sysctl.update(dict(o.sysctls))
    if sysctl:
        linux["sysctl"] = sysctl
    if not o.privileged:
        if not o.unmask_paths:
            linux["maskedPaths"] = masked_paths()
            linux["readonlyPaths"] = list(READONLY_PATHS)
        if o.seccomp != "unconfined":
            from skiff.runtime import seccomp

            if o.seccomp in ("default", ""):
                linux["seccomp"] = seccomp.default(caps)
            else:
                linux["seccomp"] = seccomp.convert(seccomp.load_profile(o.seccomp), caps)

    spec: dict = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": o.rootfs, "readonly": o.readonly_rootfs},
        "hostname": "" if o.uts_host else o.hostname,
        "mounts": _merge_mounts(default_mounts(o.shm_size, privileged=o.privileged), o.mounts),
        "linux": linux,
    }
    if o.id_mappings:
        user_ns = {"type": "user"}
        if o.userns_path:
            user_ns["path"] = o.userns_path
        linux["namespaces"].append(user_ns)
        linux.update(o.id_mappings)
        if linux.get("sysctl", {}).get("net.ipv4.ping_group_range") == "0 2147483647":
            # only gids mapped in the container's user namespace may be named there
            top = max(c + n for c, _, n in ((g["containerID"], g["hostID"], g["size"])
                                            for g in o.id_mappings["gidMappings"]))
            linux["sysctl"]["net.ipv4.ping_group_range"] = f"0 {top - 1}"
    if o.annotations:
        spec["annotations"] = dict(o.annotations)
    return spec


def _host_device(path: str):
    import stat as _stat

    what = f'error gathering device information while adding custom device "{path}"'
    try:
        st = os.stat(path)
    except OSError as e:
        why = e.strerror or "no such device"
        # Go's lower-case errno text; docker/cli's run exits 127 on "no such file or
        # directory" in a start error (its runStartContainerErr)
        why = why[:1].lower() + why[1:]
        raise SkiffError(what, why, exit_code=127 if "no such file or directory" in why
                         else None) from None
    if _stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif _stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        raise SkiffError(what, "not a device node")
    return kind, os.major(st.st_rdev), os.minor(st.st_rdev), st


def _device_mode(mode: str) -> bool:
    return bool(mode) and len(set(mode)) == len(mode) and all(c in "rwm" for c in mode)


def parse_device(spec: str) -> tuple[str, str, str]:
    """``--device HOST[:CONTAINER][:PERMS]`` → (host path, container path, permissions),
    checked as docker/cli does (validateDevice, parseDevice); the host path is only
    looked at when the container starts (:func:`device`), as dockerd does.

    Raises:
        InvalidArgument: ``bad format for path: X``, ``bad mode specified: M``, ``P is not
            an absolute path`` (exit 125).
    """
    parts = spec.split(":")
    if len(parts) > 3 or not parts[0]:
        raise InvalidArgument(f"bad format for path: {spec}")
    host, dest, perms = parts[0], parts[0], "rwm"
    if len(parts) == 2:
        if _device_mode(parts[1]):
            perms = parts[1]
        else:
            dest = parts[1]
    elif len(parts) == 3:
        dest, perms = parts[1], parts[2]
        if not _device_mode(perms):
            raise InvalidArgument(f"bad mode specified: {perms}")
    if not dest.startswith("/"):
        raise InvalidArgument(f"{dest} is not an absolute path")
    if len(parts) == 1 or (len(parts) == 2 and perms == parts[1]):
        host = dest = _clean(dest)  # (docker/cli's path.Clean of what it validated)
    elif len(parts) == 2:
        dest = _clean(dest)
    return host, dest, perms


def _clean(path: str) -> str:
    """Go's path.Clean for an absolute path (os.path.normpath keeps a leading "//")."""
    return "/" + os.path.normpath(path).lstrip("/")


def device(spec: str) -> tuple[dict, dict]:
    """``--device HOST[:CONTAINER[:PERMS]]`` → (linux.devices entry, cgroup allow rule),
    at start.

    Raises:
        InvalidArgument: a malformed spec (:func:`parse_device`).
        SkiffError: not a device on the host: dockerd's ``error gathering device
            information while adding custom device "P": no such file or directory``
            (exit 127, docker run's) or ``...: not a device node`` (125).
    """
    host, dest, perms = parse_device(spec)
    kind, major, minor, st = _host_device(host)
    dev = {"path": dest, "type": kind, "major": major, "minor": minor,
           "fileMode": st.st_mode & 0o7777, "uid": st.st_uid, "gid": st.st_gid}  # (dockerd's)
    return dev, {"allow": True, "type": kind, "major": major, "minor": minor, "access": perms}


def device_nodes(spec: str) -> list[tuple[dict, dict]]:
    """``--device HOST[:CONTAINER[:PERMS]]`` → [(linux.devices entry, cgroup allow rule)],
    at start: :func:`device`'s one pair for a device node; for a directory (a symlink to
    one is followed), every device node found under it, recursively (symlinks not
    followed, others skipped), at the same relative path below CONTAINER, with the
    node's own mode and owner (Docker 20.10's oci.DevicesFromPath).

    Raises:
        SkiffError: as :func:`device`; a directory without a device node is dockerd's
            ``...: not a device node`` too.
    """
    import stat as _stat

    host, dest, perms = parse_device(spec)
    try:
        return [device(spec)]
    except SkiffError as e:
        if e.why != "not a device node":
            raise
        err = e
    real = os.path.realpath(host) if os.path.islink(host) else host
    out: list[tuple[dict, dict]] = []

    def walk(d: str) -> None:  # (Go's filepath.Walk order: lexical, depth first)
        try:
            names = sorted(os.listdir(d))
        except OSError:
            return
        for name in names:
            p = os.path.join(d, name)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if _stat.S_ISDIR(st.st_mode):
                walk(p)
                continue
            kind = "c" if _stat.S_ISCHR(st.st_mode) else "b" if _stat.S_ISBLK(st.st_mode) else ""
            if kind:
                major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
                out.append(({"path": dest + p[len(real):], "type": kind, "major": major,
                             "minor": minor, "fileMode": st.st_mode & 0o7777,
                             "uid": st.st_uid, "gid": st.st_gid},
                            {"allow": True, "type": kind, "major": major, "minor": minor,
                             "access": perms}))
    if os.path.isdir(real):
        walk(real)
    if not out:
        raise err
    return out


def throttle(spec: str) -> dict:
    """``PATH:RATE`` (``/dev/sda:1mb``) → a blockIO throttle entry {major, minor, rate}.

    Raises:
        InvalidArgument: a malformed spec.
        SkiffError: PATH cannot be looked at: dockerd's ``stat /dev/x: no such file or
            directory`` (docker run exits 127 on it).
    """
    path, _, rate = spec.rpartition(":")
    if not path or not rate:
        raise InvalidArgument(f"invalid argument {spec!r}", "bad format, expected PATH:RATE")
    import re

    m = re.fullmatch(r"(\d+)([kmg]?)b?", rate.lower())
    if not m:
        raise InvalidArgument(f"invalid rate for device: {spec}",
                              "The correct format is <device-path>:<number>[<unit>]")
    n = int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[m.group(2)]
    major, minor = device_numbers(path)
    return {"major": major, "minor": minor, "rate": n}


def device_numbers(path: str) -> tuple[int, int]:
    """(major, minor) of the device node ``path``, looked at when the container starts
    (dockerd's getBlkioThrottleDevices / weight devices stat it then).

    Raises:
        SkiffError: the stat's own error, ``stat /dev/x: no such file or directory``
            (docker run exits 127 on that one).
    """
    try:
        st = os.stat(path)
    except OSError as e:
        why = e.strerror or "cannot stat"
        why = why[:1].lower() + why[1:]
        raise SkiffError(f"stat {path}", why,
                         exit_code=127 if "no such file or directory" in why else None) from None
    return os.major(st.st_rdev), os.minor(st.st_rdev)


def bind_mount(source: str, destination: str, *, readonly: bool = False,
               propagation: str = "rprivate") -> dict:
    """An OCI bind mount dict as dockerd writes for ``-v SRC:DST[:ro]``."""
    opts = ["rbind", propagation]
    if readonly:
        opts.append("ro")
    return {"destination": destination, "type": "bind", "source": source, "options": opts}
