"""``--log-driver``/``--log-opt`` with real runc (the monitor writes and rotates the
json-file log; ``logs`` reads across the rotated files), as docker 20.10 does the same
commands (compared with a docker 20.10 daemon)."""

from __future__ import annotations

import json
import os

import pytest

from tests.integration.runtime_support import inspect, store
from tests.integration.test_container_lifecycle import _main

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]

LINES = "for i in $(seq 1 60); do echo line-$i-aaaaaaaaaaaaaaaaaaaaaaaa; done"


@pytest.fixture(scope="module")
def root(busybox_tar):
    yield from store(busybox_tar)


_inspect = inspect


def test_json_file_rotation_and_logs_across_files(root):
    res = _main(root, "run", "--name", "lg-rot", "--network", "none", "--log-opt", "max-size=1k",
                "--log-opt", "max-file=3", "bb:1", "sh", "-c", LINES)
    assert res.code == 0, res
    assert res.out.splitlines()[-1] == "line-60-aaaaaaaaaaaaaaaaaaaaaaaa"  # attached: all
    rec = _inspect(root, "lg-rot")
    assert rec["HostConfig"]["LogConfig"] == {"Type": "json-file",
                                              "Config": {"max-file": "3", "max-size": "1k"}}
    log = rec["LogPath"]
    assert log == str(root / "containers" / rec["Id"] / f"{rec['Id']}-json.log")
    # ~103-byte entries: the 10th reaches 1000 bytes, the 11th goes to a new file (docker:
    # three files of 10 lines, the 30 last lines kept)
    names = sorted(n for n in os.listdir(os.path.dirname(log)) if n.startswith(rec["Id"]))
    assert names == [f"{rec['Id']}-json.log", f"{rec['Id']}-json.log.1", f"{rec['Id']}-json.log.2"]
    for suffix, first in (("", 51), (".1", 41), (".2", 31)):
        with open(log + suffix) as f:
            lines = [json.loads(x)["log"] for x in f]
        assert lines == [f"line-{i}-aaaaaaaaaaaaaaaaaaaaaaaa\n" for i in range(first, first + 10)]
    out = _main(root, "logs", "lg-rot").out
    assert out == "".join(f"line-{i}-aaaaaaaaaaaaaaaaaaaaaaaa\n" for i in range(31, 61))
    assert _main(root, "logs", "--tail", "2", "lg-rot").out == (
        "line-59-aaaaaaaaaaaaaaaaaaaaaaaa\nline-60-aaaaaaaaaaaaaaaaaaaaaaaa\n")


def test_none_driver_keeps_no_log(root):
    res = _main(root, "run", "--name", "lg-none", "--network", "none", "--log-driver", "none",
                "bb:1", "echo", "hi")
    assert (res.code, res.out) == (0, "hi\n")
    rec = _inspect(root, "lg-none")
    assert rec["LogPath"] == ""
    assert rec["HostConfig"]["LogConfig"] == {"Type": "none", "Config": {}}
    assert not [n for n in os.listdir(root / "containers" / rec["Id"]) if "json.log" in n]
    res = _main(root, "logs", "lg-none")
    assert (res.code, res.out, res.err) == (
        1, "", "skiff: configured logging driver does not support reading\n")


def test_bad_option_value_fails_the_start_and_stays_recorded(root):
    res = _main(root, "run", "--name", "lg-bad", "--network", "none", "--log-opt", "max-file=0",
                "bb:1", "true")
    assert (res.code, res.err) == (
        125, "skiff: failed to initialize logging driver: max-file cannot be less than 1\n")
    st = _inspect(root, "lg-bad")["State"]
    assert (st["Status"], st["ExitCode"], st["Error"]) == (
        "created", 128, "failed to initialize logging driver: max-file cannot be less than 1")
    assert _main(root, "rm", "lg-bad").code == 0


def test_logs_follow_goes_on_across_rotations(root):
    res = _main(root, "run", "-d", "--name", "lg-follow", "--network", "none", "--log-opt",
                "max-size=1k", "--log-opt", "max-file=2", "bb:1", "sh", "-c",
                "sleep 0.3; for i in $(seq 1 25); do echo line-$i-aaaaaaaaaaaaaaaaaaaaaaaa;"
                " sleep 0.03; done")
    assert res.code == 0, res
    every = "".join(f"line-{i}-aaaaaaaaaaaaaaaaaaaaaaaa\n" for i in range(1, 26))
    assert _main(root, "logs", "-f", "lg-follow").out == every
    # afterwards two files are left: the 15 last lines
    assert _main(root, "logs", "lg-follow").out == every[every.index("line-11-"):]
    assert _main(root, "rm", "lg-follow").code == 0


