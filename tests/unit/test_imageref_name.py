"""imageref._official_name by hand equals the regex it replaced (distribution/reference's
one-component name and tag grammar), so `run` compiles no regex."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.runtime.imageref import _official_name

_RE = re.compile(r"([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)(?::(\w[\w.-]{0,127}))?", re.ASCII)


def _by_regex(s: str) -> str | None:
    if len(s) > 128:
        return None
    m = _RE.fullmatch(s)
    if m is None or (len(s) == 64 and m.group(2) is None and all(c in "0123456789abcdef" for c in s)):
        return None
    return f"docker.io/library/{m.group(1)}:{m.group(2) or 'latest'}"


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="ab09._-:A/@Z é", max_size=12))
def test_matches_the_regex(s):
    assert _official_name(s) == _by_regex(s)


def test_cases():
    for s in ["bb:1", "busybox", "a__b", "a___b", "a-.b", "a---b:x", "a:", "a:-x", "a:_x",
              "a:x" + "y" * 127, "a:x" + "y" * 128, "0" * 64, "0" * 64 + ":1", "a..b", "_a"]:
        assert _official_name(s) == _by_regex(s), s
