"""Best-practice checks: each rule fires where it should (with its line) and not elsewhere;
``# check=`` directives; the CLI commands."""

from __future__ import annotations

import json

import pytest

from skiff.dockerfile import parse
from skiff.dockerfile.checks import RULES, check_config, run_checks
from skiff.dockerfile.checks_hadolint import RULE_TEXT as HADOLINT_TEXT
from skiff.dockerfile.checks_pinning import RULE_TEXT
from tests.conftest import REPO

# The version pinning rules and hadolint's --no-install-recommends / relative COPY
# destination rules fire on most short examples; test_checks_pinning.py and
# test_checks_hadolint.py cover them, the cases here exercise the other rules.
PINNING = frozenset(RULE_TEXT) | frozenset(HADOLINT_TEXT)


def found(text, context=None, **kw):
    df = parse(text, allow_duplicate_stages=True)
    return [(w.rule, w.line) for w in run_checks(df, context, **kw) if w.rule not in PINNING]


@pytest.mark.parametrize("text,expected", [
    ("FROM ubuntu\n", [("BaseImageNoTag", 1)]),
    ("FROM ubuntu:latest\n", [("BaseImageLatestTag", 1)]),
    ("FROM ubuntu@sha256:" + "a" * 64 + "\n", []),
    ("FROM scratch\n", []),
    ("FROM a:1 AS b\nFROM b\n", []),
    ("FROM a:1\nRUN apt-get update\nRUN apt-get install -y x && rm -rf /var/lib/apt/lists/*\n",
     [("AptGetUpdateAlone", 2), ("ConsecutiveRun", 3)]),
    ("FROM a:1\nRUN set -eux; apt-get update; apt-get install -y x; "
     "rm -rf /var/lib/apt/lists/*\n", []),
    ("FROM a:1\nRUN a\nRUN b\nRUN c\nENV X=1\nRUN d\n", [("ConsecutiveRun", 3)]),
    ("FROM a:1\nRUN a\nRUN --mount=type=cache,target=/c b\n", []),
    ("FROM a:1\nRUN apt-get update && apt-get install -y curl\n",
     [("PackageCacheNotCleaned", 2)]),
    ("FROM a:1\nRUN --mount=type=cache,target=/var/cache/apt apt-get update && "
     "apt-get install -y curl\n", []),
    ("FROM a:1\nRUN apk add curl\n", [("PackageCacheNotCleaned", 2)]),
    ("FROM a:1\nRUN apk add --no-cache curl\n", []),
    ("FROM a:1\nRUN yum install -y x\n", [("PackageCacheNotCleaned", 2)]),
    ("FROM a:1\nRUN yum install -y x && yum clean all\n", []),
    ("FROM a:1 AS build\nRUN apt-get update && apt-get install -y gcc\nFROM b:1\n"
     "COPY --from=build /x /x\n", []),
    ("FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
     [("CopyBeforeDependencyInstall", 3)]),
    ("FROM node:20\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n", []),
    ("FROM python:3\nCOPY . /src\nRUN pip install -r /src/requirements.txt\n",
     [("CopyBeforeDependencyInstall", 2), ("PackageCacheNotCleaned", 3)]),
    ("FROM a:1\nADD app.py /app/\n", [("AddInsteadOfCopy", 2)]),
    ("FROM a:1\nADD https://x/y.tar.gz /\nADD rootfs.tar.xz /\nADD --checksum=sha256:0 f /\n",
     []),
    ("FROM a:1\nCMD python app.py\nENTRYPOINT /entry\n",
     [("JSONArgsRecommended", 2), ("JSONArgsRecommended", 3)]),
    ("FROM a:1\nSHELL [\"/bin/bash\", \"-c\"]\nCMD python app.py\n", []),
    ("FROM a:1 AS x\nFROM b:1 AS x\n", [("DuplicateStageName", 2)]),
    ("FROM a:1 AS scratch\n", [("ReservedStageName", 1)]),
    ("FROM a:1\nENV X=$UNDEFINED\nCOPY $X /dst\nRUN echo $NOT_CHECKED\n",
     [("UndefinedVar", 2)]),
    ("FROM a:1\nARG NAME\nENV Y=${NAME} Z=${NAEM}\n", [("UndefinedVar", 3)]),
    ("FROM a:1\nENV PATH=/x:$PATH HOME2=$HOME\n", []),
    ("FROM scratch\nENV P=$PATH\n", [("UndefinedVar", 2)]),
    ("FROM a:1 AS base\nENV V=1\nFROM base\nWORKDIR /$V\n", []),
    ("FROM a:1\nENV U=${UID:-1000}\n", []),
    ("FROM a:$TAG\n", [("InvalidDefaultArgInFrom", 1), ("UndefinedArgInFrom", 1)]),
    ("ARG TAG=1\nFROM a:$TAG\nFROM --platform=$BUILDPLATFORM b:1\n", []),
    ("FROM --platform=linux/amd64 a:1\n", [("FromPlatformFlagConstDisallowed", 1)]),
    ("FROM --platform=$TARGETPLATFORM a:1\n", [("RedundantTargetPlatform", 1)]),
    ("FROM a:1\nMAINTAINER me\n", [("MaintainerDeprecated", 2)]),
    ("FROM a:1 AS Builder\n", [("StageNameCasing", 1)]),
    ("FROM a:1 as b\n", [("FromAsCasing", 1)]),
    ("from a:1 as b\nrun x\n", []),
    ("FROM a:1\nRUN x\nrun y\nCOPY a b\n", [("ConsecutiveRun", 3),
                                           ("ConsistentInstructionCasing", 3)]),
    ("FROM a:1\nRUN a \\\n\n  b\n", [("NoEmptyContinuation", 4)]),
    ("FROM a:1\nWORKDIR app\nWORKDIR \"/abs\"\n", [("WorkdirRelativePath", 2)]),
    ("FROM a:1\nENV A b\nLABEL c d\n", [("LegacyKeyValueFormat", 2),
                                        ("LegacyKeyValueFormat", 3)]),
    ("FROM a:1\nCMD [\"a\"]\nCMD [\"b\"]\n", [("MultipleInstructionsDisallowed", 2)]),
    ("FROM a:1\nEXPOSE 80/TCP 8080:80 443/udp\n", [("ExposeInvalidFormat", 2),
                                                   ("ExposeProtoCasing", 2)]),
    ("FROM a:1\nARG DB_PASSWORD\nENV API_TOKEN=x GPG_KEY=abc AUTH_VERSION=1\n",
     [("SecretsUsedInArgOrEnv", 2), ("SecretsUsedInArgOrEnv", 3)]),
    ("FROM a:1\nUSER app\nUSER root\n", [("UserRoot", 3)]),
    ("FROM a:1\nRUN apt install -y x && rm -rf /var/lib/apt/lists/*\n", [("UseAptGet", 2)]),
])
def test_rules(text, expected):
    assert sorted(found(text)) == sorted(expected)


