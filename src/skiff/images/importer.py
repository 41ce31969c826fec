"""``docker import``: a rootfs tar (any compression) → a one-layer image.

The tar streams once: decompressed, checked (:class:`~skiff.images.tarcheck.TarChecker`),
hashed (diffID) and gzip-compressed into a content-store ingest
(:func:`skiff.layers.compression.compress_layer`). Nothing becomes visible unless the whole
archive is sound; memory stays at a few MiB whatever the size.

The config follows moby's image_import.go: ``comment`` and one history entry
``Imported from -``, the host platform, the changes applied to an empty config.
"""

from __future__ import annotations

import datetime as _dt
import uuid
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, BinaryIO

from skiff.errors import AlreadyExists, InvalidArgument
from skiff.images.changes import apply_changes
from skiff.images.model import Image, Layer
from skiff.images.tarcheck import TarChecker
from skiff.oci import host_platform, mediatypes

if TYPE_CHECKING:
    from skiff.images.service import ImageService


def now_rfc3339() -> str:
    """The current UTC time as Go's RFC3339Nano (trailing zeros of the fraction dropped)."""
    t = _dt.datetime.now(_dt.UTC)
    frac = f"{t.microsecond:06d}".rstrip("0")
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


class CheckingReader:
    """Reads from ``src`` while feeding every byte to a TarChecker; translates decoder errors."""

    def __init__(self, src: BinaryIO):
        self.src = src
        self.checker = TarChecker()

    def read(self, n: int = -1) -> bytes:
        try:
            b = self.src.read(n)
        except (OSError, EOFError, zlib.error) as e:
            raise InvalidArgument("invalid tar archive", f"decompressing: {e}") from None
        except Exception as e:
            if type(e).__name__ == "ZstdError":
                raise InvalidArgument("invalid tar archive", f"decompressing: {e}") from None
            raise
        if b:
            self.checker.feed(b)
        else:
            self.checker.close()
        return b


def ingest_layer(service: ImageService, stream: BinaryIO, *, compression: str = "gzip") -> Layer:
    """Stream a layer tar (any compression) into the content store as a ``compression`` blob.

    Returns the Layer (digest, size, media type, diffID, uncompressed size). Raises
    InvalidArgument for a corrupt/truncated archive; the store is unchanged then.
    """
    from skiff.layers.compression import compress_layer, decompressed

    reader = CheckingReader(decompressed(stream))
    w = service.content.writer(f"import-{uuid.uuid4().hex}")
    try:
        res = compress_layer(reader, w, compression)
        reader.checker.close()
    except BaseException:
        w.abort()
        raise
    try:
        service.protect(res.digest)
        w.commit(digest=res.digest, size=res.size)
    except AlreadyExists:
        pass
    except BaseException:
        w.abort()
        raise
    return Layer(digest=res.digest, size=res.size, media_type=mediatypes.layer_type(compression),
                 diff_id=res.diff_id, uncompressed_size=res.uncompressed_size,
                 unpacked_size=reader.checker.content_size)


def import_rootfs(service: ImageService, stream: BinaryIO, *, tag: str | None = None,
                  changes: Sequence[str] = (), message: str | None = None) -> Image:
    """Make a one-layer image from a rootfs tar stream; tag it ``tag`` if given.

    Args:
        stream: the tar (plain, gzip, bzip2, xz or zstd).
        tag: ``REPOSITORY[:TAG]`` (``:latest`` added).
        changes: ``--change`` lines (CMD, ENV, WORKDIR, ...).
        message: the commit message (default ``Imported from -``).
    Raises InvalidArgument (bad tar, bad change, bad name) before anything is recorded.
    """
    from skiff import reference

    if tag is not None:
        ref = reference.parse(tag)
        if ref.digest:
            raise InvalidArgument("refusing to create a tag with a digest reference")
    cfg_section = apply_changes({}, changes)
    with service.leased():
        return _import(service, stream, tag, cfg_section, message)


def _import(service: ImageService, stream: BinaryIO, tag: str | None, cfg_section: dict,
            message: str | None) -> Image:
    layer = ingest_layer(service, stream)
    msg = message or "Imported from -"
    created = now_rfc3339()
    plat = host_platform()
    config = {"architecture": plat.architecture, "os": plat.os, "created": created,
              "comment": msg, "config": cfg_section,
              "history": [{"created": created, "comment": msg}]}
    if plat.variant:
        config["variant"] = plat.variant
    return service.create(config, [layer], tags=[tag] if tag else [])
