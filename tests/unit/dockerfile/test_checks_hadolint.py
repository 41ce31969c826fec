"""hadolint's on-theme rules without a BuildKit twin: DL3044 (EnvSameStatementReference),
DL3011 (ExposePortOutOfRange), DL3045 (CopyRelativeDestination), DL3015
(AptGetNoInstallRecommends), DL3010 (ArchiveCopiedThenExtracted); PackageCacheNotCleaned's
pip/yarn/zypper cases (DL3042, DL3060, DL3036). Exact lines and messages."""

from __future__ import annotations

import pytest

from skiff.dockerfile import parse
from skiff.dockerfile.checks import RULES, run_checks
from skiff.dockerfile.checks_hadolint import RULE_TEXT


def warn(text):
    return [(w.rule, w.line, w.message) for w in run_checks(parse(text))
            if w.rule in RULE_TEXT]


ENV = "EnvSameStatementReference"
PORT = "ExposePortOutOfRange"
DEST = "CopyRelativeDestination"
REC = "AptGetNoInstallRecommends"


@pytest.mark.parametrize("text,expected", [
    ("FROM a:1\nENV A=/opt B=$A/bin C=\"${A}\" D=\\$A E='$A'\n",
     [(ENV, 2, "'B' uses '$A' set in the same ENV instruction: it gets the value from "
               "before this ENV")]),
    ("FROM a:1\nENV PATH=/x:$PATH\nENV A=1\nENV B=$A\n", []),
    ("FROM a:1\nENV A=1 A=$A:2\n",
     [(ENV, 2, "'A' uses '$A' set in the same ENV instruction: it gets the value from "
               "before this ENV")]),
    ("FROM a:1\nENV B=$A A=1\nENV PATH=$PATH:$GOPATH/bin GOPATH=/go\n", []),
])
def test_env_same_statement(text, expected):
    assert warn(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("FROM a:1\nEXPOSE 80 443/tcp 65535/udp 8000-8010 0\n", []),
    ("FROM a:1\nEXPOSE 65536 80-70000/tcp http $PORT 8080:80\n",
     [(PORT, 2, "Valid UNIX ports range from 0 to 65535, found '65536'"),
      (PORT, 2, "Valid UNIX ports range from 0 to 65535, found '80-70000/tcp'"),
      (PORT, 2, "Valid UNIX ports range from 0 to 65535, found 'http'")]),
])
def test_expose_range(text, expected):
    assert warn(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("FROM a:1\nCOPY app.py app/\nADD x.tar.gz .\nCOPY y /abs/\nCOPY z $HOME/\n",
     [(DEST, 2, "COPY to the relative destination 'app/' without a WORKDIR set"),
      (DEST, 3, "ADD to the relative destination '.' without a WORKDIR set")]),
    ("FROM a:1\nWORKDIR /app\nCOPY . .\n", []),
    ("FROM a:1 AS base\nWORKDIR /src\nFROM base\nCOPY . .\nFROM a:1\nCOPY --from=1 x y\n",
     [(DEST, 6, "COPY to the relative destination 'y' without a WORKDIR set")]),
    ("FROM a:1\nCOPY [\"a\", \"C:\\\\dir\\\\\"]\n", []),
])
def test_copy_relative_dest(text, expected):
    assert warn(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("FROM a:1\nRUN apt-get update && apt-get install -y curl=1 \\\n"
     " && apt-get install -y --no-install-recommends wget=2\n",
     [(REC, 2, "Avoid additional packages by specifying --no-install-recommends")]),
    ("FROM a:1\nRUN apt-get install -y -o APT::Install-Recommends=false x=1\n", []),
    ("FROM a:1\nRUN echo 'APT::Install-Recommends \"0\";' > /etc/apt/apt.conf.d/norec\n"
     "RUN apt-get install -y x=1\n", []),
    ("FROM a:1\nRUN apt-get install -s x=1 && apt-get install -d y=1 && apt-get install\n", []),
    ("FROM a:1\nRUN dpkg -i /tmp/x.deb || apt-get -yf install\n",   # installs x's dependencies
     [(REC, 2, "Avoid additional packages by specifying --no-install-recommends")]),
    ("FROM a:1\nRUN deps='gcc=4 make=4' && apt-get install -y $deps\n",
     [(REC, 2, "Avoid additional packages by specifying --no-install-recommends")]),
    ("FROM a:1\nSHELL [\"powershell\"]\nRUN apt-get install -y x=1\n", []),
])
def test_apt_recommends(text, expected):
    assert warn(text) == expected


def test_rule_urls():
    assert {k: RULES[k].url.rsplit("/", 1)[1] for k in RULE_TEXT} == {
        ENV: "DL3044", PORT: "DL3011", DEST: "DL3045", REC: "DL3015",
        "ArchiveCopiedThenExtracted": "DL3010", "CopyFromUndefinedStage": "DL3022"}


