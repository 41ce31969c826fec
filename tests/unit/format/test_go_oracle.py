"""Differential tests: skiff's templates against Go's real text/template (a peer, like skopeo).

gooracle/main.go runs Go's text/template with the functions docker/cli registers and
docker/cli's list/table formatting (tabwriter 10/1/3, header functions). Every case must
give the same text, or both must fail. Data: JSON-like values whose Go form (after the
oracle's typing: integral numbers → int, lists/maps of strings → []string /
map[string]string) is what Docker's typed structs look like to a template. Maps are
given with sorted keys (Go's json sorts map keys; skiff writes dicts in their order).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from skiff.errors import InvalidArgument
from skiff.format.gotemplate import render, render_list

pytestmark = pytest.mark.requires_peer("go")

HERE = Path(__file__).resolve().parent


def _go_minor() -> int:
    """Minor version of the Go toolchain on PATH (Debian 12's golang-go is 1.19), 0 if none."""
    if not shutil.which("go"):
        return 0
    out = subprocess.run(["go", "version"], capture_output=True, text=True).stdout
    m = re.search(r"go1\.(\d+)", out)
    return int(m.group(1)) if m else 0


GO_MINOR = _go_minor()
# Go 1.22 added range over an integer; skiff follows current Go (docker/cli is built with it)
RANGE_INT = GO_MINOR >= 22
needs_range_int = pytest.mark.skipif(not RANGE_INT, reason="Go >= 1.22 ranges over integers")
# SKIFF_FMT_EXAMPLES=5000 for a long exploratory run; the default keeps `make test` quick.
EXAMPLES = int(os.environ.get("SKIFF_FMT_EXAMPLES", "150"))


class Oracle:
    def __init__(self, exe: Path):
        self.proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, encoding="utf-8")

    def ask(self, **req: object) -> tuple[str, str]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        r = json.loads(self.proc.stdout.readline())
        return r["out"], r["err"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    exe = tmp_path_factory.mktemp("gooracle") / "oracle"
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    r = subprocess.run(["go", "build", "-o", str(exe), "main.go"], cwd=HERE / "gooracle",
                       env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        pytest.skip(f"cannot build the Go oracle: {r.stderr.strip()[:200]}")
    o = Oracle(exe)
    yield o
    o.close()


def check(oracle: Oracle, tmpl: str, data: object) -> None:
    want, err = oracle.ask(t=tmpl, d=data)
    if err:
        with pytest.raises(InvalidArgument):
            render(tmpl, data)
    else:
        assert render(tmpl, data) == want, (tmpl, data)


DATA = {
    "B": True, "E": [], "F": 2.5, "I": 42, "L": ["a", "b c", "<d>&"], "LI": [3, 1, 2],
    "M": {"k": "v", "x": "y"},
    "N": {"F": 1e-7, "I": -7, "L": ["z"], "S": "nested"},
    "S": "Hello, World", "Z": 0, "ZS": "",
}

CASES = [
    "{{.S}} {{.I}} {{.F}} {{.B}} {{.L}} {{.LI}} {{.M}} {{.N}} {{.E}} {{.Z}}",
    "{{.Missing}} {{.N.Missing}} {{.Missing.Deeper}}",
    "{{json .}}", "{{json .N}}", "{{json .L}}", "{{json .F}} {{json .N.F}} {{json 1e21}}",
    "{{len .L}} {{len .M}} {{len .S}} {{len .E}}",
    '{{index .L 1}} {{index .M "k"}} [{{index .M "nope"}}] {{index .LI 0}} {{index .S 0}}',
    "{{slice .S 1 4}} {{slice .L 1}} {{slice .LI 0 2}}",
    "{{range .L}}[{{.}}]{{end}}", "{{range $i, $v := .LI}}{{$i}}={{$v}} {{end}}",
    "{{range $k, $v := .M}}{{$k}}:{{$v}};{{end}}", "{{range .E}}x{{else}}empty{{end}}",
    "{{range $v := .L}}{{$v}}{{$.I}}{{end}}",
    "{{if .ZS}}a{{else if .Z}}b{{else if .E}}c{{else}}d{{end}}",
    "{{with .N}}{{.S}} {{.I}}{{end}}{{with .Z}}no{{else}}zero{{end}}",
    '{{printf "%s|%d|%v|%q|%x|%X|%o|%b|%e|%g|%f|%t|%c|%U|%%" .S .I .L .S .I .S .I .I .F .F .F .B 65 9731}}',
    '{{printf "%-8s|%8s|%08.3f|%+d|% d|%5.1s|%#x|%#o|%x" .S "ab" .F .I .I "xyz" .I .I .L}}',
    '{{printf "%d %s %v" .S .I}}', '{{printf "%v %v %v"}}', '{{printf "%s" 1 2 3}}',
    '{{printf "%v %v %v %v %v" 1e6 123456.0 1e-5 0.0001 -2.0}}',
    '{{printf "%T %T %T %T %T" .S .I .F .B .L}}',
    "{{print .S .I .F 1 2 \"x\" .B}}", "{{println .S .I .L}}",
    '{{eq .I 42}} {{eq .S "x" "Hello, World"}} {{ne .F 2.5}} {{lt .I 50}} {{ge .S "Hello"}}',
    "{{and .I .S}} {{and .Z .S}} {{or .Z .ZS}} {{or .ZS .S}} {{not .E}}",
    '{{.S | upper}} {{.S | lower}} {{title "ab cd-ef_gh ij.kl"}} {{.S | printf "<%s>"}}',
    '{{join .L "+"}} {{split .S ", "}} {{split "abc" ""}} {{index (split .S ",") 0}}',
    '{{pad .S 2 3}}|{{pad .ZS 2 3}}|{{truncate .S 5}}|{{truncate .S 50}}',
    '{{html .L}} {{urlquery .S "a&b"}} {{js "it\'s <x> \\"q\\"\\n"}}',
    "{{$x := .I}}{{$y := .S}}{{$x}}{{$y}}{{$x = 7}}{{$x}}",
    "{{range .L}}{{if eq . \"b c\"}}{{break}}{{end}}{{.}}{{end}}",
    "{{range .L}}{{if eq . \"a\"}}{{continue}}{{end}}{{.}}{{end}}",
    "a  {{- .I -}}  b {{- /* c */}} c",
    '{{define "row"}}<{{.}}>{{end}}{{range .L}}{{template "row" .}}{{end}}',
    "{{(index .N.L 0) | upper}} {{(len .L) | printf \"%03d\"}}",
    "{{.N.S | printf \"%s-%s\" .S}}",
    "{{0x10}} {{0o17}} {{1_000}} {{'x'}} {{-3}} {{+4}} {{1.50}} {{1e3}} {{017}}",
    '{{"esc\\t\\u00e9\\x41"}} {{`raw\\t`}}',
    pytest.param("{{range 3}}{{.}}{{end}}", marks=needs_range_int),
    # errors: both sides must fail
    "{{.S.Foo}}", "{{index .L 9}}", "{{eq .I 1.5}}", "{{lt .B true}}", "{{len .I}}",
    "{{upper .I}}", "{{join .LI \",\"}}", "{{range .S}}{{end}}", "{{nofunc}}", "{{.S",
    "{{if}}{{end}}", "{{end}}", "{{$u}}", "{{template \"none\"}}", "{{slice .S 3 1}}",
    "{{and}}", "{{.I 1}}", "{{1 2}}", "{{nil}}", "{{(.S) (.I)}}", "{{index .M 1}}",
]


@pytest.mark.parametrize("tmpl", CASES)
def test_same_as_go(oracle, tmpl: str) -> None:
    check(oracle, tmpl, DATA)


SAME_MESSAGE = [
    "{{.A", "{{foo}}", "{{if .A}}x", "{{end}}", "{{else}}", "{{$u}}", "{{break}}",
    "{{continue}}", "{{/* x }}", '{{"abc}}', "{{| .A}}", "{{(.A}}", "{{.A)}}", "{{range}}{{end}}",
    "{{if}}{{end}}", "{{with $x := 1, 2}}{{end}}", "{{'ab'}}", "{{1 2}}", "{{.A.B.C }",
    "{{ # }}", "{{range $a, $b, $c := .}}{{end}}", "a\n{{if .A}}\n{{foo .A}}{{end}}",
    "{{index .A 1}}", "{{len 3}}", "{{printf}}", "{{nil}}", "{{len nil}}",
]


@pytest.mark.parametrize("tmpl", SAME_MESSAGE)
def test_error_messages_same_as_go(oracle, tmpl: str) -> None:
    _, err = oracle.ask(t=tmpl, d={"A": 1})
    with pytest.raises(InvalidArgument) as ei:
        render(tmpl, {"A": 1})
    assert err and ei.value.why == err


LIST_CASES = [
    "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.Size}}",
    "table {{.ID}}\t{{.Repository | upper}}\t{{json .Tag}}",
    "table {{.ID}}",
    "table {{pad .Tag 1 1}}\\t{{truncate .ID 4}}|{{.Size}}",
    "table {{.Repository}}:{{.Tag}}\\t{{split .ID \"b\"}}\\t{{join .Names \",\"}}",
    "{{.Repository}}\\t{{.Tag}}",
    "  {{.ID}}  ",
    "table {{.ID}}\\n{{.Tag}}\\t{{.Size}}",
]

ROWS = [
    {"ID": "4b2a8d3c1e0f", "Names": ["web", "w1"], "Repository": "busybox", "Size": "4.26MB",
     "Tag": "latest"},
    {"ID": "ab", "Names": [], "Repository": "registry.local:5000/team/application",
     "Size": "1.1GB", "Tag": "v1.2.3-rc1"},
    {"ID": "0123456789abcdef", "Names": ["x"], "Repository": "é-ünïcode", "Size": "0B",
     "Tag": "<none>"},
]
HEADERS = {"ID": "IMAGE ID", "Names": "NAMES", "Repository": "REPOSITORY", "Size": "SIZE",
           "Tag": "TAG"}


@pytest.mark.parametrize("tmpl", LIST_CASES)
@pytest.mark.parametrize("nrows", [0, 1, 3])
def test_list_and_table_same_as_docker_formatter(oracle, tmpl: str, nrows: int) -> None:
    rows = ROWS[:nrows]
    want, err = oracle.ask(t=tmpl, rows=rows, list=True, headers=HEADERS)
    assert not err
    assert render_list(tmpl, rows, headers=HEADERS) == want


# ---------------------------------------------------------------------------------------------
# generated templates

ALPHABET = st.sampled_from(list("abcXYZ019 _-.,:;<>&\"'\\/%\té中\n"))
text = st.text(ALPHABET, max_size=8)
leaf_str = st.text(st.sampled_from(list("abAB z-_.<>&é,")), max_size=6)

FIELDS = [".S", ".I", ".F", ".B", ".L", ".LI", ".M", ".N", ".E", ".Z", ".ZS", ".N.S", ".N.I",
          ".N.L", ".N.F", ".Missing", ".N.Missing", "$.S", "$.I", ".", "$", "$.N.L", "(.N).S",
          "(index .L 0)", "(index .N.L 0)", ".M.k", "nil"]


def _lit() -> st.SearchStrategy[str]:
    return st.one_of(
        leaf_str.map(json.dumps),
        st.integers(-1000, 1000).map(str),
        st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False).map(repr),
        st.sampled_from(["true", "false", "1e6", "0.1", "1.0", "0"]),
    )


def _operand() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(FIELDS), _lit())


