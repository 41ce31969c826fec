"""Image references as Docker writes them: ``[domain[:port]/]path[:tag][@digest]``.

The grammar and the normalization are those of distribution/reference (the library docker,
containerd and buildkit share): ``busybox`` → ``docker.io/library/busybox:latest``,
``index.docker.io`` → ``docker.io``, a first component is a registry host only when it
holds ``.`` or ``:`` or is ``localhost`` (or, normalized, is upper-case). Error messages are
distribution/reference's (``invalid reference format``, ``repository name must be
lowercase``, ...); every failure raises :class:`~skiff.errors.InvalidArgument` whose
``code`` attribute names the upstream sentinel (``ErrReferenceInvalidFormat``, ...).

Entry points, named after the Go functions they follow:

    parse(s)                    ParseDockerRef-like, but keeps a tag next to a digest; adds :latest
    parse_normalized_named(s)   ParseNormalizedNamed (no default tag)
    parse_raw(s)                Parse (no normalization)
    parse_named(s)              ParseNamed (input must already be canonical)
    parse_any(s)                ParseAnyReference (64-hex → digest-only reference)
    parse_docker_ref(s)         ParseDockerRef (tag dropped when a digest is present)
    with_name(s)                WithName
    familiar_match(pattern, r)  FamiliarMatch
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from skiff.errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

MESSAGES = {
    "ErrReferenceInvalidFormat": "invalid reference format",
    "ErrTagInvalidFormat": "invalid tag format",
    "ErrDigestInvalidFormat": "invalid digest format",
    "ErrNameContainsUppercase": "repository name must be lowercase",
    "ErrNameEmpty": "repository name must have at least one component",
    "ErrNameTooLong": f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters",
    "ErrNameNotCanonical": "repository name must be canonical",
    "ErrDigestInvalidLength": "invalid checksum digest length",
    "ErrDigestUnsupported": "unsupported digest algorithm",
}

# --- the grammar (distribution/reference regexp.go) -------------------------------------
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = f"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = f"{_DOMAIN_COMPONENT}(?:\\.{_DOMAIN_COMPONENT})*"
_HOST = f"(?:{_DOMAIN_NAME}|{_IPV6})"
_DOMAIN_AND_PORT = f"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_REMOTE = f"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_NAME = f"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE}"

DOMAIN_RE = re.compile(f"^{_DOMAIN_AND_PORT}$", re.ASCII)
ANCHORED_NAME_RE = re.compile(f"^(?:({_DOMAIN_AND_PORT})/)?({_REMOTE})$", re.ASCII)
REFERENCE_RE = re.compile(f"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$", re.ASCII)
IDENTIFIER_RE = re.compile(r"^[a-f0-9]{64}$")
_TAG_RE = re.compile(f"^{_TAG}$", re.ASCII)
_DIGEST_RE = re.compile(f"^{_DIGEST}$", re.ASCII)

# go-digest's registered algorithms (as the upstream tests register them: sha256 only).
_ALGORITHMS = {"sha256": 64}


def _err(code: str, detail: str | None = None) -> InvalidArgument:
    e = InvalidArgument(detail or MESSAGES[code])
    e.code = code  # type: ignore[attr-defined]
    return e


def _check_digest(d: str) -> str:
    """go-digest Parse/Validate: the algorithm must be known and the hex fit it."""
    alg, _, hexpart = d.partition(":")
    if not _DIGEST_RE.match(d):
        raise _err("ErrDigestInvalidFormat")
    if alg not in _ALGORITHMS:
        raise _err("ErrDigestUnsupported")
    if len(hexpart) != _ALGORITHMS[alg]:
        raise _err("ErrDigestInvalidLength")
    if not re.fullmatch(r"[a-f0-9]+", hexpart):
        raise _err("ErrDigestInvalidFormat")
    return d


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed reference. ``domain`` is "" only for un-normalized names and digest-only refs.

    Attributes:
        domain (str): registry host[:port] (``docker.io`` after normalization).
        path (str): repository path (``library/busybox``); "" for a digest-only reference.
        tag (str | None), digest (str | None).
    """

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The repository name including the domain (Go ``Name()``)."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def repository(self) -> str:
        """Same as :attr:`name`: ``docker.io/library/busybox``."""
        return self.name

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s = f"{s}@{self.digest}" if s else self.digest
        return s

    def familiar_name(self) -> str:
        """Docker's short name: ``docker.io/library/busybox`` → ``busybox``."""
        domain, path = self.domain, self.path
        if domain == DEFAULT_DOMAIN:
            domain = ""
            if path.startswith(OFFICIAL_REPO_PREFIX):
                rest = path[len(OFFICIAL_REPO_PREFIX):]
                if "/" not in rest:
                    path = rest
        return f"{domain}/{path}" if domain else path

    def familiar(self) -> str:
        """The familiar string: ``busybox:latest``, ``localhost:5000/x@sha256:...``."""
        s = self.familiar_name()
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s = f"{s}@{self.digest}" if s else self.digest
        return s

    def with_tag(self, tag: str) -> Reference:
        """WithTag: InvalidArgument (invalid tag format) unless ``tag`` matches the grammar."""
        if not _TAG_RE.match(tag):
            raise _err("ErrTagInvalidFormat")
        return replace(self, tag=tag)

    def with_digest(self, digest: str) -> Reference:
        """WithDigest: checks only the digest pattern (invalid digest format)."""
        if not _DIGEST_RE.match(digest):
            raise _err("ErrDigestInvalidFormat")
        return replace(self, digest=digest)

    def tagged_or_latest(self) -> Reference:
        """TagNameOnly: add ``:latest`` when there is neither tag nor digest."""
        if self.tag is None and self.digest is None:
            return replace(self, tag=DEFAULT_TAG)
        return self


