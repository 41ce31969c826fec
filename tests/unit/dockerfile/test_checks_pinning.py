"""Version pinning rules (hadolint DL3008/DL3013/DL3016/DL3018/DL3028): which installs are
unpinned, with the exact line and message; what counts as pinned; what is not judged."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.dockerfile import parse
from skiff.dockerfile.checks import RULES, run_checks
from skiff.dockerfile.checks_pinning import RULE_TEXT, simple_commands, unpinned


def pins(text):
    df = parse(text)
    return [(w.rule, w.line, w.message) for w in run_checks(df) if w.rule in RULE_TEXT]


APT = "AptVersionNotPinned"
PIP = "PipVersionNotPinned"
NPM = "NpmVersionNotPinned"
APK = "ApkVersionNotPinned"
GEM = "GemVersionNotPinned"
GO = "GoVersionNotPinned"


@pytest.mark.parametrize("text,expected", [
    # apt-get (DL3008)
    ("FROM a:1\nRUN apt-get install -y curl git=1:2.39 ./local.deb\n",
     [(APT, 2, "Pin versions in apt-get install: curl (use <package>=<version>)")]),
    ("FROM a:1\nRUN set -eux; \\\n  apt-get update; \\\n  DEBIAN_FRONTEND=noninteractive "
     "apt-get install -y --no-install-recommends \\\n    ca-certificates \\\n    wget \\\n"
     "  ; rm -rf /var/lib/apt/lists/*\n",
     [(APT, 2, "Pin versions in apt-get install: ca-certificates, wget "
               "(use <package>=<version>)")]),
    ("FROM a:1\nRUN apt-get -o Dpkg::Options::=--force-confold -t bookworm-backports install "
     "-y vim/bookworm-backports\n", []),
    ("FROM a:1\nRUN apt-get install -y \"postgresql-$PG_MAJOR=$PG_VERSION\" $fetchDeps\n", []),
    # variables the RUN sets itself are known (jessfraz's buildDeps pattern); others not
    ("FROM a:1\nRUN buildDeps=' \\\n    ca-certificates \\\n    git=1:2.39 \\\n  ' \\\n"
     "  set -x && apt-get install -y $buildDeps --no-install-recommends\n",
     [(APT, 2, "Pin versions in apt-get install: ca-certificates (use <package>=<version>)")]),
    ("FROM a:1\nRUN export V=3.1; runDeps=\"$(scanelf --needed /x | awk '{print $1}')\"; "
     "apk add ruby=$V $runDeps \"lib${V}\"\n",
     [(APK, 2, "Pin versions in apk add: lib3.1 (use <package>=<version>)")]),
    ("FROM a:1\nRUN apt-get install -y -f\n", []),
    ("FROM a:1\nRUN apt-get update && apt-get upgrade -y && apt-get purge -y curl\n", []),
    ("FROM a:1\nRUN if [ -n \"$X\" ]; then sudo -E apt-get install -y jq; fi\n",
     [(APT, 2, "Pin versions in apt-get install: jq (use <package>=<version>)")]),
    ("FROM a:1\nRUN echo 'apt-get install -y curl' # apt-get install wget\n", []),
    ("FROM a:1\nRUN [\"apt-get\", \"install\", \"-y\", \"make\"]\n",
     [(APT, 2, "Pin versions in apt-get install: make (use <package>=<version>)")]),
    ("FROM a:1\nRUN [\"/bin/sh\", \"-c\", \"apt-get install -y make=4.3-4.1\"]\n", []),
    ("FROM a:1\nRUN <<EOF\nset -e\napt-get install -y \\\n  tini\nEOF\n",
     [(APT, 2, "Pin versions in apt-get install: tini (use <package>=<version>)")]),
    ("FROM a:1\nRUN <<EOF\n#!/usr/bin/env python3\nprint('apt-get install -y x')\nEOF\n", []),
    # pip (DL3013)
    ("FROM a:1\nRUN pip install --no-cache-dir flask \"requests>=2\" 'django~=4.2' "
     "gunicorn==21.2 ./pkg git+https://g.com/x/y@v1 dist/x.whl\n",
     [(PIP, 2, "Pin versions in pip install: flask (use <package>==<version>)")]),
    ("FROM a:1\nRUN python3 -m pip install -U pip setuptools\n",
     [(PIP, 2, "Pin versions in pip install: pip, setuptools (use <package>==<version>)")]),
    ("FROM a:1\nRUN pip3 install -r requirements.txt && pip install -c c.txt x && "
     "pip install --requirement=r.txt && pip install -e . && pip install .\n", []),
    ("FROM a:1\nRUN pip install -i https://mirror/simple --trusted-host mirror uvicorn\n",
     [(PIP, 2, "Pin versions in pip install: uvicorn (use <package>==<version>)")]),
    ("FROM a:1\nRUN pip download x && pip freeze > r.txt && python -c 'import pip'\n", []),
    # npm (DL3016)
    ("FROM a:1\nRUN npm install -g yarn@1.22.19 @angular/cli@17 typescript\n",
     [(NPM, 2, "Pin versions in npm install: typescript (use <package>@<version>)")]),
    ("FROM a:1\nRUN npm install && npm ci && npm install --omit dev && npm run build\n", []),
    ("FROM a:1\nRUN npm i -g @scope/tool ./local ../x.tgz git+https://g.com/a/b#v1\n",
     [(NPM, 2, "Pin versions in npm install: @scope/tool (use <package>@<version>)")]),
    # apk (DL3018)
    ("FROM a:1\nRUN apk add --no-cache --virtual .build-deps gcc musl-dev=1.2.4-r2 "
     "'python3~3.11' 'openssl>3'\n",
     [(APK, 2, "Pin versions in apk add: gcc (use <package>=<version>)")]),
    ("FROM a:1\nRUN apk add --no-cache -X https://dl-cdn/edge/testing ./x.apk\n", []),
    ("FROM a:1\nRUN apk update && apk del curl && apk info\n", []),
    # gem (DL3028)
    ("FROM a:1\nRUN gem install rails:7.1 sass --no-document && gem install bundler -v 2.4\n",
     [(GEM, 2, "Pin versions in gem install: sass (use <gem>:<version>)")]),
    ("FROM a:1\nRUN gem i --version=1.0 foo && gem install --install-dir /g pkg.gem\n", []),
    # go (DL3062)
    ("FROM a:1\nRUN go get -d . && go install ./cmd/x && go get github.com/a/b/... "
     "golang.org/x/lint/golint@v0.1 && go install -ldflags '-s -w' example.com/t@latest\n",
     [(GO, 2, "Pin versions in go install/go get: github.com/a/b/..., example.com/t@latest "
              "(use <module/path>@<version>)")]),
    ("FROM a:1\nRUN go run make.go && go build ./... && go mod download\n", []),
    # several managers in one RUN: one warning each, in the order of the table
    ("FROM a:1\nRUN apk add curl && pip install requests && apt-get install -y git\n",
     [(APT, 2, "Pin versions in apt-get install: git (use <package>=<version>)"),
      (PIP, 2, "Pin versions in pip install: requests (use <package>==<version>)"),
      (APK, 2, "Pin versions in apk add: curl (use <package>=<version>)")]),
    # a package named twice in one RUN is listed once
    ("FROM a:1\nRUN apt-get install -y curl; apt-get install -y curl wget\n",
     [(APT, 2, "Pin versions in apt-get install: curl, wget (use <package>=<version>)")]),
    # RUN under a non-POSIX shell is not shell script
    ("FROM a:1\nSHELL [\"powershell\", \"-Command\"]\nRUN pip install foo\n", []),
    ("FROM a:1 AS w\nSHELL [\"cmd\", \"/S\", \"/C\"]\nFROM w\nRUN pip install foo\n", []),
    ("FROM a:1\nSHELL [\"pwsh\", \"-c\"]\nSHELL [\"/bin/bash\", \"-c\"]\nRUN pip install foo\n",
     [(PIP, 4, "Pin versions in pip install: foo (use <package>==<version>)")]),
])
def test_pinning(text, expected):
    assert sorted(pins(text)) == sorted(expected)


def test_rule_records():
    r = RULES["AptVersionNotPinned"]
    assert (r.description, r.url) == ("apt-get install without package versions",
                                      "https://github.com/hadolint/hadolint/wiki/DL3008")
    assert {k: RULES[k].url.rsplit("/", 1)[1] for k in RULE_TEXT} == {
        APT: "DL3008", PIP: "DL3013", NPM: "DL3016", APK: "DL3018", GEM: "DL3028",
        GO: "DL3062"}


def test_skip_directive():
    text = ("# check=skip=AptVersionNotPinned\nFROM a:1\n"
            "RUN apt-get install -y x && pip install y\n")
    assert [w.rule for w in run_checks(parse(text)) if w.rule in RULE_TEXT] == [PIP]


@pytest.mark.parametrize("script,commands", [
    ("a b && c 'd e' | f;g", [["a", "b"], ["c", "d e"], ["f"], ["g"]]),
    ("X=1 env -i Y=2 sudo -u root apt-get install z", [["apt-get", "install", "z"]]),
    ("(cd /x && make) || { echo fail; exit 1; }", [["cd", "/x"], ["make"], ["echo", "fail"],
                                                   ["exit", "1"]]),
    ('echo "a \\"b\\" $c" a\\ b # comment', [["echo", 'a "b" $c', "a b"]]),
    ("find . | xargs -r -n 1 apt-mark manual", [["find", "."], ["apt-mark", "manual"]]),
    ("a \\\n  b", [["a", "b"]]),
])
def test_simple_commands(script, commands):
    assert simple_commands(script) == commands


@pytest.mark.parametrize("script,commands", [
    ("apt-get install -y a > /dev/null 2>&1 b", [["apt-get", "install", "-y", "a", "b"]]),
    ("x 2> err.log y >>out z <in w &>/dev/null v", [["x", "y", "z", "w", "v"]]),
    ("echo a >&2; a>b c", [["echo", "a"], ["a", "c"]]),
])
def test_redirections_are_not_words(script, commands):
    assert simple_commands(script) == commands


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(list("ab $'\"\\\n;&|()<>=#{}-x/.") + [
    "apt-get install ", "pip install ", "apk add ", "npm i ", "gem i ", "2>&1", "${X}",
    "$(", "`", "x=1 ", "-o ", "--virtual "]), max_size=30).map("".join))
def test_any_script_gives_package_words(script):
    """Whatever the shell text, the pinning pass does not fail and reports only
    non-empty words without whitespace or unresolved variables."""
    for pkgs in unpinned(script).values():
        assert all(p and "$" not in p and not any(c.isspace() for c in p) for p in pkgs)
