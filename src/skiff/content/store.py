"""The local content store: OCI image-layout style ``blobs/sha256/<hex>`` plus ``ingest/``.

Lifecycle of a blob (after containerd's content store): a caller opens a :class:`Writer` for
a *ref* (any string naming the write, e.g. ``"layer-<digest>"``); bytes go to
``ingest/<sha256(ref)>/data``, invisible to readers. ``commit`` fsyncs, checks size and
digest against what the caller expected, then renames the file to ``blobs/sha256/<hex>``,
fsyncs the directory and makes the blob read-only. A blob is therefore either wholly there
with the right bytes or not there at all, whatever happens to the process (``kill -9``
leaves only an ingest directory, which :meth:`ContentStore.cleanup_ingests` removes or a
writer for the same ref resumes).

Concurrency: one writer per ref at a time (an flock on ``ingest/<h>/lock``; a second gets
:class:`~skiff.errors.Unavailable`). Two writers of the *same blob* under different refs both
succeed: the second commit finds the blob present and reports AlreadyExists, which
:meth:`ContentStore.ingest` and :meth:`ContentStore.write_blob` treat as success.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from skiff import digest as _digest
from skiff.errors import AlreadyExists, DigestMismatch, InvalidArgument, NotFound, Unavailable

CHUNK = 1 << 20
WRITEBACK = 8 << 20  # start writing back an ingest's data every this many bytes


def fsync_dir(path: Path) -> None:
    """fsync the directory ``path`` so a rename or create inside it is durable.

    Raises OSError (FileNotFoundError, NotADirectoryError) as os.open does.
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Writer:
    """An open ingest: ``write`` bytes, then ``commit`` (or ``abort``). Not thread-safe.

    Use as a context manager: leaving the block by an exception aborts the ingest.
    ``offset`` is the number of bytes written so far (a resumed ingest starts at the size
    of the data already there).
    """

    def __init__(self, store: ContentStore, ref: str, directory: Path, lock_fd: int,
                 expected_digest: str | None, expected_size: int | None):
        self._store = store
        self.ref = ref
        self._dir = directory
        self._lock_fd = lock_fd
        self.expected_digest = expected_digest
        self.expected_size = expected_size
        self._h = hashlib.sha256()
        data = directory / "data"
        self._f = open(data, "a+b")  # noqa: SIM115 - closed in commit/abort/close
        self._f.seek(0)
        while chunk := self._f.read(CHUNK):  # resume: re-hash what is there
            self._h.update(chunk)
        self.offset = self._f.tell()
        self._kicked = self.offset  # data up to here has had its writeback started
        self._closed = False

    def write(self, b: bytes | bytearray | memoryview) -> int:
        """Append ``b``; returns its length. Raises SkiffError (ENOSPC etc.) on I/O failure."""
        from skiff.errors import map_exceptions

        with map_exceptions("writing to the content store"):
            self._f.write(b)
        self._h.update(b)
        self.offset += len(b)
        if self.offset - self._kicked >= WRITEBACK:
            # Start writing the data back now, while more arrives, so commit's fsync
            # has little left to wait for (durability still comes from that fsync).
            from skiff.libc import start_writeback

            self._f.flush()
            start_writeback(self._f.fileno(), self._kicked, self.offset - self._kicked)
            self._kicked = self.offset
        return len(b)

    def flush(self) -> None:
        """Push buffered bytes to the file (commit fsyncs; this is for stream adapters)."""
        self._f.flush()

    def digest(self) -> str:
        """Digest of the bytes written so far."""
        return "sha256:" + self._h.hexdigest()

    def commit(self, size: int | None = None, digest: str | None = None) -> str:
        """Make the blob visible; return its digest.

        Order: fsync → size check → digest check → exists? (AlreadyExists) → rename into
        ``blobs/sha256/<hex>`` → fsync the directory → chmod 0444. ``size``/``digest``
        default to the expectations given to :meth:`ContentStore.writer`.

        Raises:
            InvalidArgument: the size differs from the expected size.
            DigestMismatch: the bytes hash to another digest (names both).
            AlreadyExists: the blob was already in the store (the ingest is removed).
        """
        from skiff.errors import map_exceptions

        size = size if size is not None else self.expected_size
        digest = digest if digest is not None else self.expected_digest
        try:
            with map_exceptions("writing to the content store"):
                self._f.flush()
                os.fsync(self._f.fileno())
                self._f.close()
            if size is not None and size != self.offset:
                raise InvalidArgument(f"blob {digest or self.ref}",
                                      f"unexpected size {self.offset}, expected {size}")
            actual = self.digest()
            if digest is not None and digest != actual:
                raise DigestMismatch(f"blob {self.ref}", digest, actual)
            target = self._store.path(actual)
            if target.exists():
                raise AlreadyExists(f"blob {actual}", "already exists")
            with map_exceptions(f"committing {actual}"):
                target.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(self._dir / "data", 0o444)
                os.rename(self._dir / "data", target)
        except BaseException:
            self._remove()
            raise
        # After the rename nothing can be rolled back: failures below are not reported.
        with contextlib.suppress(OSError):
            fsync_dir(target.parent)
        self._remove()
        return actual

    def abort(self) -> None:
        """Drop the ingest and its bytes."""
        with contextlib.suppress(OSError):
            self._f.close()
        self._remove()

    def close(self) -> None:
        """Release the ref but keep the bytes so a later writer for the ref can resume."""
        if not self._closed:
            with contextlib.suppress(OSError):
                self._f.close()
            os.close(self._lock_fd)
            self._closed = True

    def _remove(self) -> None:
        if self._closed:
            return
        shutil.rmtree(self._dir, ignore_errors=True)
        os.close(self._lock_fd)
        self._closed = True

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