FUNCS1 = ["len", "json", "upper", "lower", "title", "not", "print", "println", "html",
          "urlquery", "js"]
FUNCS2 = ["eq", "ne", "lt", "le", "gt", "ge", "and", "or", "index", "join", "split",
          "truncate", "print", "slice"]


@st.composite
def expr(draw, depth: int = 0) -> str:
    kind = draw(st.integers(0, 6 if depth < 2 else 1))
    if kind == 0:
        return draw(st.sampled_from(FIELDS))
    if kind == 1:
        return draw(_lit())
    if kind == 2:
        return f"{draw(st.sampled_from(FUNCS1))} {draw(_operand())}"
    if kind == 3:
        a, b = draw(_operand()), draw(_operand())
        return f"{draw(st.sampled_from(FUNCS2))} {a} {b}"
    if kind == 4:
        verbs = draw(st.lists(st.sampled_from(
            ["%v", "%s", "%d", "%q", "%x", "%5.2f", "%-6v|", "%08d", "%g", "%t", "%e",
             "%+v", "%3s", "%.1s", "%%", "%T"]), min_size=1, max_size=3))
        args = draw(st.lists(_operand(), max_size=3))
        return f"printf {json.dumps(''.join(verbs))} {' '.join(args)}".rstrip()
    if kind == 5:
        inner = draw(expr(depth + 1))
        fn = draw(st.sampled_from(["upper", "len", "json", "print", "printf \"<%v>\"",
                                   "eq .I", "lower", "not"]))
        return f"{inner} | {fn}"
    inner = draw(expr(depth + 1))
    return f"{draw(st.sampled_from(FUNCS1))} ({inner})"


