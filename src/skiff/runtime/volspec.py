"""``-v`` specs read as docker 20.10 reads them, in its two steps.

1. docker/cli (its compose loader's ParseVolume, :func:`split`): a spec with a source
   goes to ``HostConfig.Binds``, one without to ``Config.Volumes`` (an anonymous volume
   at that path, kept as written: dockerd does not require it absolute). A one-letter
   first field followed by ``:`` is a Windows drive, part of the field: ``-v a:b`` is an
   anonymous volume at ``/a:b``, ``-v a:/b:ro`` a bind-or-volume spec with source
   ``a:/b`` (which dockerd then splits again).
2. dockerd's Linux parser (ParseMountRaw, :func:`parse_bind`) on each Binds entry: an
   absolute source is a bind, anything else a named volume; the destination must be
   absolute and not ``/``; the mode a valid combination.

No I/O here (create imports it only for ``-v``).
"""

from __future__ import annotations

import os

from skiff.errors import InvalidArgument

_RW = ("rw", "ro")
_LABEL = ("z", "Z")
_PROPAGATION = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
_COPY = ("nocopy",)
_CONSISTENCY = ("consistent", "cached", "delegated")


def split(specs) -> tuple[list[str], list[str]]:
    """``-v`` specs → (Binds, anonymous volume paths), as docker/cli's parse.

    Raises:
        InvalidArgument: ``invalid spec: S: empty section between colons`` or ``...: too
            many colons`` (docker/cli's, exit 125); ``invalid empty volume spec``.
    """
    binds: list[str] = []
    anon: list[str] = []
    for spec in specs:
        if _source(spec):
            binds.append(spec)
        elif spec not in anon:
            anon.append(spec)
    return binds, anon


def _source(spec: str) -> str:
    """ParseVolume's Source ("" for an anonymous volume)."""
    if not spec:
        raise InvalidArgument("invalid empty volume spec")
    if len(spec) <= 2:
        return ""
    fields: list[str] = []
    buf = ""
    for ch in spec + "\0":
        if ch == ":" and len(buf) == 1 and buf.isalpha():
            buf += ch  # a Windows drive letter
        elif ch in ":\0":
            if not buf:
                raise InvalidArgument(f"invalid spec: {spec}", "empty section between colons")
            if len(fields) == 2 and ch == ":":
                raise InvalidArgument(f"invalid spec: {spec}", "too many colons")
            fields.append(buf)
            buf = ""
        else:
            buf += ch
    return fields[0] if len(fields) > 1 else ""


def valid_mode(mode: str) -> bool:
    """dockerd's linuxValidMountMode: known words, at most one of each kind ("" is valid)."""
    if not mode:
        return True
    words = mode.split(",")
    kinds = (_RW, _LABEL, _PROPAGATION, _COPY, _CONSISTENCY)
    if any(not any(w in k for k in kinds) for w in words):
        return False
    return all(sum(w in k for w in words) <= 1 for k in kinds)


def parse_bind(raw: str) -> tuple[str, str, str, str]:
    """One ``HostConfig.Binds`` entry → (type "bind"|"volume", source, destination, mode),
    source and destination cleaned as dockerd does.

    Raises:
        InvalidArgument: dockerd's texts: ``invalid volume specification: 'RAW'`` (alone,
            or with ``: invalid mount config for type "T": invalid mount path: 'D' mount
            path must be absolute`` / ``invalid specification: destination can't be
            '/'``), ``invalid mode: M``.
    """
    bad = f"invalid volume specification: '{raw}'"
    arr = raw.split(":")
    if not arr[0] or len(arr) > 3:
        raise InvalidArgument(bad)
    mode = ""
    if len(arr) == 1:
        src, dst = "", arr[0]
    elif len(arr) == 2:
        if valid_mode(arr[1]):  # a destination and a mode is not a volume (/foo:rw)
            raise InvalidArgument(bad)
        src, dst = arr
    else:
        src, dst, mode = arr
    if not valid_mode(mode):
        raise InvalidArgument(f"invalid mode: {mode}")
    typ = "bind" if src.startswith("/") else "volume"
    why = target_error(typ, dst)
    if why:
        raise InvalidArgument(bad, why)
    if typ == "bind":
        src = clean(src)
    return typ, src, clean(dst), mode


def target_error(typ: str, dst: str) -> str:
    """dockerd's check of a mount's destination (validateMountConfig): "" when fine, else
    ``invalid mount config for type "T": ...`` (``field Target must not be empty``,
    ``invalid specification: destination can't be '/'``, ``invalid mount path: 'D' mount
    path must be absolute``)."""
    config = f'invalid mount config for type "{typ}"'
    if not dst:
        return f"{config}: field Target must not be empty"
    if dst == "/":
        return f"{config}: invalid specification: destination can't be '/'"
    if not dst.startswith("/"):
        return f"{config}: invalid mount path: '{dst}' mount path must be absolute"
    return ""


def clean(path: str) -> str:
    """Go's filepath.Clean (os.path.normpath keeps a leading ``//``; "" stays "")."""
    if not path:
        return path
    p = os.path.normpath(path)
    return "/" + p.lstrip("/") if p.startswith("//") else p


def container_path(dest: str) -> str:
    """An anonymous volume's destination as mounted: relative ones are under ``/``."""
    return dest if dest.startswith("/") else "/" + dest
