"""The filesystem backend of the registry's :class:`~skiff.registry.storage.Storage`.

Layout and guarantees are described in ``skiff.registry.storage``; this module holds the
implementation: atomic writes (temp → fsync → rename → directory fsync for blobs), upload
sessions with a running hash kept in memory, writeback started while an upload streams in
(``sync_file_range``) so that the fsync at commit is short.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

from skiff.content.store import fsync_dir
from skiff.errors import DigestMismatch, InvalidArgument, NotFound
from skiff.libc import start_writeback
from skiff.registry.storage import (
    ALGORITHMS,
    READ_CHUNK,
    ManifestInfo,
    UploadState,
    hasher,
    valid_digest,
)

_DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")


def _split(digest: str) -> tuple[str, str]:
    if not _DIGEST.match(digest):
        raise InvalidArgument(f"invalid digest {digest!r}", "expected <algorithm>:<hex>")
    algo, hexpart = digest.split(":", 1)
    return algo, hexpart


WRITEBACK_EVERY = 8 << 20  # bytes of upload data after which writeback is started


def _atomic_write(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp-{uuidlib.uuid4().hex}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync:
        fsync_dir(path.parent)


class _FsUploadWriter:
    """Appends to ``uploads/<id>/data``, feeding the session's running hash."""

    def __init__(self, store: FilesystemStorage, state: UploadState, lock: threading.Lock):
        self._store = store
        self._state = state
        self._lock = lock
        self._f = open(store._upload_dir(state.id) / "data", "r+b")
        self._f.seek(state.offset)
        self._start = state.offset
        self._flushed = state.offset
        self.offset = state.offset
        h = store._hashers.get(state.id)
        self._h = h[1].copy() if h is not None and h[0] == state.offset else None

    def write(self, data: bytes) -> None:
        self._f.write(data)
        if self._h is not None:
            self._h.update(data)
        self.offset += len(data)
        # Start writeback of what has piled up, so that the fsync at commit finds little
        # left to do (the disk works while the network still delivers).
        if self.offset - self._flushed >= WRITEBACK_EVERY:
            self._f.flush()
            start_writeback(self._f.fileno(), self._flushed, self.offset - self._flushed)
            self._flushed = self.offset

    def close(self) -> None:
        try:
            self._f.truncate(self.offset)
            self._f.close()
            if self._h is not None:
                self._store._hashers[self._state.id] = (self.offset, self._h)
            else:
                self._store._hashers.pop(self._state.id, None)
        finally:
            self._lock.release()

    def rollback(self) -> None:
        try:
            self._f.truncate(self._start)
            self._f.close()
        finally:
            self._lock.release()


