"""Manifest, tag, referrers and catalog endpoints (distribution-spec end-3, end-7a/7b,
end-8a/8b, end-9, end-12a/12b, and Docker's ``/v2/_catalog``).

Stored bytes are returned unchanged with the media type they were pushed with and their
``Docker-Content-Digest``. A pushed manifest is checked before anything is stored: JSON
object, schemaVersion 2, a known media type agreeing with the body's ``mediaType``, the
digest in the URL, well-formed descriptors, and every referenced blob (config, layers) or
child manifest present in the repository (MANIFEST_BLOB_UNKNOWN otherwise; layers with
``urls`` or a non-distributable media type may be absent, as distribution allows).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from skiff.oci.mediatypes import (
    INDEXES,
    MANIFESTS,
    OCI_INDEX,
    OCI_MANIFEST,
)
from skiff.registry.server.blobs import check_digest
from skiff.registry.server.errors import RegistryError
from skiff.registry.storage import ALGORITHMS, Storage, digest_of, valid_digest, valid_tag

DEFAULT_MAX_MANIFEST = 4 << 20  # bytes; distribution's default limit


def _is_foreign(desc: dict) -> bool:
    mt = desc.get("mediaType", "")
    return bool(desc.get("urls")) or "nondistributable" in mt or "foreign" in mt


def _descriptor(d: object, where: str) -> dict:
    """Check one descriptor's shape; MANIFEST_INVALID naming ``where`` otherwise."""
    if not isinstance(d, dict):
        raise RegistryError("MANIFEST_INVALID", {"field": where, "reason": "not an object"})
    if not isinstance(d.get("mediaType"), str):
        raise RegistryError("MANIFEST_INVALID", {"field": where, "reason": "mediaType missing"})
    if not isinstance(d.get("digest"), str) or not valid_digest(d["digest"]):
        raise RegistryError("MANIFEST_INVALID", {"field": where, "reason": "invalid digest"})
    size = d.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RegistryError("MANIFEST_INVALID", {"field": where, "reason": "invalid size"})
    return d


def _media_type(request: Request, doc: dict) -> str:
    header = request.headers.get("content-type", "").split(";", 1)[0].strip()
    body = doc.get("mediaType")
    if body is not None and not isinstance(body, str):
        raise RegistryError("MANIFEST_INVALID", {"field": "mediaType"})
    if header in MANIFESTS | INDEXES:
        if body is not None and body != header:
            raise RegistryError("MANIFEST_INVALID", {
                "reason": "mediaType does not match Content-Type",
                "mediaType": body, "Content-Type": header})
        return header
    if body in MANIFESTS | INDEXES:
        return body
    if not header or header in ("application/json", "application/octet-stream"):
        if "manifests" in doc:
            return OCI_INDEX
        if "config" in doc:
            return OCI_MANIFEST
    raise RegistryError("MANIFEST_INVALID", {"reason": "unsupported manifest media type",
                                             "mediaType": body or header})


def _validate(store: Storage, name: str, doc: dict, media_type: str) -> None:
    if doc.get("schemaVersion") != 2:
        raise RegistryError("MANIFEST_INVALID", {"field": "schemaVersion", "reason": "must be 2"})
    missing = []
    if media_type in MANIFESTS:
        config = _descriptor(doc.get("config"), "config")
        layers = doc.get("layers", [])
        if not isinstance(layers, list):
            raise RegistryError("MANIFEST_INVALID", {"field": "layers"})
        layers = [_descriptor(x, f"layers[{i}]") for i, x in enumerate(layers)]
        for d in [config, *layers]:
            if not _is_foreign(d) and not store.blob_linked(name, d["digest"]):
                missing.append(d["digest"])
    else:
        children = doc.get("manifests")
        if not isinstance(children, list):
            raise RegistryError("MANIFEST_INVALID", {"field": "manifests"})
        for i, x in enumerate(children):
            d = _descriptor(x, f"manifests[{i}]")
            if store.get_manifest(name, d["digest"]) is None and \
                    not store.blob_linked(name, d["digest"]):
                missing.append(d["digest"])
    if "subject" in doc:
        _descriptor(doc["subject"], "subject")
    if missing:
        raise RegistryError("MANIFEST_BLOB_UNKNOWN", {"digests": missing})


def _referrer_descriptor(doc: dict, media_type: str, digest: str, size: int) -> dict:
    """The descriptor listed by the referrers API (artifactType falls back to config's)."""
    desc: dict = {"mediaType": media_type, "digest": digest, "size": size}
    artifact_type = doc.get("artifactType")
    if artifact_type is None and media_type in MANIFESTS:
        artifact_type = (doc.get("config") or {}).get("mediaType")
    if artifact_type:
        desc["artifactType"] = artifact_type
    if isinstance(doc.get("annotations"), dict) and doc["annotations"]:
        desc["annotations"] = doc["annotations"]
    return desc


