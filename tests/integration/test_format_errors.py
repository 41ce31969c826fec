"""``ps --format`` and ``inspect -f`` errors on a real (created) container, as docker 20.10.24.

Measured on docker 20.10 with ``docker create --name x1 busybox true``: a ps row is a
``*formatter.ContainerContext`` (a field it lacks fails, exit 1), and container inspect runs
the template on the typed ContainerJSON, then on the raw JSON with missingkey=error: an
empty line on stdout, ``map has no entry for key "Foo"`` on stderr, exit 1.
"""

from __future__ import annotations

import uuid

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


@pytest.fixture
def x1(cli, busybox_tar):
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    name = "fmt5-" + uuid.uuid4().hex[:10]
    r = cli("create", "--name", name, "bb:1", "true")
    assert r.code == 0, r
    yield name
    cli("rm", "-f", name)


def test_ps_row_is_a_container_context(cli, x1):
    r = cli("ps", "-a", "--format", "{{.Names}} {{.Status}} {{.Label \"x\"}}|{{.Header}}")
    assert (r.code, r.out) == (0, f"{x1} Created |<no value>\n")
    r = cli("ps", "-a", "--format", "{{.ID}}{{.Foo}}")
    assert (r.code, r.out, r.err) == (
        1, "", 'skiff: failed to execute template: template: :1:9: executing "" at <.Foo>: '
               "can't evaluate field Foo in type *formatter.ContainerContext\n")
    # passes the check on the empty context (Names ""), fails on the row: docker's list
    # error, its column counted without 'table '
    r = cli("ps", "-a", "--format", "table {{if .Names}}{{.Foo}}{{end}}")
    assert (r.code, r.out, r.err) == (
        1, "", 'skiff: template parsing error: template: :1:15: executing "" at <.Foo>: '
               "can't evaluate field Foo in type *formatter.ContainerContext\n")
    r = cli("ps", "-a", "--format", "{{index . \"ID\"}}")
    assert r.err == ('skiff: failed to execute template: template: :1:2: executing "" at '
                     '<index . "ID">: error calling index: can\'t index item of type '
                     "formatter.ContainerContext\n")


@pytest.mark.parametrize("cmd", [("inspect",), ("container", "inspect")])
def test_container_inspect_missing_key_is_an_error(cli, x1, cmd):
    def err(col: int, node: str, key: str) -> str:
        return (f'skiff: template parsing error: template: :1:{col}: executing "" at <{node}>: '
                f'map has no entry for key "{key}"\n')

    for fmt, e in (("{{.Foo}}", err(2, ".Foo", "Foo")),
                   ("{{.State.Foo}}", err(8, ".State.Foo", "Foo")),
                   ("{{.Config.Foo}}", err(9, ".Config.Foo", "Foo")),
                   ("{{.State.Health.Status}}", err(8, ".State.Health.Status", "Health")),
                   ("{{.Name}}{{.Foo}}", err(11, ".Foo", "Foo"))):
        r = cli(*cmd, "-f", fmt, x1)
        assert (r.code, r.out, r.err) == (1, "\n", e), fmt
    r = cli(*cmd, "-f", "{{.Foo", x1)
    assert (r.code, r.out, r.err) == (64, "", "skiff: template parsing error: template: :1: "
                                              "unclosed action\n")
    # fields the JSON leaves out read as the typed struct's: nil pointers, empty slices
    r = cli(*cmd, "-f", "{{.Node}}|{{.SizeRw}}|{{.State.Health}}|{{.Config.Shell}}|"
                        "{{.Config.Labels.x}}|{{if .State.Running}}{{.Foo}}{{end}}", x1)
    assert (r.code, r.out) == (0, "<nil>|<nil>|<nil>|[]|<no value>|\n")
    r = cli(*cmd, "-f", "table {{.Name}}", x1)
    assert (r.code, r.out) == (0, f"table /{x1}\n")


def test_inspect_errors_in_order_after_the_output(cli, x1):
    r = cli("inspect", "-f", "{{.Foo}}", x1, "nosuch")
    assert (r.code, r.out, r.err) == (
        1, "\n", 'skiff: template parsing error: template: :1:2: executing "" at <.Foo>: '
                 'map has no entry for key "Foo"\nskiff: No such object: nosuch\n')
    r = cli("container", "inspect", "-f", "{{.Name}}", "nosuch", x1)
    assert (r.code, r.out) == (1, f"/{x1}\n")
    assert r.err.count("\n") == 1 and "nosuch" in r.err


def test_stats_row_is_a_stats_context(cli, x1):
    # docker 20.10 stats --no-stream --format '{{.Foo}}' x1 (a created container)
    r = cli("stats", "--no-stream", "--format", "{{.Foo}}", x1)
    assert (r.code, r.out, r.err) == (
        1, "", 'skiff: template parsing error: template: :1:2: executing "" at <.Foo>: '
               "can't evaluate field Foo in type *container.statsContext\n")
    r = cli("stats", "--no-stream", "--format", "{{.Name}}|{{.Container}}|{{.PIDs}}", x1)
    assert (r.code, r.out) == (0, f"{x1}|{x1}|0\n")