class FilesystemStorage:
    """The :class:`Storage` backend on a local directory (see the module docstring).

    ``root`` is created if missing. Running hashes of uploads live in memory (an upload
    resumed after a restart is re-hashed from disk at commit). Thread safe: one writer per
    upload session at a time (a second concurrent PATCH waits).
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        for d in ("blobs", "uploads", "repositories"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        self._hashers: dict[str, tuple[int, object]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # ---- paths -------------------------------------------------------------------------
    def _blob_path(self, digest: str) -> Path:
        algo, hexpart = _split(digest)
        return self.root / "blobs" / algo / hexpart

    def _repo(self, repo: str) -> Path:
        return self.root / "repositories" / repo

    def _upload_dir(self, upload_id: str) -> Path:
        if not re.fullmatch(r"[a-f0-9]{32}", upload_id):
            raise NotFound(f"upload {upload_id}", "unknown upload")
        return self.root / "uploads" / upload_id

    def _lock(self, upload_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(upload_id, threading.Lock())

    # ---- blobs ---------------------------------------------------------------------------
    def blob_size(self, digest: str) -> int | None:
        """Size in bytes of a committed blob, or None."""
        try:
            return self._blob_path(digest).stat().st_size
        except FileNotFoundError:
            return None

    def blob_path(self, digest: str) -> Path:
        """Local path of a blob (filesystem backend only; not part of :class:`Storage`)."""
        return self._blob_path(digest)

    def read_blob(self, digest: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield the bytes ``[start, end)`` of a blob in chunks of at most 1 MiB."""
        with open(self._blob_path(digest), "rb") as f:
            f.seek(start)
            left = None if end is None else end - start
            while left is None or left > 0:
                chunk = f.read(READ_CHUNK if left is None else min(READ_CHUNK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk

    def read_small_blob(self, digest: str) -> bytes:
        """The whole content of a (manifest-sized) blob; NotFound if absent."""
        try:
            return self._blob_path(digest).read_bytes()
        except FileNotFoundError as e:
            raise NotFound(f"blob {digest}", "blob unknown") from e

    def put_blob(self, data: bytes, digest: str) -> None:
        """Store ``data`` under ``digest`` (DigestMismatch if it does not hash to it)."""
        algo, _ = _split(digest)
        actual = f"{algo}:{hashlib.new(algo, data).hexdigest()}"
        if actual != digest:
            raise DigestMismatch("blob", digest, actual)
        path = self._blob_path(digest)
        if not path.exists():
            _atomic_write(path, data)

    def delete_blob(self, digest: str) -> None:
        """Remove a blob's content (garbage collection only: repositories may still link it)."""
        self._blob_path(digest).unlink(missing_ok=True)

    def walk_blobs(self) -> Iterator[tuple[str, int, float]]:
        """Every committed blob as (digest, size, mtime)."""
        for algo in ALGORITHMS:
            d = self.root / "blobs" / algo
            if not d.is_dir():
                continue
            for entry in os.scandir(d):
                if entry.name.startswith(".tmp-"):
                    continue
                st = entry.stat()
                yield f"{algo}:{entry.name}", st.st_size, st.st_mtime

    # ---- uploads ---------------------------------------------------------------------------
    def start_upload(self, repo: str, algorithm: str = "sha256") -> UploadState:
        """Open a new, empty upload session for ``repo``."""
        h = hasher(algorithm)
        state = UploadState(uuidlib.uuid4().hex, repo, 0, time.time(), algorithm)
        d = self._upload_dir(state.id)
        d.mkdir(parents=True)
        (d / "data").touch()
        info = {"repo": repo, "started": state.started, "algorithm": algorithm}
        _atomic_write(d / "info.json", json.dumps(info).encode(), sync=False)
        self._hashers[state.id] = (0, h)
        return state

    def upload_state(self, upload_id: str) -> UploadState:
        """The session's state; NotFound when it does not exist (finished, cancelled, purged)."""
        d = self._upload_dir(upload_id)
        try:
            info = json.loads((d / "info.json").read_bytes())
            size = (d / "data").stat().st_size
        except (FileNotFoundError, ValueError) as e:
            raise NotFound(f"upload {upload_id}", "unknown upload") from e
        return UploadState(upload_id, info["repo"], size, info["started"],
                           info.get("algorithm", "sha256"))

    def upload_writer(self, upload_id: str) -> _FsUploadWriter:
        """A writer appending at the session's current offset (holds its lock until closed)."""
        lock = self._lock(upload_id)
        lock.acquire()
        try:
            state = self.upload_state(upload_id)
            return _FsUploadWriter(self, state, lock)
        except BaseException:
            lock.release()
            raise

    def commit_upload(self, upload_id: str, digest: str) -> int:
        """Verify the session's content against ``digest`` and make it a blob; returns its size.

        fsync → hash check → rename into blobs/ → directory fsync. On a mismatch the session
        is removed and DigestMismatch raised: nothing is stored.
        """
        algo, _ = _split(digest)
        lock = self._lock(upload_id)
        with lock:
            state = self.upload_state(upload_id)
            d = self._upload_dir(upload_id)
            data = d / "data"
            cached = self._hashers.get(upload_id)
            with open(data, "rb") as f:
                os.fsync(f.fileno())
                if cached is not None and cached[0] == state.offset and cached[1].name == algo:
                    actual = f"{algo}:{cached[1].hexdigest()}"
                else:
                    h = hashlib.new(algo)
                    while chunk := f.read(READ_CHUNK):
                        h.update(chunk)
                    actual = f"{algo}:{h.hexdigest()}"
            if actual != digest:
                self._drop_upload(upload_id)
                raise DigestMismatch("blob upload", digest, actual)
            target = self._blob_path(digest)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(data, target)
            fsync_dir(target.parent)
            self._drop_upload(upload_id)
            return state.offset

    def _drop_upload(self, upload_id: str) -> None:
        shutil.rmtree(self._upload_dir(upload_id), ignore_errors=True)
        self._hashers.pop(upload_id, None)
        with self._locks_guard:
            self._locks.pop(upload_id, None)

    def cancel_upload(self, upload_id: str) -> None:
        """Discard a session and its data; NotFound if there is none."""
        self.upload_state(upload_id)
        with self._lock(upload_id):
            self._drop_upload(upload_id)

    def purge_uploads(self, older_than_s: float) -> int:
        """Remove sessions idle (no start, no chunk) for more than ``older_than_s`` seconds;
        returns how many."""
        n = 0
        now = time.time()
        for entry in os.scandir(self.root / "uploads"):
            # the last sign of life: the start, or the last chunk written
            try:
                last = json.loads(Path(entry.path, "info.json").read_bytes())["started"]
            except (OSError, ValueError, KeyError):
                last = 0.0
            try:
                last = max(last, os.stat(Path(entry.path, "data")).st_mtime, entry.stat().st_mtime)
            except OSError:
                pass
            if now - last > older_than_s:
                shutil.rmtree(entry.path, ignore_errors=True)
                self._hashers.pop(entry.name, None)
                n += 1
        # temp files of interrupted atomic writes (blobs, links)
        for algo in ALGORITHMS:
            d = self.root / "blobs" / algo
            if d.is_dir():
                for entry in os.scandir(d):
                    if entry.name.startswith(".tmp-") and now - entry.stat().st_mtime > older_than_s:
                        os.unlink(entry.path)
        return n

    # ---- repository links ---------------------------------------------------------------
    def _link(self, repo: str, kind: str, digest: str) -> Path:
        algo, hexpart = _split(digest)
        return self._repo(repo) / kind / algo / hexpart

    def link_blob(self, repo: str, digest: str) -> None:
        """Make ``digest`` visible in ``repo`` (the blob must exist)."""
        p = self._link(repo, "_layers", digest)
        if not p.exists():
            _atomic_write(p, digest.encode(), sync=False)

    def blob_linked(self, repo: str, digest: str) -> bool:
        """True when ``repo`` has the blob (pushed, mounted, or a manifest of the repository
        fetched through the blobs endpoint) and its content is present."""
        linked = self._link(repo, "_layers", digest).exists() or \
            self._link(repo, "_manifests/revisions", digest).exists()
        return linked and self.blob_size(digest) is not None

    def unlink_blob(self, repo: str, digest: str) -> bool:
        """Remove the blob from ``repo`` (its content stays until gc); False if not linked."""
        p = self._link(repo, "_layers", digest)
        try:
            p.unlink()
            return True
        except FileNotFoundError:
            return False

    def linked_blobs(self, repo: str) -> list[str]:
        """Digests linked into ``repo``."""
        return self._walk_links(self._repo(repo) / "_layers")

    @staticmethod
    def _walk_links(base: Path) -> list[str]:
        out = []
        for algo in ALGORITHMS:
            d = base / algo
            if d.is_dir():
                out += [f"{algo}:{e.name}" for e in os.scandir(d) if not e.name.startswith(".")]
        return out

    # ---- manifests and tags ---------------------------------------------------------------
    def put_manifest(self, repo: str, digest: str, media_type: str, data: bytes, *,
                     tags: tuple[str, ...] = (), subject: str | None = None,
                     descriptor: dict | None = None) -> None:
        """Store a manifest in ``repo``, point ``tags`` at it, index it as a referrer of
        ``subject`` (``descriptor`` is its entry in the referrers list)."""
        self.put_blob(data, digest)
        # Links are tiny and rename-atomic; only blob content is fsynced (a kill -9 keeps the
        # page cache, and a link never points at content that is not durable).
        rev = self._link(repo, "_manifests/revisions", digest)
        _atomic_write(rev, json.dumps({"mediaType": media_type}).encode(), sync=False)
        if subject is not None and descriptor is not None:
            salgo, shex = _split(subject)
            algo, hexpart = _split(digest)
            ref = self._repo(repo) / "_referrers" / salgo / shex / f"{algo}-{hexpart}"
            _atomic_write(ref, json.dumps(descriptor).encode(), sync=False)
        for tag in tags:
            _atomic_write(self._repo(repo) / "_manifests" / "tags" / tag, digest.encode(),
                          sync=False)

    def get_manifest(self, repo: str, digest: str) -> ManifestInfo | None:
        """The manifest ``digest`` in ``repo``, or None."""
        try:
            meta = json.loads(self._link(repo, "_manifests/revisions", digest).read_bytes())
            data = self._blob_path(digest).read_bytes()
        except (FileNotFoundError, ValueError):
            return None
        return ManifestInfo(digest, meta["mediaType"], data)

    def manifest_digests(self, repo: str) -> list[str]:
        """Digests of every manifest stored in ``repo``."""
        return self._walk_links(self._repo(repo) / "_manifests" / "revisions")

    def delete_manifest(self, repo: str, digest: str) -> bool:
        """Remove a manifest from ``repo`` with the tags pointing at it and its referrer entry."""
        rev = self._link(repo, "_manifests/revisions", digest)
        try:
            data = self._blob_path(digest).read_bytes()
        except FileNotFoundError:
            data = b""
        try:
            rev.unlink()
        except FileNotFoundError:
            return False
        for tag, d in (self.tags(repo) or {}).items():
            if d == digest:
                self.delete_tag(repo, tag)
        try:
            subject = json.loads(data).get("subject", {}).get("digest")
        except (ValueError, AttributeError):
            subject = None
        if isinstance(subject, str) and valid_digest(subject):
            salgo, shex = _split(subject)
            algo, hexpart = _split(digest)
            p = self._repo(repo) / "_referrers" / salgo / shex / f"{algo}-{hexpart}"
            p.unlink(missing_ok=True)
        return True

    def resolve_tag(self, repo: str, tag: str) -> str | None:
        """The digest ``tag`` points at in ``repo``, or None."""
        try:
            return (self._repo(repo) / "_manifests" / "tags" / tag).read_text()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def tags(self, repo: str) -> dict[str, str] | None:
        """``{tag: digest}`` of ``repo`` (None when the repository does not exist)."""
        if not self.repository_exists(repo):
            return None
        d = self._repo(repo) / "_manifests" / "tags"
        out = {}
        if d.is_dir():
            for e in os.scandir(d):
                if not e.name.startswith("."):
                    try:
                        out[e.name] = Path(e.path).read_text()
                    except FileNotFoundError:
                        pass
        return out

    def delete_tag(self, repo: str, tag: str) -> bool:
        """Remove ``tag`` from ``repo``; False when it did not exist."""
        try:
            (self._repo(repo) / "_manifests" / "tags" / tag).unlink()
            return True
        except FileNotFoundError:
            return False

    def referrers(self, repo: str, subject: str) -> list[dict]:
        """Descriptors of the manifests in ``repo`` whose ``subject`` is ``subject``."""
        salgo, shex = _split(subject)
        d = self._repo(repo) / "_referrers" / salgo / shex
        out = []
        if d.is_dir():
            for e in sorted(os.scandir(d), key=lambda e: e.name):
                if e.name.startswith("."):
                    continue
                try:
                    out.append(json.loads(Path(e.path).read_bytes()))
                except (FileNotFoundError, ValueError):
                    pass
        return out

    def repositories(self) -> list[str]:
        """Every repository name, sorted."""
        base = self.root / "repositories"
        out = []
        for dirpath, dirnames, _ in os.walk(base):
            if "_manifests" in dirnames or "_layers" in dirnames:
                out.append(os.path.relpath(dirpath, base))
            dirnames[:] = [d for d in dirnames if not d.startswith(("_", "."))]
        return sorted(out)

    def repository_exists(self, repo: str) -> bool:
        """True when something was ever pushed to ``repo``."""
        r = self._repo(repo)
        return (r / "_manifests").is_dir() or (r / "_layers").is_dir()