def test_warning_fields():
    df = parse("FROM a:1\nCMD run\n")
    (w,) = run_checks(df)
    assert w.rule == "JSONArgsRecommended" and w.line == 2
    assert w.message == ("JSON arguments recommended for CMD to prevent unintended behavior "
                         "related to OS signals")
    assert w.url == "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/"
    assert w.fix == RULES["JSONArgsRecommended"].fix


def test_context_rule(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "node_modules").mkdir()
    text = "FROM a:1\nWORKDIR /app\nCOPY . .\n"
    assert found(text, tmp_path) == [("ContextNotIgnored", 3), ("ContextNotIgnored", 3)]
    (tmp_path / ".dockerignore").write_text(".git\nnode_modules/\n")
    assert found(text, tmp_path) == []
    # only what a broad COPY sends matters
    (tmp_path / ".dockerignore").unlink()
    assert found("FROM a:1\nCOPY app.py /app/\n", tmp_path) == []


def test_check_directives():
    df = parse("# check=skip=JSONArgsRecommended,BaseImageNoTag;error=true\nFROM a\nCMD x\n"
               "MAINTAINER m\n")
    cfg = check_config(df)
    assert cfg.error and cfg.skip == {"JSONArgsRecommended", "BaseImageNoTag"}
    assert [w.rule for w in run_checks(df)] == ["MaintainerDeprecated"]
    assert run_checks(parse("# check=skip=all\nFROM a\nCMD x\n")) == []


