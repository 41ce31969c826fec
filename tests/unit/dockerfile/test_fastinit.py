"""fastinit: the layout-twin constructors give genuine, frozen instances of each class."""

from __future__ import annotations

import dataclasses

import pytest

from skiff.dockerfile import instructions as ins
from skiff.dockerfile.fastinit import fast_constructor

CLASSES = [getattr(ins, n) for n in ("From", "Run", "Cmd", "Entrypoint", "Shell", "Env",
                                      "Label", "Expose", "Add", "Copy", "Volume", "User",
                                      "Workdir", "Arg", "Onbuild", "Stopsignal",
                                      "Healthcheck", "Maintainer")]


def _sample(cls) -> dict:
    out = {}
    for i, f in enumerate(dataclasses.fields(cls)):
        if f.type in ("int",):
            out[f.name] = i + 1
        elif "list" in str(f.type):
            out[f.name] = [f"v{i}"]
        elif f.type == "bool":
            out[f.name] = True
        else:
            out[f.name] = f"{f.name}-{i}"
    return out


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_same_instance_as_the_dataclass_constructor(cls):
    kw = _sample(cls)
    fast = fast_constructor(cls)(**kw)
    slow = cls(**kw)
    assert type(fast) is cls
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.line = 99
    with pytest.raises(dataclasses.FrozenInstanceError):
        del fast.line
    assert dataclasses.replace(fast, line=7).line == 7
    assert fast.line == kw["line"]


def test_every_field_is_required():
    with pytest.raises(TypeError):
        fast_constructor(ins.Workdir)(path="/x", line=1, end_line=1)


def test_refuses_a_class_without_slots():
    @dataclasses.dataclass(frozen=True)
    class Plain:
        a: int

    with pytest.raises(TypeError):
        fast_constructor(Plain)
