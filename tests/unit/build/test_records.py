"""The build tables: migration from the previous schema, cache records, prune, logs."""

from __future__ import annotations

from skiff import metadata
from skiff.build.records import BuildRecords, CacheRecord


def test_migration_from_previous_version(tmp_path):
    db = metadata.connect(tmp_path / "m.db", migrate=False)
    metadata.upgrade(db, target=1)
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name='build_cache'").fetchone()[0] == 0
    metadata.upgrade(db)
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"build_cache", "build_steps", "build_checksums", "builds", "build_logs"} <= names


def test_store_lookup_prune(tmp_path):
    db = metadata.connect(tmp_path / "m.db")
    r = BuildRecords(db)
    rec = CacheRecord("sha256:k", {"digest": "sha256:d", "size": 1, "media_type": "m",
                                   "diff_id": "sha256:x"}, "sha256:x", {"config": {}})
    r.store(rec)
    r.save_log("sha256:k", b"line1\nline2\n")
    assert r.lookup("sha256:k") == rec
    assert r.lookup("sha256:other") is None
    r.save_build("b" * 25, "sha256:" + "e" * 64, ["x"], {"steps": []})
    assert r.find_build("bbbb")[0] == "b" * 25
    assert r.find_build("eeeeeeeeeeee")[0] == "b" * 25
    assert r.prune() == 1
    assert r.lookup("sha256:k") is None and r.log("sha256:k") is None
