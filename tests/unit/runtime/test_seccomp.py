"""Docker-format seccomp profile → OCI linux.seccomp (moby profiles/seccomp rules)."""

from __future__ import annotations

import json
import os

import pytest

from skiff.runtime import seccomp
from skiff.runtime.spec import DEFAULT_CAPS

PROFILE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "archMap": [
        {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
    ],
    "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["chown"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "excludes": {"caps": ["CAP_CHOWN"]}},
        {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
        {"names": ["newer"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "9.1"}},
    ],
}


def test_convert_for_default_caps_on_x86_64():
    out = seccomp.convert(PROFILE, DEFAULT_CAPS, machine="x86_64", kernel=(6, 1))
    assert out == {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW"},
        ],
    }


def test_conditions_follow_caps_arch_and_kernel():
    out = seccomp.convert(PROFILE, ["CAP_SYS_ADMIN"], machine="aarch64", kernel=(9, 2))
    names = [s["names"][0] for s in out["syscalls"]]
    assert names == ["read", "personality", "mount", "chown", "newer"]
    assert out["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]


needs_cc = pytest.mark.skipif(not os.path.exists(seccomp.DEFAULT_PROFILE),
                              reason="needs golang-github-containers-common")


def _verdicts(oci: dict) -> dict[str, set]:
    """name → {"allow"} / {"errno N"} / {"allow if ARGS"...} as runc would compile them."""
    out: dict[str, set] = {}
    for s in oci["syscalls"]:
        v = "allow" if s["action"] == "SCMP_ACT_ALLOW" else f"errno {s.get('errnoRet', 1)}"
        if s.get("args"):
            v += " if " + ",".join(f"{a['index']}:{a['op']}:{a['value']:#x}" for a in s["args"])
        for n in s["names"]:
            out.setdefault(n, set()).add(v)
    return out


def _docker(caps) -> dict:
    return seccomp.convert(seccomp.docker_default(seccomp.load_profile()), caps,
                           machine="x86_64", kernel=(6, 1))


@needs_cc
def test_default_profile_answers_eperm_and_keeps_x32():
    out = _docker(DEFAULT_CAPS)
    assert (out["defaultAction"], out["defaultErrnoRet"]) == ("SCMP_ACT_ERRNO", 1)
    # without X32 in the filter an x32 syscall is killed (SIGSYS) instead of ENOSYS
    assert out["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    # containers-common's ~50 EPERM rules are the default now: none is left for runc
    assert [s for s in out["syscalls"] if s["action"] == "SCMP_ACT_ERRNO"] == [
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]


@needs_cc
def test_default_caps_get_dockers_gating():
    """Docker 20.10.24's config.json for ``docker run bb:1`` (default capabilities)."""
    v = _verdicts(_docker(DEFAULT_CAPS))
    for name in ("unshare", "setns", "mount", "umount2", "pivot_root", "syslog", "keyctl",
                 "reboot", "mbind", "set_mempolicy", "get_mempolicy", "pidfd_getfd",
                 "process_vm_readv", "fsopen", "open_tree", "name_to_handle_at", "bpf",
                 "pkey_alloc", "add_key", "sigaction", "clock_settime64", "kcmp"):
        assert name not in v, name  # → the default: EPERM
    assert v["clone"] == {"allow if 0:SCMP_CMP_MASKED_EQ:0x7e020000"}
    assert v["clone3"] == {"errno 38"}
    for name in ("vmsplice", "io_pgetevents", "futex_waitv", "io_uring_setup", "socket",
                 "chroot", "ptrace", "read", "execve"):
        assert v[name] == {"allow"}, name
    assert v["personality"] == {f"allow if 0:SCMP_CMP_EQ:{p:#x}"
                                for p in (0, 8, 0x20000, 0x20008, 0xFFFFFFFF)}


@needs_cc
def test_cap_add_opens_what_dockers_profile_opens_for_it():
    base = set(_verdicts(_docker(DEFAULT_CAPS)))
    added = {}
    for cap in ("CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_NICE", "CAP_SYSLOG", "CAP_SYS_BOOT",
                "CAP_BPF", "CAP_PERFMON"):
        v = _verdicts(_docker([*DEFAULT_CAPS, cap]))
        added[cap] = sorted(set(v) - base)
        if cap == "CAP_SYS_ADMIN":
            assert (v["clone"], v["clone3"]) == ({"allow"}, {"allow"})
    assert added == {
        "CAP_SYS_ADMIN": ["bpf", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
                          "lookup_dcookie", "mount", "mount_setattr", "move_mount",
                          "name_to_handle_at", "open_tree", "perf_event_open", "quotactl",
                          "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog",
                          "umount", "umount2", "unshare"],
        "CAP_SYS_PTRACE": ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
                           "process_vm_writev"],
        "CAP_SYS_NICE": ["get_mempolicy", "mbind", "set_mempolicy"],
        "CAP_SYSLOG": ["syslog"],
        "CAP_SYS_BOOT": ["reboot"],
        "CAP_BPF": ["bpf"],
        "CAP_PERFMON": ["perf_event_open"],
    }


@needs_cc
def test_cap_drop_all_loses_chroot_and_keeps_any_socket():
    v = _verdicts(_docker([]))
    assert "chroot" not in v
    # containers-common refuses AF_NETLINK/NETLINK_AUDIT without CAP_AUDIT_WRITE; Docker not
    assert v["socket"] == {"allow"}
    assert v["clone3"] == {"errno 38"}


@needs_cc
def test_s390x_masks_clone_flags_in_the_second_argument():
    out = seccomp.convert(seccomp.docker_default(seccomp.load_profile()), DEFAULT_CAPS,
                          machine="s390x", kernel=(6, 1))
    assert out["architectures"] == ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]
    assert _verdicts(out)["clone"] == {"allow if 1:SCMP_CMP_MASKED_EQ:0x7e020000"}


