"""Value types of the image store: Layer, Image, RemoveReport."""

from __future__ import annotations

from dataclasses import dataclass, field

from skiff import digest as _digest
from skiff.oci import ImageConfig, Manifest


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer of an image.

    Attributes:
        digest (str): digest of the blob as stored (compressed or not).
        size (int): blob size in bytes.
        media_type (str): OCI or Docker layer media type (says the compression).
        diff_id (str): digest of the uncompressed tar (image-spec config.md rootfs.diff_ids).
        uncompressed_size (int | None): bytes of the uncompressed tar, when known.
        unpacked_size (int | None): bytes the layer's files take unpacked, as Docker counts
            a layer (regular file sizes + symlink target lengths), when known.
    """

    digest: str
    size: int
    media_type: str
    diff_id: str
    uncompressed_size: int | None = None
    unpacked_size: int | None = None

    @property
    def docker_size(self) -> int:
        """The size ``docker images``/``history`` show for this layer: the unpacked size,
        else the tar size, else the blob size (whichever is known first)."""
        for v in (self.unpacked_size, self.uncompressed_size):
            if v is not None:
                return v
        return self.size


@dataclass(frozen=True, slots=True)
class Image:
    """A stored image: its config (ID), manifest, layers and names.

    Attributes:
        id (str): ``sha256:<hex>`` of the config blob (Docker's image ID).
        config (ImageConfig), manifest (Manifest), manifest_digest (str), manifest_size (int).
        layers (tuple[Layer, ...]): bottom first, one per diffID.
        repo_tags (tuple[str, ...]): familiar names (``busybox:latest``), sorted.
        repo_digests (tuple[str, ...]): familiar ``repo@sha256:...``, sorted.
        created (str): the config's RFC 3339 creation time ("" when absent).
        size (int): bytes of the unpacked layers as Docker counts them (``docker images``
            SIZE, inspect ``Size``): the sum of each layer's :attr:`Layer.docker_size`.
        parent (str | None): ID of the image this one was built on locally, if recorded.
        added (float): unix time the store first saw it. last_tag_time (float | None).
    """

    id: str
    config: ImageConfig
    manifest: Manifest
    manifest_digest: str
    manifest_size: int
    layers: tuple[Layer, ...]
    repo_tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()
    parent: str | None = None
    added: float = 0.0
    last_tag_time: float | None = None

    @property
    def short_id(self) -> str:
        """The 12 hex characters ``docker images`` shows."""
        return self.id.split(":", 1)[1][:12]

    @property
    def diff_ids(self) -> list[str]:
        return self.config.diff_ids

    @property
    def chain_ids(self) -> list[str]:
        """ChainIDs of every level, bottom first (image-spec config.md "Layer ChainID")."""
        return _digest.chain_ids(self.diff_ids)

    @property
    def chain_id(self) -> str | None:
        """The top chainID (what the snapshotter names the image's rootfs), None if no layers."""
        ids = self.chain_ids
        return ids[-1] if ids else None

    @property
    def created(self) -> str:
        return self.config.created or ""

    @property
    def size(self) -> int:
        return sum(x.docker_size for x in self.layers)

    @property
    def dangling(self) -> bool:
        """No tags: shown as ``<none>:<none>``."""
        return not self.repo_tags


@dataclass(frozen=True, slots=True)
class RemoveReport:
    """What ``ImageService.remove`` did, in order, as ``docker rmi`` prints it.

    Attributes:
        untagged (list[str]): names removed (familiar form), printed ``Untagged: X``.
        deleted (list[str]): image IDs deleted, printed ``Deleted: sha256:...``.
        errors (list[str]): one message per reference that failed (exit code 1 if any).
    """

    untagged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0
