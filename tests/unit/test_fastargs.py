"""skiff.cli.fastargs: the usual run/create command lines give exactly argparse's namespace,
and whatever it does not take is left to argparse (so errors stay argparse's)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.cli import container, fastargs
from skiff.cli.argparser import ArgumentParser
from skiff.errors import SkiffError


def _argparse(argv: list[str], run: bool = True):
    p = ArgumentParser(prog="skiff run", add_help=False)
    p.add_argument("--help", action="help")
    if run:
        container._add_run_flags(p)
    container._add_create_flags(p)
    return p.parse_args(argv)


def _table(run: bool = True) -> fastargs.Table:
    t = fastargs.Table()
    if run:
        container._add_run_flags(t)
    container._add_create_flags(t)
    return t


USUAL = [
    ["--rm", "bb:1", "/bin/true"],
    ["--rm", "--network", "none", "bb:1", "/bin/true"],
    ["-it", "--rm", "-e", "A=1", "-eB=2", "--env=C=3", "-v", "/tmp:/x:ro", "bb:1", "sh"],
    ["-d", "--name", "web", "-p", "8080:80", "--restart", "always", "bb:1", "httpd", "-f"],
    ["--cpu-shares", "512", "--memory", "64m", "--pids-limit", "10", "bb:1"],
    ["-dit", "-u", "1000:1000", "-w", "/tmp", "bb:1", "sh", "-c", "echo --rm -e x"],
    ["-ite", "X=1", "bb:1", "env"],
    ["--read-only", "--tmpfs", "/run", "--cap-drop", "ALL", "bb:1", "x", "-y"],
    ["-h", "myhost", "--add-host", "a:1.2.3.4", "bb:1", "-"],
    # "--" ends the flags; after IMAGE it is the command's, verbatim (docker runs "--")
    ["--rm", "--", "bb:1"], ["--rm", "--", "-x", "echo"], ["bb:1", "--", "echo", "hi"],
    ["bb:1", "echo", "--", "x"], ["--name=--", "bb:1"],
]


@pytest.mark.parametrize("argv", USUAL)
def test_usual_command_lines_parse_fast_to_argparses_namespace(argv):
    fast = fastargs.parse(_table(), argv)
    assert fast is not None  # (the fast path is taken: no argparse on `run`)
    assert vars(fast) == vars(_argparse(argv))


@pytest.mark.parametrize("argv", [
    ["--help"], ["--rm"], [], ["--netw", "none", "bb:1"], ["--name"], ["--name", "-x", "bb:1"],
    ["--cpu-shares", "lots", "bb:1"], ["--rm=1", "bb:1"], ["-e=A", "bb:1"],
    ["--pids-limit", "-1", "bb:1"], ["-Z", "bb:1"],
])
def test_what_fastargs_leaves_to_argparse(argv):
    assert fastargs.parse(_table(), argv) is None


def test_create_has_no_run_only_flags():
    assert fastargs.parse(_table(run=False), ["-d", "bb:1"]) is None
    ns = fastargs.parse(_table(run=False), ["--rm", "bb:1"])
    assert ns is not None and not hasattr(ns, "detach")


_T = _table()
_LONGS = sorted(k for k in _T.opts if k.startswith("--"))
_SHORTS = sorted(k for k in _T.opts if not k.startswith("--"))
_VALUE = st.sampled_from(["", "x", "A=1", "-x", "--rm", "1", "-1", "=", "a b", "bb:1", "--"])


@st.composite
def _argv(draw):
    argv: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        form = draw(st.integers(0, 3))
        if form == 0:
            argv.append(draw(st.sampled_from(_LONGS)))
            if draw(st.booleans()):
                argv.append(draw(_VALUE))
        elif form == 1:
            argv.append(draw(st.sampled_from(_LONGS)) + "=" + draw(_VALUE))
        elif form == 2:
            argv.append("-" + "".join(draw(st.lists(st.sampled_from([s[1] for s in _SHORTS]),
                                                    min_size=1, max_size=3))) + draw(_VALUE))
        else:
            argv.append(draw(st.sampled_from(_SHORTS)))
            argv.append(draw(_VALUE))
    if draw(st.booleans()):
        argv.append(draw(st.sampled_from(["bb:1", "-", "x"])))
        argv.extend(draw(st.lists(_VALUE, max_size=3)))
    return argv


@settings(max_examples=400, deadline=None)
@given(_argv())
def test_fastargs_never_disagrees_with_argparse(argv):
    fast = fastargs.parse(_T, argv)
    try:
        slow = vars(_argparse(argv))
    except (SkiffError, SystemExit):
        slow = None
    if fast is not None:
        assert vars(fast) == slow
