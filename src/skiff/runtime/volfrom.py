"""``--volumes-from CONTAINER[:ro|:rw]`` and ``--label-file``, as docker 20.10 does them
(dockerd daemon/volumes.go registerMountPoints, volume/mounts linux parser; docker/cli
opts.ReadKVStrings).

Volumes-from copies every mount of the other container (volumes, binds, anonymous
volumes): same Type, Name, Source, Destination, Driver, Propagation, ``Mode`` "", and
``RW`` the source's unless ``:ro`` (then read-only). ``-v`` / ``--mount`` on the same
destination win; the image's VOLUMEs never override them.
"""

from __future__ import annotations

from skiff.errors import InvalidArgument

_RW = ("rw", "ro")
_LABEL = ("z", "Z")
_PROPAGATION = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
_COPY = ("nocopy",)
_CONSISTENCY = ("consistent", "cached", "delegated")


def parse(spec: str) -> tuple[str, str]:
    """``CONTAINER[:MODE]`` → (container, mode; default ``rw``).

    Raises:
        InvalidArgument: dockerd's ``volumes-from specification cannot be an empty
            string``, ``invalid mode: X`` (not a valid mount mode, or a propagation or copy
            mode, which volumes-from does not take).
    """
    if not spec:
        raise InvalidArgument("volumes-from specification cannot be an empty string")
    ref, sep, mode = spec.partition(":")
    if not sep:
        return ref, "rw"
    counts = [0, 0, 0, 0, 0]
    for o in mode.split(","):
        for i, kind in enumerate((_RW, _LABEL, _PROPAGATION, _COPY, _CONSISTENCY)):
            if o in kind:
                counts[i] += 1
                break
        else:
            raise InvalidArgument(f"invalid mode: {mode}")
    if max(counts) > 1 or counts[2] or counts[3]:
        raise InvalidArgument(f"invalid mode: {mode}")
    return ref, mode


def mounts(svc, specs: tuple[str, ...] | list[str]) -> list[dict]:
    """The Mounts entries ``--volumes-from`` gives (docker inspect shape), in the source
    containers' order.

    Raises:
        InvalidArgument: a bad spec (:func:`parse`).
        NotFound: ``No such container: X``.
    """
    out: list[dict] = []
    for spec in specs:
        ref, mode = parse(spec)
        src = svc.get(ref)
        writable = "ro" not in mode.split(",")
        for m in src.get("Mounts") or []:
            e = {"Type": m["Type"]}
            if "Name" in m:
                e["Name"] = m["Name"]
            e.update(Source=m["Source"], Destination=m["Destination"])
            if "Driver" in m:
                e["Driver"] = m["Driver"]
            e.update(Mode="", RW=bool(m.get("RW")) and writable,
                     Propagation=m.get("Propagation", ""))
            for k in ("NoCopy", "TmpfsSize", "TmpfsMode"):
                if k in m:
                    e[k] = m[k]
            out.append(e)
    return out


def read_label_files(paths: list[str]) -> list[str]:
    """docker/cli's ReadKVStrings for ``--label-file``: ``KEY=VALUE`` lines (leading
    whitespace dropped, ``#`` comments and blank lines skipped, the value kept as is), a
    bare ``KEY`` is ``KEY=``.

    Raises:
        InvalidArgument: ``open F: no such file or directory``, ``poorly formatted
            environment: variable 'a b' contains whitespaces``, ``poorly formatted
            environment: no variable name on line '=v'``, ``env file F contains invalid
            utf8 bytes at line N: [...]`` (docker/cli's texts).
    """
    out: list[str] = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError as e:
            raise InvalidArgument(f"open {path}", (e.strerror or "error").lower()) from None
        for n, line in enumerate(raw.split(b"\n"), 1):
            if line.endswith(b"\r"):
                line = line[:-1]
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidArgument(f"env file {path} contains invalid utf8 bytes at line "
                                      f"{n}: [{' '.join(str(b) for b in line)}]") from None
            text = text.lstrip()
            if not text or text.startswith("#"):
                continue
            key, eq, val = text.partition("=")
            key = key.lstrip(" \t\n\v\f\r")
            if any(c in key for c in " \t\n\v\f\r"):
                raise InvalidArgument("poorly formatted environment",
                                      f"variable '{key}' contains whitespaces")
            if not key:
                raise InvalidArgument("poorly formatted environment",
                                      f"no variable name on line '{text}'")
            out.append(f"{key}={val}" if eq else f"{text.strip()}=")
    return out
