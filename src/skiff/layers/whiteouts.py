"""Whiteouts: how a layer says "this path was deleted", in the two dialects skiff meets.

OCI layer tars (image-spec layer.md, "Whiteouts",
https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts):

- ``DIR/.wh.NAME`` — an empty file whose presence deletes ``DIR/NAME`` from the layers below.
- ``DIR/.wh..wh..opq`` — an *opaque whiteout*: every entry of ``DIR`` that comes from a
  lower layer is hidden; entries of ``DIR`` in the same layer are kept.
- Other names starting with ``.wh..wh.`` are AUFS metadata (``.wh..wh.plnk``, ...) and are
  ignored, as Docker does.

overlayfs upper directories (kernel Documentation/filesystems/overlayfs.rst, "whiteouts and
opaque directories"):

- a character device with device number 0/0 named ``NAME`` deletes ``NAME``;
- a directory with the xattr ``trusted.overlay.opaque`` = ``y`` is opaque.
"""

from __future__ import annotations

import os
import stat

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"

OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
OVERLAY_XATTR_PREFIX = "trusted.overlay."


def is_whiteout_name(base: str) -> bool:
    """True when a tar entry's base name is any OCI/AUFS whiteout or whiteout metadata."""
    return base.startswith(WHITEOUT_PREFIX)


def whiteout_target(base: str) -> str | None:
    """The name ``.wh.NAME`` deletes (``NAME``), or None for opaque/metadata entries."""
    if base.startswith(WHITEOUT_META_PREFIX) or not base.startswith(WHITEOUT_PREFIX):
        return None
    return base[len(WHITEOUT_PREFIX):]


def is_overlay_whiteout(st: os.stat_result) -> bool:
    """True for an overlayfs whiteout: a character device numbered 0/0."""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_overlay_opaque(path: str | os.PathLike[str]) -> bool:
    """True when the directory at ``path`` carries ``trusted.overlay.opaque=y``."""
    try:
        return os.getxattr(path, OVERLAY_OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def make_overlay_whiteout(path: str, uid: int = 0, gid: int = 0) -> None:
    """Create an overlayfs whiteout (char device 0/0, mode 0) at ``path`` (needs CAP_MKNOD)."""
    os.mknod(path, stat.S_IFCHR | 0o000, 0)
    os.chown(path, uid, gid, follow_symlinks=False)


def mark_overlay_opaque(path: str) -> None:
    """Mark the directory at ``path`` opaque for overlayfs (needs CAP_SYS_ADMIN)."""
    os.setxattr(path, OVERLAY_OPAQUE_XATTR, b"y", follow_symlinks=False)
