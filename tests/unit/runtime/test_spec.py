"""The OCI runtime config: Docker's defaults (peer moby-default-oci-spec) and the schema."""

from __future__ import annotations

import json
import os
import resource

import pytest

from skiff.errors import InvalidArgument, SkiffError
from skiff.runtime import spec as S
from tests.conftest import PEER

DEFAULTS = PEER / "moby-default-oci-spec" / "defaults.json"
SCHEMA_DIR = PEER / "opencontainers-runtime-spec" / "schema"


@pytest.fixture(scope="module")
def moby():
    if not DEFAULTS.exists():
        pytest.skip("peer moby-default-oci-spec missing")
    return json.loads(DEFAULTS.read_text())


@pytest.fixture(scope="module")
def validator():
    if not SCHEMA_DIR.exists():
        pytest.skip("peer opencontainers-runtime-spec missing")
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    reg = Registry()
    for p in SCHEMA_DIR.glob("*.json"):
        reg = reg.with_resource(p.as_uri(), Resource.from_contents(json.loads(p.read_text()),
                                                                   default_specification=DRAFT4))
    top = SCHEMA_DIR / "config-schema.json"
    schema = dict(json.loads(top.read_text()))
    schema["id"] = top.as_uri()
    return Draft4Validator(schema, registry=reg)


def _spec(**kw):
    kw.setdefault("args", ("/bin/true",))
    kw.setdefault("rootfs", "/tmp/rootfs")
    kw.setdefault("seccomp", "unconfined")
    return S.build_spec(S.SpecOptions(**kw))


def test_default_capabilities_are_dockers_14(moby):
    s = _spec()
    caps = moby["linux_spec"]["process"]["capabilities"]
    assert s["process"]["capabilities"] == {k: caps[k] for k in ("bounding", "effective", "permitted")}
    assert len(s["process"]["capabilities"]["bounding"]) == 14


def test_default_mounts_paths_and_devices_match_moby(moby):
    s = _spec()
    ls = moby["linux_spec"]
    assert s["mounts"] == ls["mounts"][:6] + [
        {**ls["mounts"][6], "options": ls["mounts"][6]["options"] + ["size=65536k"]}]
    assert s["linux"]["maskedPaths"][:12] == ls["linux"]["maskedPaths"]
    assert s["linux"]["readonlyPaths"] == ls["linux"]["readonlyPaths"]
    assert s["linux"]["resources"]["devices"] == ls["linux"]["resources"]["devices"]
    # moby's list minus "time" (runc 1.1 has no time namespace), same order otherwise.
    want = [n for n in ls["linux"]["namespaces"] if n["type"] != "time"]
    assert [n for n in s["linux"]["namespaces"] if n["type"] != "cgroup"] == want


