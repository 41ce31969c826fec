"""Moving one blob: download (verified, resumable with Range) and upload (HEAD skip,
cross-repository mount, monolithic or chunked, resumable).

distribution-spec sections followed: "Pulling blobs" (GET, redirects to blob storage,
``Range``/``206``), "Checking if content exists" (HEAD), "Mounting a blob from another
repository" (``POST …/uploads/?mount=&from=`` → 201, or 202 = a fresh upload session),
"Pushing a blob monolithically" (``POST`` then ``PUT <location>?digest=``), "Pushing a
blob in chunks" (``PATCH`` with ``Content-Range: <start>-<end>``, then ``PUT ?digest=``)
and "Upload progress" (``GET <location>`` → ``204`` with ``Range: 0-<last byte>``), which
is how an upload broken mid-way resumes from what the registry already has.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

from skiff.errors import (
    AlreadyExists,
    DigestMismatch,
    InvalidArgument,
    NotFound,
    SkiffError,
    Unavailable,
)
from skiff.registry.client.auth import pull_scope, push_scope
from skiff.registry.client.progress import NullProgress, short_id
from skiff.registry.client.sinks import BlobSink, BlobSource
from skiff.registry.client.transport import STREAM_ERRORS, Registry, RegistryError, raise_for

CHUNK = 1 << 20                 # bytes per read/write while streaming
CHUNK_UPLOAD = 128 << 20        # blobs above this go up in PATCH chunks of this size
T = TypeVar("T")
RESUMES = 5                     # broken transfers resumed in a row without progress


@dataclass(frozen=True, slots=True)
class Blob:
    """What a transfer needs of a descriptor: digest, size in bytes, media type."""

    digest: str
    size: int
    media_type: str = "application/octet-stream"


def for_each_blob(blobs: Sequence[Blob], work: Callable[[Blob], T],
                  max_concurrent: int) -> list[T]:
    """``[work(b) for b in blobs]`` on up to ``max_concurrent`` threads (at least one).

    Results come in the order of ``blobs``. The first exception cancels the transfers not
    yet started and is raised once the running ones end (the pool is shut down waiting).
    Serves both pull (layer downloads) and push (layer uploads).
    """
    with ThreadPoolExecutor(max_workers=max(1, max_concurrent)) as pool:
        futs = [pool.submit(work, b) for b in blobs]
        done, _ = wait(futs, return_when=FIRST_EXCEPTION)
        for f in done:
            if f.exception() is not None:
                for other in futs:
                    other.cancel()
                raise f.exception()
        return [f.result() for f in futs]


_MALLOC_TUNED = False


def keep_freed_buffers() -> None:
    """Stop glibc returning freed download buffers to the kernel after every chunk.

    A download allocates ~1 MiB objects in turn (the network read, the decompressed
    output); freed together they leave a free top chunk above glibc's dynamic trim
    threshold (2 × the mmap threshold, ~2 MiB), which is then handed back and faulted in
    again on the next chunk: ~51 000 page faults for a 200 MB pull (0.45 s of system
    time; ~9 000 and 0.30 s with this). Fixed thresholds (mmap above 4 MiB, trim above
    32 MiB) keep the pages; peak RSS is unchanged. Once per process; a no-op where the C
    library has no ``mallopt`` (not glibc).
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return
    _MALLOC_TUNED = True
    from skiff.libc import libc

    try:
        mallopt = libc().mallopt
    except AttributeError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    mallopt(m_mmap_threshold, 4 << 20)
    mallopt(m_trim_threshold, 32 << 20)


def _backoff(n: int) -> None:
    time.sleep(min(0.2 * (2 ** n), 3.0))


class _Tee:
    """A writer that also shows every byte written to ``meter.feed`` (in order). A meter
    error is kept for :meth:`finish`, after the whole blob came: bytes that do not match
    the blob's digest must be reported as that (DigestMismatch), not as a bad layer."""

    def __init__(self, w, meter):
        self._w = w
        self._meter = meter
        self.error: SkiffError | None = None

    @property
    def offset(self) -> int:
        return self._w.offset

    def write(self, b) -> int:
        n = self._w.write(b)
        if self.error is None:
            try:
                self._meter.feed(b)
            except SkiffError as e:
                self.error = e
        return n

    def finish(self, blob: Blob) -> None:
        try:
            if self.error is not None:
                raise self.error
            self._meter.finish()
        except SkiffError:
            digest = getattr(self._w, "digest", None)
            if callable(digest) and self._w.offset == blob.size and digest() != blob.digest:
                raise DigestMismatch(f"blob {getattr(self._w, 'ref', blob.digest)}",
                                     blob.digest, digest()) from None
            raise


