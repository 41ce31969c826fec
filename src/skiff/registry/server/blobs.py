"""Blob endpoints: pull (GET/HEAD with Range), push (POST/PATCH/PUT), upload status,
cancel, cross-repository mount and delete (distribution-spec end-2, end-4 ... end-6,
end-10, end-11, end-13, end-14).

Bodies stream through: request chunks are gathered to 1 MiB and handed to the storage
writer in a worker thread (hashing runs there too, outside the event loop), and blobs go
out in 1 MiB reads, so memory does not grow with blob size.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

from anyio import to_thread
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from skiff.errors import DigestMismatch, NotFound
from skiff.registry.server.errors import RegistryError
from skiff.registry.storage import ALGORITHMS, Storage, valid_digest

GATHER = 1 << 20  # bytes gathered from the request before one write to storage
_CONTENT_RANGE = re.compile(r"^(?:bytes[ =])?(\d+)-(\d+)(?:/(\d+|\*))?$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def check_digest(d: str | None) -> str:
    """``d`` if it is a supported digest, else 400 DIGEST_INVALID."""
    if d is None or not valid_digest(d):
        raise RegistryError("DIGEST_INVALID", {"digest": d},
                            message="invalid or unsupported digest")
    return d


def _upload_headers(name: str, upload_id: str, offset: int) -> dict[str, str]:
    # Docker's registry reports "0-0" for an empty upload; the last byte otherwise.
    return {
        "Location": f"/v2/{name}/blobs/uploads/{upload_id}",
        "Range": f"0-{max(offset - 1, 0)}",
        "Docker-Upload-UUID": upload_id,
        "Content-Length": "0",
    }


def _blob_created(name: str, digest: str) -> Response:
    return Response(b"", status_code=201, headers={
        "Location": f"/v2/{name}/blobs/{digest}",
        "Docker-Content-Digest": digest,
    })


async def _drain(request: Request) -> None:
    """Read and drop what is left of the request body (so the connection stays usable)."""
    try:
        async for _ in request.stream():
            pass
    except (ClientDisconnect, RuntimeError):
        pass


async def _receive_into(store: Storage, request: Request, upload_id: str,
                        expected: int | None = None) -> int:
    """Append the request body to the upload; returns the new offset.

    Pipelined: while a worker thread writes and hashes one 1 MiB batch, the event loop keeps
    receiving the next (at most two batches in memory per request). A body that stops early
    (client gone) or does not match ``expected`` bytes is rolled back: the session keeps only
    what earlier requests completed.
    """
    loop = asyncio.get_running_loop()
    writer = await to_thread.run_sync(store.upload_writer, upload_id)
    start = writer.offset
    pending: asyncio.Future | None = None
    try:
        parts: list[bytes] = []
        gathered = 0
        async for chunk in request.stream():
            parts.append(chunk)
            gathered += len(chunk)
            if gathered >= GATHER:
                data = b"".join(parts)
                parts.clear()
                gathered = 0
                if pending is not None:
                    await pending
                pending = loop.run_in_executor(None, writer.write, data)
        if pending is not None:
            await pending
            pending = None
        if parts:
            await to_thread.run_sync(writer.write, b"".join(parts))
        if expected is not None and writer.offset - start != expected:
            raise RegistryError("SIZE_INVALID", {"expected": expected,
                                                 "received": writer.offset - start})
    except BaseException:
        if pending is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(pending)
        await to_thread.run_sync(writer.rollback)
        raise
    await to_thread.run_sync(writer.close)
    return writer.offset


def _content_length(request: Request) -> int | None:
    v = request.headers.get("content-length")
    if v is None:
        return None
    if not v.isdigit():
        raise RegistryError("SIZE_INVALID", {"Content-Length": v})
    return int(v)


async def _finish(store: Storage, name: str, upload_id: str, digest: str) -> Response:
    try:
        await to_thread.run_sync(store.commit_upload, upload_id, digest)
    except DigestMismatch as e:
        raise RegistryError("DIGEST_INVALID", {"expected": e.expected, "actual": e.actual}) from e
    store.link_blob(name, digest)
    return _blob_created(name, digest)


def _state(store: Storage, name: str, upload_id: str):
    try:
        st = store.upload_state(upload_id)
    except NotFound as e:
        raise RegistryError("BLOB_UPLOAD_UNKNOWN", {"uuid": upload_id}) from e
    if st.repo != name:
        raise RegistryError("BLOB_UPLOAD_UNKNOWN", {"uuid": upload_id})
    return st


async def start_upload(store: Storage, request: Request, name: str) -> Response:
    """POST /v2/<name>/blobs/uploads/ (end-4a/4b/4c, end-11: mount)."""
    q = request.query_params
    mount = q.get("mount")
    if mount is not None and valid_digest(mount):
        source = q.get("from")
        if source is not None:
            ok = store.blob_linked(source, mount)
        else:  # anonymous mount: any blob the registry already holds
            ok = store.blob_size(mount) is not None
        if ok:
            await _drain(request)
            store.link_blob(name, mount)
            return _blob_created(name, mount)
    digest = q.get("digest")
    algorithm = q.get("digest-algorithm")
    if digest is not None:
        check_digest(digest)
        algorithm = digest.split(":", 1)[0]
    elif algorithm is not None and algorithm not in ALGORITHMS:
        raise RegistryError("UNSUPPORTED", {"digest-algorithm": algorithm}, status=400,
                            message="unsupported digest algorithm")
    length = _content_length(request)
    st = await to_thread.run_sync(store.start_upload, name, algorithm or "sha256")
    if digest is not None:  # monolithic upload in one POST
        try:
            await _receive_into(store, request, st.id, length)
            return await _finish(store, name, st.id, digest)
        except BaseException:
            await to_thread.run_sync(_cancel_quietly, store, st.id)
            raise
    await _drain(request)
    return Response(b"", status_code=202, headers=_upload_headers(name, st.id, 0))


def _cancel_quietly(store: Storage, upload_id: str) -> None:
    try:
        store.cancel_upload(upload_id)
    except NotFound:
        pass


def _check_range(request: Request, offset: int, length: int | None, name: str,
                 upload_id: str) -> None:
    """Content-Range must start at the session's offset (else 416 with where it stands)."""
    cr = request.headers.get("content-range")
    if cr is None:
        return
    m = _CONTENT_RANGE.match(cr.strip())
    bad = m is None or int(m.group(1)) != offset or int(m.group(2)) < int(m.group(1)) - 1
    if not bad and length is not None and int(m.group(2)) - int(m.group(1)) + 1 != length:
        bad = True
    if bad:
        raise RegistryError("BLOB_UPLOAD_INVALID", {"Content-Range": cr, "offset": offset},
                            status=416, message="chunk out of order or malformed Content-Range",
                            headers=_upload_headers(name, upload_id, offset))