class ContentStore:
    """Blobs by sha256 digest under ``root`` (``config.content_dir``).

    Layout: ``root/blobs/sha256/<hex>`` (read-only files), ``root/ingest/<h>/`` (writes in
    progress: ``data``, ``ref``, ``started``, ``lock``).
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.blobs = self.root / "blobs" / "sha256"
        self.ingests = self.root / "ingest"

    # -- Provider ------------------------------------------------------------------------
    def path(self, digest: str) -> Path:
        """Where the blob with ``digest`` lives (whether or not it exists)."""
        return self.blobs / _digest.encoded(digest)

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: str) -> int:
        """Size in bytes; NotFound when absent."""
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"blob {digest}", "not found") from None

    def open(self, digest: str) -> BinaryIO:
        """Open the blob for reading (binary, buffered); NotFound when absent."""
        try:
            return open(self.path(digest), "rb")  # noqa: SIM115
        except FileNotFoundError:
            raise NotFound(f"blob {digest}", "not found") from None

    def read_blob(self, digest: str) -> bytes:
        """The whole blob in memory: manifests and configs only, never layers."""
        with self.open(digest) as f:
            return f.read()

    def read_json(self, digest: str) -> dict:
        """A JSON blob (manifest, index, config) as a dict; InvalidArgument if not JSON."""
        try:
            return json.loads(self.read_blob(digest))
        except ValueError as e:
            raise InvalidArgument(f"blob {digest}", f"invalid JSON: {e}") from None

    # -- Ingester -----------------------------------------------------------------------
    def writer(self, ref: str, *, expected_digest: str | None = None,
               expected_size: int | None = None) -> Writer:
        """Open (or resume) the ingest named ``ref``.

        Raises:
            Unavailable: another writer holds ``ref`` (``ref ... locked``).
            InvalidArgument: ``expected_digest`` is malformed.
        """
        if expected_digest is not None:
            _digest.validate(expected_digest)
        d = self.ingests / hashlib.sha256(ref.encode()).hexdigest()
        d.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(d / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise Unavailable(f"ref {ref}", "locked by another writer") from None
        try:
            if not (d / "ref").exists():
                (d / "ref").write_text(ref)
                (d / "started").write_text(str(time.time()))
            return Writer(self, ref, d, lock_fd, expected_digest, expected_size)
        except BaseException:
            os.close(lock_fd)
            raise

    def ingest(self, stream: BinaryIO, *, expected_digest: str | None = None,
               expected_size: int | None = None, ref: str | None = None) -> tuple[str, int]:
        """Copy ``stream`` into the store (streaming, 1 MiB at a time); return (digest, size).

        A blob already present counts as success. Raises DigestMismatch / InvalidArgument
        when the bytes do not match the expectations (the store is left unchanged).
        """
        ref = ref or f"ingest-{uuid.uuid4().hex}"
        w = self.writer(ref, expected_digest=expected_digest, expected_size=expected_size)
        try:
            while chunk := stream.read(CHUNK):
                w.write(chunk)
        except BaseException:
            w.abort()
            raise
        size = w.offset
        try:
            return w.commit(), size
        except AlreadyExists:
            return w.digest(), size

    def write_blob(self, data: bytes, *, expected_digest: str | None = None) -> str:
        """Store a small blob; return its digest (an existing blob is success)."""
        return self.ingest(io.BytesIO(data), expected_digest=expected_digest,
                           expected_size=None)[0]

    # -- Manager ------------------------------------------------------------------------
    def delete(self, digest: str) -> None:
        """Remove a blob; NotFound when absent."""
        try:
            os.unlink(self.path(digest))
        except FileNotFoundError:
            raise NotFound(f"blob {digest}", "not found") from None

    def walk(self) -> Iterator[tuple[str, int]]:
        """Every committed blob as (digest, size in bytes), in no particular order."""
        try:
            it = os.scandir(self.blobs)
        except FileNotFoundError:
            return
        with it:
            for e in it:
                if e.is_file() and _digest.is_digest("sha256:" + e.name):
                    yield "sha256:" + e.name, e.stat().st_size

    # -- IngestManager ------------------------------------------------------------------
    def list_ingests(self) -> list[tuple[str, int, float]]:
        """Unfinished ingests as (ref, bytes written, start time)."""
        out = []
        if not self.ingests.is_dir():
            return out
        for d in self.ingests.iterdir():
            try:
                ref = (d / "ref").read_text()
                started = float((d / "started").read_text())
            except (OSError, ValueError):
                ref, started = d.name, d.stat().st_mtime
            try:
                size = (d / "data").stat().st_size
            except OSError:
                size = 0
            out.append((ref, size, started))
        return out

    def cleanup_ingests(self, older_than_s: float = 24 * 3600) -> int:
        """Remove unlocked ingests started more than ``older_than_s`` seconds ago; return count.

        An ingest whose writer still runs (its lock is held) is never touched.
        """
        if not self.ingests.is_dir():
            return 0
        now = time.time()
        n = 0
        for d in self.ingests.iterdir():
            try:
                try:
                    started = float((d / "started").read_text())
                except (OSError, ValueError):
                    started = d.stat().st_mtime
            except FileNotFoundError:
                continue  # committed or aborted by another process while we looked
            if now - started < older_than_s:
                continue
            try:
                fd = os.open(d / "lock", os.O_RDWR | os.O_CREAT, 0o600)
            except FileNotFoundError:
                continue  # gone meanwhile: nothing to clean
            except OSError:
                shutil.rmtree(d, ignore_errors=True)
                n += 1
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            shutil.rmtree(d, ignore_errors=True)
            os.close(fd)
            n += 1
        return n
