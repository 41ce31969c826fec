"""The ``run --network none`` start path imports neither skiff.network.glue nor
dataclasses (with inspect, ast, dis, tokenize: ~10 ms of every run), and the network
settings it records without glue are glue's own (runperf3)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from skiff.network import glue
from skiff.runtime.containers import _builtin_settings


@pytest.mark.parametrize("mode", ["none", "host"])
def test_builtin_settings_are_glues(mode):
    assert _builtin_settings(mode) == glue.create_settings(mode)


def test_none_network_start_path_imports_no_glue_nor_dataclasses():
    code = (
        "import sys\n"
        "from skiff.runtime import containers, monitor, mounts, spec, options, etcfiles\n"
        "from skiff.cli import container\n"
        "import skiff.snapshots\n"
        "o = options.CreateOptions(image='bb:1', network='none', autoremove=True)\n"
        "host = options.host_config(o)\n"
        "assert host['NetworkMode'] == 'none' and host['PortBindings'] == {}\n"
        "mounts.volatile([skiff.snapshots.Mount('overlay', 'overlay', ('workdir=/nonexistent',))])\n"
        "print(','.join(m for m in ('dataclasses', 'skiff.network.glue', 'inspect')"
        " if m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == ""


def test_usual_run_command_line_imports_no_argparse():
    """`run`'s usual command lines are parsed by skiff.cli.fastargs: argparse (and gettext,
    which compiles a regex at import) stay out of the process; a --help still gets
    argparse's help."""
    code = (
        "import sys\n"
        "from skiff.cli import container\n"
        "from skiff.cli.context import Context\n"
        "from skiff.config import Config\n"
        "a = container._parse_create_args(Context(Config.from_env()), ['--rm', '-it', '-e',"
        " 'A=1', 'bb:1', 'sh'], 'skiff run', '', run=True)\n"
        "assert (a.rm, a.tty, a.env, a.image, a.command) == (True, True, ['A=1'], 'bb:1',"
        " ['sh'])\n"
        "print(','.join(m for m in ('argparse', 'gettext', 'contextlib') if m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == ""
