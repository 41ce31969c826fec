"""User namespaces with real runc and overlayfs: ``userns-remap`` (the store's
configuration, dockerd's option) and ``--userns auto|host``.

What is checked is what the issue asks: the container's process runs as the mapped uid
on the host (/proc/PID/status), is root inside, sees the image's files owned by root, and
what it writes lands with the mapped uid in its upper directory; volumes and binds work;
containers share the image's layers on disk whatever their mapping (idmapped layers:
skiff.snapshots.idmap)."""

from __future__ import annotations

import json
import os
import pwd

import pytest

from skiff.runtime import userns
from skiff.snapshots import idmap
from tests.integration import runtime_support

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay,
              pytest.mark.skipif(not idmap.supported(), reason="kernel without idmapped mounts")]


@pytest.fixture(scope="module")
def root(busybox_tar):
    yield from runtime_support.store(busybox_tar, searchable=True)


@pytest.fixture
def sk(root, monkeypatch):
    monkeypatch.setenv("SKIFF_USERNS_REMAP", "default")
    return runtime_support.runner(root)


def _inspect(sk, ref: str) -> dict:
    res = sk("inspect", ref)
    assert res.code == 0, res
    return json.loads(res.out)[0]


def _status_ids(pid: int) -> tuple[str, str]:
    with open(f"/proc/{pid}/status") as f:
        lines = dict(ln.split(":", 1) for ln in f.read().splitlines() if ":" in ln)
    return lines["Uid"].split()[0], lines["Gid"].split()[0]


def _skiff_base() -> tuple[int, int]:
    userns.ensure_default_user()
    names = ["skiff", str(pwd.getpwnam("skiff").pw_uid)]
    return (userns.read_ranges(userns.SUBUID, names)[0][0],
            userns.read_ranges(userns.SUBGID, names)[0][0])


def _du(path) -> int:
    """Bytes allocated under ``path`` (each inode once, as du), files vanishing meanwhile
    (another test's container going away) skipped."""
    seen, total = set(), 0
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            try:
                st = os.lstat(os.path.join(dirpath, n))
            except FileNotFoundError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def test_remap_default_root_is_the_skiff_users_range(sk, root):
    base_uid, base_gid = _skiff_base()
    res = sk("run", "-d", "--name", "un-remap", "bb:1", "sleep", "300")
    assert res.code == 0, res
    rec = _inspect(sk, "un-remap")
    assert rec["HostConfig"]["UsernsMode"] == ""
    assert _status_ids(rec["State"]["Pid"]) == (str(base_uid), str(base_gid))
    res = sk("exec", "un-remap", "sh", "-c",
             "id; cat /proc/self/uid_map; stat -c '%u:%g %n' /bin/busybox /etc/passwd /; "
             "echo data > /tmp/written")
    assert res.code == 0, res
    assert res.out.splitlines() == [
        "uid=0(root) gid=0(root)",
        f"{0:>10} {base_uid:>10} {65536:>10}",
        "0:0 /bin/busybox", "0:0 /etc/passwd", "0:0 /"]
    upper = root / "snapshots"
    found = [p for p in upper.glob("*/fs/tmp/written")]
    assert len(found) == 1
    st = os.stat(found[0])
    assert (st.st_uid, st.st_gid) == (base_uid, base_gid)
    # the image's own files on disk stay owned by host root (no chowned copy)
    layer = [p for p in upper.glob("*/fs/bin/busybox")]
    assert layer and all(os.stat(p).st_uid == 0 for p in layer)
    assert sk("rm", "-f", "un-remap").code == 0


def test_userns_host_opts_out_of_the_remap(sk):
    res = sk("run", "-d", "--userns", "host", "--name", "un-host", "bb:1", "sleep", "300")
    assert res.code == 0, res
    rec = _inspect(sk, "un-host")
    assert rec["HostConfig"]["UsernsMode"] == "host"
    assert _status_ids(rec["State"]["Pid"]) == ("0", "0")
    assert sk("rm", "-f", "un-host").code == 0


def test_volumes_and_binds(sk, root, tmp_path):
    base_uid, base_gid = _skiff_base()
    os.chmod(tmp_path, 0o711)
    bind = tmp_path / "bind"
    bind.mkdir()
    (bind / "from-host").write_text("host\n")
    os.chown(bind, base_uid, base_gid)  # as with Docker: the remapped root must own it
    res = sk("run", "--rm", "-v", "unvol:/data", "-v", "unetc:/etc", "-v", f"{bind}:/bind",
             "bb:1", "sh", "-c",
             "cat /bind/from-host; echo v > /data/new; echo b > /bind/new; "
             "stat -c '%u:%g %n' /data /data/new /etc/passwd /bind/new")
    assert res.code == 0, res
    assert res.out.splitlines() == ["host", "0:0 /data", "0:0 /data/new", "0:0 /etc/passwd",
                                    "0:0 /bind/new"]
    for p in (root / "volumes" / "unvol" / "_data" / "new",
              root / "volumes" / "unetc" / "_data" / "passwd",  # copied up from the image
              bind / "new"):
        st = os.stat(p)
        assert (st.st_uid, st.st_gid) == (base_uid, base_gid), p


