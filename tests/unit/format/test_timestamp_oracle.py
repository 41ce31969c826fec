"""Differential tests: parse_timestamp_ns against Docker's own timetypes.GetTimestamp.

timeoracle/main.go answers with github.com/docker/docker/api/types/time (v28.5.2), the
function behind ``docker logs --since``, ``ps --filter until=`` and ``image prune --filter
until=``. Building it needs Go and the module proxy (or a filled module cache); the tests
skip otherwise.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from skiff.errors import InvalidArgument
from skiff.format.humanize import parse_timestamp_ns
from tests.unit.format.goproc import go_oracle

pytestmark = pytest.mark.requires_peer("go")

NOW = 1_700_000_123_456_789_000
EXAMPLES = int(os.environ.get("SKIFF_FMT_EXAMPLES", "150"))


@pytest.fixture(scope="module")
def get_timestamp(tmp_path_factory):
    yield from go_oracle(tmp_path_factory, "timeoracle", "GetTimestamp")


def _ns(out: str) -> int:
    """GetTimestamp's answer read as the daemon reads it (Go's strconv.ParseInt per part)."""
    whole, _, frac = out.partition(".")
    return int(whole) * 1_000_000_000 + (int(float(int(frac)) * 10.0 ** (9 - len(frac))) if frac else 0)


def _same(get_timestamp, value: str) -> None:
    want = get_timestamp(s=value, now=NOW)
    try:
        got = parse_timestamp_ns(value, NOW)
    except InvalidArgument as e:
        assert want["err"], f"{value!r}: skiff refused ({e}), Docker gives {want['out']}"
        if want["err"].startswith("failed to parse"):
            assert str(e) == want["err"]
        return
    assert not want["err"], f"{value!r}: skiff gives {got}, Docker refuses: {want['err']}"
    assert got == _ns(want["out"]), value


CASES = ["10m", "1h30m", "-5m", "1.5s", "90s", "0", "0s", "1ms", "300us", "2h45m30.5s",
         "1700000000", "1700000000.5", "1700000000.123456789", "17", "2024-01-02", "2024-01-02T03",
         "2024-01-02T03:04", "2024-01-02T03:04:05", "2024-01-02T03:04:05Z",
         "2024-01-02T03:04:05.123+01:00", "2024-01-02T03:04:05.5", "2024-01-02Z",
         "2024-01-02T03:04:05-07:00", "2024-01-02T03Z", "2024-01-02T03:04+02:00", "bogus", "",
         "2024-13-01", "2024-02-30", "10x", "1.2.3", "-1", "+5m", "+1", "1.+5", "1.", ".5", "99999999999999999999", "1.1234567891", "2024-01-02T03:04:05+0100"]


@pytest.mark.parametrize("value", CASES)
def test_known_values_same_as_docker(get_timestamp, value: str) -> None:
    _same(get_timestamp, value)


PIECES = st.sampled_from(["1", "2", "10", "59", "2024", "-", ":", "T", "Z", "+", ".", "5",
                          "h", "m", "s", "ms", "us", "01", "12", "30", "00", "z", " "])


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(PIECES, max_size=10).map("".join))
@example("2024-01-02T03:04:05.000000001Z")
def test_generated_values_same_as_docker(get_timestamp, value: str) -> None:
    _same(get_timestamp, value)
