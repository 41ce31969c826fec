"""Where the registry server keeps its data: blobs, manifests, tags and upload sessions.

The HTTP layer talks only to the :class:`Storage` protocol below, so an object-store
backend (S3 API: uploads as multipart uploads, blobs as objects, links as small objects)
can be added without touching it. :class:`FilesystemStorage` is the one backend today::

    ROOT/blobs/<algo>/<hex>                                  content, shared by every repository
    ROOT/uploads/<uuid>/{data,info.json}                     an upload session in progress
    ROOT/repositories/<name>/_layers/<algo>/<hex>            "this repository has this blob"
    ROOT/repositories/<name>/_manifests/revisions/<algo>/<hex>   {"mediaType": ...} per manifest
    ROOT/repositories/<name>/_manifests/tags/<tag>           the digest the tag points at
    ROOT/repositories/<name>/_referrers/<algo>/<hex>/<algo>-<hex>  descriptor of a referrer

Every write is temp file → fsync → rename (→ directory fsync for blobs), so a ``kill -9``
never leaves a partial blob or link visible; an interrupted upload stays under uploads/
until :meth:`FilesystemStorage.purge_uploads` removes it. Names and tags are checked by the
HTTP layer (:func:`valid_name`, :func:`valid_tag`) before they reach a path; repository
path components can never start with ``_`` or ``.``, so they never meet the ``_layers``
style directories or escape the root.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from skiff.errors import InvalidArgument

#: Digest algorithms accepted (distribution-spec "Digests"; go-digest's registered ones).
ALGORITHMS = {"sha256": 64, "sha512": 128}
_DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
# distribution-spec "Pulling manifests": <name> components and <reference> tags.
_NAME = re.compile(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
NAME_MAX = 255  # distribution's limit on a repository name, in characters
READ_CHUNK = 1 << 20  # bytes per chunk when streaming a blob out


def valid_digest(s: str) -> bool:
    """True for ``sha256:<64 hex>`` or ``sha512:<128 hex>`` (lowercase)."""
    return bool(_DIGEST.match(s))


def valid_name(s: str) -> bool:
    """True for a repository name the spec allows (at most 255 characters)."""
    return len(s) <= NAME_MAX and bool(_NAME.match(s))


def valid_tag(s: str) -> bool:
    """True for a tag: ``[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}``."""
    return bool(_TAG.match(s))


def hasher(algorithm: str):
    """A hashlib object for ``algorithm`` (``sha256`` | ``sha512``); InvalidArgument otherwise."""
    if algorithm not in ALGORITHMS:
        raise InvalidArgument(f"digest algorithm {algorithm!r}", "unsupported")
    return hashlib.new(algorithm)


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    """``<algorithm>:<hex>`` of ``data``."""
    h = hasher(algorithm)
    h.update(data)
    return f"{algorithm}:{h.hexdigest()}"


@dataclass(frozen=True, slots=True)
class UploadState:
    """An upload session: its id, repository, bytes received so far, start time (epoch s)."""

    id: str
    repo: str
    offset: int
    started: float
    algorithm: str = "sha256"


@dataclass(frozen=True, slots=True)
class ManifestInfo:
    """A stored manifest: its digest, media type and raw bytes (returned unchanged)."""

    digest: str
    media_type: str
    data: bytes


class UploadWriter(Protocol):
    """Appends to one upload session; ``close()`` keeps what was written, ``rollback()`` not."""

    offset: int

    def write(self, data: bytes) -> None: ...
    def close(self) -> None: ...
    def rollback(self) -> None: ...


class Storage(Protocol):
    """What the HTTP layer needs from a backend (all calls blocking: the HTTP layer runs the
    ones that move data or fsync in worker threads, and calls the small metadata lookups,
    such as ``blob_size`` or ``resolve_tag``, directly).

    Blobs are global and content addressed; a repository sees a blob only once it is linked
    to it (pushed there, mounted, or referenced by a manifest pushed there). Errors:
    NotFound for unknown uploads/blobs, DigestMismatch when content does not hash to the
    digest it is committed under.
    """

    def blob_size(self, digest: str) -> int | None: ...
    def read_blob(self, digest: str, start: int = 0, end: int | None = None) -> Iterator[bytes]: ...
    def read_small_blob(self, digest: str) -> bytes: ...
    def put_blob(self, data: bytes, digest: str) -> None: ...
    def delete_blob(self, digest: str) -> None: ...
    def walk_blobs(self) -> Iterator[tuple[str, int, float]]: ...

    def start_upload(self, repo: str, algorithm: str = "sha256") -> UploadState: ...
    def upload_state(self, upload_id: str) -> UploadState: ...
    def upload_writer(self, upload_id: str) -> UploadWriter: ...
    def commit_upload(self, upload_id: str, digest: str) -> int: ...
    def cancel_upload(self, upload_id: str) -> None: ...
    def purge_uploads(self, older_than_s: float) -> int: ...

    def link_blob(self, repo: str, digest: str) -> None: ...
    def blob_linked(self, repo: str, digest: str) -> bool: ...
    def unlink_blob(self, repo: str, digest: str) -> bool: ...
    def linked_blobs(self, repo: str) -> list[str]: ...

    def put_manifest(self, repo: str, digest: str, media_type: str, data: bytes, *,
                     tags: tuple[str, ...] = (), subject: str | None = None,
                     descriptor: dict | None = None) -> None: ...
    def get_manifest(self, repo: str, digest: str) -> ManifestInfo | None: ...
    def manifest_digests(self, repo: str) -> list[str]: ...
    def delete_manifest(self, repo: str, digest: str) -> bool: ...
    def resolve_tag(self, repo: str, tag: str) -> str | None: ...
    def tags(self, repo: str) -> dict[str, str] | None: ...
    def delete_tag(self, repo: str, tag: str) -> bool: ...
    def referrers(self, repo: str, subject: str) -> list[dict]: ...
    def repositories(self) -> list[str]: ...
    def repository_exists(self, repo: str) -> bool: ...


from skiff.registry.storage.filesystem import FilesystemStorage  # noqa: E402

__all__ = ["ALGORITHMS", "FilesystemStorage", "ManifestInfo", "Storage", "UploadState",
           "UploadWriter", "digest_of", "hasher", "valid_digest", "valid_name", "valid_tag"]
