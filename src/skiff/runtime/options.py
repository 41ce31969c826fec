"""``skiff create/run`` options → the container's Config and HostConfig (Docker's shapes).

:class:`CreateOptions` is the library's input (the CLI fills it from flags);
:func:`container_config` merges it with the image's config the way dockerd does
(daemon/create.go, container/container.go CreateDaemonEnvironment): ``-e`` replaces or
appends to the image's Env, ``--entrypoint`` drops the image's Cmd, arguments replace
Cmd, and so on. :func:`process_env` is the environment the process finally gets.
"""

from __future__ import annotations

import os

from skiff.errors import InvalidArgument
from skiff.runtime.spec import DEFAULT_PATH_ENV, DEFAULT_SHM_SIZE
from skiff.runtime.value import factory, value

RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")


@value
class CreateOptions:
    """Everything ``docker create`` takes that skiff implements.

    Sizes in bytes, ``nano_cpus`` in 1e-9 CPUs; ``entrypoint`` None keeps the image's,
    ``()`` clears it (``--entrypoint ""``); ``rootfs`` runs a directory instead of an image
    (Podman's ``--rootfs``); ``binds`` are ``-v`` specs, ``mounts`` ``--mount`` specs.
    """

    image: str = ""
    cmd: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    name: str | None = None
    env: tuple[str, ...] = ()
    workdir: str | None = None
    user: str | None = None
    hostname: str | None = None
    tty: bool = False
    stdin_open: bool = False
    attach: tuple[str, ...] = ()
    binds: tuple[str, ...] = ()
    mounts: tuple[str, ...] = ()
    tmpfs: tuple[str, ...] = ()
    volumes_from: tuple[str, ...] = ()
    read_only: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    security_opt: tuple[str, ...] = ()
    network: str = "default"
    pid: str = ""
    ipc: str = ""
    uts: str = ""
    memory: int = 0
    memory_swap: int = 0
    nano_cpus: int = 0
    cpu_shares: int = 0
    cpuset_cpus: str = ""
    pids_limit: int | None = None
    blkio_weight: int = 0
    shm_size: int = 0
    restart: str = "no"
    autoremove: bool = False
    labels: tuple[tuple[str, str], ...] = ()
    ulimits: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()
    init: bool = False
    stop_signal: str | None = None
    stop_timeout: int | None = None
    sysctls: tuple[tuple[str, str], ...] = ()
    rootfs: str | None = None
    expose: tuple[str, ...] = ()
    # skiff.network (issue 8): -p, -P, --ip, --network-alias, --mac-address
    publish: tuple[str, ...] = ()
    publish_all: bool = False
    ip: str = ""
    network_aliases: tuple[str, ...] = ()
    mac_address: str = ""
    devices: tuple[str, ...] = ()
    device_read_bps: tuple[str, ...] = ()
    device_write_bps: tuple[str, ...] = ()
    userns: str = ""  # "" (the store's userns-remap, if any), "host", "auto" (skiff.runtime.userns)
    # -- more resource flags (skiff.runtime.resources_more): CPU CFS/RT, cpuset mems,
    # memory reservation/swappiness/kernel, OOM, blkio weight/iops, device cgroup rules,
    # cgroup parent and namespace
    cpu_period: int = 0
    cpu_quota: int = 0
    cpu_rt_period: int = 0
    cpu_rt_runtime: int = 0
    cpuset_mems: str = ""
    memory_reservation: int = 0
    memory_swappiness: int = -1  # -1: the host's (inspect: null)
    kernel_memory: int = 0
    oom_kill_disable: bool | None = False  # None: discarded (no kernel support)
    oom_score_adj: int = 0
    blkio_weight_device: tuple[tuple[str, int], ...] = ()
    device_read_iops: tuple[tuple[str, int], ...] = ()
    device_write_iops: tuple[tuple[str, int], ...] = ()
    device_cgroup_rules: tuple[str, ...] = ()
    cgroup_parent: str = ""
    cgroupns: str = ""  # "", "host" or "private" ("": the host's default)
    # -- cfg5: healthcheck and config flags (kept in one block for merges) --
    healthcheck: dict | None = None  # HealthConfig from the flags (skiff.runtime.health)
    log_driver: str = ""  # --log-driver ("": json-file) and --log-opt (skiff.runtime.logopts)
    log_opts: tuple[str, ...] = ()
    domainname: str = ""  # --domainname (Config.Domainname, the spec's domainname)
    runtime: str = ""  # --runtime (HostConfig.Runtime: runc)
    extra: dict = factory(dict)


