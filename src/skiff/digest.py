"""sha256 digests as the OCI image-spec writes them (``sha256:<64 lowercase hex>``).

image-spec descriptor.md "Digests": ``algorithm ":" encoded``; skiff produces and accepts
sha256 only (sha512 is refused with InvalidArgument).
"""

from __future__ import annotations

import hashlib
import re
from typing import BinaryIO

from skiff.errors import InvalidArgument

_SHA256 = re.compile(r"^sha256:[a-f0-9]{64}$")
CHUNK = 1 << 20  # bytes read at a time when hashing streams


def is_digest(s: str) -> bool:
    """True for a well-formed ``sha256:<64 hex>``."""
    return bool(_SHA256.match(s))


def validate(s: str) -> str:
    """Return ``s`` if it is a well-formed sha256 digest, else raise InvalidArgument."""
    if not _SHA256.match(s):
        raise InvalidArgument(f"invalid digest {s!r}", "expected sha256:<64 hex characters>")
    return s


def encoded(d: str) -> str:
    """The hex part of a digest (``sha256:abc…`` → ``abc…``)."""
    return validate(d).split(":", 1)[1]


def of_bytes(data: bytes) -> str:
    """Digest of a byte string."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def of_stream(f: BinaryIO) -> tuple[str, int]:
    """Digest and size in bytes of everything left in ``f`` (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    n = 0
    while chunk := f.read(CHUNK):
        h.update(chunk)
        n += len(chunk)
    return "sha256:" + h.hexdigest(), n


def chain_ids(diff_ids: list[str]) -> list[str]:
    """ChainIDs of a layer stack, bottom first (image-spec config.md "Layer ChainID").

    ``ChainID(L0) = DiffID(L0)``; ``ChainID(L0|…|Ln) = sha256(ChainID(L0|…|Ln-1) + " " + DiffID(Ln))``.
    """
    out: list[str] = []
    for d in diff_ids:
        out.append(d if not out else of_bytes(f"{out[-1]} {d}".encode()))
    return out
