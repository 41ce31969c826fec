"""Template functions for skiff.format.gotemplate: Go's builtins and Docker's.

Go's text/template builtins (``and or not len index slice print printf println eq ne lt le
gt ge html js urlquery call``) and docker/cli's ``templates.basicFunctions`` (``json split
join title lower upper pad truncate``), with Go's argument rules and error texts
(``error calling index: index out of range: 5``; the caller adds the location).
``HEADER_FUNCS`` are docker/cli's ``HeaderFunctions`` for a table's header row.
Python stands in for Go's values as gotemplate describes (None = nil, MISSING = no value).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from skiff.format.gofmt import (
    MISSING,
    format_value,
    go_json,
    go_type_name,
    sprint,
    sprintf,
    sprintln,
)


class FuncError(Exception):
    """A function's own failure, reported as ``error calling NAME: msg``."""


# ---------------------------------------------------------------------------------------------
# truth, comparison


def is_true(v: object) -> bool:
    """Go's template truth: false, 0, nil, and empty string/slice/map are false."""
    if v is None or v is MISSING:
        return False
    if isinstance(v, (bool, int, float, str, list, tuple, dict, bytes)):
        return bool(v)
    return True


def _kind(v: object) -> str:
    if v is None or v is MISSING:
        return "nil"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    return "other"


def _eq(a: object, *bs: object) -> bool:
    if not bs:
        raise FuncError("missing argument for comparison")
    ka = _kind(a)
    for b in bs:
        kb = _kind(b)
        if ka == "nil" or kb == "nil":
            truth = ka == kb
        elif ka != kb:
            raise FuncError("incompatible types for comparison")
        elif isinstance(a, (list, dict, bytearray)) or isinstance(b, (list, dict, bytearray)):
            bad = a if isinstance(a, (list, dict, bytearray)) else b
            raise FuncError(f"non-comparable type {format_value(bad)}: {go_type_name(bad)}")
        else:
            truth = a == b
        if truth:
            return True
    return False


def _ne(a: object, b: object) -> bool:
    return not _eq(a, b)


def _ordered(a: object, b: object) -> tuple[object, object]:
    ka, kb = _kind(a), _kind(b)
    if ka in ("bool", "nil", "other") or kb in ("bool", "nil", "other"):
        raise FuncError("invalid type for comparison")
    if ka != kb:
        raise FuncError("incompatible types for comparison")
    return a, b


def _lt(a, b):
    a, b = _ordered(a, b)
    return a < b


def _le(a, b):
    a, b = _ordered(a, b)
    return a <= b


def _gt(a, b):
    a, b = _ordered(a, b)
    return a > b


def _ge(a, b):
    a, b = _ordered(a, b)
    return a >= b


# ---------------------------------------------------------------------------------------------
# builtin functions


def _want(v: object, typ: type | tuple, name: str) -> None:
    if not isinstance(v, typ) or (typ is int and isinstance(v, bool)):
        want = {str: "string", int: "int"}.get(typ, "value")  # type: ignore[call-overload]
        raise FuncError(f"wrong type for value; expected {want}; got {go_type_name(v)}")


def _as_int(v: object, const_ok: bool = False) -> int:
    # index/slice take only integers; int parameters (pad, truncate) also take 3.0
    if const_ok and isinstance(v, float) and v.is_integer():
        return int(v)
    if v is None or v is MISSING:
        raise FuncError("cannot index slice/array with nil")
    if isinstance(v, bool) or not isinstance(v, int):
        raise FuncError(f"cannot index slice/array with type {go_type_name(v)}")
    return v


def _struct_row(v: object) -> str | None:
    """The Go type (without its pointer) of a dict standing for a Go struct (a list row as
    gotemplate.ContextRow, a typed GoStruct as types.Volume), None for anything else."""
    if not isinstance(v, dict) or type(v) is dict:
        return None
    gt = getattr(v, "go_type", None) or getattr(v, "struct_type", None)
    return gt.lstrip("*") if gt else None


