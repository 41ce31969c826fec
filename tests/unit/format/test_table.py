"""Go tabwriter alignment with docker/cli's settings, and table.render."""

from __future__ import annotations

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
