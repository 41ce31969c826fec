""".dockerignore: reading the file, matching paths, and walking a build context fast.

The rules are moby/patternmatcher's (what BuildKit, the docker CLI and moby use):

- :func:`read_patterns` (``ignorefile.ReadAll``): a UTF-8 BOM is dropped; lines whose first
  byte is ``#`` are comments; lines are trimmed, empty ones skipped; a leading ``!`` marks an
  exception; the rest is ``filepath.Clean``-ed and one leading ``/`` removed.
- :class:`PatternMatcher`: Go ``filepath.Match`` syntax (``*``, ``?``, ``[a-z]``, ``\\``
  escapes) plus ``**`` (any number of directories). Patterns are applied in order and the
  last one that applies wins; a pattern that matches a directory matches everything below.
- :func:`walk`: yields what reaches the builder, never entering an excluded directory unless
  an exception pattern could re-include something below it. The Dockerfile and the
  ``.dockerignore`` file themselves are always kept (Docker sends them to the builder).
"""

from __future__ import annotations

import os
import posixpath
import re
import stat as stat_mod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from skiff.errors import InvalidArgument

__all__ = ["read_ignore", "read_patterns", "ignore_file_for", "PatternMatcher", "Pattern",
           "walk", "go_clean", "BadPattern"]


class BadPattern(InvalidArgument):
    """A malformed pattern (Go's ``filepath.ErrBadPattern``) or a lone ``!``."""


def go_clean(p: str) -> str:
    """Go's ``path.Clean``: ``""`` → ``.``, ``a//b/./c/..`` → ``a/b``, ``//a`` → ``/a``."""
    if p == "":
        return "."
    out = posixpath.normpath(p)
    if out.startswith("//"):
        out = "/" + out.lstrip("/")
    return out


def read_patterns(text: str) -> list[str]:
    """Turn ``.dockerignore`` text into the pattern list (``ignorefile.ReadAll``)."""
    out: list[str] = []
    for n, line in enumerate(text.split("\n")):
        if n == 0 and line.startswith("\ufeff"):
            line = line[1:]
        line = line.rstrip("\r")
        if line.startswith("#"):
            continue
        p = line.strip()
        if not p:
            continue
        invert = p[0] == "!"
        if invert:
            p = p[1:].strip()
        if p:
            p = go_clean(p)
            if len(p) > 1 and p[0] == "/":
                p = p[1:]
        out.append("!" + p if invert else p)
    return out


def ignore_file_for(context: Path, dockerfile: Path | None) -> Path | None:
    """The ignore file that applies: ``<Dockerfile>.dockerignore`` beside the Dockerfile wins
    over ``<context>/.dockerignore``; None when neither exists."""
    if dockerfile is not None:
        specific = dockerfile.parent / (dockerfile.name + ".dockerignore")
        if specific.is_file():
            return specific
    general = context / ".dockerignore"
    return general if general.is_file() else None


def read_ignore(context: Path, dockerfile: Path | None = None) -> list[str]:
    """The ``.dockerignore`` patterns for a build (see :func:`ignore_file_for`); [] if none.

    Raises InvalidArgument when the file cannot be read.
    """
    f = ignore_file_for(Path(context), Path(dockerfile) if dockerfile is not None else None)
    if f is None:
        return []
    try:
        data = f.read_bytes()
    except OSError as e:
        raise InvalidArgument(str(f), e.strerror or str(e)) from e
    return read_patterns(data.decode("utf-8", "surrogateescape"))


# ---------------------------------------------------------------------------------------
# Patterns

_EXACT, _PREFIX, _SUFFIX, _REGEXP = "exactMatch", "prefixMatch", "suffixMatch", "regexpMatch"
_REGEX_SPECIAL = frozenset(".+()|{}$")


