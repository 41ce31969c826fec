"""``ps`` from the records' ps_* columns (metadata migration 6): same table as from the
JSON records, rows from before the migration included."""

from __future__ import annotations

import sqlite3

import pytest

from skiff import metadata
from skiff.config import Config
from skiff.runtime import records


def _rec(cid: str, name: str, status: str, *, code: int = 0, finished: str = records.ZERO_TIME,
         image: str = "bb:1", args: tuple[str, ...] = ("-c", "echo hi there"),
         ports: dict | None = None) -> dict:
    st = records.new_state()
    st.update(Status=status, ExitCode=code, FinishedAt=finished)
    if finished != records.ZERO_TIME:
        st["StartedAt"] = "2020-01-01T00:00:01Z"
    # a container created by image ID has that image (ps shows Config.Image only while it
    # still resolves to the container's image, as dockerd's list does)
    image_id = image if image.startswith("sha256:") else "sha256:" + "a" * 64
    return {"Id": cid, "Name": "/" + name, "Image": image_id, "State": st,
            "Created": "2020-01-01T00:00:00.5Z", "Path": "sh", "Args": list(args),
            "Config": {"Image": image, "Labels": {}}, "Mounts": [],
            "HostConfig": {"NetworkMode": "none"},
            "NetworkSettings": {"Ports": ports or {}}, "Skiff": {}}


@pytest.fixture
def db(skiff_root):
    conn = metadata.connect(Config.from_env().metadata_path)
    yield conn
    conn.close()


def _cols(db, cid: str) -> tuple:
    return tuple(db.execute(f"SELECT {records.PS_COLUMNS} FROM containers WHERE id = ?",
                            (cid,)).fetchone())


def test_insert_and_update_write_the_ps_columns(db):
    cid = "1" * 64
    records.insert(db, _rec(cid, "one", "created", ports={"80/tcp": [{"HostIp": "0.0.0.0",
                                                                       "HostPort": "8080"}]}))
    assert _cols(db, cid) == ("created", 0, 1577836800.5, None, None, "bb:1",
                              "sh -c 'echo hi there'", "0.0.0.0:8080->80/tcp")

    def exited(r: dict) -> None:
        r["State"].update(Status="exited", ExitCode=3, StartedAt="2020-01-01T00:00:01Z",
                          FinishedAt="2020-01-01T00:00:02.5Z")
    records.update(db, cid, exited)
    assert _cols(db, cid) == ("exited", 3, 1577836800.5, 1577836801.0, 1577836802.5, "bb:1",
                              "sh -c 'echo hi there'", "0.0.0.0:8080->80/tcp")


def test_image_column_falls_back_to_the_image_id(db):
    cid = "2" * 64
    records.insert(db, _rec(cid, "two", "created", image=""))
    assert _cols(db, cid)[5] == "sha256:" + "a" * 64


def _fill(db) -> None:
    records.insert(db, _rec("a" * 64, "alpha", "created"))
    records.insert(db, _rec("b" * 64, "bravo", "exited", code=137,
                            finished="2020-01-01T00:00:02Z", image="sha256:" + "c" * 64))
    records.insert(db, _rec("d" * 64, "delta", "exited", code=0, finished="2020-01-01T00:00:03Z",
                            args=("-c", "a long command line that gets cut")))
    records.insert(db, _rec("e" * 64, "echo", "created",
                            ports={"443/tcp": None, "80/tcp": [{"HostIp": "", "HostPort": "80"}]}))


def test_ps_table_from_columns_equals_the_record_path(cli, db):
    _fill(db)
    fast = cli("ps", "-a")
    # a filter that keeps every row takes the JSON-record path (list_summaries + tabwrite)
    slow = cli("ps", "-a", "--filter", "name=")
    assert fast.code == slow.code == 0
    assert fast.out == slow.out
    lines = fast.out.splitlines()
    assert lines[0] == ("CONTAINER ID   IMAGE          COMMAND                  CREATED       STATUS"
                        "                     PORTS                  NAMES")
    assert lines[3].startswith("bbbbbbbbbbbb   cccccccccccc   \"sh -c 'echo hi ther…\"   ")
    assert "Exited (137) " in lines[3]
    assert "\"sh -c 'a long comma…\"" in lines[2]
    assert ":80->80/tcp, 443/tcp" in lines[1]
    assert [ln.split()[-1] for ln in lines[1:]] == ["echo", "delta", "bravo", "alpha"]
    assert cli("ps", "-a", "--no-trunc").out == cli("ps", "-a", "--no-trunc", "--filter",
                                                    "name=").out
    assert cli("ps", "-aq").out == "eeeeeeeeeeee\ndddddddddddd\nbbbbbbbbbbbb\naaaaaaaaaaaa\n"
    assert cli("ps", "-n", "2", "-q").out == "eeeeeeeeeeee\ndddddddddddd\n"
    assert cli("ps", "-lq", "--no-trunc").out == "e" * 64 + "\n"
    assert cli("ps", "-q").out == ""  # nothing running


def test_rows_from_before_the_columns_list_from_their_records(cli, db):
    _fill(db)
    before = cli("ps", "-a").out
    db.execute(f"UPDATE containers SET {records._PS_SET}", (None,) * 8)
    assert records.ps_rows(db)[0][2] is None
    assert cli("ps", "-a").out == before


def test_migration_adds_the_columns_to_a_version_5_store(tmp_path):
    path = tmp_path / "m.db"
    db = sqlite3.connect(path, isolation_level=None)
    for m in metadata.MIGRATIONS[:5]:
        m(db)
    db.execute("PRAGMA user_version = 5")
    db.execute("INSERT INTO containers (id, name, image_id, created, data) "
               "VALUES ('x', 'old', NULL, 1.0, '{}')")
    db.close()
    conn = metadata.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 6
    row = conn.execute(f"SELECT name, {records.PS_COLUMNS} FROM containers").fetchone()
    assert tuple(row) == ("old",) + (None,) * 8
    conn.close()


def test_time_columns_read_as_humanize_does():
    import random

    from skiff.format.humanize import format_rfc3339_ns, parse_rfc3339

    rnd = random.Random(4)
    for i in range(3000):
        ns = rnd.randrange(0, 4_000_000_000 * 10**9)
        if i % 3 == 0:
            ns -= ns % 10**9  # whole seconds: no fraction at all
        text = format_rfc3339_ns(ns)
        assert records._unix(text) == parse_rfc3339(text), text
    assert records._unix("2020-01-01T00:00:00.5+01:00") == 1577833200.5
    assert records._unix(records.ZERO_TIME) is None
    assert records._unix("2020-13-01T00:00:00Z") is None
    assert records._unix("not a time") is None
