"""Media types of the OCI image-spec and of Docker's image manifest v2 schema 2, side by side.

OCI: image-spec media-types.md. Docker: distribution's "Image Manifest Version 2, Schema 2".
Docker's types are accepted wherever an OCI one is (DESIGN.md "Standards are the data model").
"""

from __future__ import annotations

# OCI image-spec media-types.md
OCI_DESCRIPTOR = "application/vnd.oci.descriptor.v1+json"
OCI_LAYOUT_HEADER = "application/vnd.oci.layout.header.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDIST_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

# Docker image manifest v2 schema 2
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

# image-spec annotations.md: the name of a manifest in an OCI layout's index.json
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"

_LAYERS = {
    OCI_LAYER: "none", OCI_LAYER_GZIP: "gzip", OCI_LAYER_ZSTD: "zstd",
    OCI_LAYER_NONDIST: "none", OCI_LAYER_NONDIST_GZIP: "gzip", OCI_LAYER_NONDIST_ZSTD: "zstd",
    DOCKER_LAYER: "none", DOCKER_LAYER_GZIP: "gzip", DOCKER_LAYER_ZSTD: "zstd",
    DOCKER_FOREIGN_LAYER: "gzip",
}
MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEXES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
CONFIGS = frozenset({OCI_CONFIG, DOCKER_CONFIG})

# image-spec-facts "docker_to_oci_media_types": the conversion Docker → OCI.
DOCKER_TO_OCI = {
    DOCKER_MANIFEST_LIST: OCI_INDEX,
    DOCKER_MANIFEST: OCI_MANIFEST,
    DOCKER_LAYER_GZIP: OCI_LAYER_GZIP,
    DOCKER_LAYER: OCI_LAYER,
    DOCKER_LAYER_ZSTD: OCI_LAYER_ZSTD,
    DOCKER_CONFIG: OCI_CONFIG,
}


def is_layer(mt: str) -> bool:
    """True for any OCI or Docker layer media type (compressed or not)."""
    return mt in _LAYERS


def is_manifest(mt: str) -> bool:
    """True for an OCI image manifest or a Docker schema2 manifest."""
    return mt in MANIFESTS


def is_index(mt: str) -> bool:
    """True for an OCI image index or a Docker manifest list."""
    return mt in INDEXES


def is_config(mt: str) -> bool:
    """True for an OCI or Docker image config."""
    return mt in CONFIGS


def compression_of(mt: str) -> str:
    """'gzip' | 'zstd' | 'none' for a layer media type.

    Raises:
        skiff.errors.InvalidArgument: ``mt`` is not a layer media type.
    """
    try:
        return _LAYERS[mt]
    except KeyError:
        from skiff.errors import InvalidArgument

        raise InvalidArgument(f"media type {mt!r}", "not a layer media type") from None


def layer_type(compression: str, *, docker: bool = False) -> str:
    """The layer media type for a compression ('gzip' | 'zstd' | 'none')."""
    table = ({"gzip": DOCKER_LAYER_GZIP, "zstd": DOCKER_LAYER_ZSTD, "none": DOCKER_LAYER}
             if docker else {"gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD, "none": OCI_LAYER})
    return table[compression]
