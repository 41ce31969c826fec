"""Snapshots: layer stack levels on disk, shared between images, mounted with overlayfs.

Public API (docs/contracts.md "skiff.snapshots"):

- :class:`Mount`, :func:`mount_all`, :func:`unmount` (skiff.snapshots.mount)
- :class:`Snapshotter`, :class:`Info`, :class:`Kind` (skiff.snapshots.overlay)
- :func:`unpack` (skiff.snapshots.unpacker; imported when first called, so that
  ``skiff run`` on an unpacked image does not load tarfile and the layer code)
"""

from __future__ import annotations

from skiff.snapshots.mount import Mount, mount_all, unmount
from skiff.snapshots.overlay import Info, Kind, Snapshotter
from skiff.snapshots.usage import Usage, disk_usage


def unpack(snapshotter, content, image, *, progress=None):
    """See :func:`skiff.snapshots.unpacker.unpack` (same arguments, result and errors)."""
    from skiff.snapshots.unpacker import unpack as _unpack

    return _unpack(snapshotter, content, image, progress=progress)


__all__ = ["Info", "Kind", "Mount", "Snapshotter", "Usage", "disk_usage", "mount_all",
           "unmount", "unpack"]
