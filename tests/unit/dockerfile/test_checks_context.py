"""Checks that look beyond the Dockerfile: CopyIgnoredFile (the context's .dockerignore),
InvalidBaseImagePlatform (the local image store), InvalidDefaultArgInFrom (global ARG
defaults). Exact lines and BuildKit's messages; the CLI wiring (--context, --platform)."""

from __future__ import annotations

import json

import pytest

from skiff import metadata
from skiff.config import Config
from skiff.dockerfile import parse
from skiff.dockerfile.checks import RULES, check_config, run_checks
from skiff.dockerfile.checks_context import normalize_platform
from skiff.images import ImageService

NEW = {"CopyIgnoredFile", "InvalidBaseImagePlatform", "InvalidDefaultArgInFrom"}


def warn(text, context=None, **kw):
    df = parse(text)
    return [(w.rule, w.line, w.message) for w in run_checks(df, context, **kw)
            if w.rule in NEW]


# -- CopyIgnoredFile ----------------------------------------------------------------------

def test_copy_ignored_buildkit_case(tmp_path):
    (tmp_path / ".dockerignore").write_text("\nDockerfile\n")
    text = "\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n"
    assert warn(text, tmp_path) == [
        ("CopyIgnoredFile", 3,
         'Attempting to Copy file "Dockerfile" that is excluded by .dockerignore'),
        ("CopyIgnoredFile", 4,
         'Attempting to Add file "Dockerfile" that is excluded by .dockerignore')]
    # BuildKit's second case: what a stage copies --from another is not the context's
    (tmp_path / ".dockerignore").write_text("\nfoobar\n")
    text = ("\nFROM scratch AS base\nCOPY Dockerfile /foobar\nADD Dockerfile /windy\n\n"
            "FROM base\nCOPY --from=base /foobar /Dockerfile\n")
    assert warn(text, tmp_path) == []


def test_copy_ignored_paths(tmp_path):
    (tmp_path / ".dockerignore").write_text("# build output\n/dist\n*.log\nsecrets/**\n")
    text = ("FROM a:1\n"
            "COPY ./dist/app.js /srv/\n"          # parent directory excluded
            "COPY [\"debug.log\", \"src/\", \"/x/\"]\n"
            "COPY \"secrets/key\" /k\n"             # quotes removed first
            "COPY src/ distro/ /y/\n"             # not excluded
            "COPY --from=build /dist /dist\n"     # not from the context
            "ADD https://example.com/a.log /z\n"  # a URL
            "COPY $DIR/dist /w\n"                 # value unknown
            "COPY <<EOF /dist/x\nhi\nEOF\n")
    assert warn(text, tmp_path) == [
        ("CopyIgnoredFile", 2,
         'Attempting to Copy file "dist/app.js" that is excluded by .dockerignore'),
        ("CopyIgnoredFile", 3,
         'Attempting to Copy file "debug.log" that is excluded by .dockerignore'),
        ("CopyIgnoredFile", 4,
         'Attempting to Copy file "secrets/key" that is excluded by .dockerignore')]


def test_copy_ignored_quiet_cases(tmp_path):
    text = "FROM a:1\nCOPY app.log /x\n"
    assert warn(text, tmp_path) == []                      # no ignore file
    assert warn(text, None) == []                          # no context
    (tmp_path / ".dockerignore").write_text("# nothing\n\n")
    assert warn(text, tmp_path) == []                      # no patterns
    (tmp_path / ".dockerignore").write_text("*.log\n!keep.log\n")
    assert warn(text, tmp_path) == []                      # exceptions: BuildKit skips
    (tmp_path / ".dockerignore").write_text("*.log\n")
    assert warn("# check=skip=CopyIgnoredFile\n" + text, tmp_path) == []
    assert warn(text, tmp_path) == [
        ("CopyIgnoredFile", 2,
         'Attempting to Copy file "app.log" that is excluded by .dockerignore')]


def test_copy_ignored_uses_the_dockerfile_specific_ignore_file(tmp_path):
    (tmp_path / ".dockerignore").write_text("a.txt\n")
    df_path = tmp_path / "app.Dockerfile"
    (tmp_path / "app.Dockerfile.dockerignore").write_text("b.txt\n")
    text = "FROM a:1\nCOPY a.txt b.txt /\n"
    df = parse(text)
    got = [(w.line, w.message) for w in run_checks(df, tmp_path, dockerfile_path=df_path)
           if w.rule == "CopyIgnoredFile"]
    assert got == [(2, 'Attempting to Copy file "b.txt" that is excluded by .dockerignore')]


