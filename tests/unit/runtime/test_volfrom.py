"""``--volumes-from`` specs and ``--label-file`` files (skiff.runtime.volfrom): dockerd's
and docker/cli's rules and texts (compared with docker 20.10)."""

from __future__ import annotations

import pytest

from skiff.errors import InvalidArgument
from skiff.runtime import volfrom


@pytest.mark.parametrize(("spec", "parsed"), [
    ("data", ("data", "rw")), ("data:ro", ("data", "ro")), ("data:rw", ("data", "rw")),
    ("data:z", ("data", "z")), ("data:ro,Z", ("data", "ro,Z"))])
def test_parse(spec, parsed):
    assert volfrom.parse(spec) == parsed


@pytest.mark.parametrize(("spec", "text"), [
    ("", "volumes-from specification cannot be an empty string"),
    ("data:bad", "invalid mode: bad"),
    ("data:rshared", "invalid mode: rshared"),
    ("data:nocopy", "invalid mode: nocopy"),
    ("data:ro,rw", "invalid mode: ro,rw"),
])
def test_parse_refusals(spec, text):
    with pytest.raises(InvalidArgument) as e:
        volfrom.parse(spec)
    assert str(e.value) == text


def test_label_file_lines(tmp_path):
    f = tmp_path / "labels"
    f.write_bytes(b"# c\n\n  a=1\nb\nc=x y \r\n")
    assert volfrom.read_label_files([str(f)]) == ["a=1", "b=", "c=x y "]


@pytest.mark.parametrize(("data", "text"), [
    (b"x y=1\n", "poorly formatted environment: variable 'x y' contains whitespaces"),
    (b"a =2\n", "poorly formatted environment: variable 'a ' contains whitespaces"),
    (b"=v\n", "poorly formatted environment: no variable name on line '=v'"),
])
def test_label_file_refusals(tmp_path, data, text):
    f = tmp_path / "labels"
    f.write_bytes(data)
    with pytest.raises(InvalidArgument) as e:
        volfrom.read_label_files([str(f)])
    assert str(e.value) == text


def test_label_file_bad_utf8_and_missing(tmp_path):
    f = tmp_path / "labels"
    f.write_bytes(b"k=\xff\n")
    with pytest.raises(InvalidArgument) as e:
        volfrom.read_label_files([str(f)])
    assert str(e.value) == f"env file {f} contains invalid utf8 bytes at line 1: [107 61 255]"
    with pytest.raises(InvalidArgument) as e:
        volfrom.read_label_files([str(tmp_path / "nofile")])
    assert str(e.value) == f"open {tmp_path / 'nofile'}: no such file or directory"


def test_cli_labels_from_files_then_flags(skiff_root, tmp_path):
    from skiff.cli import container
    from skiff.cli.context import Context
    from skiff.config import Config

    f = tmp_path / "labels"
    f.write_bytes(b"a=1\nb\nc=x y \n")
    a = container._parse_create_args(
        Context(Config.from_env()), ["--label-file", str(f), "--label", "b=flag", "-l", "z",
                                     "--domainname", "example.com", "bb:1"],
        "skiff create", "", run=False)
    o = container._options(a)
    assert dict(o.labels) == {"a": "1", "b": "flag", "c": "x y ", "z": ""}
    assert o.domainname == "example.com"


def test_cli_runtime(skiff_root, cli):
    res = cli("create", "--runtime", "crun", "bb:1", "true")
    assert (res.code, res.out, res.err) == (125, "", "skiff: Unknown runtime specified crun\n")