async def _read_limited(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise RegistryError("MANIFEST_INVALID", {"limit": limit, "size": int(length)},
                            status=413, message="manifest too big")
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:
            raise RegistryError("MANIFEST_INVALID", {"limit": limit}, status=413,
                                message="manifest too big")
    return bytes(buf)


async def put_manifest(store: Storage, request: Request, name: str, ref: str,
                       max_size: int = DEFAULT_MAX_MANIFEST) -> Response:
    """PUT /v2/<name>/manifests/<tag-or-digest>[?tag=..] (end-7a, end-7b)."""
    by_digest = ":" in ref
    if by_digest:
        check_digest(ref)
    elif not valid_tag(ref):
        raise RegistryError("MANIFEST_INVALID", {"tag": ref}, message="invalid tag")
    tags = [ref] if not by_digest else request.query_params.getlist("tag")
    for t in tags:
        if not valid_tag(t):
            raise RegistryError("MANIFEST_INVALID", {"tag": t}, message="invalid tag")
    data = await _read_limited(request, max_size)
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise RegistryError("MANIFEST_INVALID", {"reason": f"invalid JSON: {e}"}) from e
    if not isinstance(doc, dict):
        raise RegistryError("MANIFEST_INVALID", {"reason": "not a JSON object"})
    media_type = _media_type(request, doc)
    algorithm = ref.split(":", 1)[0] if by_digest else "sha256"
    digest = digest_of(data, algorithm)
    if by_digest and digest != ref:
        raise RegistryError("DIGEST_INVALID", {"expected": ref, "actual": digest})
    _validate(store, name, doc, media_type)
    subject = doc["subject"]["digest"] if "subject" in doc else None
    desc = _referrer_descriptor(doc, media_type, digest, len(data)) if subject else None
    await to_thread.run_sync(lambda: store.put_manifest(
        name, digest, media_type, data, tags=tuple(tags), subject=subject, descriptor=desc))
    headers = {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest,
               "Content-Length": "0"}
    if subject:
        headers["OCI-Subject"] = subject
    if by_digest and tags:
        headers["OCI-Tag"] = ", ".join(tags)
    return Response(b"", status_code=201, headers=headers)


def _resolve(store: Storage, name: str, ref: str) -> str:
    if ":" in ref:
        if not valid_digest(ref):
            raise RegistryError("DIGEST_INVALID", {"digest": ref},
                                message="invalid or unsupported digest")
        return ref
    digest = store.resolve_tag(name, ref) if valid_tag(ref) else None
    if digest is None:
        raise RegistryError("MANIFEST_UNKNOWN", {"tag": ref})
    return digest


def get_manifest(store: Storage, request: Request, name: str, ref: str) -> Response:
    """GET/HEAD /v2/<name>/manifests/<tag-or-digest> (end-3): the stored bytes as pushed."""
    digest = _resolve(store, name, ref)
    m = store.get_manifest(name, digest)
    if m is None:
        raise RegistryError("MANIFEST_UNKNOWN", {"reference": ref})
    headers = {"Docker-Content-Digest": digest, "Content-Type": m.media_type,
               "ETag": f'"{digest}"', "Content-Length": str(len(m.data))}
    if request.method == "HEAD":
        return Response(b"", headers=headers)
    return Response(m.data, headers=headers)


def delete_manifest(store: Storage, name: str, ref: str) -> Response:
    """DELETE /v2/<name>/manifests/<tag-or-digest> (end-9): a tag, or the manifest itself."""
    if ":" in ref:
        check_digest(ref)
        if not store.delete_manifest(name, ref):
            raise RegistryError("MANIFEST_UNKNOWN", {"digest": ref})
    elif not valid_tag(ref) or not store.delete_tag(name, ref):
        raise RegistryError("MANIFEST_UNKNOWN", {"tag": ref})
    return Response(b"", status_code=202, headers={"Content-Length": "0"})


def _page(items: list[str], request: Request, base: str) -> tuple[list[str], dict[str, str]]:
    """Apply ``last``/``n`` (sorted, lexical) and build the ``Link: rel="next"`` header."""
    q = request.query_params
    last = q.get("last")
    if last:
        items = [x for x in items if x > last]
    headers: dict[str, str] = {}
    n = q.get("n")
    if n is not None:
        if not n.isdigit():
            raise RegistryError("UNSUPPORTED", {"n": n}, status=400,
                                message="n must be a non-negative integer")
        limit = int(n)
        if len(items) > limit:
            items = items[:limit]
            if items:
                headers["Link"] = f'<{base}?last={quote(items[-1])}&n={limit}>; rel="next"'
    return items, headers


def tags_list(store: Storage, request: Request, name: str) -> Response:
    """GET /v2/<name>/tags/list[?n=&last=] (end-8a, end-8b)."""
    tags = store.tags(name)
    if tags is None:
        raise RegistryError("NAME_UNKNOWN", {"name": name})
    items, headers = _page(sorted(tags), request, f"/v2/{name}/tags/list")
    return JSONResponse({"name": name, "tags": items}, headers=headers)


def catalog(store: Storage, request: Request) -> Response:
    """GET /v2/_catalog[?n=&last=]: every repository name (Docker's extension)."""
    items, headers = _page(store.repositories(), request, "/v2/_catalog")
    return JSONResponse({"repositories": items}, headers=headers)


def referrers(store: Storage, request: Request, name: str, digest: str) -> Response:
    """GET /v2/<name>/referrers/<digest>[?artifactType=] (end-12a, end-12b): an OCI index."""
    if not valid_digest(digest) or digest.split(":", 1)[0] not in ALGORITHMS:
        raise RegistryError("DIGEST_INVALID", {"digest": digest},
                            message="invalid or unsupported digest")
    found = store.referrers(name, digest) if store.repository_exists(name) else []
    headers = {}
    artifact_type = request.query_params.get("artifactType")
    if artifact_type is not None:
        found = [d for d in found if d.get("artifactType") == artifact_type]
        headers["OCI-Filters-Applied"] = "artifactType"
    body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": found}
    return Response(json.dumps(body).encode(), headers={**headers, "Content-Type": OCI_INDEX})
