"""The CLI frame: help, unknown commands and flags, exit codes."""

from __future__ import annotations

import subprocess
import sys

from tests.importcheck import imported


def test_help_lists_commands(cli):
    r = cli("--help")
    assert r.code == 0
    assert "Usage:  skiff [OPTIONS] COMMAND" in r.out
    assert "version" in r.out


def test_unknown_command_is_one_line_exit_125(cli):
    r = cli("frobnicate")
    assert r.code == 125
    assert r.err == "skiff: unknown command: frobnicate: See 'skiff --help'.\n"


def test_unknown_global_flag(cli):
    r = cli("--bogus", "version")
    assert r.code == 125
    assert r.err.startswith("skiff: unknown flag: --bogus")


def test_unknown_command_flag_exit_125(cli):
    r = cli("version", "--nope")
    assert (r.code, r.err) == (125, "skiff: unknown flag: --nope\nSee 'skiff version --help'.\n")


def test_version(cli, skiff_root):
    r = cli("version")
    assert r.code == 0
    assert r.out.startswith("skiff version 0.1.0\n")
    assert f"Root:     {skiff_root}" in r.out


def test_help_imports_no_heavy_modules():
    """`skiff --help` must not pay for sqlite3, tarfile, json, http or ssl (start-up time)."""
    code = ("from skiff.cli.main import main; import io, contextlib\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(['--help'])")
    assert imported(code, ("sqlite3", "tarfile", "json", "http.client", "ssl", "argparse")) == []


def test_closed_stdout_pipe_is_quiet(tmp_path):
    """`skiff ... | head -c1`: a closed pipe is no error (no traceback, no message).

    The output must outgrow the pipe buffer (64 KiB) for the write to hit EPIPE.
    """
    df = tmp_path / "Dockerfile"
    df.write_text("FROM busybox\n" + "".join(f"RUN echo {i}\n" for i in range(5000)))
    r = subprocess.run(f"'{sys.executable}' -m skiff dockerfile parse --format json -f '{df}'"
                       " | head -c1", shell=True, capture_output=True, text=True)
    assert r.stdout == "{" or r.stdout == "["
    assert r.stderr == ""
