"""skiff.runtime.value (@value) and skiff.config.Config behave as the frozen slotted
dataclasses they replace on the start path (runperf2)."""

from __future__ import annotations

import copy
import os
import pickle
import shutil

import pytest

from skiff.config import Config, which
from skiff.runtime.monitor import _Once
from skiff.runtime.options import CreateOptions
from skiff.runtime.spec import Resources, Rlimit, SpecOptions
from skiff.runtime.value import replace


def test_init_defaults_and_factories():
    a = CreateOptions(image="bb:1")
    b = CreateOptions(image="bb:1")
    assert a.cmd == () and a.network == "default" and a.extra == {}
    assert a.extra is not b.extra  # factory(dict): one per instance
    s = SpecOptions(("true",), "/r")
    assert s.resources == Resources() and s.cwd == "/"
    assert Rlimit("nofile", 1, 2) == Rlimit(type="nofile", soft=1, hard=2)


def test_init_errors_as_dataclasses():
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'args'"):
        SpecOptions()
    with pytest.raises(TypeError, match="takes 4 positional arguments but 5 were given"):
        Rlimit("a", 1, 2, 3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
        Rlimit("a", 1, 2, x=1)
    with pytest.raises(TypeError, match="multiple values for argument 'type'"):
        Rlimit("a", 1, 2, type="b")


def test_frozen_eq_hash_repr_pickle_match():
    r = Rlimit("nofile", 1, 2)
    with pytest.raises(AttributeError):
        r.soft = 3
    with pytest.raises(AttributeError):
        del r.soft
    assert not hasattr(r, "__dict__")
    assert hash(r) == hash(Rlimit("nofile", 1, 2)) and r != Rlimit("nofile", 1, 3)
    assert repr(r) == "Rlimit(type='nofile', soft=1, hard=2)"
    assert pickle.loads(pickle.dumps(r)) == r and copy.deepcopy(r) == r
    assert replace(r, soft=5) == Rlimit("nofile", 5, 2)
    match r:
        case Rlimit(t, soft, hard):
            assert (t, soft, hard) == ("nofile", 1, 2)


def test_not_frozen_is_mutable_and_unhashable():
    o = _Once()
    o.started = True
    assert repr(o) == "_Once(started=True, error=None, code=0, pid=0, delete=False)"
    with pytest.raises(TypeError):
        hash(o)


def test_config_as_frozen_dataclass(tmp_path):
    c = Config(root=tmp_path, insecure_registries=("r:5000",))
    same = Config(tmp_path, "runc", ("r:5000",), "")
    assert c == same and hash(c) == hash(same) and c != Config(root=tmp_path)
    assert repr(Config(root=tmp_path)) == (f"Config(root={tmp_path!r}, runtime='runc', "
                                           "insecure_registries=(), userns_remap='')")
    assert str(Config().root) == "/var/lib/skiff"
    assert str(Config().metadata_path) == "/var/lib/skiff/metadata.db"
    with pytest.raises(AttributeError):
        c.runtime = "crun"
    assert pickle.loads(pickle.dumps(c)) == c


def test_which_as_shutil(tmp_path, monkeypatch):
    exe = tmp_path / "tool"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    (tmp_path / "dir").mkdir(mode=0o755)
    (tmp_path / "plain").write_text("")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin{os.pathsep}/bin")
    for name in ("tool", "dir", "plain", "sh", "no-such-tool", str(exe), "./tool"):
        assert which(name) == shutil.which(name), name
    assert which("tool") == str(exe)