def replace_or_append_env(base: list[str], overrides: list[str]) -> list[str]:
    """Docker's ReplaceOrAppendEnvValues: ``K=V`` replaces K in place or appends; a bare
    ``K`` (no ``=``) removes K."""
    out = list(base)
    for kv in overrides:
        key = kv.split("=", 1)[0]
        idx = next((i for i, e in enumerate(out) if e.split("=", 1)[0] == key), None)
        if "=" not in kv:
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(kv)
        else:
            out[idx] = kv
    return out


def parse_env_flags(values: list[str]) -> list[str]:
    """``-e`` values: ``K=V`` as is, a bare ``K`` takes the caller's value (dropped if
    unset), as docker/cli does."""
    out = []
    for v in values:
        if "=" in v:
            if v.startswith("="):  # docker/cli opts.ValidateEnv, a flag-value error
                raise InvalidArgument(f'invalid argument "{v}" for "-e, --env" flag',
                                      f"invalid environment variable: {v}")
            out.append(v)
        elif v in os.environ:
            out.append(f"{v}={os.environ[v]}")
    return out


def parse_restart(s: str) -> tuple[str, int]:
    """``no`` | ``always`` | ``unless-stopped`` | ``on-failure[:N]`` → (name, max retries).

    Raises:
        InvalidArgument: in Docker's words (dockerd 20.10, docker/cli 28):
            ``invalid restart policy 'X'``, ``maximum retry count cannot be used with
            restart policy 'always'``, ``maximum retry count cannot be negative``,
            ``invalid restart policy format: maximum retry count must be an integer``.
    """
    name, _, n = (s or "no").partition(":")
    if name not in RESTART_POLICIES:
        raise InvalidArgument(f"invalid restart policy '{name}'")
    if n:
        try:
            count = int(n)
        except ValueError:
            raise InvalidArgument("invalid restart policy format",
                                  "maximum retry count must be an integer") from None
        if name != "on-failure":
            raise InvalidArgument(
                f"maximum retry count cannot be used with restart policy '{name}'")
        if count < 0:
            raise InvalidArgument("maximum retry count cannot be negative")
        return name, count
    return name, 0


def container_config(o: CreateOptions, image_config: dict, hostname: str,
                     image_name: str) -> dict:
    """The container's ``Config`` (docker inspect field order).

    Raises:
        InvalidArgument: no command at all (Docker: ``No command specified``).
    """
    ic = image_config or {}
    env = replace_or_append_env(list(ic.get("Env") or []), list(o.env))
    if o.entrypoint is not None:
        entrypoint = list(o.entrypoint) or None
        cmd = list(o.cmd) or None
    else:
        entrypoint = ic.get("Entrypoint") or None
        cmd = list(o.cmd) if o.cmd else (ic.get("Cmd") or None)
    if not (entrypoint or cmd):
        raise InvalidArgument("No command specified", None)
    labels = dict(ic.get("Labels") or {})
    labels.update(dict(o.labels))
    exposed = dict(ic.get("ExposedPorts") or {})
    for p in o.expose:
        exposed[p if "/" in p else f"{p}/tcp"] = {}
    cfg = {
        "Hostname": hostname,
        "Domainname": o.domainname,
        "User": o.user if o.user is not None else (ic.get("User") or ""),
        "AttachStdin": "stdin" in o.attach,
        "AttachStdout": "stdout" in o.attach,
        "AttachStderr": "stderr" in o.attach,
        "Tty": o.tty,
        "OpenStdin": o.stdin_open,
        "StdinOnce": o.stdin_open and "stdin" in o.attach,
        "Env": env,
        "Cmd": cmd,
        "Image": image_name,
        "Volumes": _volumes(o, ic),
        "WorkingDir": o.workdir if o.workdir is not None else (ic.get("WorkingDir") or ""),
        "Entrypoint": entrypoint,
        "OnBuild": ic.get("OnBuild") or None,
        "Labels": labels,
    }
    if exposed:
        cfg["ExposedPorts"] = exposed
    if o.healthcheck is not None or ic.get("Healthcheck"):
        cfg = _with_healthcheck(cfg, o.healthcheck, ic.get("Healthcheck"))
    stop = o.stop_signal or ic.get("StopSignal")
    if stop:
        cfg["StopSignal"] = stop
    if o.stop_timeout is not None:
        cfg["StopTimeout"] = o.stop_timeout
    return cfg


