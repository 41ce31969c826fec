"""Docker-format seccomp profiles → the OCI runtime spec's ``linux.seccomp`` object.

Docker and Podman keep their default profile in their own JSON format (``archMap``, rules
with ``includes``/``excludes`` conditions on capabilities, architectures and kernel
versions). The OCI runtime config wants the resolved form (runtime-spec config-linux.md
"Seccomp"): ``defaultAction``, ``defaultErrnoRet``, ``architectures`` and ``syscalls``.
:func:`convert` performs the resolution moby's ``profiles/seccomp.setupSeccomp`` does:

- architectures: the host's entry of ``archMap`` plus its sub-architectures;
- a rule applies when every capability in ``includes.caps`` is in the container's bounding
  set, none of ``excludes.caps`` is, the host arch is in ``includes.arches`` (when given)
  and not in ``excludes.arches``, and the kernel is at least ``includes.minKernel``.

The default profile starts from Debian's ``golang-github-containers-common``
(/usr/share/containers/seccomp.json) and :func:`docker_default` makes it equal in effect
to Docker's: containers-common returns ENOSYS for what it does not name, allows some
calls to every container that Docker allows only with a capability, and lacks a few that
Docker allows. The adjustments are the tables below; a profile file the user gives is
converted as written.
"""

from __future__ import annotations

import os

from skiff import jsonio as json  # (json.loads/dumps without importing re)
from skiff.errors import InvalidArgument, NotFound

TYPE_CHECKING = False  # (not typing's: the run path does not import collections)
if TYPE_CHECKING:
    from collections.abc import Iterable

DEFAULT_PROFILE = "/usr/share/containers/seccomp.json"  # (text: run's path has no pathlib)

# uname -m → the names Docker profiles use in includes.arches / archMap.
_ARCH_NAMES = {
    "x86_64": ({"amd64", "x86_64"}, "SCMP_ARCH_X86_64"),
    "aarch64": ({"arm64", "aarch64"}, "SCMP_ARCH_AARCH64"),
    "ppc64le": ({"ppc64le"}, "SCMP_ARCH_PPC64LE"),
    "s390x": ({"s390x"}, "SCMP_ARCH_S390X"),
    "riscv64": ({"riscv64"}, "SCMP_ARCH_RISCV64"),
}


def _kernel_version() -> tuple[int, int]:
    rel = os.uname().release
    parts = rel.split(".")
    try:
        return int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)
    except (IndexError, ValueError):
        return (0, 0)


def _min_kernel_ok(spec: str, have: tuple[int, int]) -> bool:
    try:
        major, minor = (int(x) for x in spec.split(".")[:2])
    except ValueError:
        return True
    return have >= (major, minor)


def load_profile(path: str | os.PathLike[str] | None = None) -> dict:
    """Read a Docker-format profile (default: Debian's containers-common one).

    Raises:
        NotFound: the file does not exist.
        InvalidArgument: it is not a JSON object.
    """
    p = os.fspath(path) if path is not None else DEFAULT_PROFILE
    try:
        with open(p, "rb") as f:
            data = json.loads(f.read())
    except FileNotFoundError as e:
        # docker/cli's wording for --security-opt seccomp=MISSING
        raise NotFound(f"opening seccomp profile ({p}) failed",
                       f"open {p}: no such file or directory") from e
    except ValueError as e:
        # docker/cli's words (the reason is Python's, not Go's)
        raise InvalidArgument(f"compacting json for seccomp profile ({p}) failed", str(e)) from e
    if not isinstance(data, dict):
        raise InvalidArgument(f"seccomp profile {p}", "not a JSON object")
    return data


