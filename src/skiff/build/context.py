"""The build context: the directory walk (filtered by .dockerignore) and stat-cached checksums.

A context is a directory on disk. :class:`BuildContext` lists what the builder may see (the
entries ``.dockerignore`` leaves, from ``skiff.dockerfile.ignore.walk``) and hands out
content checksums. Checksums are remembered between builds in the ``build_checksums``
table keyed by (context, path) with the file's (inode, size, mtime_ns, ctime_ns): a file whose
stat is unchanged is not read again, which is what makes a no-op rebuild cheap (the only
per-file cost left is one ``stat``).

What a COPY's cache key covers per entry (``entry_digest``): type and permission bits, symlink
target, content sha256. Not mtime, not ownership in the context (COPY writes root-owned files
unless ``--chown``).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat as stmod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from skiff.errors import BuildError, InvalidArgument

if TYPE_CHECKING:
    import sqlite3

HASH_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class SourceSet:
    """The context entries one COPY/ADD reads.

    Attributes:
        digest (str): sha256 over every entry's (path, entry digest), sorted by path.
        files (dict[str, str]): relpath → entry digest (``<mode-octal>:<sha256 hex|link target>``)
            used to say which files changed on a cache miss.
    """

    digest: str
    files: dict[str, str]


class ChecksumCache:
    """Content sha256 of context files, remembered by (inode, size, mtime_ns, ctime_ns).

    ``db`` holds the ``build_checksums`` table; rows are loaded once per build and new or
    changed ones written back by :meth:`flush` in one transaction.
    """

    def __init__(self, db: sqlite3.Connection | None, context_key: str):
        self.db = db
        self.context_key = context_key
        self._known: dict[str, tuple[int, int, int, int, str]] = {}
        self._dirty: dict[str, tuple[int, int, int, int, str]] = {}
        self.hashed = 0  # files actually read this build (for tests and --explain)
        if db is not None:
            for row in db.execute(
                    "SELECT path, ino, size, mtime_ns, ctime_ns, digest FROM build_checksums "
                    "WHERE context = ?", (context_key,)):
                self._known[row[0]] = (row[1], row[2], row[3], row[4], row[5])

    def file_digest(self, root: str, relpath: str, st: os.stat_result) -> str:
        """Hex sha256 of the regular file ``root/relpath``; read only when its stat changed."""
        sig = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        row = self._known.get(relpath)
        if row is not None and row[:4] == sig:
            return row[4]
        h = hashlib.sha256()
        with open(os.path.join(root, relpath), "rb") as f:
            while chunk := f.read(HASH_CHUNK):
                h.update(chunk)
        self.hashed += 1
        new = (*sig, h.hexdigest())
        self._known[relpath] = new
        self._dirty[relpath] = new
        return new[4]

    def flush(self) -> None:
        """Write new and changed checksums back (one transaction)."""
        if self.db is None or not self._dirty:
            return
        from skiff.metadata import transaction

        with transaction(self.db):
            self.db.executemany(
                "INSERT OR REPLACE INTO build_checksums (context, path, ino, size, mtime_ns, "
                "ctime_ns, digest) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(self.context_key, p, *v) for p, v in self._dirty.items()])
        self._dirty.clear()


def _glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Go ``filepath.Match`` syntax (``*``, ``?``, ``[...]``, ``\\`` escape) as a regex;
    ``*`` and ``?`` never cross ``/``."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                raise InvalidArgument(f"invalid pattern {pattern!r}", "syntax error in pattern")
            body = pattern[i + 1:j]
            if body.startswith("^") or body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = j
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def has_wildcard(s: str) -> bool:
    """True when ``s`` holds a ``filepath.Match`` metacharacter."""
    return any(c in s for c in "*?[")


def clean_rel(path: str) -> str:
    """A context-relative path cleaned as Go's ``path.Clean`` on ``/``+path, without the
    leading slash (``./a//b/`` → ``a/b``, ``.`` → ``""``). Never escapes the root."""
    import posixpath

    p = posixpath.normpath("/" + path)
    return p.lstrip("/")


class BuildContext:
    """A build context directory with its .dockerignore applied.

    Attributes:
        root (Path): the context directory (absolute).
        entries (dict[str, os.stat_result]): every relpath the build may read (files,
            directories, symlinks; ``/``-separated, no leading ``./``), from ignore.walk.
        checksums (ChecksumCache): the stat-keyed content hash cache.
    """

    def __init__(self, root: Path, patterns: list[str], db: sqlite3.Connection | None,
                 *, walk: Callable[[Path, list[str]], Iterable[tuple[str, os.stat_result]]]
                 | None = None):
        self.root = root.absolute()
        self._root_str = str(self.root)
        self.patterns = patterns
        drop_ignore_file = False
        if walk is None:
            from skiff.dockerfile import ignore

            pm = ignore.PatternMatcher(patterns)
            # ignore.walk always yields .dockerignore and the Dockerfile (Docker sends them
            # to the daemon), but a COPY only sees what the patterns leave.
            drop_ignore_file = bool(patterns) and pm.matches(".dockerignore")

            def walk(root, _patterns):
                return ignore.walk(root, pm, dockerfile=None)
        self.entries: dict[str, os.stat_result] = {}
        for rel, st in walk(self.root, patterns):
            rel = rel.replace(os.sep, "/").strip("/")
            if rel.startswith("./"):
                rel = rel[2:]
            if rel and rel != ".":
                self.entries[rel] = st
        if drop_ignore_file:
            self.entries.pop(".dockerignore", None)
        self._add_missing_parents()
        self._children: dict[str, list[str]] | None = None
        self.checksums = ChecksumCache(db, str(self.root))

    def _add_missing_parents(self) -> None:
        """An exception pattern can re-include ``a/b/f`` below an excluded ``a``: the walk
        yields the file but not ``a`` or ``a/b``. Docker sends those directories too (the
        context tar's parents; fsutil's walk emits them with their stat), so ``COPY . /x``
        creates ``/x/a/b/f``; add them here, else nothing would reach ``a/b/f`` from the
        root."""
        missing: set[str] = set()
        for rel in self.entries:
            parent = rel.rpartition("/")[0]
            while parent and parent not in self.entries and parent not in missing:
                missing.add(parent)
                parent = parent.rpartition("/")[0]
        for rel in missing:
            try:
                self.entries[rel] = os.lstat(os.path.join(self._root_str, rel))
            except OSError:
                continue

    @classmethod
    def empty(cls) -> BuildContext:
        """A context with nothing in it (Dockerfile from stdin, no context)."""
        ctx = cls.__new__(cls)
        ctx.root = Path("/nonexistent-skiff-context")
        ctx._root_str = str(ctx.root)
        ctx.patterns = []
        ctx.entries = {}
        ctx._children = None
        ctx.checksums = ChecksumCache(None, "")
        return ctx

    # -- lookups ----------------------------------------------------------------------------

    def children(self) -> dict[str, list[str]]:
        """Directory relpath (``""`` for the root) → sorted relpaths directly under it."""
        if self._children is None:
            ch: dict[str, list[str]] = {"": []}
            for rel in sorted(self.entries):
                parent = rel.rpartition("/")[0]
                ch.setdefault(parent, []).append(rel)
            self._children = ch
        return self._children

    def descendants(self, rel: str) -> Iterator[str]:
        """``rel`` itself (unless the root) and every entry below it, depth first, sorted."""
        ch = self.children()
        stack = [rel]
        while stack:
            cur = stack.pop()
            if cur:
                yield cur
            stack.extend(reversed(ch.get(cur, [])))

    def match(self, source: str) -> list[str]:
        """Context entries a COPY source names: a path (``.``, ``dir``, ``a/b.txt``) or a
        wildcard pattern matched per path segment (Go ``filepath.Match``).

        Returns relpaths (``""`` for the whole context); empty when nothing matched.
        Raises BuildError when the source escapes the context (``../x``).
        """
        import posixpath

        norm = posixpath.normpath(source)
        if norm == ".." or norm.startswith("../"):
            raise BuildError(f"COPY source {source!r}", "forbidden path outside the build context")
        rel = clean_rel(source)
        if not has_wildcard(rel):
            if rel == "":
                return [""]
            return [rel] if rel in self.entries else []
        rx = _glob_to_regex(rel)
        depth = rel.count("/")
        return [p for p in sorted(self.entries) if p.count("/") == depth and rx.match(p)]

    def is_dir(self, rel: str) -> bool:
        """True for the context root and directory entries."""
        return rel == "" or stmod.S_ISDIR(self.entries[rel].st_mode)

    def entry_digest(self, rel: str) -> str:
        """``<mode octal>:<content sha256 | link target | "">`` of one entry."""
        st = self.entries[rel]
        mode = st.st_mode
        if stmod.S_ISREG(mode):
            body = self.checksums.file_digest(self._root_str, rel, st)
        elif stmod.S_ISLNK(mode):
            body = os.readlink(os.path.join(self._root_str, rel))
        else:
            body = ""
        return f"{mode:o}:{body}"

    def excluded(self, tops: list[str], patterns: list[str]) -> set[str]:
        """Entries under ``tops`` that ``COPY --exclude`` patterns remove; a pattern is
        matched against the path relative to the source it was found under (.dockerignore
        syntax). An excluded directory takes everything below it."""
        if not patterns:
            return set()
        from skiff.dockerfile.ignore import PatternMatcher

        pm = PatternMatcher(patterns)
        out: set[str] = set()
        for top in tops:
            for rel in self.descendants(top):
                parent = rel.rpartition("/")[0]
                if parent in out:
                    out.add(rel)
                    continue
                sub = rel[len(top) + 1:] if top and rel != top else (
                    rel if not top else rel.rpartition("/")[2])
                if pm.matches(sub):
                    out.add(rel)
        return out

    def sources_checksum(self, rels: list[str], *, follow_top_symlinks: bool = True,
                         skip: set[str] | frozenset[str] = frozenset()) -> SourceSet:
        """Checksum the entries under ``rels`` (each with all its descendants), leaving out
        ``skip`` (``--exclude``d entries).

        ``follow_top_symlinks``: a named source that is a symlink is copied as its target (as
        BuildKit follows the source path itself), so its target's content is hashed.
        """
        files: dict[str, str] = {}
        for top in rels:
            for rel in self.descendants(top):
                if rel in files or rel in skip:
                    continue
                if (rel == top and follow_top_symlinks and rel
                        and stmod.S_ISLNK(self.entries[rel].st_mode)):
                    files[rel] = self._followed_digest(rel)
                else:
                    files[rel] = self.entry_digest(rel)
        h = hashlib.sha256()
        for rel in sorted(files):
            h.update(rel.encode() + b"\0" + files[rel].encode() + b"\n")
        return SourceSet("sha256:" + h.hexdigest(), files)

    def _followed_digest(self, rel: str) -> str:
        target = self.resolve_in_context(rel)
        st = os.stat(target)
        if stmod.S_ISREG(st.st_mode):
            h = hashlib.sha256()
            with open(target, "rb") as f:
                while chunk := f.read(HASH_CHUNK):
                    h.update(chunk)
            return f"{st.st_mode:o}:{h.hexdigest()}"
        return f"{st.st_mode:o}:"

    def resolve_in_context(self, rel: str) -> Path:
        """Absolute path of ``rel`` with symlinks resolved, refusing ones leaving the context."""
        p = (self.root / rel).resolve()
        if p != self.root and self.root not in p.parents:
            raise BuildError(f"COPY source {rel!r}", "symlink points outside the build context")
        return p