def _check_go_match_syntax(p: str) -> None:
    """Raise BadPattern where Go's ``filepath.Match(p, ".")`` reports ErrBadPattern:
    an unterminated or empty ``[...]`` class, a reversed range, a trailing ``\\``."""
    i, n = 0, len(p)
    while i < n:
        c = p[i]
        if c == "\\":
            if i + 1 >= n:
                raise BadPattern(p, "syntax error in pattern")
            i += 2
            continue
        if c == "[":
            i += 1
            if i < n and p[i] == "^":
                i += 1
            nranges = 0
            while True:
                if i < n and p[i] == "]" and nranges > 0:
                    i += 1
                    break
                lo, i = _class_char(p, i)
                hi = lo
                if i < n and p[i] == "-":
                    hi, i = _class_char(p, i + 1)
                if lo > hi:
                    raise BadPattern(p, "syntax error in pattern")
                nranges += 1
            continue
        i += 1


def _class_char(p: str, i: int) -> tuple[str, int]:
    n = len(p)
    if i >= n or p[i] in "-]":
        raise BadPattern(p, "syntax error in pattern")
    if p[i] == "\\":
        i += 1
        if i >= n:
            raise BadPattern(p, "syntax error in pattern")
    return p[i], i + 1


@dataclass(slots=True)
class Pattern:
    """One cleaned pattern: ``text`` (without ``!``), ``exclusion`` (a ``!`` exception), its
    match kind (exact/prefix/suffix/regexp) and compiled form."""

    text: str
    exclusion: bool
    kind: str = _EXACT
    regex_source: str = ""
    parts: tuple[str, ...] = ()
    _rx: re.Pattern[str] | None = None
    _rx_self_or_parent: re.Pattern[str] | None = None

    @classmethod
    def compile(cls, text: str, exclusion: bool) -> Pattern:
        """Compile as patternmatcher does (see ../shared/peer/moby-patternmatcher/compile.tsv)."""
        pat = cls(text=text, exclusion=exclusion, parts=tuple(text.split("/")))
        src = ["^"]
        kind = _EXACT
        i, n = 0, len(text)
        first = True
        while i < n:
            ch = text[i]
            i += 1
            if ch == "*":
                if i < n and text[i] == "*":
                    i += 1
                    if i < n and text[i] == "/":
                        i += 1
                    if i >= n:
                        if kind == _EXACT:
                            kind = _PREFIX
                        else:
                            src.append(".*")
                            kind = _REGEXP
                    else:
                        src.append("(.*/)?")
                        kind = _REGEXP
                    if first:
                        kind = _SUFFIX
                else:
                    src.append("[^/]*")
                    kind = _REGEXP
            elif ch == "?":
                src.append("[^/]")
                kind = _REGEXP
            elif ch in _REGEX_SPECIAL:
                src.append("\\" + ch)
            elif ch == "\\":
                if i < n:
                    src.append("\\" + text[i] if not text[i].isalnum() else text[i])
                    i += 1
                    kind = _REGEXP
                else:
                    src.append("\\\\")
            elif ch in "[]":
                src.append(ch)
                kind = _REGEXP
            else:
                src.append(ch)
            first = False
        pat.kind = kind
        below = r"(?:/.*)?\Z"
        if kind == _REGEXP:
            src.append("$")
            pat.regex_source = "".join(src)
            try:
                pat._rx = re.compile(pat.regex_source[:-1] + r"\Z")
                pat._rx_self_or_parent = re.compile(pat.regex_source[:-1] + below)
            except re.error as e:
                raise BadPattern(text, f"invalid pattern: {e}") from None
        elif kind == _EXACT:
            pat._rx_self_or_parent = re.compile(re.escape(text) + below)
        elif kind == _SUFFIX:
            suffix = text[2:]
            alt = ".*" + re.escape(suffix)
            if suffix[:1] == "/":
                alt = f"(?:{alt}|{re.escape(suffix[1:])})"
            pat._rx_self_or_parent = re.compile(alt + below)
        return pat

    def match(self, path: str) -> bool:
        """Does the pattern match this slash-separated relative path itself?"""
        k = self.kind
        if k == _EXACT:
            return path == self.text
        if k == _REGEXP:
            return self._rx.match(path) is not None  # type: ignore[union-attr]
        if k == _PREFIX:
            return path.startswith(self.text[:-2])
        suffix = self.text[2:]
        if path.endswith(suffix):
            return True
        return suffix[:1] == "/" and path == suffix[1:]

    def match_self_or_parent(self, path: str) -> bool:
        """Does the pattern match the path or one of its parent directories (one regex
        test; same answer as trying ``path`` and each ``a``, ``a/b``... prefix)."""
        if self.kind == _PREFIX:
            return path.startswith(self.text[:-2])
        return self._rx_self_or_parent.match(path) is not None  # type: ignore[union-attr]

    def could_match_below(self, dir_parts: list[str]) -> bool:
        """Could this pattern match some path strictly below the directory ``dir_parts``?
        (Used to decide whether an excluded directory must still be walked.)"""
        parts = self.parts
        for i, comp in enumerate(dir_parts):
            if i >= len(parts):
                return True  # the pattern matched an ancestor: everything below is affected
            pp = parts[i]
            if "**" in pp:
                return True
            if pp == comp:
                continue
            if not _has_magic(pp):
                return False
            try:
                sub = Pattern.compile(pp, False)
            except BadPattern:
                return True
            if not sub.match(comp):
                return False
        return True