def parse_raw(s: str) -> Reference:
    """Go ``Parse``: split without normalizing (``domain`` is what the regexp saw, maybe "")."""
    m = REFERENCE_RE.match(s)
    if m is None:
        if s == "":
            raise _err("ErrNameEmpty")
        if REFERENCE_RE.match(s.lower()):
            raise _err("ErrNameContainsUppercase")
        raise _err("ErrReferenceInvalidFormat")
    name, tag, dg = m.group(1), m.group(2), m.group(3)
    nm = ANCHORED_NAME_RE.match(name)
    domain, path = (nm.group(1) or "", nm.group(2)) if nm else ("", name)
    if len(path) > NAME_TOTAL_LENGTH_MAX:  # the path alone, as upstream checks it now
        raise _err("ErrNameTooLong")
    if dg:
        _check_digest(dg)
    return Reference(domain=domain, path=path, tag=tag or None, digest=dg or None)


def with_name(s: str) -> Reference:
    """Go ``WithName``: a bare repository name (no tag, no digest)."""
    m = ANCHORED_NAME_RE.match(s)
    if m is None:
        raise _err("ErrReferenceInvalidFormat")
    if len(m.group(2)) > NAME_TOTAL_LENGTH_MAX:
        raise _err("ErrNameTooLong")
    return Reference(domain=m.group(1) or "", path=m.group(2))


def _split_docker_domain(name: str) -> tuple[str, str]:
    i = name.find("/")
    first = name[:i]
    if i == -1 or (not any(c in first for c in ".:") and first != "localhost"
                   and first.lower() == first):
        domain, rest = DEFAULT_DOMAIN, name
    else:
        domain, rest = first, name[i + 1:]
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in rest:
        rest = OFFICIAL_REPO_PREFIX + rest
    return domain, rest


