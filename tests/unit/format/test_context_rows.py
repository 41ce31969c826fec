"""List rows as docker/cli's formatter context structs, and inspect's typed-then-raw run.

Every expected text was measured with docker 20.10.24 (`docker ps/images/volume ls/network
ls/history --format`, `docker inspect -f`): docker's rows are Go structs, so a field they
lack is an execution error, not ``<no value>``; with no rows the table header comes from a
map, where it is ``<no value>``.
"""

from __future__ import annotations

import pytest

from skiff.errors import InvalidArgument
from skiff.format.gotemplate import (
    ContextRow,
    GoStruct,
    LabeledRow,
    inspect_parse,
    render_inspect,
    render_list,
    validate_on,
)
from skiff.format.structs import container_view, network_view, volume_view

VOL = "*formatter.volumeContext"


def _vol_rows() -> list[LabeledRow]:
    return [LabeledRow({"Driver": "local", "Labels": "a=b", "Links": "N/A",
                        "Mountpoint": "/v/_data", "Name": "fmt5v", "Scope": "local",
                        "Size": "N/A"}, {"a": "b"}, VOL)]


def _err(fn, *args, **kw) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as ei:
        fn(*args, **kw)
    return ei.value


@pytest.mark.parametrize("template,msg", [
    ("{{.Foo}}", "template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type "
                 "*formatter.volumeContext"),
    # table is cut off first: the column counts from the template's body
    ("table {{.Foo}}", "template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo "
                       "in type *formatter.volumeContext"),
    ("{{if .Foo}}x{{end}}", "template: :1:5: executing \"\" at <.Foo>: can't evaluate field "
                            "Foo in type *formatter.volumeContext"),
    ("{{.Name 1}}", 'template: :1:2: executing "" at <.Name>: wrong number of args for Name: '
                    "want 0 got 1"),
    ("{{.Label}}", 'template: :1:2: executing "" at <.Label>: wrong number of args for Label: '
                   "want 1 got 0"),
    ("{{index . \"ID\"}}", 'template: :1:2: executing "" at <index . "ID">: error calling '
                           "index: can't index item of type formatter.volumeContext"),
    ("{{len .}}", 'template: :1:2: executing "" at <len .>: error calling len: len of type '
                  "formatter.volumeContext"),
    ("{{.Labels.Foo}}", 'template: :1:9: executing "" at <.Labels.Foo>: can\'t evaluate field '
                        "Foo in type string"),
])
def test_volume_ls_row_is_a_struct(template, msg):
    e = _err(render_list, template, _vol_rows())
    assert str(e) == f"template parsing error: {msg}"


def test_context_row_known_fields_and_methods_still_work():
    rows = _vol_rows()
    assert render_list('{{.Name}} {{.Label "a"}}|{{.Label "zz"}}|{{.Header}}', rows) == \
        "fmt5v b||<no value>\n"
    assert render_list("{{json .}}", rows) == (
        '{"Driver":"local","Labels":"a=b","Links":"N/A","Mountpoint":"/v/_data",'
        '"Name":"fmt5v","Scope":"local","Size":"N/A"}\n')


def test_label_argument_must_be_a_string():
    # docker 20.10: ps --format '{{.Label 1}}' -> at <1>: expected string; found 1
    e = _err(render_list, "{{.Label 1}}", _vol_rows())
    assert e.why == 'template: :1:9: executing "" at <1>: expected string; found 1'


def test_images_row_has_no_label_method():
    row = ContextRow({"ID": "9c38fc5be5a8"}, "*formatter.imageContext")
    e = _err(render_list, '{{.Label "a"}}', [row])
    assert e.why == ('template: :1:2: executing "" at <.Label>: can\'t evaluate field Label '
                     "in type *formatter.imageContext")


def test_no_rows_table_header_is_a_map():
    # docker volume ls --format 'table {{.Foo}}' with no volume: "<no value>", exit 0;
    # without table nothing at all
    fields = ("Driver", "Name")
    assert render_list("table {{.Foo}}", [], headers={"Name": "VOLUME NAME"},
                       fields=fields) == "<no value>\n"
    assert render_list("{{.Foo}}", [], fields=fields) == ""
    assert render_list("table {{.Name}}\t{{.Driver}}", [], headers={"Name": "VOLUME NAME"},
                       fields=fields) == "VOLUME NAME   DRIVER\n"


