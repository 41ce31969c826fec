"""A snapshot's file system without mounting it: writes go to the upper dir, lookups see
the merged view (upper, then the lower dirs newest first) as overlayfs would.

COPY, ADD and WORKDIR only *add* to a fresh snapshot, so they can write straight into its
(empty, unmounted) upper directory; what they need from the layers below is read-only:
whether a destination exists and is a directory, where a symlink on the way points, the
metadata of a directory that has to be copied up, ``/etc/passwd`` for ``--chown``. Skipping
the overlay mount saves a mount/umount pair and the overlay's per-file cost on every create.

Overlay rules followed (kernel Documentation/filesystems/overlayfs.rst): a character device
0/0 is a whiteout (the name is deleted below), a directory with ``trusted.overlay.opaque=y``
hides the directories below it, a non-directory hides everything below it.
"""

from __future__ import annotations

import os
import stat as stmod
from pathlib import Path

from skiff.errors import BuildError

OPAQUE_XATTR = "trusted.overlay.opaque"


def _is_whiteout(st: os.stat_result) -> bool:
    return stmod.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _split(abspath: str) -> list[str]:
    return [p for p in abspath.split("/") if p not in ("", ".")]


class LayeredFS:
    """Merged lookups over ``upper`` + ``lowers`` (newest first); writes go to ``upper``."""

    def __init__(self, upper: Path, lowers: list[Path] | tuple[Path, ...] = ()):
        self.upper = Path(upper)
        self.layers = [os.fspath(upper), *(os.fspath(p) for p in lowers)]

    # -- lookups ------------------------------------------------------------------------------
    def lookup(self, parts: list[str]) -> tuple[str, os.stat_result] | None:
        """The topmost host path and lstat of the (symlink-free) path ``parts``, or None."""
        dirs = self.layers
        for i, comp in enumerate(parts):
            last = i == len(parts) - 1
            nxt: list[str] = []
            for d in dirs:
                p = os.path.join(d, comp)
                try:
                    st = os.lstat(p)
                except (FileNotFoundError, NotADirectoryError):
                    continue
                if _is_whiteout(st):
                    break
                if last and not nxt:
                    return p, st
                if stmod.S_ISDIR(st.st_mode):
                    nxt.append(p)
                    if _is_opaque(p):
                        break
                else:
                    if not nxt and not last:
                        # a non-directory on the way: the caller resolves symlinks first
                        return None
                    break
            if not nxt:
                return None
            dirs = nxt
        if not parts:
            return self.layers[0], os.lstat(self.layers[0])
        return None

    def resolve(self, abspath: str, *, follow_last: bool = True) -> str:
        """``abspath`` with symlinks resolved inside the merged view (absolute targets are
        taken from the root, never the host); ``..`` never leaves the root."""
        parts = _split(abspath)
        out: list[str] = []
        hops = 0
        i = 0
        while i < len(parts):
            comp = parts[i]
            if comp == "..":
                if out:
                    out.pop()
                i += 1
                continue
            cand = [*out, comp]
            found = self.lookup(cand)
            last = i == len(parts) - 1
            if found and stmod.S_ISLNK(found[1].st_mode) and (follow_last or not last):
                hops += 1
                if hops > 40:
                    raise BuildError(abspath, "too many levels of symbolic links")
                target = os.readlink(found[0])
                if target.startswith("/"):
                    out = []
                parts = [*_split(target), *parts[i + 1:]]
                i = 0
                continue
            out = cand
            i += 1
        return "/" + "/".join(out)

    def stat(self, abspath: str) -> os.stat_result | None:
        """lstat of the resolved path in the merged view, or None."""
        found = self.lookup(_split(self.resolve(abspath)))
        return found[1] if found else None

    def is_dir(self, abspath: str) -> bool:
        st = self.stat(abspath)
        return st is not None and stmod.S_ISDIR(st.st_mode)

    def exists(self, abspath: str) -> bool:
        return self.stat(abspath) is not None

    def read_text(self, abspath: str) -> str | None:
        """A file's text from the merged view (None when absent)."""
        found = self.lookup(_split(self.resolve(abspath)))
        if found is None or not stmod.S_ISREG(found[1].st_mode):
            return None
        with open(found[0], errors="replace") as f:
            return f.read()

    # -- writes -------------------------------------------------------------------------------
    def upper_path(self, abspath: str) -> Path:
        """Where ``abspath`` (already resolved) lives in the upper dir."""
        return self.upper.joinpath(*_split(abspath)) if _split(abspath) else self.upper

    def ensure_dir(self, abspath: str, uid: int = 0, gid: int = 0, mode: int = 0o755) -> Path:
        """Make ``abspath`` a directory in the upper dir with all its parents: ones that exist
        below are copied up (mode, owner, times kept, as overlayfs does); missing ones are
        created ``mode`` and owned uid:gid. Returns the upper path.

        Raises BuildError when a component is a non-directory.
        """
        resolved = self.resolve(abspath)
        built: list[str] = []
        for comp in _split(resolved):
            built.append(comp)
            up = os.path.join(self.layers[0], *built)
            try:
                ust = os.lstat(up)
            except FileNotFoundError:
                ust = None
            if ust is not None:
                if not stmod.S_ISDIR(ust.st_mode):
                    raise BuildError(abspath, f"cannot copy to /{'/'.join(built)}: not a directory")
                continue
            below = self.lookup(built)
            if below is not None and not stmod.S_ISDIR(below[1].st_mode):
                raise BuildError(abspath, f"cannot copy to /{'/'.join(built)}: not a directory")
            os.mkdir(up, 0o700)
            if below is not None:
                st = below[1]
                os.lchown(up, st.st_uid, st.st_gid)
                os.chmod(up, stmod.S_IMODE(st.st_mode))
                os.utime(up, ns=(st.st_atime_ns, st.st_mtime_ns))
            else:
                os.lchown(up, uid, gid)
                os.chmod(up, mode)
        return self.upper_path(resolved)


def as_fs(root: Path | LayeredFS) -> LayeredFS:
    """A LayeredFS for a plain directory (no lowers), or ``root`` itself."""
    return root if isinstance(root, LayeredFS) else LayeredFS(Path(root), ())