@st.composite
def template(draw, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 6 if depth < 2 else 1))
        if kind == 0:
            parts.append(draw(text).replace("{{", "{ {"))
        elif kind == 1:
            lt = draw(st.sampled_from(["{{", "{{- "]))
            rt = draw(st.sampled_from(["}}", " -}}"]))
            parts.append(f"{lt}{draw(expr())}{rt}")
        elif kind == 2:
            body, other = draw(template(depth + 1)), draw(template(depth + 1))
            kw = draw(st.sampled_from(["if", "with"]))
            parts.append(f"{{{{{kw} {draw(expr())}}}}}{body}{{{{else}}}}{other}{{{{end}}}}")
        elif kind == 3:
            coll = draw(st.sampled_from([".L", ".LI", ".M", ".E", ".N", ".N.L", ".Missing", ".S"]))
            body = draw(template(depth + 1))
            decl = draw(st.sampled_from(["", "$v := ", "$i, $v := "]))
            extra = "{{$v}}" if decl else ""
            parts.append(f"{{{{range {decl}{coll}}}}}{body}{extra}{{{{else}}}}E{{{{end}}}}")
        elif kind == 4:
            parts.append(f"{{{{$x := {draw(expr())}}}}}{draw(template(depth + 1))}{{{{$x}}}}")
        elif kind == 5:
            parts.append(f"{{{{/* {draw(text).replace('*/', '')} */}}}}")
        else:
            coll = draw(st.sampled_from([".L", ".LI", ".M"] + (["3"] if RANGE_INT else [])))
            ctl = draw(st.sampled_from(["break", "continue"]))
            cond = draw(expr())
            parts.append(f"{{{{range $i, $v := {coll}}}}}{{{{if {cond}}}}}{{{{{ctl}}}}}"
                         f"{{{{end}}}}{{{{$i}}}}{{{{end}}}}")
    return "".join(parts)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tmpl=template())
