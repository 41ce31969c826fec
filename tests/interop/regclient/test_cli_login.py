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


@pytest.mark.requires_root
@pytest.mark.requires_peer("umoci", "skopeo")
def test_pull_needs_login(cli, auth_registry, bb_layout, repo_name):
    from tests.interop.regclient.servers import skopeo

    name = f"{auth_registry.host}/{repo_name}:1"
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "alice:s3cret",
           f"oci:{bb_layout}:bb", f"docker://{name}")
    r = cli("pull", "-q", name)
    assert (r.code, r.err) == (1, f"skiff: fetching manifest for {name}: unauthorized: "
                                  "authentication required\n")
    assert cli("login", "-u", "alice", "--password-stdin", auth_registry.host,
               stdin=b"s3cret").code == 0
    r = cli("pull", "-q", name)
    assert (r.code, r.out) == (0, name + "\n")
