"""``login`` / ``logout``: check credentials against a registry and keep them as Docker does.

The check is the one ``docker login`` makes: ``GET /v2/``; on a Basic challenge the same
request again with the credentials, on a Bearer challenge a token request (no scope) with
them. Only credentials the registry accepted are saved (config.json ``auths`` or the
configured credential helper).
"""

from __future__ import annotations

from skiff.config import Config
from skiff.errors import Unauthorized
from skiff.registry.client.credentials import Credentials, CredentialStore, server_key
from skiff.registry.client.transport import Registry, raise_for

DEFAULT_REGISTRY = "docker.io"


def normalize_server(server: str | None) -> str:
    """``None``/Docker Hub spellings → ``docker.io``; strip a scheme and path
    (``https://r.example.com/v2/`` → ``r.example.com``)."""
    if not server:
        return DEFAULT_REGISTRY
    s = server
    for p in ("https://", "http://"):
        if s.startswith(p):
            s = s[len(p):]
    s = s.split("/", 1)[0]
    return DEFAULT_REGISTRY if s in ("index.docker.io", "registry-1.docker.io") else s


def login(config: Config | None, server: str | None, username: str, password: str) -> str:
    """Verify ``username``/``password`` at ``server`` and store them; returns the host.

    Raises Unauthorized (exit 1) when the registry refuses them — nothing is stored —,
    Unavailable when it cannot be reached.
    """
    host = normalize_server(server)
    creds = Credentials(username, password)
    with Registry(host, config, creds) as reg:
        reg.ping()
        ch = reg.auth.challenge
        if ch is not None:
            if ch.scheme == "bearer":
                reg.auth.headers(())  # fetches a token with the credentials
            else:
                r = reg._plain("GET", reg.url("/v2/"), reg.auth.headers(()))
                if r.status_code == 401:
                    # Docker: "login attempt to <url> failed with status: 401 Unauthorized"
                    raise Unauthorized(f"login attempt to {reg.url('/v2/')} failed with status",
                                       "401 Unauthorized")
                if r.status_code != 200:
                    raise_for(r, f"login to {host}")
    CredentialStore().store(host, creds)
    return host


def logout(server: str | None) -> tuple[str, bool]:
    """Forget the credentials for ``server``; returns (key shown to the user, whether any
    were stored) — Docker prints ``Removing login credentials for <key>`` or
    ``Not logged in to <key>``."""
    host = normalize_server(server)
    return server_key(host), CredentialStore().erase(host)