def _len(v: object) -> int:
    if v is None:
        return 0
    if _struct_row(v):
        raise FuncError(f"len of type {_struct_row(v)}")
    if isinstance(v, str):
        return len(v.encode())
    if isinstance(v, (list, tuple, dict, bytes, bytearray)):
        return len(v)
    if v is MISSING:
        raise FuncError("len of nil pointer")
    try:
        return len(v)  # type: ignore[arg-type]
    except TypeError:
        raise FuncError(f"len of type {go_type_name(v)}") from None


def _index(item: object, *keys: object) -> object:
    for k in keys:
        if item is MISSING:
            raise FuncError("index of untyped nil")
        if _struct_row(item):
            raise FuncError(f"can't index item of type {_struct_row(item)}")
        if isinstance(item, dict):
            if not isinstance(k, str) and item and all(isinstance(x, str) for x in item):
                raise FuncError(f"value has type {go_type_name(k)}; should be string")
            if k in item:
                item = item[k]
            elif all(isinstance(x, str) for x in item.values()):
                item = ""  # a map[string]string (Labels, Options): the zero value ""
            else:
                item = MISSING
        elif item is None:
            if isinstance(k, str):
                item = ""
            else:
                raise FuncError(f"index out of range: {format_value(k)}")
        elif isinstance(item, (list, tuple, str, bytes)):
            i = _as_int(k)
            seq = item.encode() if isinstance(item, str) else item
            if i < 0 or i >= len(seq):
                raise FuncError(f"index out of range: {i}")
            item = seq[i]
        else:
            raise FuncError(f"can't index item of type {go_type_name(item)}")
    return item


def _slice(item: object, *idx: object) -> object:
    if item is None or item is MISSING:
        raise FuncError("slice of untyped nil")
    if len(idx) > 3:
        raise FuncError(f"too many slice indexes: {len(idx)}")
    if not isinstance(item, (str, list, tuple)):
        raise FuncError(f"can't slice item of type {go_type_name(item)}")
    seq = item.encode() if isinstance(item, str) else item
    if isinstance(item, str) and len(idx) == 3:
        raise FuncError("cannot 3-index slice a string")
    n = [_as_int(i) for i in idx]
    lo = n[0] if n else 0
    hi = n[1] if len(n) > 1 else len(seq)
    cap = n[2] if len(n) > 2 else len(seq)
    for i in n:
        if i < 0 or i > len(seq):
            raise FuncError(f"index out of range: {i}")
    if lo > hi or hi > cap:
        raise FuncError(f"invalid slice index: {lo} > {hi}")
    out = seq[lo:hi]
    return out.decode("utf-8", "replace") if isinstance(item, str) else out


# The row render_list is executing: docker/cli's list contexts (ps, images, history, ...)
# marshal themselves through a map[string]interface{} with json.Marshal (formatter
# MarshalJSON), so ``{{json .}}`` on a row gives sorted keys and <, >, & escaped as \u003c...
# although the template's json function itself does not escape.
LIST_ROW: ContextVar[object] = ContextVar("LIST_ROW", default=None)


def _json(v: object) -> str:
    try:
        if v is not None and v is LIST_ROW.get() and isinstance(v, dict):
            return go_json(dict(sorted(v.items())), escape_html=True)
        return go_json(v)
    except ValueError:
        return ""  # docker/cli ignores the encoder's error: the output is empty


def _split(s: object, sep: object) -> list[str]:
    _want(s, str, "split")
    _want(sep, str, "split")
    if sep == "":
        return list(s)  # type: ignore[arg-type]
    return s.split(sep)  # type: ignore[union-attr]


def _join(items: object, sep: object) -> str:
    _want(sep, str, "join")
    if items is None:
        return ""
    if not isinstance(items, (list, tuple)) or not all(isinstance(x, str) for x in items):
        raise FuncError(f"wrong type for value; expected []string; got {go_type_name(items)}")
    return sep.join(items)  # type: ignore[union-attr,arg-type]


def _title(s: object) -> str:
    _want(s, str, "title")
    out, prev_sep = [], True
    for ch in s:  # type: ignore[union-attr]
        out.append(ch.upper() if prev_sep else ch)
        if ch.isascii():
            prev_sep = not (ch.isalnum() or ch == "_")
        else:
            prev_sep = ch.isspace()
    return "".join(out)


