"""Go's ``fmt`` and ``encoding/json`` output for Python values, as Docker's templates print them.

Python values stand in for Go's: ``str`` → string, ``int`` → int, ``float`` → float64,
``bool`` → bool, ``None`` → a nil pointer/slice/map/interface, ``list``/``tuple`` → a slice,
``dict`` → a map (``%v``) or a struct in field order (``json``), a dataclass → a struct.

- :func:`format_value` is ``fmt.Sprint(v)`` for one value (``%v``): ``map[a:1 b:2]`` with
  sorted keys, ``[a b]``, ``<nil>``, ``true``, floats as Go's shortest ``%g`` (``1e+06``).
- :func:`sprint`, :func:`sprintln`, :func:`sprintf` are ``fmt.Sprint``/``Sprintln``/
  ``Sprintf`` (verbs ``%v %s %d %q %x %X %o %b %c %U %t %e %E %f %F %g %G %%``, flags
  ``+ - # 0 space``, width, precision, ``*``; mistakes print as Go does:
  ``%!d(string=x)``, ``%!s(MISSING)``, ``%!(EXTRA int=1)``).
- :func:`go_json` is the compact JSON of Docker's ``{{json .}}`` (``json.Encoder`` with
  ``SetEscapeHTML(false)`` as docker/cli's templates package sets it; pass
  ``escape_html=True`` for ``json.Marshal``'s ``\\u003c``/``\\u003e``/``\\u0026``).

Nothing heavy is imported at module load: ``json`` and ``base64`` only when needed.
"""

from __future__ import annotations

import math


