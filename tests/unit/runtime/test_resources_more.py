"""skiff.runtime.resources_more without runc: docker/cli's value parsing, the OCI
resources dockerd writes for the flags (oci_linux.go), dockerd's parseSecurityOpt, and
that a run without these flags does not load the module."""

from __future__ import annotations

import pytest

from skiff.errors import InvalidArgument
from skiff.runtime import resources_more as rm
from skiff.runtime.options import CreateOptions, host_config, security_options
from tests.importcheck import imported


def test_plain_run_path_does_not_import_it():
    code = (
        "from skiff.cli import container\n"
        "from skiff.cli.context import Context\n"
        "from skiff.config import Config\n"
        "from skiff.runtime import options, containers\n"
        "a = container._parse_create_args(Context(Config.from_env()), ['--rm', '-m', '64m',"
        " '--cpus', '1', 'bb:1', 'sh'], 'skiff run', '', run=True)\n"
        "o = container._options(a)\n"
        "hc = options.host_config(o)\n"
        "assert (hc['CpuPeriod'], hc['MemorySwappiness']) == (0, None)\n"
        "assert not containers._resources_more(hc)\n")
    assert imported(code, ("skiff.runtime.resources_more", "argparse")) == []


def test_flags_parsed_fast_with_their_types():
    from skiff.cli import container, fastargs

    table = fastargs.Table()
    container._add_run_flags(table)
    container._add_create_flags(table)
    a = fastargs.parse(table, ["--cpu-period", "50000", "--oom-kill-disable",
                               "--device-cgroup-rule", "c 1:3 rwm", "--cgroupns=private",
                               "bb:1"])
    assert (a.cpu_period, a.oom_kill_disable, a.device_cgroup_rule, a.cgroupns,
            a.memory_swappiness, a.oom_score_adj) == (50000, True, ["c 1:3 rwm"], "private",
                                                      -1, 0)


@pytest.mark.parametrize("text,want", [
    ("", set()), ("0", {0}), ("0-2,5", {0, 1, 2, 5}), ("1,0", {0, 1}), ("3-3", {3})])
def test_parse_list(text, want):
    assert rm.parse_list(text) == want


@pytest.mark.parametrize("text", ["abc", "2-1", "0-", "1,,2", "a-1"])
def test_parse_list_refuses(text):
    with pytest.raises(ValueError, match=f"^invalid format: {text}$"):
        rm.parse_list(text)


def test_value_parsers():
    assert rm.weight_device("/dev/sda:100") == ("/dev/sda", 100)
    assert rm.weight_device("/dev/sda:0") == ("/dev/sda", 0)  # (Go: 0 is allowed)
    assert rm.iops_device("/dev/sda:1000", "--device-read-iops") == ("/dev/sda", 1000)
    assert rm.device_cgroup_rule("b *:* r") == "b *:* r"
    with pytest.raises(InvalidArgument) as e:
        rm.weight_device("/dev/sda:1001")
    assert str(e.value) == ('invalid argument "/dev/sda:1001" for "--blkio-weight-device" flag: '
                            "invalid weight for device: /dev/sda:1001")