def _has_magic(s: str) -> bool:
    return any(c in s for c in "*?[\\")


class PatternMatcher:
    """An ordered list of ``.dockerignore`` patterns (moby/patternmatcher).

    ``PatternMatcher(["*.md", "!README.md"])``; raises BadPattern for a lone ``!`` (``illegal
    exclusion pattern: "!"``) or a pattern Go's filepath.Match rejects.
    """

    __slots__ = ("patterns", "exclusions", "_exact_only")

    def __init__(self, patterns: Iterable[str]):
        self.patterns: list[Pattern] = []
        for raw in patterns:
            p = raw.strip()
            if not p:
                continue
            p = go_clean(p)
            exclusion = False
            if p[0] == "!":
                if len(p) == 1:
                    raise BadPattern('illegal exclusion pattern: "!"')
                exclusion = True
                p = p[1:]
            _check_go_match_syntax(p)
            self.patterns.append(Pattern.compile(p, exclusion))
        self.exclusions = any(p.exclusion for p in self.patterns)

    def matches(self, relpath: str) -> bool:
        """True when ``relpath`` (slash-separated, relative to the context) is excluded: the
        last pattern that matches it or one of its parent directories decides
        (``MatchesOrParentMatches``)."""
        matched = False
        for pat in self.patterns:
            if pat.exclusion != matched:
                continue
            if pat.match_self_or_parent(relpath):
                matched = not pat.exclusion
        return matched

    def matches_slow(self, relpath: str) -> bool:
        """:meth:`matches` the way patternmatcher spells it (each parent tried in turn);
        kept to cross-check the one-regex form."""
        matched = False
        parent = posixpath.dirname(relpath) or "."
        parent_dirs = parent.split("/")
        for pat in self.patterns:
            if pat.exclusion != matched:
                continue
            hit = pat.match(relpath)
            if not hit and parent != ".":
                for i in range(1, len(parent_dirs) + 1):
                    if pat.match("/".join(parent_dirs[:i])):
                        hit = True
                        break
            if hit:
                matched = not pat.exclusion
        return matched

    def matches_legacy(self, relpath: str) -> bool:
        """The deprecated package-level ``Matches(file, patterns)``: the path is cleaned, ``.``
        never matches, and only the parent prefix with as many components as the pattern is
        tried."""
        relpath = go_clean(relpath)
        if relpath == ".":
            return False
        matched = False
        parent = posixpath.dirname(relpath) or "."
        parent_dirs = parent.split("/")
        for pat in self.patterns:
            if pat.exclusion != matched:
                continue
            hit = pat.match(relpath)
            if not hit and parent != "." and len(pat.parts) <= len(parent_dirs):
                hit = pat.match("/".join(parent_dirs[:len(pat.parts)]))
            if hit:
                matched = not pat.exclusion
        return matched

    def match_state(self, relpath: str, parent_state: tuple[bool, ...] | None
                    ) -> tuple[bool, tuple[bool, ...]]:
        """Incremental form for walkers (``MatchesUsingParentResults``): given the per-pattern
        hits of the parent directory, return (excluded, per-pattern hits of ``relpath``)."""
        matched = False
        hits = []
        for i, pat in enumerate(self.patterns):
            hit = (parent_state is not None and parent_state[i]) or pat.match(relpath)
            hits.append(hit)
            if pat.exclusion == matched and hit:
                matched = not pat.exclusion
        return matched, tuple(hits)

    def could_reinclude_below(self, dir_parts: list[str]) -> bool:
        """True when some exception pattern could re-include a path below this directory."""
        return any(p.exclusion and p.could_match_below(dir_parts) for p in self.patterns)


