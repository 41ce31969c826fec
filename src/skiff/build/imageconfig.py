"""Image-config mutations, one per Dockerfile instruction, as BuildKit's dockerfile2llb makes them.

The build keeps the image config as the raw OCI/Docker JSON dict (``{"architecture", "os",
"config": {...}, "rootfs": {...}, "history": [...]}``) and each instruction changes it here.
These functions are pure (dict in, dict changed in place); the executor calls them after
expansion. History ``created_by`` strings follow BuildKit (dockerfile2llb ``commitToHistory``):
``RUN``/``COPY``/``ADD`` end in `` # buildkit``; config-only instructions are ``empty_layer``;
``CMD``/``ENTRYPOINT`` print their argv with Go's ``%q`` of a string slice
(``CMD ["node" "server.js"]``); ``VOLUME``/``SHELL`` with Go's ``%v`` (``SHELL [/bin/sh -c]``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from skiff.dockerfile.gotext import format_go_duration

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHELL = ["/bin/sh", "-c"]
HISTORY_COMMENT = "buildkit.dockerfile.v0"

# Signals STOPSIGNAL accepts by name (with or without SIG) or number (moby/sys/signal, Linux).
SIGNALS = {
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
    "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
    "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
}


def empty_image(os_: str = "linux", architecture: str = "amd64") -> dict[str, Any]:
    """The config a ``FROM scratch`` stage starts from (BuildKit ``emptyImage``).

    Returns ``{"architecture", "os", "config": {"Env": [PATH=...]}, "rootfs": {"type":
    "layers", "diff_ids": []}, "history": []}``; PATH is added as BuildKit does for any
    stage whose base has none.
    """
    return {
        "architecture": architecture,
        "os": os_,
        "config": {"Env": [f"PATH={DEFAULT_PATH}"]},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    }


def from_base(base: dict[str, Any]) -> dict[str, Any]:
    """A stage's starting config from its base image's raw config (deep copy).

    ``created`` is dropped (BuildKit clears it; the build sets its own), a missing
    ``config`` section is created and PATH is added to Env when the base has none.
    """
    img = copy.deepcopy(base)
    img.pop("created", None)
    cfg = img.setdefault("config", {})
    env = cfg.get("Env") or []
    if not any(e.split("=", 1)[0] == "PATH" for e in env):
        cfg["Env"] = [*env, f"PATH={DEFAULT_PATH}"]
    img.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    img.setdefault("history", [])
    return img


def env_list_get(env: list[str], key: str) -> str | None:
    """Value of ``key`` in a ``["K=V", ...]`` list (last one wins), or None."""
    out = None
    for e in env:
        k, _, v = e.partition("=")
        if k == key:
            out = v
    return out


def env_dict(img: dict[str, Any]) -> dict[str, str]:
    """The image's Env as an ordered dict (later duplicates win)."""
    out: dict[str, str] = {}
    for e in img.get("config", {}).get("Env") or []:
        k, _, v = e.partition("=")
        out[k] = v
    return out


def add_env(env: list[str], key: str, value: str) -> list[str]:
    """Replace ``key`` in place if present, else append (BuildKit ``addEnv``)."""
    out = list(env)
    for i, e in enumerate(out):
        if e.partition("=")[0] == key:
            out[i] = f"{key}={value}"
            return out
    out.append(f"{key}={value}")
    return out


def add_history(img: dict[str, Any], created_by: str, *, empty_layer: bool, created: str) -> None:
    """Append a history entry as BuildKit's ``commitToHistory`` does."""
    entry: dict[str, Any] = {"created": created, "created_by": created_by,
                             "comment": HISTORY_COMMENT}
    if empty_layer:
        entry["empty_layer"] = True
    img.setdefault("history", []).append(entry)


def go_quote(s: str) -> str:
    """Go's ``strconv.Quote`` for the strings history shows (JSON escaping is close enough
    for printable text; non-ASCII stays literal as Go keeps printable runes)."""
    return json.dumps(s, ensure_ascii=False)


def go_q_list(args: list[str]) -> str:
    """Go ``fmt.Sprintf("%q", []string{...})``: ``["a" "b"]``."""
    return "[" + " ".join(go_quote(a) for a in args) + "]"


def go_v_list(args: list[str]) -> str:
    """Go ``fmt.Sprintf("%v", []string{...})``: ``[a b]``."""
    return "[" + " ".join(args) + "]"


def with_shell(img: dict[str, Any], cmd: str) -> list[str]:
    """Shell form → argv: the stage's SHELL (default ``/bin/sh -c``) plus the command text."""
    shell = img.get("config", {}).get("Shell") or DEFAULT_SHELL
    return [*shell, cmd]


# --- one function per instruction --------------------------------------------------------

