"""docker run's further resource flags with real runc, as docker 20.10.24 (dockerd with
runc 1.1, cgroupfs driver) gives them on this hybrid cgroup v1 host: the values the
container reads from its cgroup files and /proc, docker inspect's HostConfig members,
and dockerd's / docker/cli's refusals (busybox image as bb:1; every expected value below
was read from ``docker run``/``docker inspect`` on this machine)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from skiff.runtime import cgroups

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]

v1_only = pytest.mark.skipif(cgroups.is_v2(), reason="cgroup v1 files (this host's)")
KMEM = "Specifying a kernel memory limit is deprecated and will be removed in a future release."


def _block_device() -> tuple[str, str]:
    """A whole block device of this host and its ``major:minor`` (the blkio throttle
    files list devices so)."""
    for name in sorted(os.listdir("/sys/block")):
        path = f"/dev/{name}"
        try:
            st = os.stat(path)
        except OSError:
            continue
        if stat.S_ISBLK(st.st_mode) and not name.startswith(("zram", "ram")):
            return path, f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    pytest.skip("no block device")


def _hc(sk, ref: str) -> dict:
    return json.loads(sk("inspect", ref).out)[0]["HostConfig"]


@v1_only
def test_limits_as_the_container_reads_them(sk):
    dev, majmin = _block_device()
    files = " ".join(f"/sys/fs/cgroup/{f}" for f in (
        "cpu/cpu.cfs_period_us", "cpu/cpu.cfs_quota_us", "cpuset/cpuset.mems",
        "memory/memory.soft_limit_in_bytes", "memory/memory.swappiness",
        "memory/memory.kmem.limit_in_bytes", "blkio/blkio.throttle.read_iops_device",
        "blkio/blkio.throttle.write_iops_device"))
    r = sk("run", "--rm", "--cpu-period", "50000", "--cpu-quota", "25000", "--cpuset-mems", "0",
           "--memory-reservation", "10m", "--memory-swappiness", "10", "--kernel-memory", "50m",
           "--oom-kill-disable", "-m", "64m", "--oom-score-adj", "100",
           "--device-read-iops", f"{dev}:1000", "--device-write-iops", f"{dev}:2000",
           "bb:1", "sh", "-c",
           f"cat {files}; head -1 /sys/fs/cgroup/memory/memory.oom_control; "
           "cat /proc/self/oom_score_adj")
    # runc 1.1 ignores the kernel memory limit (docker's container shows it unlimited too)
    assert (r.code, r.err) == (0, f"WARNING: {KMEM}\n"), r
    assert r.out == ("50000\n25000\n0\n10485760\n10\n9223372036854771712\n"
                     f"{majmin} 1000\n{majmin} 2000\noom_kill_disable 1\n100\n")


@v1_only
def test_defaults_inside_and_quota_unlimited(sk):
    r = sk("run", "--rm", "--cpu-quota", "-1", "--memory-swappiness", "-1", "bb:1", "sh", "-c",
           "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/memory/memory.swappiness "
           "/proc/self/oom_score_adj")
    assert (r.code, r.out, r.err) == (0, "-1\n60\n0\n", "")


@v1_only
def test_cpu_quota_unlimited_over_cpus(sk):
    # dockerd refuses --cpus with a positive quota only; -1 then replaces --cpus' quota
    r = sk("run", "--rm", "--cpus", "1", "--cpu-quota=-1", "bb:1", "cat",
           "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")
    assert (r.code, r.out, r.err) == (0, "-1\n100000\n", "")


@v1_only  # (a pure v2 host discards kernel memory, swappiness and the OOM switch: unit tests)
def test_inspect_host_config(sk):
    dev, _ = _block_device()
    r = sk("create", "--name", "rm5-all", "--cpu-period", "50000", "--cpu-quota", "25000",
           "--cpuset-mems", "0", "--memory-reservation", "10m", "--memory-swappiness", "10",
           "--kernel-memory", "50m", "--oom-kill-disable", "--oom-score-adj", "100",
           "--cgroup-parent", "foo", "--cgroupns", "private",
           "--blkio-weight-device", f"{dev}:100", "--device-read-iops", f"{dev}:1000",
           "--device-write-iops", f"{dev}:2000", "--device-cgroup-rule", "c 1:3 rwm",
           "--device-cgroup-rule", "b *:* r", "bb:1", "true")
    assert r.code == 0, r
    # docker/cli's warning, then dockerd's (kernel memory, OOM) and, this kernel having
    # no blkio weights, the discarded weight device
    assert r.err == (
        "WARNING: Disabling the OOM killer on containers without setting a '-m/--memory' "
        "limit may be dangerous.\n"
        f"WARNING: {KMEM}\n"
        "WARNING: OOM killer is disabled for the container, but no memory limit is set, "
        "this can result in the system running out of resources.\n"
        "WARNING: Your kernel does not support Block I/O weight_device or the cgroup is not "
        "mounted. Weight-device discarded.\n")
    hc = _hc(sk, "rm5-all")
    got = {k: hc[k] for k in (
        "CgroupnsMode", "OomScoreAdj", "CgroupParent", "CpuPeriod", "CpuQuota",
        "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetMems", "KernelMemory",
        "MemoryReservation", "MemorySwappiness", "OomKillDisable", "BlkioWeightDevice",
        "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "DeviceCgroupRules")}
    assert got == {
        "CgroupnsMode": "private", "OomScoreAdj": 100, "CgroupParent": "foo",
        "CpuPeriod": 50000, "CpuQuota": 25000, "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0, "CpusetMems": "0", "KernelMemory": 52428800,
        "MemoryReservation": 10485760, "MemorySwappiness": 10, "OomKillDisable": True,
        "BlkioWeightDevice": [],
        "BlkioDeviceReadIOps": [{"Path": dev, "Rate": 1000}],
        "BlkioDeviceWriteIOps": [{"Path": dev, "Rate": 2000}],
        "DeviceCgroupRules": ["c 1:3 rwm", "b *:* r"]}
    assert sk("create", "--name", "rm5-none", "bb:1", "true").code == 0
    hc = _hc(sk, "rm5-none")
    assert {k: hc[k] for k in got} == {
        "CgroupnsMode": "private" if cgroups.is_v2() else "host", "OomScoreAdj": 0,
        "CgroupParent": "", "CpuPeriod": 0, "CpuQuota": 0, "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0, "CpusetMems": "", "KernelMemory": 0,
        "MemoryReservation": 0, "MemorySwappiness": None, "OomKillDisable": False,
        "BlkioWeightDevice": [], "BlkioDeviceReadIOps": None, "BlkioDeviceWriteIOps": None,
        "DeviceCgroupRules": None}
    assert sk("rm", "rm5-all", "rm5-none").code == 0


@pytest.mark.parametrize("flags,err", [
    # dockerd's refusals at create (exit 125, no container)
    (["--cpu-period", "500"], "CPU cfs period can not be less than 1ms (i.e. 1000) or larger "
                              "than 1s (i.e. 1000000)"),
    (["--cpu-period", "2000000"], "CPU cfs period can not be less than 1ms (i.e. 1000) or "
                                  "larger than 1s (i.e. 1000000)"),
    (["--cpu-quota", "500"], "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
    (["--cpus", "1", "--cpu-period", "50000"],
     "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
    (["--cpus", "1", "--cpu-quota", "50000"],
     "Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
    pytest.param(["--cpu-rt-period", "1000", "--cpu-rt-runtime", "2000"],
                 "cpu real-time runtime cannot be higher than cpu real-time period",
                 marks=v1_only),
    (["--cpuset-cpus", "99"], "Requested CPUs are not available - requested 99, available: "
                              "{cpus}"),
    (["--cpuset-cpus", "0-99"], "Requested CPUs are not available - requested 0-99, "
                                "available: {cpus}"),
    (["--cpuset-cpus", "abc"], "Invalid value abc for cpuset cpus: invalid format: abc"),
    (["--cpuset-mems", "1"], "Requested memory nodes are not available - requested 1, "
                             "available: {mems}"),
    (["--cpuset-mems", "abc"], "Invalid value abc for cpuset mems: invalid format: abc"),
    (["--memory-reservation", "1k"], "Minimum memory reservation allowed is 6MB"),
    (["--memory-reservation", "100m", "-m", "50m"],
     "Minimum memory limit can not be less than memory reservation limit, see usage"),
    pytest.param(["--kernel-memory", "1m"], "Minimum kernel memory limit allowed is 6MB",
                 marks=v1_only),
    (["--oom-score-adj", "1001"], "Invalid value 1001, range for oom score adj is [-1000, 1000]"),
    (["--oom-score-adj=-1001"], "Invalid value -1001, range for oom score adj is [-1000, 1000]"),
    # docker/cli's own
    (["--memory-swappiness", "101"], "invalid value: 101. Valid memory swappiness range is 0-100"),
    (["--memory-swappiness=-2"], "invalid value: -2. Valid memory swappiness range is 0-100"),
    (["--cgroupns", "bad"], "--cgroupns: invalid CGROUP mode"),
    (["--security-opt", "bad"], 'Invalid --security-opt: "bad"'),
    (["--security-opt", "label"], 'Invalid --security-opt: "label"'),
    (["--security-opt", "seccomp"], 'Invalid --security-opt: "seccomp"'),
    (["--security-opt", "seccomp=/nonexist"],
     "opening seccomp profile (/nonexist) failed: open /nonexist: no such file or directory"),
    # dockerd's parseSecurityOpt
    (["--security-opt", "no-new-privileges=bad"], 'invalid --security-opt 2: "no-new-privileges=bad"'),
    (["--security-opt", "systempaths=foo"], 'invalid --security-opt 2: "systempaths=foo"'),
    (["--security-opt", "foo=bar"], 'invalid --security-opt 2: "foo=bar"'),
    (["--security-opt", "=x"], 'invalid --security-opt 2: "=x"'),
    # go-connections as docker 20.10 vendors it: capital I
    (["-p", "bad"], "Invalid containerPort: bad"),
    (["-p", "x:80"], "Invalid hostPort: x"),
    (["-p", "80/xyz"], "Invalid proto: xyz"),
])
def test_refused_at_create(sk, flags, err):
    from skiff.runtime.resources_more import _available

    before = sk("ps", "-aq").out
    r = sk("run", "--rm", *flags, "bb:1", "true")
    msg = err.format(cpus=_available("cpus"), mems=_available("mems"))
    assert (r.code, r.out, r.err) == (125, "", f"skiff: {msg}\n")
    assert sk("ps", "-aq").out == before


def test_seccomp_profile_not_json(sk, tmp_path):
    # docker/cli: "compacting json for seccomp profile (P) failed: <Go's reason>"
    bad = tmp_path / "bad.json"
    bad.write_text("{bad")
    r = sk("run", "--rm", "--security-opt", f"seccomp={bad}", "bb:1", "true")
    assert (r.code, r.out, r.err) == (
        125, "", f"skiff: compacting json for seccomp profile ({bad}) failed: Expecting "
                 "property name enclosed in double quotes: line 1 column 2 (char 1)\n")


@pytest.mark.parametrize("flags,err", [
    (["--cpu-period", "abc"], 'invalid argument "abc" for "--cpu-period" flag: '
                              'strconv.ParseInt: parsing "abc": invalid syntax'),
    (["--oom-score-adj", "x"], 'invalid argument "x" for "--oom-score-adj" flag: '
                               'strconv.ParseInt: parsing "x": invalid syntax'),
    (["--memory-reservation", "abc"], 'invalid argument "abc" for "--memory-reservation" '
                                      "flag: invalid size: 'abc'"),
    (["--blkio-weight-device", "/dev/sda"], 'invalid argument "/dev/sda" for '
                                            '"--blkio-weight-device" flag: bad format: /dev/sda'),
    (["--blkio-weight-device", "/dev/sda:5"], 'invalid argument "/dev/sda:5" for '
     '"--blkio-weight-device" flag: invalid weight for device: /dev/sda:5'),
    (["--blkio-weight-device", "nonabs:100"], 'invalid argument "nonabs:100" for '
     '"--blkio-weight-device" flag: bad format for device path: nonabs:100'),
    (["--device-read-iops", "/dev/vda:1k"], 'invalid argument "/dev/vda:1k" for '
     '"--device-read-iops" flag: invalid rate for device: /dev/vda:1k. The correct format '
     'is <device-path>:<number>. Number must be a positive integer'),
    (["--device-write-iops", "/dev/vda"], 'invalid argument "/dev/vda" for '
                                          '"--device-write-iops" flag: bad format: /dev/vda'),
    (["--device-read-iops", "vda:10"], 'invalid argument "vda:10" for "--device-read-iops" '
                                       'flag: bad format for device path: vda:10'),
    (["--device-read-bps", "/dev/vda"], 'invalid argument "/dev/vda" for "--device-read-bps" '
                                        'flag: bad format: /dev/vda'),
    (["--device-write-bps", "vda:1"], 'invalid argument "vda:1" for "--device-write-bps" '
                                      'flag: bad format for device path: vda:1'),
    (["--device-read-bps", "/dev/vda:1x"], 'invalid argument "/dev/vda:1x" for '
     '"--device-read-bps" flag: invalid rate for device: /dev/vda:1x. The correct format is '
     '<device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional '
     'and can be kb, mb, or gb'),
    (["--device-cgroup-rule", "x 1:3 rwm"], 'invalid argument "x 1:3 rwm" for '
     "\"--device-cgroup-rule\" flag: invalid device cgroup format 'x 1:3 rwm'"),
    (["--device-cgroup-rule", "c 1:3 rwx"], 'invalid argument "c 1:3 rwx" for '
     "\"--device-cgroup-rule\" flag: invalid device cgroup format 'c 1:3 rwx'"),
    (["--device-cgroup-rule", "a"], 'invalid argument "a" for '
     "\"--device-cgroup-rule\" flag: invalid device cgroup format 'a'"),
])
def test_flag_values_refused(sk, flags, err):
    r = sk("run", "--rm", *flags, "bb:1", "true")
    assert (r.code, r.out, r.err) == (125, "", f"skiff: {err}\nSee 'skiff run --help'.\n")


@pytest.mark.parametrize("flag", ["--device-read-iops", "--device-write-bps"])
def test_throttle_device_missing_at_start(sk, flag):
    # dockerd stats the device when it starts the container: docker run exits 127, and
    # create takes it
    r = sk("run", "--rm", flag, "/dev/skiff-nonexist:10", "bb:1", "true")
    assert (r.code, r.err) == (127, "skiff: stat /dev/skiff-nonexist: no such file or "
                                    "directory\n")
    r = sk("create", "--name", "rm5-nodev", flag, "/dev/skiff-nonexist:10", "bb:1", "true")
    assert (r.code, r.err) == (0, "")
    assert sk("rm", "rm5-nodev").code == 0


@v1_only
def test_bps_as_the_container_reads_them(sk):
    dev, majmin = _block_device()
    r = sk("run", "--rm", "--device-read-bps", f"{dev}:1mb", "--device-write-bps", f"{dev}:2k",
           "bb:1", "cat", "/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device",
           "/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device")
    assert (r.code, r.out, r.err) == (0, f"{majmin} 1048576\n{majmin} 2048\n", "")


def test_blkio_weight_discarded_without_kernel_support(sk):
    from skiff.runtime.resources_more import weight_supported

    if weight_supported():
        pytest.skip("this kernel takes blkio weights")
    # docker 20.10 on this kernel: a warning, HostConfig.BlkioWeight 0, even for a weight
    # it would otherwise refuse
    r = sk("create", "--name", "rm5-bw", "--blkio-weight", "5", "bb:1", "true")
    assert (r.code, r.err) == (0, "WARNING: Your kernel does not support Block I/O weight or "
                                  "the cgroup is not mounted. Weight discarded.\n")
    assert _hc(sk, "rm5-bw")["BlkioWeight"] == 0
    assert sk("rm", "rm5-bw").code == 0


@v1_only
def test_cpu_rt_runtime_refused_by_the_kernel(sk):
    # the kernel has the RT group scheduler, but a new group gets no RT time: runc cannot
    # write the runtime, as under dockerd (whose /docker group has 0 too)
    if not os.path.exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"):
        pytest.skip("no CPU real-time group scheduler")
    r = sk("run", "--rm", "--cpu-rt-runtime", "5000", "bb:1", "true")
    assert r.code == 125, r
    assert r.err.startswith("skiff: failed to create task for container: failed to create "
                            "shim task: OCI runtime create failed: runc create failed: "
                            "unable to start container process: unable to apply cgroup "
                            'configuration: failed to write "5000": write /sys/fs/cgroup/cpu/')
    assert r.err.endswith("/cpu.rt_runtime_us: invalid argument: unknown\n"), r
    # a period alone is taken (the runtime stays 0); inspect keeps both as given
    r = sk("run", "--rm", "--cpu-rt-period", "100000", "bb:1", "cat",
           "/sys/fs/cgroup/cpu/cpu.rt_period_us", "/sys/fs/cgroup/cpu/cpu.rt_runtime_us")
    assert (r.code, r.out, r.err) == (0, "100000\n0\n", "")
    assert sk("create", "--name", "rm5-rt", "--cpu-rt-period", "100000", "--cpu-rt-runtime",
              "5000", "bb:1", "true").code == 0
    hc = _hc(sk, "rm5-rt")
    assert (hc["CpuRealtimePeriod"], hc["CpuRealtimeRuntime"]) == (100000, 5000)
    assert sk("rm", "rm5-rt").code == 0


@v1_only
def test_device_cgroup_rules(sk):
    # docker 20.10's devices.list for the same rules, line for line (runc merges
    # "b *:* r" with its "b *:* m")
    r = sk("run", "--rm", "--device-cgroup-rule", "c 42:* rmw", "--device-cgroup-rule",
           "b *:* r", "bb:1", "cat", "/sys/fs/cgroup/devices/devices.list")
    assert (r.code, r.err) == (0, ""), r
    assert r.out == ("b *:* rm\nc *:* m\nc 1:3 rwm\nc 1:5 rwm\nc 1:7 rwm\nc 1:8 rwm\n"
                     "c 1:9 rwm\nc 5:0 rwm\nc 5:1 rwm\nc 5:2 rwm\nc 10:200 rwm\nc 42:* rwm\n"
                     "c 136:* rwm\n")


@v1_only
def test_cgroup_parent(sk, tmp_path):
    # dockerd (cgroupfs): /<parent>/<id> in every hierarchy; skiff keeps its own level
    # below it (<id>/ctr), the memory limit and OOM watch on /<parent>/<id>
    parent = f"skiff-rm5-{os.getpid()}"
    cidfile = tmp_path / "cid"
    try:
        r = sk("run", "--rm", "--cidfile", str(cidfile), "--cgroup-parent", f"/{parent}/sub",
               "-m", "64m", "bb:1", "sh", "-c",
               "grep -E ':(memory|cpu|pids):' /proc/self/cgroup; "
               "cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
        cid = cidfile.read_text()
        assert (r.code, r.err) == (0, ""), r
        assert r.out == (f"8:pids:/{parent}/sub/{cid}/ctr\n4:memory:/{parent}/sub/{cid}/ctr\n"
                         f"1:cpu:/{parent}/sub/{cid}/ctr\n67108864\n").replace(
                             "8:pids", _line_no("pids")).replace(
                             "4:memory", _line_no("memory")).replace("1:cpu", _line_no("cpu"))
        # the container's groups are gone once it is; the parent stays, as dockerd's
        left = [h for h in os.listdir("/sys/fs/cgroup")
                if os.path.exists(f"/sys/fs/cgroup/{h}/{parent}/sub/{cid}")]
        assert left == []
    finally:
        for h in os.listdir("/sys/fs/cgroup"):
            for d in (f"/sys/fs/cgroup/{h}/{parent}/sub", f"/sys/fs/cgroup/{h}/{parent}"):
                try:
                    os.rmdir(d)
                except OSError:
                    pass


@v1_only
def test_oom_seen_under_a_cgroup_parent(sk):
    # the OOM watch follows the container to its parent's tree: OOMKilled, 137 (docker's)
    parent = f"skiff-rm5o-{os.getpid()}"
    try:
        r = sk("run", "--name", "rm5-oomp", "--cgroup-parent", parent, "-m", "8m",
               "--memory-swap", "8m", "bb:1", "sh", "-c",
               "x=$(head -c 30000000 /dev/zero | tr '\\0' a); echo done")
        assert r.code == 137, r
        state = json.loads(sk("inspect", "rm5-oomp").out)[0]["State"]
        assert (state["OOMKilled"], state["ExitCode"]) == (True, 137)
        assert sk("rm", "rm5-oomp").code == 0
        assert [h for h in os.listdir("/sys/fs/cgroup")
                if os.path.isdir(f"/sys/fs/cgroup/{h}/{parent}")
                and [d for d in os.listdir(f"/sys/fs/cgroup/{h}/{parent}")
                     if os.path.isdir(f"/sys/fs/cgroup/{h}/{parent}/{d}")]] == []
    finally:
        for h in os.listdir("/sys/fs/cgroup"):
            try:
                os.rmdir(f"/sys/fs/cgroup/{h}/{parent}")
            except OSError:
                pass


def _line_no(controller: str) -> str:
    """``N:controller`` as this host numbers its hierarchies in /proc/self/cgroup."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            n, names, _ = line.split(":", 2)
            if names == controller or controller in names.split(","):
                return f"{n}:{names}"
    return controller


