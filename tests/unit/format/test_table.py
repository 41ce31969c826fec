"""Go tabwriter alignment with docker/cli's settings, and table.render."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from skiff.format.table import render, tabwrite


def test_tabwrite_minwidth_and_padding() -> None:
    assert tabwrite("A\tBB\n1\t2\n") == "A         BB\n1         2\n"
    assert tabwrite("abcdefghij\tx\n") == "abcdefghij   x\n"


def test_tabwrite_blocks_break_at_lines_without_the_column() -> None:
    # Go: a column block is the run of consecutive lines that have a cell in that column
    text = "a\tb\tc\nlonger-cell-here\td\nno tabs\nx\ty\n"
    assert tabwrite(text) == (
        "a                  b         c\n"
        "longer-cell-here   d\n"
        "no tabs\n"
        "x         y\n")


def test_tabwrite_counts_runes_and_pads_empty_cells() -> None:
    assert tabwrite("héllo\t|\n\t|\n") == "héllo     |\n          |\n"


def test_render_rows_like_docker_ps() -> None:
    rows = [
        {"ID": "3f2a9c1b7d4e", "Image": "busybox", "Status": "Up 3 seconds", "Names": "web"},
        {"ID": "a1b2c3d4e5f6", "Image": "registry.local/app:1", "Status": None, "Names": "db"},
    ]
    cols = [("container id", "ID"), ("image", "Image"), ("status", "Status"), ("names", "Names")]
    assert render(rows, cols) == (
        "CONTAINER ID   IMAGE                  STATUS         NAMES\n"
        "3f2a9c1b7d4e   busybox                Up 3 seconds   web\n"
        "a1b2c3d4e5f6   registry.local/app:1                  db\n")
    assert render([], cols) == "CONTAINER ID   IMAGE     STATUS    NAMES\n"


CELL = st.text(st.sampled_from(list("ab Zé中-_:.")), max_size=14)


@given(st.integers(2, 5).flatmap(
    lambda n: st.lists(st.lists(CELL, min_size=n, max_size=n), min_size=1, max_size=6)))
def test_uniform_rows_align_every_column(rows: list[list[str]]) -> None:
    out = tabwrite("\n".join("\t".join(r) for r in rows) + "\n")
    lines = out.split("\n")
    assert lines[-1] == "" and len(lines) == len(rows) + 1
    ncols = len(rows[0])
    widths = [max(10, max(len(r[c]) for r in rows) + 3) for c in range(ncols - 1)]
    for r, line in zip(rows, lines, strict=False):
        expect = "".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False)) + r[-1]
        assert line == expect
