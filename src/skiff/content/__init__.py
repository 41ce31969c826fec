"""Content-addressed blob store (OCI image-layout ``blobs/sha256/<hex>``), atomic ingest.

See :mod:`skiff.content.store` for the lifecycle of a write.
"""

from __future__ import annotations

from skiff.content.store import ContentStore, Writer

__all__ = ["ContentStore", "Writer"]
