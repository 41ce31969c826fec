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
    """argparse that reads a command line as Docker's CLI (cobra and pflag) does, and reports
    bad input with Docker's texts and exit codes (skiff.cli.context.UsageError).

    The flags are read first by :meth:`_pflag`, pflag's rules: a flag's value is the next
    argument whatever it looks like (``--name --rm`` names the container "--rm"), no
    abbreviations (``--netw`` is unknown), bundled shorts (``-dit``, ``-ite A=1``), boolean
    flags take Go's ``=true``/``=false``, ``--`` ends the flags; a command whose last
    positional is ``argparse.REMAINDER`` (run, create, exec, top) stops reading flags at its
    first positional (pflag's ``SetInterspersed(false)``) and keeps the rest verbatim, ``--``
    included (``skiff run IMG -- echo`` runs "--", exit 127, as docker). argparse then
    reads the positionals alone (its defaults, nargs and arity), and each flag's action is
    applied in the order given (the last of a flag wins, ``append`` flags collect).

    Errors, printed ``skiff: MESSAGE`` then ``See 'skiff CMD --help'.`` (docker 20.10's two
    lines): pflag's ``unknown flag: --foo``, ``unknown shorthand flag: 'z' in -z``, ``flag
    needs an argument: --name`` / ``'e' in -e``, ``invalid argument "x" for "-n, --last"
    flag: strconv.ParseInt: parsing "x": invalid syntax`` (exit 125); cobra's arity checks,
    ``"skiff history" requires exactly 1 argument.`` (exit 1, docker/cli's plain error).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        kwargs.setdefault("allow_abbrev", False)  # (pflag has no abbreviations)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if message.startswith(("the following arguments are required",
                               "unrecognized arguments")):
            # flags are all known by then (_pflag): too few or too many positionals
            raise self.usage_error(self._arity(), exit_code=1)
        raise self.usage_error(message)

    def usage_error(self, message: str, *, exit_code: int | None = None) -> UsageError:
        """The UsageError for ``message``, in Docker's layout: the message, then
        ``See 'PROG --help'.`` on a second line; exit 125 unless ``exit_code``."""
        return UsageError(f"{message}\nSee '{self.prog} --help'.", exit_code=exit_code)

    def _arity(self) -> str:
        """docker/cli's arity message for this command's positionals (cli.NoArgs,
        ExactArgs, RequiresMinArgs, RequiresMaxArgs, RequiresRangeArgs)."""
        low, high = 0, 0
        for a in self._actions:
            if a.option_strings:
                continue
            if a.nargs is None:
                low, high = low + 1, high + 1
            elif a.nargs == argparse.OPTIONAL:
                high += 1
            elif a.nargs == argparse.ONE_OR_MORE:
                low, high = low + 1, None
            elif a.nargs in (argparse.ZERO_OR_MORE, argparse.REMAINDER):
                high = None
            elif isinstance(a.nargs, int):
                low, high = low + a.nargs, (None if high is None else high + a.nargs)
        return arity_message(self.prog, low, high)

    def parse_known_args(self, args=None, namespace=None):
        """argparse's, on the command line as pflag reads it (see the class); bad flags
        raise UsageError before argparse sees the positionals."""
        import sys

        args = list(sys.argv[1:] if args is None else args)
        remainder = None
        fixed = 0
        for a in self._actions:
            if not a.option_strings:
                if a.nargs == argparse.REMAINDER:
                    remainder = a
                else:
                    fixed += 1
        given, positionals = self._pflag(args, interspersed=remainder is None)
        for act, opt, _ in given:
            if act.nargs == 0 and not isinstance(act, argparse._StoreTrueAction):
                act(self, argparse.Namespace(), None, opt)  # --help (pflag's ErrHelp)
        tail: list[str] = []
        if remainder is not None:
            positionals, tail = positionals[:fixed], positionals[fixed:]
        dashes = "--" in positionals  # (argparse would drop them from the values)
        if dashes:
            positionals = [_DASHES if p == "--" else p for p in positionals]
        ns, extras = super().parse_known_args(["--", *positionals] if positionals else [],
                                              namespace)
        if dashes:
            for a in self._actions:
                v = getattr(ns, a.dest, None) if not a.option_strings else None
                if v == _DASHES:
                    setattr(ns, a.dest, "--")
                elif isinstance(v, list):
                    setattr(ns, a.dest, ["--" if x == _DASHES else x for x in v])
        if remainder is not None:
            setattr(ns, remainder.dest, tail)
        for act, opt, value in given:  # (argparse would drop a value "--")
            if isinstance(act, argparse._StoreTrueAction):
                setattr(ns, act.dest, value)
            else:
                act(self, ns, value, opt)
        return ns, extras

    def _pflag(self, args: list[str], *, interspersed: bool
               ) -> tuple[list[tuple[argparse.Action, str, object]], list[str]]:
        """Read ``args`` as pflag's FlagSet.Parse: return (each flag given as (its action,
        the option string, its value converted by the action's ``type``; True/False for a
        boolean), the positionals in order). Raises UsageError with pflag's message."""
        acts = self._option_string_actions
        given: list[tuple[argparse.Action, str, object]] = []
        positionals: list[str] = []
        i, n = 0, len(args)

        def take(act: argparse.Action, opt: str, value: str | None) -> None:
            nonlocal i
            if act.nargs in (argparse.ONE_OR_MORE, argparse.ZERO_OR_MORE) and value is not None:
                # (skiff's own list flags, as argparse reads them: build --logs IMG STEP)
                values = [value]
                while i < n and not (args[i].startswith("-") and len(args[i]) > 1):
                    values.append(args[i])
                    i += 1
                given.append((act, opt, [conv(act, v) for v in values]))
                return
            if isinstance(act, argparse._StoreTrueAction):
                if value is not None and value not in _TRUE and value not in _FALSE:
                    raise self.usage_error(_invalid(act, value, "strconv.ParseBool"))
                given.append((act, opt, value is None or value in _TRUE))
                return
            if value is None:  # (help, or an optional value: its const)
                given.append((act, opt, act.const))
                return
            given.append((act, opt, conv(act, value)))

        def conv(act: argparse.Action, value: str) -> object:
            """``value`` through the flag's ``type``, checked against its ``choices``."""
            if act.type is not None:
                try:
                    value = act.type(value)
                except (TypeError, ValueError):
                    fn = {int: "ParseInt", float: "ParseFloat"}.get(act.type, "Parse")
                    raise self.usage_error(_invalid(act, value, f"strconv.{fn}")) from None
            if act.choices is not None and value not in act.choices:
                choices = ", ".join(map(repr, act.choices))
                raise self.usage_error(f"invalid argument {_go_quote(str(value))} for "
                                       f'"{_flag_name(act)}" flag: must be one of {choices}')
            return value

        while i < n:
            s = args[i]
            i += 1
            if len(s) < 2 or s[0] != "-":
                positionals.append(s)
                if not interspersed:
                    positionals += args[i:]
                    break
                continue
            if s == "--":
                positionals += args[i:]
                break
            if s[1] == "-":
                name, eq, value = s[2:].partition("=")
                if not name or name[0] in "-=":
                    raise self.usage_error(f"bad flag syntax: {s}")
                act = acts.get("--" + name)
                if act is None:
                    raise self.usage_error(f"unknown flag: --{name}")
                if eq:
                    take(act, "--" + name, value)
                elif _optional_value(act):
                    take(act, "--" + name, None)
                elif i < n:
                    i += 1
                    take(act, "--" + name, args[i - 1])
                else:
                    raise self.usage_error(f"flag needs an argument: {s}")
                continue
            shorts = s[1:]
            while shorts:
                c = shorts[0]
                act = acts.get("-" + c)
                if act is None:
                    raise self.usage_error(f"unknown shorthand flag: '{c}' in -{shorts}")
                if len(shorts) > 2 and shorts[1] == "=":
                    take(act, "-" + c, shorts[2:])
                    break
                if _optional_value(act):
                    take(act, "-" + c, None)
                    shorts = shorts[1:]
                    continue
                if len(shorts) > 1:
                    take(act, "-" + c, shorts[1:])
                elif i < n:
                    i += 1
                    take(act, "-" + c, args[i - 1])
                else:
                    raise self.usage_error(f"flag needs an argument: '{c}' in -{shorts}")
                break
        return given, positionals


