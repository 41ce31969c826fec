"""``--log-driver``/``--log-opt`` (skiff.runtime.logopts): LogConfig, dockerd's texts at
create and at start (compared with docker 20.10), and json-file rotation as dockerd's
LogFile rotates (before an entry, once the file has reached max-size)."""

from __future__ import annotations

import os

import pytest

from skiff.errors import InvalidArgument, SkiffError
from skiff.runtime import logopts


def test_log_config_shapes():
    assert logopts.log_config("", ()) == {"Type": "json-file", "Config": {}}
    assert logopts.log_config("none", ()) == {"Type": "none", "Config": {}}
    # a Go map: keys sorted
    assert logopts.log_config("json-file", ["max-size=1k", "max-file=3"]) == {
        "Type": "json-file", "Config": {"max-file": "3", "max-size": "1k"}}
    assert list(logopts.log_config("", ["max-size=1k", "max-file=3"])["Config"]) == [
        "max-file", "max-size"]


@pytest.mark.parametrize(("driver", "opts", "text"), [
    ("foo", (), 'error looking up logging plugin foo: plugin "foo" not found'),
    ("none", ("max-size=1k",), "invalid logging opts for driver none"),
    ("", ("foo=bar",), "unknown log opt 'foo' for json-file log driver"),
    ("json-file", ("foo",), "unknown log opt 'foo' for json-file log driver"),
])
def test_create_refusals(driver, opts, text):
    with pytest.raises(InvalidArgument) as e:
        logopts.log_config(driver, opts)
    assert str(e.value) == text


@pytest.mark.parametrize(("conf", "why"), [
    ({"max-size": "bad"}, "invalid size: 'bad'"),
    ({"max-size": "-1"}, "invalid size: '-1'"),
    ({"max-size": "0"}, "max-size must be a positive number"),
    ({"max-file": "0"}, "max-file cannot be less than 1"),
    ({"max-file": "x"}, 'strconv.Atoi: parsing "x": invalid syntax'),
    ({"compress": "true"}, "compress cannot be true when max-file is less than 2 or "
                           "max-size is not set"),
])
def test_start_refusals(conf, why):
    with pytest.raises(SkiffError) as e:
        logopts.rotation({"Type": "json-file", "Config": conf})
    assert str(e.value) == f"failed to initialize logging driver: {why}"


def test_rotation_settings():
    assert logopts.rotation({"Type": "json-file", "Config": {}}) == (-1, 1, False)
    assert logopts.rotation({"Config": {"max-size": "1k", "max-file": "3"}}) == (1000, 3, False)
    assert logopts.rotation({"Config": {"max-size": "10m"}}) == (10_000_000, 1, False)
    assert logopts.rotation({"Config": {"max-file": "2"}}) == (-1, 2, False)
    assert logopts.rotation({"Config": {"max-size": "1k", "max-file": "2", "compress": "true"}}) \
        == (1000, 2, True)
    assert logopts.rotation({"Config": {"compress": "false"}}) == (-1, 1, False)


def _entry(i: int) -> bytes:
    return b'{"log":"line-%03d\\n","stream":"stdout","time":"t"}\n' % i  # 50 bytes


SIZE = 2 * 50 + 1  # the third entry reaches it: three a file


def test_rotator_rotates_before_an_entry_and_keeps_max_files(tmp_path):
    path = str(tmp_path / "c-json.log")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    assert len(_entry(1)) == 50
    r = logopts.Rotator(path, fd, SIZE, 3)
    r.write(b"".join(_entry(i) for i in range(1, 8)))  # one batch, cut per entry
    r.write(_entry(8))
    os.close(r.fd)
    files = logopts.log_files(path)
    assert files == [path + ".2", path + ".1", path]
    lines = [open(p, "rb").read().splitlines() for p in files]
    assert [len(x) for x in lines] == [3, 3, 2]
    assert lines[0][0] == _entry(1).rstrip(b"\n")
    assert not os.path.exists(path + ".3")
    # one more past the third file: the oldest goes
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    r = logopts.Rotator(path, fd, SIZE, 3)
    r.write(_entry(9) + _entry(10))
    os.close(r.fd)
    lines = [open(p, "rb").read().splitlines() for p in logopts.log_files(path)]
    assert [x[0] for x in lines] == [_entry(i).rstrip(b"\n") for i in (4, 7, 10)]


