"""Go behaviours the instruction layer copies: ``time.ParseDuration`` (HEALTHCHECK
intervals) and ``Duration.String()`` and the "did you mean" suggestions of BuildKit's suggest package; and
:class:`InstructionError`, which both raise (re-exported by :mod:`.instructions`)."""

from __future__ import annotations

import re

__all__ = ["InstructionError", "format_go_duration", "parse_go_duration"]


class InstructionError(ValueError):
    """An instruction with bad arguments or flags (the parse layer adds the line)."""


# ---------------------------------------------------------------------------------------
# Go durations (time.ParseDuration), for HEALTHCHECK

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
          "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_DUR_PART = re.compile(r"(\d*)(?:\.(\d*))?([a-zµμ]*)")


def parse_go_duration(s: str) -> int:
    """Go's ``time.ParseDuration`` → nanoseconds (``1m30s``, ``1.5h``, ``300ms``, ``0``).

    Raises InstructionError with Go's text: ``time: invalid duration "x"``,
    ``time: missing unit in duration "5"``, ``time: unknown unit "d" in duration "1d"``.
    """
    from skiff.dockerfile.parser import go_quote

    orig = s
    q = go_quote(orig)
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise InstructionError(f"time: invalid duration {q}")
    total = 0.0
    while s:
        m = _DUR_PART.match(s)
        whole, frac, unit = m.group(1), m.group(2), m.group(3)  # type: ignore[union-attr]
        if not whole and not frac:
            raise InstructionError(f"time: invalid duration {q}")
        if not unit:
            raise InstructionError(f"time: missing unit in duration {q}")
        if unit not in _UNITS:
            raise InstructionError(f"time: unknown unit {go_quote(unit)} in duration {q}")
        num = float((whole or "0") + "." + (frac or "0"))
        total += num * _UNITS[unit]
        s = s[m.end():]  # type: ignore[union-attr]
    if total > 2**63 - 1:
        raise InstructionError(f"time: invalid duration {q}")
    return -int(total) if neg else int(total)


def format_go_duration(ns: int) -> str:
    """Go's ``time.Duration.String()`` (``30s``, ``1m30s``, ``500ms``, ``1.5s``)."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                whole, frac = divmod(ns, size)
                digits = len(str(size)) - 1
                f = f"{frac:0{digits}d}".rstrip("0") if digits else ""
                return f"{sign}{whole}{'.' + f if f else ''}{unit}"
    h, rem = divmod(ns, 3_600_000_000_000)
    m, rem = divmod(rem, 60_000_000_000)
    s, frac = divmod(rem, 1_000_000_000)
    out = sign
    if h:
        out += f"{h}h"
    if h or m:
        out += f"{m}m"
    f = f"{frac:09d}".rstrip("0")
    return out + f"{s}{'.' + f if f else ''}s"


def _suggest(msg: str, word: str, candidates) -> str:
    """Append `` (did you mean X?)`` when one candidate is within a third of the word's
    length in edit distance."""
    best, best_d = None, None
    for cand in sorted(candidates):
        d = _levenshtein(word, cand)
        if best_d is None or d < best_d:
            best, best_d = cand, d
    if best is not None and best_d is not None and 0 < best_d <= max(1, len(word) // 3):
        msg += f" (did you mean {best}?)"
    return msg


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
