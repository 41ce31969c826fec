"""Registry credentials in Docker's format: ``~/.docker/config.json`` and credential helpers.

Docker's CLI keeps credentials in ``$DOCKER_CONFIG/config.json`` (default ``~/.docker``):

* ``auths``: ``{"<server>": {"auth": base64("user:password")}}``; an ``identitytoken``
  field holds an OAuth refresh token instead of a password.
* ``credsStore``: a helper name; every server's credentials live in
  ``docker-credential-<name>``.
* ``credHelpers``: ``{"<server>": "<name>"}``, a helper for one server (wins over credsStore).

The helper protocol (docker-credential-helpers): ``docker-credential-<name> get`` reads the
server URL on stdin and prints ``{"ServerURL","Username","Secret"}``; ``store`` reads that
JSON on stdin; ``erase`` reads the server URL. ``Username`` ``<token>`` means ``Secret`` is
an identity token. A missing entry makes ``get`` exit non-zero with "credentials not found
in native keychain".

Docker Hub is stored under ``https://index.docker.io/v1/`` as Docker does.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from skiff.errors import InvalidArgument, SkiffError

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and secret for one registry.

    ``identity_token`` is set instead of ``password`` when the server gave an OAuth refresh
    token (Docker's ``identitytoken``); Bearer auth then uses the refresh-token grant.
    """

    username: str
    password: str = ""
    identity_token: str = ""


def config_path() -> Path:
    """Docker's config file: ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``."""
    d = os.environ.get("DOCKER_CONFIG")
    return Path(d) / "config.json" if d else Path.home() / ".docker" / "config.json"


def server_key(host: str) -> str:
    """The key a registry host is stored under (Docker Hub's legacy URL for docker.io)."""
    return DOCKER_HUB_KEY if host in HUB_HOSTS else host


def _host_of_key(key: str) -> str:
    k = key
    for p in ("https://", "http://"):
        if k.startswith(p):
            k = k[len(p):]
    k = k.split("/", 1)[0]
    return "docker.io" if k in HUB_HOSTS else k


class CredentialStore:
    """Read and write credentials the way Docker's CLI does.

    Args:
        path: the config.json to use (default :func:`config_path`).
    Raises (from the methods): InvalidArgument for an unreadable config file; SkiffError
    when a credential helper fails for another reason than a missing entry.
    """

    def __init__(self, path: Path | None = None):
        self.path = path or config_path()

    # -- the file ------------------------------------------------------------------------
    def _load(self) -> dict:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise InvalidArgument(f"reading {self.path}", e.strerror or str(e)) from e
        if not text.strip():
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidArgument(f"loading config file {self.path}", str(e)) from e
        if not isinstance(data, dict):
            raise InvalidArgument(f"loading config file {self.path}", "not a JSON object")
        return data

    def _save(self, data: dict) -> None:
        """Atomic rewrite (temp file → fsync → rename), mode 0600 as Docker writes it."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".config.json.")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent="\t")
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _helper_for(self, data: dict, host: str) -> str | None:
        helpers = data.get("credHelpers") or {}
        for k, v in helpers.items():
            if _host_of_key(k) == _host_of_key(server_key(host)):
                return v
        return data.get("credsStore") or None

    # -- public --------------------------------------------------------------------------
    def get(self, host: str) -> Credentials | None:
        """Credentials for a registry host (``localhost:5000``, ``docker.io``), or None."""
        data = self._load()
        helper = self._helper_for(data, host)
        if helper:
            return _helper_get(helper, server_key(host))
        for key, entry in (data.get("auths") or {}).items():
            if _host_of_key(key) != _host_of_key(server_key(host)) or not isinstance(entry, dict):
                continue
            user, pw = entry.get("username", ""), entry.get("password", "")
            if entry.get("auth"):
                try:
                    user, _, pw = base64.b64decode(entry["auth"]).decode().partition(":")
                except (ValueError, UnicodeDecodeError) as e:
                    raise InvalidArgument(f"credentials for {host} in {self.path}",
                                          "invalid auth field") from e
            tok = entry.get("identitytoken", "")
            if user or pw or tok:
                return Credentials(user, pw, tok)
        return None

    def store(self, host: str, creds: Credentials) -> None:
        """Save credentials for ``host`` (in its helper when one is configured)."""
        data = self._load()
        helper = self._helper_for(data, host)
        key = server_key(host)
        auths = data.setdefault("auths", {})
        if helper:
            user = "<token>" if creds.identity_token else creds.username
            secret = creds.identity_token or creds.password
            _helper_run(helper, "store", json.dumps(
                {"ServerURL": key, "Username": user, "Secret": secret}))
            auths[key] = {}  # Docker leaves an empty entry so `docker info` lists it
        else:
            entry: dict[str, str] = {
                "auth": base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()}
            if creds.identity_token:
                entry = {"auth": base64.b64encode(f"{creds.username}:".encode()).decode(),
                         "identitytoken": creds.identity_token}
            auths[key] = entry
        self._save(data)

    def erase(self, host: str) -> bool:
        """Forget ``host``'s credentials; False when there were none (Docker: "Not logged in")."""
        data = self._load()
        helper = self._helper_for(data, host)
        key = server_key(host)
        found = False
        if helper:
            found = _helper_get(helper, key) is not None
            if found:
                _helper_run(helper, "erase", key)
        auths = data.get("auths") or {}
        for k in [k for k in auths if _host_of_key(k) == _host_of_key(key)]:
            del auths[k]
            found = True
        if found:
            self._save(data)
        return found


def _helper_run(name: str, action: str, stdin: str) -> str:
    exe = f"docker-credential-{name}"
    try:
        r = subprocess.run([exe, action], input=stdin.encode(), capture_output=True,
                           timeout=60)
    except FileNotFoundError as e:
        raise SkiffError(f"credential helper {exe}", "executable file not found in $PATH") from e
    except subprocess.TimeoutExpired as e:
        raise SkiffError(f"credential helper {exe}", "timed out") from e
    out = r.stdout.decode(errors="replace").strip()
    if r.returncode != 0:
        msg = out or r.stderr.decode(errors="replace").strip() or f"exit status {r.returncode}"
        if "credentials not found" in msg:
            raise _NotFoundInHelper(msg)
        raise SkiffError(f"credential helper {exe} {action}", msg, exit_code=1)
    return out


class _NotFoundInHelper(Exception):
    pass


def _helper_get(name: str, key: str) -> Credentials | None:
    try:
        out = _helper_run(name, "get", key)
    except _NotFoundInHelper:
        return None
    try:
        d = json.loads(out)
    except json.JSONDecodeError as e:
        raise SkiffError(f"credential helper docker-credential-{name} get",
                         f"invalid output: {out[:80]!r}", exit_code=1) from e
    user, secret = d.get("Username", ""), d.get("Secret", "")
    if user == "<token>":
        return Credentials("", "", secret)
    return Credentials(user, secret) if (user or secret) else None
