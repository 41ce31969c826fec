"""Snapshots: layer stack levels on disk, shared between images, mounted with overlayfs.

Public API (docs/contracts.md "skiff.snapshots"):

- :class:`Mount`, :func:`mount_all`, :func:`unmount` (skiff.snapshots.mount)
- :class:`Snapshotter`, :class:`Info`, :class:`Kind` (skiff.snapshots.overlay)
- :func:`unpack` (skiff.snapshots.unpack)
"""

from __future__ import annotations

from skiff.snapshots.mount import Mount, mount_all, unmount
from skiff.snapshots.overlay import Info, Kind, Snapshotter
from skiff.snapshots.unpack import unpack
from skiff.snapshots.usage import Usage, disk_usage

__all__ = ["Info", "Kind", "Mount", "Snapshotter", "Usage", "disk_usage", "mount_all",
           "unmount", "unpack"]