def _with_healthcheck(cfg: dict, user: dict | None, image: dict | None) -> dict:
    """Config with Healthcheck after Cmd (Go's field order): the flags' merged with the
    image's as dockerd does, then dockerd's checks (skiff.runtime.health)."""
    from skiff.runtime import health

    hc = health.merge(user, image)
    health.validate(hc)
    if hc is None:
        return cfg
    out = {}
    for k, v in cfg.items():
        out[k] = v
        if k == "Cmd":
            out["Healthcheck"] = hc
    return out


def _log_config(o: CreateOptions) -> dict:
    if not (o.log_driver or o.log_opts):  # (skiff.runtime.logopts only for the flags)
        return {"Type": "json-file", "Config": {}}
    from skiff.runtime.logopts import log_config

    return log_config(o.log_driver, o.log_opts)


def _port_bindings(publish: tuple[str, ...]) -> dict:
    if not publish:  # (skiff.network.glue is not imported without -p)
        return {}
    from skiff.network.glue import port_bindings

    return port_bindings(publish)


def host_config(o: CreateOptions) -> dict:
    """The container's ``HostConfig`` (the subset skiff honours, Docker's names)."""
    policy, retries = parse_restart(o.restart)
    if o.autoremove and policy != "no":
        raise InvalidArgument("conflicting options",
                              "cannot specify both --restart and --rm")
    _check_security(o)
    network = o.network or "default"
    return {
        "Binds": _bind_specs(o) or None,
        "ContainerIDFile": "",
        "LogConfig": _log_config(o),
        "NetworkMode": network,
        "PortBindings": _port_bindings(o.publish),
        "PublishAllPorts": o.publish_all,
        "RestartPolicy": {"Name": policy, "MaximumRetryCount": retries},
        "AutoRemove": o.autoremove,
        "VolumeDriver": "",
        "VolumesFrom": list(o.volumes_from) or None,
        "CapAdd": list(o.cap_add) or None,
        "CapDrop": list(o.cap_drop) or None,
        "Dns": list(o.dns),
        "DnsOptions": list(o.dns_options),
        "DnsSearch": list(o.dns_search),
        "ExtraHosts": list(o.extra_hosts) or None,
        "GroupAdd": list(o.group_add) or None,
        "IpcMode": o.ipc or "private",
        "PidMode": o.pid,
        "Privileged": o.privileged,
        "ReadonlyRootfs": o.read_only,
        "SecurityOpt": list(o.security_opt) or None,
        "Tmpfs": dict(_tmpfs_pair(t) for t in o.tmpfs) or None,
        "UTSMode": o.uts,
        "ShmSize": o.shm_size or DEFAULT_SHM_SIZE,
        "Runtime": o.runtime or "runc",
        "Sysctls": dict(o.sysctls) or None,
        "Memory": o.memory,
        "MemorySwap": o.memory_swap if o.memory_swap else (o.memory * 2 if o.memory else 0),
        "NanoCpus": o.nano_cpus,
        "CpuShares": o.cpu_shares,
        "CpusetCpus": o.cpuset_cpus,
        "BlkioWeight": o.blkio_weight,
        "PidsLimit": o.pids_limit,
        "Ulimits": [_ulimit_dict(u) for u in o.ulimits] or None,
        "Init": o.init or None,
        "Mounts": _api_mounts(o.mounts),
        "Devices": [_device_mapping(d) for d in o.devices] or None,
        "UsernsMode": o.userns,
        "BlkioDeviceReadBps": [_rate(d, "--device-read-bps") for d in o.device_read_bps] or None,
        "BlkioDeviceWriteBps": [_rate(d, "--device-write-bps")
                                for d in o.device_write_bps] or None,
        **_host_config_more(o),
    }