def test_range_error_is_at_the_pipeline():
    # docker images --format '{{range .ID}}{{end}}': :1:8 at <.ID>, not at range
    row = ContextRow({"ID": "9c38fc5be5a8"}, "*formatter.imageContext")
    e = _err(render_list, "{{range .ID}}{{end}}", [row])
    assert e.why == ('template: :1:8: executing "" at <.ID>: range can\'t iterate over '
                     "9c38fc5be5a8")


def test_ps_validation_prefixes_and_columns():
    empty = LabeledRow({"ID": "", "Names": "", "Image": "<no image>"}, {},
                       "*formatter.ContainerContext")
    e = _err(validate_on, "{{.Foo", empty)
    assert (str(e), e.exit_code) == (
        "failed to parse template: template: :1: unclosed action", 1)
    # the validation sees the format as typed: 'table ' and a literal \t count
    e = _err(validate_on, "table {{.Foo}}", empty)
    assert str(e) == ('failed to execute template: template: :1:8: executing "" at <.Foo>: '
                      "can't evaluate field Foo in type *formatter.ContainerContext")
    e = _err(validate_on, "{{.ID}}\\t{{.Foo}}", empty)
    assert e.why.startswith("template: :1:11: ")
    # Go's range over the empty context's Image shows its value
    e = _err(validate_on, "{{range .Image}}{{end}}", empty)
    assert e.why == ('template: :1:8: executing "" at <.Image>: range can\'t iterate over '
                     "<no image>")
    validate_on("table {{.ID}}\\t{{.Label \"x\"}}", empty)  # fine: no error


CONTAINER = {"Id": "287ae089", "Name": "/x1", "State": {"Status": "created", "Running": False},
             "Config": {"Labels": {}, "Image": "bb:1"}, "HostConfig": {"NetworkMode": "default"},
             "GraphDriver": {"Name": "overlay2", "Data": {}}, "Mounts": [],
             "NetworkSettings": {"Networks": {}}}


@pytest.mark.parametrize("template,out", [
    ("{{.Node}}|{{.SizeRw}}|{{.State.Health}}", "<nil>|<nil>|<nil>"),
    ("{{.Config.Healthcheck}}|{{.Config.StopTimeout}}|{{.Config.Shell}}", "<nil>|<nil>|[]"),
    ("{{.HostConfig.Cgroup}}|", "|"),
    ("{{.Config.Labels.x}}|{{.GraphDriver.Data.Foo}}", "<no value>|<no value>"),
    ("{{if .State.Running}}{{.Foo}}{{end}}", ""),
    ("table {{.Name}}", "table /x1"),  # no table keyword in inspect
])
def test_container_inspect_typed_values(template, out):
    assert render_inspect(template, container_view(CONTAINER), CONTAINER) == out


@pytest.mark.parametrize("template,msg", [
    ("{{.Foo}}", 'template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"'),
    ("{{.State.Foo}}", 'template: :1:8: executing "" at <.State.Foo>: map has no entry for '
                       'key "Foo"'),
    ("{{.HostConfig.Foo}}", 'template: :1:13: executing "" at <.HostConfig.Foo>: map has no '
                            'entry for key "Foo"'),
    # typed: a nil *Health; raw: no "Health" key
    ("{{.State.Health.Status}}", 'template: :1:8: executing "" at <.State.Health.Status>: map '
                                 'has no entry for key "Health"'),
    ("{{.Name}}{{.Foo}}", 'template: :1:11: executing "" at <.Foo>: map has no entry for key '
                          '"Foo"'),
])
def test_container_inspect_raw_retry_errors(template, msg):
    e = _err(render_inspect, template, container_view(CONTAINER), CONTAINER)
    assert str(e) == f"template parsing error: {msg}"


