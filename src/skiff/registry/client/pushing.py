"""Pushing one image (manifest or index and everything it references) from a blob source.

Order follows distribution-spec "Push": every blob first (HEAD skips those the registry
has; a cross-repository mount is tried from the repositories given; the rest are
uploaded, layers in parallel), then the manifest with ``PUT /v2/<repo>/manifests/<ref>``
and its own media type as Content-Type. An index pushes its child manifests by digest
before itself. The registry's ``Docker-Content-Digest`` must equal the digest of the
bytes we sent (the manifest is pushed byte for byte as stored, never re-serialized).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from skiff import digest as dg
from skiff.errors import InvalidArgument, Unavailable
from skiff.registry.client.auth import push_scope
from skiff.registry.client.manifests import INDEXES, MANIFESTS, media_type_of
from skiff.registry.client.progress import NullProgress, short_id
from skiff.registry.client.sinks import BlobSource
from skiff.registry.client.transfer import CHUNK_UPLOAD, Blob, for_each_blob, upload_blob
from skiff.registry.client.transport import Registry, raise_for

MAX_CONCURRENT_UPLOADS = 5  # Docker's max-concurrent-uploads default


@dataclass(frozen=True, slots=True)
class PushResult:
    """``digest`` and ``size`` (bytes) of the pushed manifest; what happened to each blob
    (``{digest: "exists" | "mounted" | "pushed"}``)."""

    digest: str
    size: int
    media_type: str
    blobs: dict[str, str]


def put_manifest(reg: Registry, repo: str, reference: str, data: bytes, media_type: str
                 ) -> str:
    """``PUT /v2/<repo>/manifests/<reference>``; returns the digest (checked against the
    registry's ``Docker-Content-Digest``). Raises the registry's error."""
    digest = dg.of_bytes(data)
    r = reg.request("PUT", f"/v2/{repo}/manifests/{reference}", scopes=(push_scope(repo),),
                    headers={"Content-Type": media_type}, content=data,
                    what=f"manifest {repo}:{reference}", retry=True)
    r.read()
    if r.status_code not in (200, 201):
        raise_for(r, f"pushing manifest {repo}:{reference}")
    got = r.headers.get("Docker-Content-Digest")
    if got and got != digest:
        raise Unavailable(f"pushing manifest {repo}:{reference}",
                          f"registry stored it as {got}, expected {digest}", exit_code=1)
    return digest


def push_image(reg: Registry, repo: str, reference: str, manifest_digest: str,
               source: BlobSource, *, progress: NullProgress | None = None,
               mount_from: tuple[str, ...] | Callable[[str], tuple[str, ...]] = (),
               chunk_size: int = CHUNK_UPLOAD,
               max_concurrent: int = MAX_CONCURRENT_UPLOADS) -> PushResult:
    """Push the manifest or index ``manifest_digest`` (read from ``source``) with all its
    blobs to ``repo`` under ``reference`` (a tag, or the digest itself). ``mount_from``
    names repositories of the same registry to mount blobs from: a tuple for every blob,
    or a function of the blob digest.

    Raises RegistryError/Unauthorized (the registry's own code and message), Unavailable,
    NotFound (a blob missing locally), InvalidArgument (not a manifest).
    """
    progress = progress or NullProgress()
    data = source.read_blob(manifest_digest)
    mt = media_type_of(data, None)
    outcome: dict[str, str] = {}
    if mt in INDEXES:
        for child in json.loads(data).get("manifests") or []:
            if child.get("mediaType") in MANIFESTS and _have(source, child["digest"]):
                r = push_image(reg, repo, child["digest"], child["digest"], source,
                               progress=progress, mount_from=mount_from,
                               chunk_size=chunk_size, max_concurrent=max_concurrent)
                outcome.update(r.blobs)
    elif mt in MANIFESTS:
        doc = json.loads(data)
        try:
            cfg = Blob(doc["config"]["digest"], int(doc["config"]["size"]))
            layers = [Blob(ld["digest"], int(ld["size"]), ld.get("mediaType", ""))
                      for ld in doc["layers"]]
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidArgument(f"manifest {manifest_digest}", "malformed") from e
        for b in layers:
            progress.status(short_id(b.digest), "Preparing")
        seen: set[str] = set()
        todo = [b for b in layers if not (b.digest in seen or seen.add(b.digest))]
        sent = for_each_blob(todo, lambda b: upload_blob(
            reg, repo, b, source, progress, mount_from=_mounts(mount_from, b.digest),
            chunk_size=chunk_size), max_concurrent)
        outcome.update((b.digest, r) for b, r in zip(todo, sent, strict=True))
        outcome[cfg.digest] = upload_blob(reg, repo, cfg, source, NullProgress(),
                                          mount_from=_mounts(mount_from, cfg.digest),
                                          chunk_size=chunk_size)
    else:
        raise InvalidArgument(f"manifest {manifest_digest}", f"cannot push media type {mt}")
    digest = put_manifest(reg, repo, reference, data, mt)
    return PushResult(digest, len(data), mt, outcome)


def _mounts(mount_from, digest: str) -> tuple[str, ...]:
    return tuple(mount_from(digest)) if callable(mount_from) else tuple(mount_from)


def _have(source: BlobSource, digest: str) -> bool:
    try:
        source.size(digest)
        return True
    except Exception:
        return False
