"""Go text/template semantics as Docker's --format uses them: exact strings Go prints."""

from __future__ import annotations

import dataclasses

import pytest

from skiff.errors import InvalidArgument
from skiff.format.gotemplate import header_name, is_table, parse_check, render, render_list

INSPECT = {
    "Id": "sha256:4b2a",
    "RepoTags": ["busybox:latest", "bb:1"],
    "Created": "2024-01-01T00:00:00.123456789Z",
    "Config": {"Env": ["PATH=/bin", "A=<b>&c"], "Cmd": ["sh"], "Labels": {"k": "v", "a": "1"},
               "Entrypoint": None},
    "RootFS": {"Type": "layers", "Layers": ["sha256:aa", "sha256:bb"]},
    "State": {"Status": "exited", "ExitCode": 3, "Health": None, "Running": False},
    "Size": 4264960,
    "Ratio": 0.25,
}


@pytest.mark.parametrize("tmpl, want", [
    ("{{.Id}}", "sha256:4b2a"),
    ("{{.State.Status}}", "exited"),
    ("{{.NoSuchKey}}", "<no value>"),
    ("{{.Config.NoSuchKey.Deeper}}", "<no value>"),
    ("{{len .RootFS.Layers}}", "2"),
    ('{{index .Config.Labels "k"}}', "v"),
    ('[{{index .Config.Labels "missing"}}]', "[]"),  # map[string]string: zero value ""
    ("{{index .RootFS.Layers 1}}", "sha256:bb"),
    ("{{.RepoTags}}", "[busybox:latest bb:1]"),
    ("{{.Config.Labels}}", "map[a:1 k:v]"),  # map keys sorted as fmt does
    ("{{.State.Health}}", "<nil>"),
    ("{{.State.Running}}", "false"),
    ("{{.Size}}", "4264960"),
    ("{{.Ratio}}", "0.25"),
    ("{{json .Config}}",
     '{"Env":["PATH=/bin","A=<b>&c"],"Cmd":["sh"],"Labels":{"k":"v","a":"1"},"Entrypoint":null}'),
    ("{{json .Id}}", '"sha256:4b2a"'),
    ("{{json .State.ExitCode}}", "3"),
    ("{{.Id | upper}}", "SHA256:4B2A"),
    ('{{.Id | printf "%s!"}}', "sha256:4b2a!"),
    ("{{range .RepoTags}}<{{.}}>{{end}}", "<busybox:latest><bb:1>"),
    ("{{range $i, $t := .RepoTags}}{{$i}}={{$t}} {{end}}", "0=busybox:latest 1=bb:1 "),
    ("{{range $t := .RepoTags}}{{$t}};{{end}}", "busybox:latest;bb:1;"),
    ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}", "a=1,k=v,"),
    ("{{range .Config.Entrypoint}}x{{else}}none{{end}}", "none"),
    ("{{range .RepoTags}}{{if eq . \"bb:1\"}}{{break}}{{end}}{{.}} {{end}}", "busybox:latest "),
    ("{{range .RepoTags}}{{if eq . \"busybox:latest\"}}{{continue}}{{end}}{{.}}{{end}}", "bb:1"),
    ("{{range $i, $e := .RootFS.Layers}}{{if $i}},{{end}}{{$e}}{{end}}", "sha256:aa,sha256:bb"),
    ('{{if eq .State.Status "running"}}up{{else if eq .State.Status "exited"}}'
     "exited {{.State.ExitCode}}{{else}}other{{end}}", "exited 3"),
    ("{{if .Config.Entrypoint}}e{{else}}no entrypoint{{end}}", "no entrypoint"),
    ("{{with .RootFS}}{{.Type}}{{end}}", "layers"),
    ("{{with .Config.Entrypoint}}x{{else}}empty{{end}}", "empty"),
    ("{{$id := .Id}}{{range .RepoTags}}{{$id}} {{end}}", "sha256:4b2a sha256:4b2a "),
    ("{{range .RepoTags}}{{$.Id}}{{end}}", "sha256:4b2asha256:4b2a"),
    ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"),
    ("{{- /* a comment */ -}}  x", "x"),
    ("a  {{- .State.ExitCode -}}  b", "a3b"),
    ("a {{.State.ExitCode}} b", "a 3 b"),
    ('{{join .RepoTags ", "}}', "busybox:latest, bb:1"),
    ('{{split "a:b:c" ":"}}', "[a b c]"),
    ('{{index (split .Id ":") 1}}', "4b2a"),
    ('{{(index .RootFS.Layers 0)}}', "sha256:aa"),
    ("{{lower \"ABC\"}} {{title \"hello big-world\"}}", "abc Hello Big-World"),
    ('{{pad "x" 2 1}}|{{pad "" 2 1}}|', "  x ||"),
    ('{{truncate "abcdef" 3}} {{truncate "ab" 3}}', "abc ab"),
    ("{{slice .Id 7}} {{slice .Id 0 6}}", "4b2a sha256"),
    ('{{printf "%-8s|%5d|%05.1f|%q|%v|%x" "ab" 42 3.14159 "a\\"b" .RepoTags 255}}',
     'ab      |   42|003.1|"a\\"b"|[busybox:latest bb:1]|ff'),
    ('{{printf "%d %s" "x"}}', "%!d(string=x) %!s(MISSING)"),
    ('{{printf "%d" 1 2}}', "1%!(EXTRA int=2)"),
    ("{{println 1 \"a\"}}", "1 a\n"),
    ("{{print 1 2 \"a\" 3}}", "1 2a3"),
    ("{{eq 1 1}} {{eq 1 2 3 1}} {{ne \"a\" \"b\"}} {{lt 1 2}} {{le 2 2}} {{gt 1.5 2.5}} {{ge \"b\" \"a\"}}",
     "true true true true true false true"),
    ("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" 3}} {{or 0 \"\"}} {{not 0}}", "0 2 3  true"),
    ("{{and .Config.Entrypoint .Config.Entrypoint.X}}", "<nil>"),  # short-circuit: no error
    ("{{eq .Config.Entrypoint nil}}", "true"),
    ("{{len \"héllo\"}}", "6"),  # bytes, as Go's len
    ("{{index \"abc\" 1}}", "98"),
    ("{{1e6}} {{1.5}} {{100000.0}} {{0.00001}} {{-0.5}} {{3}} {{0x1F}} {{'a'}}",
     "1e+06 1.5 100000 1e-05 -0.5 3 31 97"),
    ('{{"a\\tb"}}|{{`raw\\n`}}', "a\tb|raw\\n"),
    ('{{define "T"}}[{{.}}]{{end}}{{template "T" .State.ExitCode}}{{template "T" "x"}}', "[3][x]"),
    ('{{block "B" .Id}}<{{.}}>{{end}}', "<sha256:4b2a>"),
    ("{{range 3}}{{.}}{{end}}", "012"),
    ('{{html "<a&b>"}} {{urlquery "a b&c"}} {{js "it\'s"}}', "&lt;a&amp;b&gt; a+b%26c it\\'s"),
    ("{{.State.ExitCode | printf \"%03d\" | printf \"(%s)\"}}", "(003)"),
    ("{{if and (eq .State.Status \"exited\") (gt .State.ExitCode 0)}}failed{{end}}", "failed"),
])
def test_render_inspect_data(tmpl: str, want: str) -> None:
    assert render(tmpl, INSPECT) == want


