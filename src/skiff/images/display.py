"""Rendering helpers for the image commands: Docker's sizes, durations, tables, --format.

Sizes, durations and Go templates come from skiff.format; this module adds the image
commands' own forms (``N/A`` for an unknown time, ``--format json``/``table``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from skiff.format.humanize import human_duration, human_size
from skiff.format.humanize import time_ago as _time_ago

# Sizes and durations are skiff.format.humanize's (go-units); re-exported for the image CLI.
__all__ = ["human_size", "human_duration", "time_ago", "table", "render_template", "format_rows"]


def time_ago(ts: float, now: float | None = None) -> str:
    """``2 hours ago`` for a unix time (``N/A`` for 0, as Docker shows an unknown time)."""
    if not ts:
        return "N/A"
    return _time_ago(ts, now or time.time())


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
    from skiff.format.gotemplate import render

    return render(template, data)


def format_rows(template: str, rows: list[dict], headers: dict[str, str],
                default: str | None = None,
                go_type: str | Callable[[dict], str] | None = None) -> str:
    """``--format`` over rows as ``docker images/history --format`` prints them: ``json``
    (one JSON object per line), ``table [TEMPLATE]`` (header row, tabwriter alignment; a bare
    ``table`` uses ``default``), or a template rendered once per row. With ``go_type``
    (``*formatter.imageContext``) the rows stand for that docker/cli context struct, whose
    fields are ``headers``' keys: a template naming another fails as docker's does;
    ``go_type(row)`` names it per row (system df: one context type per line)."""
    if template.strip() == "json":
        template = "json"  # render_list: {{json .}} per row, keys sorted as docker/cli's
    if template.strip() == "table":
        template = "table " + (default or "\t".join(f"{{{{.{k}}}}}" for k in headers))
    from skiff.format.gotemplate import ContextRow, render_list

    if go_type is None:
        return render_list(template, rows, headers=headers)
    from skiff.errors import InvalidArgument

    typed = [ContextRow(r, go_type if isinstance(go_type, str) else go_type(r)) for r in rows]
    try:
        return render_list(template, typed, headers=headers, fields=headers)
    except InvalidArgument as e:  # docker/cli returns the template's error: exit 1
        e.exit_code = 1
        raise
