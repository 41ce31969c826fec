"""Manifest negotiation and platform selection (distribution-spec "Pulling manifests",
image-spec manifest.md / image-index.md, Docker's manifest list and schema2).

The client offers OCI index and manifest and Docker manifest list and schema2 in
``Accept``; a registry that still answers Docker schema 1 gets a clear refusal (Docker
removed schema 1 pulls in 28.x). An index is resolved to one manifest by platform:
``os``/``architecture`` must match and ``variant`` when given (``arm64`` defaults to
``v8``, ``arm`` to ``v7``, as containerd's platforms.Normalize), preferring an exact
variant match and skipping attestation manifests (``unknown/unknown``).
"""

from __future__ import annotations

import json
import platform as _platform
from dataclasses import dataclass

from skiff import digest as dg
from skiff.errors import DigestMismatch, InvalidArgument, NotFound, SkiffError
from skiff.oci.mediatypes import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST
from skiff.registry.client.auth import pull_scope
from skiff.registry.client.transport import Registry, raise_for

DOCKER_LIST = DOCKER_MANIFEST_LIST
SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
           "application/vnd.docker.distribution.manifest.v1+prettyjws")
MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEXES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
MAX_MANIFEST = 4 << 20  # bytes; the distribution registry's limit


@dataclass(frozen=True, slots=True)
class Platform:
    """``os/architecture[/variant]`` as in an index's platform field."""

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    @classmethod
    def parse(cls, s: str) -> Platform:
        """``linux/arm64/v8`` → Platform; InvalidArgument for anything else."""
        parts = s.strip().lower().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise InvalidArgument(f"invalid platform {s!r}", "expected os/arch[/variant]")
        return cls(*parts).normalized()

    def normalized(self) -> Platform:
        arch = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64",
                "armhf": "arm", "armel": "arm"}.get(self.architecture, self.architecture)
        variant = self.variant
        if arch == "arm64" and variant in (None, "8", "v8"):
            variant = None
        elif arch == "arm" and variant in (None, "7"):
            variant = "v7"
        return Platform(self.os, arch, variant)


def host_platform() -> Platform:
    """The platform of this machine (``linux/amd64`` here)."""
    return Platform("linux", _platform.machine()).normalized()


@dataclass(frozen=True, slots=True)
class Fetched:
    """A manifest or index as the registry sent it: exact bytes, media type, digest."""

    data: bytes
    media_type: str
    digest: str

    def json(self) -> dict:
        return json.loads(self.data)


def media_type_of(data: bytes, header: str | None) -> str:
    """The manifest's media type: its ``mediaType`` field, else the Content-Type header,
    else guessed from the shape (``manifests`` → OCI index, ``config`` → OCI manifest)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidArgument("manifest", f"not JSON: {e}") from e
    if not isinstance(doc, dict):
        raise InvalidArgument("manifest", "not a JSON object")
    mt = doc.get("mediaType") or (header or "").split(";")[0].strip()
    if doc.get("schemaVersion") == 1 or mt in SCHEMA1:
        return SCHEMA1[0]
    if mt in MANIFESTS or mt in INDEXES:
        return mt
    if "manifests" in doc:
        return OCI_INDEX
    if "config" in doc and "layers" in doc:
        return OCI_MANIFEST
    raise InvalidArgument("manifest", f"unsupported media type {mt!r}")


def fetch_manifest(reg: Registry, repo: str, reference: str, *, what: str) -> Fetched:
    """``GET /v2/<repo>/manifests/<tag|digest>`` with the Accept list above.

    A digest reference is verified against the bytes; a tag's digest is computed (and the
    ``Docker-Content-Digest`` header checked when sent). Raises NotFound (``manifest for
    <what> not found: manifest unknown: …``), SkiffError for schema 1, DigestMismatch.
    """
    r = reg.request("GET", f"/v2/{repo}/manifests/{reference}", scopes=(pull_scope(repo),),
                    headers={"Accept": ACCEPT + ", " + ", ".join(SCHEMA1)},
                    what=f"manifest {what}")
    if r.status_code != 200:
        if r.status_code == 404:
            from skiff.registry.client.transport import decode_error

            why, _ = decode_error(r)
            raise NotFound(f"manifest for {what} not found", why, exit_code=1)
        raise_for(r, f"fetching manifest for {what}")
    data = r.content
    if len(data) > MAX_MANIFEST:
        raise InvalidArgument(f"manifest for {what}", f"larger than {MAX_MANIFEST} bytes")
    actual = dg.of_bytes(data)
    want = reference if dg.is_digest(reference) else r.headers.get("Docker-Content-Digest")
    if want and dg.is_digest(want) and want != actual:
        raise DigestMismatch(f"manifest for {what}", want, actual)
    mt = media_type_of(data, r.headers.get("Content-Type"))
    if mt == SCHEMA1[0]:
        raise SkiffError(
            f"pulling {what}",
            "the registry serves Docker Image manifest version 2, schema 1, which skiff does "
            "not support; push the image again in OCI or Docker schema 2 format",
            exit_code=1)
    return Fetched(data, mt, actual)


def select_platform(index: dict, want: Platform, what: str) -> dict:
    """The descriptor in ``index`` for platform ``want``; NotFound when none matches
    (Docker: ``no matching manifest for linux/amd64 in the manifest list entries``)."""
    want = want.normalized()
    best = None
    for m in index.get("manifests") or []:
        p = m.get("platform") or {}
        if m.get("mediaType") not in (*MANIFESTS, None):
            continue
        got = Platform(p.get("os", ""), p.get("architecture", ""), p.get("variant")).normalized()
        if got.os != want.os or got.architecture != want.architecture:
            continue
        if want.variant is not None and got.variant != want.variant:
            continue
        if got == want:
            return m
        best = best or m
    if best is None:
        raise NotFound(f"pulling {what}",
                       f"no matching manifest for {want} in the manifest list entries",
                       exit_code=1)
    return best
