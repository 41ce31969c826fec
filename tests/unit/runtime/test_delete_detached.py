"""runtime.fsutil.delete_detached: trees deleted by a process the caller does not wait for."""

from __future__ import annotations


def test_delete_detached_removes_trees_after_returning(tmp_path):
    import os
    import time

    from skiff.runtime.fsutil import delete_detached

    trees = []
    for n in ("a", "b"):
        d = tmp_path / n
        (d / "x" / "y").mkdir(parents=True)
        (d / "x" / "f").write_text("data")
        trees.append(d)
    delete_detached(trees)
    for _ in range(250):
        if not any(t.exists() for t in trees):
            break
        time.sleep(0.02)
    assert sorted(os.listdir(tmp_path)) == []