def _lower(s: object) -> str:
    _want(s, str, "lower")
    return s.lower()  # type: ignore[union-attr]


def _upper(s: object) -> str:
    _want(s, str, "upper")
    return s.upper()  # type: ignore[union-attr]


def _pad(s: object, prefix: object, suffix: object) -> str:
    _want(s, str, "pad")
    if s == "":
        return ""
    return " " * _as_int(prefix, True) + s + " " * _as_int(suffix, True)  # type: ignore[operator]


def _truncate(s: object, n: object) -> str:
    _want(s, str, "truncate")
    n = _as_int(n, True)
    if len(s) < n:  # type: ignore[arg-type,operator]
        return s  # type: ignore[return-value]
    if n < 0:  # type: ignore[operator]
        # Docker's truncate slices source[:length]; Go panics on a negative bound, which
        # text/template reports as an error calling the function.
        raise FuncError(f"runtime error: slice bounds out of range [:{n}]")
    return s[:n]  # type: ignore[index,return-value]


def _escaper_args(args: tuple[object, ...]) -> str:
    """text/template's evalArgs: one string as is, else Sprint with nil as ``<no value>``."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(*("<no value>" if a is None or a is MISSING else a for a in args))


def _html(*args: object) -> str:
    s = _escaper_args(args)
    return (s.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&#34;").replace("\0", "\ufffd"))


def _js(*args: object) -> str:
    s = _escaper_args(args)
    out = []
    for ch in s:
        if ch in "\\'\"":
            out.append("\\" + ch)
        elif ch in "<>&=" or ord(ch) < 0x20 or not ch.isprintable():
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _urlquery(*args: object) -> str:
    from urllib.parse import quote_plus

    return quote_plus(_escaper_args(args), safe="")


def _not(v: object) -> bool:
    return not is_true(v)


def _call(fn: object, *args: object) -> object:
    if not callable(fn):
        raise FuncError(f"non-function of type {go_type_name(fn)}")
    return fn(*args)


def _printf(fmt: object, *args: object) -> str:
    _want(fmt, str, "printf")
    return sprintf(fmt, *args)  # type: ignore[arg-type]


# name → (function, min args, max args or None)
BUILTINS: dict[str, tuple[Callable[..., object], int, int | None]] = {
    "and": (lambda *a: a[-1], 1, None),  # evaluated lazily in _call_builtin_logic
    "or": (lambda *a: a[-1], 1, None),
    "not": (_not, 1, 1),
    "len": (_len, 1, 1),
    "index": (_index, 1, None),
    "slice": (_slice, 1, None),
    "print": (sprint, 0, None),
    "printf": (_printf, 1, None),
    "println": (sprintln, 0, None),
    "eq": (_eq, 1, None),
    "ne": (_ne, 2, 2),
    "lt": (_lt, 2, 2),
    "le": (_le, 2, 2),
    "gt": (_gt, 2, 2),
    "ge": (_ge, 2, 2),
    "html": (_html, 0, None),
    "js": (_js, 0, None),
    "urlquery": (_urlquery, 0, None),
    "call": (_call, 1, None),
    # docker/cli templates.basicFunctions
    "json": (_json, 1, 1),
    "split": (_split, 2, 2),
    "join": (_join, 2, 2),
    "title": (_title, 1, 1),
    "lower": (_lower, 1, 1),
    "upper": (_upper, 1, 1),
    "pad": (_pad, 3, 3),
    "truncate": (_truncate, 2, 2),
}


def _ident(v, *_):
    return v


# docker/cli templates.HeaderFunctions: headers stay intact (pad is deliberately kept).
HEADER_FUNCS = {"json": (_ident, 1, 1), "split": (_ident, 2, 2), "join": (_ident, 2, 2),
                "title": (_ident, 1, 1), "lower": (_ident, 1, 1), "upper": (_ident, 1, 1),
                "truncate": (_ident, 2, 2)}


# Builtins whose Go parameters are reflect.Value: a missing value reaches them as is
# (``and``/``or`` return it: ``<no value>``; ``len``/``index``/``slice`` refuse it).
RAW_ARGS = frozenset({"and", "or", "not", "len", "index", "slice", "eq", "ne", "lt", "le",
                       "gt", "ge"})
