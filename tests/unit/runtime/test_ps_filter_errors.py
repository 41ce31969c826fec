"""``skiff ps --filter`` values dockerd refuses (observed on dockerd 20.10.24 with the
docker 28.2 CLI): ``Invalid filter 'bogus'``, ``Invalid filter 'status=Exited'`` (status
values are lower case), ``strconv.Atoi: parsing "abc": invalid syntax`` for ``exited``;
each exits 1 with nothing listed."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("flt,err", [
    ("bogus=1", "skiff: Invalid filter 'bogus'\n"),
    ("status=Exited", "skiff: Invalid filter 'status=Exited'\n"),
    ("status=bogus", "skiff: Invalid filter 'status=bogus'\n"),
    ("exited=abc", 'skiff: strconv.Atoi: parsing "abc": invalid syntax\n'),
])
def test_refused_filters_exit_1(cli, skiff_root, flt, err):
    r = cli("ps", "-a", "--filter", flt)
    assert (r.code, r.out, r.err) == (1, "", err)


def test_accepted_filters_list_nothing_in_an_empty_store(cli, skiff_root):
    r = cli("ps", "-a", "--filter", "status=exited", "--filter", "exited=0", "--format",
            "{{.Names}}")
    assert (r.code, r.out, r.err) == (0, "", "")
