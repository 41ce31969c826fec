"""skiff.reference against every suite of ../shared/peer/distribution-reference/cases.json."""

from __future__ import annotations

import json

import pytest

from skiff import reference as R
from skiff.errors import InvalidArgument
from tests.conftest import PEER

DATA = json.loads((PEER / "distribution-reference" / "cases.json").read_text())
MSG = DATA["error_messages"]


def cases(suite):
    cs = DATA["suites"][suite]["cases"]
    return pytest.mark.parametrize("c", cs, ids=[str(i) for i in range(len(cs))])


def _raises(code, fn, *a):
    with pytest.raises(InvalidArgument) as e:
        fn(*a)
    assert e.value.code == code
    assert MSG[code].endswith(str(e.value)) or str(e.value) == MSG[code]


def test_messages_match_upstream():
    for code, msg in R.MESSAGES.items():
        assert MSG[code].removeprefix("(go-digest) ") == msg


@cases("parse")
def test_parse(c):
    if "err" in c:
        _raises(c["err"], R.parse_raw, c["input"])
        return
    r = R.parse_raw(c["input"])
    assert str(r) == c["input"]
    assert r.name == c["repository"]
    assert r.domain == c.get("domain", "")
    assert r.tag == c.get("tag")
    assert r.digest == c.get("digest")


@cases("with_name_failure")
def test_with_name_failure(c):
    with pytest.raises(InvalidArgument) as e:
        R.with_name(c["input"])
    assert e.value.code == c["err"]


@cases("with_name_domain_path")
def test_with_name_domain_path(c):
    r = R.with_name(c["input"])
    assert (r.domain, r.path) == (c["domain"], c["path"])


@cases("json_field")
def test_json_field(c):
    src = json.dumps({"Field": c.get("input", "")})
    value = json.loads(src)["Field"]
    if "err" in c:
        _raises(c["err"], R.parse_raw, value)
        return
    r = R.parse_raw(value)
    assert (r.name, r.tag, r.digest) == (c["name"], c.get("tag"), c.get("digest"))
    assert json.dumps({"Field": str(r)}) == src


@cases("with_tag")
def test_with_tag(c):
    r = R.with_name(c["name"])
    if c.get("digest"):
        r = r.with_digest(c["digest"])
    assert str(r.with_tag(c["tag"])) == c["combined"]


@cases("with_digest")
def test_with_digest(c):
    r = R.with_name(c["name"])
    if c.get("tag"):
        r = r.with_tag(c["tag"])
    assert str(r.with_digest(c["digest"])) == c["combined"]


@cases("parse_named")
def test_parse_named(c):
    if "err" in c:
        with pytest.raises(InvalidArgument) as e:
            R.parse_named(c["input"])
        assert e.value.code == c["err"]
        return
    r = R.parse_named(c["input"])
    assert (r.domain, r.path) == (c["domain"], c["path"])


@cases("normalized_named_validity")
def test_normalized_named_validity(c):
    if c["valid"]:
        R.parse_normalized_named(c["input"])
    else:
        with pytest.raises(InvalidArgument):
            R.parse_normalized_named(c["input"])


@cases("remote_name_validity")
def test_remote_name_validity(c):
    if c["valid"]:
        R.parse_normalized_named(c["input"])
    else:
        with pytest.raises(InvalidArgument):
            R.parse_normalized_named(c["input"])


@cases("normalized_repository_info")
def test_normalized_repository_info(c):
    r = R.parse_normalized_named(c["input"])
    assert r.familiar_name() == c["familiar_name"]
    assert str(r) == c["full_name"]
    assert (r.domain, r.path) == (c["domain"], c["path"])


@cases("tag_and_digest")
def test_tag_and_digest(c):
    r = R.parse_normalized_named(c["input"])
    assert str(r) == c["string"]
    assert r.familiar() == c["familiar_string"]
    assert (r.tag is not None, r.digest is not None) == (c["tagged"], c["digested"])


@cases("invalid_components")
def test_invalid_components(c):
    with pytest.raises(InvalidArgument):
        if c["call"] == "ParseNormalizedNamed":
            R.parse_normalized_named(c["input"])
        elif c["call"].startswith("WithTag"):
            R.parse_normalized_named("busybox").with_tag(c["input"])
        else:
            R.parse_normalized_named("busybox").with_digest(c["input"])


@cases("parse_any")
def test_parse_any(c):
    r = R.parse_any(c["Reference"])
    assert str(r) == c["Equivalent"]
    if "Expected" in c:
        assert (r.name, r.digest) == ("", c["Expected"]["digest"])
    else:
        assert r == R.parse_raw(c["Equivalent"])


@cases("normalized_domain_path")
def test_normalized_domain_path(c):
    r = R.parse_normalized_named(c["input"])
    assert (r.domain, r.path) == (c["domain"], c["path"])


@cases("familiar_match")
def test_familiar_match(c):
    ref = R.parse_any(c["reference"])
    if c["expected"] == "error":
        with pytest.raises(InvalidArgument):
            R.familiar_match(c["pattern"], ref)
    else:
        assert R.familiar_match(c["pattern"], ref) is c["expected"]


@cases("parse_docker_ref")
def test_parse_docker_ref(c):
    if "err" in c or c.get("expected") is None:
        with pytest.raises(InvalidArgument):
            R.parse_docker_ref(c["input"])
        return
    assert str(R.parse_docker_ref(c["input"])) == c["expected"]


@cases("regexp_domain")
def test_regexp_domain(c):
    assert bool(R.DOMAIN_RE.match(c["input"])) is c["match"]


@cases("regexp_anchored_name")
def test_regexp_anchored_name(c):
    m = R.ANCHORED_NAME_RE.match(c["input"])
    assert bool(m) is c["match"]
    if m and "subs" in c:
        assert [m.group(1) or "", m.group(2)] == c["subs"]


@cases("regexp_reference")
def test_regexp_reference(c):
    m = R.REFERENCE_RE.match(c["input"])
    assert bool(m) is c["match"]
    if m and "subs" in c:
        assert [g or "" for g in m.groups()] == c["subs"]


@cases("regexp_identifier")
def test_regexp_identifier(c):
    assert bool(R.IDENTIFIER_RE.match(c["input"])) is c["match"]


@pytest.mark.parametrize("s,full,familiar", [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app:latest"),
    ("index.docker.io/me/app:1", "docker.io/me/app:1", "me/app:1"),
])
def test_parse_adds_latest(s, full, familiar):
    r = R.parse(s)
    assert (str(r), r.familiar()) == (full, familiar)
    assert r.repository == full.rsplit(":", 1)[0]


def test_parse_uppercase_message():
    with pytest.raises(InvalidArgument) as e:
        R.parse("Busybox")
    assert str(e.value) == "invalid reference format: repository name must be lowercase"