class _Missing:
    """Go's invalid ``reflect.Value``: what a missing map key evaluates to (``<no value>``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()


class NilSlice(list):
    """A typed Go nil slice (a JSON null in an API struct's []string field): ``%v`` prints
    ``[]``, ``{{json}}`` writes ``null``. Always empty."""

    __slots__ = ()


class NilMap(dict):
    """A typed Go nil map (a JSON null in a map field): prints ``map[]``, encodes ``null``."""

    __slots__ = ()


def go_type_name(v: object) -> str:
    """The Go type Docker would show for ``v`` in messages (``string``, ``[]interface {}``)."""
    if v is None or v is MISSING:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (bytes, bytearray)):
        return "[]uint8"
    if isinstance(v, (list, tuple)):  # a list of strings stands for Docker's []string
        return "[]string" if all(isinstance(e, str) for e in v) else "[]interface {}"
    if isinstance(v, dict):
        if all(isinstance(e, str) for e in v.values()):
            return "map[string]string"
        return "map[string]interface {}"
    return type(v).__name__


def _dataclass_fields(v: object) -> list[str] | None:
    """Field names of a dataclass instance in order (a Go struct), else None.

    Reads ``__dataclass_fields__`` directly: importing dataclasses costs CLI start-up time.
    """
    fields = getattr(type(v), "__dataclass_fields__", None)
    if fields is None or isinstance(v, type):
        return None
    return [name for name, f in fields.items() if getattr(f, "_field_type", None) is None
            or repr(f._field_type) == "_FIELD"]


# ---------------------------------------------------------------------------------------------
# floats


def _shortest_digits(f: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of abs(f) and the decimal point position.

    ``1234.5`` → ("12345", 4): value = 0.digits × 10**dp, as strconv's decimal type.
    """
    r = repr(abs(f))
    mant, _, exp = r.partition("e")
    e = int(exp) if exp else 0
    ip, _, fp = mant.partition(".")
    if fp == "0":
        fp = ""
    digits = (ip + fp).lstrip("0")
    lead = len(ip + fp) - len((ip + fp).lstrip("0"))
    dp = len(ip) + e - lead
    digits = digits.rstrip("0") or "0"
    if digits == "0":
        dp = 1
    return digits, dp


def _exp_str(exp: int) -> str:
    """Go's exponent suffix: at least two digits (``e+06``, ``e-10``, ``e+100``)."""
    sign = "-" if exp < 0 else "+"
    return f"e{sign}{abs(exp):02d}"


def go_float(f: float) -> str:
    """``fmt.Sprint(float64)``: strconv 'g' with shortest digits (``1e+06``, ``0.0001``).

    Exponent form when the decimal exponent is < -4 or >= 6, as strconv decides for the
    shortest precision (``123456`` stays, ``1234567`` → ``1.234567e+06``).
    """
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    if f == 0:
        return sign + "0"
    digits, dp = _shortest_digits(f)
    exp = dp - 1
    if exp < -4 or exp >= 6:
        # %e with shortest digits
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return sign + mant + _exp_str(exp)
    if dp <= 0:
        return sign + "0." + "0" * (-dp) + digits
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return sign + digits[:dp] + "." + digits[dp:]


def _json_float(f: float) -> str:
    """encoding/json's float64: 'f' shortest, 'e' when abs < 1e-6 or >= 1e21 (``1e-7``)."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"json: unsupported value: {go_float(f)}")
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    sign = "-" if f < 0 else ""
    a = abs(f)
    digits, dp = _shortest_digits(f)
    if a < 1e-6 or a >= 1e21:
        exp = dp - 1
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp)}"
    if dp <= 0:
        return sign + "0." + "0" * (-dp) + digits
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return sign + digits[:dp] + "." + digits[dp:]


# ---------------------------------------------------------------------------------------------
# %v


def _sort_key(k: object) -> tuple:
    # internal/fmtsort: numbers numerically, strings lexically; mixed kinds grouped by kind.
    if isinstance(k, bool):
        return (0, int(k), "")
    if isinstance(k, (int, float)):
        return (1, k, "")
    if isinstance(k, str):
        return (2, 0, k)
    return (3, 0, str(k))


def format_value(v: object) -> str:
    """``fmt.Sprint(v)`` for one value, Go's ``%v``.

    ``None`` → ``<nil>``, MISSING → ``<no value>``, ``[1, "a"]`` → ``[1 a]``,
    ``{"b": 1, "a": None}`` → ``map[a:<nil> b:1]``, dataclass → ``{f1 f2}``.
    """
    if isinstance(v, str):
        return v
    if v is None:
        return "<nil>"
    if v is MISSING:
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(format_value(e) for e in v) + "]"
    if isinstance(v, dict):
        order = getattr(v, "go_order", None)
        if order:  # a struct (gotemplate.GoStruct): its fields' values in Go's order
            return "{" + " ".join(format_value(v[f] if f in v else v.missing(f))  # type: ignore[attr-defined]
                                  for f in order) + "}"
        items = sorted(v.items(), key=lambda kv: _sort_key(kv[0]))
        return "map[" + " ".join(f"{format_value(k)}:{format_value(x)}" for k, x in items) + "]"
    if isinstance(v, (bytes, bytearray)):
        return "[" + " ".join(str(b) for b in v) + "]"
    fields = _dataclass_fields(v)
    if fields is not None:
        return "{" + " ".join(format_value(getattr(v, f)) for f in fields) + "}"
    return str(v)


def sprint(*args: object) -> str:
    """``fmt.Sprint``: a space between operands when neither side is a string."""
    out: list[str] = []
    prev_str = True
    for i, a in enumerate(args):
        is_str = isinstance(a, str)
        if i > 0 and not is_str and not prev_str:
            out.append(" ")
        out.append(format_value(a))
        prev_str = is_str
    return "".join(out)


def sprintln(*args: object) -> str:
    """``fmt.Sprintln``: operands joined by spaces, then a newline."""
    return " ".join(format_value(a) for a in args) + "\n"


# ---------------------------------------------------------------------------------------------
# %q


_ESC = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
        "\v": "\\v", "\\": "\\\\"}


def go_quote(s: str, quote: str = '"', ascii_only: bool = False) -> str:
    """``strconv.Quote`` (``%q``): Go escapes, printable runes kept (``"a\\tb"``)."""
    out = [quote]
    for ch in s:
        if ch == quote:
            out.append("\\" + ch)
        elif ch in _ESC:
            out.append(_ESC[ch])
        elif ch.isprintable() and not (ascii_only and ord(ch) > 0x7E):
            out.append(ch)
        else:
            o = ord(ch)
            if o < 0x80 and o < 0x20 or o == 0x7F:
                out.append(f"\\x{o:02x}")
            elif o < 0x10000:
                out.append(f"\\u{o:04x}")
            else:
                out.append(f"\\U{o:08x}")
    out.append(quote)
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# printf


def _bad(verb: str, v: object, flags: str = "", width: int | None = None,
         prec: int | None = None) -> str:
    # Go's badVerb prints the operand with %v under the same flags, width and precision
    if v is None or v is MISSING:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type_name(v)}={_fmt_one('v', v, flags, width, prec, 1)})"


def _pad(s: str, width: int | None, minus: bool, zero: bool, numeric: bool) -> str:
    if width is None or len(s) >= width:
        return s
    fill = width - len(s)
    if minus:
        return s + " " * fill
    if zero:
        if numeric and s[:1] in "+- ":
            return s[0] + "0" * fill + s[1:]
        return "0" * fill + s
    return " " * fill + s


def _fmt_int(v: int, verb: str, plus: bool, space: bool, sharp: bool,
             prec: int | None) -> str:
    neg = v < 0
    a = -v if neg else v
    if verb == "d":
        body = str(a)
    elif verb == "x":
        body = format(a, "x")
    elif verb == "X":
        body = format(a, "X")
    elif verb == "o" or verb == "O":
        body = format(a, "o")
    else:  # b
        body = format(a, "b")
    if prec is not None:
        body = body.zfill(prec) if not (prec == 0 and a == 0) else ""
    if sharp:
        body = {"x": "0x", "X": "0X", "o": "0", "b": "0b"}.get(verb, "") + body
    if verb == "O":
        body = "0o" + body
    sign = "-" if neg else ("+" if plus else (" " if space else ""))
    return sign + body


def _hex_float(v: float, verb: str, plus: bool, space: bool) -> str:
    """Go's %x for floats: ``2.5`` → ``0x1.4p+01`` (shortest mantissa, 2-digit exponent)."""
    if math.isnan(v) or math.isinf(v):
        return _fmt_float(v, "g", plus, space, None)
    sign = "-" if math.copysign(1.0, v) < 0 else ("+" if plus else (" " if space else ""))
    # Go normalises subnormals too (0x1.06p-1032, where float.hex gives 0x0.004p-1022):
    # take the mantissa in [1, 2) from frexp and hex that normal number.
    m, e = math.frexp(abs(v))
    mant, _, _ = float.hex(m * 2).partition("p")  # '0x1.4000000000000'
    ip, _, fp = mant[2:].partition(".")
    fp = fp.rstrip("0")
    e = e - 1 if v != 0 else 0
    if v == 0:
        ip = "0"
    out = f"0x{ip}{'.' + fp if fp else ''}p{'-' if e < 0 else '+'}{abs(e):02d}"
    return sign + (out.upper() if verb == "X" else out)


def _fmt_float(v: float, verb: str, plus: bool, space: bool, prec: int | None) -> str:
    if math.isnan(v) or math.isinf(v):
        if math.isnan(v):
            return "+NaN" if plus else "NaN"
        return "+Inf" if v > 0 else "-Inf"
    if verb == "v":
        verb = "g"
    if verb in ("g", "G") and prec is None:
        s = go_float(v)
        if verb == "G":
            s = s.upper()
    else:
        p = 6 if prec is None else prec
        if verb == "F":
            verb = "f"
        s = f"{v:.{p}{verb}}"
    if plus and not s.startswith("-"):
        s = "+" + s
    elif space and not s.startswith("-"):
        s = " " + s
    return s


def _go_syntax(v: object) -> str:
    """``%#v``: Go-syntax representation (``"a"``, ``[]string{"a", "b"}``)."""
    if v is None or v is MISSING:
        return "<nil>"
    if isinstance(v, str):
        return go_quote(v)
    if isinstance(v, (list, tuple)):
        return go_type_name(v) + "{" + ", ".join(_go_syntax(e) for e in v) + "}"
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: _sort_key(kv[0]))
        return go_type_name(v) + "{" + ", ".join(
            f"{_go_syntax(k)}:{_go_syntax(x)}" for k, x in items) + "}"
    return format_value(v)


