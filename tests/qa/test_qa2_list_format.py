"""QA (session 2): ``images``/``history`` --format and filters as Docker's CLI gives them.

docker/cli's list contexts marshal themselves with ``json.Marshal`` over a map, so
``--format json`` (= ``{{json .}}``) prints the keys sorted and ``<none>`` as
``\\u003cnone\\u003e``; ``VirtualSize`` is ``units.HumanSize`` (4 significant digits) while
``Size`` has 3; moby refuses a ``dangling=`` value other than true/1/false/0 and names an
unknown filter key.
"""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def bb(cli, busybox_tar):
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    return json.loads(cli("inspect", "bb:1").out)[0]


def test_images_format_json_keys_sorted_and_html_escaped(cli, bb):
    line = cli("images", "--format", "json").out
    keys = list(json.loads(line))
    assert keys == sorted(keys) == ["Containers", "CreatedAt", "CreatedSince", "Digest", "ID",
                                    "Repository", "SharedSize", "Size", "Tag", "UniqueSize",
                                    "VirtualSize"]
    assert '"Digest":"\\u003cnone\\u003e"' in line
    assert cli("images", "--format", "{{json .}}").out == line


def test_history_format_json_keys_sorted(cli, bb):
    out = cli("history", "--format", "json", "bb:1").out
    assert out.startswith('{"Comment":"Imported from -","CreatedAt":"')
    assert list(json.loads(out)) == ["Comment", "CreatedAt", "CreatedBy", "CreatedSince",
                                     "ID", "Size"]


def test_json_of_an_inspect_field_keeps_struct_order(cli, bb):
    # not a list row: {{json .Config}} is the API struct, in Go's field order
    out = cli("inspect", "--format", "{{json .Config}}", "bb:1").out
    assert out.startswith('{"Hostname":"","Domainname":"","User":""')


def test_images_virtual_size_has_four_digits(cli, bb):
    size = bb["Size"]
    r = cli("images", "--format", "{{.Size}} {{.VirtualSize}}")
    from skiff.format.humanize import human_size
    assert r.out == f"{human_size(size)} {human_size(size, 4)}\n"
    assert r.out.split()[0] != r.out.split()[1]  # the busybox tar is 1.98MB / 1.98xMB


@pytest.mark.parametrize("value", ["maybe", "TRUE", ""])
def test_images_dangling_filter_refuses_non_bool(cli, bb, value):
    r = cli("images", "--filter", f"dangling={value}")
    assert (r.code, r.out, r.err) == (1, "", f"skiff: Invalid filter 'dangling=[{value}]'\n")


def test_images_dangling_filter_accepts_0_and_1(cli, bb):
    assert cli("images", "-q", "--filter", "dangling=0").out == bb["Id"][7:19] + "\n"
    assert cli("images", "-q", "--filter", "dangling=1").out == ""


def test_images_unknown_filter_key_is_named(cli, bb):
    r = cli("images", "--filter", "foo=bar")
    assert (r.code, r.err) == (1, "skiff: Invalid filter 'foo'\n")


def test_images_filter_without_equals_is_a_usage_error(cli, bb):
    r = cli("images", "--filter", "foo")
    assert (r.code, r.err) == (125, 'skiff: invalid argument "foo" for "-f, --filter" flag: '
                                     "bad format of filter (expected name=value)\n"
                                     "See 'skiff images --help'.\n")


def test_image_inspect_unknown_field_is_an_error(cli, bb):
    # docker image inspect -f '{{.Sise}}' busybox -> exit 1,
    # template parsing error: template: :1:2: executing "" at <.Sise>: map has no entry for key "Sise"
    # (stdout: docker 20.10 prints an empty line when no object printed anything)
    r = cli("image", "inspect", "-f", "{{.Sise}}", "bb:1")
    assert (r.code, r.out) == (1, "\n")
    assert r.err == ('skiff: template parsing error: template: :1:2: executing "" at <.Sise>: '
                     'map has no entry for key "Sise"\n')
    r = cli("image", "inspect", "-f", "{{.Config.Foo}}", "bb:1")
    assert r.code == 1 and r.err.endswith('map has no entry for key "Foo"\n')


def test_image_inspect_known_fields_still_render(cli, bb):
    r = cli("image", "inspect", "-f", "{{.Id}} {{.Variant}} {{.RootFS.Type}} {{.Config.User}}|",
            "bb:1")
    # (docker 20.10: Variant is an omitempty string of the typed ImageInspect: "")
    assert (r.code, r.out) == (0, f"{bb['Id']}  layers |\n")


def test_image_inspect_unparsable_template_exits_64(cli, bb):
    # docker 20.10 image inspect -f '{{.Id' busybox: exit 64 (docker/cli's inspect returns
    # StatusError 64 for a template it cannot parse)
    r = cli("image", "inspect", "-f", "{{.Id", "bb:1")
    assert (r.code, r.out, r.err) == (64, "", "skiff: template parsing error: template: :1: "
                                              "unclosed action\n")


@pytest.mark.parametrize("extra", [(), ("--format", "table")])
def test_history_not_human_table_shows_created_at(cli, bb, extra):
    # docker history -H=false busybox: IMAGE  CREATED AT  CREATED BY  SIZE  COMMENT
    r = cli("history", "-H=false", *extra, "bb:1")
    size = str(bb["Size"])
    created = bb["Created"][:19] + "Z"
    widths = (15, len(created) + 3, 13, max(len(size), 4) + 3)
    head = "".join(h.ljust(w) for h, w in zip(("IMAGE", "CREATED AT", "CREATED BY", "SIZE"),
                                                 widths, strict=True)) + "COMMENT"
    row = "".join(c.ljust(w) for c, w in zip((bb["Id"][7:19], created, "", size),
                                                widths, strict=True)) + "Imported from -"
    assert (r.code, r.out) == (0, head + "\n" + row + "\n")


@pytest.mark.parametrize("src,dst,err", [
    ("bb:1", "x:", 'Error parsing reference: "x:" is not a valid repository/tag: '
                   "invalid reference format"),
    ("nope", "UPPER", 'Error parsing reference: "UPPER" is not a valid repository/tag: '
                      "invalid reference format: repository name must be lowercase"),  # the names are checked before the source is looked up
    ("bad::src", "x:1", 'Error parsing reference: "bad::src" is not a valid repository/tag: '
                        "invalid reference format"),
])
def test_tag_bad_name_in_docker_client_words(cli, bb, src, dst, err):
    r = cli("tag", src, dst)
    assert (r.code, r.out, r.err) == (1, "", f"skiff: {err}\n")


def test_custom_format_wins_over_quiet(cli, bb):
    # docker images -q --format '{{.Repository}}' busybox -> busybox (quiet only replaces
    # the table format); docker images -q --format table -> the IDs
    short = bb["Id"][7:19]
    assert cli("images", "-q", "--format", "{{.Repository}}", "bb").out == "bb\n"
    assert cli("images", "-q", "--format", "table", "bb").out == short + "\n"
    assert cli("history", "-q", "--format", "{{.Comment}}", "bb:1").out == "Imported from -\n"
    assert cli("history", "-q", "bb:1").out == short + "\n"
