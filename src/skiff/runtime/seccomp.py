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

The default profile is Debian's ``golang-github-containers-common``
(/usr/share/containers/seccomp.json), equal in effect to Docker's default.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

from skiff.errors import InvalidArgument, NotFound

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
        raise InvalidArgument(f"seccomp profile {p}", f"decoding seccomp profile failed: {e}") from e
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


def default(capabilities: Iterable[str]) -> dict:
    """The default profile converted for ``capabilities`` (see :func:`convert`)."""
    return convert(load_profile(), capabilities)
