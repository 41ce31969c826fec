"""The typed parse goes from each line straight to its instruction (typedline.from_line); it
must give exactly what the tree path gives (parse_ast, then convert.from_node per node),
errors included, on the corpus, the real-world Dockerfiles and generated instructions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.dockerfile import From, parse
from skiff.dockerfile.convert import from_node
from skiff.dockerfile.gotext import InstructionError
from skiff.dockerfile.parser import parse_ast
from skiff.errors import DockerfileError
from tests.conftest import PEER


def _by_tree(text: str):
    """Instructions through the tree, with the first error as parse() words it."""
    try:
        nodes = parse_ast(text).ast.children
    except DockerfileError as e:
        return ("error", str(e))
    out = []
    for n in nodes:
        try:
            out.append(from_node(n))
        except InstructionError as e:
            return ("error", str(DockerfileError(str(e), line=n.start_line,
                                                 end_line=n.end_line)))
    return out


def _by_line(text: str):
    try:
        df = parse(text, require_stage=False, allow_duplicate_stages=True)
    except DockerfileError as e:
        return ("error", str(e))
    return df.instructions()


def _same(text: str) -> None:
    a, b = _by_tree(text), _by_line(text)
    if isinstance(a, tuple) and not isinstance(b, tuple):
        # the tree path stops at instruction errors only; parse() adds stage errors
        pytest.fail(f"tree path failed, typed did not: {a}")
    if isinstance(a, list) and isinstance(b, tuple):
        assert "stage" in b[1], b  # a stage-order error only parse() knows about
        return
    assert a == b
    if isinstance(a, list):
        assert [type(x) for x in a] == [type(x) for x in b]


def _files():
    out = sorted((PEER / "moby-buildkit" / "frontend" / "dockerfile").rglob("Dockerfile*"))
    out += sorted(PEER.glob("docker-library*/**/Dockerfile*"))
    out += sorted(PEER.glob("jessfraz*/**/Dockerfile*"))
    out += sorted((PEER / "moby-buildkit" / "frontend" / "dockerfile" / "parser").glob(
        "testfiles*/*/Dockerfile"))
    return sorted({p for p in out if p.is_file()})


FILES = _files()


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PEER)))
def test_same_on_real_files(path):
    _same(path.read_bytes().decode("utf-8", "surrogateescape"))


_ARG = st.sampled_from(["a", "b=c", '"x y"', "'q'", "=v", "k=", "[", '["a"]', '["a", 1]',
                        "[]", '[ "x" , "y" ]', "--", "AS", "as", "1x", "<<EOF", "a\\ b",
                        "/d", "--chown=1:1", "--from=s", "--chmod", "--link", "--link=no",
                        "--mount=type=cache,target=/c", "--network=none", "--network=x",
                        "--platform=linux/amd64", "--bogus=1", "\xa0", "\\", "`", "$X",
                        "${Y:-z}", '["a\\"b"]', "n", ""])
_WORD = st.sampled_from(["FROM", "from", "RUN", "CMD", "ENTRYPOINT", "WORKDIR", "USER", "ENV",
                         "LABEL", "ARG", "COPY", "ADD", "EXPOSE", "VOLUME", "STOPSIGNAL",
                         "SHELL", "MAINTAINER", "ONBUILD", "HEALTHCHECK", "FOO"])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(_WORD, st.lists(_ARG, max_size=4),
                          st.sampled_from(["", " ", "\t", " \\\n  "])), max_size=6))
def test_same_on_generated_instructions(lines):
    text = "FROM base\n" + "".join(
        word + " " + " ".join(args) + tail + "\n" for word, args, tail in lines)
    _same(text)


@pytest.mark.parametrize("text", [
    "FROM a\nENV a=b c=d\nLABEL x=\"y z\" w=1\nARG q r=s\n",
    "FROM a AS b\nFROM b as C\nCOPY --from=b --chown=1:2 x y /z/\nCMD [\"a\", \"b\"]\n",
    "FROM a\nENTRYPOINT []\nENTRYPOINT [\"x\"]\nENTRYPOINT x y\n",
    "FROM a\nENV a b c\nLABEL =x\n",
    "FROM a\nFOO x\nENV bad\n",             # parse error after an instruction error
    "FROM a\nCOPY x\nCOPY --bogus=1 a b\n",
    "FROM a\nRUN [\"a\", 1]\n",
    # ENV/LABEL pairs: 1-3 taken by hand, more through the zip
    "FROM a\nENV a=1\nENV a=1 b='2 3'\nENV a=1 b=2 c=\"3 4\"\nLABEL a=1 b=2 c=3 d=4\n"
    "LABEL a=1   b=2\tc=3 d=4 e=5\n",
])
def test_same_on_chosen_text(text):
    _same(text)


def test_stages_come_from_the_typed_instructions():
    df = parse("ARG v=1\nFROM a AS one\nRUN x\nFROM one\nCOPY --from=one /a /b\n")
    assert [s.name for s in df.stages] == ["one", None]
    assert isinstance(df.stages[1].from_, From) and df.stages[1].from_.base == "one"
    assert df.stages[1].instructions[0].from_ == "one"
    assert [a.key for a in df.meta_args] == ["v"]
    assert df.ast.children[2].dump() == 'run "x"'  # the tree, built when asked
    assert df.dump() == ('(arg "v=1")\n(from "a" "AS" "one")\n(run "x")\n(from "one")\n'
                         '(copy ["--from=one"] "/a" "/b")\n')


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="ab=\"' \t\\`$:\xa0", min_size=1, max_size=16), st.sampled_from(["\\", "`"]))
def test_pairs_pattern_agrees_with_parse_words(rest, escape):
    """The one-pattern k=v split gives what parse_words + partition give, when it applies."""
    from skiff.dockerfile.lineparse import _PAIR_SPLIT, _PAIRS, parse_words

    rest = rest.strip()
    if not _PAIRS.fullmatch(rest):
        return
    words = parse_words(rest, escape)
    assert _PAIR_SPLIT.findall(rest) == [tuple(w.split("=", 1)) for w in words]
    assert all(w.partition("=")[0] for w in words)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="RUNa- \t\v\xa0\u3000x=", max_size=12))
def test_split_command_is_buildkits_split(line):
    """split_command's quick path splits where BuildKit's splitCommand does; the arguments
    may keep leading reWhitespace, which the flag extraction strips."""
    import re

    from skiff.dockerfile.lineparse import FLAGS_OR_BLANK, split_command

    line = line.lstrip()  # the line loop hands over lines without leading blanks
    word, rest = split_command(line)
    m = re.fullmatch(r"([^\t\v\f\r ]+)[\t\v\f\r ]+(.+)", line.strip(), re.S)
    want = m.groups() if m else (line.strip(), "")
    assert word == want[0]
    assert rest.lstrip(" \t\v\f\r") == want[1]
    assert rest == want[1] or rest[0] in FLAGS_OR_BLANK


_COPY_FLAG = st.sampled_from(["--link", "--link=true", "--link=", "--parents", "--parents=false",
                              "--chown=1:2", "--chown=", "--chown", "--chmod=644",
                              "--from=a", "--from=b=c", "--exclude=x", "--foo",
                              "--keep-git-dir"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_COPY_FLAG, max_size=4))
def test_copy_flags_read_inline_as_the_flag_rules_read_them(flags):
    text = "FROM x\nCOPY " + " ".join(flags) + " a b\n"
    assert _by_line(text) == _by_tree(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["ARG a=1", "FROM x", "FROM x AS s", "FROM y AS S", "RUN x",
                                 "COPY a b", "WORKDIR /w"]), min_size=1, max_size=8),
       st.booleans())
def test_stages_sliced_between_froms_as_the_loop_builds_them(lines, dup_ok):
    from skiff.dockerfile import _assemble, _assemble_typed
    from skiff.dockerfile.segment import segment
    from skiff.dockerfile.typedline import from_line

    items = segment("\n".join(lines) + "\n", "Dockerfile", from_line, lambda o, line: False,
                    lambda o, e, h: o)[2]

    def run(fn, *args):
        try:
            return fn(*args)
        except DockerfileError as e:
            return ("error", str(e))

    assert run(_assemble_typed, items, list(map(type, items)), "Dockerfile", dup_ok) == \
        run(_assemble, items, "Dockerfile", dup_ok)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="ab=\"' \t\\`$:\xa0", min_size=1, max_size=16))
def test_pair_split_takes_what_the_pairs_pattern_matches(rest):
    from skiff.dockerfile.lineparse import _PAIR_SPLIT, _PAIRS, pair_parts

    parts = pair_parts(rest)
    if _PAIRS.fullmatch(rest):
        assert list(zip(parts[1::3], parts[2::3], strict=True)) == _PAIR_SPLIT.findall(rest)
    else:
        assert parts is None


# The shortcuts of typedfast: each must give what from_line (the general path) gives for
# the same line whenever it gives anything (it returns None to leave the line to it).
_FAST_PIECE = st.sampled_from([
    "a", "B", "k=v", "k=", "=v", "a=b=c", '"x y"', "'q r'", 'v="a b"', "k='a b'", "x\\ y",
    "`", "\\", "$X", "${Y:-z}", " ", "  ", "\t", "\xa0", "\u3000", "\x0b", "-", "--", "-x=1",
    "--from=s ", "--chown=1:2 ", "--chmod=644 ", "--link ", "--link=true ", "--parents ",
    "--from= ", "--from=a=b ", "--chown=\"a b\" ", '["a"]', '["a", "b"]', '["a","b"]',
    '[ "a" ]', "[]", '["a\\"b"]', '["\\u0041"]', '["a", 1]', "[", "]", "AS", "as", "aS",
    " AS ", " as ", "s1", "S-1.x", "1x", "\u212a", "ſ", "/d", "src/", "#", "=", ",", "\x00",
    "\x85", "é",
])


@settings(max_examples=700, deadline=None)
@given(st.sampled_from(sorted(__import__("skiff.dockerfile.typedfast",
                                         fromlist=["FAST"]).FAST)),
       st.lists(_FAST_PIECE, max_size=7), st.sampled_from(["\\", "`"]))
def test_fast_shapes_give_what_from_line_gives(word, pieces, escape):
    from skiff.dockerfile.segment import Directives
    from skiff.dockerfile.typedfast import FAST
    from skiff.dockerfile.typedline import from_line

    rest = "".join(pieces)
    line = word + " " + rest
    got = FAST[word](rest, line, 3, 5)
    if got is None or "<<" in line:
        return
    d = Directives()
    d.set_escape(escape)
    want = from_line(line, d, [], 3, 5)
    assert type(got) is type(want)
    assert got == want


@pytest.mark.parametrize("line", [
    "RUN set -eux; apt-get update", 'RUN ["a", "b"]', 'CMD ["/bin/app", "--port", "1"]',
    "CMD x", 'ENTRYPOINT ["e"]', "ENTRYPOINT e f", "WORKDIR /w/1", "USER 1000:1000",
    'ENV V1=value1 P1="a b c" PATH=/opt/1:$PATH', "ENV a=1", 'LABEL org.k="v 1" other=x',
    "ARG A1=default", "ARG A", "ARG A=", "FROM base AS s1", "FROM ${BASE} as Base",
    "FROM busybox", "COPY --chown=1000:1000 --chmod=0644 src/1/ /app/1/", "COPY a b c /d/",
    "COPY --from=build --link /out /out", "run x", "from a AS b",
])
def test_fast_shapes_take_the_usual_lines(line):
    """The shapes the bench and most Dockerfiles use go through the shortcuts."""
    from skiff.dockerfile.segment import Directives
    from skiff.dockerfile.typedfast import FAST
    from skiff.dockerfile.typedline import from_line

    word, _, rest = line.partition(" ")
    got = FAST[word](rest, line, 2, 2)
    assert got is not None
    assert got == from_line(line, Directives(), [], 2, 2)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_WORD, st.lists(_FAST_PIECE, max_size=4),
                          st.sampled_from(["", " ", "\t", " \\\n  "])), max_size=6))
def test_parse_with_and_without_the_shortcuts(lines):
    import skiff.dockerfile as df

    text = "FROM base\n" + "".join(
        word + " " + "".join(args) + tail + "\n" for word, args, tail in lines)
    got = _by_line(text)
    df._FAST_SHAPES = False
    try:
        want = _by_line(text)
    finally:
        df._FAST_SHAPES = True
    assert got == want
    if isinstance(got, list):
        assert [type(x) for x in got] == [type(x) for x in want]


def _fast_vs_from_line(word: str, rest: str) -> bool:
    """Assert the shortcut agrees with from_line; True when the shortcut took the line."""
    from skiff.dockerfile.segment import Directives
    from skiff.dockerfile.typedfast import FAST
    from skiff.dockerfile.typedline import from_line

    line = word + " " + rest
    got = FAST[word](rest, line, 1, 2)
    if got is None or "<<" in line:
        return False
    want = from_line(line, Directives(), [], 1, 2)
    assert type(got) is type(want)
    assert got == want
    return True


# each half usual pieces (the shortcut's shapes), half awkward ones
_KEY = st.one_of(st.sampled_from(["a", "K1", "a.b-c_d", "k-", "$k"]),
                 st.sampled_from(["-k", "'k'", '"k"', "k\\", "", "k`", "é"]))
_VAL = st.one_of(st.sampled_from(["", "v", "a=b", '"a b"', "'a b'", '"a"b', "$P:x", "'a\\'"]),
                 st.sampled_from(['"a\\"b"', "x\\ y", "`x`", "'", '"', "v\xa0"]))
_GAP = st.one_of(st.sampled_from([" ", "\t", "  ", " \t "]),
                 st.sampled_from(["\xa0", "\u3000", "", "\x0b"]))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["ENV", "LABEL", "env", "label", "ARG", "arg"]),
       st.lists(st.tuples(_KEY, st.sampled_from(["=", "=", "=", "", "=="]), _VAL, _GAP), min_size=1,
                max_size=4),
       st.sampled_from(["", " ", "\t", "\xa0"]))
def test_fast_pairs_give_what_from_line_gives(word, pairs, tail):
    rest = "".join(k + eq + v + gap for k, eq, v, gap in pairs[:-1])
    k, eq, v, _ = pairs[-1]
    _fast_vs_from_line(word, rest + k + eq + v + tail)


_COPY_FAST_FLAG = st.one_of(
    st.sampled_from(["--from=s", "--chown=1:2", "--chmod=644", "--link", "--from=a=b"]),
    st.sampled_from(["--chown=", "--link=false", "--parents", "--chmod=\"1\"", "--exclude=x",
                     "--from", "-x", "--"]))
_COPY_WORD = st.one_of(st.sampled_from(["a", "src/1/", "/d/", "$X", "#", "x=y", "a-"]),
                       st.sampled_from(["-a", "[", '["a",', "'x y'", "b\\ c", "`", "é"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(_COPY_FAST_FLAG, max_size=4, unique=True), st.permutations(range(4)),
       st.lists(_COPY_WORD, min_size=1, max_size=4), st.sampled_from([" ", "\t", "  "]),
       st.sampled_from(["", " "]), st.sampled_from(["COPY", "copy"]))
def test_fast_copy_gives_what_from_line_gives(flags, order, words, gap, tail, word):
    flags = [flags[i] for i in order if i < len(flags)]
    _fast_vs_from_line(word, gap.join(flags + words) + tail)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["FROM", "from"]),
       st.sampled_from(["base", "${B}", "a:1@sha256:x", "-b", "[", "b\xa0", "é", "a\\b"]),
       st.sampled_from(["", " AS ", " as ", " aS ", "\tAS\t", "  AS ", " AS", " ſ ", " AS  ",
                        " As ", " AΣ "]),
       st.sampled_from(["", "s1", "S.x-1_", "1s", "\u212a", "s!", "s t", "-s"]),
       st.sampled_from(["", " ", "\xa0"]))
def test_fast_from_gives_what_from_line_gives(word, base, as_, name, tail):
    _fast_vs_from_line(word, base + as_ + name + tail)


_GOOD_KEY = st.sampled_from(["a", "K1", "a.b-c_d", "k-", "$k", "k:x"])
_GOOD_VAL = st.sampled_from(["", "v", "a=b", '"a b"', "'a b'", '"a"b', "$P:x", "'a\\'", '"\t"',
                             "'#'", "x'y z'"])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["ENV", "LABEL", "env", "label"]),
       st.lists(st.tuples(_GOOD_KEY, _GOOD_VAL), min_size=1, max_size=3),
       st.sampled_from([" ", "\t", "  ", " \t "]), st.sampled_from(["ARG", "arg"]),
       _GOOD_KEY, st.sampled_from([None, "", "v", "a=b", "$X"]))
def test_fast_pairs_take_the_usual_shapes(word, pairs, gap, arg, key, value):
    assert _fast_vs_from_line(word, gap.join(k + "=" + v for k, v in pairs))
    if "'" not in key and '"' not in key:
        assert _fast_vs_from_line(arg, key if value is None else key + "=" + value)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([None, "s", "a=b", "b-1"]), st.sampled_from([None, "1:2", "u"]),
       st.sampled_from([None, "644", "u+x"]), st.booleans(),
       st.lists(st.sampled_from(["a", "src/1/", "/d/", "$X", "#", "x=y", "a-", "*.go"]),
                min_size=2, max_size=4),
       st.sampled_from([" ", "\t", "  "]))
def test_fast_copy_takes_the_usual_shapes(from_, chown, chmod, link, words, gap):
    flags = [f"--{n}={v}" for n, v in (("from", from_), ("chown", chown), ("chmod", chmod))
             if v is not None] + ["--link"] * link
    assert _fast_vs_from_line("COPY", gap.join(flags + words))