def _host_config_more(o: CreateOptions) -> dict:
    """HostConfig's fields for the more resource flags, checked as dockerd does
    (skiff.runtime.resources_more, imported only when one of them or --cpuset-cpus is
    given)."""
    if (o.cpu_period or o.cpu_quota or o.cpu_rt_period or o.cpu_rt_runtime or o.cpuset_mems
            or o.cpuset_cpus or o.memory_reservation or o.memory_swappiness != -1
            or o.kernel_memory or o.oom_kill_disable or o.oom_score_adj
            or o.blkio_weight_device or o.device_read_iops or o.device_write_iops
            or o.device_cgroup_rules or o.cgroup_parent or o.cgroupns or o.blkio_weight):
        from skiff.runtime import resources_more

        o = resources_more.discard(o)[0]
        resources_more.check(o)
        return resources_more.host_config_fields(o)
    return {
        "CgroupnsMode": "private" if os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        else "host",
        "OomScoreAdj": 0, "CgroupParent": "", "BlkioWeightDevice": [],
        "BlkioDeviceReadIOps": None, "BlkioDeviceWriteIOps": None, "CpuPeriod": 0,
        "CpuQuota": 0, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetMems": "",
        "DeviceCgroupRules": None, "KernelMemory": 0, "MemoryReservation": 0,
        "MemorySwappiness": None, "OomKillDisable": False,
    }


def _volumes(o: CreateOptions, ic: dict) -> dict | None:
    """Config.Volumes: the image's plus ``-v`` specs without a source (docker/cli puts
    those there; dockerd merges the image's in; JSON shows them sorted, as Go's maps)."""
    if not o.binds:
        return ic.get("Volumes") or None
    from skiff.runtime.volspec import split

    anon = split(o.binds)[1]
    if not anon:
        return ic.get("Volumes") or None
    merged = {p: {} for p in anon}
    merged.update(ic.get("Volumes") or {})
    return dict(sorted(merged.items()))


def _bind_specs(o: CreateOptions) -> list[str]:
    """HostConfig.Binds: the ``-v`` specs with a source (skiff.runtime.volspec.split)."""
    if not o.binds:
        return []
    from skiff.runtime.volspec import split

    return split(o.binds)[0]


def _device_mapping(spec: str) -> dict:
    from skiff.runtime.spec import parse_device

    host, dest, perms = parse_device(spec)  # the syntax now; the host's device at start
    return {"PathOnHost": host, "PathInContainer": dest, "CgroupPermissions": perms}


def _rate(spec: str, flag: str) -> dict:
    """``--device-read-bps PATH:RATE`` → {"Path", "Rate"}: docker/cli's parsing (the
    device itself is looked at when the container starts, as dockerd does)."""
    from skiff.runtime.resources_more import bps_device

    path, rate = bps_device(spec, flag)
    return {"Path": path, "Rate": rate}


def _tmpfs_pair(spec: str) -> tuple[str, str]:
    path, _, opts = spec.partition(":")
    if not path.startswith("/"):
        raise InvalidArgument("invalid mount path",  # dockerd's words
                              f"'{path}' mount path must be absolute")
    return path, opts


def _check_security(o: CreateOptions) -> None:
    """What Docker refuses before a container exists (dockerd's create, docker/cli's
    flag parsing), so that a bad value never leaves a record behind: unknown capabilities
    (``invalid CapAdd: ...``), a seccomp profile file that cannot be read (docker/cli reads
    it when the container is created)."""
    if o.cap_add or o.cap_drop:
        from skiff.runtime.spec import capabilities

        capabilities(o.cap_add, o.cap_drop)
    for opt in o.security_opt:
        if "=" not in opt and ":" not in opt and opt != "no-new-privileges":
            raise InvalidArgument(f"Invalid --security-opt: {_go_quote(opt)}")  # docker/cli's
        key, val = _security_pair(opt)
        if key == "seccomp" and val not in ("unconfined", "default", ""):
            from skiff.runtime.seccomp import load_profile

            load_profile(val)
    security_options(o.security_opt)


