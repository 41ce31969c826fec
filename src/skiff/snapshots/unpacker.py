"""Unpack an image's layers into committed snapshots named by chainID.

For each layer, bottom-up (containerd core/unpack, image-spec config.md "Layer ChainID"):
if the snapshot named by the level's chainID exists, skip it (this is how images sharing a
base share its directories); otherwise prepare an active snapshot on the level below,
extract the layer straight into its upper directory (nothing is mounted, so overlay
whiteouts are written as the kernel would), check the tar's sha256 against the config's
diffID, and commit the snapshot under the chainID.

Concurrent unpacks of the same chain (threads or processes) are serialised per chainID by
an ``flock`` on ``snapshots/locks/<hex>``: the loser waits, then finds the snapshot there.
An active snapshot left by a killed unpack is removed by the next unpack of that level.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from typing import Any

from skiff.digest import chain_ids, encoded
from skiff.errors import AlreadyExists, DigestMismatch, InvalidArgument
from skiff.snapshots.overlay import Kind, Snapshotter

UNPACK_PREFIX = "unpack-"


@contextlib.contextmanager
def _chain_lock(sn: Snapshotter, chain_id: str) -> Iterator[None]:
    d = sn.root / "locks"
    d.mkdir(exist_ok=True)
    fd = os.open(d / encoded(chain_id), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def unpack(snapshotter: Snapshotter, content: Any, image: Any, *,
           progress: Callable[[str, str], None] | None = None) -> str | None:
    """Make sure every level of ``image``'s layer chain is a committed snapshot.

    Args:
        snapshotter: where the snapshots live.
        content: a content store: ``content.open(digest) -> BinaryIO`` of a layer blob.
        image: has ``.layers`` (objects with ``.digest``, ``.diff_id``) and ``.diff_ids``
            (the config's rootfs.diff_ids, bottom first); a skiff.images.Image.
        progress: called as ``progress(layer_digest, "exists"|"extracted")`` per layer.

    Returns:
        The chainID of the top level (the parent for a container's snapshot), or None for
        an image without layers.

    Raises:
        InvalidArgument: the layer count and diffID count differ; a layer tar is corrupt or
            hostile (see skiff.layers.apply).
        DigestMismatch: a layer's uncompressed sha256 is not its diffID.
        NotFound: a layer blob is missing from the content store.
    """
    layers = list(image.layers)
    diff_ids = list(getattr(image, "diff_ids", None) or [la.diff_id for la in layers])
    if len(diff_ids) != len(layers):
        raise InvalidArgument("image", f"{len(layers)} layers but {len(diff_ids)} diff_ids")
    chain = chain_ids(diff_ids)
    parent: str | None = None
    for layer, diff_id, chain_id in zip(layers, diff_ids, chain, strict=True):
        state = "exists"
        if not _committed(snapshotter, chain_id):
            with _chain_lock(snapshotter, chain_id):
                if not _committed(snapshotter, chain_id):
                    _unpack_level(snapshotter, content, layer.digest, diff_id, chain_id, parent)
                    state = "extracted"
        if progress is not None:
            progress(layer.digest, state)
        parent = chain_id
    return chain[-1] if chain else None


def _committed(sn: Snapshotter, key: str) -> bool:
    return sn.exists(key) and sn.stat(key).kind == Kind.COMMITTED


def _unpack_level(sn: Snapshotter, content: Any, digest: str, diff_id: str, chain_id: str,
                  parent: str | None) -> None:
    """Extract one layer as the committed snapshot ``chain_id`` (caller holds its lock)."""
    # Imported here: tarfile, lzma and the layer code cost ~35 ms and ``skiff run`` of an
    # image that is already unpacked (the common case) never extracts anything.
    from skiff.layers.apply import apply_tar

    stale_prefix = f"{UNPACK_PREFIX}{encoded(chain_id)}-"
    for info in sn.list():  # a killed unpack of this level: its owner would hold our lock
        if info.kind == Kind.ACTIVE and info.key.startswith(stale_prefix):
            sn.remove(info.key)
    key = stale_prefix + os.urandom(6).hex()
    sn.prepare(key, parent, labels={"skiff.unpack": chain_id})
    try:
        f = content.open(digest)
        try:
            result = apply_tar(sn.upperdir(key), f, whiteouts="overlay")
        finally:
            f.close()
        if result.diff_id != diff_id:
            raise DigestMismatch(f"layer {digest}", diff_id, result.diff_id)
        sn.commit(chain_id, key)
    except AlreadyExists:
        sn.remove(key)  # committed by someone not using our lock: theirs is as good
    except BaseException:
        sn.remove(key)
        raise
