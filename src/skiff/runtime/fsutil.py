"""Paths inside a container's root filesystem, resolved without escaping it.

A container's files may hold symlinks that point anywhere (``/etc/passwd -> /host/file``,
``../../..``); every path the engine opens inside a rootfs on the host's behalf (the user
database, ``skiff cp``, volume copy-up) goes through :func:`secure_join`, which resolves
symlinks as the kernel would inside a chroot at ``root`` (the filepath-securejoin rules).
"""

from __future__ import annotations

import errno
import os

from skiff.errors import InvalidArgument

TYPE_CHECKING = False  # (not typing's: `run` starts faster without importing typing)
if TYPE_CHECKING:
    from pathlib import Path

_MAX_LINKS = 255


def secure_join(root: str | os.PathLike[str], path: str) -> Path:
    """``root`` joined with ``path``, every symlink resolved relative to ``root``.

    The result is always ``root`` or below it. Components that do not exist are kept
    as they are (so the result can name a file to create).

    Raises:
        InvalidArgument: more than 255 symlinks on the way (ELOOP).
    """
    from pathlib import Path

    return Path(secure_join_text(root, path))


def secure_join_text(root: str | os.PathLike[str], path: str) -> str:
    """:func:`secure_join` as text (``str(secure_join(root, path))``), without pathlib
    (``skiff run`` reads the image's /etc/passwd through it)."""
    root_s = os.path.abspath(os.fspath(root))
    todo = [p for p in path.split("/") if p]
    done: list[str] = []
    links = 0
    while todo:
        part = todo.pop(0)
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        cur = os.path.join(root_s, *done, part)
        try:
            st = os.lstat(cur)
        except OSError:
            done.append(part)
            continue
        import stat as _stat

        if _stat.S_ISLNK(st.st_mode):
            links += 1
            if links > _MAX_LINKS:
                raise InvalidArgument(path, os.strerror(errno.ELOOP))
            target = os.readlink(cur)
            if target.startswith("/"):
                done = []
            todo = [p for p in target.split("/") if p] + todo
            continue
        done.append(part)
    return os.path.join(root_s, *done)