def test_volume_inspect_has_no_raw_retry():
    vol = {"CreatedAt": "2026-11-30T18:49:31Z", "Driver": "local", "Labels": {"a": "b"},
           "Mountpoint": "/v", "Name": "fmt5v", "Options": {}, "Scope": "local"}
    assert render_inspect("{{.Status}}|{{.UsageData}}|{{.Labels.x}}", volume_view(vol)) == \
        "map[]|<nil>|<no value>"
    e = _err(render_inspect, "{{.Foo}}", volume_view(vol))
    assert e.why == ('template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in '
                     "type types.Volume")
    e = _err(render_inspect, "{{.Name 1}}", volume_view(vol))
    assert e.why.endswith("at <.Name>: Name has arguments but cannot be invoked as function")
    e = _err(render_inspect, "{{len .}}", volume_view(vol))
    assert e.why.endswith("error calling len: len of type types.Volume")
    # `docker inspect --type volume` retries on the raw JSON
    e = _err(render_inspect, "{{.Foo}}", volume_view(vol), vol)
    assert e.why.endswith('map has no entry for key "Foo"')


def test_network_inspect_fields():
    net = {"Name": "none", "Id": "0f48", "IPAM": {"Driver": "default", "Options": {},
                                                  "Config": []}, "Labels": {}}
    assert render_inspect("{{.Peers}}|{{.Services}}", network_view(net), net) == "[]|map[]"
    e = _err(render_inspect, "{{.IPAM.Foo}}", network_view(net), net)
    assert e.why == 'template: :1:7: executing "" at <.IPAM.Foo>: map has no entry for key "Foo"'


def test_inspect_parse_error_exits_64():
    e = _err(inspect_parse, "{{.Foo")
    assert (str(e), e.exit_code) == ("template parsing error: template: :1: unclosed action", 64)


def test_typed_structs_print_as_go_structs_and_nils_as_typed():
    # docker 20.10 inspect -f on `docker create --name x1 busybox true`
    c = dict(CONTAINER, State={"Status": "created", "Running": False, "Paused": False,
                               "Restarting": False, "OOMKilled": False, "Dead": False,
                               "Pid": 0, "ExitCode": 0, "Error": "",
                               "StartedAt": "0001-01-01T00:00:00Z",
                               "FinishedAt": "0001-01-01T00:00:00Z"},
             HostConfig={"RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
                         "LogConfig": {"Type": "json-file", "Config": {}}, "CapAdd": None},
             Config={"Entrypoint": None, "Volumes": None, "Labels": {}})
    v = container_view(c)
    assert render_inspect("{{.State}}", v, c) == (
        "{created false false false false false 0 0  0001-01-01T00:00:00Z "
        "0001-01-01T00:00:00Z <nil>}")
    assert render_inspect("{{.HostConfig.RestartPolicy}}|{{.HostConfig.LogConfig}}", v, c) == \
        "{no 0}|{json-file map[]}"
    # a null slice / map field: [] and map[] as %v, null as JSON
    assert render_inspect("{{.Config.Entrypoint}}|{{json .Config.Entrypoint}}|"
                          "{{.Config.Volumes}}|{{json .Config.Volumes}}|{{.HostConfig.CapAdd}}",
                          v, c) == "[]|null|map[]|null|[]"
    net = {"Name": "none", "IPAM": {"Driver": "default", "Options": None, "Config": []},
           "ConfigFrom": {"Network": ""}}
    assert render_inspect("{{.IPAM}}|{{.ConfigFrom}}|{{json .IPAM}}", network_view(net), net) \
        == '{default map[] []}|{}|{"Driver":"default","Options":null,"Config":[]}'


def test_raw_retry_prints_a_json_null_as_no_value():
    # the raw JSON is map[string]interface{}: a null is a nil interface, <no value>
    raw = {"Config": {"Entrypoint": None}}
    typed = GoStruct({}, ())  # a struct without Config: the typed run fails
    assert render_inspect("{{.Config.Entrypoint}}", typed, raw) == "<no value>"
    assert render_inspect("{{.Config.Entrypoint}}", typed, raw) != \
        render_inspect("{{.Config.Entrypoint}}", {"Config": {"Entrypoint": None}})
