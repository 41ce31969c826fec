"""``builder prune --filter``: docker 20.10's texts and exit codes (skiff adds ``skiff: ``)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("flt,code,err", [
    ("bogus", 125, 'invalid argument "bogus" for "--filter" flag: bad format of filter '
                   "(expected name=value)\nSee 'skiff builder prune --help'."),
    ("bogus=1", 1, "failed to prune build cache: Invalid filter 'bogus'"),
    ("until=xx", 1, "failed to prune build cache: \"until\" filter expects a duration "
                    "(e.g., '24h'): time: invalid duration \"xx\""),
    ("until=1d", 1, "failed to prune build cache: \"until\" filter expects a duration "
                    "(e.g., '24h'): time: unknown unit \"d\" in duration \"1d\""),
])
def test_refused_as_docker(cli, flt, code, err):
    r = cli("builder", "prune", "-f", "--filter", flt)
    assert (r.code, r.out, r.err) == (code, "", f"skiff: {err}\n")


def test_until_takes_go_durations(cli):
    r = cli("builder", "prune", "-f", "--filter", "until=1h30m")
    assert (r.code, r.out) == (0, "Total reclaimed space: 0B\n")