# -- InvalidDefaultArgInFrom (BuildKit's lint tests) --------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("\nARG VERSION\nFROM busybox:$VERSION\n",
     [(3, "Default value for ARG busybox:$VERSION results in empty or invalid base image "
          "name")]),
    ("\nARG IMAGE\nFROM $IMAGE\n",
     [(3, "Default value for ARG $IMAGE results in empty or invalid base image name")]),
    ('\nARG SFX="box:"\nFROM busy${SFX}\n',
     [(3, "Default value for ARG busy${SFX} results in empty or invalid base image name")]),
    ('\nARG VERSION="latest"\nFROM busybox:${VERSION}\n', []),
    ('\nARG BUSYBOX_VARIANT=""\nFROM busybox:stable${BUSYBOX_VARIANT}\n', []),
    ("\nARG BUSYBOX_VARIANT\nFROM busybox:stable${BUSYBOX_VARIANT}\n", []),
    ("ARG REPO=docker.io/library\nARG IMG=${REPO}/alpine\nFROM ${IMG}:3.20 AS base\n"
     "FROM base\n", []),
    ("FROM alpine:3.20-${TARGETARCH}\n", []),
    ("ARG BASE=Alpine\nFROM $BASE\n",
     [(2, "Default value for ARG $BASE results in empty or invalid base image name")]),
])
def test_invalid_default_arg_in_from(text, expected):
    df = parse(text)
    got = [(w.line, w.message) for w in run_checks(df) if w.rule == "InvalidDefaultArgInFrom"]
    assert got == expected


# -- InvalidBaseImagePlatform -------------------------------------------------------------

@pytest.fixture()
def store(tmp_path):
    cfg = Config(root=tmp_path / "root")
    cfg.root.mkdir()
    db = metadata.connect(cfg.metadata_path)
    svc = ImageService(cfg, db)
    svc.create({"architecture": "arm64", "variant": "v8", "os": "linux", "config": {}}, [],
               tags=["armbox:1"])
    svc.create({"architecture": "amd64", "os": "linux", "config": {}}, [], tags=["box:1"])
    yield svc
    db.close()


def _lookup(svc):
    def lookup(ref):
        try:
            return str(svc.get(ref).config.platform)
        except Exception:
            return None
    return lookup


def test_base_image_platform(store):
    text = ("FROM armbox:1 AS a\n"                                # arm64 for an amd64 build
            "FROM box:1 AS b\n"                                   # matches
            "FROM notlocal:1 AS c\n"                              # not in the store: quiet
            "FROM --platform=$BUILDPLATFORM armbox:1 AS d\n"      # build platform amd64
            "FROM --platform=linux/arm64 armbox:1 AS e\n"         # asked for arm64
            "FROM a\n")                                           # a stage, not an image
    got = warn(text, base_platform=_lookup(store), platform="linux/amd64")
    assert got == [
        ("InvalidBaseImagePlatform", 1, 'Base image armbox:1 was pulled with platform '
                                        '"linux/arm64", expected "linux/amd64" for current '
                                        'build'),
        ("InvalidBaseImagePlatform", 4, 'Base image armbox:1 was pulled with platform '
                                        '"linux/arm64", expected "linux/amd64" for current '
                                        'build')]
    got = warn(text, base_platform=_lookup(store), platform="linux/arm64/v8")
    assert [(r, ln) for r, ln, _ in got] == [("InvalidBaseImagePlatform", 2),
                                             ("InvalidBaseImagePlatform", 4)]
    assert got[0][2] == ('Base image box:1 was pulled with platform "linux/amd64", expected '
                         '"linux/arm64" for current build')
    assert warn(text) == []                                   # no store given: rule off


def test_base_image_platform_expands_global_args(store):
    text = "ARG IMG=armbox\nARG TAG=1\nFROM ${IMG}:${TAG}\n"
    assert warn(text, base_platform=_lookup(store), platform="linux/amd64") == [
        ("InvalidBaseImagePlatform", 3, 'Base image armbox:1 was pulled with platform '
                                        '"linux/arm64", expected "linux/amd64" for current '
                                        'build')]


@pytest.mark.parametrize("given,norm", [
    ("linux/x86_64", ("linux", "amd64", "")), ("Linux/aarch64", ("linux", "arm64", "")),
    ("linux/arm64/v8", ("linux", "arm64", "")), ("linux/arm", ("linux", "arm", "v7")),
    ("linux/armhf", ("linux", "arm", "v7")), ("linux/arm/6", ("linux", "arm", "v6")),
    ("linux/amd64/v3", ("linux", "amd64", "v3")), ("linux/i386", ("linux", "386", "")),
])
def test_normalize_platform(given, norm):
    assert normalize_platform(given) == norm


