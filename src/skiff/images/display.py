"""Rendering helpers for the image commands: Docker's sizes, durations, tables, --format.

Uses skiff.format (owned by the format engineer) when it is installed; until then the
small fallbacks below give the same text for the plain forms (no Go templates).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from skiff.errors import InvalidArgument

_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]


def human_size(n: float, precision: int = 3) -> str:
    """Docker's ``units.HumanSizeWithPrecision(n, precision)``: decimal units (``4.26MB``)."""
    try:
        from skiff.format.humanize import human_size as hs

        return hs(n, precision)
    except ImportError:
        pass
    i = 0
    n = float(n)
    while n >= 1000.0 and i < len(_UNITS) - 1:
        n /= 1000.0
        i += 1
    return f"{n:.{precision}g}{_UNITS[i]}"


def human_duration(seconds: float) -> str:
    """Docker's ``units.HumanDuration``: ``Less than a second``, ``About a minute``, ``3 days``."""
    try:
        from skiff.format.humanize import human_duration as hd

        return hd(seconds)
    except ImportError:
        pass
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
    hours = round(seconds / 3600)
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
    return f"{int(seconds / 3600 / 24 / 365)} years"


def time_ago(ts: float, now: float | None = None) -> str:
    """``2 hours ago`` for a unix time (``N/A`` for 0, as Docker shows an unknown time)."""
    if not ts:
        return "N/A"
    return human_duration((now or time.time()) - ts) + " ago"


def table(rows: Sequence[Sequence[str]]) -> str:
    """Docker's column layout (Go tabwriter minwidth 10, padding 3; last column unpadded)."""
    if not rows:
        return ""
    ncol = max(len(r) for r in rows)
    widths = [0] * ncol
    for r in rows:
        for i, c in enumerate(r[:-1]):
            widths[i] = max(widths[i], len(c))
    out = []
    for r in rows:
        cells = [c.ljust(max(widths[i] + 3, 10)) for i, c in enumerate(r[:-1])]
        out.append("".join(cells) + (r[-1] if r else ""))
    return "\n".join(out) + "\n"


def render_template(template: str, data: object) -> str:
    """Render a Docker ``--format`` Go template on one object (skiff.format.gotemplate)."""
    try:
        from skiff.format.gotemplate import render
    except ImportError:
        raise InvalidArgument("--format", "Go templates need skiff.format (not installed)") from None
    return render(template, data)


def format_rows(template: str, rows: list[dict], headers: dict[str, str],
                default: str | None = None) -> str:
    """``--format`` over rows as ``docker images/history --format`` prints them: ``json``
    (one JSON object per line), ``table [TEMPLATE]`` (header row, tabwriter alignment; a bare
    ``table`` uses ``default``), or a template rendered once per row."""
    import json

    if template.strip() == "json":
        return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)
    if template.strip() == "table":
        template = "table " + (default or "\t".join(f"{{{{.{k}}}}}" for k in headers))
    try:
        from skiff.format.gotemplate import render_list
    except ImportError:
        raise InvalidArgument("--format", "Go templates need skiff.format (not installed)") from None
    return render_list(template, rows, headers=headers)