def _fmt_one(verb: str, v: object, flags: str, width: int | None, prec: int | None,
             depth: int = 0) -> str:
    """One operand of Sprintf. Slices and maps apply the verb to each element, as Go does."""
    if verb == "v" and ("+" in flags or "#" in flags):
        # %+v asks for struct field names, %#v for Go syntax: neither is a sign or prefix
        sharp_v = "#" in flags
        flags = flags.replace("+", "").replace("#", "")
        if sharp_v:
            return _pad(_go_syntax(v), width, "-" in flags, False, False)
    plus, minus, sharp, space, zero = ("+" in flags, "-" in flags, "#" in flags,
                                       " " in flags, "0" in flags)
    numeric = False
    if v is MISSING:
        v = None
    if verb == "T":
        return _pad(go_type_name(v), width, minus, False, False)
    if v is None:
        if depth == 0 and verb != "v":
            return _bad(verb, v, flags, width, prec)
        return _pad("<nil>", width, minus, False, False)
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(_fmt_one(verb, e, flags, width, prec, depth + 1) for e in v) + "]"
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: _sort_key(kv[0]))
        return "map[" + " ".join(
            _fmt_one(verb, k, flags, width, prec, depth + 1) + ":"
            + _fmt_one(verb, x, flags, width, prec, depth + 1) for k, x in items) + "]"
    if verb == "v":
        if isinstance(v, float):
            s, numeric = _fmt_float(v, "v", plus, space, prec), True
        elif isinstance(v, int) and not isinstance(v, bool):
            s, numeric = _fmt_int(v, "d", plus, space, False, prec), True
        elif sharp and isinstance(v, str):
            s = go_quote(v)
        else:
            s = format_value(v)
            if isinstance(v, str) and prec is not None:
                s = s[:prec]
    elif verb == "s":
        if isinstance(v, str):
            s = v if prec is None else v[:prec]
        elif isinstance(v, (bytes, bytearray)):
            s = v.decode("utf-8", "replace")
        else:
            return _bad(verb, v, flags, width, prec)
    elif verb == "q":
        if isinstance(v, str):
            s = go_quote(v, '"', plus) if not (sharp and "`" not in v) else "`" + v + "`"
        elif isinstance(v, int) and not isinstance(v, bool):
            s = go_quote(chr(v), "'", plus) if 0 <= v <= 0x10FFFF else "'\ufffd'"
        else:
            return _bad(verb, v, flags, width, prec)
    elif verb == "t":
        if not isinstance(v, bool):
            return _bad(verb, v, flags, width, prec)
        s = "true" if v else "false"
    elif verb in "dboOxX" and isinstance(v, bool):
        return _bad(verb, v, flags, width, prec)
    elif verb in "dboOxX" and isinstance(v, int):
        s, numeric = _fmt_int(v, verb, plus, space, sharp, prec), True
    elif verb in "xX" and isinstance(v, (str, bytes, bytearray)):
        b = v.encode() if isinstance(v, str) else bytes(v)
        if prec is not None:
            b = b[:prec]
        s = b.hex() if verb == "x" else b.hex().upper()
        if sharp and s:
            s = ("0x" if verb == "x" else "0X") + s
    elif verb in "xX" and isinstance(v, float):
        s, numeric = _hex_float(v, verb, plus, space), True
    elif verb in "eEfFgG" and isinstance(v, float):
        s, numeric = _fmt_float(v, verb, plus, space, prec), True
    elif verb == "c" and isinstance(v, int) and not isinstance(v, bool):
        s = chr(v) if 0 <= v <= 0x10FFFF else "\ufffd"
    elif verb == "U" and isinstance(v, int) and not isinstance(v, bool):
        s = f"U+{v:04X}"
        if sharp and 0 <= v <= 0x10FFFF and chr(v).isprintable():
            s += f" '{chr(v)}'"
    else:
        return _bad(verb, v, flags, width, prec)
    return _pad(s, width, minus, zero and not minus, numeric)


