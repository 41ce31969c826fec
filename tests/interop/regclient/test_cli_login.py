"""``skiff login`` / ``skiff logout`` against docker-registry with htpasswd auth."""

from __future__ import annotations

import base64
import json

import pytest

pytestmark = [pytest.mark.requires_peer("docker-registry", "htpasswd")]


def test_login_logout(cli, auth_registry, _docker_config):
    host = auth_registry.host
    r = cli("login", "-u", "alice", "--password-stdin", host, stdin=b"s3cret\n")
    assert (r.code, r.out, r.err) == (0, "Login Succeeded\n", "")
    cfg = json.loads((_docker_config / "config.json").read_text())
    assert cfg == {"auths": {host: {"auth": base64.b64encode(b"alice:s3cret").decode()}}}
    r = cli("logout", host)
    assert (r.code, r.out) == (0, f"Removing login credentials for {host}\n")
    r = cli("logout", host)
    assert (r.code, r.out) == (0, f"Not logged in to {host}\n")


def test_login_refused_stores_nothing(cli, auth_registry, _docker_config):
    host = auth_registry.host
    r = cli("login", "-u", "alice", "--password-stdin", host, stdin=b"wrong\n")
    assert r.code == 1
    assert r.err == (f"skiff: login attempt to http://{host}/v2/ failed with status: "
                     "401 Unauthorized\n")
    assert not (_docker_config / "config.json").exists()


def test_login_flags(cli, auth_registry):
    r = cli("login", "--password-stdin", auth_registry.host, stdin=b"x\n")
    assert (r.code, r.err) == (125, "skiff: skiff login: Must provide --username with "
                                    "--password-stdin\n")
    r = cli("login", "-u", "alice", auth_registry.host, stdin=b"")
    assert (r.code, r.err) == (125, "skiff: Cannot perform an interactive login from a "
                                    "non TTY device\n")
