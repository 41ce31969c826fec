"""Docker-format seccomp profile → OCI linux.seccomp (moby profiles/seccomp rules)."""

from __future__ import annotations

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


def test_debian_default_profile_converts():
    if not os.path.exists(seccomp.DEFAULT_PROFILE):
        pytest.skip("needs golang-github-containers-common")
    out = seccomp.default(DEFAULT_CAPS)
    allowed = {n for s in out["syscalls"] if s["action"] == "SCMP_ACT_ALLOW" and "args" not in s
               for n in s["names"]}
    assert {"read", "execve", "clone"} <= allowed
    # CAP_SYS_ADMIN-only calls are refused with EPERM for the default set.
    assert "bpf" not in allowed
    eperm = next(s for s in out["syscalls"] if "bpf" in s["names"])
    assert (eperm["action"], eperm["errnoRet"]) == ("SCMP_ACT_ERRNO", 1)
    assert out["defaultAction"] == "SCMP_ACT_ERRNO"


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
