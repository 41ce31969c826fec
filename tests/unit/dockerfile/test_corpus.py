"""BuildKit's parser corpus: testfiles (AST dump == result), testfiles-negative, line numbers,
heredocs, directives and warnings from ../shared/peer/buildkit-facts/cases.json."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.dockerfile import parse
from skiff.dockerfile.parser import (
    chomp_heredoc_content,
    detect_syntax,
    heredocs_from_line,
    parse_ast,
    parse_heredoc,
    parse_words,
)
from skiff.errors import DockerfileError
from tests.conftest import PEER

PARSER = PEER / "moby-buildkit" / "frontend" / "dockerfile" / "parser"
FACTS = PEER / "buildkit-facts" / "cases.json"

if not PARSER.is_dir():  # pragma: no cover - the corpus is part of the shared checkout
    pytest.skip("BuildKit corpus not present", allow_module_level=True)

CASES = sorted(p.name for p in (PARSER / "testfiles").iterdir())
NEGATIVE = sorted(p.name for p in (PARSER / "testfiles-negative").iterdir())
FACT = json.loads(FACTS.read_text())


def _read(path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


def test_corpus_is_complete():
    assert len(CASES) == 33 and len(NEGATIVE) == 4


@pytest.mark.parametrize("case", CASES)
def test_ast_dump_matches_result(case):
    result = parse_ast(_read(PARSER / "testfiles" / case / "Dockerfile"))
    dump = "".join("(" + c.dump() + ")\n" for c in result.ast.children)
    assert dump == (PARSER / "testfiles" / case / "result").read_text()


@pytest.mark.parametrize("case", NEGATIVE)
def test_negative_cases_fail(case):
    with pytest.raises(DockerfileError):
        parse(_read(PARSER / "testfiles-negative" / case / "Dockerfile"))


def test_negative_messages():
    msgs = {}
    for case in NEGATIVE:
        with pytest.raises(DockerfileError) as ei:
            parse(_read(PARSER / "testfiles-negative" / case / "Dockerfile"))
        msgs[case] = ei.value.message
    assert msgs == {
        "empty_dockerfile": "file with no instructions",
        "only_comments": "file with no instructions",
        "env_no_value": "ENV must have two arguments",
        "shykes-nested-json": "when using JSON array syntax, arrays must be comprised of "
                              "strings only",
    }


def test_line_numbers():
    fact = FACT["parse_line_numbers"]
    r = parse_ast(_read(PARSER / "testfile-line" / "Dockerfile"))
    assert (r.ast.start_line, r.ast.end_line) == (fact["ast_start_line"], fact["ast_end_line"])
    assert [[c.start_line, c.end_line] for c in r.ast.children] == fact["children_start_end"]


def test_heredoc_parse():
    fact = FACT["heredoc_parse"]
    r = parse_ast(fact["dockerfile"])
    for idx, expected in fact["expected_heredocs_by_child_index"].items():
        got = [{"name": h.name, "content": h.content, "expand": h.expand, "chomp": h.chomp,
                "file_descriptor": h.file_descriptor}
               for h in r.ast.children[int(idx)].heredocs]
        assert got == (expected or []), idx


def test_heredoc_json_form_is_not_heredoc():
    r = parse_ast(FACT["heredoc_json_form"]["dockerfile"])
    assert [list(c.heredocs) for c in r.ast.children[1:4]] == [[], [], []]


def test_heredoc_word():
    fact = FACT["heredoc_word"]
    for w in fact["valid_name_EOF"]:
        h = parse_heredoc(w)
        assert h is not None and h.name == "EOF", w
    for w in fact["invalid_error"]:
        with pytest.raises(ValueError):
            parse_heredoc(w)
    for w in fact["not_heredoc"]:
        assert parse_heredoc(w) is None, w


def test_heredoc_names_from_line():
    for c in FACT["heredoc_names_from_line"]["cases"]:
        names = [h.name for h in heredocs_from_line(c["line"])]
        assert names == (c["names"] or []), c["line"]


def test_heredoc_chomp():
    fact = FACT["heredoc_chomp"]
    assert chomp_heredoc_content(fact["input"]) == fact["expected"]


def test_parse_words():
    for c in FACT["parse_words"]["cases"]:
        assert parse_words(c["input"]) == c["expected"], c["input"]


def test_empty_continuation_warnings():
    fact = FACT["parse_empty_continuation_warnings"]
    r = parse_ast(fact["dockerfile"])
    assert len(r.warnings) == fact["expected_warning_count"]
    for s in fact["warning0_contains"]:
        assert s in r.warnings[0].short
    for s in fact["warning1_contains"]:
        assert s in r.warnings[1].short
    assert fact["warning0_detail_contains"] in r.warnings[0].detail


def test_line_too_long():
    fact = FACT["parse_line_too_long"]
    text = "\n\t\tFROM image\n\t\tLABEL test=" + "a" * 65536 + "\n"
    assert fact["dockerfile_recipe"].startswith('"\\n\\t\\tFROM image')
    with pytest.raises(DockerfileError) as ei:
        parse_ast(text)
    assert ei.value.message == fact["expected_error"]
    assert ei.value.line == 3


def _directive_input(c) -> str:
    text = c["input"]
    if c.get("input_hex_prefix"):
        text = bytes.fromhex(c["input_hex_prefix"]).decode() + text
    return text


def test_directives():
    for c in FACT["directives"]["cases"]:
        text = _directive_input(c)
        if c["api"] == "DirectiveParser.ParseAll":
            r = parse_ast(text + "FROM x\n")
            assert [{"name": k, "value": v} for k, v in r.directives.items()] == c["expected"]
        elif c["api"] == "DetectSyntax":
            got = detect_syntax(text)
            if not c["ok"]:
                assert got is None, text
                continue
            assert got is not None and got[0] == c["ref"], text
            if "cmdline" in c:
                assert got[1] == c["cmdline"]
            if "line" in c:
                assert got[2] == c["line"]
        else:  # ParseDirective("check"): '#' comments only
            try:
                r = parse_ast(text if "FROM" in text else text + "FROM x\n")
                got = r.directives.get("check")
            except DockerfileError:
                got = None
            if c["ok"]:
                assert got == c["value"], text
            else:
                assert got is None, text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" ab\\'\"`=\t", max_size=12), st.sampled_from(["\\", "`"]))
def test_parse_words_regex_form_agrees_with_char_loop(text, escape):
    from skiff.dockerfile.parser import _parse_words_slow

    assert parse_words(text, escape) == _parse_words_slow(text, escape)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=" -ab=\\'\"\t", max_size=14))
def test_fast_flag_split_agrees_with_char_loop(text):
    from skiff.dockerfile.parser import _extract_builder_flags_slow, extract_builder_flags

    assert extract_builder_flags(text) == _extract_builder_flags_slow(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(st.text(alphabet='a "\\\t/\u00e9', max_size=4), max_size=3).map(
    lambda xs: __import__("json").dumps(xs)), st.text(alphabet='[]", a\\\t', max_size=12)))
def test_json_fast_path_agrees_with_decoder(text):
    import json

    from skiff.dockerfile.parser import _go_json_array

    try:
        expected = json.loads(text.lstrip())
        if not isinstance(expected, list):
            expected = None
    except ValueError:
        expected = None
    assert _go_json_array(text) == expected


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.lists(st.text(alphabet='a ,"[]\t\x01\x7f\xa0\u00e9', max_size=4), max_size=3).map(
    lambda xs: __import__("json").dumps(xs, ensure_ascii=False)),
    st.text(alphabet='[]", a\t\\', max_size=12).map(lambda s: "[" + s)))
def test_json_split_agrees_with_the_patterns(text):
    from skiff.dockerfile.lineparse import _JSON_STRING, _SIMPLE_JSON_ARRAY, simple_json_strings

    want = _JSON_STRING.findall(text) if _SIMPLE_JSON_ARRAY.fullmatch(text) else None
    assert simple_json_strings(text) == want


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="a \u00e9\t\xa0\u3000\x1c\n\r\x85b", max_size=10))
def test_printable_words_split_as_buildkits_whitespace_splits_them(rest):
    from skiff.dockerfile.lineparse import _parse_strings_ws
    from skiff.dockerfile.nodes import WS

    want = WS.split(rest)
    if want and want[-1] == "":
        want.pop()
    assert _parse_strings_ws(rest, None)[0] == (tuple(want) if rest else None)