def download_blob(reg: Registry, repo: str, blob: Blob, sink: BlobSink,
                  progress: NullProgress | None = None, *, key: str | None = None,
                  meter=None) -> bool:
    """Fetch ``blob`` from ``repo`` into ``sink``; False when the sink already had it.

    Streams in 1 MiB chunks (memory stays flat), follows redirects, and after a broken
    connection asks for the rest with ``Range: bytes=<offset>-`` (a server answering 200
    instead of 206 is handled by skipping what we have). The sink verifies size and digest
    before the blob becomes visible.

    ``meter`` (optional; ``feed(bytes)``, ``finish()``) sees the blob's bytes as they
    arrive, in the download thread; ``finish()`` runs before the commit and may raise to
    refuse the blob (a pull measures a layer and checks its diffID that way). A download
    resumed from an earlier ingest does not start at byte 0: then the meter is not used and
    ``meter.skipped`` is set True. Raises DigestMismatch (nothing stored),
    NotFound / RegistryError (the registry's error), Unavailable (gave up resuming).
    """
    progress = progress or NullProgress()
    key = key or short_id(blob.digest)
    if sink.exists(blob.digest):
        progress.status(key, "Already exists")
        return False
    keep_freed_buffers()
    path = f"/v2/{repo}/blobs/{blob.digest}"
    ref = "pull-" + blob.digest.replace(":", "-")
    w = _open_writer(sink, ref, blob)
    if w is None:
        progress.status(key, "Already exists")
        return False
    with w:
        target = w
        if meter is not None:
            if w.offset:
                meter.skipped = True
                meter = None
            else:
                target = _Tee(w, meter)
        try:
            _fill(reg, repo, blob, target, path, progress, key)
        except (Unavailable, KeyboardInterrupt):
            # Keep the bytes that arrived: a rerun's writer for the same ref resumes there.
            if hasattr(w, "close"):
                w.close()
            raise
        progress.status(key, "Verifying Checksum")
        try:
            if isinstance(target, _Tee):
                target.finish(blob)  # may raise: the context manager aborts the ingest
            w.commit(blob.size, blob.digest)
        except AlreadyExists:
            pass
        except DigestMismatch as e:
            e.exit_code = 1
            raise
    progress.status(key, "Download complete")
    return True