@v1_only
def test_cgroupns(sk):
    host_ns = os.readlink("/proc/self/ns/cgroup")
    r = sk("run", "--rm", "--cgroupns", "private", "bb:1", "sh", "-c",
           "cut -d: -f3 /proc/self/cgroup | sort -u; readlink /proc/self/ns/cgroup")
    assert (r.code, r.err) == (0, ""), r
    root_only, ns = r.out.splitlines()
    assert (root_only, ns != host_ns) == ("/", True)
    r = sk("run", "--rm", "--cgroupns", "host", "bb:1", "readlink", "/proc/self/ns/cgroup")
    assert (r.code, r.out) == (0, host_ns + "\n")


@pytest.mark.parametrize("opt,nnp", [
    ("no-new-privileges", "1"), ("no-new-privileges:true", "1"),
    ("no-new-privileges=true", "1"), ("no-new-privileges=1", "1"),
    ("no-new-privileges:false", "0"), ("label=disable", "0"), ("label:disable", "0"),
    ("label=user:foo", "0"), ("apparmor=unconfined", "0"), ("seccomp=unconfined", "0"),
])
def test_security_opt_forms(sk, opt, nnp):
    r = sk("run", "--rm", "--security-opt", opt, "bb:1", "grep", "NoNewPrivs", "/proc/self/status")
    assert (r.code, r.out, r.err) == (0, f"NoNewPrivs:\t{nnp}\n", "")