def sprintf(fmt: str, *args: object) -> str:
    """``fmt.Sprintf`` for the verbs scripts use in ``--format`` (see module doc).

    Examples: ``sprintf("%-6s|", "ab")`` → ``"ab    |"``; ``sprintf("%05.1f", 3.14159)`` →
    ``"003.1"``; ``sprintf("%d")`` → ``"%!d(MISSING)"``.
    """
    out: list[str] = []
    i, n, argi = 0, len(fmt), 0
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        if i >= n:
            out.append("%!(NOVERB)")
            break
        flags = ""
        while i < n and fmt[i] in "+-# 0":
            flags += fmt[i]
            i += 1
        width: int | None = None
        if i < n and fmt[i] == "*":
            i += 1
            if argi < len(args) and isinstance(args[argi], int):
                width = int(args[argi])  # type: ignore[arg-type]
                if width < 0:
                    flags += "-"
                    width = -width
            else:
                out.append("%!(BADWIDTH)")
            argi += 1
        else:
            st = i
            while i < n and fmt[i].isdigit():
                i += 1
            if i > st:
                width = int(fmt[st:i])
        prec: int | None = None
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                i += 1
                if argi < len(args) and isinstance(args[argi], int):
                    prec = int(args[argi])  # type: ignore[arg-type]
                    if prec < 0:
                        prec = None
                else:
                    out.append("%!(BADPREC)")
                argi += 1
            else:
                st = i
                while i < n and fmt[i].isdigit():
                    i += 1
                prec = int(fmt[st:i]) if i > st else 0
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_fmt_one(verb, args[argi], flags, width, prec))
        argi += 1
    if argi < len(args):
        extra = ", ".join("<nil>" if a is None or a is MISSING
                          else f"{go_type_name(a)}={format_value(a)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# json


def _json_str(s: str, escape_html: bool) -> str:
    from json.encoder import encode_basestring

    r = encode_basestring(s)
    if "\u2028" in r or "\u2029" in r:
        r = r.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if escape_html and ("<" in r or ">" in r or "&" in r):
        r = r.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return r


def _json_parts(v: object, escape_html: bool, out: list[str]) -> None:
    if isinstance(v, str):
        out.append(_json_str(v, escape_html))
    elif v is None or v is MISSING or type(v) is NilSlice or type(v) is NilMap:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, float):
        out.append(_json_float(v))
    elif isinstance(v, dict):
        out.append("{")
        first = True
        for k, x in v.items():
            if not first:
                out.append(",")
            first = False
            out.append(_json_str(k if isinstance(k, str) else format_value(k), escape_html))
            out.append(":")
            _json_parts(x, escape_html, out)
        out.append("}")
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _json_parts(x, escape_html, out)
        out.append("]")
    elif isinstance(v, (bytes, bytearray)):
        import base64

        out.append('"' + base64.b64encode(bytes(v)).decode() + '"')
    elif (fields := _dataclass_fields(v)) is not None:
        _json_parts({f: getattr(v, f) for f in fields}, escape_html, out)
    else:
        _json_parts(str(v), escape_html, out)


def go_json(v: object, escape_html: bool = False) -> str:
    """Compact JSON as Go's encoding/json writes it (Docker's ``{{json .}}``).

    Object keys keep the dict's order (Go structs keep field order), floats as Go
    (``1.5``, ``100000000000000000000``, ``1e-7``, ``1e+21``), ``<``/``>``/``&`` kept
    unless ``escape_html``, U+2028/U+2029 always escaped, non-ASCII kept as UTF-8.
    Raises ValueError for NaN and infinities (``json: unsupported value: NaN``).
    """
    out: list[str] = []
    _json_parts(v, escape_html, out)
    return "".join(out)
