"""``docker import --change`` / ``docker commit --change``: Dockerfile instructions applied
to an image config's "config" section.

Docker allows CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER,
VOLUME and WORKDIR here (moby builder/dockerfile BuildFromConfig); anything else is refused
with Docker's message ``X is not a valid change command``.
"""

from __future__ import annotations

import json
import posixpath
import shlex
from collections.abc import Sequence

from skiff.errors import InvalidArgument

ALLOWED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD",
           "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")


def _json_or_shell(rest: str) -> list[str]:
    """Exec form (a JSON array of strings) or shell form → ``/bin/sh -c``."""
    s = rest.strip()
    if s.startswith("["):
        try:
            v = json.loads(s)
        except ValueError:
            v = None
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return v
    return ["/bin/sh", "-c", s]


def _pairs(rest: str, what: str) -> list[tuple[str, str]]:
    """``k=v k2="v 2"`` or the legacy ``k v w`` (one pair) form."""
    try:
        words = shlex.split(rest, posix=True)
    except ValueError as e:
        raise InvalidArgument(f"invalid {what}", str(e)) from None
    if not words:
        raise InvalidArgument(f"{what} requires at least one argument")
    if "=" not in words[0]:
        parts = rest.strip().split(None, 1)
        if len(parts) < 2:
            raise InvalidArgument(f"{what} must have two arguments")
        return [(parts[0], parts[1])]
    out = []
    for w in words:
        k, eq, v = w.partition("=")
        if not eq or not k:
            raise InvalidArgument(f"{what} names can not be blank" if not k else
                                  f"Syntax error - can't find = in {w!r}. Must be of the form: name=value")
        out.append((k, v))
    return out


def apply_changes(config: dict, changes: Sequence[str]) -> dict:
    """Return a copy of the "config" section with each change line applied in order.

    An ENTRYPOINT clears Cmd unless a CMD change came before it (moby dispatchEntrypoint).

    Raises InvalidArgument (``x is not a valid change command``, the instruction
    lowercased, as docker 20.10) for an instruction Docker does not allow here or a
    malformed one.
    """
    cfg = json.loads(json.dumps(config))
    cmd_set = False
    for line in changes:
        line = line.strip()
        if not line:
            continue
        word, _, rest = line.partition(" ")
        kw = word.upper()
        if kw not in ALLOWED:
            # docker 20.10 (moby checkDispatch): the instruction as its parser lowercases it
            raise InvalidArgument(f"{word.lower()} is not a valid change command")
        rest = rest.strip()
        if kw == "CMD":
            cfg["Cmd"] = _json_or_shell(rest)
            cmd_set = True
        elif kw == "ENTRYPOINT":
            cfg["Entrypoint"] = _json_or_shell(rest)
            if not cmd_set:  # moby dispatchEntrypoint: the old CMD goes unless one was given
                cfg["Cmd"] = None
        elif kw == "ENV":
            env = list(cfg.get("Env") or [])
            for k, v in _pairs(rest, "ENV"):
                env = [e for e in env if e.split("=", 1)[0] != k] + [f"{k}={v}"]
            cfg["Env"] = env
        elif kw == "LABEL":
            labels = dict(cfg.get("Labels") or {})
            for k, v in _pairs(rest, "LABEL"):
                labels[k] = v
            cfg["Labels"] = labels
        elif kw == "EXPOSE":
            ports = dict(cfg.get("ExposedPorts") or {})
            for p in rest.split():
                port, _, proto = p.partition("/")
                if not port or not all(x.isdigit() for x in port.split("-")):
                    raise InvalidArgument(f"invalid containerPort: {port}")
                ports[f"{port}/{proto or 'tcp'}"] = {}
            cfg["ExposedPorts"] = ports
        elif kw == "VOLUME":
            vols = dict(cfg.get("Volumes") or {})
            items = _json_or_shell(rest) if rest.startswith("[") else rest.split()
            if items[:2] == ["/bin/sh", "-c"]:
                items = rest.split()
            for v in items:
                vols[v] = {}
            cfg["Volumes"] = vols
        elif kw == "WORKDIR":
            cfg["WorkingDir"] = posixpath.join(cfg.get("WorkingDir") or "/", rest)
        elif kw == "USER":
            cfg["User"] = rest
        elif kw == "STOPSIGNAL":
            cfg["StopSignal"] = rest
        elif kw == "ONBUILD":
            cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), rest]
        elif kw == "HEALTHCHECK":
            words = rest.split(None, 1)
            if words and words[0].upper() == "NONE":
                cfg["Healthcheck"] = {"Test": ["NONE"]}
            elif words and words[0].upper() == "CMD" and len(words) == 2:
                test = _json_or_shell(words[1])
                cfg["Healthcheck"] = {"Test": (["CMD", *test] if words[1].lstrip().startswith("[")
                                               else ["CMD-SHELL", words[1]])}
            else:
                raise InvalidArgument("HEALTHCHECK", "expected NONE or CMD ...")
    return cfg