def test_process_fields_and_private_network_sysctls():
    s = _spec(args=("sh", "-c", "exit 3"), env=("PATH=/bin", "A=b"), cwd="/srv", uid=1000,
              gid=1000, additional_gids=(10,), hostname="abc", cgroups_path="/skiff/x")
    p = s["process"]
    assert p["args"] == ["sh", "-c", "exit 3"]
    assert p["env"] == ["PATH=/bin", "A=b"]
    assert p["cwd"] == "/srv"
    assert p["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [10]}
    assert p["terminal"] is False
    assert "rlimits" not in p  # as Docker: inherit, never above the host's limits
    assert s["hostname"] == "abc"
    assert s["root"] == {"path": "/tmp/rootfs", "readonly": False}
    assert s["linux"]["cgroupsPath"] == "/skiff/x"
    assert s["linux"]["sysctl"] == {"net.ipv4.ip_unprivileged_port_start": "0",
                                    "net.ipv4.ping_group_range": "0 2147483647"}


def test_host_namespaces_are_left_out():
    s = _spec(network="host", pid_host=True, ipc_host=True, uts_host=True, hostname="x")
    assert [n["type"] for n in s["linux"]["namespaces"] if n["type"] != "cgroup"] == ["mount"]
    assert s["hostname"] == ""
    assert "sysctl" not in s["linux"]


def test_cap_add_drop_and_all():
    assert S.capabilities(["net_admin"], ["CAP_CHOWN", "mknod"]) == [
        c for c in S.DEFAULT_CAPS if c not in ("CAP_CHOWN", "CAP_MKNOD")] + ["CAP_NET_ADMIN"]
    assert S.capabilities([], ["ALL"]) == []
    assert S.capabilities(["CHOWN"], ["all"]) == ["CAP_CHOWN"]
    assert S.capabilities(["ALL"]) == list(S.ALL_CAPS)
    with pytest.raises(InvalidArgument, match='unknown capability: "CAP_BOGUS"'):
        S.capabilities(["bogus"])
    # dockerd names the list: "invalid CapAdd: ..." / "invalid CapDrop: ..."
    with pytest.raises(InvalidArgument) as ei:
        S.capabilities(["bogus"], ["bogus2"])
    assert str(ei.value) == 'invalid CapAdd: unknown capability: "CAP_BOGUS"'
    with pytest.raises(InvalidArgument) as ei:
        S.capabilities([], ["bogus2"])
    assert str(ei.value) == 'invalid CapDrop: unknown capability: "CAP_BOGUS2"'


def test_privileged_drops_confinement():
    s = _spec(privileged=True, seccomp="default")
    assert len(s["process"]["capabilities"]["bounding"]) == 41
    assert "seccomp" not in s["linux"] and "maskedPaths" not in s["linux"]
    assert s["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    sysfs = next(m for m in s["mounts"] if m["destination"] == "/sys")
    assert "ro" not in sysfs["options"]


def test_user_mount_replaces_default_and_sorts_by_depth():
    s = _spec(mounts=(S.bind_mount("/h/b", "/data", readonly=True), S.bind_mount("/h/a", "/data/sub"),
                      {"destination": "/dev/shm", "type": "tmpfs", "source": "tmpfs",
                       "options": ["size=1k"]}))
    dests = [m["destination"] for m in s["mounts"]]
    assert dests == ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue",
                     "/data", "/data/sub", "/dev/shm"]
    assert s["mounts"][6]["options"] == ["rbind", "rprivate", "ro"]


def test_resources_to_oci():
    r = S.Resources(memory=64 << 20, nano_cpus=1_500_000_000, pids_limit=50, cpu_shares=512,
                    cpuset_cpus="0", blkio_weight=300).to_oci()
    assert r == {"memory": {"limit": 64 << 20, "swap": 128 << 20},
                 "cpu": {"shares": 512, "period": 100000, "quota": 150000, "cpus": "0"},
                 "pids": {"limit": 50}, "blockIO": {"weight": 300}}


def test_rlimits_clamped_to_host_hard_limit():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    s = _spec(rlimits=(S.Rlimit("nofile", 1 << 30, 1 << 30), S.Rlimit("nproc", 10, 20)))
    got = {r["type"]: (r["soft"], r["hard"]) for r in s["process"]["rlimits"]}
    assert got["RLIMIT_NOFILE"] == (hard, hard)
    assert got["RLIMIT_NPROC"] == (10, 20)
    with pytest.raises(InvalidArgument, match="invalid ulimit type: bogus"):
        _spec(rlimits=(S.Rlimit("bogus", 1, 1),))


def test_bad_input():
    with pytest.raises(InvalidArgument, match="needs to be an absolute path"):
        _spec(cwd="rel")
    with pytest.raises(InvalidArgument):
        _spec(args=())


def test_schema_valid(validator):
    validator.validate(_spec(seccomp="default", rlimits=(S.Rlimit("nofile", 100, 100),),
                             resources=S.Resources(memory=1 << 26, pids_limit=9),
                             mounts=(S.bind_mount("/a", "/b"),)))
    validator.validate(_spec(privileged=True, network="host"))


def test_device_and_throttle_specs():
    dev, rule = S.device("/dev/null:/dev/mynull:rw")
    assert dev == {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                   "fileMode": os.stat("/dev/null").st_mode & 0o7777, "uid": 0, "gid": 0}
    assert rule == {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}
    assert S.device("/dev/null")[0]["path"] == "/dev/null"
    with pytest.raises(InvalidArgument, match="^bad mode specified: rwx$"):  # docker/cli's
        S.device("/dev/null:/dev/x:rwx")
    with pytest.raises(SkiffError, match='^error gathering device information while adding '
                       'custom device "/etc/passwd": not a device node$'):
        S.device("/etc/passwd")
    with pytest.raises(SkiffError, match="no such file or directory$") as e:
        S.device("/nonexistent")
    assert e.value.exit_code == 127  # docker run's code for this start error
    assert S.parse_device("/dev/null:r") == ("/dev/null", "/dev/null", "r")
    assert S.parse_device("//dev//null") == ("/dev/null", "/dev/null", "rwm")
    assert S.parse_device("/dev/./null:/dev//x") == ("/dev/./null", "/dev/x", "rwm")
    with pytest.raises(InvalidArgument, match="^bad format for path: :/x$"):
        S.parse_device(":/x")
    with pytest.raises(InvalidArgument, match="^x is not an absolute path$"):
        S.parse_device("/dev/null:x")
    assert S.throttle("/dev/null:2mb") == {"major": 1, "minor": 3, "rate": 2 * 1024 * 1024}
    s = _spec(devices=("/dev/null:/dev/n",), device_read_bps=("/dev/null:1k",))
    assert s["linux"]["devices"][0]["path"] == "/dev/n"
    assert s["linux"]["resources"]["devices"][-1]["access"] == "rwm"
    assert s["linux"]["resources"]["blockIO"] == {
        "throttleReadBpsDevice": [{"major": 1, "minor": 3, "rate": 1024}]}
