"""Content-addressed blob store (OCI image-layout ``blobs/sha256/<hex>``), atomic ingest.

See :mod:`skiff.content.store` for the lifecycle of a write.
"""

from __future__ import annotations

from skiff.content.protocols import BlobWriter, Ingester, IngestManager, Manager, Provider
from skiff.content.store import ContentStore, Writer

__all__ = ["BlobWriter", "ContentStore", "IngestManager", "Ingester", "Manager", "Provider",
           "Writer"]
