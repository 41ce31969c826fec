"""docker run's further resource flags: CPU CFS and real-time, cpuset mems, memory
reservation / swappiness / kernel memory, OOM killer and score, blkio weight per device,
IOPS throttles, device cgroup rules, cgroup parent and cgroup namespace.

Four stages, each Docker 20.10's:

- the flag values as docker/cli parses them (:func:`weight_device`, :func:`iops_device`,
  :func:`bps_device`, :func:`device_cgroup_rule`, :func:`cli_check`: ``invalid argument
  "X" for "--flag" flag: ...``);
- what the kernel cannot apply, dropped with a warning (:func:`discard`; all printed by
  :func:`warnings`), then what dockerd refuses at create (:func:`check`; both from
  daemon/daemon_unix.go verifyPlatformContainerResources);
- HostConfig's members as docker inspect shows them (:func:`host_config_fields`);
- the OCI ``linux.resources`` members runc gets at start (:func:`oci_resources`).

Only imported when one of these flags (or ``--cpuset-cpus``, ``--blkio-weight``,
``--device-read/write-bps``) is given: the run path without them does not load it.
"""

from __future__ import annotations

import os
import re

from skiff.errors import InvalidArgument

MIN_MEMORY = 6 * 1024 * 1024  # dockerd's linuxMinMemory
_RULE = re.compile(r"([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})")
_INT = re.compile(r"[+-]?[0-9]+")  # Go's strconv.Atoi
CGROUP = "/sys/fs/cgroup"


def _flag_error(value: str, flag: str, why: str) -> InvalidArgument:
    return InvalidArgument(f'invalid argument "{value}" for "{flag}" flag', why)


def _dev_path(spec: str, flag: str) -> tuple[str, str]:
    path, sep, rest = spec.partition(":")
    if not sep:
        raise _flag_error(spec, flag, f"bad format: {spec}")
    if not path.startswith("/dev/"):
        raise _flag_error(spec, flag, f"bad format for device path: {spec}")
    return path, rest


def weight_device(spec: str) -> tuple[str, int]:
    """``--blkio-weight-device /dev/sda:100`` → (path, weight), as docker/cli's
    ValidateWeightDevice.

    Raises:
        InvalidArgument: ``bad format: X``, ``bad format for device path: X`` (not under
            /dev/), ``invalid weight for device: X`` (not 0 or 10..1000).
    """
    path, w = _dev_path(spec, "--blkio-weight-device")
    if not w.isdigit() or (0 < int(w) < 10) or int(w) > 1000:
        raise _flag_error(spec, "--blkio-weight-device", f"invalid weight for device: {spec}")
    return path, int(w)


def iops_device(spec: str, flag: str) -> tuple[str, int]:
    """``--device-read-iops /dev/sda:1000`` → (path, rate), as docker/cli's
    ValidateThrottleIOpsDevice (a plain count: no unit suffix).

    Raises:
        InvalidArgument: ``bad format: X``, ``bad format for device path: X``,
            ``invalid rate for device: X. The correct format is <device-path>:<number>.
            Number must be a positive integer``.
    """
    path, r = _dev_path(spec, flag)
    if not r.isdigit() or int(r) >= 1 << 64:
        raise _flag_error(spec, flag, f"invalid rate for device: {spec}. The correct format "
                          "is <device-path>:<number>. Number must be a positive integer")
    return path, int(r)


def bps_device(spec: str, flag: str) -> tuple[str, int]:
    """``--device-read-bps /dev/sda:1mb`` → (path, bytes per second), as docker/cli's
    ValidateThrottleBpsDevice (go-units RAMInBytes: binary units).

    Raises:
        InvalidArgument: ``bad format: X``, ``bad format for device path: X``,
            ``invalid rate for device: X. The correct format is
            <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is
            optional and can be kb, mb, or gb``.
    """
    from skiff.format.humanize import ram_in_bytes

    path, r = _dev_path(spec, flag)
    try:
        rate = ram_in_bytes(r)
    except InvalidArgument:
        rate = -1
    if rate < 0:
        raise _flag_error(spec, flag, f"invalid rate for device: {spec}. The correct format is "
                          "<device-path>:<number>[<unit>]. Number must be a positive integer. "
                          "Unit is optional and can be kb, mb, or gb")
    return path, rate


