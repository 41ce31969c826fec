"""What every command receives: the global options and lazily opened engine parts."""

from __future__ import annotations

import os
import sys

from skiff.config import Config
from skiff.errors import InvalidArgument

TYPE_CHECKING = False  # (not typing's: `ps` and `run` start faster without importing typing)
if TYPE_CHECKING:
    import sqlite3
    from typing import IO


class UsageError(InvalidArgument):
    """A command line the CLI itself refuses (bad flag, missing argument), before any engine
    work: cli/main.py never turns it into a "daemon" exit 1."""


class Context:
    """Per-invocation state handed to command functions (never kept between commands).

    Attributes:
        config (Config): root, runtime, registries.
        debug (bool): show tracebacks (``-D`` or ``SKIFF_DEBUG=1``).
        out, err (IO[str]): where to print.
        prog (str): the command as the user spelled it, e.g. ``"skiff image ls"`` for
            ``skiff image list`` ("" until cli.main sets it); parsers are named after it.
    """

    def __init__(self, config: Config, *, debug: bool = False,
                 out: IO[str] | None = None, err: IO[str] | None = None,
                 exiting: bool = False):
        self.config = config
        self.debug = debug
        # the process ends with os._exit after the command (skiff.cli.main.entry): the
        # database is never closed, see metadata.connect(closed_by_exit=)
        self.exiting = exiting
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._db: sqlite3.Connection | None = None
        self.prog = ""

    def parser(self, prog: str, description: str = "", usage: str | None = None):
        """A parser for one command (skiff.cli.argparser.ArgumentParser); ``prog`` is e.g.
        ``"skiff image ls"``, replaced by :attr:`prog` when set (``skiff image ls`` and
        ``skiff images`` run one function; docker/cli's errors name the command as typed:
        ``See 'docker image ls --help'.``)."""
        from skiff.cli.argparser import ArgumentParser

        return ArgumentParser(prog=self.prog or prog, description=description, usage=usage)

    @property
    def db(self):  # -> sqlite3.Connection
        """The metadata database, opened (and migrated) on first use."""
        if self._db is None:
            from skiff import metadata

            os.makedirs(self.config.root_dir, exist_ok=True)
            self._db = metadata.connect(self.config.at("metadata.db"),
                                        closed_by_exit=self.exiting)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def add_content_trust_flag(p) -> None:
    """Docker's ``--disable-content-trust`` (build, create, run, pull, push; default true),
    taken so that scripts written for docker run unchanged. skiff has no Notary client:
    images are checked against their digests only, so ``=false`` is refused by
    :func:`refuse_content_trust` rather than silently not verified."""
    p.add_argument("--disable-content-trust", action="store_true", default=True,
                   help="Skip image verification (default true)")


def refuse_content_trust(a) -> None:
    """InvalidArgument (exit 125) when ``--disable-content-trust=false`` asked for Docker
    Content Trust, which skiff does not implement."""
    if not getattr(a, "disable_content_trust", True):
        raise InvalidArgument("--disable-content-trust=false",
                              "content trust (Notary signatures) is not supported; images "
                              "are verified by their digests only")
