"""Go's fmt and encoding/json output for Python values (exact strings Go prints)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skiff.format.gofmt import MISSING, format_value, go_float, go_json, go_quote, sprintf

# Python stands in for Go's float64: what fmt.Sprint(f) prints
FLOATS = [
    (0.0, "0"), (-0.0, "-0"), (1.0, "1"), (2.5, "2.5"), (100000.0, "100000"),
    (123456.0, "123456"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"), (0.0001, "0.0001"),
    (0.00001, "1e-05"), (1e21, "1e+21"), (1.5e-300, "1.5e-300"), (0.1 + 0.2, "0.30000000000000004"),
    (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN"),
]


@pytest.mark.parametrize("f, want", FLOATS)
def test_go_float(f: float, want: str) -> None:
    assert go_float(f) == want


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_go_float_round_trips(f: float) -> None:
    s = go_float(f)
    assert float(s) == f
    assert math.copysign(1.0, float(s)) == math.copysign(1.0, f)


def test_format_value_composites() -> None:
    assert format_value({"b": 1, "a": [1, "x", None], "c": {"z": True}}) == (
        "map[a:[1 x <nil>] b:1 c:map[z:true]]")
    assert format_value({2: "b", 10: "a"}) == "map[2:b 10:a]"  # numeric keys sort numerically
    assert format_value([]) == "[]"
    assert format_value({}) == "map[]"
    assert format_value(None) == "<nil>"
    assert format_value(MISSING) == "<no value>"
    assert format_value(b"hi") == "[104 105]"


@pytest.mark.parametrize("fmt, args, want", [
    ("%s|%v|%d", ("a", [1, 2], 3), "a|[1 2]|3"),
    ("%5d|%-5d|%05d|%+d|% d", (42, 42, -42, 42, 42), "   42|42   |-0042|+42| 42"),
    ("%x %X %o %b %#x %#o", (255, 255, 8, 5, 255, 8), "ff FF 10 101 0xff 010"),
    ("%x %X", ("hi", "hi"), "6869 6869"),
    ("%q %q %+q", ("a\"b\n", 65, "é"), '"a\\"b\\n" \'A\' "\\u00e9"'),
    ("%.2f %8.3f %e %E %g %G", (3.14159, 2.5, 1234.5678, 0.5, 1e-7, 1e21),
     "3.14    2.500 1.234568e+03 5.000000E-01 1e-07 1E+21"),
    ("%.3s|%6.2s|%-6s|", ("abcdef", "abcdef", "ab"), "abc|    ab|ab    |"),
    ("%t %v", (True, False), "true false"),
    ("%c%c %U", (72, 0x4E2D, 0x1F600), "H中 U+1F600"),
    ("%T %T %T %T %T %T", ("s", 1, 1.5, True, ["a"], {"k": 1}),
     "string int float64 bool []string map[string]interface {}"),
    ("%d %s", ("x", 5), "%!d(string=x) %!s(int=5)"),
    ("%d", (), "%!d(MISSING)"),
    ("%d", (1, "a", None), "1%!(EXTRA string=a, <nil>)"),
    ("%d %v", (None, None), "%!d(<nil>) <nil>"),
    ("%5d", ([1, 22],), "[    1    22]"),
    ("%q", (["a", "b"],), '["a" "b"]'),
    ("%x", (2.5,), "0x1.4p+01"),
    ("%+v %#v %#v", ({"a": 1}, "s", ["a"]), 'map[a:1] "s" []string{"a"}'),
    ("%*d|%-*d|%.*f", (4, 7, 3, 7, 1, 2.25), "   7|7  |2.2"),
    ("100%%", (), "100%"),
    ("%!", (), "%!!(MISSING)"),
    ("50%", (), "50%!(NOVERB)"),
    ("%z", (1,), "%!z(int=1)"),
])
def test_sprintf(fmt: str, args: tuple, want: str) -> None:
    assert sprintf(fmt, *args) == want


def test_go_quote() -> None:
    assert go_quote("tab\there\x00\x7f") == '"tab\\there\\x00\\x7f"'
    assert go_quote("中\u200b") == '"中\\u200b"'


@pytest.mark.parametrize("value, want", [
    ({"b": 1, "a": "x"}, '{"b":1,"a":"x"}'),  # a dict keeps its order, as a Go struct
    ([1.0, 0.5, 1e20, 1e21, 1e-6, 1e-7, -0.0], '[1,0.5,100000000000000000000,1e+21,0.000001,1e-7,-0]'),
    ("<a href='x'>&\u2028\u2029", '"<a href=\'x\'>&\\u2028\\u2029"'),
    ("\x00\x1f\t\n\r\b\f\"\\é", '"\\u0000\\u001f\\t\\n\\r\\b\\f\\"\\\\é"'),
    (None, "null"), (True, "true"), ([], "[]"), ({}, "{}"), (b"\x00\xff", '"AP8="'),
    ({1: "a"}, '{"1":"a"}'),
])
def test_go_json(value: object, want: str) -> None:
    assert go_json(value) == want


def test_go_json_html_escaping_as_marshal_does() -> None:
    assert go_json({"h": "<b>&"}, escape_html=True) == '{"h":"\\u003cb\\u003e\\u0026"}'
    with pytest.raises(ValueError, match="unsupported value: NaN"):
        go_json(math.nan)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=10)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=4),
    max_leaves=12)


@given(JSONISH)
def test_go_json_is_valid_json_of_the_same_value(v: object) -> None:
    import json

    # integers in the test data are within 2**53, so reading every number as a float is exact
    assert json.loads(go_json(v), parse_int=float) == v