def set_env(img: dict[str, Any], pairs: list[tuple[str, str]], created: str) -> None:
    """ENV k=v ...: history ``ENV k=v k2=v2``, empty layer."""
    cfg = img.setdefault("config", {})
    env = cfg.get("Env") or []
    for k, v in pairs:
        env = add_env(env, k, v)
    cfg["Env"] = env
    add_history(img, "ENV " + " ".join(f"{k}={v}" for k, v in pairs), empty_layer=True,
                created=created)


def set_labels(img: dict[str, Any], pairs: list[tuple[str, str]], created: str) -> None:
    """LABEL k=v ...: added to (inherited) Labels; history ``LABEL k=v``."""
    cfg = img.setdefault("config", {})
    labels = dict(cfg.get("Labels") or {})
    for k, v in pairs:
        labels[k] = v
    cfg["Labels"] = labels
    add_history(img, "LABEL " + " ".join(f"{k}={v}" for k, v in pairs), empty_layer=True,
                created=created)


def set_cmd(img: dict[str, Any], cmd: list[str] | str, created: str) -> None:
    """CMD: shell form gets the SHELL prefix; sets ArgsEscaped true (BuildKit, all OSes)."""
    args = with_shell(img, cmd) if isinstance(cmd, str) else list(cmd)
    cfg = img.setdefault("config", {})
    cfg["Cmd"] = args
    cfg["ArgsEscaped"] = True
    add_history(img, f"CMD {go_q_list(args)}", empty_layer=True, created=created)


def set_entrypoint(img: dict[str, Any], cmd: list[str] | str, created: str, *,
                   cmd_set_in_stage: bool) -> None:
    """ENTRYPOINT: resets an inherited Cmd unless this stage already set CMD."""
    args = with_shell(img, cmd) if isinstance(cmd, str) else list(cmd)
    cfg = img.setdefault("config", {})
    cfg["Entrypoint"] = args
    if not cmd_set_in_stage:
        cfg["Cmd"] = None
    add_history(img, f"ENTRYPOINT {go_q_list(args)}", empty_layer=True, created=created)


def normalize_workdir(current: str, path: str) -> str:
    """WORKDIR path resolution: relative to the current one, cleaned (``path.Clean``)."""
    import posixpath

    if not path.startswith("/"):
        path = posixpath.join(current or "/", path)
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def set_workdir(img: dict[str, Any], path: str, created: str) -> tuple[str, bool]:
    """WORKDIR: returns (absolute dir, whether a layer is made: BuildKit mkdirs unless ``/``)."""
    cfg = img.setdefault("config", {})
    wd = normalize_workdir(cfg.get("WorkingDir") or "/", path)
    cfg["WorkingDir"] = wd
    with_layer = wd != "/"
    add_history(img, f"WORKDIR {wd}", empty_layer=not with_layer, created=created)
    return wd, with_layer


def set_user(img: dict[str, Any], user: str, created: str) -> None:
    """USER name[:group]."""
    img.setdefault("config", {})["User"] = user
    add_history(img, f"USER {user}", empty_layer=True, created=created)


def normalize_port(spec: str) -> str:
    """``3000`` → ``3000/tcp``; ``53/UDP`` → ``53/udp``; ranges kept as written.

    Raises ValueError for an invalid port or protocol.
    """
    port, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise ValueError(f"invalid proto: {proto}")
    lo, _, hi = port.partition("-")
    for p in (lo, hi) if hi else (lo,):
        if not p.isdigit() or not 0 <= int(p) <= 65535:
            raise ValueError(f"invalid containerPort: {port}")
    return f"{port}/{proto}"


def expand_ports(specs: list[str]) -> list[str]:
    """EXPOSE arguments → ``port/proto`` keys in the order given (ranges expanded,
    duplicates dropped), as BuildKit lists them."""
    out: list[str] = []
    for s in specs:
        norm = normalize_port(s)
        port, _, proto = norm.partition("/")
        lo, _, hi = port.partition("-")
        for p in range(int(lo), int(hi or lo) + 1):
            k = f"{p}/{proto}"
            if k not in out:
                out.append(k)
    return out


def set_expose(img: dict[str, Any], specs: list[str], created: str) -> None:
    """EXPOSE: ExposedPorts map ``{"3000/tcp": {}}``; history ``EXPOSE [3000/tcp]`` (today's
    BuildKit; Docker 20.10's printed the map, ``EXPOSE map[3000/tcp:{}]``)."""
    cfg = img.setdefault("config", {})
    ports = dict(cfg.get("ExposedPorts") or {})
    keys = expand_ports(specs)
    for k in keys:
        ports[k] = {}
    cfg["ExposedPorts"] = ports
    add_history(img, "EXPOSE " + go_v_list(keys), empty_layer=True, created=created)