@example(tmpl='{{printf "%v%x" .S 2.225073858507e-311}}')  # a subnormal: Go normalises it
def test_generated_templates_same_as_go(oracle, tmpl: str) -> None:
    check(oracle, tmpl, DATA)


ROW = st.fixed_dictionaries({
    "ID": leaf_str, "Repository": st.text(st.sampled_from(list("abcdefghij/:.é")), max_size=40),
    "Tag": leaf_str, "Size": leaf_str})


@settings(max_examples=EXAMPLES // 3, deadline=None)
@given(rows=st.lists(ROW, max_size=5),
       cols=st.lists(st.sampled_from(["{{.ID}}", "{{.Repository}}", "{{.Tag}}", "{{.Size}}",
                                      "{{upper .Tag}}", "{{json .ID}}", "x"]), min_size=1,
                     max_size=4),
       sep=st.sampled_from(["\\t", "\t", " ", "\\t\\t"]), table=st.booleans())
def test_generated_tables_same_as_docker_formatter(oracle, rows, cols, sep, table) -> None:
    tmpl = ("table " if table else "") + sep.join(cols)
    want, err = oracle.ask(t=tmpl, rows=rows, list=True, headers=HEADERS)
    assert not err
    assert render_list(tmpl, rows, headers=HEADERS) == want
