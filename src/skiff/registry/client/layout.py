"""An OCI image-layout directory (image-spec image-layout.md) as a blob sink and source.

``<dir>/oci-layout`` (``{"imageLayoutVersion": "1.0.0"}``), ``<dir>/index.json`` and
``<dir>/blobs/sha256/<hex>``. Partial downloads live in ``<dir>/.ingest/<ref>`` and are
resumed by a later writer with the same ref (its ``offset`` starts at what is there).
Blobs are written temp file → fsync → rename and verified (size and sha256) before the
rename: a wrong byte raises DigestMismatch and stores nothing.

This is what umoci and ``skopeo copy oci:DIR:TAG`` read and write, so tests can hand
images between skiff and those tools through it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import BinaryIO

from skiff import digest as dg
from skiff.content.store import fsync_dir
from skiff.errors import AlreadyExists, DigestMismatch, InvalidArgument, NotFound
from skiff.oci.mediatypes import ANNOTATION_REF_NAME as REF_NAME
from skiff.oci.mediatypes import OCI_INDEX


class LayoutWriter:
    """A resumable blob write into an OCI layout (see module docstring)."""

    def __init__(self, layout: OCILayout, ref: str, expected_digest: str | None,
                 expected_size: int | None):
        if not re.fullmatch(r"[A-Za-z0-9_.:-]+", ref):
            raise InvalidArgument(f"ingest ref {ref!r}", "invalid characters")
        self.layout = layout
        self.expected_digest = expected_digest
        self.expected_size = expected_size
        self.path = layout.root / ".ingest" / ref.replace(":", "-")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "ab")
        self._hash = hashlib.sha256()
        with open(self.path, "rb") as old:
            while chunk := old.read(dg.CHUNK):
                self._hash.update(chunk)
        self._offset = self._f.tell()
        self._done = False

    @property
    def offset(self) -> int:
        return self._offset

    def write(self, data: bytes) -> int:
        self._f.write(data)
        self._hash.update(data)
        self._offset += len(data)
        return len(data)

    def commit(self, size: int | None = None, digest: str | None = None) -> str:
        """Verify and publish; returns the digest. Raises DigestMismatch / InvalidArgument
        (size) after deleting the partial file, AlreadyExists when the blob is there."""
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        actual = "sha256:" + self._hash.hexdigest()
        want = digest or self.expected_digest
        want_size = size if size is not None else self.expected_size
        try:
            if want_size is not None and self._offset != want_size:
                raise InvalidArgument(f"blob {want or actual}",
                                      f"size mismatch: expected {want_size} bytes, got "
                                      f"{self._offset}")
            if want is not None and actual != want:
                raise DigestMismatch(f"blob {want}", want, actual)
        except Exception:
            self.abort()
            raise
        target = self.layout.blob_path(actual)
        self._done = True
        if target.exists():
            self.path.unlink(missing_ok=True)
            raise AlreadyExists(f"blob {actual}", "already exists")
        os.replace(self.path, target)
        fsync_dir(target.parent)
        return actual

    def abort(self) -> None:
        """Drop the partial data."""
        with contextlib.suppress(OSError):
            self._f.close()
        self.path.unlink(missing_ok=True)
        self._done = True

    def close(self) -> None:
        """Keep the partial data for a later resume (no commit)."""
        with contextlib.suppress(OSError):
            self._f.close()
        self._done = True

    def __enter__(self) -> LayoutWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._done:
            if exc_type is None or isinstance(exc, (DigestMismatch, InvalidArgument)):
                self.abort()
            else:
                self.close()  # broken transfer: keep the bytes so a rerun resumes


class OCILayout:
    """An OCI image-layout directory; created (with ``oci-layout``) when missing.

    Blob methods mirror ``skiff.content.ContentStore`` (``exists``, ``writer``, ``open``,
    ``size``, ``read_blob``, ``write_blob``); ``tags``/``add_ref``/``resolve`` edit
    ``index.json`` (refs named by the ``org.opencontainers.image.ref.name`` annotation).
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        marker = self.root / "oci-layout"
        if not marker.exists():
            marker.write_text('{"imageLayoutVersion":"1.0.0"}')
        if not (self.root / "index.json").exists():
            self._write_index({"schemaVersion": 2, "mediaType": OCI_INDEX,
                               "manifests": []})

    def blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / dg.encoded(digest)

    def exists(self, digest: str) -> bool:
        return self.blob_path(digest).exists()

    def size(self, digest: str) -> int:
        try:
            return self.blob_path(digest).stat().st_size
        except FileNotFoundError as e:
            raise NotFound(f"blob {digest}", "not found") from e

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.blob_path(digest), "rb")
        except FileNotFoundError as e:
            raise NotFound(f"blob {digest}", "not found") from e

    def read_blob(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def writer(self, ref: str, *, expected_digest: str | None = None,
               expected_size: int | None = None) -> LayoutWriter:
        return LayoutWriter(self, ref, expected_digest, expected_size)

    def write_blob(self, data: bytes) -> str:
        d = dg.of_bytes(data)
        try:
            with self.writer(f"w-{dg.encoded(d)}", expected_digest=d) as w:
                w.write(data)
                w.commit(len(data), d)
        except AlreadyExists:
            pass
        return d

    # -- index.json ----------------------------------------------------------------------
    def index(self) -> dict:
        return json.loads((self.root / "index.json").read_text())

    def _write_index(self, idx: dict) -> None:
        tmp = self.root / ".index.json.tmp"
        with open(tmp, "w") as f:
            json.dump(idx, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / "index.json")

    def add_ref(self, name: str, descriptor: dict) -> None:
        """Point ref ``name`` at ``descriptor`` (replacing an older entry of that name)."""
        idx = self.index()
        desc = dict(descriptor)
        desc["annotations"] = {**(desc.get("annotations") or {}), REF_NAME: name}
        idx["manifests"] = [m for m in idx.get("manifests", [])
                            if (m.get("annotations") or {}).get(REF_NAME) != name] + [desc]
        self._write_index(idx)

    def resolve(self, name: str) -> dict:
        """The descriptor ref ``name`` points at; NotFound when there is none."""
        for m in self.index().get("manifests", []):
            if (m.get("annotations") or {}).get(REF_NAME) == name:
                return m
        raise NotFound(f"reference {name!r} in {self.root}", "not found")
