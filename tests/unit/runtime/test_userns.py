"""skiff.runtime.userns without root: subordinate ranges, mappings, --userns auto sizing
and allocation, and the OCI config a mapping gives (runtime-spec config-linux.md)."""

from __future__ import annotations

import os

import pytest

from skiff.config import Config
from skiff.errors import InvalidArgument
from skiff.runtime import spec as S
from skiff.runtime import userns
from skiff.runtime.userns import IdMapping


def test_read_ranges_by_name_or_uid_in_file_order(tmp_path):
    p = tmp_path / "subuid"
    p.write_text("alice:100000:65536\nskiff:165536:65536\n999:300000:10\nbad line\n"
                 "skiff:400000:5\n")
    assert userns.read_ranges(str(p), ["skiff", "999"]) == [
        (165536, 65536), (300000, 10), (400000, 5)]
    assert userns.read_ranges(str(tmp_path / "missing"), ["skiff"]) == []


def test_ranges_laid_end_to_end_from_container_id_0():
    m = userns.mapping_from_ranges([(165536, 65536), (300000, 10)], [(200000, 1000)])
    assert m.uids == ((0, 165536, 65536), (65536, 300000, 10))
    assert m.gids == ((0, 200000, 1000),)
    assert m.root == (165536, 200000)
    assert m.host_uid(65540) == 300004
    assert m.host_uid(70000) == 65534  # unmapped: the overflow id


def test_mapping_json_round_trip_and_oci_shape():
    m = IdMapping(((0, 100000, 65536),), ((0, 200000, 1024),))
    assert m.to_json() == {"UidMap": [[0, 100000, 65536]], "GidMap": [[0, 200000, 1024]]}
    assert IdMapping.from_json(m.to_json()) == m
    assert IdMapping.from_json(None) is None
    assert m.to_oci() == {
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 1024}]}


def test_auto_size_from_the_images_passwd_and_group():
    passwd = ("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"
              "nobody:x:65534:65534:nobody:/:/bin/false\n")
    assert userns.auto_size([passwd, "root:x:0:\nstaff:x:2000:\n"]) == 2001
    assert userns.auto_size(["root:x:0:0::/:/bin/sh\n"]) == 1024  # Podman's minimum
    assert userns.auto_size([]) == 1024


def test_auto_picks_the_first_free_run(monkeypatch, tmp_path):
    sub = tmp_path / "subuid"
    sub.write_text("containers:100000:4096\n")
    monkeypatch.setattr(userns, "SUBUID", str(sub))
    monkeypatch.setattr(userns, "SUBGID", str(sub))
    monkeypatch.setattr(userns, "ensure_user", lambda name, size: None)
    monkeypatch.setattr(userns.pwd, "getpwnam", lambda n: type("P", (), {"pw_uid": 999})())
    first = userns.auto(1024, [])
    assert first.uids == ((0, 100000, 1024),) and first.gids == first.uids
    second = userns.auto(1024, [first])
    assert second.uids == ((0, 101024, 1024),)
    # a hole left by a removed container is reused; a run too big for what is left fails
    third = userns.auto(1024, [second])
    assert third.uids == ((0, 100000, 1024),)
    with pytest.raises(InvalidArgument, match="not enough free subordinate ids"):
        userns.auto(2048, [first, IdMapping(((0, 102400, 1024),), ((0, 102400, 1024),))])


def test_remap_user_group_needs_ranges(monkeypatch, tmp_path):
    uid, gid = tmp_path / "subuid", tmp_path / "subgid"
    uid.write_text("root:300000:65536\n")
    gid.write_text("root:400000:65536\n")
    monkeypatch.setattr(userns, "SUBUID", str(uid))
    monkeypatch.setattr(userns, "SUBGID", str(gid))
    m = userns.remap("root:root")
    assert (m.uids, m.gids) == (((0, 300000, 65536),), ((0, 400000, 65536),))
    assert userns.remap("0").root == (300000, 400000)
    with pytest.raises(InvalidArgument, match='No subuid ranges found for user "daemon"'):
        userns.remap("daemon")
    with pytest.raises(InvalidArgument, match="no such user"):
        userns.remap("no-such-user-here")


