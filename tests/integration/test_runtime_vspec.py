"""``-v`` specs as docker 20.10 reads them: docker/cli's compose-style parser decides what
is a bind/named volume (HostConfig.Binds) and what an anonymous volume (Config.Volumes;
its Windows-drive rule makes ``-v a:b`` an anonymous volume at ``/a:b``), then dockerd's
Linux parser checks each bind (``invalid volume specification: ...``). Every expected
value was read from docker 20.10.24 on this machine (busybox image as bb:1)."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def _created(sk, *v: str) -> dict:
    args = [x for spec in v for x in ("-v", spec)]
    res = sk("create", *args, "bb:1", "true")
    assert res.code == 0, res
    rec = json.loads(sk("inspect", res.out.strip()).out)[0]
    assert sk("rm", "-v", rec["Id"]).code == 0
    return rec


def _anon(rec: dict) -> list[tuple]:
    return [(m["Type"], len(m["Name"]), m["Destination"], m["RW"]) for m in rec["Mounts"]]


@pytest.mark.parametrize("spec", ["a:b", "a:/b", "a", "ab", "/b"])
def test_anonymous(sk, spec):
    rec = _created(sk, spec)
    assert rec["HostConfig"]["Binds"] is None
    assert rec["Config"]["Volumes"] == {spec: {}}
    assert _anon(rec) == [("volume", 64, spec, True)]


def test_single_letter_is_a_windows_drive_so_a_volume_at_slash_a_colon_b(sk):
    res = sk("run", "--rm", "-v", "a:b", "-v", "x:/y", "bb:1", "ls", "-d", "/a:b", "/x:/y")
    assert (res.code, res.out) == (0, "/a:b\n/x:/y\n")


def test_binds_and_named(sk, tmp_path):
    rec = _created(sk, "nv-named:/b", f"{tmp_path}//x/:/c/d/")
    assert rec["HostConfig"]["Binds"] == ["nv-named:/b", f"{tmp_path}//x/:/c/d/"]
    assert rec["Config"]["Volumes"] is None
    m = {x["Destination"]: x for x in rec["Mounts"]}
    assert (m["/b"]["Type"], m["/b"]["Name"], m["/b"]["Mode"]) == ("volume", "nv-named", "z")
    assert (m["/c/d"]["Type"], m["/c/d"]["Source"]) == ("bind", f"{tmp_path}/x")
    assert sk("volume", "rm", "nv-named").code == 0


@pytest.mark.parametrize("spec,err", [
    # dockerd's Linux parser
    ("nv-aa:b", "invalid volume specification: 'nv-aa:b': invalid mount config for type "
                "\"volume\": invalid mount path: 'b' mount path must be absolute"),
    ("a:b:ro", "invalid volume specification: 'a:b:ro': invalid mount config for type "
               "\"volume\": invalid mount path: 'b' mount path must be absolute"),
    ("/tmp:b", "invalid volume specification: '/tmp:b': invalid mount config for type "
               "\"bind\": invalid mount path: 'b' mount path must be absolute"),
    ("/tmp:/", "invalid volume specification: '/tmp:/': invalid mount config for type "
               "\"bind\": invalid specification: destination can't be '/'"),
    ("/foo:rw", "invalid volume specification: '/foo:rw'"),
    ("nv-aa:/b:bogus", "invalid mode: bogus"),
    ("/x:/b:rw,ro", "invalid mode: rw,ro"),
    ("a:/b:ro", "create a: volume name is too short, names should be at least two "
                "alphanumeric characters"),
    # docker/cli's
    ("/tmp:/b:", "invalid spec: /tmp:/b:: empty section between colons"),
    (":/b", "invalid spec: :/b: empty section between colons"),
    ("nv-aa:/b:rw:ro", "invalid spec: nv-aa:/b:rw:ro: too many colons"),
])
def test_refused(sk, spec, err):
    before = (sk("ps", "-aq").out, sk("volume", "ls", "-q").out)
    res = sk("run", "--rm", "-v", spec, "bb:1", "true")
    assert (res.code, res.err) == (125, f"skiff: {err}\n")
    assert (sk("ps", "-aq").out, sk("volume", "ls", "-q").out) == before


@pytest.mark.parametrize("spec,err", [
    ("type=volume,target=b", 'invalid mount config for type "volume": invalid mount path: '
                             "'b' mount path must be absolute"),
    ("type=bind,source=/tmp,target=b", 'invalid mount config for type "bind": invalid mount '
                                       "path: 'b' mount path must be absolute"),
    ("type=tmpfs,target=b", 'invalid mount config for type "tmpfs": invalid mount path: '
                            "'b' mount path must be absolute"),
    ("type=volume,source=nv-aa,target=/", 'invalid mount config for type "volume": invalid '
                                          "specification: destination can't be '/'"),
])
def test_mount_flag_refused(sk, spec, err):
    before = (sk("ps", "-aq").out, sk("volume", "ls", "-q").out)
    res = sk("run", "--rm", "--mount", spec, "bb:1", "true")
    assert (res.code, res.err) == (125, f"skiff: {err}\n")
    assert (sk("ps", "-aq").out, sk("volume", "ls", "-q").out) == before
