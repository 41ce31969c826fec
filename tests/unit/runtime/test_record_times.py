"""Record times without datetime (runperf4): records.now_rfc3339 and the reader of its
text give what humanize's general RFC 3339 code gives, and the run path imports neither
datetime nor the sqlite3 package (its dbapi2 imports datetime)."""

from __future__ import annotations

import re
import time

import pytest

from skiff.format.humanize import format_rfc3339_ns, parse_rfc3339
from skiff.runtime import records
from tests.importcheck import imported


def test_now_is_go_rfc3339nano_utc(monkeypatch):
    for ns in (1704067200123456789, 1704067200000000000, 1704067200500000000,
               -62135596800 * 10**9, 951782400 * 10**9 + 7):
        monkeypatch.setattr(time, "time_ns", lambda ns=ns: ns)
        assert records.now_rfc3339() == format_rfc3339_ns(ns)
    monkeypatch.setattr(time, "time_ns", lambda: 1704067200123456789)
    assert records.now_rfc3339() == "2024-01-01T00:00:00.123456789Z"


@pytest.mark.parametrize("text, secs", [
    ("2024-01-01T00:00:00Z", 1704067200.0),
    ("2024-02-29T23:59:59.5Z", 1709251199.5),
    ("1970-01-01T00:00:00.000000001Z", 1e-9),
    ("1969-12-31T23:59:59Z", -1.0),
    ("2000-03-01T00:00:00Z", 951868800.0),
    ("2100-03-01T12:30:00Z", 4107587400.0),
])
def test_unix_reads_record_times(text, secs):
    assert records._unix(text) == secs == parse_rfc3339(text)


@pytest.mark.parametrize("text", ["2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
                                  "2024-01-01T24:00:00Z",
                                  "2100-02-29T00:00:00Z", "2024-01-0xT00:00:00Z"])
def test_unix_of_an_impossible_time_is_none(text):
    assert records._unix(text) is None


def test_unix_other_offsets_and_leap_seconds_go_to_humanize():
    assert records._unix("2024-01-01T01:00:00+01:00") == 1704067200.0
    assert records._unix("2024-01-01T00:00:60Z") == parse_rfc3339("2024-01-01T00:00:60Z")
    assert records._unix(records.ZERO_TIME) is None


def test_records_and_metadata_import_no_datetime():
    code = ("from skiff import metadata\nfrom skiff.runtime import records, jsonlog\n"
            "import tempfile, os\nd = tempfile.mkdtemp()\n"
            "db = metadata.connect(os.path.join(d, 'm.db'))\n"
            "records.now_rfc3339(); records._unix('2024-01-01T00:00:00Z')")
    assert imported(code, ("datetime", "sqlite3")) == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", records.now_rfc3339())
