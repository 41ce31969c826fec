"""Docker's table layout: Go's text/tabwriter and the column tables of ``docker ps``/``images``.

- :func:`tabwrite` formats tab-separated text as Go's ``text/tabwriter`` does with docker/cli's
  settings (``tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)``): cells are tab-terminated, the
  last cell of a line is not part of a column, a column is as wide as its widest cell plus
  the padding (3) and never narrower than minwidth (10), consecutive lines that have a cell
  in a column form one block aligned together, widths counted in runes.
- :func:`render` ``(rows, columns)`` lays out rows of dicts under upper-case headers
  (``[("IMAGE ID", "ID"), ...]``), as ``docker images`` prints its default table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# docker/cli cli/command/formatter: tabwriter.NewWriter(c.Output, 10, 1, 3, ' ', 0)
MINWIDTH = 10
PADDING = 3


def _format(lines: list[list[str]], widths: list[int], line0: int, line1: int,
            out: list[str], minwidth: int, padding: int, padchar: str) -> None:
    """Go tabwriter's recursive column-block algorithm over ``lines[line0:line1]``."""
    column = len(widths)
    this = line0
    while this < line1:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        # a block of lines with a cell in this column starts here
        _write_lines(lines, widths, line0, this, out, padchar)
        line0 = this
        width = minwidth
        while this < line1 and column < len(lines[this]) - 1:
            w = len(lines[this][column]) + padding
            if w > width:
                width = w
            this += 1
        widths.append(width)
        _format(lines, widths, line0, this, out, minwidth, padding, padchar)
        widths.pop()
        line0 = this
    _write_lines(lines, widths, line0, line1, out, padchar)


def _write_lines(lines: list[list[str]], widths: list[int], line0: int, line1: int,
                 out: list[str], padchar: str) -> None:
    for i in range(line0, line1):
        cells = lines[i]
        parts = []
        for j, c in enumerate(cells):
            parts.append(c)
            if j < len(widths):  # the last cell of a line is never in a column
                parts.append(padchar * (widths[j] - len(c)))
        out.append("".join(parts))


def tabwrite(text: str, minwidth: int = MINWIDTH, padding: int = PADDING,
             padchar: str = " ") -> str:
    """Align the tab-separated ``text`` as Go's tabwriter (docker/cli settings) would.

    ``tabwrite("A\\tBB\\n1\\t2\\n")`` → ``"A         BB\\n1         2\\n"`` (column 0 is
    max(minwidth, widest + padding) = 10 wide). Lines keep their order; the text after
    the last newline is written unterminated, as Flush does.
    """
    raw = text.split("\n")
    lines = [ln.split("\t") for ln in raw]
    out: list[str] = []
    # A line without tabs ends every column block, so each such run is independent.
    _format(lines, [], 0, len(lines), out, minwidth, padding, padchar)
    return "\n".join(out)


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    from skiff.format.gofmt import format_value

    return format_value(v)


def render(rows: Sequence[Mapping[str, object]], columns: Sequence[tuple[str, str]]) -> str:
    """Docker's default table: ``columns`` is ``[(header, key), ...]``, rows are dicts.

    Headers are upper-cased, cells are ``row[key]`` as Go prints them (``None`` and a
    missing key give an empty cell), columns are separated by at least 3 spaces and at
    least 10 wide (tabwriter as docker/cli sets it up). Every line ends with ``\\n``,
    the header is printed even when there are no rows.
    """
    buf = ["\t".join(h.upper() for h, _ in columns)]
    for row in rows:
        buf.append("\t".join(_cell(row.get(k)) for _, k in columns))
    return tabwrite("\n".join(buf) + "\n")