def test_oci_resources_as_dockerd():
    hc = {"CpuPeriod": 50000, "CpuQuota": -1, "CpuRealtimePeriod": 1000000,
          "CpuRealtimeRuntime": 950000, "CpusetMems": "0", "MemoryReservation": 10485760,
          "MemorySwappiness": 0, "KernelMemory": 52428800, "OomKillDisable": True,
          "DeviceCgroupRules": ["c 42:* rmw", "b *:7 r"]}
    res = {"cpu": {"shares": 512}, "devices": [{"allow": False, "access": "rwm"}]}
    rm.oci_resources(hc, res)
    assert res == {
        "cpu": {"shares": 512, "period": 50000, "quota": -1, "realtimePeriod": 1000000,
                "realtimeRuntime": 950000, "mems": "0"},
        "memory": {"reservation": 10485760, "swappiness": 0, "kernel": 52428800,
                   "disableOOMKiller": True},
        "devices": [{"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 42, "access": "rmw"},
                    {"allow": True, "type": "b", "minor": 7, "access": "r"}]}
    empty: dict = {}
    rm.oci_resources({"MemorySwappiness": None, "OomKillDisable": False}, empty)
    assert empty == {}


@pytest.mark.parametrize("opts,want", [
    (["no-new-privileges"], {"no-new-privileges": "true"}),
    (["no-new-privileges:T"], {"no-new-privileges": "true"}),
    (["no-new-privileges", "no-new-privileges=0"], {"no-new-privileges": "false"}),
    (["seccomp:unconfined", "label=user:u"], {"seccomp": "unconfined", "label": "user:u"}),
    (["systempaths=unconfined", "apparmor=x"], {"systempaths": "unconfined", "apparmor": "x"}),
])
def test_security_options(opts, want):
    assert security_options(opts) == want


def test_host_config_keeps_security_opt_as_given():
    hc = host_config(CreateOptions(image="x", security_opt=("no-new-privileges:true",)))
    assert hc["SecurityOpt"] == ["no-new-privileges:true"]


def test_orphan_sweep_finds_the_cgroup_parent(tmp_path):
    # runc's state.json keeps the cgroups path: /<parent>/<id>/ctr
    from skiff import jsonio
    from skiff.runtime.orphans import _cgroup_parent

    cid = "ab" * 32
    (tmp_path / "state.json").write_text(jsonio.dumps(
        {"config": {"cgroups": {"path": f"/res5/sub/{cid}/ctr"}}}))
    assert _cgroup_parent(str(tmp_path), cid) == "/res5/sub"
    (tmp_path / "state.json").write_text(jsonio.dumps({"config": {"cgroups": {"path": "/x"}}}))
    assert _cgroup_parent(str(tmp_path), cid) == ""
    assert _cgroup_parent(str(tmp_path / "none"), cid) == ""


def test_cgroup_paths_under_a_parent():
    from skiff.runtime import cgroups

    assert cgroups.container_path("c1") == "/skiff/c1/ctr"
    assert cgroups.container_path("c1", "/res5/sub/") == "/res5/sub/c1/ctr"
    assert cgroups.container_path("c1", "res5") == "/res5/c1/ctr"


def _v2_root(tmp_path, monkeypatch):
    """A pure cgroup v2 root's top files (what dockerd's sysinfo reads there)."""
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cpuset.cpus.effective").write_text("0-1\n")
    monkeypatch.setattr(rm, "CGROUP", str(tmp_path))


def test_discarded_on_a_cgroup_v2_host(tmp_path, monkeypatch):
    # dockerd 20.10 on cgroup v2: no swappiness, kernel memory nor OOM switch there; the
    # soft limit (memory.low) and the io weight stay; each drop with its warning, in
    # dockerd's order
    _v2_root(tmp_path, monkeypatch)
    o = CreateOptions(image="x", memory_swappiness=10, memory_reservation=10 << 20,
                      kernel_memory=1 << 20, oom_kill_disable=True, blkio_weight=300)
    o2, warns = rm.discard(o)
    assert (o2.memory_swappiness, o2.memory_reservation, o2.kernel_memory,
            o2.oom_kill_disable, o2.blkio_weight) == (-1, 10 << 20, 0, None, 300)
    assert warns == [
        "Your kernel does not support memory swappiness capabilities or the cgroup is not "
        "mounted. Memory swappiness discarded.",
        "Specifying a kernel memory limit is deprecated and will be removed in a future "
        "release.",
        "Your kernel does not support kernel memory limit capabilities or the cgroup is not "
        "mounted. Limitation discarded.",
        "Your kernel does not support OomKillDisable. OomKillDisable discarded."]
    rm.check(o2)  # (a 1m kernel memory limit is no error once dropped)
    hc = rm.host_config_fields(o2)
    assert (hc["CgroupnsMode"], hc["MemorySwappiness"], hc["KernelMemory"],
            hc["OomKillDisable"]) == ("private", None, 0, None)
    with pytest.raises(InvalidArgument, match="^Your kernel does not support CPU real-time "
                                              "scheduler$"):
        rm.check(CreateOptions(image="x", cpu_rt_runtime=1000))