def test_auto_ranges_differ_and_layers_are_shared(sk, root):
    sizes_before = _du(root / "snapshots")
    ids = []
    for name in ("un-auto1", "un-auto2"):
        res = sk("run", "-d", "--userns", "auto", "--name", name, "bb:1", "sleep", "300")
        assert res.code == 0, res
        ids.append(name)
    maps = []
    for name in ids:
        rec = _inspect(sk, name)
        assert rec["HostConfig"]["UsernsMode"] == "auto"
        res = sk("exec", name, "sh", "-c", "cat /proc/self/uid_map; stat -c %u /bin/busybox")
        assert res.code == 0, res
        c, h, n, owner = res.out.split()
        assert (c, n, owner) == ("0", "1024", "0")  # busybox's passwd: ids below 1024
        assert _status_ids(rec["State"]["Pid"])[0] == h
        maps.append(int(h))
    assert abs(maps[0] - maps[1]) >= 1024  # no overlap
    # the two containers added their (empty) upper dirs and nothing like a copy of the
    # image's 2 MB layer: every mapping reads the one unpacked copy through idmaps
    assert _du(root / "snapshots") - sizes_before < 256 * 1024
    assert sk("rm", "-f", *ids).code == 0


def test_refusals(sk):
    res = sk("run", "--rm", "--privileged", "bb:1", "true")
    assert (res.code, res.err) == (
        125, "skiff: privileged mode is incompatible with user namespaces.  You must run the "
             "container in the host namespace when running privileged mode\n")
    res = sk("run", "--rm", "--network", "host", "bb:1", "true")
    assert (res.code, res.err) == (
        125, "skiff: cannot share the host's network namespace when user namespaces are "
             "enabled\n")
    res = sk("run", "--rm", "--userns", "bogus", "bb:1", "true")
    assert (res.code, res.err) == (125, "skiff: --userns: invalid USER mode\n")
    res = sk("run", "--rm", "--userns", "host", "--network", "host", "bb:1", "cat", "/proc/self/uid_map")
    assert (res.code, res.out) == (0, f"{0:>10} {0:>10} {4294967295:>10}\n")


def test_cp_in_and_commit_keep_the_containers_ids(sk, tmp_path):
    (tmp_path / "hostfile").write_text("from host\n")
    assert sk("run", "-d", "--name", "un-cp", "bb:1", "sleep", "300").code == 0
    assert sk("cp", str(tmp_path / "hostfile"), "un-cp:/tmp/").code == 0
    assert sk("exec", "un-cp", "sh", "-c", "echo x > /made-inside").code == 0
    res = sk("exec", "un-cp", "stat", "-c", "%u:%g %n", "/tmp/hostfile", "/made-inside")
    assert (res.code, res.out) == (0, "0:0 /tmp/hostfile\n0:0 /made-inside\n"), res
    res = sk("commit", "un-cp", "un-committed:1")
    assert res.code == 0, res
    # the new layer carries the container's ids (0), not the host's (the mapped range)
    res = sk("run", "--rm", "--userns", "host", "un-committed:1", "stat", "-c", "%u:%g %n",
             "/tmp/hostfile", "/made-inside")
    assert (res.code, res.out) == (0, "0:0 /tmp/hostfile\n0:0 /made-inside\n"), res
    assert sk("rm", "-f", "un-cp").code == 0
    assert sk("rmi", "un-committed:1").code == 0


def test_export_shows_the_containers_ids(sk, root, tmp_path):
    import tarfile

    assert sk("run", "-d", "--name", "un-exp", "bb:1", "sh", "-c",
              "echo x > /mine; sleep 300").code == 0
    out = tmp_path / "exp.tar"
    for state in ("running", "stopped"):
        if state == "stopped":
            assert sk("stop", "-t", "0", "un-exp").code == 0
        assert sk("export", "-o", str(out), "un-exp").code == 0
        with tarfile.open(out) as t:
            owners = {m.name: (m.uid, m.gid) for m in t.getmembers()}
        assert owners["mine"] == (0, 0), state
        assert owners["bin/busybox"] == (0, 0), state
    assert sk("rm", "-f", "un-exp").code == 0