# ---------------------------------------------------------------------------------------
# The context walk

def walk(context: Path, patterns: Iterable[str] | PatternMatcher, *,
         dockerfile: str | None = "Dockerfile", follow_symlinks: bool = False
         ) -> Iterator[tuple[str, os.stat_result]]:
    """Yield ``(relpath, lstat)`` for every file and directory of the build context that
    the patterns do not exclude, parents before children, names sorted within a directory.

    ``relpath`` is slash-separated and relative to ``context``. An excluded directory is not
    entered unless an exception pattern could re-include something below it; an excluded
    directory that is entered is not yielded itself. ``.dockerignore`` and ``dockerfile``
    (a path relative to the context, None for a Dockerfile outside it) are always yielded
    when they exist, as Docker always sends them. Raises InvalidArgument for an unreadable
    context root.
    """
    pm = patterns if isinstance(patterns, PatternMatcher) else PatternMatcher(patterns)
    root = os.fspath(context)
    keep = {".dockerignore"}
    if dockerfile:
        keep.add(go_clean(dockerfile.replace(os.sep, "/")))
    try:
        top = os.scandir(root)
    except OSError as e:
        raise InvalidArgument(root, e.strerror or str(e)) from e
    if not pm.patterns:
        yield from _walk_all(root, "", top)
        return
    yield from _walk_filtered(pm, keep, _sorted(top), "", None, follow_symlinks)


def _walk_filtered(pm: PatternMatcher, keep: set[str], entries: list[os.DirEntry[str]],
                   prefix: str, pstate: tuple[bool, ...] | None, follow: bool
                   ) -> Iterator[tuple[str, os.stat_result]]:
    """Pre-order walk of one directory's sorted entries (see :func:`walk`)."""
    exclusions = pm.exclusions
    for entry in entries:
        rel = prefix + entry.name
        excluded, state = pm.match_state(rel, pstate)
        try:
            st = entry.stat(follow_symlinks=follow)
        except OSError:
            continue
        is_dir = stat_mod.S_ISDIR(st.st_mode)
        if excluded:
            if rel in keep:
                yield rel, st
                continue
            if is_dir and ((exclusions and pm.could_reinclude_below(rel.split("/")))
                           or _keeps_below(keep, rel)):
                yield from _walk_filtered(pm, keep, _sorted_dir(entry.path), rel + "/",
                                          state, follow)
            continue
        yield rel, st
        if is_dir:
            yield from _walk_filtered(pm, keep, _sorted_dir(entry.path), rel + "/", state,
                                      follow)


def _keeps_below(keep: set[str], rel: str) -> bool:
    pre = rel + "/"
    return any(k.startswith(pre) for k in keep)


def _sorted(it: os.ScandirIterator[str]) -> list[os.DirEntry[str]]:
    with it:
        return sorted(it, key=lambda e: e.name)


def _sorted_dir(path: str) -> list[os.DirEntry[str]]:
    try:
        return _sorted(os.scandir(path))
    except OSError:
        return []


def _walk_all(root: str, prefix: str, it: os.ScandirIterator[str]
              ) -> Iterator[tuple[str, os.stat_result]]:
    for entry in _sorted(it):
        rel = prefix + entry.name
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        yield rel, st
        if stat_mod.S_ISDIR(st.st_mode):
            try:
                sub = os.scandir(entry.path)
            except OSError:
                continue
            yield from _walk_all(root, rel + "/", sub)