def test_rule_records():
    assert RULES["CopyIgnoredFile"].url == \
        "https://docs.docker.com/go/dockerfile/rule/copy-ignored-file/"
    assert RULES["InvalidDefaultArgInFrom"].description == \
        "Default value for global ARG results in an empty or invalid base image name"
    assert RULES["InvalidBaseImagePlatform"].description == \
        "Base image platform does not match expected target platform"


# -- CLI ----------------------------------------------------------------------------------

def test_cli_check_context_and_platform(cli, skiff_root, tmp_path):
    ctxdir = tmp_path / "ctx"
    ctxdir.mkdir()
    (ctxdir / ".dockerignore").write_text("*.md\n")
    f = tmp_path / "Dockerfile"
    f.write_text("FROM armbox:1\nCOPY README.md /\n")
    # the Dockerfile's directory is the default context: it has no ignore file; no store yet
    r = cli("dockerfile", "check", "-f", str(f), "--format", "json")
    assert (r.code, [w["rule"] for w in json.loads(r.out)]) == (0, [])
    assert not (skiff_root / "metadata.db").exists()       # a lint creates no store
    r = cli("dockerfile", "check", "-f", str(f), "--context", str(ctxdir), "--format", "json")
    assert r.code == 0
    assert json.loads(r.out) == [{
        "rule": "CopyIgnoredFile", "line": 2,
        "message": 'Attempting to Copy file "README.md" that is excluded by .dockerignore',
        "url": "https://docs.docker.com/go/dockerfile/rule/copy-ignored-file/",
        "fix": RULES["CopyIgnoredFile"].fix}]
    cfg = Config(root=skiff_root)
    db = metadata.connect(cfg.metadata_path)
    try:
        ImageService(cfg, db).create({"architecture": "arm64", "os": "linux", "config": {}},
                                     [], tags=["armbox:1"])
    finally:
        db.close()
    r = cli("dockerfile", "check", "-f", str(f), "--platform", "linux/amd64")
    assert r.code == 0
    assert r.out == (
        "WARNING: InvalidBaseImagePlatform - docs/checks/InvalidBaseImagePlatform.md\n"
        'Dockerfile:1: Base image armbox:1 was pulled with platform "linux/arm64", expected '
        '"linux/amd64" for current build\n'
        f"  fix: {RULES['InvalidBaseImagePlatform'].fix}\n"
        "Check complete, 1 warning has been found!\n")
    r = cli("dockerfile", "check", "-f", str(f), "--platform", "linux/arm64")
    assert (r.code, r.out) == (0, "Check complete, no warnings found.\n")


def test_cli_build_check(cli, skiff_root, tmp_path):
    (tmp_path / ".dockerignore").write_text("secret.txt\n")
    (tmp_path / "Dockerfile").write_text("FROM busybox:1.36\nCOPY secret.txt /\n")
    r = cli("build", "--check", str(tmp_path))
    assert r.code == 1
    assert r.err == (
        "WARNING: CopyIgnoredFile - https://docs.docker.com/go/dockerfile/rule/"
        "copy-ignored-file/\n"
        'Attempting to Copy file "secret.txt" that is excluded by .dockerignore '
        "(Dockerfile:2)\n"
        "Check complete, 1 warning has been found!\n")


# -- InvalidDefinitionDescription (experimental) ------------------------------------------

DESC = """# check=experimental=InvalidDefinitionDescription
# bar this is the bar
ARG foo=bar
# BasE this is the BasE image
FROM scratch AS base
# definitely a bad comment
ARG version=latest
# version a good comment
ARG other=1 version=2
# a comment about something else, then an empty comment line
#
FROM base AS two
FROM base
"""


def test_definition_description():
    got = [(w.rule, w.line, w.message) for w in run_checks(parse(DESC))]
    assert got == [
        ("InvalidDefinitionDescription", 3,
         "Comment for ARG should follow the format: `# foo <description>`"),
        ("InvalidDefinitionDescription", 5,
         "Comment for FROM should follow the format: `# base <description>`"),
        ("InvalidDefinitionDescription", 7,
         "Comment for ARG should follow the format: `# version <description>`")]


def test_experimental_rules_are_opt_in():
    text = DESC.split("\n", 1)[1]
    assert [w for w in run_checks(parse(text))
            if w.rule == "InvalidDefinitionDescription"] == []
    both = "# check=skip=all;experimental=all\n" + text + "MAINTAINER x\n"
    assert [w.rule for w in run_checks(parse(both))] == ["InvalidDefinitionDescription"] * 3
    ci = ("# check=skip=all;experimental=CopyIgnoredFile\nFROM scratch\nCOPY Dockerfile .\n")
    assert check_config(parse(ci)).enabled("CopyIgnoredFile")
    assert not check_config(parse(ci)).enabled("MaintainerDeprecated")