def test_spec_user_namespace_and_ping_range():
    m = IdMapping(((0, 100000, 65536),), ((0, 100000, 65536),))
    spec = S.build_spec(S.SpecOptions(args=("sh",), rootfs="/r", id_mappings=m.to_oci(),
                                      seccomp="unconfined"))
    lin = spec["linux"]
    assert {"type": "user"} in lin["namespaces"]
    assert lin["uidMappings"] == [{"containerID": 0, "hostID": 100000, "size": 65536}]
    assert lin["sysctl"]["net.ipv4.ping_group_range"] == "0 65535"
    pinned = S.build_spec(S.SpecOptions(args=("sh",), rootfs="/r", id_mappings=m.to_oci(),
                                        userns_path="/run/skiff-userns/x", seccomp="unconfined"))
    assert {"type": "user", "path": "/run/skiff-userns/x"} in pinned["linux"]["namespaces"]
    plain = S.build_spec(S.SpecOptions(args=("sh",), rootfs="/r", seccomp="unconfined"))
    assert "uidMappings" not in plain["linux"]
    assert all(n["type"] != "user" for n in plain["linux"]["namespaces"])
    assert plain["linux"]["sysctl"]["net.ipv4.ping_group_range"] == "0 2147483647"


def test_config_userns_remap_from_env_then_daemon_json(monkeypatch, tmp_path):
    monkeypatch.delenv("SKIFF_USERNS_REMAP", raising=False)
    assert Config.from_env(tmp_path).userns_remap == ""
    (tmp_path / "daemon.json").write_text('{"userns-remap": "default"}')
    assert Config.from_env(tmp_path).userns_remap == "default"
    monkeypatch.setenv("SKIFF_USERNS_REMAP", "alice:staff")
    assert Config.from_env(tmp_path).userns_remap == "alice:staff"
    monkeypatch.delenv("SKIFF_USERNS_REMAP")
    (tmp_path / "daemon.json").write_text("[1]")
    with pytest.raises(InvalidArgument, match="not a JSON object"):
        Config.from_env(tmp_path)


def test_inverse_mapping_and_shift_tree(tmp_path):
    m = IdMapping(((0, 100000, 65536),), ((0, 200000, 65536),))
    assert (m.container_uid(100005), m.container_gid(200007)) == (5, 7)
    assert m.container_uid(5) == 65534  # a host id outside the range
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    os.lchown(tmp_path / "d" / "f", 3, 4)
    (tmp_path / "d" / "done").write_text("y")
    os.lchown(tmp_path / "d" / "done", 100001, 200001)  # already shifted: left alone
    os.chmod(tmp_path / "d" / "f", 0o4755)
    userns.shift_tree(str(tmp_path / "d"), m)
    owners = {n: (os.lstat(tmp_path / "d" / n).st_uid, os.lstat(tmp_path / "d" / n).st_gid)
              for n in ("f", "done")}
    assert owners == {"f": (100003, 200004), "done": (100001, 200001)}
    assert os.stat(tmp_path / "d").st_uid == 100000
    assert os.stat(tmp_path / "d" / "f").st_mode & 0o7777 == 0o4755


def test_ns_holder_names_what_failed():
    from skiff.errors import SkiffError
    from skiff.snapshots.idmap import ns_holder

    with pytest.raises(SkiffError) as e, ns_holder(["/bin/false"], "net", "network namespace"):
        pass
    assert str(e.value) == "network namespace: false failed"
    with pytest.raises(SkiffError) as e, ns_holder(["/nonexistent/unshare"], "user", "user namespace"):
        pass
    assert str(e.value) == "user namespace: /nonexistent/unshare: No such file or directory"
