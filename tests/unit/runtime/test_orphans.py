"""skiff.runtime.orphans: which runc state directories the sweep may touch (no runc
needed: the sweep returns before running it for these)."""

from __future__ import annotations

import json

from skiff.config import Config
from skiff.runtime import orphans
from skiff.runtime.runc import state_root


def test_runc_root_is_runc_state_root(tmp_path):
    cfg = Config(root=tmp_path / "root")
    assert orphans.runc_root(cfg) == state_root(cfg.root_dir)


def test_bundle_label(tmp_path):
    (tmp_path / "state.json").write_text(json.dumps(
        {"id": "x", "config": {"labels": ["a=b", "bundle=/some/where"]}}))
    assert orphans._bundle_of(str(tmp_path)) == "/some/where"
    assert orphans._bundle_of(str(tmp_path / "nope")) is None


def test_mounts_under_reads_mountinfo_deepest_first():
    got = orphans._mounts_under("/proc")
    assert got[-1] == "/proc"
    assert all(m == "/proc" or m.startswith("/proc/") for m in got)
    assert orphans._mounts_under("/proc/self/no-such-dir") == []
