"""Differential tests: skiff.format.humanize against github.com/docker/go-units itself.

unitsoracle/main.go answers with go-units v0.5.0 (the version docker/cli vendors). Building
it needs the Go toolchain and the module (Go module proxy or a filled module cache); the
tests skip otherwise.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.errors import InvalidArgument
from skiff.format.humanize import bytes_size, human_duration, human_size, parse_size, ram_in_bytes
from tests.unit.format.goproc import go_oracle

pytestmark = pytest.mark.requires_peer("go")

EXAMPLES = int(os.environ.get("SKIFF_FMT_EXAMPLES", "150"))


@pytest.fixture(scope="module")
def units(tmp_path_factory):
    yield from go_oracle(tmp_path_factory, "unitsoracle", "go-units")


SIZES = st.one_of(st.integers(0, 10**22), st.floats(0, 1e25, allow_nan=False),
                  st.sampled_from([999, 1000, 999_499, 999_500, 999_999, 1023, 1024,
                                   1_048_575, 1_048_576, 4_264_960]))


@settings(max_examples=EXAMPLES, deadline=None)
@given(SIZES)
def test_sizes_same_as_go_units(units, n: float) -> None:
    assert human_size(n) == units(op="size", n=n)["out"]
    assert human_size(n, 4) == units(op="size4", n=n)["out"]
    assert bytes_size(n) == units(op="bytes", n=n)["out"]


DURATIONS = st.one_of(
    st.floats(0, 12 * 365 * 86400, allow_nan=False),
    st.integers(0, 12 * 365 * 86400),
    st.sampled_from([0.999, 1, 59.99, 60, 119.5, 3599.9, 5399.9, 5400, 48 * 3600 - 1800,
                     14 * 86400 - 1, 60 * 86400 - 1, 730 * 86400 - 1, 730 * 86400]))


@settings(max_examples=EXAMPLES, deadline=None)
@given(DURATIONS)
def test_durations_same_as_go_units(units, sec: float) -> None:
    assert human_duration(sec) == units(op="duration", n=sec)["out"]


SIZE_TEXT = st.builds(
    lambda num, sp, unit, i, b: f"{num}{sp}{unit}{i}{b}",
    st.one_of(st.integers(0, 10**6).map(str), st.sampled_from(["1.5", "0.25", "1.2.3", "", "-1",
                                                              "12x", " 3"])),
    st.sampled_from(["", " ", "  "]), st.sampled_from(["", "k", "K", "m", "M", "g", "G", "t",
                                                      "p", "P", "e", "x"]),
    st.sampled_from(["", "i", "I"]), st.sampled_from(["", "b", "B"]))


@settings(max_examples=EXAMPLES, deadline=None)
@given(SIZE_TEXT)
def test_size_parsing_same_as_go_units(units, text: str) -> None:
    for op, fn in (("ram", ram_in_bytes), ("fromhuman", parse_size)):
        want = units(op=op, s=text)
        if want["err"] or want["n"] < 0:  # Go's int64() overflow gives a negative size
            with pytest.raises(InvalidArgument):
                fn(text)
        else:
            assert fn(text) == want["n"], (op, text)