def parse_normalized_named(s: str) -> Reference:
    """Go ``ParseNormalizedNamed``: add ``docker.io`` and ``library/``; no default tag.

    Raises InvalidArgument: a 64-hex string (an image ID is not a name), an upper-case
    repository, or anything :func:`parse_raw` refuses.
    """
    if IDENTIFIER_RE.match(s):
        raise _err("ErrReferenceInvalidFormat",
                   f"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings")
    domain, rest = _split_docker_domain(s)
    remote = rest.split(":", 1)[0] if ":" in rest else rest
    remote = remote.split("@", 1)[0]
    if remote.lower() != remote:
        # docker 20.10's vendored distribution/reference: no name in the message
        raise _err("ErrNameContainsUppercase",
                   "invalid reference format: repository name must be lowercase")
    ref = parse_raw(f"{domain}/{rest}")
    if not ref.path:
        raise _err("ErrNameEmpty")
    return ref


def parse_named(s: str) -> Reference:
    """Go ``ParseNamed``: like :func:`parse_normalized_named` but ``s`` must be canonical."""
    ref = parse_normalized_named(s)
    if str(ref) != s:
        raise _err("ErrNameNotCanonical")
    return ref


def parse_any(s: str) -> Reference:
    """Go ``ParseAnyReference``: a 64-hex string or ``sha256:<hex>`` is a digest-only ref."""
    if IDENTIFIER_RE.match(s):
        return Reference(domain="", path="", digest="sha256:" + s)
    if ":" in s and _DIGEST_RE.match(s):
        try:
            return Reference(domain="", path="", digest=_check_digest(s))
        except InvalidArgument:
            pass
    return parse_normalized_named(s)


def parse_docker_ref(s: str) -> Reference:
    """Go ``ParseDockerRef``: normalized, ``:latest`` added, tag dropped next to a digest."""
    ref = parse_normalized_named(s)
    if ref.digest and ref.tag:
        ref = replace(ref, tag=None)
    return ref.tagged_or_latest()


def parse(s: str) -> Reference:
    """A reference as skiff stores names: normalized, ``:latest`` when untagged.

    ``busybox`` → ``docker.io/library/busybox:latest``; ``x:1@sha256:...`` keeps both.
    Raises InvalidArgument with distribution/reference's message.
    """
    return parse_normalized_named(s).tagged_or_latest()


def _go_match(pattern: str, name: str) -> bool:
    """Go ``path.Match``: ``*`` and ``?`` never cross ``/``; ``[...]`` classes; ``\\`` escapes.

    Raises InvalidArgument (syntax error in pattern) for a malformed pattern.
    """
    bad = InvalidArgument(f"invalid pattern {pattern!r}", "syntax error in pattern")
    out = []
    i, n = 0, len(pattern)

    def esc(j: int) -> tuple[str, int]:
        if j >= n or pattern[j] in "-]":
            raise bad
        if pattern[j] == "\\":
            j += 1
            if j >= n:
                raise bad
        return pattern[j], j + 1

    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "\\":
            if i + 1 >= n:
                raise bad
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif c == "[":
            i += 1
            neg = i < n and pattern[i] == "^"
            if neg:
                i += 1
            items, nrange = [], 0
            while True:
                if i < n and pattern[i] == "]" and nrange > 0:
                    i += 1
                    break
                lo, i = esc(i)
                hi = lo
                if i < n and pattern[i] == "-":
                    hi, i = esc(i + 1)
                if i >= n:
                    raise bad
                items.append(f"{re.escape(lo)}-{re.escape(hi)}")
                nrange += 1
            out.append(("[^/" if neg else "[") + "".join(items) + "]" if neg else
                       "(?:(?!/)[" + "".join(items) + "])")
        else:
            out.append(re.escape(c))
            i += 1
    return re.fullmatch("".join(out), name, re.S) is not None


def familiar_match(pattern: str, ref: Reference) -> bool:
    """Go ``FamiliarMatch``: ``pattern`` against the familiar string, then the familiar name."""
    return _go_match(pattern, ref.familiar()) or _go_match(pattern, ref.familiar_name())