_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def _go_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _security_pair(opt: str) -> tuple[str, str]:
    """``key=value`` (or the old ``key:value``) → (key, value); ``no-new-privileges``
    alone → ("no-new-privileges", "true")."""
    if opt == "no-new-privileges":
        return opt, "true"
    sep = "=" if "=" in opt else ":"
    key, _, val = opt.partition(sep)
    return key, val


def security_options(opts) -> dict[str, str]:
    """``--security-opt`` values → {key: value}, as dockerd's parseSecurityOpt reads them
    (``=`` or the old ``:`` separator, a later value wins; ``no-new-privileges`` is
    "true" or "false"). Keys: label, apparmor, seccomp, no-new-privileges, systempaths
    (label and apparmor have no effect here: no SELinux, no AppArmor profile loading).

    Raises:
        InvalidArgument: dockerd's ``invalid --security-opt 2: "X"`` (an unknown key, a
            no-new-privileges value that is no Go bool, systempaths other than
            unconfined), ``invalid --security-opt 1: "X"`` (no separator).
    """
    out: dict[str, str] = {}
    for opt in opts:
        if opt == "disable":
            out["label"] = "disable"
            continue
        if opt != "no-new-privileges" and "=" not in opt and ":" not in opt:
            raise InvalidArgument(f"invalid --security-opt 1: {_go_quote(opt)}")
        key, val = _security_pair(opt)
        if key == "no-new-privileges":
            if val not in _GO_TRUE and val not in _GO_FALSE:
                raise InvalidArgument(f"invalid --security-opt 2: {_go_quote(opt)}")
            val = "true" if val in _GO_TRUE else "false"
        elif key == "systempaths":
            if val != "unconfined":
                raise InvalidArgument(f"invalid --security-opt 2: {_go_quote(opt)}")
        elif key not in ("label", "apparmor", "seccomp"):
            raise InvalidArgument(f"invalid --security-opt 2: {_go_quote(opt)}")
        out[key] = val
    return out


def _ulimit_dict(spec: str) -> dict:
    """``nofile=1024[:2048]`` → {"Name", "Soft", "Hard"}.

    Raises:
        InvalidArgument: docker/cli's ``invalid argument "X" for "--ulimit" flag: ...``
            (an unknown type, a number that does not parse, soft above hard).
    """
    from skiff.runtime.spec import RLIMIT_NAMES

    what = f'invalid argument "{spec}" for "--ulimit" flag'
    name, eq, vals = spec.partition("=")
    if not eq or not name:
        raise InvalidArgument(what, f"invalid ulimit argument: {spec}")
    if name not in RLIMIT_NAMES:
        raise InvalidArgument(what, f"invalid ulimit type: {name}")
    soft, _, hard = vals.partition(":")
    for v in (soft, hard) if hard else (soft,):
        try:
            int(v)
        except ValueError:
            raise InvalidArgument(what, f'strconv.ParseInt: parsing "{v}": invalid syntax') from None
    s = int(soft)
    h = int(hard) if hard else s
    if s > h:
        raise InvalidArgument(
            what, f"ulimit soft limit must be less than or equal to hard limit: {s} > {h}")
    return {"Name": name, "Hard": h, "Soft": s}


def process_env(config: dict) -> list[str]:
    """What the process gets: ``PATH`` (default), ``HOSTNAME``, ``TERM=xterm`` with a tty,
    then the Config's Env replacing or appending (moby CreateDaemonEnvironment)."""
    base = [f"PATH={DEFAULT_PATH_ENV}", f"HOSTNAME={config.get('Hostname', '')}"]
    if config.get("Tty"):
        base.append("TERM=xterm")
    return replace_or_append_env(base, list(config.get("Env") or []))


def _api_mounts(specs) -> list[dict] | None:
    """HostConfig.Mounts: the ``--mount`` flags parsed as Docker stores them."""
    if not specs:
        return None
    from skiff.runtime.volumes import api_mount

    return [api_mount(s) for s in specs]