def _open_writer(sink: BlobSink, ref: str, blob: Blob, wait_s: float = 300.0):
    """A writer for ``ref``; None when the blob turns up in the sink meanwhile. Another
    process downloading the same blob holds the ref (Unavailable): wait for it."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return sink.writer(ref, expected_digest=blob.digest, expected_size=blob.size)
        except AlreadyExists:
            return None
        except Unavailable:
            if time.monotonic() > deadline:
                raise
        if sink.exists(blob.digest):
            return None
        time.sleep(0.2)


def _fill(reg: Registry, repo: str, blob: Blob, w, path: str, progress, key: str) -> None:
    """Stream the rest of ``blob`` into ``w`` (resuming with Range after breaks)."""
    failures = 0
    progress.start(key, blob.size, "Downloading")
    if w.offset:
        progress.advance(key, w.offset)
    while w.offset < blob.size or blob.size == 0:
        start = w.offset
        headers = {"Range": f"bytes={start}-"} if start else {}
        r = reg.stream_get(path, scopes=(pull_scope(repo),), headers=headers,
                           what=f"blob {blob.digest}")
        try:
            if r.status_code not in (200, 206):
                r.read()
                raise_for(r, f"fetching blob {blob.digest}")
            skip = start if r.status_code == 200 else 0
            if r.status_code == 206:
                cr = r.headers.get("Content-Range", "")
                if not cr.startswith(f"bytes {start}-"):
                    raise Unavailable(f"fetching blob {blob.digest}",
                                      f"registry answered range {cr!r} for bytes={start}-",
                                      exit_code=1)
            # Read CHUNK bytes at a time straight from the socket (one bytes object each,
            # no Python-level parsing): the writer's file write and sha256 and the meter's
            # decompressor then run as few, large C calls that release the GIL.
            while True:
                data = r.read(CHUNK)
                if not data:
                    break
                if skip:
                    if len(data) <= skip:
                        skip -= len(data)
                        continue
                    data, skip = data[skip:], 0
                if w.offset + len(data) > blob.size:
                    raise InvalidArgument(f"blob {blob.digest}",
                                          f"registry sent more than {blob.size} bytes")
                w.write(data)
                progress.advance(key, len(data))
        except STREAM_ERRORS as e:
            failures = failures + 1 if w.offset == start else 1
            if failures > RESUMES:
                raise Unavailable(f"fetching blob {blob.digest}",
                                  f"connection broken {failures} times: {e}",
                                  exit_code=1) from e
            if w.offset == start:  # a connection that brought bytes is resumed at once
                _backoff(failures)
            continue
        finally:
            r.close()
        if blob.size == 0:
            break
        if w.offset < blob.size and w.offset == start:
            failures += 1
            if failures > RESUMES:
                raise Unavailable(f"fetching blob {blob.digest}",
                                  f"download stops at {w.offset} of {blob.size} bytes",
                                  exit_code=1)


def fetch_small(reg: Registry, repo: str, blob: Blob, limit: int = 16 << 20) -> bytes:
    """GET a small blob (an image config) into memory, verified against its digest."""
    from skiff import digest as dg

    if blob.size > limit:
        raise InvalidArgument(f"blob {blob.digest}", f"larger than {limit} bytes")
    r = reg.request("GET", f"/v2/{repo}/blobs/{blob.digest}", scopes=(pull_scope(repo),),
                    follow_redirects=True, what=f"blob {blob.digest}")
    if r.status_code != 200:
        raise_for(r, f"fetching blob {blob.digest}")
    data = r.content
    actual = dg.of_bytes(data)
    if actual != blob.digest:
        raise DigestMismatch(f"blob {blob.digest}", blob.digest, actual)
    return data


# -- upload ------------------------------------------------------------------------------

def _with_digest(location: str, digest: str) -> str:
    """``location`` with ``digest=<digest>`` added to (or replacing it in) its query."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    u = urlsplit(location)
    q = [(k, v) for k, v in parse_qsl(u.query, keep_blank_values=True) if k != "digest"]
    return urlunsplit(u._replace(query=urlencode([*q, ("digest", digest)])))


def _body(source: BlobSource, digest: str, start: int, end: int, progress, key
          ) -> Iterator[bytes]:
    with source.open(digest) as f:
        f.seek(start)
        left = end - start
        while left > 0:
            b = f.read(min(CHUNK, left))
            if not b:
                raise SkiffError(f"blob {digest}", "local blob shorter than its size")
            left -= len(b)
            progress.advance(key, len(b))
            yield b


def blob_exists(reg: Registry, repo: str, digest: str) -> bool:
    """``HEAD /v2/<repo>/blobs/<digest>``: True on 200, False on 404."""
    r = reg.request("HEAD", f"/v2/{repo}/blobs/{digest}", scopes=(push_scope(repo),),
                    what=f"blob {digest}")
    r.close()
    if r.status_code == 200:
        return True
    if r.status_code == 404:
        return False
    raise_for(r, f"checking blob {digest}")
    return False


def upload_blob(reg: Registry, repo: str, blob: Blob, source: BlobSource,
                progress: NullProgress | None = None, *, mount_from: tuple[str, ...] = (),
                chunk_size: int = CHUNK_UPLOAD, key: str | None = None) -> str:
    """Make sure the registry has ``blob`` in ``repo``; returns what happened:
    ``"exists"`` (HEAD hit), ``"mounted"`` (cross-repository mount from one of
    ``mount_from``), or ``"pushed"``.

    Blobs up to ``chunk_size`` bytes go up in one PUT, bigger ones in PATCH chunks. A
    connection broken during the upload is resumed: the session's ``GET <location>`` gives
    the received range and only the rest is sent (up to RESUMES times without progress).
    Raises RegistryError / Unauthorized with the registry's error, Unavailable.
    """
    progress = progress or NullProgress()
    key = key or short_id(blob.digest)
    if blob_exists(reg, repo, blob.digest):
        progress.status(key, "Layer already exists")
        return "exists"
    base = f"/v2/{repo}/blobs/uploads/"
    location = None
    for other in mount_from:
        if other == repo:
            continue
        scopes = (push_scope(repo), pull_scope(other))
        r = reg.request("POST", base + f"?mount={blob.digest}&from={other}", scopes=scopes,
                        what=f"mounting blob {blob.digest}", retry=True)
        r.close()
        if r.status_code == 201:
            progress.status(key, f"Mounted from {other}")
            return "mounted"
        if r.status_code == 202:
            location = r.headers.get("Location")
            break
    if location is None:
        location = _start_upload(reg, repo, blob.digest)
    _send(reg, repo, blob, source, location, progress, key, chunk_size)
    progress.status(key, "Pushed")
    return "pushed"


