"""Real-world Dockerfiles (docker-library, jessfraz) all parse, round-trip through the printer,
and get no check errors that would be false alarms; hypothesis: parse → print → parse."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from skiff.dockerfile import parse
from skiff.dockerfile.checks import run_checks
from skiff.dockerfile.printer import format_dockerfile
from skiff.errors import DockerfileError
from tests.conftest import PEER

CORPORA = ("docker-library-php", "docker-library-python", "docker-library-postgres",
           "jessfraz-dockerfiles")
FILES = sorted(p for c in CORPORA for p in (PEER / c).rglob("Dockerfile*") if p.is_file())


def _shape(df):
    """Everything but source positions and text."""
    out = [df.directives, [_fields(a) for a in df.meta_args]]
    for s in df.stages:
        out.append((s.name, s.base, s.platform, [_fields(i) for i in s.instructions]))
    return out


def _fields(inst):
    d = inst.to_dict()
    for k in ("line", "end_line", "original"):
        d.pop(k)
    return d


def test_corpus_present():
    assert len(FILES) > 300


def test_all_real_world_files_parse_and_round_trip():
    failures = []
    for p in FILES:
        df = parse(p.read_bytes(), filename=p.name)
        again = parse(format_dockerfile(df))
        if _shape(again) != _shape(df):
            failures.append(str(p))
    assert failures == []


def test_checks_on_real_world_files_have_no_false_alarms():
    """Reviewed: these rules fired nowhere in the corpus before, and must not start to
    (each would be a false alarm on these well-maintained files)."""
    silent = {"UndefinedVar", "UndefinedArgInFrom", "AptGetUpdateAlone", "AddInsteadOfCopy",
              "DuplicateStageName", "CopyBeforeDependencyInstall", "JSONArgsRecommended",
              "ExposeInvalidFormat"}
    fired = []
    for p in FILES:
        if "docker-library" not in str(p):
            continue
        for w in run_checks(parse(p.read_bytes()), None):
            if w.rule in silent:
                fired.append((str(p), w.line, w.rule))
    assert fired == []


# -- hypothesis ---------------------------------------------------------------------------

WORD = st.text(alphabet="abcXYZ019_-./:@", min_size=1, max_size=8)
VALUE = st.one_of(WORD, WORD.map(lambda w: f'"{w} {w}"'), WORD.map(lambda w: "'" + w + "'"))
SHELL_TEXT = st.lists(st.one_of(WORD, st.sampled_from(["&&", "|", "$X", "${Y:-z}", "'a b'",
                                                       '"c d"'])), min_size=1,
                      max_size=6).map(" ".join)
JSON_LIST = st.lists(st.text(alphabet='ab "\\\u00e9/', max_size=5), min_size=1, max_size=3)


def _json(xs):
    import json

    return json.dumps(xs, ensure_ascii=False)


INSTRUCTION = st.one_of(
    SHELL_TEXT.map(lambda s: f"RUN {s}"),
    st.tuples(WORD, SHELL_TEXT).map(lambda t: f"RUN --mount=type=cache,target=/{t[0]} {t[1]}"),
    JSON_LIST.map(lambda xs: f"RUN {_json(xs)}"),
    JSON_LIST.map(lambda xs: f"CMD {_json(xs)}"),
    SHELL_TEXT.map(lambda s: f"ENTRYPOINT {s}"),
    st.lists(st.tuples(WORD, VALUE), min_size=1, max_size=3).map(
        lambda kv: "ENV " + " ".join(f"{k}={v}" for k, v in kv)),
    st.tuples(WORD, st.lists(WORD, min_size=1, max_size=3)).map(
        lambda t: f"ENV {t[0]} {' '.join(t[1])}"),
    st.lists(st.tuples(WORD, VALUE), min_size=1, max_size=3).map(
        lambda kv: "LABEL " + " ".join(f"{k}={v}" for k, v in kv)),
    st.tuples(st.booleans(), st.lists(WORD, min_size=2, max_size=4)).map(
        lambda t: ("COPY --link " if t[0] else "COPY --chown=1:2 ") + " ".join(t[1])),
    st.lists(WORD, min_size=2, max_size=3).map(lambda ws: "ADD " + " ".join(ws)),
    st.tuples(WORD, WORD).map(lambda t: f"COPY <<{t[0].upper()}X /{t[1]}\nbody\n"
                                        f"{t[0].upper()}X"),
    WORD.map(lambda w: f"WORKDIR /{w}"),
    WORD.map(lambda w: f"USER {w}"),
    st.lists(st.integers(1, 65535), min_size=1, max_size=3).map(
        lambda ps: "EXPOSE " + " ".join(map(str, ps))),
    st.lists(WORD, min_size=1, max_size=3).map(lambda ws: "VOLUME " + " ".join(ws)),
    st.tuples(WORD, st.none() | WORD).map(
        lambda t: f"ARG {t[0]}" + (f"={t[1]}" if t[1] else "")),
    SHELL_TEXT.map(lambda s: f"ONBUILD RUN {s}"),
    st.tuples(st.integers(1, 300), st.integers(0, 5), SHELL_TEXT).map(
        lambda t: f"HEALTHCHECK --interval={t[0]}s --retries={t[1]} CMD {t[2]}"),
    st.just("HEALTHCHECK NONE"),
    JSON_LIST.map(lambda xs: f"SHELL {_json(xs)}"),
    WORD.map(lambda w: f"STOPSIGNAL {w}"),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(INSTRUCTION, min_size=1, max_size=8), WORD, st.booleans())
def test_parse_print_parse_is_stable(lines, base, named):
    text = f"FROM {base}" + (" AS stage" if named else "") + "\n" + "\n".join(lines) + "\n"
    try:
        df = parse(text)
    except DockerfileError:
        assume(False)
        return
    printed = format_dockerfile(df)
    again = parse(printed)
    assert _shape(again) == _shape(df)
    assert format_dockerfile(again) == printed


@pytest.mark.parametrize("text", [
    "FROM a\nENV A=\"x y\" B='z'\nCOPY [\"a b\", \"/c d/\"]\n",
    "# escape=\\\nFROM --platform=$BUILDPLATFORM a AS b\nRUN <<-EOT\n\tx\nEOT\n",
    "ARG V=1\nFROM a:$V\nHEALTHCHECK --timeout=2s CMD [\"x\"]\nENTRYPOINT []\n",
])
def test_round_trip_examples(text):
    df = parse(text)
    assert _shape(parse(format_dockerfile(df))) == _shape(df)


def test_scan_agrees_with_parse_ast_on_corpus():
    from skiff.dockerfile.parser import parse_ast, scan

    for p in FILES[::5]:
        text = p.read_bytes().decode("utf-8", "surrogateescape")
        nodes = parse_ast(text).ast.children
        scanned = scan(text)
        assert [(s.keyword, s.line, s.start_line, s.end_line) for s in scanned] == \
            [(n.value, n.original, n.start_line, n.end_line) for n in nodes], p
