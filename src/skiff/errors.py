"""skiff's exception hierarchy.

Every error a user can cause is a :class:`SkiffError`; the CLI prints it as one line,
``skiff: <what>: <why>``, and exits with its ``exit_code`` (Docker's codes: 125 when the
engine fails, 126 when a command cannot be invoked, 127 when it is not found; 1 for build,
Dockerfile and registry errors as ``docker build``/``docker pull`` do).

The classes say what the caller should do, after containerd's errdefs::

    SkiffError                      base: catch this to catch everything (exit 125)
    ├── NotFound                    the named object does not exist
    │   └── ImageNotFound           an image reference matched nothing
    ├── AlreadyExists               the object is there already (a blob ingest treats it as success)
    ├── InvalidArgument             malformed input: a reference, a flag value, a tar, JSON
    │   └── DockerfileError         a Dockerfile that cannot be parsed (exit 1, carries a line)
    ├── Conflict                    the object is in use or in the wrong state
    ├── Unavailable                 a peer (registry, runtime) cannot be reached
    ├── Unauthorized                a registry refused the credentials
    ├── DigestMismatch              content does not hash to the digest it was named by
    ├── BuildError                  a build step failed (exit 1)
    ├── CannotInvoke                the container's command exists but cannot run (exit 126)
    └── CommandNotFound             the container's command does not exist (exit 127)

Errors from dependencies are translated at the boundary with :func:`map_exceptions`,
which chains the original with ``raise ... from``.
"""

from __future__ import annotations

import errno

# Docker's exit codes (containers/podman libpod/define/exec_codes.go has the same three).
EXIT_ENGINE = 125
EXIT_CANNOT_INVOKE = 126
EXIT_NOT_FOUND = 127


class SkiffError(Exception):
    """Base class: ``what`` names the object or action, ``why`` the reason.

    ``str(err)`` is ``"<what>: <why>"`` (or just ``what`` when there is no reason), the text
    the CLI prints after ``skiff: ``.
    """

    exit_code: int = EXIT_ENGINE

    def __init__(self, what: str, why: str | None = None, *, exit_code: int | None = None):
        self.what = what
        self.why = why
        if exit_code is not None:
            self.exit_code = exit_code
        super().__init__(f"{what}: {why}" if why else what)


class NotFound(SkiffError):
    """The named object (image, blob, container, snapshot, ...) does not exist."""


class ImageNotFound(NotFound):
    """An image reference matched no local image."""


class AlreadyExists(SkiffError):
    """The object already exists (a name in use, a committed blob)."""


class InvalidArgument(SkiffError):
    """Malformed input: a reference, a flag value, a tar archive, a JSON document."""


class DockerfileError(InvalidArgument):
    """A Dockerfile that cannot be parsed; ``line`` is its 1-based start line or None.

    Printed as ``Dockerfile:LINE: message``; exits 1 as ``docker build`` does.
    """

    exit_code = 1

    def __init__(self, message: str, *, line: int | None = None, end_line: int | None = None,
                 filename: str = "Dockerfile"):
        self.line = line
        self.end_line = end_line if end_line is not None else line
        self.filename = filename
        self.message = message
        what = f"{filename}:{line}" if line is not None else filename
        super().__init__(what, message)


class Conflict(SkiffError):
    """The object is in use or in a state that forbids the operation."""


class Unavailable(SkiffError):
    """A peer (registry, OCI runtime) cannot be reached or answered garbage."""


class Unauthorized(SkiffError):
    """A registry refused the request for lack of (valid) credentials."""

    exit_code = 1


class DigestMismatch(SkiffError):
    """Content whose sha256 is not the digest it was named by (expected vs actual)."""

    def __init__(self, what: str, expected: str, actual: str):
        self.expected = expected
        self.actual = actual
        super().__init__(what, f"digest mismatch: expected {expected}, got {actual}")


class BuildError(SkiffError):
    """A build step failed; exits 1 as ``docker build`` does."""

    exit_code = 1


class CannotInvoke(SkiffError):
    """The container's command exists but cannot be executed (exit 126)."""

    exit_code = EXIT_CANNOT_INVOKE


class CommandNotFound(SkiffError):
    """The container's command was not found in the image (exit 127)."""

    exit_code = EXIT_NOT_FOUND


class map_exceptions:  # noqa: N801 (a context manager used like a function)
    """``with map_exceptions(what):`` translate OS and SQLite errors raised inside the
    block into SkiffErrors about ``what``.

    ``OSError(ENOENT)`` → NotFound, ``OSError(EEXIST)`` → AlreadyExists, ``ENOSPC`` and other
    OSErrors → SkiffError, ``sqlite3.IntegrityError`` → AlreadyExists. SkiffErrors pass through.
    (A class, not ``contextlib.contextmanager``: the run path does not import contextlib.)
    """

    __slots__ = ("what",)

    def __init__(self, what: str):
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ, e, tb) -> bool:
        if e is None or isinstance(e, SkiffError) or not isinstance(e, Exception):
            return False
        what = self.what
        if isinstance(e, FileNotFoundError):
            raise NotFound(what, "no such file or directory") from e
        if isinstance(e, FileExistsError):
            raise AlreadyExists(what, "already exists") from e
        if isinstance(e, OSError):
            if e.errno == errno.ENOSPC:
                raise SkiffError(what, "no space left on device") from e
            raise SkiffError(what, e.strerror or str(e)) from e
        # sqlite3 is imported lazily; match it by name
        if type(e).__name__ == "IntegrityError" and type(e).__module__ == "sqlite3":
            raise AlreadyExists(what, str(e)) from e
        return False