def test_json_keeps_html_characters_and_escapes_line_separators() -> None:
    # docker/cli's json function: json.Encoder with SetEscapeHTML(false)
    data = {"s": "<a>&\u2028", "f": [1.0, 1e21, 1e-7, 0.1, 1e20], "n": None, "b": True}
    assert render("{{json .}}", data) == (
        '{"s":"<a>&\\u2028","f":[1,1e+21,1e-7,0.1,100000000000000000000],"n":null,"b":true}')


def test_dataclass_fields_and_methods() -> None:
    @dataclasses.dataclass(frozen=True)
    class Row:
        ID: str
        Labels: dict

        def Label(self, name: str) -> str:
            return self.Labels.get(name, "")

        def Short(self) -> str:
            return self.ID[:3]

    r = Row("abcdef", {"x": "1"})
    assert render('{{.ID}} {{.Label "x"}} [{{.Label "y"}}] {{.Short}}', r) == "abcdef 1 [] abc"
    assert render("{{json .}}", r) == '{"ID":"abcdef","Labels":{"x":"1"}}'
    assert render("{{.}}", r) == "{abcdef map[x:1]}"


@pytest.mark.parametrize("tmpl, msg", [
    ("{{.Id", 'template: :1: unclosed action'),
    ("{{nosuchfunc .Id}}", 'template: :1: function "nosuchfunc" not defined'),
    ("{{if .Id}}x", "template: :1: unexpected EOF"),
    ("{{end}}", "template: :1: unexpected {{end}}"),
    ("a\n{{$nope}}", 'template: :2: undefined variable "$nope"'),
    ("{{if (eq 1\n 1)}}{{index .RootFS.Layers\n 7}}{{end}}",
     'template: :2:7: executing "" at <index .RootFS.Layers 7>: error calling index: index out of range: 7'),
    ("{{break}}", "template: :1: {{break}} outside {{range}}"),
    ("{{/* x }}", "template: :1: unclosed comment"),
    ('{{"abc}}', "template: :1: unterminated quoted string"),
    ("{{.State.Health.Status}}",
     'template: :1:8: executing "" at <.State.Health.Status>: nil pointer evaluating interface {}.Status'),
    ("{{.Id.Foo}}", 'template: :1:5: executing "" at <.Id.Foo>: can\'t evaluate field Foo in type string'),
    ("x {{index .RootFS.Layers 5}}",
     'template: :1:4: executing "" at <index .RootFS.Layers 5>: error calling index: index out of range: 5'),
    ("{{eq .State.ExitCode 0.0}}",
     'template: :1:2: executing "" at <eq .State.ExitCode 0.0>: error calling eq: incompatible types for comparison'),
    ("{{lower 3}}",
     'template: :1:2: executing "" at <lower 3>: error calling lower: wrong type for value; expected string; got int'),
    ("{{len 3}}", 'template: :1:2: executing "" at <len 3>: error calling len: len of type int'),
    # docker 20.10 (image inspect, ps): the error is at the pipeline's node, not at range
    ("{{range .Id}}{{end}}", 'template: :1:8: executing "" at <.Id>: range can\'t iterate over sha256:4b2a'),
    ("{{range $x := .Id}}{{end}}",
     'template: :1:14: executing "" at <.Id>: range can\'t iterate over sha256:4b2a'),
    ('{{template "none"}}', 'template: :1:2: executing "" at <template \'none\'>: no template \'none\' associated with template ""'),
    ("{{upper}}", 'template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 0'),
])
def test_errors_are_one_line_invalid_argument(tmpl: str, msg: str) -> None:
    with pytest.raises(InvalidArgument) as ei:
        render(tmpl, INSPECT)
    err = ei.value
    assert err.exit_code == 125
    assert str(err) == f"template parsing error: {msg}"
    assert "\n" not in str(err)


