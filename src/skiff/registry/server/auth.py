"""htpasswd Basic authentication for the registry server (bcrypt entries only).

Docker's distribution ``auth.htpasswd``: each line of the file is ``user:<bcrypt hash>``
(``$2y$``/``$2a$``/``$2b$``, as ``htpasswd -B`` writes); other hash kinds are refused at
load. A request without valid credentials gets 401 UNAUTHORIZED with
``WWW-Authenticate: Basic realm="..."``; with ``anonymous_read`` GET and HEAD need none.
bcrypt is slow on purpose (~50-200 ms), so a verified (user, password) pair is remembered
by its salted SHA-256 for the process lifetime; a changed file is re-read on its next mtime.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import threading
from pathlib import Path

import bcrypt

from skiff.errors import InvalidArgument

READ_METHODS = frozenset({"GET", "HEAD"})


def load_htpasswd(path: Path) -> dict[str, bytes]:
    """``{user: bcrypt hash}`` from an htpasswd file; InvalidArgument on a non-bcrypt line."""
    users: dict[str, bytes] = {}
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise InvalidArgument(f"htpasswd file {path}", e.strerror or str(e)) from e
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not hashed.startswith(("$2y$", "$2a$", "$2b$")):
            raise InvalidArgument(f"htpasswd file {path}",
                                  f"line {n}: only bcrypt entries are supported (htpasswd -B)")
        users[user] = hashed.encode()
    return users


def hash_password(password: str, rounds: int = 10) -> str:
    """A bcrypt hash in htpasswd's ``$2y$`` spelling (for writing htpasswd files)."""
    h = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()
    return "$2y$" + h[4:]


class HtpasswdAuth:
    """Checks ``Authorization: Basic`` headers against an htpasswd file.

    ``check(method, header) -> str | None`` returns the user name, ``""`` for an allowed
    anonymous read, or None when the request must be refused (401).
    """

    def __init__(self, path: Path, *, anonymous_read: bool = False, realm: str = "skiff-registry"):
        self.path = Path(path)
        self.anonymous_read = anonymous_read
        self.realm = realm
        self._mtime = 0.0
        self._users: dict[str, bytes] = {}
        self._ok: set[bytes] = set()
        self._salt = secrets.token_bytes(16)
        self._lock = threading.Lock()
        self._reload()

    def _reload(self) -> None:
        mtime = os.stat(self.path).st_mtime
        if mtime != self._mtime:
            users = load_htpasswd(self.path)
            with self._lock:
                self._users, self._mtime, self._ok = users, mtime, set()

    @property
    def challenge(self) -> str:
        """The ``WWW-Authenticate`` value sent with a 401."""
        return f'Basic realm="{self.realm}"'

    def check(self, method: str, header: str | None) -> str | None:
        """The authenticated user, ``""`` for anonymous reads allowed, else None (blocking)."""
        if header is None or not header.lower().startswith("basic "):
            return "" if self.anonymous_read and method in READ_METHODS else None
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = raw.partition(":")
        if not sep:
            return None
        try:
            self._reload()
        except (OSError, InvalidArgument):
            return None
        hashed = self._users.get(user)
        if hashed is None:
            return None
        key = hashlib.sha256(self._salt + hashed + b"\0" + password.encode()).digest()
        if key in self._ok:
            return user
        if bcrypt.checkpw(password.encode(), b"$2b$" + hashed[4:]):
            with self._lock:
                self._ok.add(key)
            return user
        return None