def _start_upload(reg: Registry, repo: str, digest: str) -> str:
    r = reg.request("POST", f"/v2/{repo}/blobs/uploads/", scopes=(push_scope(repo),),
                    headers={"Content-Length": "0"}, what=f"uploading blob {digest}",
                    retry=True)
    r.close()
    if r.status_code != 202 or not r.headers.get("Location"):
        r.read()
        raise_for(r, f"starting upload of blob {digest}")
    return r.headers["Location"]


def _upload_status(reg: Registry, repo: str, location: str) -> tuple[int, str]:
    """(bytes the registry holds, the session's current location) — spec "Upload progress"."""
    r = reg.request("GET", location, scopes=(push_scope(repo),), what="upload status")
    r.close()
    if r.status_code != 204:
        r.read()
        raise_for(r, "upload status")
    rng = r.headers.get("Range", "")
    received = 0
    if "-" in rng:
        try:
            received = int(rng.split("-", 1)[1]) + 1
        except ValueError:
            received = 0
    return received, r.headers.get("Location") or location


def _cancel(reg: Registry, repo: str, location: str) -> None:
    """``DELETE <location>`` (end-14), best effort."""
    try:
        reg.request("DELETE", location, scopes=(push_scope(repo),), what="cancel upload",
                    retry=False).close()
    except SkiffError:
        pass


def _put_final(reg: Registry, location: str, blob: Blob, scopes: tuple[str, ...],
               headers: dict[str, str], content=None) -> None:
    """``PUT <location>?digest=…`` (end-6: a monolithic upload, or the close of a chunked one):
    returns on 201 Created, raises the registry's error (raise_for) otherwise."""
    r = reg.request("PUT", _with_digest(location, blob.digest), scopes=scopes,
                    headers=headers, content=content,
                    what=f"uploading blob {blob.digest}", retry=False)
    r.close()
    if r.status_code == 201:
        return
    r.read()
    raise_for(r, f"uploading blob {blob.digest}")


def _send(reg: Registry, repo: str, blob: Blob, source: BlobSource, location: str,
          progress, key: str, chunk_size: int) -> None:
    scopes = (push_scope(repo),)
    progress.start(key, blob.size, "Pushing")
    offset = 0
    failures = 0
    while True:
        start = offset
        try:
            if offset == 0 and blob.size <= chunk_size:
                _put_final(reg, location, blob, scopes,
                           {"Content-Type": "application/octet-stream",
                            "Content-Length": str(blob.size)},
                           lambda: _body(source, blob.digest, 0, blob.size, progress, key))
                return
            while offset < blob.size:
                end = min(offset + chunk_size, blob.size)
                lo = offset
                r = reg.request(
                    "PATCH", location, scopes=scopes,
                    headers={"Content-Type": "application/octet-stream",
                             "Content-Length": str(end - lo),
                             "Content-Range": f"{lo}-{end - 1}"},
                    content=lambda lo=lo, end=end: _body(source, blob.digest, lo, end,
                                                         progress, key),
                    what=f"uploading blob {blob.digest}", retry=False)
                r.close()
                if r.status_code != 202:
                    r.read()
                    raise_for(r, f"uploading blob {blob.digest}")
                location = r.headers.get("Location") or location
                offset = end
            _put_final(reg, location, blob, scopes, {"Content-Length": "0"})
            return
        except Unavailable as e:
            # The connection broke (the transport gives up at once for non-idempotent
            # requests): ask the registry what it has and send only the rest.
            try:
                received, location = _upload_status(reg, repo, location)
            except (NotFound, RegistryError):
                # The session is gone or cannot be resumed (distribution 2.x signs the
                # offset into the URL's _state, so after a lost answer the URL is stale):
                # drop it and start over in a fresh session.
                _cancel(reg, repo, location)
                received, location = 0, _start_upload(reg, repo, blob.digest)
            if received > blob.size:
                received = 0
            failures = failures + 1 if received <= start else 1
            if failures > RESUMES:
                raise e
            if received < offset:
                progress.advance(key, received - offset)
            offset = received
            _backoff(failures)
