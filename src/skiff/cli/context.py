"""What every command receives: the global options and lazily opened engine parts."""

from __future__ import annotations

import argparse
import sys

from skiff.config import Config
from skiff.errors import InvalidArgument

TYPE_CHECKING = False  # (not typing's: `ps` and `run` start faster without importing typing)
if TYPE_CHECKING:
    import sqlite3
    from typing import IO, NoReturn


class UsageError(InvalidArgument):
    """A command line the CLI itself refuses (bad flag, missing argument), before any engine
    work: cli/main.py never turns it into a "daemon" exit 1."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports bad input as Docker's CLI does: one line; a bad flag exits 125,
    too few arguments exits 1 (docker/cli's ``RequiresMinArgs`` error is no StatusError)."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("the following arguments are required"):
            raise UsageError(self.prog, message, exit_code=1)
        raise UsageError(self.prog, message)


class Context:
    """Per-invocation state handed to command functions (never kept between commands).

    Attributes:
        config (Config): root, runtime, registries.
        debug (bool): show tracebacks (``-D`` or ``SKIFF_DEBUG=1``).
        out, err (IO[str]): where to print.
    """

    def __init__(self, config: Config, *, debug: bool = False,
                 out: IO[str] | None = None, err: IO[str] | None = None):
        self.config = config
        self.debug = debug
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._db: sqlite3.Connection | None = None

    def parser(self, prog: str, description: str = "", usage: str | None = None) -> ArgumentParser:
        """A parser for one command; ``prog`` is e.g. ``"skiff image ls"``."""
        return ArgumentParser(prog=prog, description=description, usage=usage)

    @property
    def db(self):  # -> sqlite3.Connection
        """The metadata database, opened (and migrated) on first use."""
        if self._db is None:
            from skiff import metadata

            self.config.root.mkdir(parents=True, exist_ok=True)
            self._db = metadata.connect(self.config.metadata_path)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