def test_docker_default_replaces_the_tables_names_and_drops_eperm_rules():
    profile = {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "defaultErrno": "ENOSYS",
        "archMap": PROFILE["archMap"],
        "syscalls": [
            {"names": ["read", "unshare", "keyctl"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["vmsplice", "bdflush"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
            {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
             "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}]},
        ],
    }
    out = seccomp.convert(seccomp.docker_default(profile), DEFAULT_CAPS, machine="x86_64",
                          kernel=(6, 1))
    assert (out["defaultAction"], out["defaultErrnoRet"]) == ("SCMP_ACT_ERRNO", 1)
    assert out["syscalls"][0] == {"names": ["read"], "action": "SCMP_ACT_ALLOW"}
    assert out["syscalls"][1] == {"names": list(seccomp.ALSO_ALLOWED), "action": "SCMP_ACT_ALLOW"}
    v = _verdicts(out)
    assert {"unshare", "keyctl", "setns", "bdflush"}.isdisjoint(v)
    assert v["socket"] == {"allow"} and v["chroot"] == {"allow"}
    assert profile["syscalls"][0]["names"] == ["read", "unshare", "keyctl"]  # not mutated


def test_user_profile_is_converted_as_written(tmp_path):
    from skiff.runtime.spec import SpecOptions, build_spec

    f = tmp_path / "p.json"
    f.write_text(json.dumps(PROFILE | {"defaultErrnoRet": 38}))
    spec = build_spec(SpecOptions(args=("sh",), rootfs="/r", seccomp=str(f)))
    assert spec["linux"]["seccomp"] == seccomp.convert(
        PROFILE | {"defaultErrnoRet": 38}, DEFAULT_CAPS)
    assert spec["linux"]["seccomp"]["defaultErrnoRet"] == 38


@needs_cc
def test_spec_default_and_unconfined():
    from skiff.runtime.spec import SpecOptions, build_spec

    spec = build_spec(SpecOptions(args=("sh",), rootfs="/r"))
    assert spec["linux"]["seccomp"] == seccomp.default(DEFAULT_CAPS)
    assert spec["linux"]["seccomp"]["defaultErrnoRet"] == 1
    for kw in ({"seccomp": "unconfined"}, {"privileged": True}):
        assert "seccomp" not in build_spec(SpecOptions(args=("sh",), rootfs="/r", **kw))["linux"]


def test_missing_profile_file_message_is_docker_clis(tmp_path):
    # docker run --security-opt seccomp=/nonexist: "opening seccomp profile (/nonexist)
    # failed: open /nonexist: no such file or directory", exit 125
    from skiff.errors import NotFound

    missing = tmp_path / "nonexist.json"
    with pytest.raises(NotFound) as ei:
        seccomp.load_profile(missing)
    assert str(ei.value) == (f"opening seccomp profile ({missing}) failed: open {missing}: "
                             "no such file or directory")
    assert ei.value.exit_code == 125
