"""The newer checks on the real-world corpora (docker-library php/python/postgres,
jessfraz/dockerfiles, 338 files; each file's directory as its context): reviewed for false
alarms (docs/checks/README.md, "Reviewed on the real-world corpus")."""

from __future__ import annotations

import re

import pytest

from skiff.dockerfile import parse
from skiff.dockerfile.checks import run_checks
from skiff.dockerfile.checks_pinning import RULE_TEXT as PINNING
from tests.conftest import PEER

CORPORA = ("docker-library-php", "docker-library-python", "docker-library-postgres",
           "jessfraz-dockerfiles")
FILES = sorted(p for c in CORPORA for p in (PEER / c).rglob("Dockerfile*") if p.is_file())
# A package word as the corpus writes them: names, arch qualifiers, globs, scopes.
PACKAGE = re.compile(r"^[A-Za-z0-9@][A-Za-z0-9@/._+:*-]*$")
MESSAGE = re.compile(r"^Pin versions in (apt-get install|pip install|npm install|apk add|"
                     r"gem install|go install/go get): (.+) "
                     r"\(use <(package|gem|module/path)>[=@:]+<version>\)$")


@pytest.fixture(scope="module")
def results():
    if len(FILES) < 300:
        pytest.skip("real-world corpus not found under ../shared/peer")
    out = []
    for p in FILES:
        df = parse(p.read_bytes(), filename=p.name)
        by_line = {i.line: i for s in df.stages for i in s.instructions}
        for w in run_checks(df, p.parent, dockerfile_path=p):
            out.append((p, w, by_line.get(w.line)))
    return out


def test_context_and_from_rules_are_silent(results):
    """No file in the corpus copies an ignored file or has a FROM whose ARG defaults make
    an invalid name (both would break their builds)."""
    fired = [(str(p), w.line, w.rule) for p, w, _ in results
             if w.rule in ("CopyIgnoredFile", "InvalidDefaultArgInFrom")]
    assert fired == []


def test_docker_library_pins_language_packages(results):
    """docker-library pins pip/npm/gem through variables ("pip==$PYTHON_PIP_VERSION"):
    the language pinning rules must not fire there."""
    fired = [(str(p), w.line, w.rule) for p, w, _ in results
             if "docker-library" in str(p) and w.rule in
             ("PipVersionNotPinned", "NpmVersionNotPinned", "GemVersionNotPinned",
              "GoVersionNotPinned")]
    assert fired == []


def test_every_reported_package_is_an_unpinned_word_of_its_run(results):
    """Each package a pinning warning names is a package-shaped word of that RUN's text
    (not a flag value, a redirection or a variable), written without a version."""
    bad = []
    n = 0
    for p, w, inst in results:
        if w.rule not in PINNING:
            continue
        n += 1
        m = MESSAGE.match(w.message)
        assert m, w.message
        text = inst.original
        for pkg in m.group(2).split(", "):
            word = re.compile(r"(?:^|[\s'\"])" + re.escape(pkg) + r"(?=$|[\s'\";&|)])")
            if not PACKAGE.match(pkg) or not word.search(text) or "$" in pkg:
                bad.append((str(p), w.line, pkg))
    assert bad == []
    assert n > 100  # the corpus installs by name a lot: the rules do run
