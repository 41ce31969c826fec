"""The default seccomp profile in a real container (busybox image, real runc) answers each
syscall as Docker 20.10.24 (Debian 12's docker.io) does.

seccomp_probe.c calls each syscall with arguments the kernel rejects at once (or that do
nothing) and prints ``name=errno``. Under Docker (dockerd 20.10.24 with its own data root
on this machine, ``docker run --rm --network none [CAPS] -v probe:/p:ro bb:1 /p``) each
call either got the filter's answer — EPERM (1), or ENOSYS (38) for clone3 without
CAP_SYS_ADMIN and for syscalls newer than any in the filter (runc's ENOSYS stub) — or
passed the filter and got the kernel's own answer, the one the same container gets with
``--security-opt seccomp=unconfined``. The tables below are those verdicts; a call
refused by both the filter and the kernel (e.g. pivot_root without CAP_SYS_ADMIN) is
listed under what Docker's profile does with it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]

EPERM, ENOSYS = 1, 38

# The filter's EPERM under Docker's default capabilities.
_EPERM_DEFAULT = {
    "add_key", "request_key", "keyctl", "create_module", "afs_syscall", "uselib", "kexec_load",
    "personality_ffff", "clone_newns", "clone_newuser", "unshare", "setns", "mount", "umount2",
    "pivot_root", "fsopen", "fsmount", "open_tree", "move_mount", "mount_setattr",
    "sethostname", "setdomainname", "syslog", "bpf", "perf_event_open", "fanotify_init",
    "quotactl", "quotactl_fd", "name_to_handle_at", "open_by_handle_at", "reboot", "mbind",
    "get_mempolicy", "set_mempolicy", "pidfd_getfd", "process_vm_readv", "kcmp", "userfaultfd",
    "pkey_alloc", "iopl", "clock_settime",
}
_ENOSYS = {"clone3", "fchmodat2", "mseal", "nr1000"}
_SYS_ADMIN_OPENS = {
    "clone_newns", "clone_newuser", "clone3", "unshare", "setns", "mount", "umount2", "fsopen",
    "fsmount", "open_tree", "move_mount", "mount_setattr", "sethostname", "setdomainname",
    "syslog", "bpf", "perf_event_open", "fanotify_init", "quotactl", "quotactl_fd",
    "name_to_handle_at",
}

CASES = {
    # flags: (EPERM set, ENOSYS set); every other probe line: the kernel's answer
    (): (_EPERM_DEFAULT, _ENOSYS),
    ("--cap-add", "SYS_ADMIN"): (_EPERM_DEFAULT - _SYS_ADMIN_OPENS, _ENOSYS - {"clone3"}),
    ("--cap-drop", "ALL"): (_EPERM_DEFAULT | {"chroot"}, _ENOSYS),
}


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> Path:
    if not shutil.which("gcc"):
        pytest.skip("needs a C compiler (apt-get install gcc libc6-dev)")
    out = tmp_path_factory.mktemp("scprobe") / "scprobe"
    src = Path(__file__).with_name("seccomp_probe.c")
    res = subprocess.run(["gcc", "-static", "-O1", "-o", str(out), str(src)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot build a static probe (libc6-dev?): {res.stderr.strip()[:200]}")
    return out


def _probe(sk, probe, *flags) -> dict[str, int]:
    res = sk("run", "--rm", "--network", "none", *flags, "-v", f"{probe}:/p:ro", "bb:1", "/p")
    assert res.code == 0, res
    return {k: int(v) for k, v in (ln.split("=") for ln in res.out.split())}


@pytest.mark.parametrize("flags", list(CASES), ids=["default", "cap-add-sys-admin", "cap-drop-all"])
def test_errno_per_syscall_is_dockers(sk, probe, flags):
    eperm, enosys = CASES[flags]
    got = _probe(sk, probe, *flags)
    kernel = _probe(sk, probe, "--security-opt", "seccomp=unconfined", *flags)
    want = {name: EPERM if name in eperm else ENOSYS if name in enosys else kernel[name]
            for name in kernel}
    assert got == want
    assert set(got) >= eperm | enosys


@pytest.mark.parametrize("flags,code,err", [
    ((), 1, "unshare: unshare(0x10000000): Operation not permitted\n"),
    (("--cap-drop", "ALL"), 1, "unshare: unshare(0x10000000): Operation not permitted\n"),
    (("--cap-add", "SYS_ADMIN"), 0, ""),
], ids=["default", "cap-drop-all", "cap-add-sys-admin"])
def test_unshare_user_namespace_as_docker(sk, flags, code, err):
    # docker run --rm --network none [FLAGS] bb:1 busybox unshare -U true
    res = sk("run", "--rm", "--network", "none", *flags, "bb:1", "busybox", "unshare", "-U", "true")
    assert (res.code, res.out, res.err) == (code, "", err)