def test_every_rule_has_a_doc_page():
    docs = REPO / "docs" / "checks"
    assert sorted(p.stem for p in docs.glob("*.md") if p.stem != "README") == sorted(RULES)


# -- CLI ----------------------------------------------------------------------------------

def test_cli_parse_ast(cli, tmp_path):
    f = tmp_path / "Dockerfile"
    f.write_text("FROM busybox\nCOPY --from=a x /y\nRUN [\"echo\", \"hi\"]\n")
    r = cli("dockerfile", "parse", "-f", str(f), "--format", "ast")
    assert (r.code, r.out, r.err) == (0, '(from "busybox")\n(copy ["--from=a"] "x" "/y")\n'
                                         '(run "echo" "hi")\n', "")


def test_cli_parse_json(cli, tmp_path):
    f = tmp_path / "Dockerfile"
    f.write_text("FROM busybox AS b\nCMD [\"sh\"]\n")
    r = cli("dockerfile", "parse", "-f", str(f))
    assert r.code == 0
    d = json.loads(r.out)
    assert d["stages"][0]["name"] == "b"
    assert d["stages"][0]["instructions"] == [
        {"instruction": "CMD", "line": 2, "end_line": 2, "original": 'CMD ["sh"]',
         "cmd": ["sh"], "prepend_shell": False}]


@pytest.mark.parametrize("text,err", [
    ("FROM a\nFOO x\n", "skiff: Dockerfile:2: unknown instruction: FOO\n"),
    ("", "skiff: Dockerfile:1: file with no instructions\n"),
    ("FROM a\nRUN <<EOF\nx\n", "skiff: Dockerfile:2: unterminated heredoc\n"),
])
def test_cli_parse_errors(cli, tmp_path, text, err):
    f = tmp_path / "Dockerfile"
    f.write_text(text)
    r = cli("dockerfile", "parse", "-f", str(f))
    assert (r.code, r.out, r.err) == (1, "", err)


def test_cli_missing_file(cli, tmp_path):
    r = cli("dockerfile", "parse", "-f", str(tmp_path / "nope"))
    assert r.code == 125
    assert r.err == f"skiff: failed to read {tmp_path / 'nope'}: No such file or directory\n"


def test_cli_check(cli, tmp_path):
    f = tmp_path / "Dockerfile"
    f.write_text("FROM busybox:1.36\nCMD echo hi\n")
    r = cli("dockerfile", "check", "-f", str(f))
    assert r.code == 0
    assert r.out == (
        "WARNING: JSONArgsRecommended - "
        "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/\n"
        "Dockerfile:2: JSON arguments recommended for CMD to prevent unintended behavior "
        "related to OS signals\n"
        f"  fix: {RULES['JSONArgsRecommended'].fix}\n"
        "Check complete, 1 warning has been found!\n")
    f.write_text("# check=error=true\nFROM busybox:1.36\nCMD echo hi\n")
    assert cli("dockerfile", "check", "-f", str(f)).code == 1
    f.write_text("# check=error=true\nFROM busybox:1.36\nCMD [\"echo\"]\n")
    r = cli("dockerfile", "check", "-f", str(f))
    assert (r.code, r.out) == (0, "Check complete, no warnings found.\n")
    r = cli("dockerfile", "check", "-f", str(f), "--format", "json")
    assert (r.code, json.loads(r.out)) == (0, [])
