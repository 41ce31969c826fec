"""OCI types: parse what the spec shows, write canonical JSON that validates, round-trip."""

from __future__ import annotations

import json

import pytest

from skiff import digest
from skiff.errors import InvalidArgument
from skiff.oci import (
    Descriptor,
    ImageConfig,
    Index,
    Manifest,
    Platform,
    canonical_json,
    host_platform,
    mediatypes,
    parse_document,
)
from tests.unit.oci.schema import errors_of, facts

CASES = facts()["schema_test_cases"]
EXAMPLES = facts()["spec_examples"]


def _convert(doc: str) -> str:
    for a, b in facts()["docker_to_oci_media_types"].items():
        doc = doc.replace(a, b)
    return doc


@pytest.mark.parametrize("case", CASES, ids=[c["source"] for c in CASES])
def test_schema_cases_reproduce_upstream(case):
    doc = case["document"]
    if case.get("convert_docker_media_types_first"):
        assert digest.of_bytes(doc.encode()) == case["sha256_of_document"]
        doc = _convert(doc)
    assert (errors_of(doc, case["media_type"]) == []) is case["valid"], case.get("comment")


@pytest.mark.parametrize("ex", EXAMPLES, ids=[e["title"] for e in EXAMPLES])
def test_spec_examples_validate(ex):
    assert errors_of(ex["document"], ex["media_type"]) == []


def _valid(media_type: str) -> list[dict]:
    docs = [c for c in CASES if c["valid"] and c["media_type"] == media_type]
    docs += [e for e in EXAMPLES if e["media_type"] == media_type]
    return docs


@pytest.mark.parametrize("case", _valid(mediatypes.OCI_MANIFEST), ids=lambda c: c.get("source", c.get("title")))
def test_valid_manifests_round_trip(case):
    raw = json.loads(case["document"])
    m = Manifest.from_bytes(case["document"].encode())
    out = m.to_dict()
    raw.setdefault("mediaType", mediatypes.OCI_MANIFEST)
    for d in [raw["config"], *raw["layers"]]:
        d.pop("data", None)  # embedded data is not kept
    assert out == raw
    assert errors_of(m.to_json(), mediatypes.OCI_MANIFEST) == []


@pytest.mark.parametrize("case", _valid(mediatypes.OCI_INDEX), ids=lambda c: c.get("source", c.get("title")))
def test_valid_indexes_round_trip(case):
    raw = json.loads(case["document"])
    idx = Index.from_bytes(case["document"].encode())
    out = idx.to_dict()
    raw.setdefault("mediaType", mediatypes.OCI_INDEX)
    assert out == raw
    assert errors_of(idx.to_json(), mediatypes.OCI_INDEX) == []


def test_docker_schema2_manifest_keeps_its_media_type():
    case = next(c for c in CASES if c.get("convert_docker_media_types_first")
                and mediatypes.DOCKER_MANIFEST_LIST not in c["document"]
                and '"layers"' in c["document"])
    m = parse_document(case["document"].encode())
    assert isinstance(m, Manifest)
    assert m.media_type == mediatypes.DOCKER_MANIFEST
    assert m.config.media_type == "application/octet-stream"  # as that real document has it
    assert all(mediatypes.compression_of(x.media_type) == "gzip" for x in m.layers)


def test_canonical_json_is_sorted_and_compact():
    assert canonical_json({"b": 1, "a": [1, {"d": "é", "c": None}]}) == \
        '{"a":[1,{"c":null,"d":"é"}],"b":1}'.encode()


def test_written_manifest_digest_is_digest_of_bytes():
    cfg = ImageConfig({"architecture": "amd64", "os": "linux",
                       "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64]},
                       "config": {"Env": ["PATH=/bin"]}})
    cb = cfg.to_json()
    assert errors_of(cb, mediatypes.OCI_CONFIG) == []
    m = Manifest(config=Descriptor(mediatypes.OCI_CONFIG, digest.of_bytes(cb), len(cb)),
                 layers=(Descriptor(mediatypes.OCI_LAYER_GZIP, "sha256:" + "b" * 64, 10),))
    b = m.to_json()
    assert errors_of(b, mediatypes.OCI_MANIFEST) == []
    assert Manifest.from_bytes(b) == m
    assert canonical_json(json.loads(b)) == b


def test_config_helpers():
    cfg = ImageConfig.from_bytes(b'{"os":"linux","architecture":"arm64","variant":"v8",'
                                 b'"config":{"Cmd":["sh"]},"history":[{"created_by":"x"}],'
                                 b'"rootfs":{"type":"layers","diff_ids":["sha256:' + b"c" * 64 + b'"]}}')
    assert cfg.config == {"Cmd": ["sh"]}
    assert cfg.diff_ids == ["sha256:" + "c" * 64]
    assert cfg.history == [{"created_by": "x"}]
    assert str(cfg.platform) == "linux/arm64/v8"


@pytest.mark.parametrize("doc,why", [
    (b"{not json", "invalid JSON"),
    (b"[]", "expected a JSON object"),
    (b'{"schemaVersion":1}', "unsupported schemaVersion 1"),
    (b'{"schemaVersion":2,"mediaType":"text/plain"}', "unsupported media type 'text/plain'"),
])
def test_bad_documents_refused(doc, why):
    with pytest.raises(InvalidArgument) as e:
        parse_document(doc)
    assert why in str(e.value)


def test_descriptor_rejects_bad_digest_and_size():
    with pytest.raises(InvalidArgument):
        Descriptor.from_dict({"mediaType": "x", "digest": "sha256:abc", "size": 1})
    with pytest.raises(InvalidArgument):
        Descriptor.from_dict({"mediaType": "x", "digest": "sha256:" + "a" * 64, "size": "1"})


def test_mediatypes_predicates():
    assert mediatypes.is_layer(mediatypes.DOCKER_LAYER_GZIP)
    assert mediatypes.compression_of(mediatypes.OCI_LAYER_ZSTD) == "zstd"
    assert mediatypes.compression_of(mediatypes.OCI_LAYER) == "none"
    assert mediatypes.is_manifest(mediatypes.DOCKER_MANIFEST)
    assert mediatypes.is_index(mediatypes.DOCKER_MANIFEST_LIST)
    assert not mediatypes.is_layer(mediatypes.OCI_CONFIG)
    with pytest.raises(InvalidArgument):
        mediatypes.compression_of(mediatypes.OCI_CONFIG)


def test_platform():
    assert host_platform() == Platform("linux", "amd64")
    assert Platform.parse("linux/arm64/v8").to_dict() == {"os": "linux", "architecture": "arm64",
                                                          "variant": "v8"}
    with pytest.raises(InvalidArgument):
        Platform.parse("linux")
