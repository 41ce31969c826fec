"""The content store's roles as narrow interfaces (after containerd's content package).

A caller asks for the smallest role it needs: pull code wants an :class:`Ingester`, inspect
a :class:`Provider`. :class:`skiff.content.ContentStore` implements all four; another store
(the registry server's blob storage) may implement the same and run the same behavioural
suite (tests/unit/content/suite.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Protocol, runtime_checkable


@runtime_checkable
class BlobWriter(Protocol):
    """An open ingest: invisible until :meth:`commit` (see skiff.content.store)."""

    offset: int

    def write(self, b: bytes) -> int: ...

    def digest(self) -> str: ...

    def commit(self, size: int | None = None, digest: str | None = None) -> str: ...

    def abort(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Provider(Protocol):
    """Read blobs by digest (NotFound when absent)."""

    def open(self, digest: str) -> BinaryIO: ...

    def read_blob(self, digest: str) -> bytes: ...

    def exists(self, digest: str) -> bool: ...

    def size(self, digest: str) -> int: ...


@runtime_checkable
class Ingester(Protocol):
    """Write blobs: verified (digest, size) and atomic."""

    def writer(self, ref: str, *, expected_digest: str | None = None,
               expected_size: int | None = None) -> BlobWriter: ...

    def ingest(self, stream: BinaryIO, *, expected_digest: str | None = None,
               expected_size: int | None = None) -> tuple[str, int]: ...

    def write_blob(self, data: bytes) -> str: ...


@runtime_checkable
class IngestManager(Protocol):
    """Unfinished writes: list them, drop stale ones."""

    def list_ingests(self) -> list[tuple[str, int, float]]: ...

    def cleanup_ingests(self, older_than_s: float = ...) -> int: ...


@runtime_checkable
class Manager(Protocol):
    """Enumerate and delete committed blobs."""

    def walk(self) -> Iterator[tuple[str, int]]: ...

    def delete(self, digest: str) -> None: ...
