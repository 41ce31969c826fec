"""``--format`` errors of the list and inspect commands, as docker 20.10.24 prints them.

Each expected text was measured on docker 20.10 (skiff adds its ``skiff: `` prefix):
docker's list rows are formatter context structs, so ``{{.Foo}}`` fails (exit 1) instead
of printing ``<no value>``; ``ps`` checks the template before listing, so it fails with no
container too; inspect prints an empty line, then the error (exit 1), and a template that
does not parse exits 64.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def bb(cli, busybox_tar):
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    return "bb:1"


def _cant(field: str, col: int, go_type: str, prefix: str = "template parsing error") -> str:
    return (f'skiff: {prefix}: template: :1:{col}: executing "" at <.{field}>: '
            f"can't evaluate field {field} in type {go_type}\n")


@pytest.mark.parametrize("fmt,err", [
    ("{{.Foo}}", _cant("Foo", 2, "*formatter.ContainerContext", "failed to execute template")),
    ("table {{.Foo}}", _cant("Foo", 8, "*formatter.ContainerContext",
                             "failed to execute template")),
    ("{{.ID}}\\t{{.Foo}}", _cant("Foo", 11, "*formatter.ContainerContext",
                                 "failed to execute template")),
    ("{{.Foo", "skiff: failed to parse template: template: :1: unclosed action\n"),
    ("{{.ID 1}}", 'skiff: failed to execute template: template: :1:2: executing "" at <.ID>: '
                  "wrong number of args for ID: want 0 got 1\n"),
    ("{{.Label 1}}", 'skiff: failed to execute template: template: :1:9: executing "" at <1>: '
                     "expected string; found 1\n"),
])
def test_ps_checks_the_format_with_no_container(cli, skiff_root, fmt, err):
    r = cli("ps", "-a", "--format", fmt)
    assert (r.code, r.out, r.err) == (1, "", err)


def test_ps_known_fields_with_no_container(cli, skiff_root):
    r = cli("ps", "-a", "--format", 'table {{.ID}}\t{{.Label "com.x.app-name"}}')
    assert (r.code, r.out) == (0, "CONTAINER ID   app name\n")


@pytest.mark.parametrize("argv,go_type", [
    (("images",), "*formatter.imageContext"),
    (("image", "ls"), "*formatter.imageContext"),
    (("history", "bb:1"), "*image.historyContext"),
    (("network", "ls"), "*network.networkContext"),
])
def test_list_rows_refuse_unknown_fields(cli, bb, argv, go_type):
    for fmt, col in (("{{.Foo}}", 2), ("table {{.Foo}}", 2), ("table {{.ID}} {{.Foo}}", 10)):
        r = cli(*argv, "--format", fmt)
        assert (r.code, r.out, r.err) == (1, "", _cant("Foo", col, go_type))
    r = cli(*argv, "--format", "{{.Foo")
    assert (r.code, r.err) == (1, "skiff: template parsing error: template: :1: unclosed "
                                  "action\n")


def test_images_and_history_have_no_label(cli, bb):
    for argv, go_type in ((("images",), "*formatter.imageContext"),
                          (("history", "bb:1"), "*image.historyContext")):
        r = cli(*argv, "--format", '{{.Label "a"}}')
        assert (r.code, r.err) == (1, _cant("Label", 2, go_type))


def test_empty_lists_print_the_header_map(cli, bb):
    # docker images/network ls with nothing matching: the header's map has no Foo
    r = cli("images", "--filter", "reference=nomatch", "--format", "table {{.Foo}}")
    assert (r.code, r.out) == (0, "<no value>\n")
    r = cli("network", "ls", "--filter", "name=nomatch", "--format", "table {{.Foo}}\t{{.ID}}")
    assert (r.code, r.out) == (0, "<no value>   NETWORK ID\n")
    r = cli("images", "--filter", "reference=nomatch", "--format", "{{.Foo}}")
    assert (r.code, r.out) == (0, "")


def test_volume_ls(cli, skiff_root):
    r = cli("volume", "ls", "--format", "table {{.Foo}}")
    assert (r.code, r.out) == (0, "<no value>\n")
    assert cli("volume", "ls", "--format", "{{.Foo}}").out == ""
    assert cli("volume", "create", "--label", "a=b", "fmt5v").code == 0
    r = cli("volume", "ls", "--format", "{{.Foo}}")
    assert (r.code, r.err) == (1, _cant("Foo", 2, "*formatter.volumeContext"))
    # docker 20.10's volumeContext has no ID, Group, Status (newer docker's cluster volumes)
    for field in ("ID", "Group", "Status"):
        r = cli("volume", "ls", "--format", "{{." + field + "}}")
        assert (r.code, r.err) == (1, _cant(field, 2, "*formatter.volumeContext"))
    r = cli("volume", "ls", "--format", '{{.Name}} {{.Label "a"}} {{.Labels}}')
    assert (r.code, r.out) == (0, "fmt5v b a=b\n")


def test_volume_create_has_no_l_shorthand(cli, skiff_root):
    r = cli("volume", "create", "-l", "a=b", "x")
    assert (r.code, r.out, r.err) == (125, "", "skiff: unknown shorthand flag: 'l' in -l\n"
                                               "See 'skiff volume create --help'.\n")
    r = cli("volume", "create", "-la=b", "x")
    assert (r.code, r.err) == (125, "skiff: unknown shorthand flag: 'l' in -la=b\n"
                                    "See 'skiff volume create --help'.\n")
    assert cli("volume", "ls", "-q").out == ""
    assert cli("volume", "create", "--label=a=b", "xv").code == 0
    assert cli("volume", "inspect", "-f", "{{.Labels}}", "xv").out == "map[a:b]\n"


def test_image_inspect_errors(cli, bb):
    for argv in (("image", "inspect"), ("inspect",)):
        r = cli(*argv, "-f", "{{.Foo}}", "bb:1")
        assert (r.code, r.out, r.err) == (1, "\n", 'skiff: template parsing error: template: '
                                                   ':1:2: executing "" at <.Foo>: map has no '
                                                   'entry for key "Foo"\n')
        r = cli(*argv, "-f", "{{.Foo", "bb:1")
        assert (r.code, r.out, r.err) == (64, "", "skiff: template parsing error: template: "
                                                  ":1: unclosed action\n")
        # typed: Config.Healthcheck is a nil pointer (the JSON omits it)
        assert cli(*argv, "-f", "{{.Config.Healthcheck}}", "bb:1").out == "<nil>\n"
        # and omitempty strings are ""
        assert cli(*argv, "-f", "{{.Variant}}|{{.OsVersion}}|", "bb:1").out == "||\n"


def test_volume_and_network_inspect_errors(cli, skiff_root):
    assert cli("volume", "create", "fmt5v").code == 0
    r = cli("volume", "inspect", "-f", "{{.Foo}}", "fmt5v")
    assert (r.code, r.out, r.err) == (1, "\n", 'skiff: template parsing error: template: :1:2: '
                                               'executing "" at <.Foo>: can\'t evaluate field '
                                               "Foo in type types.Volume\n")
    r = cli("inspect", "--type", "volume", "-f", "{{.Foo}}", "fmt5v")
    assert (r.code, r.err) == (1, 'skiff: template parsing error: template: :1:2: executing '
                                  '"" at <.Foo>: map has no entry for key "Foo"\n')
    r = cli("volume", "inspect", "-f", "{{.Status}}|{{.UsageData}}", "fmt5v")
    assert (r.code, r.out) == (0, "map[]|<nil>\n")
    r = cli("volume", "inspect", "-f", "table {{.Name}}", "fmt5v")
    assert (r.code, r.out) == (0, "table fmt5v\n")
    r = cli("network", "inspect", "-f", "{{.IPAM.Foo}}", "none")
    assert (r.code, r.out, r.err) == (1, "\n", 'skiff: template parsing error: template: :1:7: '
                                               'executing "" at <.IPAM.Foo>: map has no entry '
                                               'for key "Foo"\n')
    r = cli("network", "inspect", "-f", "{{.Foo", "none")
    assert (r.code, r.out) == (64, "")
    r = cli("network", "inspect", "-f", "{{.Peers}}|{{.Name}}", "none")
    assert (r.code, r.out) == (0, "[]|none\n")


def test_inspect_prints_the_good_objects_then_the_errors(cli, bb):
    # docker inspect -f '{{.Os}}' busybox nosuch: the found one printed, then the error
    r = cli("inspect", "-f", "{{.Os}}", "bb:1", "nosuch")
    assert (r.code, r.out, r.err) == (1, "linux\n", "skiff: No such object: nosuch\n")
    r = cli("inspect", "-f", "{{.Foo}}", "bb:1", "bb:1")
    line = 'skiff: template parsing error: template: :1:2: executing "" at <.Foo>: map has ' \
           'no entry for key "Foo"\n'
    assert (r.code, r.out, r.err) == (1, "\n", line + line)


def test_system_df_lines_are_disk_usage_contexts(cli, skiff_root):
    # docker 20.10 system df --format '{{.Foo}}': the first line (Images) fails, exit 1
    for fmt in ("{{.Foo}}", "table {{.Foo}}"):
        r = cli("system", "df", "--format", fmt)
        assert (r.code, r.out, r.err) == (1, "", _cant("Foo", 2,
                                                       "*formatter.diskUsageImagesContext"))
    r = cli("system", "df", "--format", "{{.Type}}")
    assert (r.code, r.out) == (0, "Images\nContainers\nLocal Volumes\nBuild Cache\n")
