"""The usual ``run``/``create`` command lines parsed without argparse.

``skiff run --rm -it -e A=1 bb:1 sh -c ...`` is parsed here from the very flag table the
argparse parser is built from (the command's ``add_argument`` calls, replayed into a
:class:`Table`), and gives the same namespace argparse would. Importing argparse (with
gettext, which compiles a regex at import) and adding ~70 arguments costs ~4 ms of every
``run``; this costs ~0.1 ms. Anything this does not take exactly as argparse would is left
to argparse (:func:`parse` returns None): ``--help``, an unknown or abbreviated flag, a flag
without its value, a value that looks like a flag or is ``--``, a bad ``type`` conversion,
a missing IMAGE. So every error message and exit code stays the parser's
(skiff.cli.argparser, which reads flags as Docker's pflag does).

What is taken: ``--flag value``, ``--flag=value``, ``-f value``, ``-fVALUE``, bundled
store_true shorts (``-it``, ``-dit``, a last one taking a value as in ``-ite A=1``), the
actions ``store``, ``store_true`` and ``append`` with ``type``/``default``/``dest``; then
the first positional (IMAGE) and everything after it verbatim as COMMAND, ``--`` included
(argparse.REMAINDER; pflag's interspersed=false); a ``--`` before IMAGE ends the flags.
"""

from __future__ import annotations

import sys

# types.SimpleNamespace is this very type; the ``types`` module is ~0.4 ms of every run
SimpleNamespace = type(sys.implementation)

_STORE, _TRUE, _APPEND = "store", "store_true", "append"


class Table:
    """A flag table recorded from ``add_argument`` calls (the subset described above; an
    action of any other kind marks the table as not fast-parseable)."""

    def __init__(self) -> None:
        self.opts: dict[str, tuple] = {}  # "--env" / "-e" -> (dest, kind, type, default)
        self.dests: list[tuple] = []
        self.positionals: list[str] = []
        self.ok = True

    def add_argument(self, *names: str, **kw) -> None:
        if not names[0].startswith("-"):
            self.positionals.append(kw.get("dest") or names[0])
            if len(self.positionals) == 2 and kw.get("nargs") != "...":
                self.ok = False  # (only IMAGE then COMMAND as argparse.REMAINDER)
            return
        kind = kw.get("action", _STORE)
        if kind == "help":
            return  # (--help: argparse's)
        if kind not in (_STORE, _TRUE, _APPEND) or kw.get("nargs") is not None \
                or kw.get("choices") is not None or kw.get("const") is not None:
            self.ok = False
            return
        longs = [n for n in names if n.startswith("--")]
        dest = kw.get("dest") or (longs[0] if longs else names[0]).lstrip("-").replace("-", "_")
        default = kw.get("default", False if kind == _TRUE else None)
        conv = kw.get("type")
        if isinstance(default, str) and conv is not None:  # (argparse converts these)
            default = conv(default)
        entry = (dest, kind, conv, default)
        self.dests.append(entry)
        for n in names:
            self.opts[n] = entry


def parse(table: Table, argv: list[str]) -> SimpleNamespace | None:
    """The namespace argparse would give for ``argv``, or None to let argparse parse it."""
    if not table.ok or len(table.positionals) != 2:
        return None
    ns = {}
    for dest, kind, _conv, default in table.dests:
        ns[dest] = list(default) if kind == _APPEND and default is not None else default
    opts = table.opts
    i, n = 0, len(argv)

    def put(entry, value: str) -> bool:
        dest, kind, conv, _ = entry
        if conv is not None:
            try:
                value = conv(value)
            except (TypeError, ValueError):
                return False
        if kind == _APPEND:
            items = ns[dest]
            ns[dest] = [*items, value] if items is not None else [value]
        else:
            ns[dest] = value
        return True

    while i < n:
        tok = argv[i]
        if not tok.startswith("-") or tok == "-":
            break  # IMAGE
        if tok == "--":  # the end of the flags: IMAGE is next, whatever it looks like
            i += 1
            break
        if tok.startswith("---"):
            return None
        if tok.startswith("--"):
            name, eq, value = tok.partition("=")
            entry = opts.get(name)
            if entry is None:
                return None  # unknown, or an abbreviation argparse may expand
            if entry[1] == _TRUE:
                if eq:
                    return None
                ns[entry[0]] = True
                i += 1
                continue
            if not eq:
                if i + 1 >= n or argv[i + 1].startswith("-"):
                    return None
                value = argv[i + 1]
                i += 1
            if not put(entry, value):
                return None
            i += 1
            continue
        # short flags: -x, -xVALUE, -x VALUE, bundles of store_true shorts
        j = 1
        while j < len(tok):
            entry = opts.get("-" + tok[j])
            if entry is None:
                return None
            if entry[1] == _TRUE:
                ns[entry[0]] = True
                j += 1
                continue
            value = tok[j + 1:]
            if not value:
                if i + 1 >= n or argv[i + 1].startswith("-"):
                    return None
                value = argv[i + 1]
                i += 1
            elif value.startswith("="):
                return None  # (argparse keeps the "=": leave such spellings to it)
            if not put(entry, value):
                return None
            break
        i += 1
    if i >= n:
        return None  # no IMAGE: argparse's error
    ns[table.positionals[0]] = argv[i]
    ns[table.positionals[1]] = argv[i + 1:]
    return SimpleNamespace(**ns)
