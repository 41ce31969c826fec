"""Human units as Docker prints them (github.com/docker/go-units) and Docker's time strings.

Sizes: :func:`human_size` (decimal, ``4.26MB``: go-units ``HumanSizeWithPrecision``; docker
images/ps use precision 3, ``system df`` 4), :func:`bytes_size` (binary, ``1.5MiB``:
``BytesSize``, docker stats), :func:`parse_size` / :func:`ram_in_bytes` (``FromHumanSize`` /
``RAMInBytes``: ``512m`` → 536870912, for ``--memory``, ``--shm-size``).

Times: :func:`human_duration` (``HumanDuration``: ``About a minute``), :func:`time_ago`
(``3 seconds ago``, Docker's CREATED column), :func:`status_text` (``docker ps`` STATUS:
``Up 3 seconds``, ``Exited (0) 3 seconds ago``), :func:`format_rfc3339` /
:func:`parse_rfc3339_ns` (Go's ``time.RFC3339Nano``: ``2024-01-01T00:00:00.123456789Z``,
trailing zeros of the fraction dropped, as Docker's Created/StartedAt).

Timestamps are Unix seconds (``int``/``float``) or nanoseconds where the name says ``_ns``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

_DECIMAL = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def _size_and_unit(size: float, base: float, units: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def _g(v: float, precision: int) -> str:
    # Go's %.*g: same digits and exponent form as Python's %g for these magnitudes
    return f"{v:.{precision}g}"


def human_size(size: float, precision: int = 3) -> str:
    """Decimal size with ``precision`` significant digits: ``1234567`` → ``1.23MB``.

    go-units ``HumanSizeWithPrecision`` (units B, kB, MB, GB, ... base 1000):
    ``0`` → ``0B``, ``4100`` → ``4.1kB``, ``999999`` → ``1e+03kB`` (Go's %g, as Docker).
    ``precision=4`` gives ``units.HumanSize`` (``docker system df``).
    """
    v, unit = _size_and_unit(float(size), 1000.0, _DECIMAL)
    return _g(v, precision) + unit


def bytes_size(size: float, precision: int = 4) -> str:
    """Binary size (base 1024, KiB/MiB/...): ``1572864`` → ``1.5MiB`` (go-units BytesSize)."""
    v, unit = _size_and_unit(float(size), 1024.0, _BINARY)
    return _g(v, precision) + unit


_SUFFIX = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def _go_parse_float(num: str) -> float | None:
    """strconv.ParseFloat's decimal syntax (no underscores, no spaces); None when invalid."""
    import re

    if re.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", num):
        return float(num)
    return None


def _parse(s: str, base: int) -> int:
    """go-units v0.5.0 parseSize: ``NUM[ ]SUFFIX``, suffix b, k/m/g/t/p + optional b or ib."""
    from skiff.errors import InvalidArgument

    sep = max(s.rfind(c) for c in "0123456789. ")
    if sep < 0:
        raise InvalidArgument(f"invalid size: '{s}'")
    if s[sep] != " ":
        num, sfx = s[:sep + 1], s[sep + 1:]
    else:
        num, sfx = s[:sep], s[sep + 1:]
    size = _go_parse_float(num)
    if size is None:
        raise InvalidArgument(f"invalid size: '{s}'", f"cannot parse {num!r} as a number")
    if size < 0:
        raise InvalidArgument(f"invalid size: '{s}'")
    if not sfx:
        return _int64(size, s)
    low = sfx.lower()
    bad = InvalidArgument(f"invalid suffix: '{low}'")
    if len(low) > 3:
        raise InvalidArgument(f"invalid suffix: '{sfx}'")
    if low[0] == "b":
        if len(low) > 1:
            raise bad
        return _int64(size, s)
    if low[0] not in _SUFFIX:
        raise bad
    if (len(low) == 2 and low[1] != "b") or (len(low) == 3 and low[1:] != "ib"):
        raise bad
    return _int64(size * base ** _SUFFIX[low[0]], s)


def _int64(size: float, s: str) -> int:
    # Go's int64(f) overflows to a negative number there; refuse instead
    if size >= 2.0**63:
        from skiff.errors import InvalidArgument

        raise InvalidArgument(f"invalid size: '{s}'", "too large")
    return int(size)


def prune_report(heading: str, lines: Sequence[str], freed: float) -> str:
    """The text every ``docker * prune`` prints: ``heading`` (``Deleted Images:``), one line
    per item and a blank line when anything went, then ``Total reclaimed space: 1.2MB``
    (``freed`` in bytes, :func:`human_size`). Each line of the result ends with ``\n``.
    """
    head = (heading + "\n" + "".join(x + "\n" for x in lines) + "\n") if lines else ""
    return head + f"Total reclaimed space: {human_size(freed)}\n"


def parse_size(s: str) -> int:
    """go-units ``FromHumanSize``: decimal units, ``"32kb"`` → 32000, ``"1.5GB"``.

    Raises skiff.errors.InvalidArgument (``invalid size: 'x'``, ``invalid suffix: 'x'``).
    """
    return _parse(s, 1000)


def ram_in_bytes(s: str) -> int:
    """go-units ``RAMInBytes`` (``--memory``, ``--shm-size``): binary, ``"512m"`` → 536870912.

    Raises skiff.errors.InvalidArgument (``invalid size: 'x'``, ``invalid suffix: 'x'``).
    """
    return _parse(s, 1024)


def human_duration(seconds: float) -> str:
    """go-units ``HumanDuration`` for a duration in seconds.

    < 1 s ``Less than a second``; ``1 second``; ``N seconds`` (< 60); ``About a minute``;
    ``N minutes`` (< 60); hours rounded: ``About an hour``, ``N hours`` (< 48);
    ``N days`` (< 14 d), ``N weeks`` (< 60 d), ``N months`` (30-day, < 2 years of 365 d),
    ``N years``.
    """
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = _round_half_away(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def _round_half_away(x: float) -> int:
    # Go's math.Round: half away from zero (Python's round() is half to even)
    import math

    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _ts(t: float | int | str | None) -> float | None:
    """Seconds since the epoch, or None for Go's zero time (unset)."""
    if t is None:
        return None
    if isinstance(t, str):
        if not t or t.startswith("0001-01-01T00:00:00"):
            return None
        return parse_rfc3339_ns(t) / 1e9
    if t <= 0:
        return None
    return float(t)


def time_ago(ts: float | int | str, now: float | None = None) -> str:
    """``human_duration(now - ts) + " ago"`` (Docker's CREATED column): ``3 seconds ago``."""
    t = _ts(ts)
    return human_duration(_now(now) - (t if t is not None else 0.0)) + " ago"


def status_text(state: str, exit_code: int = 0, started: float | int | str | None = None,
                finished: float | int | str | None = None, now: float | None = None,
                health: str | None = None) -> str:
    """``docker ps`` STATUS for a container, as moby's ``State.String()``.

    ``state`` is Docker's State.Status (``created``, ``running``, ``paused``,
    ``restarting``, ``removing``, ``exited``, ``dead``); ``started``/``finished`` are Unix
    seconds or RFC 3339 strings (None/0/Go's zero time = never). ``health`` is
    ``healthy``/``unhealthy``/``starting`` or None. Gives ``Up 3 seconds``,
    ``Up 2 minutes (Paused)``, ``Up 5 seconds (healthy)``, ``Restarting (1) 2 seconds ago``,
    ``Exited (0) 3 seconds ago``, ``Created``, ``Removal In Progress``, ``Dead``.
    """
    n = _now(now)
    st, fin = _ts(started), _ts(finished)
    if state in ("running", "paused", "restarting"):
        if state == "paused":
            return f"Up {human_duration(n - (st or 0.0))} (Paused)"
        if state == "restarting":
            return f"Restarting ({exit_code}) {human_duration(n - (fin or 0.0))} ago"
        up = f"Up {human_duration(n - (st or 0.0))}"
        if health:
            return f"{up} ({'health: starting' if health == 'starting' else health})"
        return up
    if state == "removing":
        return "Removal In Progress"
    if state == "dead":
        return "Dead"
    if st is None:
        return "Created"
    if fin is None:
        return ""
    return f"Exited ({exit_code}) {human_duration(n - fin)} ago"


# ---------------------------------------------------------------------------------------------
# RFC 3339 with nanoseconds


def format_rfc3339_ns(ns: int) -> str:
    """Go's ``time.RFC3339Nano`` in UTC for nanoseconds since the epoch.

    ``1704067200123456789`` → ``2024-01-01T00:00:00.123456789Z``; trailing zeros of the
    fraction are dropped and a whole second has none: ``2024-01-01T00:00:00Z``.
    """
    import datetime as dt

    sec, frac = divmod(int(ns), 1_000_000_000)
    d = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=sec)
    out = d.strftime("%Y-%m-%dT%H:%M:%S")
    if d.year < 1000:
        out = f"{d.year:04d}" + out[out.index("-"):]
    if frac:
        out += "." + f"{frac:09d}".rstrip("0")
    return out + "Z"


def format_rfc3339(ts: float | int) -> str:
    """:func:`format_rfc3339_ns` for Unix seconds; a float keeps microseconds (its precision)."""
    if isinstance(ts, int):
        return format_rfc3339_ns(ts * 1_000_000_000)
    return format_rfc3339_ns(round(ts * 1_000_000) * 1000)


def parse_rfc3339_ns(s: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time (``Z`` or ``±hh:mm``, 0-9 fraction digits).

    ``"2024-01-01T00:00:00.5+01:00"`` → ``1704063600500000000``. Go's zero time
    ``0001-01-01T00:00:00Z`` parses too (negative). Raises skiff.errors.InvalidArgument.
    """
    import datetime as dt
    import re

    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
                     r"(?:([Zz])|([+-])(\d{2}):(\d{2}))", s.strip())
    if not m:
        from skiff.errors import InvalidArgument

        raise InvalidArgument(f"invalid time {s!r}", "not RFC 3339")
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    try:
        days = (dt.date(y, mo, d) - dt.date(1970, 1, 1)).days
    except ValueError as e:
        from skiff.errors import InvalidArgument

        raise InvalidArgument(f"invalid time {s!r}", str(e)) from None
    if h > 23 or mi > 59 or se > 60:
        from skiff.errors import InvalidArgument

        raise InvalidArgument(f"invalid time {s!r}", "hour, minute or second out of range")
    secs = days * 86400 + h * 3600 + mi * 60 + se
    if m.group(9):
        off = int(m.group(10)) * 3600 + int(m.group(11)) * 60
        secs -= off if m.group(9) == "+" else -off
    frac = int((m.group(7) or "0").ljust(9, "0"))
    return secs * 1_000_000_000 + frac


def parse_rfc3339(s: str) -> float:
    """Unix seconds (float) of an RFC 3339 time; see :func:`parse_rfc3339_ns`."""
    return parse_rfc3339_ns(s) / 1e9


_GO_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
             "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}


def parse_go_duration_ns(s: str) -> int | None:
    """Go's ``time.ParseDuration`` in nanoseconds (``"1h30m"``, ``"-1.5s"``, ``"0"``); None if invalid."""
    import re

    m = re.fullmatch(r"([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|0)", s)
    if not m:
        return None
    total = sum(float(num) * _GO_UNITS[unit] for num, unit in
                re.findall(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)", m.group(2)))
    if total >= 2**63:  # Go refuses durations past int64 nanoseconds (about 292 years)
        return None
    return -round(total) if m.group(1) == "-" else round(total)


def parse_timestamp_ns(value: str, now_ns: int | None = None) -> int:
    """A Docker ``--since``/``--until``/``until=`` value as nanoseconds since the epoch.

    Follows the Docker CLI's ``timetypes.GetTimestamp``: a Go duration means that long before
    *now_ns*, in whole seconds (``"10m"``, ``"1h30m"``; ``"-5m"`` is in the future); a time with a zone
    (``Z``, ``+01:00``, or three dashes as in ``2024-01-02T03:04:05-07:00``) is RFC 3339,
    date-only and hour-only forms allowed; a time without a zone is read in the host's
    zone; anything else must be Unix seconds (``"1700000000"``, ``"1700000000.5"``).
    Raises skiff.errors.InvalidArgument with Docker's wording.
    """
    import datetime as dt
    import re

    from skiff.errors import InvalidArgument

    now_ns = time.time_ns() if now_ns is None else now_ns
    d = parse_go_duration_ns(value)
    if d is not None and value != "0":
        return (now_ns - d) // 1_000_000_000 * 1_000_000_000  # Docker keeps whole seconds
    with_zone = any(c in value for c in "zZ+") or value.count("-") == 3
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?"
                     r"([Zz]|[+-]\d{2}:\d{2})?", value)
    if m and (m.group(8) is not None) == with_zone:
        y, mo, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        h, mi, se = (int(m.group(i) or 0) for i in (4, 5, 6))
        try:
            t = dt.datetime(y, mo, day, h, mi, se)
        except ValueError as e:
            raise InvalidArgument(f"invalid time {value!r}", str(e)) from None
        zone = m.group(8)
        if zone is None:
            off = -time.altzone if time.daylight and time.localtime().tm_isdst > 0 else -time.timezone
        elif zone in "zZ":
            off = 0
        else:
            off = (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60) * (1 if zone[0] == "+" else -1)
        secs = (t - dt.datetime(1970, 1, 1)).days * 86400 + h * 3600 + mi * 60 + se - off
        return secs * 1_000_000_000 + int((m.group(7) or "0").ljust(9, "0"))
    m = re.fullmatch(r"(\+?\d+)(?:\.(\+?\d+))?", value)
    if "-" not in value and m and int(m.group(1)) < 2**63 and int(m.group(2) or 0) < 2**63:
        # Unix seconds, passed on as the daemon's ParseTimestamps reads them: the part after
        # the dot is scaled by its length as a float (".5" is 500ms, ".123456789" is exact).
        frac = m.group(2) or ""
        nsec = int(float(int(frac)) * 10.0 ** (9 - len(frac))) if frac else 0
        return int(m.group(1)) * 1_000_000_000 + nsec
    raise InvalidArgument(f"failed to parse value as time or duration: {value!r}".replace("'", '"'))
