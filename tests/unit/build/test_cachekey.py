"""Cache keys and the explanation of a miss."""

from __future__ import annotations

from skiff.build.cachekey import StepInputs, describe_files, explain_inputs, explain_miss


def s(**kw) -> StepInputs:
    d = dict(parent="sha256:p", instruction="RUN x", args={}, sources="", extra={}, files={})
    d.update(kw)
    return StepInputs(**d)


def test_key_is_stable_and_ignores_files_map():
    a = s(sources="sha256:1", files={"a": "1"})
    b = s(sources="sha256:1", files={"a": "2"})
    assert a.key() == b.key()
    assert a.key().startswith("sha256:") and len(a.key()) == 71
    assert s(instruction="RUN y").key() != a.key()


def test_round_trip():
    a = s(args={"V": "1"}, files={"x": "1"}, extra={"network": "host"})
    assert StepInputs.from_dict(a.to_dict()) == a


def test_explain_first_build():
    assert explain_miss(None, s()) == "no previous build of this step"


def test_explain_parent():
    assert explain_miss(s(parent="sha256:old"), s(instruction="RUN z")) == "parent layer changed"


def test_explain_build_arg():
    assert explain_miss(s(args={"VERSION": "1"}), s(args={"VERSION": "2"})) == \
        "build arg VERSION changed"
    assert explain_miss(s(args={"A": "1"}), s(args={"B": "2"})) == "build args A, B changed"


def test_explain_instruction_text():
    assert explain_miss(s(instruction="RUN a"), s(instruction="RUN b")) == \
        "instruction text changed"


def test_explain_files():
    old = s(sources="1", files={"src/app.js": "1", "src/util.js": "1", "a": "1", "b": "1"})
    new = s(sources="2", files={"src/app.js": "2", "src/util.js": "1", "a": "1", "b": "1"})
    assert explain_miss(old, new) == "1 file changed: src/app.js"
    new2 = s(sources="3", files={"src/app.js": "2", "src/util.js": "2", "c": "1", "b": "1"})
    assert explain_miss(old, new2) == "4 files changed: a, c, src/app.js, ..."


def test_describe_files():
    assert describe_files(["a", "b", "c"]) == "3 files changed: a, b, c"


def test_explain_inputs_lines():
    lines = explain_inputs(s(args={"V": "1"}, sources="sha256:x", files={"a": "1"}))
    assert lines[1:] == ["parent: sha256:p", "instruction: RUN x", "build arg: V=1",
                         "sources: sha256:x (1 entries)"]
