"""OCI image-spec types (and Docker schema2 read side by side): media types, descriptors,
manifests, indexes, configs, platforms, and the canonical JSON skiff writes them in."""

from __future__ import annotations

from skiff.oci import mediatypes
from skiff.oci.types import (
    Descriptor,
    ImageConfig,
    Index,
    Manifest,
    Platform,
    canonical_json,
    host_platform,
    parse_document,
)

__all__ = ["mediatypes", "Descriptor", "ImageConfig", "Index", "Manifest", "Platform",
           "canonical_json", "host_platform", "parse_document"]
