"""Properties of the registry's parsing: byte ranges and repository names (hypothesis)."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.registry.server.blobs import _parse_range
from skiff.registry.storage import valid_name


@given(size=st.integers(1, 10_000), a=st.integers(0, 12_000), b=st.integers(0, 12_000))
def test_range_matches_rfc9110_slicing(size, a, b):
    got = _parse_range(f"bytes={a}-{b}", size)
    if a >= size or b < a:
        assert got is None
    else:
        assert got == (a, min(b + 1, size))


@given(size=st.integers(0, 10_000), n=st.integers(0, 12_000))
def test_suffix_range(size, n):
    got = _parse_range(f"bytes=-{n}", size)
    assert got == ((max(size - n, 0), size) if n > 0 and size > 0 else None)


@settings(max_examples=300)
@given(st.text(alphabet="abz09._-/%~\\", min_size=1, max_size=40))
def test_valid_names_stay_inside_the_repositories_directory(name):
    if not valid_name(name):
        return
    base = Path("/srv/reg/repositories")
    resolved = Path(os.path.normpath(base / name))
    assert resolved.is_relative_to(base) and resolved != base
    assert all(part and part[0] not in "._-" for part in name.split("/"))
