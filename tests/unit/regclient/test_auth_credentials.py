"""Challenge parsing, Docker config.json credentials and the credential-helper protocol."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys

import pytest

from skiff.errors import InvalidArgument
from skiff.registry.client.auth import Challenge, parse_challenges
from skiff.registry.client.credentials import Credentials, CredentialStore


def test_parse_bearer_challenge():
    h = ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
         'scope="repository:library/busybox:pull"')
    assert parse_challenges(h) == [Challenge("bearer", {
        "realm": "https://auth.docker.io/token", "service": "registry.docker.io",
        "scope": "repository:library/busybox:pull"})]


def test_parse_basic_and_error_params():
    assert parse_challenges('Basic realm="basic-realm"') == [
        Challenge("basic", {"realm": "basic-realm"})]
    h = 'Bearer realm="r",error="insufficient_scope",scope="repository:a:pull,push"'
    assert parse_challenges(h)[0].params == {"realm": "r", "error": "insufficient_scope",
                                             "scope": "repository:a:pull,push"}


def test_parse_two_challenges_and_escapes():
    got = parse_challenges('Basic realm="a \\"b\\"", Bearer realm="t",service=s')
    assert got == [Challenge("basic", {"realm": 'a "b"'}),
                   Challenge("bearer", {"realm": "t", "service": "s"})]


@pytest.fixture
def docker_dir(tmp_path, monkeypatch):
    d = tmp_path / "dockercfg"
    monkeypatch.setenv("DOCKER_CONFIG", str(d))
    return d


def test_store_get_erase_in_auths(docker_dir):
    cs = CredentialStore()
    assert cs.get("localhost:5000") is None
    cs.store("localhost:5000", Credentials("alice", "s3:cret"))
    data = json.loads((docker_dir / "config.json").read_text())
    assert data == {"auths": {"localhost:5000": {
        "auth": base64.b64encode(b"alice:s3:cret").decode()}}}
    assert stat.S_IMODE(os.stat(docker_dir / "config.json").st_mode) == 0o600
    assert cs.get("localhost:5000") == Credentials("alice", "s3:cret")
    assert cs.erase("localhost:5000") is True
    assert cs.erase("localhost:5000") is False
    assert json.loads((docker_dir / "config.json").read_text()) == {"auths": {}}


def test_docker_hub_key_and_url_keys(docker_dir):
    docker_dir.mkdir()
    (docker_dir / "config.json").write_text(json.dumps({"auths": {
        "https://index.docker.io/v1/": {"auth": base64.b64encode(b"bob:pw").decode()},
        "https://reg.example.com/v2/": {"auth": base64.b64encode(b"carol:x").decode()}},
        "other": {"kept": True}}))
    cs = CredentialStore()
    assert cs.get("docker.io") == Credentials("bob", "pw")
    assert cs.get("reg.example.com") == Credentials("carol", "x")
    cs.store("docker.io", Credentials("bob", "new"))
    data = json.loads((docker_dir / "config.json").read_text())
    assert data["other"] == {"kept": True}
    assert data["auths"]["https://index.docker.io/v1/"]["auth"] == base64.b64encode(
        b"bob:new").decode()


def test_identity_token(docker_dir):
    docker_dir.mkdir()
    (docker_dir / "config.json").write_text(json.dumps({"auths": {"r.io": {
        "auth": base64.b64encode(b"dan:").decode(), "identitytoken": "refresh-123"}}}))
    assert CredentialStore().get("r.io") == Credentials("dan", "", "refresh-123")


def test_bad_config_file(docker_dir):
    docker_dir.mkdir()
    (docker_dir / "config.json").write_text("{nope")
    with pytest.raises(InvalidArgument) as ei:
        CredentialStore().get("r.io")
    assert ei.value.what == f"loading config file {docker_dir / 'config.json'}"


HELPER = r'''#!PYTHON
import json, os, sys
db = os.path.join(os.path.dirname(os.path.abspath(__file__)), "store.json")
data = json.load(open(db)) if os.path.exists(db) else {}
action = sys.argv[1]
inp = sys.stdin.read()
if action == "store":
    d = json.loads(inp)
    data[d["ServerURL"]] = [d["Username"], d["Secret"]]
elif action == "get":
    if inp.strip() not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    u, s = data[inp.strip()]
    print(json.dumps({"ServerURL": inp.strip(), "Username": u, "Secret": s}))
elif action == "erase":
    data.pop(inp.strip(), None)
json.dump(data, open(db, "w"))
'''


@pytest.fixture
def helper(tmp_path, monkeypatch):
    """A real docker-credential-* program speaking the helper protocol (file-backed)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "docker-credential-filetest"
    exe.write_text(HELPER.replace("PYTHON", sys.executable))
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    return bindir / "store.json"


@pytest.mark.parametrize("cfg", [{"credsStore": "filetest"},
                                 {"credHelpers": {"r.example.com": "filetest"}}])
def test_credential_helper_protocol(docker_dir, helper, cfg):
    docker_dir.mkdir()
    (docker_dir / "config.json").write_text(json.dumps(cfg))
    cs = CredentialStore()
    assert cs.get("r.example.com") is None
    cs.store("r.example.com", Credentials("erin", "pw1"))
    assert json.loads(helper.read_text()) == {"r.example.com": ["erin", "pw1"]}
    data = json.loads((docker_dir / "config.json").read_text())
    assert data["auths"] == {"r.example.com": {}}
    assert cs.get("r.example.com") == Credentials("erin", "pw1")
    assert cs.erase("r.example.com") is True
    assert json.loads(helper.read_text()) == {}
    assert cs.get("r.example.com") is None