def arity_message(prog: str, low: int, high: int | None) -> str:
    """docker/cli's message for a command given too few or too many arguments, which takes
    ``low`` to ``high`` (None: no limit) of them: ``"skiff tag" requires exactly 2
    arguments.``, ``"skiff ps" accepts no arguments.``, ``"skiff commit" requires at least
    1 and at most 2 arguments.``"""
    def n(k: int) -> str:
        return f"{k} argument" if k == 1 else f"{k} arguments"

    if high == 0:
        return f'"{prog}" accepts no arguments.'
    if high == low:
        return f'"{prog}" requires exactly {n(low)}.'
    if high is None:
        return f'"{prog}" requires at least {n(low)}.'
    if low == 0:
        return f'"{prog}" requires at most {n(high)}.'
    return f'"{prog}" requires at least {low} and at most {n(high)}.'


def _optional_value(act: argparse.Action) -> bool:
    """A flag given without ``=VALUE`` takes no value (pflag's NoOptDefVal: booleans)."""
    return act.nargs == 0 or act.nargs == argparse.OPTIONAL


def _invalid(act: argparse.Action, value: str, parser: str) -> str:
    """pflag's refusal of a flag's value: ``invalid argument "x" for "-m, --memory" flag:
    strconv.ParseBool: parsing "x": invalid syntax`` (Go's error from ``parser``)."""
    q = _go_quote(value)
    return (f'invalid argument {q} for "{_flag_name(act)}" flag: {parser}: parsing {q}: '
            "invalid syntax")


def _flag_name(act: argparse.Action) -> str:
    """pflag's name of a flag in errors: ``-m, --memory``, or ``--rm`` without a shorthand."""
    longs = [o for o in act.option_strings if o.startswith("--")]
    shorts = [o for o in act.option_strings if not o.startswith("--")]
    return f"{shorts[0]}, {longs[0]}" if shorts and longs else act.option_strings[0]


def _go_quote(s: str) -> str:
    """Go's ``%q`` of ``s`` (strconv.Quote): Go's escapes for quotes, backslashes and
    control characters, ``\\xNN``/``\\uNNNN`` for other unprintable ones."""
    if s.isprintable() and '"' not in s and "\\" not in s:
        return f'"{s}"'
    out = []
    for ch in s:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


_GO_ESCAPES = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f",
               "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}

_DASHES = "\0--"  # ("--" as a positional while argparse reads them)
_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # (Go's strconv.ParseBool)
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