def test_parse_check_refuses_before_any_work() -> None:
    parse_check("table {{.ID}}\t{{.Names}}")
    with pytest.raises(InvalidArgument, match='function "bad" not defined'):
        parse_check("table {{bad .ID}}")


IMAGES = [
    {"Repository": "busybox", "Tag": "latest", "ID": "4b2a8d3c1e0f", "CreatedSince": "2 weeks ago",
     "Size": "4.26MB"},
    {"Repository": "registry.local:5000/team/app", "Tag": "v1.2.3", "ID": "0123456789ab",
     "CreatedSince": "3 days ago", "Size": "1.1GB"},
]


def test_table_header_alignment_like_docker_images() -> None:
    out = render_list("table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}",
                      IMAGES, headers={"ID": "IMAGE ID"})
    assert out == (
        "REPOSITORY                     TAG       IMAGE ID       CREATED       SIZE\n"
        "busybox                        latest    4b2a8d3c1e0f   2 weeks ago   4.26MB\n"
        "registry.local:5000/team/app   v1.2.3    0123456789ab   3 days ago    1.1GB\n")


def test_table_with_real_tabs_and_no_rows_prints_header() -> None:
    assert render_list("table {{.ID}}\t{{.Names}}", [], headers={"ID": "CONTAINER ID"}) == (
        "CONTAINER ID   NAMES\n")


def test_table_header_ignores_json_upper_and_keeps_pad() -> None:
    rows = [{"Names": "web", "Labels": {"a": "b"}}]
    out = render_list("table {{.Names | upper}}\t{{json .Labels}}", rows)
    assert out == "NAMES     LABELS\nWEB       {\"a\":\"b\"}\n"


def test_render_table_prefix_delegates_to_list() -> None:
    assert render("table {{.Tag}}", IMAGES) == "TAG\nlatest\nv1.2.3\n"


def test_non_table_list_one_line_per_row_with_escapes() -> None:
    out = render_list("  {{.Repository}}:{{.Tag}}\\t{{.ID}}  ", IMAGES)
    assert out == "busybox:latest\t4b2a8d3c1e0f\nregistry.local:5000/team/app:v1.2.3\t0123456789ab\n"


def test_is_table_and_header_names() -> None:
    assert is_table("table {{.ID}}") and is_table("table") and not is_table("{{.ID}}")
    assert header_name("CreatedAt") == "CREATED AT"
    assert header_name("RunningFor") == "CREATED"
    assert header_name("ID", {"ID": "CONTAINER ID"}) == "CONTAINER ID"
    assert header_name("LocalVolumes") == "LOCAL VOLUMES"
    assert header_name("CPUPerc") == "CPU %"
    assert header_name("RootFS") == "ROOT FS"


def test_json_format_key_is_one_object_per_line() -> None:
    # a list row is a docker/cli formatter context: json.Marshal of a map (sorted keys,
    # HTML escaped), as `docker images --format json` prints "Digest":"\u003cnone\u003e"
    rows = [{"Size": 1, "ID": "a"}, {"ID": "b<", "Size": 2.5}]
    assert render_list("json", rows) == '{"ID":"a","Size":1}\n{"ID":"b\\u003c","Size":2.5}\n'
    # but the json function on anything else keeps Go's struct order and does not escape
    assert render_list("{{json .X}}", [{"X": {"b": "<", "a": 1}}]) == '{"b":"<","a":1}\n'


def test_property_that_fails_is_a_template_error() -> None:
    class Obj:
        @property
        def Broken(self) -> str:
            raise OSError("disk gone")

    with pytest.raises(InvalidArgument, match="error calling Broken: disk gone"):
        render("{{.Broken}}", Obj())
