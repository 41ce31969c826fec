"""Progress reports for pull and push, in Docker's words.

Events are keyed by the layer's short ID (first 12 hex digits of its digest), as Docker
shows them: ``Pulling fs layer``, ``Waiting``, ``Downloading``, ``Verifying Checksum``,
``Download complete``, ``Already exists``, ``Pull complete``; for push ``Preparing``,
``Pushing``, ``Layer already exists``, ``Mounted from <repo>``, ``Pushed``.

* :class:`NullProgress`: nothing (``-q`` and library callers).
* :class:`PlainProgress`: one line per state change (not a TTY): ``<id>: Pull complete``.
* :class:`RichProgress`: one bar per layer with bytes and speed on a TTY.
"""

from __future__ import annotations

import threading
from typing import IO


def short_id(digest: str) -> str:
    """``sha256:0123456789abcdef…`` → ``0123456789ab``."""
    return digest.split(":", 1)[-1][:12]


class NullProgress:
    """Discards every event; the base for the others."""

    def message(self, text: str) -> None:
        """A line not tied to a layer (``latest: Pulling from library/busybox``)."""

    def status(self, key: str, text: str) -> None:
        """The layer ``key`` entered state ``text``."""

    def start(self, key: str, total: int, action: str) -> None:
        """Bytes of ``key`` (``total`` bytes) start moving; ``action`` is Downloading/Pushing."""

    def advance(self, key: str, nbytes: int) -> None:
        """``nbytes`` more bytes of ``key`` moved (thread safe)."""

    def close(self) -> None:
        """Stop drawing (call once at the end)."""


class PlainProgress(NullProgress):
    """Plain lines for logs and pipes: one per state change, none per byte."""

    def __init__(self, out: IO[str]):
        self.out = out
        self._lock = threading.Lock()

    def _line(self, s: str) -> None:
        with self._lock:
            self.out.write(s + "\n")
            self.out.flush()

    def message(self, text: str) -> None:
        self._line(text)

    def status(self, key: str, text: str) -> None:
        self._line(f"{key}: {text}")

    def start(self, key: str, total: int, action: str) -> None:
        self._line(f"{key}: {action}")


class RichProgress(NullProgress):
    """A rich live display: a bar per layer with transferred bytes and speed."""

    def __init__(self, out: IO[str]):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        self.console = Console(file=out)
        self.bar = Progress(TextColumn("{task.fields[key]}:"),
                            TextColumn("{task.description:<20}"), BarColumn(),
                            DownloadColumn(), TransferSpeedColumn(), console=self.console,
                            transient=False)
        self.tasks: dict[str, int] = {}
        self._lock = threading.Lock()
        self.bar.start()

    def _task(self, key: str):
        with self._lock:
            if key not in self.tasks:
                self.tasks[key] = self.bar.add_task("", key=key, total=None)
            return self.tasks[key]

    def message(self, text: str) -> None:
        self.bar.console.print(text, highlight=False)

    def status(self, key: str, text: str) -> None:
        t = self._task(key)
        done = text in ("Pull complete", "Already exists", "Pushed", "Layer already exists",
                        "Download complete") or text.startswith("Mounted from")
        self.bar.update(t, description=text)
        if done:
            task = self.bar.tasks[t] if t < len(self.bar.tasks) else None
            if task is not None and task.total:
                self.bar.update(t, completed=task.total)

    def start(self, key: str, total: int, action: str) -> None:
        self.bar.update(self._task(key), description=action, total=total)

    def advance(self, key: str, nbytes: int) -> None:
        self.bar.advance(self._task(key), nbytes)

    def close(self) -> None:
        self.bar.stop()


def for_output(out: IO[str], quiet: bool = False) -> NullProgress:
    """The right reporter for ``out``: nothing when quiet, rich on a TTY, else plain."""
    if quiet:
        return NullProgress()
    if hasattr(out, "isatty") and out.isatty():
        return RichProgress(out)
    return PlainProgress(out)