def convert(profile: dict, capabilities: Iterable[str], *, machine: str | None = None,
            kernel: tuple[int, int] | None = None) -> dict:
    """Resolve a Docker-format ``profile`` for a container with ``capabilities`` (bounding set).

    Returns the OCI ``linux.seccomp`` dict. A profile already in OCI form (it has
    ``architectures`` and no ``archMap``) is returned with its rules' conditions dropped.
    ``machine`` defaults to ``uname -m``, ``kernel`` to the running kernel (major, minor).

    Raises:
        InvalidArgument: a rule lacks ``names``/``name`` or an ``action``.
    """
    caps = set(capabilities)
    machine = machine or os.uname().machine
    kernel = kernel or _kernel_version()
    arch_names, scmp_arch = _ARCH_NAMES.get(machine, ({machine}, f"SCMP_ARCH_{machine.upper()}"))

    out: dict = {"defaultAction": profile.get("defaultAction", "SCMP_ACT_ALLOW")}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]

    arches: list[str] = []
    if "archMap" in profile and profile["archMap"]:
        for entry in profile["archMap"]:
            if entry.get("architecture") == scmp_arch:
                arches = [scmp_arch, *entry.get("subArchitectures", [])]
                break
    elif profile.get("architectures"):
        arches = list(profile["architectures"])
    if arches:
        out["architectures"] = arches
    if profile.get("flags"):
        out["flags"] = list(profile["flags"])

    syscalls = []
    for rule in profile.get("syscalls", []):
        names = rule.get("names") or ([rule["name"]] if rule.get("name") else None)
        if not names or not rule.get("action"):
            raise InvalidArgument("seccomp profile", f"rule without names or action: {rule!r}")
        inc = rule.get("includes") or {}
        exc = rule.get("excludes") or {}
        if inc.get("caps") and not all(c in caps for c in inc["caps"]):
            continue
        if exc.get("caps") and any(c in caps for c in exc["caps"]):
            continue
        if inc.get("arches") and not (set(inc["arches"]) & arch_names):
            continue
        if exc.get("arches") and (set(exc["arches"]) & arch_names):
            continue
        if inc.get("minKernel") and not _min_kernel_ok(inc["minKernel"], kernel):
            continue
        sc: dict = {"names": list(names), "action": rule["action"]}
        if rule.get("errnoRet") is not None:
            sc["errnoRet"] = rule["errnoRet"]
        if rule.get("args"):
            sc["args"] = [_arg(a) for a in rule["args"]]
        syscalls.append(sc)
    out["syscalls"] = syscalls
    return out


def _arg(a: dict) -> dict:
    d = {"index": a["index"], "value": a.get("value", 0), "op": a["op"]}
    if a.get("valueTwo"):
        d["valueTwo"] = a["valueTwo"]
    return d


# --- Docker's default profile, as facts on top of containers-common's --------------------
# Where they come from: moby's profile (../shared/peer/moby-moby,
# vendor/github.com/moby/profiles/seccomp/default.json, read, not copied) and what Docker
# 20.10.24 (Debian 12's docker.io) puts in runc's config.json for a container with the
# default capabilities, --cap-add SYS_ADMIN, --cap-add SYS_PTRACE/SYS_NICE/SYSLOG/SYS_BOOT/
# DAC_READ_SEARCH/SYS_MODULE/SYS_PACCT/SYS_RAWIO/SYS_TIME/SYS_TTY_CONFIG and --cap-drop ALL,
# with the errno a static probe gets under it. Where the two disagree, Docker 20.10.24
# decides (io_uring_* allowed; pkey_*, name_to_handle_at without CAP_SYS_ADMIN and
# process_vm_* without CAP_SYS_PTRACE refused), except the capabilities 20.10.24 does not
# know (CAP_BPF, CAP_PERFMON), which follow moby's profile. Syscalls newer than both
# profiles (cachestat, fchmodat2, mseal, ...) are named by neither: runc answers ENOSYS for
# numbers above the filter's highest, as under Docker.

DOCKER_ERRNO = 1  # EPERM: Docker's defaultErrnoRet (runc's default errno for SCMP_ACT_ERRNO)

# Allowed by containers-common to every container, never by Docker: EPERM. readdir ...
# timerfd are i386-only (or no) syscalls; keyctl/pivot_root/pkey_* Docker refuses outright.
NOT_ALLOWED = frozenset({
    "keyctl", "pivot_root", "pkey_alloc", "pkey_free", "pkey_mprotect", "readdir",
    "sigaction", "signal", "sigpending", "sigsuspend", "syscall", "timerfd",
    "clock_settime64", "query_module",
})

# Allowed by Docker to every container, refused by containers-common (EPERM, ENOSYS, or
# for socket: EINVAL for AF_NETLINK/NETLINK_AUDIT without CAP_AUDIT_WRITE).
ALSO_ALLOWED = ("futex_waitv", "io_pgetevents", "io_pgetevents_time64", "io_uring_enter",
                "io_uring_register", "io_uring_setup", "socket", "vmsplice")

