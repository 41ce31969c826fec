"""Docker's JSON shapes for images: ``docker image inspect`` and ``docker history``.

Field names and defaults are those of the Engine API (ImageInspect, HistoryResponseItem):
Config carries the container-config fields with Docker's zero values so templates such as
``{{.Config.Entrypoint}}`` and ``{{json .Config}}`` print what Docker prints.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from skiff.images.model import Image

# Engine API ContainerConfig fields an image inspect shows, with Docker's zero values.
_CONFIG_DEFAULTS: list[tuple[str, Any]] = [
    ("Hostname", ""), ("Domainname", ""), ("User", ""), ("AttachStdin", False),
    ("AttachStdout", False), ("AttachStderr", False), ("ExposedPorts", None), ("Tty", False),
    ("OpenStdin", False), ("StdinOnce", False), ("Env", None), ("Cmd", None),
    ("Healthcheck", None), ("ArgsEscaped", None), ("Image", ""), ("Volumes", None),
    ("WorkingDir", ""), ("Entrypoint", None), ("OnBuild", None), ("Labels", None),
    ("StopSignal", None), ("StopTimeout", None), ("Shell", None),
]
_GO_MAPS = ("ExposedPorts", "Volumes", "Labels")  # (map[string]...: printed sorted)
_OMIT_WHEN_EMPTY = {"ExposedPorts", "Healthcheck", "ArgsEscaped", "StopSignal", "StopTimeout",
                    "Shell"}


def docker_config(section: dict) -> dict:
    """The image config's "config" section in the Engine API's ContainerConfig shape."""
    out: dict[str, Any] = {}
    for k, default in _CONFIG_DEFAULTS:
        v = section.get(k, default)
        if k in _OMIT_WHEN_EMPTY and v in (None, "", {}, []):
            continue
        out[k] = v
    for k, v in section.items():
        if k not in out and k not in _OMIT_WHEN_EMPTY:
            out[k] = v
    for k in _GO_MAPS:  # (encoding/json writes a Go map's keys sorted)
        v = out.get(k)
        if isinstance(v, dict) and len(v) > 1:
            out[k] = dict(sorted(v.items()))
    hc = out.get("Healthcheck")
    if isinstance(hc, dict):  # a struct: its field order (the stored config's is sorted)
        order = ("Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries")
        out["Healthcheck"] = {**{k: hc[k] for k in order if k in hc},
                              **{k: v for k, v in hc.items() if k not in order}}
    return out


def parse_time(s: str | None) -> float:
    """RFC 3339 (nanoseconds allowed) → unix seconds; 0.0 when absent or unparsable."""
    if not s:
        return 0.0
    t = s.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    if "." in t:
        head, rest = t.split(".", 1)
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        t = head + "." + rest[:i][:6].ljust(6, "0") + rest[i:]
    try:
        return _dt.datetime.fromisoformat(t).timestamp()
    except ValueError:
        return 0.0


def _rfc3339(ts: float) -> str:
    t = _dt.datetime.fromtimestamp(ts, _dt.UTC)
    frac = f"{t.microsecond:06d}".rstrip("0")
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def inspect_image(img: Image) -> dict:
    """``docker image inspect`` for one image (Engine API ImageInspect)."""
    raw = img.config.raw
    d: dict[str, Any] = {
        "Id": img.id,
        "RepoTags": list(img.repo_tags),
        "RepoDigests": list(img.repo_digests),
        "Parent": img.parent or "",
        "Comment": raw.get("comment", ""),
        "Created": img.created or "0001-01-01T00:00:00Z",
        "DockerVersion": raw.get("docker_version", ""),
        "Author": raw.get("author", ""),
        "Config": docker_config(img.config.config),
        "Architecture": img.config.architecture,
    }
    if raw.get("variant"):
        d["Variant"] = raw["variant"]
    d["Os"] = img.config.os
    if raw.get("os.version"):
        d["OsVersion"] = raw["os.version"]
    d["Size"] = img.size
    d["GraphDriver"] = {"Data": None, "Name": "overlayfs"}
    d["RootFS"] = {"Type": "layers", "Layers": list(img.diff_ids)}
    d["Metadata"] = {"LastTagTime": _rfc3339(img.last_tag_time) if img.last_tag_time
                     else "0001-01-01T00:00:00Z"}
    d["Descriptor"] = {"mediaType": img.manifest.media_type, "digest": img.manifest_digest,
                       "size": img.manifest_size}
    return d


def history(img: Image) -> list[dict]:
    """``docker history`` rows (Engine API HistoryResponseItem), newest first.

    Each non-empty history entry takes the next layer's uncompressed size; only the top row
    carries the image ID and tags (lower rows are ``<missing>``, as for pulled images).
    """
    entries = img.config.history or [{} for _ in img.layers]
    rows = []
    li = 0
    for h in entries:
        size = 0
        if not h.get("empty_layer"):
            if li < len(img.layers):
                size = img.layers[li].docker_size
            li += 1
        rows.append({"Id": "<missing>", "Created": int(parse_time(h.get("created"))),
                     "CreatedBy": h.get("created_by", ""), "Tags": None, "Size": size,
                     "Comment": h.get("comment", "")})
    rows.reverse()
    if rows:
        rows[0]["Id"] = img.id
        rows[0]["Tags"] = list(img.repo_tags) or None
    return rows


# Engine API ImageInspect's fields (and those of the structs in it): a template naming
# anything else fails as ``docker image inspect -f`` does.
_IMAGE_FIELDS = ("Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "Container",
                 "ContainerConfig", "DockerVersion", "Author", "Config", "Architecture",
                 "Variant", "Os", "OsVersion", "Size", "VirtualSize", "GraphDriver", "RootFS",
                 "Metadata", "Descriptor", "Manifests")
_STRUCT_FIELDS = {
    "Config": tuple(k for k, _ in _CONFIG_DEFAULTS) + ("NetworkDisabled", "MacAddress"),
    "ContainerConfig": tuple(k for k, _ in _CONFIG_DEFAULTS) + ("NetworkDisabled", "MacAddress"),
    "GraphDriver": ("Data", "Name"),
    "RootFS": ("Type", "Layers", "BaseLayer"),
    "Metadata": ("LastTagTime",),
    "Descriptor": ("mediaType", "digest", "size", "urls", "annotations", "data", "platform",
                   "artifactType"),
}


_STRUCT_ZERO = {"RootFS": {"BaseLayer": ""}}


def template_view(obj: dict) -> dict:
    """``obj`` (an image inspect dict) for ``--format``: its structs as GoStruct so that a
    field Docker's ImageInspect does not have is an error, not ``<no value>``."""
    from skiff.format.gofmt import NilSlice
    from skiff.format.gotemplate import GoStruct
    from skiff.format.structs import typed_config

    def typed(k: str, v: object) -> object:
        if k in ("Config", "ContainerConfig"):  # container.Config, as container inspect's
            return typed_config(v)
        if k in _STRUCT_FIELDS and isinstance(v, dict):
            # (Go's order, as %v prints a struct: {layers [sha256:...] })
            return GoStruct(v, _STRUCT_FIELDS[k], defaults=_STRUCT_ZERO.get(k),
                            ordered=k in ("RootFS", "GraphDriver"))
        return NilSlice() if v is None and k in ("RepoTags", "RepoDigests") else v

    data = {k: typed(k, v) for k, v in obj.items()}
    # (Variant and OsVersion are omitempty strings: "" when the JSON leaves them out)
    return GoStruct(data, _IMAGE_FIELDS, defaults={"Variant": "", "OsVersion": ""})