def test_chowned_copy_fallback_shared_and_released_with_the_image(sk, root, monkeypatch):
    """Without idmapped mounts (forced here), each level gets one chowned copy per
    mapping, shared by that mapping's containers and deleted with the level."""
    monkeypatch.setenv("SKIFF_USERNS_SHIFT", "copy")
    base_uid, _ = _skiff_base()
    assert sk("run", "--name", "un-mk", "--userns", "host", "bb:1", "sh", "-c",
              "echo layer > /added").code == 0
    assert sk("commit", "un-mk", "un-shift:1").code == 0
    assert sk("rm", "un-mk").code == 0
    levels = root / "snapshots"
    before = _du(levels)
    for name in ("un-copy1", "un-copy2"):
        res = sk("run", "-d", "--name", name, "un-shift:1", "sleep", "300")
        assert res.code == 0, res
        res = sk("exec", name, "stat", "-c", "%u:%g %n", "/bin/busybox", "/added")
        assert (res.code, res.out) == (0, "0:0 /bin/busybox\n0:0 /added\n"), res
    copies = sorted(levels.glob("*/shifted/*/fs"))
    assert len(copies) == 2  # the busybox level and the committed one: once each
    assert os.stat(next(c for c in copies if (c / "added").exists()) / "added").st_uid == base_uid
    # one copy of the 2 MB layer for both containers, not one each
    grown = _du(levels) - before
    assert 1_500_000 < grown < 3_500_000, grown
    assert sk("rm", "-f", "un-copy1", "un-copy2").code == 0
    assert sk("rmi", "un-shift:1").code == 0
    left = sorted(levels.glob("*/shifted/*/fs"))
    assert len(left) == 1 and not (left[0] / "added").exists()  # bb:1's level remains


def test_cp_to_stdout_shows_the_containers_ids(sk):
    # cp C:/tmp - of a remapped container: the tar's owners are the container's (0:0, and
    # app's 1000:1000), as docker export's are, and what cp - C:DIR takes back. NB: dockerd
    # 20.10.24 (userns-remap=default, observed here) puts the host ids in cp's tar
    # (1214112/1215112), a known open bug (moby/moby#43698: its own cp - round trip then
    # fails "Container ID 166536 cannot be mapped"); skiff follows export here, by design.
    # Names: none (dockerd's lookup of the host id finds none; observed '' in both).
    import io
    import tarfile

    assert sk("run", "-d", "--name", "un-cptar", "bb:1", "sh", "-c",
              "echo x > /tmp/mine; touch /tmp/app; chown 1000:1000 /tmp/app; "
              "sleep 300").code == 0
    for _ in range(50):
        if sk("exec", "un-cptar", "ls", "/tmp/app").code == 0:
            break
    for state in ("running", "stopped"):
        if state == "stopped":
            assert sk("stop", "-t", "0", "un-cptar").code == 0
        res = sk("cp", "un-cptar:/tmp", "-")
        assert res.code == 0, res
        with tarfile.open(fileobj=io.BytesIO(res.out.encode("latin-1"))) as t:
            owners = {m.name: (m.uid, m.gid, m.uname, m.gname) for m in t.getmembers()}
            data = t.extractfile("tmp/mine").read()
        assert owners == {"tmp": (0, 0, "", ""), "tmp/mine": (0, 0, "", ""),
                          "tmp/app": (1000, 1000, "", "")}, state
        assert data == b"x\n"
    assert sk("rm", "-f", "un-cptar").code == 0


def test_joining_a_remapped_containers_namespaces(sk):
    # dockerd gives a joiner the donor's user namespace (a namespace is joined from the
    # user namespace owning it): --pid/--ipc/--network container:X work under the remap
    # (observed with dockerd 20.10.24 --userns-remap=default: same ipc/user/net links,
    # ps shows the donor's sleep as PID 1)
    assert sk("run", "-d", "--name", "un-don", "--ipc", "shareable", "bb:1",
              "sleep", "300").code == 0
    res = sk("run", "--rm", "--pid", "container:un-don", "bb:1", "ps", "-o", "pid,comm")
    assert res.code == 0, res
    assert res.out.splitlines()[1].split() == ["1", "sleep"]
    for flag, ns in (("--ipc", "ipc"), ("--network", "net")):
        want = sk("exec", "un-don", "readlink", f"/proc/self/ns/{ns}")
        res = sk("run", "--rm", flag, "container:un-don", "bb:1", "readlink",
                 f"/proc/self/ns/{ns}")
        assert (res.code, res.out) == (0, want.out), flag
    res = sk("run", "--rm", "--pid", "container:un-don", "bb:1", "readlink", "/proc/self/ns/user")
    assert res.out == sk("exec", "un-don", "readlink", "/proc/self/ns/user").out
    assert sk("rm", "-f", "un-don").code == 0


def test_cp_from_stdin_takes_the_tars_ids_as_the_containers(sk):
    # docker cp - C:DIR into a remapped container extracts with its identity mapping: a
    # member owned 0:0 is root's inside, 1000:1000 app's (not nobody: unmapped host ids);
    # observed with dockerd 20.10.24 --userns-remap=default: "0:0 /tmp/r", "1000:1000 /tmp/a"
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, ids in (("r", 0), ("a", 1000)):
            ti = tarfile.TarInfo(name)
            ti.size, ti.uid, ti.gid = 2, ids, ids
            t.addfile(ti, io.BytesIO(b"x\n"))
    assert sk("run", "-d", "--name", "un-cpin", "bb:1", "sleep", "300").code == 0
    res = sk("cp", "-", "un-cpin:/tmp", stdin=buf.getvalue())
    assert res.code == 0, res
    res = sk("exec", "un-cpin", "stat", "-c", "%u:%g %n", "/tmp/r", "/tmp/a")
    assert (res.code, res.out) == (0, "0:0 /tmp/r\n1000:1000 /tmp/a\n")
    assert sk("rm", "-f", "un-cpin").code == 0
