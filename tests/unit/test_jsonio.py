"""skiff.jsonio is json.loads/dumps (CPython's C codec without the json package's import
of re): same text out, same values in, json's own errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skiff import jsonio

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=20)


def _same(a, b) -> bool:  # (NaN != NaN: compare through their text)
    return json.dumps(a) == json.dumps(b)


@settings(max_examples=300, deadline=None)
@given(_VALUES, st.booleans(), st.booleans())
def test_dumps_is_jsons(v, sort_keys, ensure_ascii):
    assert jsonio.dumps(v, sort_keys=sort_keys, ensure_ascii=ensure_ascii) == \
        json.dumps(v, sort_keys=sort_keys, ensure_ascii=ensure_ascii)
    assert jsonio.dumps(v, separators=(",", ":")) == json.dumps(v, separators=(",", ":"))


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_loads_reads_what_json_writes(v):
    text = json.dumps(v)
    assert _same(jsonio.loads(text), json.loads(text))
    assert _same(jsonio.loads(" \n" + text.encode().decode() + "\t"), v)
    assert _same(jsonio.loads(text.encode()), v)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='{}[]":,0123456789.eE+-tfnulrase \\\n\u00e9', max_size=20))
def test_loads_of_anything_is_jsons_value_or_jsons_error(text):
    try:
        want = json.loads(text)
    except json.JSONDecodeError as e:
        with pytest.raises(json.JSONDecodeError) as got:
            jsonio.loads(text)
        assert str(got.value) == str(e)
    else:
        assert _same(jsonio.loads(text), want)


def test_other_options_and_bad_values_are_jsons():
    assert jsonio.dumps({"b": 1, "a": [1]}, indent=2) == json.dumps({"b": 1, "a": [1]}, indent=2)
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        jsonio.dumps({"a": {1}})
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference detected"):
        jsonio.dumps(loop)
    assert jsonio.dumps([1]) == "[1]"  # (nothing left over from the failed calls)
    assert jsonio.loads(b"\xef\xbb\xbf[1]") == json.loads(b"\xef\xbb\xbf[1]")
    assert jsonio.loads('"\\ud800"') == json.loads('"\\ud800"')


def test_importing_it_imports_no_re():
    code = "import sys, skiff.jsonio as j; j.loads(j.dumps({'a': [1]})); print('re' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"


def test_error_inside_a_document_before_json_is_imported():
    # (the C scanner needs json.decoder imported to raise its error: without it, CPython
    # 3.11 gives a SystemError; --security-opt seccomp=BAD-JSON crashed so)
    code = ("import sys, skiff.jsonio as j\n"
            "try:\n    j.loads('{bad')\n"
            "except ValueError as e:\n    print(type(e).__name__, e)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout == ("JSONDecodeError Expecting property name enclosed in double quotes: "
                        "line 1 column 2 (char 1)\n")
