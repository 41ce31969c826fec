"""Snapshots: layer stack levels on disk, shared between images, mounted with overlayfs.

Public API (docs/contracts.md "skiff.snapshots"):

- :class:`Mount`, :func:`mount_all`, :func:`unmount` (skiff.snapshots.mount)
- :class:`Snapshotter`, :class:`Info`, :class:`Kind` (skiff.snapshots.overlay)
- :class:`Usage`, :func:`disk_usage` (skiff.snapshots.usage, imported when first asked
  for: only ``df``-like commands walk the disk)
- :func:`unpack` (skiff.snapshots.unpacker; imported when first called, so that
  ``skiff run`` on an unpacked image does not load tarfile and the layer code)
"""

from __future__ import annotations

from skiff.snapshots.mount import Mount, mount_all, unmount
from skiff.snapshots.overlay import Info, Kind, Snapshotter


def unpack(snapshotter, content, image, *, progress=None):
    """See :func:`skiff.snapshots.unpacker.unpack` (same arguments, result and errors)."""
    from skiff.snapshots.unpacker import unpack as _unpack

    return _unpack(snapshotter, content, image, progress=progress)


__all__ = ["Info", "Kind", "Mount", "Snapshotter", "Usage", "disk_usage", "mount_all",
           "unmount", "unpack"]


def __getattr__(name: str):
    if name in ("Usage", "disk_usage"):
        from skiff.snapshots import usage

        return getattr(usage, name)
    raise AttributeError(f"module 'skiff.snapshots' has no attribute {name!r}")
