"""argparse as skiff's commands use it: Docker's English texts, one-line errors with
Docker's exit codes (skiff.cli.context.UsageError), help laid out for the terminal.

Imported only by the commands that build a parser (argparse and gettext are ~3 ms of
start-up: ``run`` and ``create`` parse the usual command lines without them, see
skiff.cli.fastargs)."""

from __future__ import annotations

import argparse

from skiff.cli.context import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn


# Docker's CLI speaks English only, and so do skiff's flag errors and help: argparse's texts
# are not looked up through gettext. (argparse calls gettext.gettext for each of them, which
# reads the locale variables and stats catalog paths every time, and the first call imports
# locale: ~2 ms of every command.) Process-wide, as argparse keeps these names as module
# globals; for argparse's own "messages" domain no catalog is shipped, so texts are as before.
argparse._ = str
argparse.ngettext = lambda singular, plural, n: singular if n == 1 else plural


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, asking the terminal's width only when help is printed.

    argparse makes a formatter in every ``add_argument`` (to check the metavar) and the
    stock one calls ``shutil.get_terminal_size()`` each time (the first call imports shutil,
    bz2 and lzma: ~4 ms of ``skiff run``'s start-up). Help text is laid out exactly as
    before: the width is the terminal's (or ``$COLUMNS``) minus 2.
    """

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None):
        self._ask_width = width is None
        self._max_help_wanted = max_help_position
        super().__init__(prog, indent_increment, max_help_position,
                         80 if width is None else width)

    def format_help(self) -> str:
        if self._ask_width:
            import shutil

            self._width = shutil.get_terminal_size().columns - 2
            self._max_help_position = min(self._max_help_wanted,
                                          max(self._width - 20, self._indent_increment * 2))
            self._ask_width = False
        return super().format_help()


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports bad input as Docker's CLI does: one line; a bad flag exits 125,
    too few arguments exits 1 (docker/cli's ``RequiresMinArgs`` error is no StatusError)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if message.startswith("the following arguments are required"):
            raise UsageError(self.prog, message, exit_code=1)
        raise UsageError(self.prog, message)


    def parse_known_args(self, args=None, namespace=None):
        """argparse's, plus Docker's (pflag's) ``--flag=true``/``--flag=false`` and
        ``-f=false`` for a boolean flag (``docker run --rm=true``, ``-d=false``): values as
        Go's strconv.ParseBool takes them; the last spelling of a flag wins. Any other value
        stays argparse's error (exit 125)."""
        import sys

        args = list(sys.argv[1:] if args is None else args)
        args, last = self._bool_values(args)
        ns, extras = super().parse_known_args(args, namespace)
        for dest, value in last.items():
            if not value:
                setattr(ns, dest, False)
        return ns, extras

    def _bool_values(self, args: list[str]) -> tuple[list[str], dict[str, bool]]:
        acts = self._option_string_actions
        remainder = any(a.nargs == argparse.REMAINDER for a in self._actions
                        if not a.option_strings)
        out: list[str] = []
        last: dict[str, bool] = {}
        i = 0
        while i < len(args):
            tok = args[i]
            out.append(tok)
            i += 1
            if tok == "--":
                break
            if not tok.startswith("-") or tok == "-":
                if remainder:
                    break  # (IMAGE: the rest is the container's command)
                continue
            name, eq, value = tok.partition("=")
            act = acts.get(name)
            if act is None:
                if not tok.startswith("--") and not eq:  # a bundle: -it, -dte A=1
                    for j, c in enumerate(tok[1:], 2):
                        a = acts.get("-" + c)
                        if not isinstance(a, argparse._StoreTrueAction):
                            if a is not None and j == len(tok) and i < len(args):
                                out.append(args[i])  # (its last flag's value)
                                i += 1
                            break
                        last[a.dest] = True
                continue
            if isinstance(act, argparse._StoreTrueAction):
                if eq:
                    if value not in _TRUE and value not in _FALSE:
                        continue  # (argparse's "ignored explicit argument")
                    out.pop()
                    if value in _TRUE:
                        out.append(name)
                    last[act.dest] = value in _TRUE
                else:
                    last[act.dest] = True
            elif not eq and act.nargs is None and i < len(args):
                out.append(args[i])  # (the flag's value, whatever it looks like)
                i += 1
        out.extend(args[i:])
        return out, last


_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # (Go's strconv.ParseBool)
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