def test_security_opt_systempaths_unconfined(sk):
    # no masked or read-only /proc and /sys paths (docker 20.10: 0 such mounts)
    count = "grep -c ' /proc/\\| /sys/firmware' /proc/self/mountinfo"
    r = sk("run", "--rm", "--security-opt", "systempaths=unconfined", "bb:1", "sh", "-c", count)
    assert (r.code, r.out) == (1, "0\n"), r
    r = sk("run", "--rm", "bb:1", "sh", "-c", count)
    assert r.code == 0 and int(r.out) > 0, r


@v1_only
def test_oom_kill_disable_blocks_instead_of_killing(sk):
    # docker 20.10 (-m 8m --memory-swap 8m --oom-kill-disable): the container stays "Up",
    # its group under OOM, nothing killed; skiff's /skiff/<id> parent (which carries the
    # limit first) has the OOM killer off as well
    import time

    r = sk("run", "-d", "--oom-kill-disable", "-m", "8m", "--memory-swap", "8m", "bb:1", "sh",
           "-c", "x=$(head -c 30000000 /dev/zero | tr '\\0' a); echo done")
    assert r.code == 0, r
    cid = r.out.strip()
    group = f"/sys/fs/cgroup/memory/skiff/{cid}"
    try:
        for _ in range(100):
            with open(f"{group}/ctr/memory.oom_control") as f:
                ctl = f.read()
            if "under_oom 1" in ctl:
                break
            time.sleep(0.1)
        assert ctl == "oom_kill_disable 1\nunder_oom 1\noom_kill 0\n"
        with open(f"{group}/memory.oom_control") as f:
            assert f.read().startswith("oom_kill_disable 1\n")
        state = json.loads(sk("inspect", cid).out)[0]["State"]
        assert (state["Status"], state["OOMKilled"]) == ("running", False)
    finally:
        assert sk("rm", "-f", cid).code == 0
