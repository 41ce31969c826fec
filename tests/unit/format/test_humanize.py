"""go-units sizes and durations, docker ps status texts, RFC 3339 with nanoseconds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skiff.errors import InvalidArgument
from skiff.format.humanize import (
    bytes_size,
    format_rfc3339,
    format_rfc3339_ns,
    human_duration,
    human_size,
    parse_rfc3339,
    parse_rfc3339_ns,
    parse_size,
    prune_report,
    ram_in_bytes,
    status_text,
    time_ago,
)


@pytest.mark.parametrize("n, want", [
    (0, "0B"), (1, "1B"), (999, "999B"), (1000, "1kB"), (4100, "4.1kB"),
    (1234567, "1.23MB"), (4264960, "4.26MB"), (77_900_000, "77.9MB"), (142_000_000, "142MB"),
    (999_999, "1e+03kB"),  # Go's %.3g, as Docker shows it
    (10**9, "1GB"), (2.5e12, "2.5TB"),
])
def test_human_size_three_digits(n: float, want: str) -> None:
    assert human_size(n) == want


def test_human_size_precision_four_and_bytes_size() -> None:
    assert human_size(16_430_000_000, 4) == "16.43GB"
    assert bytes_size(0) == "0B"
    assert bytes_size(1023) == "1023B"
    assert bytes_size(1024) == "1KiB"
    assert bytes_size(1572864) == "1.5MiB"
    assert bytes_size(123456789) == "117.7MiB"


@pytest.mark.parametrize("sec, want", [
    (0, "Less than a second"), (0.99, "Less than a second"), (1, "1 second"),
    (3, "3 seconds"), (59, "59 seconds"), (60, "About a minute"), (119, "About a minute"),
    (120, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"), (5399, "About an hour"),
    (5400, "2 hours"), (3 * 3600, "3 hours"), (47 * 3600, "47 hours"), (48 * 3600, "2 days"),
    (13 * 86400, "13 days"), (14 * 86400, "2 weeks"), (21 * 86400, "3 weeks"),
    (60 * 86400, "2 months"), (120 * 86400, "4 months"), (729 * 86400, "24 months"),
    (730 * 86400, "2 years"), (3 * 365 * 86400, "3 years"),
])
def test_human_duration(sec: float, want: str) -> None:
    assert human_duration(sec) == want


def test_time_ago() -> None:
    assert time_ago(1000, now=1003) == "3 seconds ago"
    assert time_ago(1000, now=1000.2) == "Less than a second ago"
    assert time_ago("2024-01-01T00:00:00Z", now=1704067200 + 7200) == "2 hours ago"


@pytest.mark.parametrize("args, want", [
    (("running", 0, 1000, None, 1003), "Up 3 seconds"),
    (("running", 0, 1000, None, 1000.5), "Up Less than a second"),
    (("paused", 0, 1000, None, 1120), "Up 2 minutes (Paused)"),
    (("restarting", 1, 900, 1000, 1002), "Restarting (1) 2 seconds ago"),
    (("exited", 0, 900, 1000, 1003), "Exited (0) 3 seconds ago"),
    (("exited", 137, 900, 1000, 1000 + 3 * 3600), "Exited (137) 3 hours ago"),
    (("created", 0, None, None, 1003), "Created"),
    (("exited", 0, "0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", 1003), "Created"),
    (("removing", 0, 900, 1000, 1003), "Removal In Progress"),
    (("dead", 0, 900, 1000, 1003), "Dead"),
])
def test_status_text(args: tuple, want: str) -> None:
    assert status_text(*args) == want


def test_status_text_health() -> None:
    assert status_text("running", 0, 1000, None, 1005, health="healthy") == "Up 5 seconds (healthy)"
    assert status_text("running", 0, 1000, None, 1005, health="starting") == (
        "Up 5 seconds (health: starting)")


def test_rfc3339_nano_round_trip() -> None:
    ns = 1704067200123456789
    assert format_rfc3339_ns(ns) == "2024-01-01T00:00:00.123456789Z"
    assert parse_rfc3339_ns("2024-01-01T00:00:00.123456789Z") == ns
    assert format_rfc3339_ns(1704067200_120000000) == "2024-01-01T00:00:00.12Z"
    assert format_rfc3339(1704067200) == "2024-01-01T00:00:00Z"
    assert format_rfc3339(1704067200.5) == "2024-01-01T00:00:00.5Z"
    assert parse_rfc3339_ns("2024-01-01T01:00:00.5+01:00") == 1704067200_500000000
    assert parse_rfc3339("1970-01-01T00:00:01Z") == 1.0
    assert format_rfc3339_ns(parse_rfc3339_ns("0001-01-01T00:00:00Z")) == "0001-01-01T00:00:00Z"
    with pytest.raises(InvalidArgument):
        parse_rfc3339_ns("2024-13-01T00:00:00Z")
    with pytest.raises(InvalidArgument):
        parse_rfc3339_ns("yesterday")


def test_parse_sizes_like_go_units() -> None:
    assert ram_in_bytes("512m") == 512 * 1024 * 1024
    assert ram_in_bytes("1.5g") == 1610612736
    assert ram_in_bytes("64MiB") == 64 * 1024 * 1024
    assert ram_in_bytes("10") == 10
    assert parse_size("32kb") == 32000
    assert parse_size("1.5 GB") == 1_500_000_000
    with pytest.raises(InvalidArgument, match="invalid suffix: 'x'"):
        ram_in_bytes("12x")
    with pytest.raises(InvalidArgument):
        parse_size("-1")


@given(st.integers(-62135596800 * 10**9, 253402300799 * 10**9 + 999999999))
def test_rfc3339_ns_round_trip_any_instant(ns: int) -> None:
    s = format_rfc3339_ns(ns)
    assert parse_rfc3339_ns(s) == ns
    assert s.endswith("Z") and len(s) <= len("0001-01-01T00:00:00.123456789Z")



def test_prune_report_as_docker_prints_it() -> None:
    assert prune_report("Deleted Volumes:", [], 0) == "Total reclaimed space: 0B\n"
    assert prune_report("Deleted Images:", ["untagged: a:1", "deleted: sha256:ab"], 4_260_000) == (
        "Deleted Images:\nuntagged: a:1\ndeleted: sha256:ab\n\nTotal reclaimed space: 4.26MB\n")