def device_cgroup_rule(spec: str) -> str:
    """``--device-cgroup-rule 'c 1:3 rwm'``: checked as docker/cli's
    validateDeviceCgroupRule (``TYPE MAJOR:MINOR ACCESS``, ``*`` for any number).

    Raises:
        InvalidArgument: ``invalid device cgroup format 'X'``.
    """
    if not _RULE.fullmatch(spec):
        raise _flag_error(spec, "--device-cgroup-rule", f"invalid device cgroup format '{spec}'")
    return spec


def cli_check(*, memory_swappiness: int, cgroupns: str) -> None:
    """docker/cli's own refusals (before the daemon sees anything).

    Raises:
        InvalidArgument: ``invalid value: N. Valid memory swappiness range is 0-100``,
            ``--cgroupns: invalid CGROUP mode``.
    """
    if memory_swappiness != -1 and not 0 <= memory_swappiness <= 100:
        raise InvalidArgument(f"invalid value: {memory_swappiness}. "
                              "Valid memory swappiness range is 0-100")
    if cgroupns not in ("", "host", "private"):
        raise InvalidArgument("--cgroupns", "invalid CGROUP mode")


def parse_list(text: str) -> set[int]:
    """A cpuset list (``0-2,4``) → its numbers, as Docker's parsers.ParseUintList.

    Raises:
        ValueError: ``invalid format: X``.
    """
    out: set[int] = set()
    if not text:
        return out
    for part in text.split(","):
        lo, sep, hi = part.partition("-")
        if not sep:
            if not _INT.fullmatch(part):
                raise ValueError(f"invalid format: {text}")
            out.add(int(part))
            continue
        if not _INT.fullmatch(lo) or not _INT.fullmatch(hi) or int(hi) < int(lo):
            raise ValueError(f"invalid format: {text}")
        out.update(range(int(lo), int(hi) + 1))
    return out


def _available(kind: str) -> str:
    """The host's cpuset (``cpus``/``mems``) as its cgroup root lists it (``0-1``)."""
    for p in (f"{CGROUP}/cpuset/cpuset.{kind}", f"{CGROUP}/cpuset.{kind}.effective"):
        try:
            with open(p) as f:
                return f.read().strip()
        except OSError:
            continue
    if kind == "cpus":
        return f"0-{(os.cpu_count() or 1) - 1}"
    return "0"


def check_cpuset(requested: str, kind: str) -> None:
    """dockerd's IsCpusetCpusAvailable / IsCpusetMemsAvailable at create.

    Raises:
        InvalidArgument: ``Invalid value X for cpuset cpus: invalid format: X``,
            ``Requested CPUs are not available - requested X, available: 0-1`` (mems:
            ``Requested memory nodes are not available - ...``).
    """
    if not requested:
        return
    try:
        want = parse_list(requested)
    except ValueError as e:
        raise InvalidArgument(f"Invalid value {requested} for cpuset {kind}", str(e)) from None
    have_text = _available(kind)
    if not want <= parse_list(have_text):
        what = "CPUs" if kind == "cpus" else "memory nodes"
        raise InvalidArgument(f"Requested {what} are not available - requested {requested}, "
                              f"available: {have_text}")


def _has(*names: str) -> bool:
    return any(os.path.exists(f"{CGROUP}/{n}") for n in names)


def rt_supported() -> bool:
    """Whether the kernel has the CPU real-time group scheduler (cpu.rt_period_us)."""
    return _has("cpu/cpu.rt_period_us", "cpu,cpuacct/cpu.rt_period_us")


def weight_supported() -> bool:
    """Whether the blkio controller takes a weight (CFQ's or BFQ's)."""
    return _has("blkio/blkio.weight", "blkio/blkio.bfq.weight") or "io" in _v2_controllers()


def weight_device_supported() -> bool:
    """Whether the blkio controller takes per-device weights (CFQ's or BFQ's)."""
    return (_has("blkio/blkio.weight_device", "blkio/blkio.bfq.weight_device")
            or "io" in _v2_controllers())  # (v2: dockerd takes the io controller's word)