def caches(text):
    return [(w.line, w.message) for w in run_checks(parse(text))
            if w.rule == "PackageCacheNotCleaned"]


PIP_MSG = "pip install without --no-cache-dir (its cache stays in /root/.cache/pip)"


@pytest.mark.parametrize("text,expected", [
    # pip (DL3042)
    ("FROM a:1\nRUN pip install flask==3.0\n", [(2, PIP_MSG)]),
    ("FROM a:1\nRUN python3 -m pip install -r r.txt\n", [(2, PIP_MSG)]),
    ("FROM a:1\nRUN pip install --no-cache-dir flask==3.0\n", []),
    ("FROM a:1\nRUN PIP_NO_CACHE_DIR=1 pip install x==1\n", []),
    ("FROM a:1\nENV PIP_NO_CACHE_DIR=1\nRUN pip install x==1\n", []),
    ("FROM a:1 AS base\nENV PIP_NO_CACHE_DIR=off\nFROM base\nRUN pip install x==1\n", []),
    ("FROM a:1\nRUN pip install x==1 && pip cache purge\n", []),
    ("FROM a:1\nRUN --mount=type=cache,target=/root/.cache/pip pip install x==1\n", []),
    ("FROM a:1 AS build\nRUN pip wheel -w /w x==1 && pip install x==1\nFROM a:1\n"
     "COPY --from=build /w /w\n", []),                  # not the final stage
    ("FROM a:1\nRUN pip download x==1 && pip list\n", []),
    # yarn (DL3060)
    ("FROM a:1\nRUN yarn install --frozen-lockfile\n",
     [(2, "yarn install without 'yarn cache clean' in the same RUN")]),
    ("FROM a:1\nRUN yarn global add x@1 && yarn && yarn build\n",
     [(2, "yarn install without 'yarn cache clean' in the same RUN")]),
    ("FROM a:1\nRUN yarn install && yarn cache clean\n", []),
    ("FROM a:1\nRUN yarn build && yarn test\n", []),
    # zypper (DL3036)
    ("FROM a:1\nRUN zypper -n install curl\n",
     [(2, "zypper install without 'zypper clean' in the same RUN")]),
    ("FROM a:1\nRUN zypper in -y curl && zypper clean -a\n", []),
])
def test_language_caches(text, expected):
    assert caches(text) == expected


ARCH = "ArchiveCopiedThenExtracted"


@pytest.mark.parametrize("text,expected", [
    ("FROM a:1\nCOPY app.tar.gz /tmp/\nCOPY other.tgz /tmp/x.tgz\nCOPY docs.zip /tmp/\n"
     "RUN tar -xzf /tmp/app.tar.gz -C /opt && tar xf /tmp/x.tgz && unzip /tmp/docs.zip\n",
     [(ARCH, 2, "'app.tar.gz' is copied, then extracted on line 5: ADD unpacks it without "
                "keeping the archive in a layer"),
      (ARCH, 3, "'x.tgz' is copied, then extracted on line 5: ADD unpacks it without "
                "keeping the archive in a layer")]),
    ("FROM a:1\nCOPY a.tar /a.tar\nRUN tar -tf /a.tar && tar -cf b.tar /etc\n", []),
    ("FROM a:1 AS b\nRUN tar -czf /out.tgz /src\nFROM a:1\nCOPY --from=b /out.tgz /\n"
     "RUN tar -xzf /out.tgz\n", []),
    ("FROM a:1\nCOPY x.tar.xz /\nFROM a:1\nRUN tar -xJf /x.tar.xz\n", []),
])
def test_archive_extracted(text, expected):
    assert warn(text) == expected


STAGE = "CopyFromUndefinedStage"


def test_copy_from_stage():
    text = ("FROM golang:1.22 AS builder\n"
            "COPY --from=builder /x /y\n"                           # its own stage
            "COPY --from=test /x /y\n"                              # a later stage
            "FROM alpine:3.20 AS test\n"
            "COPY --from=buidler /app /app\n"                       # a typo
            "COPY --from=nginx:1.27 /etc/nginx /etc/nginx\n"        # an image
            "COPY --from=0 /app /app2\n"                            # by index
            "RUN --mount=type=bind,from=bulder,target=/b true\n"
            "COPY --from=node /x /y\n"                              # an image, not close
            "COPY --from=$BASE /x /y\n")
    assert [(r, ln, m) for r, ln, m in warn(text) if r == STAGE] == [
        (STAGE, 2, "COPY --from=builder refers to its own stage: a circular dependency"),
        (STAGE, 3, "COPY --from=test refers to a stage defined later (line 4): it must be "
                   "defined before"),
        (STAGE, 5, "COPY --from=buidler is no stage, so it is pulled as an image (did you "
                   "mean builder?)"),
        (STAGE, 8, "RUN --mount from=bulder is no stage, so it is pulled as an image (did "
                   "you mean builder?)")]
