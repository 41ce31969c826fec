"""Config.from_env: flags, then the environment, then <root>/daemon.json (dockerd's keys)."""

from __future__ import annotations

import pytest

from skiff.config import Config
from skiff.errors import InvalidArgument


def test_insecure_registries_from_env_then_daemon_json(monkeypatch, tmp_path):
    monkeypatch.delenv("SKIFF_INSECURE_REGISTRIES", raising=False)
    assert Config.from_env(tmp_path).insecure_registries == ()
    (tmp_path / "daemon.json").write_text(
        '{"insecure-registries": ["reg.lan:5000", "10.1.0.0/16"], "userns-remap": ""}')
    assert Config.from_env(tmp_path).insecure_registries == ("reg.lan:5000", "10.1.0.0/16")
    monkeypatch.setenv("SKIFF_INSECURE_REGISTRIES", "a.example,b.example:443")
    assert Config.from_env(tmp_path).insecure_registries == ("a.example", "b.example:443")
    monkeypatch.delenv("SKIFF_INSECURE_REGISTRIES")
    (tmp_path / "daemon.json").write_text('{"insecure-registries": "reg.lan"}')
    with pytest.raises(InvalidArgument, match='"insecure-registries" must be a list of strings'):
        Config.from_env(tmp_path)