def set_volumes(img: dict[str, Any], paths: list[str], created: str) -> None:
    """VOLUME: Volumes map; empty path refused (BuildKit: ``VOLUME specified can not be an
    empty string``, raised as ValueError)."""
    cfg = img.setdefault("config", {})
    vols = dict(cfg.get("Volumes") or {})
    for p in paths:
        if p == "":
            raise ValueError("VOLUME specified can not be an empty string")
        vols[p] = {}
    cfg["Volumes"] = vols
    add_history(img, f"VOLUME {go_v_list(paths)}", empty_layer=True, created=created)


def check_signal(sig: str) -> None:
    """Raise ValueError unless ``sig`` is a signal name (``SIGTERM``/``TERM``) or number."""
    s = sig.upper()
    if s.isdigit():
        if not 0 < int(s) <= 64:
            raise ValueError(f"invalid signal: {sig}")
        return
    s = s.removeprefix("SIG")
    if s in SIGNALS or s.startswith("RTMIN") or s.startswith("RTMAX"):
        return
    raise ValueError(f"invalid signal: {sig}")


def set_stopsignal(img: dict[str, Any], sig: str, created: str) -> None:
    """STOPSIGNAL: validated, stored as written."""
    check_signal(sig)
    img.setdefault("config", {})["StopSignal"] = sig
    add_history(img, f"STOPSIGNAL {sig}", empty_layer=True, created=created)


def set_shell(img: dict[str, Any], shell: list[str], created: str) -> None:
    """SHELL ["exe", "arg"]: used by later shell-form RUN/CMD/ENTRYPOINT."""
    img.setdefault("config", {})["Shell"] = list(shell)
    add_history(img, f"SHELL {go_v_list(list(shell))}", empty_layer=True, created=created)


def set_healthcheck(img: dict[str, Any], health: dict[str, Any], created: str) -> None:
    """HEALTHCHECK: ``health`` is Docker's HealthConfig dict (``Test`` list, durations in ns,
    ``Retries``); ``HEALTHCHECK NONE`` is ``{"Test": ["NONE"]}``. History prints Go's ``%+v``
    of the struct as BuildKit does."""
    hc = {"Test": list(health.get("Test") or [])}
    for k in ("Interval", "Timeout", "StartPeriod", "StartInterval"):
        if health.get(k):
            hc[k] = int(health[k])
    if health.get("Retries"):
        hc["Retries"] = int(health["Retries"])
    img.setdefault("config", {})["Healthcheck"] = hc
    parts = [f"Test:{go_q_list(hc['Test'])}"]
    for k in ("Interval", "Timeout", "StartPeriod", "StartInterval"):
        parts.append(f"{k}:{format_go_duration(hc.get(k, 0))}")
    parts.append(f"Retries:{hc.get('Retries', 0)}")
    add_history(img, "HEALTHCHECK {" + " ".join(parts) + "}", empty_layer=True,
                created=created)


def add_onbuild(img: dict[str, Any], expression: str) -> None:
    """ONBUILD <instruction>: stored as written; BuildKit adds no history entry."""
    cfg = img.setdefault("config", {})
    cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), expression]


def set_maintainer(img: dict[str, Any], name: str, created: str) -> None:
    """MAINTAINER (deprecated): sets ``author``."""
    img["author"] = name
    add_history(img, f"MAINTAINER {name}", empty_layer=True, created=created)


def add_arg_history(img: dict[str, Any], args: list[tuple[str, str | None]], created: str) -> None:
    """ARG: history ``ARG K=V`` (value after build-arg override), no config change."""
    strs = [k if v is None else f"{k}={v}" for k, v in args]
    add_history(img, "ARG " + " ".join(strs), empty_layer=True, created=created)


def run_created_by(args: list[str], build_args: list[tuple[str, str]]) -> str:
    """History text of a RUN: ``RUN |2 A=1 B=2 /bin/sh -c cmd # buildkit`` (args in effect)."""
    parts: list[str] = []
    if build_args:
        parts.append(f"|{len(build_args)}")
        parts.extend(f"{k}={v}" for k, v in build_args)
    return "RUN " + " ".join([*parts, *args]) + " # buildkit"


def finalize(img: dict[str, Any], *, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The image config to write: ``--label`` values merged, ``created`` = the last history
    entry's time (so a fully cached rebuild gives the same image ID), Cmd None dropped."""
    out = copy.deepcopy(img)
    cfg = out.setdefault("config", {})
    if labels:
        cfg["Labels"] = {**(cfg.get("Labels") or {}), **labels}
    for k in [k for k, v in cfg.items() if v is None]:
        del cfg[k]
    hist = out.get("history") or []
    if hist and hist[-1].get("created"):
        out["created"] = hist[-1]["created"]
    return out