def check(o) -> None:
    """What dockerd refuses at create for these flags (and ``--cpuset-cpus``), in
    verifyPlatformContainerResources' order. ``o`` is a CreateOptions after
    :func:`discard`.

    Raises:
        InvalidArgument: in dockerd's words, e.g. ``Minimum memory reservation allowed is
            6MB``, ``CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s
            (i.e. 1000000)``, ``Conflicting options: Nano CPUs and CPU Period cannot both
            be set``, ``Invalid value 1001, range for oom score adj is [-1000, 1000]``.
    """
    if 0 < o.memory_reservation < MIN_MEMORY:
        raise InvalidArgument("Minimum memory reservation allowed is 6MB")
    if o.memory and o.memory_reservation and o.memory < o.memory_reservation:
        raise InvalidArgument("Minimum memory limit can not be less than memory reservation "
                              "limit, see usage")
    if 0 < o.kernel_memory < MIN_MEMORY:
        raise InvalidArgument("Minimum kernel memory limit allowed is 6MB")
    if o.nano_cpus > 0 and o.cpu_period > 0:
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if o.nano_cpus > 0 and o.cpu_quota > 0:
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    if o.cpu_period and not 1000 <= o.cpu_period <= 1_000_000:
        raise InvalidArgument("CPU cfs period can not be less than 1ms (i.e. 1000) or larger "
                              "than 1s (i.e. 1000000)")
    if 0 < o.cpu_quota < 1000:
        raise InvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if (o.cpu_rt_period > 0 or o.cpu_rt_runtime > 0) and not rt_supported():
        raise InvalidArgument("Your kernel does not support CPU real-time scheduler")
    if o.cpu_rt_period and o.cpu_rt_runtime and o.cpu_rt_runtime > o.cpu_rt_period:
        raise InvalidArgument("cpu real-time runtime cannot be higher than cpu real-time period")
    if o.blkio_weight and not 10 <= o.blkio_weight <= 1000:
        raise InvalidArgument("Range of blkio weight is from 10 to 1000")
    check_cpuset(o.cpuset_cpus, "cpus")
    check_cpuset(o.cpuset_mems, "mems")
    if not -1000 <= o.oom_score_adj <= 1000:
        raise InvalidArgument(f"Invalid value {o.oom_score_adj}, range for oom score adj is "
                              "[-1000, 1000]")


def _v2_controllers() -> list[str]:
    try:
        with open(f"{CGROUP}/cgroup.controllers") as f:
            return f.read().split()
    except OSError:
        return []


