"""Progress output: plain lines off a TTY, a rich bar per layer on one, nothing with -q."""

from __future__ import annotations

import io

from skiff.registry.client.progress import (
    NullProgress,
    PlainProgress,
    RichProgress,
    for_output,
    short_id,
)


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _drive(p):
    p.message("1: Pulling from t/bb")
    p.status("aaaaaaaaaaaa", "Pulling fs layer")
    p.start("aaaaaaaaaaaa", 2_000_000, "Downloading")
    p.advance("aaaaaaaaaaaa", 2_000_000)
    p.status("aaaaaaaaaaaa", "Pull complete")
    p.close()


def test_choice():
    assert type(for_output(io.StringIO())) is PlainProgress
    assert type(for_output(TTY(), quiet=True)) is NullProgress
    r = for_output(TTY())
    assert type(r) is RichProgress
    r.close()


def test_plain_lines():
    out = io.StringIO()
    _drive(PlainProgress(out))
    assert out.getvalue().splitlines() == ["1: Pulling from t/bb", "aaaaaaaaaaaa: Pulling fs layer",
                                           "aaaaaaaaaaaa: Downloading",
                                           "aaaaaaaaaaaa: Pull complete"]


def test_rich_bar_per_layer():
    out = TTY()
    _drive(RichProgress(out))
    text = out.getvalue()
    assert "1: Pulling from t/bb" in text
    assert "aaaaaaaaaaaa:" in text and "Pull complete" in text
    assert "2.0/2.0 MB" in text


def test_short_id():
    assert short_id("sha256:0123456789abcdef") == "0123456789ab"
