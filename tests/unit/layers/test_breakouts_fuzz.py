"""Property: whatever sequence of entries a layer holds, nothing outside the root changes.

Hypothesis draws archives from a small alphabet of dangerous names and link targets
(``..``, absolute paths, symlinks up and out, hardlinks, whiteouts through links); each is
applied in both whiteout modes and must either succeed or raise InvalidArgument, leaving the
sibling directory ``outside`` byte-for-byte as it was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skiff.errors import InvalidArgument
from skiff.layers.apply import apply_layer

from .tarbuilder import TarBuilder
from .test_breakouts import _snapshot

COMPONENTS = ["a", "b", "..", ".", "outside", "victim", "dir"]
TARGETS = ["..", "../..", "../outside", "../outside/dir", "/", "/outside", "a", "a/b", "b/..",
           "../../outside/victim", ".", "/../outside", "dir/../.."]

names = st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=4).map("/".join) | \
    st.sampled_from(["/abs", "/outside/victim", "a/", "./a"])
entry = st.one_of(
    st.tuples(st.just("file"), names),
    st.tuples(st.just("dir"), names),
    st.tuples(st.just("symlink"), names, st.sampled_from(TARGETS)),
    st.tuples(st.just("hardlink"), names, names),
    st.tuples(st.just("whiteout"), names),
    st.tuples(st.just("opaque"), names),
)


def _build(entries) -> TarBuilder:
    tb = TarBuilder()
    for e in entries:
        kind = e[0]
        if kind == "file":
            tb.file(e[1], b"pwned")
        elif kind == "dir":
            tb.dir(e[1])
        elif kind == "symlink":
            tb.symlink(e[1], e[2])
        elif kind == "hardlink":
            tb.hardlink(e[1], e[2])
        elif kind == "whiteout":
            tb.whiteout(e[1])
        else:
            tb.opaque(e[1])
    return tb


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(entry, min_size=1, max_size=8), st.sampled_from(["delete", "overlay"]))
def test_nothing_outside_the_root_changes(entries, mode):
    if mode == "overlay" and os.geteuid() != 0:
        mode = "delete"
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        root, outside = base / "root", base / "outside"
        root.mkdir()
        (outside / "dir").mkdir(parents=True)
        (outside / "victim").write_bytes(b"precious")
        (outside / "dir" / "kept").write_bytes(b"kept")
        before = _snapshot(outside)
        try:
            apply_layer(root, _build(entries).stream(), whiteouts=mode)
        except InvalidArgument:
            pass
        assert _snapshot(outside) == before
        assert sorted(os.listdir(base)) == ["outside", "root"]