async def patch_upload(store: Storage, request: Request, name: str, upload_id: str) -> Response:
    """PATCH <location>: append a chunk (end-5); 416 when it does not continue the upload."""
    st = _state(store, name, upload_id)
    length = _content_length(request)
    try:
        _check_range(request, st.offset, length, name, upload_id)
    except RegistryError:
        await _drain(request)
        raise
    offset = await _receive_into(store, request, upload_id, length)
    return Response(b"", status_code=202, headers=_upload_headers(name, upload_id, offset))


async def put_upload(store: Storage, request: Request, name: str, upload_id: str) -> Response:
    """PUT <location>?digest=: optional last chunk, then verify and commit (end-6)."""
    st = _state(store, name, upload_id)
    digest = request.query_params.get("digest")
    length = _content_length(request)
    try:
        check_digest(digest)
        _check_range(request, st.offset, length, name, upload_id)
    except RegistryError:
        await _drain(request)
        raise
    if length != 0:
        await _receive_into(store, request, upload_id, length)
    return await _finish(store, name, upload_id, digest)


def upload_status(store: Storage, name: str, upload_id: str) -> Response:
    """GET <location>: 204 with Range = bytes received (end-13)."""
    st = _state(store, name, upload_id)
    return Response(b"", status_code=204, headers=_upload_headers(name, upload_id, st.offset))


async def cancel_upload(store: Storage, name: str, upload_id: str) -> Response:
    """DELETE <location>: drop the session (end-14)."""
    _state(store, name, upload_id)
    try:
        await to_thread.run_sync(store.cancel_upload, upload_id)
    except NotFound as e:
        raise RegistryError("BLOB_UPLOAD_UNKNOWN", {"uuid": upload_id}) from e
    return Response(b"", status_code=204)


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) of a single ``bytes=`` range; None when unsatisfiable."""
    m = _RANGE.match(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):  # suffix: the last N bytes
        n = int(m.group(2))
        return (max(size - n, 0), size) if n > 0 and size > 0 else None
    start = int(m.group(1))
    end = int(m.group(2)) + 1 if m.group(2) else size
    if start >= size or end <= start:
        return None
    return start, min(end, size)


async def get_blob(store: Storage, request: Request, name: str, digest: str) -> Response:
    """GET/HEAD /v2/<name>/blobs/<digest> (end-2), with a single byte Range (206/416)."""
    check_digest(digest)
    size = store.blob_size(digest) if store.blob_linked(name, digest) else None
    if size is None:
        raise RegistryError("BLOB_UNKNOWN", {"digest": digest})
    headers = {
        "Docker-Content-Digest": digest,
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
        "ETag": f'"{digest}"',
        "Cache-Control": "max-age=31536000",
    }
    start, end, status = 0, size, 200
    rng = request.headers.get("range")
    if rng is not None:
        parsed = _parse_range(rng, size)
        if parsed is None:
            raise RegistryError("BLOB_UNKNOWN", {"Range": rng}, status=416,
                                message="requested range not satisfiable",
                                headers={"Content-Range": f"bytes */{size}"})
        start, end = parsed
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    if request.method == "HEAD":
        return Response(b"", status_code=status, headers=headers)
    return _StreamingBlob(_stream(store, digest, start, end), status_code=status,
                          headers=headers)


class _StreamingBlob(StreamingResponse):
    """A StreamingResponse that keeps our Content-Length (no chunked encoding)."""


async def _stream(store: Storage, digest: str, start: int, end: int) -> AsyncIterator[bytes]:
    it = store.read_blob(digest, start, end)
    try:
        while True:
            chunk = await to_thread.run_sync(next, it, None)
            if chunk is None:
                return
            yield chunk
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            await to_thread.run_sync(close)


def delete_blob(store: Storage, name: str, digest: str) -> Response:
    """DELETE /v2/<name>/blobs/<digest> (end-10): unlink from the repository; gc frees it."""
    check_digest(digest)
    if not store.unlink_blob(name, digest):
        raise RegistryError("BLOB_UNKNOWN", {"digest": digest})
    return Response(b"", status_code=202, headers={"Docker-Content-Digest": digest,
                                                    "Content-Length": "0"})
