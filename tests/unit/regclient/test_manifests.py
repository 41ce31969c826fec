"""Media type detection, schema 1 refusal, platform parsing and selection, insecure hosts."""

from __future__ import annotations

import json

import pytest

from skiff.config import Config
from skiff.errors import InvalidArgument, NotFound
from skiff.registry.client.manifests import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    SCHEMA1,
    Platform,
    media_type_of,
    select_platform,
)
from skiff.registry.client.transport import decode_error, is_insecure


def test_media_type_from_field_header_or_shape():
    assert media_type_of(json.dumps({"mediaType": DOCKER_MANIFEST}).encode(), None) == (
        DOCKER_MANIFEST)
    assert media_type_of(b'{"schemaVersion":2,"manifests":[]}', DOCKER_LIST) == DOCKER_LIST
    assert media_type_of(b'{"schemaVersion":2,"manifests":[]}', None) == OCI_INDEX
    assert media_type_of(b'{"schemaVersion":2,"config":{},"layers":[]}', None) == OCI_MANIFEST
    assert media_type_of(b'{"schemaVersion":1,"fsLayers":[]}', "application/json") == SCHEMA1[0]
    with pytest.raises(InvalidArgument):
        media_type_of(b"<html>", None)


def test_platform_parse_and_normalize():
    assert Platform.parse("linux/amd64") == Platform("linux", "amd64")
    assert Platform.parse("linux/arm64/v8") == Platform("linux", "arm64")
    assert Platform.parse("linux/arm") == Platform("linux", "arm", "v7")
    assert str(Platform.parse("linux/arm/v6")) == "linux/arm/v6"
    with pytest.raises(InvalidArgument):
        Platform.parse("linux")


INDEX = {"manifests": [
    {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "1" * 64, "size": 1,
     "platform": {"os": "linux", "architecture": "arm", "variant": "v6"}},
    {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "2" * 64, "size": 1,
     "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
    {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "3" * 64, "size": 1,
     "platform": {"os": "linux", "architecture": "amd64"}},
    {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "4" * 64, "size": 1,
     "platform": {"os": "unknown", "architecture": "unknown"}},
    {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "5" * 64, "size": 1,
     "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
]}


@pytest.mark.parametrize("want,digit", [("linux/amd64", "3"), ("linux/arm/v6", "1"),
                                        ("linux/arm", "2"), ("linux/arm64", "5")])
def test_select_platform(want, digit):
    assert select_platform(INDEX, Platform.parse(want), "x")["digest"] == "sha256:" + digit * 64


def test_select_platform_no_match():
    with pytest.raises(NotFound) as ei:
        select_platform(INDEX, Platform.parse("linux/s390x"), "busybox:latest")
    assert ei.value.why == "no matching manifest for linux/s390x in the manifest list entries"
    assert ei.value.exit_code == 1


def test_insecure_hosts():
    assert is_insecure("localhost:5000")
    assert is_insecure("127.0.0.1:5000")
    assert is_insecure("127.1.2.3")
    assert is_insecure("[::1]:5000")
    assert not is_insecure("registry.example.com")
    assert not is_insecure("10.0.0.1:5000")
    assert is_insecure("10.0.0.1:5000", Config(insecure_registries=("10.0.0.1:5000",)))


def test_decode_error_body():
    import httpx

    r = httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN",
                                              "message": "manifest unknown"}]})
    assert decode_error(r) == ("manifest unknown: manifest unknown", ("MANIFEST_UNKNOWN",))
    assert decode_error(httpx.Response(502, text="<html>bad gateway</html>")) == (
        "unexpected HTTP status: 502 Bad Gateway", ())