# (capability, names): allowed only to a container with the capability in its bounding
# set (Docker's ``includes.caps`` rules); a name under two capabilities needs either.
CAP_ALLOWED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("CAP_DAC_READ_SEARCH", ("open_by_handle_at",)),
    ("CAP_SYS_ADMIN", ("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount",
                       "fsopen", "fspick", "lookup_dcookie", "mount", "mount_setattr",
                       "move_mount", "name_to_handle_at", "open_tree", "perf_event_open",
                       "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns",
                       "syslog", "umount", "umount2", "unshare")),
    ("CAP_SYS_BOOT", ("reboot",)),
    ("CAP_SYS_CHROOT", ("chroot",)),
    ("CAP_SYS_MODULE", ("delete_module", "init_module", "finit_module")),
    ("CAP_SYS_PACCT", ("acct",)),
    ("CAP_SYS_PTRACE", ("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
                        "process_vm_writev")),
    ("CAP_SYS_RAWIO", ("iopl", "ioperm")),
    ("CAP_SYS_TIME", ("settimeofday", "stime", "clock_settime")),
    ("CAP_SYS_TTY_CONFIG", ("vhangup",)),
    ("CAP_SYS_NICE", ("get_mempolicy", "mbind", "set_mempolicy")),
    ("CAP_SYSLOG", ("syslog",)),
    ("CAP_BPF", ("bpf",)),
    ("CAP_PERFMON", ("perf_event_open",)),
)

# Without CAP_SYS_ADMIN: clone only without namespace flags (CLONE_NEWNS | NEWCGROUP |
# NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET; s390 passes flags in the second argument),
# and clone3, whose flags seccomp cannot see, answers ENOSYS so that libc falls back to clone.
CLONE_NAMESPACE_FLAGS = 0x7E020000


def _without_sys_admin() -> list[dict]:
    s390 = ["s390", "s390x"]
    masked = {"value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}
    return [
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, **masked}],
         "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": s390}},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, **masked}],
         "includes": {"arches": s390}, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,  # ENOSYS
         "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    ]


_REPLACED = frozenset(NOT_ALLOWED | set(ALSO_ALLOWED)
                      | {n for _, names in CAP_ALLOWED for n in names})


def docker_default(profile: dict) -> dict:
    """containers-common's ``profile`` (Docker format) → one equal in effect to Docker's.

    Returns a new Docker-format profile: default action ERRNO with ``defaultErrnoRet`` 1
    (EPERM, not containers-common's ENOSYS); every name of the tables above taken out of
    the profile's own rules and given Docker's rule instead; the rules that then return
    the default's EPERM dropped (runc would skip them: libseccomp refuses a rule whose
    action is the default one, and compiling fewer rules is cheaper on every start).
    """
    rules: list[dict] = []
    for rule in profile.get("syscalls", []):
        names = rule.get("names") or ([rule["name"]] if rule.get("name") else [])
        kept = [n for n in names if n not in _REPLACED]
        if not kept:
            continue
        if rule.get("action") == "SCMP_ACT_ERRNO" and rule.get("errnoRet", DOCKER_ERRNO) == DOCKER_ERRNO:
            continue
        rule = dict(rule)
        rule.pop("name", None)
        rule["names"] = kept
        rules.append(rule)
    rules.append({"names": list(ALSO_ALLOWED), "action": "SCMP_ACT_ALLOW"})
    for cap, names in CAP_ALLOWED:
        rules.append({"names": list(names), "action": "SCMP_ACT_ALLOW", "includes": {"caps": [cap]}})
    rules.extend(_without_sys_admin())
    out = {k: v for k, v in profile.items() if k not in ("syscalls", "defaultErrno")}
    out["defaultAction"] = "SCMP_ACT_ERRNO"
    out["defaultErrnoRet"] = DOCKER_ERRNO
    out["syscalls"] = rules
    return out


def default(capabilities: Iterable[str]) -> dict:
    """The default profile (containers-common's made Docker's by :func:`docker_default`)
    converted for ``capabilities`` (see :func:`convert`).

    Raises:
        NotFound: containers-common's profile file is missing.
    """
    return convert(docker_default(load_profile()), capabilities)
