""".dockerignore against moby/patternmatcher's cases and docker-py's context-walk cases."""

from __future__ import annotations

import csv
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.dockerfile.ignore import (
    BadPattern,
    Pattern,
    PatternMatcher,
    read_ignore,
    read_patterns,
    walk,
)
from tests.conftest import PEER

PM = PEER / "moby-patternmatcher"
DPY = PEER / "docker-py-dockerignore"


def _rows(name):
    with open(PM / name, newline="") as f:
        lines = [ln for ln in f if not ln.startswith("#")]
    return list(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


CASES = [pytest.param(*r[:5], id=f"{i}:{r[1]}|{r[2]}") for i, r in enumerate(_rows("cases.tsv"))]


@pytest.mark.parametrize("api,patterns,path,expected,platform", CASES)
def test_patternmatcher_cases(api, patterns, path, expected, platform):
    patterns, path = json.loads(patterns), json.loads(path)
    if expected.startswith("error:"):
        with pytest.raises(BadPattern):
            PatternMatcher(patterns)
        return
    pm = PatternMatcher(patterns)
    got = pm.matches(path) if api == "MatchesOrParentMatches" else pm.matches_legacy(path)
    assert got is (expected == "true")
    if api == "MatchesOrParentMatches":
        assert pm.matches_slow(path) is got
    if api == "MatchesOrParentMatches":  # the walker's incremental form agrees
        state = None
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            excluded, state = pm.match_state("/".join(parts[:i]), state)
        assert excluded is (expected == "true")


@pytest.mark.parametrize("row", _rows("compile.tsv"), ids=lambda r: r[0])
def test_compile_table(row):
    pattern, kind, rx = json.loads(row[0]), row[1], json.loads(row[2])
    p = Pattern.compile(pattern, False)
    assert p.kind == kind
    if kind == "regexpMatch":
        assert p.regex_source == rx


def test_lone_exclamation_is_illegal():
    with pytest.raises(BadPattern) as ei:
        PatternMatcher(["!"])
    assert str(ei.value) == 'illegal exclusion pattern: "!"'


def test_read_all():
    facts = json.loads((PM / "readall.json").read_text())
    case = facts["cases"][1]
    assert read_patterns(case["input"]) == case["expected"]
    assert read_patterns("\ufeffa\n  # not a comment\n") == ["a", "# not a comment"]


def _make_tree(root, tree):
    for d in tree["dirs"]:
        (root / d).mkdir(parents=True, exist_ok=True)
    for f in tree["files"]:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text("content")


DPY_FACTS = json.loads((DPY / "cases.json").read_text())
# Rows where docker-py's re-implementation (docker CLI 18.05) differs from BuildKit's
# patternmatcher + fsutil, which skiff follows:
DPY_EXCEPTIONS = {
    # BuildKit enters the excluded dir "a" because "!*/b.py" could match below it, and
    # sends a/b.py; docker-py sends nothing.
    "test_include_wildcard": "BuildKit re-includes a/b.py",
    # Go's filepath.Clean keeps a leading "..": "../a.py" matches nothing in BuildKit;
    # docker-py strips it.
    "test_parent_directory": "BuildKit keeps ../ in patterns",
}


def _dpy_cases():
    out = []
    for i, c in enumerate(DPY_FACTS["cases"]):
        marks = []
        if c.get("platform") == "windows-only":
            marks.append(pytest.mark.skip(reason="Windows path separator case"))
        out.append(pytest.param(c, id=f"{i}-{c['test']}", marks=marks))
    return out


@pytest.mark.parametrize("case", _dpy_cases())
def test_docker_py_context_cases(case, tmp_path):
    tree = DPY_FACTS["default_tree"] if case.get("tree", "default") == "default" \
        else case["tree"]
    _make_tree(tmp_path, tree)
    dockerfile = case.get("dockerfile", "Dockerfile")
    patterns = read_patterns("\n".join(case["patterns"]))
    got = [rel for rel, _ in walk(tmp_path, patterns, dockerfile=dockerfile)]
    if "no_duplicates" in case:
        assert len(got) == len(set(got))
        return
    if "must_include" in case:
        assert case["must_include"] in got
        return
    if "must_exclude" in case:
        assert case["must_exclude"] not in got
        return
    expected = sorted(case["expected_included"])
    if case["test"] in DPY_EXCEPTIONS:
        assert sorted(got) != expected, "exception no longer needed"
        return
    assert sorted(got) == expected


def test_walk_does_not_enter_excluded_dirs(tmp_path, monkeypatch):
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / "f.js").write_text("")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("")
    import os

    seen = []
    real = os.scandir

    def spy(p):
        seen.append(os.path.relpath(p, tmp_path))
        return real(p)

    monkeypatch.setattr(os, "scandir", spy)
    got = [r for r, _ in walk(tmp_path, ["node_modules"])]
    assert got == ["src", "src/a.py"]
    assert "node_modules" not in seen
    seen.clear()
    got = [r for r, _ in walk(tmp_path, ["node_modules", "!node_modules/x/f.js"])]
    assert got == ["node_modules/x/f.js", "src", "src/a.py"]
    assert "node_modules" in seen


def test_per_dockerfile_ignore_wins(tmp_path):
    (tmp_path / ".dockerignore").write_text("a\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "app.Dockerfile").write_text("FROM x\n")
    assert read_ignore(tmp_path, tmp_path / "sub" / "app.Dockerfile") == ["a"]
    (tmp_path / "sub" / "app.Dockerfile.dockerignore").write_text("# c\n/b/\n!c\n")
    assert read_ignore(tmp_path, tmp_path / "sub" / "app.Dockerfile") == ["b", "!c"]
    assert read_ignore(tmp_path / "sub", None) == []


PATH_PART = st.sampled_from(["a", "b", "ab", ".x", "dir", "foo.py", "x.md", "node_modules"])
PAT_PART = st.sampled_from(["a", "b", "*", "?b", "**", "a*", "*.py", "dir", "[ab]", ".x"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.lists(PAT_PART, min_size=1, max_size=3)),
                min_size=1, max_size=4),
       st.lists(PATH_PART, min_size=1, max_size=4), st.booleans())
def test_one_regex_form_agrees_with_parent_walk(pats, parts, trailing):
    patterns = [("!" if neg else "") + "/".join(p) for neg, p in pats]
    pm = PatternMatcher(patterns)
    path = "/".join(parts) + ("/" if trailing else "")
    assert pm.matches(path) is pm.matches_slow(path)
