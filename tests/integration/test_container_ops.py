"""exec, top, cp, diff, export, pause, rename, volumes: real runc on the busybox image."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time

import pytest

from tests.integration.test_container_lifecycle import _main, drop_runc_root

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


@pytest.fixture(scope="module")
def root(tmp_path_factory, busybox_tar):
    r = tmp_path_factory.mktemp("ops") / "root"
    assert _main(r, "import", str(busybox_tar), "bb:1").code == 0
    yield r
    ids = _main(r, "ps", "-aq", "--no-trunc").out.split()
    if ids:
        _main(r, "rm", "-f", *ids)
    with open("/proc/self/mountinfo") as f:
        mounts = [ln.split()[4] for ln in f]
    for m in sorted((m for m in mounts if m.startswith(str(r))), reverse=True):
        subprocess.run(["umount", "-l", m], check=False)
    drop_runc_root(r)


@pytest.fixture
def sk(root):
    return lambda *a, stdin=None: _main(root, *a, stdin=stdin)


@pytest.fixture(scope="module")
def running(root):
    res = _main(root, "run", "-d", "--name", "opsbox", "bb:1", "sh", "-c",
                "mkdir -p /srv && echo data > /srv/file && rm /etc/group && exec sleep 300")
    assert res.code == 0, res
    for _ in range(200):
        if _main(root, "exec", "opsbox", "cat", "/srv/file").code == 0:
            break
        time.sleep(0.02)
    yield "opsbox"
    _main(root, "rm", "-f", "opsbox")


def test_exec_codes_output_user_env(sk, running):
    res = sk("exec", "-e", "X=1", "-u", "app", "-w", "/tmp", running, "sh", "-c",
             "echo $X; id -u; pwd; echo oops >&2; exit 4")
    assert (res.code, res.out, res.err) == (4, "1\n1000\n/tmp\n", "oops\n")
    res = sk("exec", running, "/no/such")
    assert res.code == 127
    assert res.err == ('skiff: OCI runtime exec failed: exec failed: unable to start container '
                       'process: exec: "/no/such": stat /no/such: no such file or directory: unknown\n')
    res = sk("exec", "-i", running, "cat", stdin=b"piped\n")
    assert (res.code, res.out) == (0, "piped\n")


def test_top_lists_container_processes_only(sk, running):
    res = sk("top", running)
    lines = res.out.splitlines()
    assert lines[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert [ln.split(None, 7)[7] for ln in lines[1:]] == ["sleep 300"]
    # ps refusing its arguments: the first line of its complaint, as dockerd (exit 1)
    res = sk("top", running, "bogusarg")
    assert (res.code, res.err) == (1, "skiff: ps: error: unsupported option (BSD syntax)\n")


def test_diff_shows_the_containers_changes_only(sk, running):
    assert sk("diff", running).out == "C /etc\nD /etc/group\nA /srv\nA /srv/file\n"


def test_cp_both_ways_and_symlinks_stay_inside(sk, running, tmp_path):
    assert sk("cp", f"{running}:/srv/file", str(tmp_path / "out")).code == 0
    assert (tmp_path / "out").read_text() == "data\n"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a").write_text("A\n")
    assert sk("cp", str(tmp_path / "in"), f"{running}:/srv/").code == 0
    assert sk("exec", running, "cat", "/srv/in/a").out == "A\n"
    # a symlink pointing at / in the container must resolve inside its root, not the host's
    assert sk("exec", running, "ln", "-s", "/", "/srv/up").code == 0
    (tmp_path / "evil").write_text("x\n")
    assert sk("cp", str(tmp_path / "evil"), f"{running}:/srv/up/tmp/").code == 0
    assert sk("exec", running, "cat", "/tmp/evil").out == "x\n"
    assert not os.path.exists("/tmp/evil") or open("/tmp/evil").read() != "x\n"
    res = sk("cp", f"{running}:/nope", str(tmp_path / "x"))
    assert (res.code, res.err) == (1, f"skiff: Could not find the file /nope in container {running}\n")  # docker cp: 1


def test_export_is_the_flattened_filesystem(sk, running, tmp_path):
    out = tmp_path / "fs.tar"
    assert sk("export", "-o", str(out), running).code == 0
    with tarfile.open(out) as t:
        names = set(t.getnames())
    # Docker's names: no "./" prefix, no entry for the root itself; its init layer's
    # /.dockerenv and /etc/mtab are in the archive
    assert {"bin/busybox", "srv/file", "etc/passwd", ".dockerenv", "etc/mtab"} <= names
    assert "etc/group" not in names and not [n for n in names if n.startswith(("./", "/"))]


def test_pause_unpause_rename(sk):
    cid = sk("run", "-d", "--name", "pz", "bb:1", "sleep", "300").out.strip()
    assert sk("pause", "pz").out == "pz\n"
    assert "(Paused)" in sk("ps", "--filter", "name=pz").out
    st = json.loads(sk("inspect", "pz").out)[0]["State"]
    assert (st["Status"], st["Paused"], st["Running"]) == ("paused", True, True)
    assert sk("unpause", "pz").out == "pz\n"
    assert sk("rename", "pz", "pz2").code == 0
    assert json.loads(sk("inspect", cid).out)[0]["Name"] == "/pz2"
    assert sk("inspect", "pz").code == 1
    sk("rm", "-f", "pz2")


def test_named_volume_copy_up_and_persistence(sk):
    res = sk("run", "--rm", "-v", "vdata:/etc", "bb:1", "sh", "-c", "cat /etc/group; echo new > /etc/n")
    assert res.out.startswith("root:x:0:")
    assert sk("run", "--rm", "-v", "vdata:/data", "bb:1", "cat", "/data/n").out == "new\n"
    v = json.loads(sk("volume", "inspect", "vdata").out)[0]
    assert (v["Name"], v["Driver"], v["Scope"]) == ("vdata", "local", "local")
    assert "vdata" in sk("volume", "ls", "-q").out.split()
    cid = sk("create", "-v", "vdata:/d", "bb:1", "true").out.strip()
    res = sk("volume", "rm", "vdata")
    assert res.code == 1 and res.err == f"skiff: remove vdata: volume is in use - [{cid}]\n"
    sk("rm", cid)
    assert sk("volume", "rm", "vdata").out == "vdata\n"


def test_anonymous_volume_removed_with_rm_v(sk, root):
    cid = sk("create", "-v", "/scratch", "bb:1", "true").out.strip()
    rec = json.loads(sk("inspect", cid).out)[0]
    (m,) = rec["Mounts"]
    assert (m["Type"], m["Destination"], m["RW"], len(m["Name"])) == ("volume", "/scratch", True, 64)
    assert sk("rm", "-v", cid).code == 0
    assert m["Name"] not in sk("volume", "ls", "-q").out


def test_tty_output_is_logged(sk):
    res = sk("run", "-t", "--name", "tty1", "bb:1", "sh", "-c", "tty; echo line")
    assert res.code == 0, res
    assert res.out == "/dev/pts/0\r\nline\r\n"
    assert sk("logs", "tty1").out == "/dev/pts/0\r\nline\r\n"
    sk("rm", "tty1")


def test_export_stream_is_a_tar(root, sk):
    sk("create", "--name", "exp", "bb:1", "true")
    r = subprocess.run(["python3", "-m", "skiff", "--root", str(root), "export", "exp"],
                       capture_output=True, env={**os.environ, "PYTHONPATH": str(
                           os.path.dirname(os.path.dirname(os.path.dirname(__file__))) + "/src")})
    assert r.returncode == 0, r.stderr
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as t:
        busybox = t.getmember("bin/busybox")
        assert (busybox.uname, busybox.gname) == ("root", "root")  # as docker export
        assert t.getnames()[:3] == ["bin", "bin/busybox", "bin/cat"]  # in name order
    # an output that fails: docker export's one line ("write /dev/stdout: ..."), exit 1
    with open("/dev/full", "wb") as full:
        r = subprocess.run(["python3", "-m", "skiff", "--root", str(root), "export", "exp"],
                           stdout=full, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(
                               os.path.dirname(os.path.dirname(os.path.dirname(__file__))) + "/src")})
    assert (r.returncode, r.stderr) == (1, b"skiff: write /dev/stdout: no space left on device\n")
    sk("rm", "exp")


def test_commit_makes_an_image_without_runc_stubs(sk, root):
    assert sk("run", "--name", "cm", "bb:1", "sh", "-c", "echo made > /root/f; rm /etc/group").code == 0
    res = sk("commit", "-m", "note", "-c", 'CMD ["cat", "/root/f"]', "cm", "bb:committed")
    assert res.code == 0, res
    image_id = res.out.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    assert sk("run", "--rm", "bb:committed").out == "made\n"
    cid = sk("create", "bb:committed").out.strip()
    assert sk("diff", cid).out == ""
    # the new layer holds the change and the whiteout, not /etc/hosts & co.
    res = sk("run", "--rm", "bb:committed", "ls", "-a", "/etc")
    # (mtab: Docker's init layer's symlink, below every container; not in the image)
    assert res.out.split() == [".", "..", "hostname", "hosts", "mtab", "passwd", "resolv.conf"]
    assert sk("history", "--format", "{{.Comment}}", "bb:committed").out.splitlines()[0] == "note"
    sk("rm", "cm", cid)


def test_logs_tail_timestamps_follow_and_stats(sk, running):
    cid = sk("run", "-d", "bb:1", "sh", "-c", "for i in 1 2 3; do echo line$i; done; sleep 0.3; echo e >&2; sleep 0.3; echo last").out.strip()
    res = sk("logs", "-f", cid)  # follows until the container exits
    assert (res.out, res.err) == ("line1\nline2\nline3\nlast\n", "e\n")
    # the last 3 entries of both streams (the sleeps order them across the two pipes)
    res = sk("logs", "--tail", "3", cid)
    assert (res.out, res.err) == ("line3\nlast\n", "e\n")
    ts, text = sk("logs", "-t", "--tail", "1", cid).out.split(" ", 1)
    assert text == "last\n" and ts.endswith("Z") and ts[4] == "-"
    assert sk("logs", "--since", "1h", "--tail", "1", cid).out == "last\n"
    sk("rm", cid)
    res = sk("stats", "--no-stream", running)
    head, row = res.out.splitlines()
    assert head.split("   ")[0] == "CONTAINER ID"
    assert row.split()[1] == running and row.split()[-1] == "1"  # one process: sleep


def test_seccomp_and_no_new_privileges(sk):
    # the default profile refuses keyctl's cousin add_key? (allowed); unshare of a user ns
    # needs CAP_SYS_ADMIN under the default profile → EPERM; unconfined lets the kernel decide
    res = sk("run", "--rm", "bb:1", "grep", "-E", "^(Seccomp|NoNewPrivs):", "/proc/self/status")
    assert res.out == "NoNewPrivs:\t0\nSeccomp:\t2\n"
    res = sk("run", "--rm", "--security-opt", "seccomp=unconfined", "--security-opt",
             "no-new-privileges", "bb:1", "grep", "-E", "^(Seccomp|NoNewPrivs):", "/proc/self/status")
    assert res.out == "NoNewPrivs:\t1\nSeccomp:\t0\n"


def test_container_prune_removes_stopped_only(sk, running):
    stopped = sk("create", "bb:1", "true").out.strip()
    res = sk("container", "prune", "-f")
    assert res.out.startswith("Deleted Containers:\n") and f"{stopped}\n" in res.out
    assert res.out.splitlines()[-1].startswith("Total reclaimed space: ")
    assert sk("inspect", running).code == 0
    assert sk("inspect", stopped).code == 1


def test_cp_to_stdout_archive_and_follow_link(root, sk):
    """``docker cp C:SRC -`` (observed on dockerd 20.10): members in name order with owner
    names; ``-L`` on a symlink archives its target, named as the target."""
    assert sk("run", "--name", "cpo", "bb:1", "sh", "-c",
              "mkdir -p /d/e; echo hi > /d/e/f; ln -s /d/e/f /d/l").code == 0
    env = {**os.environ, "PYTHONPATH": str(
        os.path.dirname(os.path.dirname(os.path.dirname(__file__))) + "/src")}

    def members(*args):
        r = subprocess.run(["python3", "-m", "skiff", "--root", str(root), "cp", *args, "-"],
                           capture_output=True, env=env)
        assert r.returncode == 0, r.stderr
        with tarfile.open(fileobj=io.BytesIO(r.stdout)) as t:
            return [(m.name, m.type, m.linkname, m.uname) for m in t.getmembers()]
    try:
        assert members("cpo:/d") == [("d", tarfile.DIRTYPE, "", "root"),
                                     ("d/e", tarfile.DIRTYPE, "", "root"),
                                     ("d/e/f", tarfile.REGTYPE, "", "root"),
                                     ("d/l", tarfile.SYMTYPE, "/d/e/f", "root")]
        assert members("cpo:/d/l") == [("l", tarfile.SYMTYPE, "/d/e/f", "root")]
        assert members("-L", "cpo:/d/l") == [("f", tarfile.REGTYPE, "", "root")]
    finally:
        sk("rm", "cpo")


def test_cp_dot_copies_contents_and_copies_out_belong_to_the_caller(sk, tmp_path):
    """Observed with docker 28.2 on dockerd 20.10: ``cp C:/d/. DIR`` copies what /d holds
    (into an existing DIR or a new one), as does ``cp HOSTDIR/. C:/dir``; what ``cp`` writes
    on the host belongs to the user running it (0:0 here), ``-a`` or not, while an existing
    directory copied into keeps its owner."""
    assert sk("run", "-d", "--name", "cpdot", "bb:1", "sh", "-c",
              "mkdir -p /d/e /into; echo x > /d/e/g; chown -R 1000:1000 /d; sleep 300"
              ).code == 0
    try:
        for _ in range(100):  # the shell made /d/e/g
            if sk("exec", "cpdot", "sh", "-c", "test -s /d/e/g").code == 0:
                break
            time.sleep(0.05)
        existing = tmp_path / "existing"
        existing.mkdir()
        os.chown(existing, 555, 555)
        assert sk("cp", "cpdot:/d/.", str(existing)).code == 0
        assert sorted(os.listdir(existing)) == ["e"]
        st = os.stat(existing)
        assert (st.st_uid, st.st_gid) == (555, 555)
        assert [(os.lstat(p).st_uid, os.lstat(p).st_gid) for p in
                (existing / "e", existing / "e" / "g")] == [(0, 0), (0, 0)]
        assert sk("cp", "cpdot:/d/.", str(tmp_path / "new")).code == 0
        assert sorted(os.listdir(tmp_path / "new")) == ["e"]
        assert sk("cp", "-a", "cpdot:/d/e/g", str(tmp_path / "g")).code == 0
        st = os.lstat(tmp_path / "g")
        assert (st.st_uid, st.st_gid) == (0, 0)
        hd = tmp_path / "hd"
        (hd / "sub").mkdir(parents=True)
        (hd / "sub" / "k").write_text("k")
        assert sk("cp", f"{hd}/.", "cpdot:/into").code == 0
        assert sk("exec", "cpdot", "ls", "/into").out == "sub\n"
    finally:
        sk("rm", "-f", "cpdot")
