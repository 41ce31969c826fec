"""Container records, Docker's create-time merging rules and the json-file log format."""

from __future__ import annotations

import json

import pytest

from skiff import metadata
from skiff.errors import AlreadyExists, InvalidArgument
from skiff.runtime import jsonlog, options, records


@pytest.fixture
def db(tmp_path):
    conn = metadata.connect(tmp_path / "m.db")
    yield conn
    conn.close()


def _rec(cid: str, name: str, status: str = "created") -> dict:
    st = records.new_state()
    st["Status"] = status
    return {"Id": cid, "Name": "/" + name, "Image": "sha256:" + "a" * 64, "State": st,
            "Created": "2026-01-01T00:00:00Z", "Path": "sh", "Args": ["-c", "echo hi there"],
            "Config": {"Image": "bb:1", "Labels": {"k": "v"}}, "Mounts": [],
            "HostConfig": {"NetworkMode": "none"}, "Skiff": {}}


def test_lookup_by_id_name_and_prefix(db):
    a, b = "ab" + "0" * 62, "ac" + "1" * 62
    records.insert(db, _rec(a, "first"))
    records.insert(db, _rec(b, "second"))
    assert records.lookup(db, a)["Name"] == "/first"
    assert records.lookup(db, "/second")["Id"] == b
    assert records.lookup(db, "ab")["Id"] == a
    with pytest.raises(InvalidArgument, match="multiple IDs found with provided prefix: a"):
        records.lookup(db, "a")
    with pytest.raises(records.ContainerNotFound, match="No such container: zz"):
        records.lookup(db, "zz")


def test_name_conflict_message(db):
    records.insert(db, _rec("1" * 64, "web"))
    with pytest.raises(AlreadyExists) as ei:
        records.insert(db, _rec("2" * 64, "web"))
    assert str(ei.value) == ('Conflict. The container name "/web" is already in use by container '
                             f'"{"1" * 64}". You have to remove (or rename) that container to be '
                             "able to reuse that name.")
    assert ei.value.exit_code == 125


def test_summaries_match_records(db):
    records.insert(db, _rec("3" * 64, "s1", "exited"))
    (s,) = list(records.summaries(db))
    full = records.get(db, "3" * 64)
    for k in ("Id", "Name", "State", "Image", "Path", "Args", "Created", "Mounts"):
        assert s[k] == full[k]
    assert s["Config"] == {"Image": "bb:1", "Labels": {"k": "v"}}
    assert records.command_text(s) == "sh -c 'echo hi there'"


def test_validate_name():
    assert records.validate_name("/ok_name.1") == "ok_name.1"
    with pytest.raises(InvalidArgument, match=r"Invalid container name \(-x\)"):
        records.validate_name("-x")


def test_env_merge_and_cmd_rules():
    img = {"Env": ["PATH=/bin", "A=1"], "Cmd": ["sh"], "Entrypoint": None, "WorkingDir": "/w",
           "User": "app", "StopSignal": "SIGQUIT", "Volumes": {"/data": {}}}
    o = options.CreateOptions(image="x", env=("A=2", "B=3"))
    cfg = options.container_config(o, img, "h", "x")
    assert cfg["Env"] == ["PATH=/bin", "A=2", "B=3"]
    assert (cfg["Cmd"], cfg["Entrypoint"], cfg["WorkingDir"], cfg["User"]) == (["sh"], None, "/w", "app")
    assert cfg["StopSignal"] == "SIGQUIT" and cfg["Volumes"] == {"/data": {}}
    cfg = options.container_config(options.CreateOptions(image="x", entrypoint=("/init",)), img, "h", "x")
    assert (cfg["Entrypoint"], cfg["Cmd"]) == (["/init"], None)  # --entrypoint drops the image's Cmd
    with pytest.raises(InvalidArgument, match="No command specified"):
        options.container_config(options.CreateOptions(image="x"), {}, "h", "x")
    assert options.process_env({"Hostname": "h", "Tty": True, "Env": ["PATH=/x", "Z=1"]}) == [
        "PATH=/x", "HOSTNAME=h", "TERM=xterm", "Z=1"]


def test_restart_policy_and_ulimit_parsing():
    assert options.parse_restart("on-failure:3") == ("on-failure", 3)
    assert options.parse_restart("always") == ("always", 0)
    with pytest.raises(InvalidArgument, match="maximum retry count cannot be used with restart policy 'always'"):
        options.parse_restart("always:2")
    with pytest.raises(InvalidArgument) as ei:
        options.parse_restart("sometimes")
    # dockerd 20.10 / docker/cli 28 wording, each observed
    assert str(ei.value) == "invalid restart policy 'sometimes'"
    for spec, msg in [("no:2", "maximum retry count cannot be used with restart policy 'no'"),
                      ("on-failure:-1", "maximum retry count cannot be negative"),
                      ("on-failure:x", "invalid restart policy format: maximum retry count "
                                       "must be an integer")]:
        with pytest.raises(InvalidArgument) as ei:
            options.parse_restart(spec)
        assert str(ei.value) == msg, spec
    hc = options.host_config(options.CreateOptions(ulimits=("nofile=100:200",), memory=1 << 26))
    assert hc["Ulimits"] == [{"Name": "nofile", "Hard": 200, "Soft": 100}]
    assert (hc["Memory"], hc["MemorySwap"]) == (1 << 26, 1 << 27)
    with pytest.raises(InvalidArgument, match="soft limit must be less than or equal to hard limit"):
        options.host_config(options.CreateOptions(ulimits=("nofile=300:200",)))


def test_json_file_lines_as_docker_writes_them():
    sp = jsonlog.StreamSplitter("stdout")
    out = sp.feed(b"a<b>&\xff\npart", now="2026-01-01T00:00:00.5Z")
    assert out == b'{"log":"a\\u003cb\\u003e\\u0026\xef\xbf\xbd\\n","stream":"stdout","time":"2026-01-01T00:00:00.5Z"}\n'
    assert json.loads(sp.flush())["log"] == "part"
    big = sp.feed(b"x" * (jsonlog.MAX_LINE + 5))
    assert [len(json.loads(ln)["log"]) for ln in big.splitlines()] == [jsonlog.MAX_LINE]
    assert len(json.loads(sp.flush())["log"]) == 5
