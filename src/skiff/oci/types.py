"""OCI image-spec documents as frozen values: Descriptor, Platform, Manifest, Index, ImageConfig.

Each type has ``from_dict``/``to_dict`` with the spec's JSON field names, and the documents
have ``to_json()`` giving canonical bytes (:func:`canonical_json`), so the digest of what
skiff writes is the digest it records. Docker schema2 manifests and manifest lists parse
into the same types (their media type is kept).

Specs: image-spec descriptor.md, manifest.md, image-index.md, config.md.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from skiff import digest as _digest
from skiff.errors import InvalidArgument
from skiff.oci import mediatypes as mt


def canonical_json(obj: Any) -> bytes:
    """JSON bytes with sorted keys and no insignificant whitespace (UTF-8, not ASCII-escaped).

    The same object always gives the same bytes, so ``digest.of_bytes(canonical_json(x))``
    is stable. Used for every manifest, index and config skiff writes.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _load(data: bytes | str | dict, what: str) -> dict:
    if isinstance(data, dict):
        return data
    try:
        d = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidArgument(what, f"invalid JSON: {e}") from None
    if not isinstance(d, dict):
        raise InvalidArgument(what, "expected a JSON object")
    return d


def _req(d: dict, key: str, typ: type | tuple[type, ...], what: str) -> Any:
    if key not in d:
        raise InvalidArgument(what, f"missing field {key!r}")
    v = d[key]
    if not isinstance(v, typ) or (typ is int and isinstance(v, bool)):
        raise InvalidArgument(what, f"field {key!r} has the wrong type")
    return v


def _opt_str_map(d: dict, key: str, what: str) -> dict[str, str] | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
        raise InvalidArgument(what, f"field {key!r} must map strings to strings")
    return dict(v)


@dataclass(frozen=True, slots=True)
class Platform:
    """image-spec image-index.md "platform": os, architecture and the optional refinements."""

    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()
    features: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            d["variant"] = self.variant
        if self.os_version:
            d["os.version"] = self.os_version
        if self.os_features:
            d["os.features"] = list(self.os_features)
        if self.features:
            d["features"] = list(self.features)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Platform:
        """Raises InvalidArgument when os or architecture is missing or not a string."""
        what = "platform"
        return cls(os=_req(d, "os", str, what), architecture=_req(d, "architecture", str, what),
                   variant=d.get("variant") or None, os_version=d.get("os.version") or None,
                   os_features=tuple(d.get("os.features") or ()),
                   features=tuple(d.get("features") or ()))

    @classmethod
    def parse(cls, s: str) -> Platform:
        """``os/arch[/variant]`` (``linux/arm64/v8``) → Platform; InvalidArgument otherwise."""
        parts = s.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise InvalidArgument(f"invalid platform {s!r}", "expected os/arch[/variant]")
        return cls(os=parts[0], architecture=parts[1], variant=parts[2] if len(parts) == 3 else None)

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


_GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
            "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def host_platform() -> Platform:
    """The platform this machine runs, in Go's GOOS/GOARCH names (linux/amd64 here)."""
    m = os.uname().machine  # platform.machine(), without importing platform (~10 ms)
    arch = _GO_ARCH.get(m, m)
    return Platform(os="linux", architecture=arch, variant="v7" if m == "armv7l" else None)


@dataclass(frozen=True, slots=True)
class Descriptor:
    """image-spec descriptor.md: what a blob is (media type), its digest and size in bytes."""

    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] | None = None
    platform: Platform | None = None
    urls: tuple[str, ...] | None = None
    artifact_type: str | None = None

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.urls:
            d["urls"] = list(self.urls)
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        if self.platform is not None:
            d["platform"] = self.platform.to_dict()
        if self.artifact_type:
            d["artifactType"] = self.artifact_type
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Descriptor:
        """Raises InvalidArgument for a missing/mistyped field or a malformed sha256 digest."""
        what = "descriptor"
        if not isinstance(d, dict):
            raise InvalidArgument(what, "expected a JSON object")
        dg = _req(d, "digest", str, what)
        if dg.startswith("sha256:"):
            _digest.validate(dg)
        size = _req(d, "size", int, what)
        if size < 0:
            raise InvalidArgument(what, "negative size")
        urls = d.get("urls")
        plat = d.get("platform")
        return cls(media_type=_req(d, "mediaType", str, what), digest=dg, size=size,
                   annotations=_opt_str_map(d, "annotations", what),
                   platform=Platform.from_dict(plat) if isinstance(plat, dict) else None,
                   urls=tuple(urls) if urls else None, artifact_type=d.get("artifactType"))


