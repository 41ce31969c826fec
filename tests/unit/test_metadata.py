"""The metadata database: schema versions, WAL, concurrent writers."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from skiff import metadata


def test_fresh_database_is_at_schema_version(tmp_path):
    db = metadata.connect(tmp_path / "m.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == metadata.SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"images", "tags", "snapshots", "containers", "leases", "volumes"} <= tables


def test_newer_schema_is_refused(tmp_path):
    db = metadata.connect(tmp_path / "m.db")
    db.execute(f"PRAGMA user_version = {metadata.SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(sqlite3.DatabaseError, match="newer than this skiff"):
        metadata.connect(tmp_path / "m.db")


def test_migration_1_from_empty(tmp_path):
    db = metadata.connect(tmp_path / "m.db", migrate=False)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    assert metadata.upgrade(db, 1) == 1
    db.execute("INSERT INTO images VALUES ('sha256:a', 'sha256:m', 'x', 1, 0, NULL)")


def test_transaction_rolls_back(tmp_path):
    db = metadata.connect(tmp_path / "m.db")
    with pytest.raises(RuntimeError):
        with metadata.transaction(db):
            db.execute("INSERT INTO volumes (name, created) VALUES ('v', 0)")
            raise RuntimeError
    assert db.execute("SELECT count(*) FROM volumes").fetchone()[0] == 0


def test_concurrent_writers_all_land(tmp_path):
    path = tmp_path / "m.db"
    metadata.connect(path).close()

    def writer(n):
        db = metadata.connect(path)
        for i in range(50):
            with metadata.transaction(db):
                db.execute("INSERT INTO volumes (name, created) VALUES (?, 0)", (f"v{n}-{i}",))
        db.close()

    ts = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    db = metadata.connect(path)
    assert db.execute("SELECT count(*) FROM volumes").fetchone()[0] == 200


def test_wal_stays_small_between_commands(tmp_path):
    """runperf4: a connection checkpoints at 128 WAL pages (SQLite's default is 1,000),
    so the WAL the next command's open must read back stays under ~0.5 MB."""
    p = tmp_path / "m.db"
    db = metadata.connect(p)
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 128
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for i in range(400):
        with metadata.transaction(db):
            db.execute("INSERT INTO containers (id, name, image_id, created, data) "
                       "VALUES (?, ?, NULL, 0, ?)", (f"c{i}", f"n{i}", "x" * 5000))
    db.close()
    assert (tmp_path / "m.db-wal").stat().st_size <= (128 + 8) * (4096 + 24) + 32
    db = metadata.connect(p)
    assert db.execute("SELECT COUNT(*) FROM containers").fetchone()[0] == 400
    db.close()



def test_sqlite3_is_loaded_without_functools_and_caches_statements(tmp_path):
    """skiff.metadata imports _sqlite3 under a functools stand-in: afterwards functools is
    not loaded (a later import gets the real module), and connections behave as with the
    real lru_cache: repeated and more-than-cache-size distinct statements, cache misses
    after eviction included, give the right rows."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from skiff import metadata\n"
        "print('before', 'functools' in sys.modules, 'collections' in sys.modules)\n"
        "db = metadata.connect(sys.argv[1])\n"
        "db.execute('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)')\n"
        "for i in range(300):\n"
        "    db.execute(f'INSERT INTO t VALUES ({i}, ?)', (str(i * 2),))\n"
        "got = [db.execute(f'SELECT v FROM t WHERE k = {i % 200}').fetchone()[0]\n"
        "       for i in range(600)]\n"
        "print('rows', got == [str((i % 200) * 2) for i in range(600)])\n"
        "import functools\n"
        "print('real', hasattr(functools, 'partial') and hasattr(functools, 'reduce'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m.db")],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:3] == ["before False False", "rows True", "real True"]
