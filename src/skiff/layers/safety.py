"""Tar safety: turn archive entry names into paths that stay inside the extraction root.

Rules (what ``docker load``/containerd guarantee, made explicit):

- An entry name is cleaned lexically (``a/./b`` → ``a/b``, ``a/../b`` → ``b``). A name that is
  absolute (``/etc/passwd``) or whose ``..`` climbs above the root is refused with
  InvalidArgument.
- The directories leading to an entry are walked one component at a time with ``lstat``.
  A symlink met on the way is followed *inside* the root: an absolute target is read as the
  container would see it (rooted at the extraction root, ``..`` stopping at ``/`` as in a
  chroot); a relative target whose ``..`` would climb above the root is refused with
  InvalidArgument ("points outside the root"). Loops (more than 40 hops) are refused.
- The last component is never followed: callers create entries with ``O_NOFOLLOW`` /
  ``follow_symlinks=False`` after removing whatever was there.

Resolved directories are cached per archive path; the cache is dropped whenever the caller
removes or replaces a directory or symlink (:meth:`Resolver.invalidate`), so a later entry
cannot reuse a path that has since turned into a symlink.
"""

from __future__ import annotations

import os
import stat

from skiff.errors import InvalidArgument

MAX_SYMLINK_HOPS = 40


def clean_name(name: str) -> str:
    """Clean an archive entry name into a relative path (``""`` is the root itself).

    Raises:
        InvalidArgument: ``name`` is absolute or climbs above the root with ``..``.
    """
    if name.startswith("/"):
        raise InvalidArgument(f"layer entry {name!r}", "absolute path names are not allowed")
    parts: list[str] = []
    for p in name.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if not parts:
                raise InvalidArgument(f"layer entry {name!r}", "path escapes the root")
            parts.pop()
        else:
            parts.append(p)
    return "/".join(parts)


def split(rel: str) -> tuple[str, str]:
    """``"a/b/c"`` → ``("a/b", "c")``; ``"c"`` → ``("", "c")``."""
    d, _, base = rel.rpartition("/")
    return d, base


def join(d: str, base: str) -> str:
    """Join two relative path pieces (``""`` is the root)."""
    return f"{d}/{base}" if d else base


class Resolver:
    """Resolves cleaned archive paths to real paths inside ``root`` (see module docstring).

    Args:
        root: the extraction root (must exist and be a directory).
        on_mkdir: called with the real relative path of every directory created while
            resolving (apply uses it to remember what the layer itself created).
    """

    def __init__(self, root: str, on_mkdir=None):
        self.root = os.path.realpath(root)
        self._dirs: dict[str, str] = {"": ""}
        self._on_mkdir = on_mkdir

    def abs(self, real_rel: str) -> str:
        """Absolute host path of a real relative path."""
        return f"{self.root}/{real_rel}" if real_rel else self.root

    def invalidate(self) -> None:
        """Forget every cached directory (call after removing/replacing a dir or symlink)."""
        self._dirs = {"": ""}

    def parent(self, rel: str, *, create: bool = True) -> tuple[str, str]:
        """Resolve the directory holding the cleaned path ``rel``.

        Returns:
            (real relative path of the parent directory, base name of ``rel``).

        Raises:
            InvalidArgument: the way goes through a symlink pointing outside the root, a
                symlink loop, or a non-directory.
            FileNotFoundError: a directory is missing and ``create`` is False.
        """
        d, base = split(rel)
        return self.dir(d, create=create), base

    def dir(self, d: str, *, create: bool = True) -> str:
        """Real relative path of the directory at cleaned archive path ``d`` (see parent())."""
        hit = self._dirs.get(d)
        if hit is not None:
            return hit
        pd, base = split(d)
        real = self._step(self.dir(pd, create=create), base, create=create, hops=0, name=d)
        self._dirs[d] = real
        return real

    def _step(self, cur: str, comp: str, *, create: bool, hops: int, name: str) -> str:
        nxt = join(cur, comp)
        path = self.abs(nxt)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            if not create:
                raise
            os.mkdir(path, 0o755)
            if self._on_mkdir is not None:
                self._on_mkdir(nxt)
            return nxt
        if stat.S_ISDIR(st.st_mode):
            return nxt
        if stat.S_ISLNK(st.st_mode):
            if hops >= MAX_SYMLINK_HOPS:
                raise InvalidArgument(f"layer entry {name!r}", "too many levels of symbolic links")
            target = os.readlink(path)
            if target.startswith("/"):
                return self._walk("", target, clamp=True, create=create, hops=hops + 1, name=name)
            return self._walk(cur, target, clamp=False, create=create, hops=hops + 1, name=name)
        raise InvalidArgument(f"layer entry {name!r}", f"{nxt!r} is not a directory")

    def _walk(self, cur: str, target: str, *, clamp: bool, create: bool, hops: int,
              name: str) -> str:
        for comp in target.split("/"):
            if comp in ("", "."):
                continue
            if comp == "..":
                if cur == "":
                    if clamp:
                        continue
                    raise InvalidArgument(f"layer entry {name!r}",
                                          "path goes through a symlink pointing outside the root")
                cur = split(cur)[0]
                continue
            cur = self._step(cur, comp, create=create, hops=hops, name=name)
        return cur