@dataclass(frozen=True, slots=True)
class Manifest:
    """image-spec manifest.md (or Docker schema2): a config descriptor and layer descriptors."""

    config: Descriptor
    layers: tuple[Descriptor, ...]
    media_type: str = mt.OCI_MANIFEST
    annotations: dict[str, str] | None = None
    subject: Descriptor | None = None
    artifact_type: str | None = None
    schema_version: int = 2

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"schemaVersion": self.schema_version, "mediaType": self.media_type,
                             "config": self.config.to_dict(),
                             "layers": [x.to_dict() for x in self.layers]}
        if self.artifact_type:
            d["artifactType"] = self.artifact_type
        if self.subject is not None:
            d["subject"] = self.subject.to_dict()
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        return d

    def to_json(self) -> bytes:
        """Canonical bytes of this manifest."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict, media_type: str | None = None) -> Manifest:
        """Parse an OCI manifest or Docker schema2 manifest.

        ``media_type`` (from the descriptor that pointed here) is used when the document
        has no ``mediaType`` field. Raises InvalidArgument on bad shape or media type.
        """
        what = "manifest"
        if d.get("schemaVersion") != 2:
            raise InvalidArgument(what, f"unsupported schemaVersion {d.get('schemaVersion')!r}")
        mtype = d.get("mediaType") or media_type or mt.OCI_MANIFEST
        if not mt.is_manifest(mtype):
            raise InvalidArgument(what, f"unsupported media type {mtype!r}")
        layers = _req(d, "layers", list, what) if "layers" in d else []
        subj = d.get("subject")
        return cls(config=Descriptor.from_dict(_req(d, "config", dict, what)),
                   layers=tuple(Descriptor.from_dict(x) for x in layers), media_type=mtype,
                   annotations=_opt_str_map(d, "annotations", what),
                   subject=Descriptor.from_dict(subj) if subj else None,
                   artifact_type=d.get("artifactType"))

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str | None = None) -> Manifest:
        return cls.from_dict(_load(data, "manifest"), media_type)


@dataclass(frozen=True, slots=True)
class Index:
    """image-spec image-index.md (or a Docker manifest list): descriptors of manifests."""

    manifests: tuple[Descriptor, ...]
    media_type: str = mt.OCI_INDEX
    annotations: dict[str, str] | None = None
    subject: Descriptor | None = None
    artifact_type: str | None = None
    schema_version: int = 2

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"schemaVersion": self.schema_version}
        if self.media_type:
            d["mediaType"] = self.media_type
        if self.artifact_type:
            d["artifactType"] = self.artifact_type
        d["manifests"] = [x.to_dict() for x in self.manifests]
        if self.subject is not None:
            d["subject"] = self.subject.to_dict()
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        return d

    def to_json(self) -> bytes:
        """Canonical bytes of this index."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict, media_type: str | None = None) -> Index:
        """Parse an OCI index or Docker manifest list (an OCI layout's index.json has no
        mediaType: that is allowed). Raises InvalidArgument on bad shape or media type."""
        what = "index"
        if d.get("schemaVersion") != 2:
            raise InvalidArgument(what, f"unsupported schemaVersion {d.get('schemaVersion')!r}")
        mtype = d.get("mediaType") or media_type or mt.OCI_INDEX
        if not mt.is_index(mtype):
            raise InvalidArgument(what, f"unsupported media type {mtype!r}")
        subj = d.get("subject")
        return cls(manifests=tuple(Descriptor.from_dict(x)
                                   for x in _req(d, "manifests", list, what)),
                   media_type=mtype, annotations=_opt_str_map(d, "annotations", what),
                   subject=Descriptor.from_dict(subj) if subj else None,
                   artifact_type=d.get("artifactType"))

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str | None = None) -> Index:
        return cls.from_dict(_load(data, "index"), media_type)


def parse_document(data: bytes, media_type: str | None = None) -> Manifest | Index:
    """A manifest or index from its bytes, chosen by ``mediaType`` (or the hint, or shape).

    Raises InvalidArgument for bad JSON or an unknown media type.
    """
    d = _load(data, "manifest")
    mtype = d.get("mediaType") or media_type
    if mtype is None:
        mtype = mt.OCI_INDEX if "manifests" in d else mt.OCI_MANIFEST
    if mt.is_index(mtype):
        return Index.from_dict(d, mtype)
    if mt.is_manifest(mtype):
        return Manifest.from_dict(d, mtype)
    raise InvalidArgument("manifest", f"unsupported media type {mtype!r}")


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """image-spec config.md (same shape as Docker's container.image.v1): kept as its raw dict.

    ``raw`` is the whole document; helpers read the parts others use. Build a new config as a
    dict and wrap it; never mutate ``raw`` in place (the digest is of its bytes).
    """

    raw: dict = field(hash=False)

    @classmethod
    def from_bytes(cls, data: bytes) -> ImageConfig:
        """Raises InvalidArgument for bad JSON or a missing/mistyped rootfs."""
        d = _load(data, "image config")
        rootfs = d.get("rootfs")
        if rootfs is not None:
            if not isinstance(rootfs, dict) or not isinstance(rootfs.get("diff_ids", []), list):
                raise InvalidArgument("image config", "rootfs.diff_ids must be a list")
        return cls(d)

    def to_json(self) -> bytes:
        """Canonical bytes of this config."""
        return canonical_json(self.raw)

    @property
    def config(self) -> dict:
        """The "config" section (Cmd, Env, Entrypoint, ...), {} when absent."""
        return self.raw.get("config") or {}

    @property
    def diff_ids(self) -> list[str]:
        return list((self.raw.get("rootfs") or {}).get("diff_ids") or [])

    @property
    def history(self) -> list[dict]:
        return list(self.raw.get("history") or [])

    @property
    def created(self) -> str | None:
        return self.raw.get("created")

    @property
    def os(self) -> str:
        return self.raw.get("os", "")

    @property
    def architecture(self) -> str:
        return self.raw.get("architecture", "")

    @property
    def platform(self) -> Platform:
        return Platform(os=self.os, architecture=self.architecture,
                        variant=self.raw.get("variant") or None)
