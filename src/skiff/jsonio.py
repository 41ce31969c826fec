"""``json.loads``/``dumps`` on the container start path, straight from CPython's C codec.

The ``json`` package imports ``re`` (and through it ``enum``, ``functools``,
``collections``...) to compile the patterns of its pure-Python fallbacks, which CPython
never uses: ~8-10 ms of every ``skiff run`` before anything else. This module drives the
same C encoder and scanner (``_json``) with json's default settings, so its output and
results are exactly ``json.dumps``/``json.loads``'s. Anything else is json's own: calls
with options it does not take (``indent``, ``cls``, hooks...), bytes that are not plain
UTF-8, and every error (the document is handed to ``json.loads``, which raises its
``JSONDecodeError``). Without ``_json`` (another Python) it is ``json`` throughout.
"""

from __future__ import annotations

try:
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _json = None

_WS = " \t\n\r"
_scanner = None


def _json_module():
    import json

    return json


class _Context:
    """What the C scanner reads from a JSONDecoder (json.loads's defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}[name]


def _default(o):
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def loads(s: str | bytes | bytearray):
    """``json.loads(s)``.

    Raises:
        json.JSONDecodeError (a ValueError): not a JSON document.
    """
    global _scanner
    if _json is None:
        return _json_module().loads(s)
    if not isinstance(s, str):
        if s[:3] == b"\xef\xbb\xbf" or b"\x00" in s[:4]:
            return _json_module().loads(s)  # (a BOM, UTF-16/32: json detects those)
        try:
            s = bytes(s).decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return _json_module().loads(s)
    if _scanner is None:
        _scanner = _json.make_scanner(_Context())
    n = len(s)
    i = 0
    while i < n and s[i] in _WS:
        i += 1
    try:
        obj, end = _scanner(s, i)
    except StopIteration:
        return _json_module().loads(s)  # (raises "Expecting value")
    except SystemError:
        # an error inside the document: the C scanner raises json.decoder's
        # JSONDecodeError only once json.decoder is imported (CPython 3.11 looks it up
        # without importing it), else this; json's own loads says what is wrong
        return _json_module().loads(s)
    while end < n and s[end] in _WS:
        end += 1
    if end != n:
        return _json_module().loads(s)  # (raises "Extra data")
    return obj


def dumps(obj, *, sort_keys: bool = False, ensure_ascii: bool = True,
          separators: tuple[str, str] | None = None, **options) -> str:
    """``json.dumps(obj, ...)``: these options here, any other (``indent``, ``default``,
    ``cls``...) through json itself.

    Raises:
        TypeError: a value json cannot encode. ValueError: a circular reference.
    """
    if _json is None or options:
        return _json_module().dumps(obj, sort_keys=sort_keys, ensure_ascii=ensure_ascii,
                                    separators=separators, **options)
    item_sep, key_sep = separators or (", ", ": ")
    quote = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring
    if isinstance(obj, str):  # (json encodes a bare str without the iterator)
        return quote(obj)
    # (a fresh encoder and circular-reference memo per call, as json makes them)
    enc = _json.make_encoder({}, _default, quote, None, key_sep, item_sep, sort_keys, False,
                             True)
    return "".join(enc(obj, 0))


def load(f):
    """``json.load(f)``."""
    return loads(f.read())


def dump(obj, f, **kw) -> None:
    """``json.dump(obj, f, ...)`` (written in one piece)."""
    f.write(dumps(obj, **kw))
