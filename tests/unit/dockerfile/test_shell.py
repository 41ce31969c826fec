"""The shell lexer against BuildKit's envVarTest/wordsTest tables and lex_test facts."""

from __future__ import annotations

import json

import pytest

from skiff.dockerfile.shell import (
    Lexer,
    ShellError,
    reverse_pattern,
    shell_pattern_regex_source,
)
from tests.conftest import PEER

SHELL = PEER / "moby-buildkit" / "frontend" / "dockerfile" / "shell"
FACT = json.loads((PEER / "buildkit-facts" / "cases.json").read_text())
ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}


def _env_var_vectors():
    out = []
    for n, raw in enumerate((SHELL / "envVarTest").read_text().split("\n"), 1):
        if raw.startswith("#"):
            continue
        line = raw.strip()
        if not line:
            continue
        plat, src, exp = (x.strip() for x in line.split("|"))
        if plat == "W":  # Windows-only: case-insensitive env names
            continue
        out.append(pytest.param(src, exp, id=f"L{n}"))
    return out


ENV_VECTORS = _env_var_vectors()


def test_env_var_table_size():
    # 230 vectors upstream; the Windows-only rows are skipped (case-insensitive env there).
    assert len(ENV_VECTORS) >= 220


@pytest.mark.parametrize("src,expected", ENV_VECTORS)
def test_env_var_vectors(src, expected):
    lex = Lexer("\\")
    if expected == "error":
        with pytest.raises(ShellError):
            lex.process_word(src, ENV)
    else:
        assert lex.process_word(src, ENV) == expected


def _words_vectors():
    env: dict[str, str] = {}
    out = []
    for n, raw in enumerate((SHELL / "wordsTest").read_text().split("\n"), 1):
        if raw.startswith("#") or not raw.strip():
            continue
        if raw.startswith("ENV "):
            k, v = raw[4:].split("=", 1)
            env[k] = v
            continue
        src, exp = raw.split("|", 1)
        out.append(pytest.param(src.strip(), exp.lstrip(), dict(env), id=f"L{n}"))
    return out


@pytest.mark.parametrize("src,expected,env", _words_vectors())
def test_words_vectors(src, expected, env):
    lex = Lexer("\\")
    if expected == "error":
        with pytest.raises(ShellError):
            lex.process_words(src, env)
    else:
        assert lex.process_words(src, env) == expected.split(",")


@pytest.mark.parametrize("case", FACT["shell_process_word_with_matches"]["cases"],
                         ids=lambda c: c["input"])
def test_process_word_with_matches(case):
    lex = Lexer("\\")
    if case.get("expect_error"):
        with pytest.raises(ShellError):
            lex.process_word_with_matches(case["input"], case["envs"])
        return
    result, matched, unmatched = lex.process_word_with_matches(case["input"], case["envs"])
    assert result == case["expected"]
    if "matched" in case:
        assert matched == set(case["matched"])
        assert unmatched == set(case["unmatched"])


@pytest.mark.parametrize("case", FACT["shell_mandatory_vars"]["cases"], ids=lambda c: c["input"])
def test_mandatory_vars(case):
    lex = Lexer("\\")
    if case.get("expect_error"):
        with pytest.raises(ShellError) as ei:
            lex.process_word(case["input"], case["envs"])
        assert case["error_contains"] in str(ei.value)
    else:
        assert lex.process_word(case["input"], case["envs"]) == case["expected"]


def test_getenv_last_duplicate_wins():
    from skiff.dockerfile.shell import envs_from_list

    for c in FACT["shell_getenv"]["cases"]:
        assert envs_from_list(c["envs_list"]).get(c["name"], "") == c["value"]


def test_pattern_to_regex():
    fact = FACT["shell_pattern"]
    for pat, rx in fact["to_regex"].items():
        assert shell_pattern_regex_source(pat, greedy=True, anchored=True) == rx
    for pat in fact["to_regex_invalid"]:
        with pytest.raises(ShellError):
            shell_pattern_regex_source(pat, greedy=True, anchored=True)
    for pat, rev in fact["reverse_pattern"].items():
        assert reverse_pattern(pat) == rev


def test_error_wording():
    with pytest.raises(ShellError) as ei:
        Lexer().process_word("${x", {})
    assert str(ei.value) == 'failed to process "${x": syntax error: missing \'}\''


def test_backtick_escape():
    assert Lexer("`").process_word("a`$b c\\d", {"b": "x"}) == "a$b c\\d"