def test_rotator_with_one_file_empties_it(tmp_path):
    path = str(tmp_path / "c-json.log")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    r = logopts.Rotator(path, fd, SIZE, 1)
    r.write(b"".join(_entry(i) for i in range(1, 6)))
    os.close(r.fd)
    assert logopts.log_files(path) == [path]
    assert open(path, "rb").read() == _entry(4) + _entry(5)


def test_cli_flags_reach_host_config(skiff_root):
    from skiff.cli import container
    from skiff.cli.context import Context
    from skiff.config import Config
    from skiff.runtime.options import host_config

    ctx = Context(Config.from_env())
    a = container._parse_create_args(
        ctx, ["--log-opt", "max-size=1k", "--log-opt", "max-file=3", "bb:1"], "skiff create",
        "", run=False)
    assert host_config(container._options(a))["LogConfig"] == {
        "Type": "json-file", "Config": {"max-file": "3", "max-size": "1k"}}
    a = container._parse_create_args(ctx, ["--log-driver", "none", "bb:1"], "skiff create",
                                     "", run=False)
    assert host_config(container._options(a))["LogConfig"] == {"Type": "none", "Config": {}}


@pytest.mark.parametrize(("argv", "err"), [
    (["--log-driver", "foo"], 'skiff: error looking up logging plugin foo: plugin "foo" not found\n'),
    (["--log-driver", "none", "--log-opt", "max-size=1k"],
     "skiff: invalid logging opts for driver none\n"),
    (["--log-opt", "foo=bar"], "skiff: unknown log opt 'foo' for json-file log driver\n"),
])
def test_cli_refusals(skiff_root, cli, argv, err):
    res = cli("create", *argv, "bb:1", "true")
    assert (res.code, res.out, res.err) == (125, "", err)


def test_rotator_compresses_rotated_files(tmp_path):
    """compress=true: the rotated files are <log>.1.gz ... (docker 20.10's names), read
    back oldest first."""
    path = str(tmp_path / "c-json.log")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    r = logopts.Rotator(path, fd, SIZE, 3, compress=True)
    r.write(b"".join(_entry(i) for i in range(1, 11)))
    os.close(r.fd)
    assert logopts.log_files(path) == [path + ".2.gz", path + ".1.gz", path]
    assert sorted(os.listdir(tmp_path)) == ["c-json.log", "c-json.log.1.gz", "c-json.log.2.gz"]
    assert [e.text for e in logopts.read(path)] == [f"line-{i:03d}\n" for i in range(4, 11)]


def test_local_driver_config_and_defaults():
    assert logopts.log_config("local", ()) == {"Type": "local", "Config": {}}
    with pytest.raises(InvalidArgument) as e:
        logopts.log_config("local", ("foo=1",))
    assert str(e.value) == "unknown log opt 'foo' for log driver local"
    # dockerd's local defaults: 20 MiB, 5 files, compressed; max-size in decimal units
    assert logopts.rotation({"Type": "local", "Config": {}}) == (20 * 1024 * 1024, 5, True)
    assert logopts.rotation({"Type": "local", "Config": {"max-size": "1k", "compress": "false"}}) \
        == (1000, 5, False)


def test_local_frames_as_dockerd_writes_them():
    from skiff.runtime import locallog

    # docker 20.10's frame for `echo hi` on stdout: length 0x16, the LogEntry (source
    # "stdout", time_nano, line "hi"), the length again
    t = 1_796_063_943_894_754_533
    frame = locallog.encode("stdout", t, b"hi")
    assert frame[:4] == frame[-4:] == (len(frame) - 8).to_bytes(4, "big") == b"\0\0\0\x16"
    assert frame[4:12] == b"\x0a\x06stdout"
    assert frame[-8:-4] == b"\x1a\x02hi"
    assert locallog.frames(frame + frame[:5]) == ([("stdout", t, b"hi", False)], len(frame))
    part = locallog.encode("stdout", t, b"part", True, "ab" * 32, 1)
    assert locallog.decode(part[4:-4]) == ("stdout", t, b"part", True)