def discard(o):
    """``(o', warnings)``: ``o`` (a CreateOptions) without what this kernel cannot apply,
    and dockerd's warnings in its order (verifyPlatformContainerResources: swappiness,
    reservation, kernel memory, OOM killer, blkio weight and weight devices are dropped
    with a warning where the cgroup has no file for them: a pure cgroup v2 host has no
    swappiness, kernel memory or oom_kill_disable)."""
    from skiff.runtime.value import replace

    out: list[str] = []
    changes: dict = {}
    if o.memory_swappiness != -1 and not _has("memory/memory.swappiness"):
        out.append("Your kernel does not support memory swappiness capabilities or the cgroup "
                   "is not mounted. Memory swappiness discarded.")
        changes["memory_swappiness"] = -1
    if o.memory_reservation and not (_has("memory/memory.soft_limit_in_bytes")
                                     or "memory" in _v2_controllers()):
        out.append("Your kernel does not support memory soft limit capabilities or the cgroup "
                   "is not mounted. Limitation discarded.")
        changes["memory_reservation"] = 0
    if o.kernel_memory:
        out.append("Specifying a kernel memory limit is deprecated and will be removed in a "
                   "future release.")
        if not _has("memory/memory.kmem.limit_in_bytes"):
            out.append("Your kernel does not support kernel memory limit capabilities or the "
                       "cgroup is not mounted. Limitation discarded.")
            changes["kernel_memory"] = 0
    if o.oom_kill_disable and not _has("memory/memory.oom_control"):
        out.append("Your kernel does not support OomKillDisable. OomKillDisable discarded.")
        changes["oom_kill_disable"] = None  # (inspect: null)
    elif o.oom_kill_disable and not o.memory:
        out.append("OOM killer is disabled for the container, but no memory limit is set, "
                   "this can result in the system running out of resources.")
    if o.blkio_weight and not weight_supported():
        out.append("Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                   "Weight discarded.")
        changes["blkio_weight"] = 0
    if o.blkio_weight_device and not weight_device_supported():
        out.append("Your kernel does not support Block I/O weight_device or the cgroup is "
                   "not mounted. Weight-device discarded.")
        changes["blkio_weight_device"] = ()
    return (replace(o, **changes) if changes else o), out


def warnings(o) -> list[str]:
    """The ``WARNING:`` lines docker create/run print for these flags: docker/cli's own,
    then dockerd's (:func:`discard`)."""
    out = []
    if o.oom_kill_disable and not o.memory:
        out.append("Disabling the OOM killer on containers without setting a '-m/--memory' "
                   "limit may be dangerous.")
    return out + discard(o)[1]


def host_config_fields(o) -> dict:
    """HostConfig's members for these flags, as docker inspect shows them, after
    :func:`discard` (what the kernel cannot apply is 0, ``[]`` or null, as dockerd's)."""
    return {
        "BlkioWeight": o.blkio_weight,  # (--blkio-weight's, maybe discarded)
        "CgroupnsMode": o.cgroupns or ("private" if _has("cgroup.controllers") else "host"),
        "OomScoreAdj": o.oom_score_adj,
        "CgroupParent": o.cgroup_parent,
        "BlkioWeightDevice": [{"Path": p, "Weight": w} for p, w in o.blkio_weight_device],
        "BlkioDeviceReadIOps": [{"Path": p, "Rate": r} for p, r in o.device_read_iops] or None,
        "BlkioDeviceWriteIOps": [{"Path": p, "Rate": r} for p, r in o.device_write_iops] or None,
        "CpuPeriod": o.cpu_period,
        "CpuQuota": o.cpu_quota,
        "CpuRealtimePeriod": o.cpu_rt_period,
        "CpuRealtimeRuntime": o.cpu_rt_runtime,
        "CpusetMems": o.cpuset_mems,
        "DeviceCgroupRules": list(o.device_cgroup_rules) or None,
        "KernelMemory": o.kernel_memory,
        "MemoryReservation": o.memory_reservation,
        "MemorySwappiness": None if o.memory_swappiness == -1 else o.memory_swappiness,
        "OomKillDisable": o.oom_kill_disable,  # (None: discarded)
    }


def _dev(path: str, **value: int) -> dict:
    from skiff.runtime.spec import device_numbers

    major, minor = device_numbers(path)
    return {"major": major, "minor": minor, **value}


def _rule(spec: str) -> dict:
    kind, major, minor, access = _RULE.fullmatch(spec).groups()
    rule: dict = {"allow": True, "type": kind}
    if major != "*":
        rule["major"] = int(major)
    if minor != "*":
        rule["minor"] = int(minor)
    rule["access"] = access
    return rule


def oci_resources(hc: dict, resources: dict) -> None:
    """Add these flags' members to the OCI ``linux.resources`` dict ``resources`` (from
    HostConfig ``hc``), as dockerd's oci_linux.go: cpu period/quota/realtime*/mems,
    memory reservation/swappiness/kernel/disableOOMKiller, blockIO weightDevice and
    IOPS throttles, and the device cgroup rules (allow rules after the default ones).

    Raises:
        SkiffError: an IOPS device that is not there (``stat P: no such file or
            directory``, exit 127).
    """
    cpu = resources.setdefault("cpu", {})
    for key, field in (("period", "CpuPeriod"), ("quota", "CpuQuota"),
                       ("realtimePeriod", "CpuRealtimePeriod"),
                       ("realtimeRuntime", "CpuRealtimeRuntime")):
        if hc.get(field):
            cpu[key] = hc[field]
    if hc.get("CpusetMems"):
        cpu["mems"] = hc["CpusetMems"]
    if not cpu:
        del resources["cpu"]
    mem = resources.setdefault("memory", {})
    if hc.get("MemoryReservation"):
        mem["reservation"] = hc["MemoryReservation"]
    if hc.get("MemorySwappiness") is not None:
        mem["swappiness"] = hc["MemorySwappiness"]
    if hc.get("KernelMemory"):
        mem["kernel"] = hc["KernelMemory"]
    if hc.get("OomKillDisable"):
        mem["disableOOMKiller"] = True
    if not mem:
        del resources["memory"]
    blk = resources.setdefault("blockIO", {})
    if hc.get("BlkioWeightDevice"):
        blk["weightDevice"] = [_dev(d["Path"], weight=d["Weight"])
                               for d in hc["BlkioWeightDevice"]]
    for key, field in (("throttleReadIOPSDevice", "BlkioDeviceReadIOps"),
                       ("throttleWriteIOPSDevice", "BlkioDeviceWriteIOps")):
        if hc.get(field):
            blk[key] = [_dev(d["Path"], rate=d["Rate"]) for d in hc[field]]
    if not blk:
        del resources["blockIO"]
    if hc.get("DeviceCgroupRules") and not hc.get("Privileged"):
        resources.setdefault("devices", []).extend(_rule(r) for r in hc["DeviceCgroupRules"])

