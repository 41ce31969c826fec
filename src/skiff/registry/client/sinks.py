"""The boundary between the registry protocol and whatever stores blobs.

The protocol layer (pull, push) talks to a :class:`BlobSink` to store what it downloads and
a :class:`BlobSource` to read what it uploads. ``skiff.content.ContentStore`` satisfies
both; :class:`skiff.registry.client.layout.OCILayout` (an OCI image-layout directory) does
too, so the protocol is tested and benchmarked without the image store.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol


class BlobWriter(Protocol):
    """A partial blob being written (content store ``Writer``).

    ``offset`` is how many bytes it holds (a resumed ingest may start above 0);
    ``commit(size, digest)`` verifies both then makes the blob visible atomically, raising
    DigestMismatch (nothing stored) when the bytes do not hash to ``digest``.
    """

    @property
    def offset(self) -> int: ...

    def write(self, data: bytes) -> int: ...

    def commit(self, size: int | None = None, digest: str | None = None) -> str: ...

    def abort(self) -> None: ...

    def __enter__(self) -> BlobWriter: ...

    def __exit__(self, *exc) -> None: ...


class BlobSink(Protocol):
    """Where pulled blobs go."""

    def exists(self, digest: str) -> bool: ...

    def writer(self, ref: str, *, expected_digest: str | None = None,
               expected_size: int | None = None) -> BlobWriter: ...

    def read_blob(self, digest: str) -> bytes: ...


class BlobSource(Protocol):
    """Where pushed blobs come from."""

    def open(self, digest: str) -> BinaryIO: ...

    def size(self, digest: str) -> int: ...

    def read_blob(self, digest: str) -> bytes: ...