def test_attach_without_a_log(root):
    """``attach`` to a ``--log-driver none`` container still gets its output (through the
    monitor, as dockerd streams it), and its exit code."""
    res = _main(root, "run", "-d", "--name", "lg-att", "--network", "none", "--log-driver",
                "none", "bb:1", "sh", "-c", "sleep 0.7; echo hi; echo err >&2; exit 3")
    assert res.code == 0, res
    res = _main(root, "attach", "lg-att")
    assert (res.code, res.out, res.err) == (3, "hi\n", "err\n")
    assert _main(root, "rm", "lg-att").code == 0


def test_compressed_rotation(root):
    """compress=true (docker 20.10: <log>, <log>.1.gz, <log>.2.gz; logs reads them all)."""
    res = _main(root, "run", "--name", "lg-gz", "--network", "none", "--log-opt", "max-size=1k",
                "--log-opt", "max-file=3", "--log-opt", "compress=true", "bb:1", "sh", "-c",
                LINES)
    assert res.code == 0, res
    rec = _inspect(root, "lg-gz")
    names = sorted(n for n in os.listdir(os.path.dirname(rec["LogPath"]))
                   if n.startswith(rec["Id"]))
    assert names == [f"{rec['Id']}-json.log", f"{rec['Id']}-json.log.1.gz",
                     f"{rec['Id']}-json.log.2.gz"]
    out = _main(root, "logs", "lg-gz").out
    assert out == "".join(f"line-{i}-aaaaaaaaaaaaaaaaaaaaaaaa\n" for i in range(31, 61))
    assert _main(root, "rm", "lg-gz").code == 0


def test_local_driver(root):
    """--log-driver local: <bundle>/local-logs/container.log in dockerd's frames (docker
    20.10 writes the same 165 bytes for this output), LogPath "", logs as docker's; with
    max-size=1k and max-file=3: container.log.1.gz and .2.gz, the 43 last lines."""
    res = _main(root, "run", "--name", "lg-loc", "--network", "none", "--log-driver", "local",
                "bb:1", "sh", "-c", "echo hi; printf part; echo err >&2")
    assert (res.code, res.out) == (0, "hi\npart")
    rec = _inspect(root, "lg-loc")
    assert rec["LogPath"] == ""
    assert rec["HostConfig"]["LogConfig"] == {"Type": "local", "Config": {}}
    local = root / "containers" / rec["Id"] / "local-logs"
    assert os.listdir(local) == ["container.log"]
    assert os.path.getsize(local / "container.log") == 165
    res = _main(root, "logs", "lg-loc")
    assert (res.out, res.err) == ("hi\npart", "err\n")
    res = _main(root, "run", "--name", "lg-loc2", "--network", "none", "--log-driver", "local",
                "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "bb:1", "sh", "-c", LINES)
    assert res.code == 0, res
    rec = _inspect(root, "lg-loc2")
    local = root / "containers" / rec["Id"] / "local-logs"
    assert sorted(os.listdir(local)) == ["container.log", "container.log.1.gz",
                                         "container.log.2.gz"]
    out = _main(root, "logs", "lg-loc2").out
    assert out == "".join(f"line-{i}-aaaaaaaaaaaaaaaaaaaaaaaa\n" for i in range(18, 61))
    assert _main(root, "logs", "--tail", "1", "lg-loc2").out == \
        "line-60-aaaaaaaaaaaaaaaaaaaaaaaa\n"
    assert _main(root, "rm", "lg-loc", "lg-loc2").code == 0


def test_local_driver_follow(root):
    res = _main(root, "run", "-d", "--name", "lg-locf", "--network", "none", "--log-driver",
                "local", "--log-opt", "max-size=1k", "bb:1", "sh", "-c",
                "sleep 0.3; for i in $(seq 1 25); do echo line-$i-aaaaaaaaaaaaaaaaaaaaaaaa;"
                " sleep 0.03; done")
    assert res.code == 0, res
    every = "".join(f"line-{i}-aaaaaaaaaaaaaaaaaaaaaaaa\n" for i in range(1, 26))
    assert _main(root, "logs", "-f", "lg-locf").out == every
    assert _main(root, "rm", "lg-locf").code == 0
