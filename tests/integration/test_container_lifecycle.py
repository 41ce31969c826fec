"""Container lifecycle through the CLI with real runc, overlayfs and the busybox image."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout

import pytest

from tests.conftest import CliResult

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def _main(root, *args: str, stdin: bytes | None = None) -> CliResult:
    from skiff.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    old_in = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["--root", str(root), *args])
    finally:
        sys.stdin = old_in
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def root(tmp_path_factory, busybox_tar):
    r = tmp_path_factory.mktemp("containers") / "root"
    res = _main(r, "import", str(busybox_tar), "bb:1")
    assert res.code == 0, res
    yield r
    ids = _main(r, "ps", "-aq", "--no-trunc").out.split()
    if ids:
        _main(r, "rm", "-f", *ids)
    with open("/proc/self/mountinfo") as f:
        mounts = [ln.split()[4] for ln in f]
    for m in sorted((m for m in mounts if m.startswith(str(r))), reverse=True):
        subprocess.run(["umount", "-l", m], check=False)
    drop_runc_root(r)


def drop_runc_root(r) -> None:
    """Remove the store's runc state root (under /run) once it holds no container."""
    from skiff.runtime.runc import state_root

    try:
        os.rmdir(state_root(r))
    except OSError:
        pass


@pytest.fixture
def sk(root):
    def run(*args: str, stdin: bytes | None = None) -> CliResult:
        return _main(root, *args, stdin=stdin)
    return run


def _inspect(sk, ref: str) -> dict:
    res = sk("inspect", ref)
    assert res.code == 0, res
    return json.loads(res.out)[0]


@pytest.mark.parametrize("cmd,code", [
    (["true"], 0), (["false"], 1), (["sh", "-c", "exit 32"], 32),
    (["/no/such/cmd"], 127), (["/etc"], 126),
])
def test_run_rm_exit_codes_leave_nothing(sk, root, cmd, code):
    before = sorted(os.listdir(root / "containers")) if (root / "containers").exists() else []
    res = sk("run", "--rm", "bb:1", *cmd)
    assert res.code == code, res
    if code == 127:
        assert res.err == ('skiff: failed to create task for container: failed to create shim '
                           'task: OCI runtime create failed: '
                           'runc create failed: unable to start container process: exec: '
                           '"/no/such/cmd": stat /no/such/cmd: no such file or directory: unknown\n')
    assert sk("ps", "-aq").out == ""
    assert sorted(os.listdir(root / "containers")) == before


def test_attached_output_pid1_hostname_and_isolation(sk):
    res = sk("run", "--rm", "--hostname", "box1", "bb:1", "sh", "-c",
             "echo out; echo err >&2; echo pid=$$; hostname; ps -o comm; ls /sys/class/net")
    assert res.code == 0, res
    # no host processes; the default bridge network gives eth0 (as Docker)
    assert res.out == "out\npid=1\nbox1\nCOMMAND\nsh\nps\neth0\nlo\n"
    assert res.err == "err\n"


def test_default_hostname_is_short_id_and_env(sk):
    res = sk("run", "-e", "FOO=bar", "-w", "/srv/app", "-u", "app", "--name", "envcheck", "bb:1",
             "sh", "-c", "hostname; echo $FOO; pwd; id -u; echo $HOSTNAME; echo $HOME")
    assert res.code == 0, res
    rec = _inspect(sk, "envcheck")
    short = rec["Id"][:12]
    assert res.out == f"{short}\nbar\n/srv/app\n1000\n{short}\n/home/app\n"
    assert rec["Config"]["Env"] == ["FOO=bar"]
    assert rec["State"]["Status"] == "exited" and rec["State"]["ExitCode"] == 0
    assert sk("rm", "envcheck").out == "envcheck\n"


def test_detached_lifecycle_stop_start_kill_rm(sk):
    res = sk("run", "-d", "--name", "life", "bb:1", "sh", "-c", "echo hello; exec sleep 60")
    assert res.code == 0, res
    cid = res.out.strip()
    assert len(cid) == 64
    st = _inspect(sk, "life")["State"]
    assert (st["Status"], st["Running"], st["Pid"] > 0) == ("running", True, True)
    ps = sk("ps").out.splitlines()
    assert ps[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert ps[1].startswith(cid[:12]) and "Up " in ps[1] and ps[1].endswith("life")
    # logs come from the json-file log the monitor writes
    for _ in range(100):
        if sk("logs", "life").out:
            break
        time.sleep(0.02)
    assert sk("logs", "life").out == "hello\n"
    line = json.loads(open(_inspect(sk, "life")["LogPath"]).readline())
    assert list(line) == ["log", "stream", "time"] and line["log"] == "hello\n"
    assert line["stream"] == "stdout" and line["time"].endswith("Z")
    # sleep as PID 1 dies of SIGTERM (no handler needed: runc delivers to pid 1 of its ns? no:
    # the kernel ignores unhandled SIGTERM for pid 1, so stop escalates to SIGKILL)
    t0 = time.monotonic()
    assert sk("stop", "-t", "1", "life").out == "life\n"
    assert time.monotonic() - t0 < 10
    st = _inspect(sk, "life")["State"]
    assert (st["Status"], st["Running"], st["ExitCode"], st["Pid"]) == ("exited", False, 137, 0)
    assert "Exited (137)" in sk("ps", "-a", "--filter", "name=life").out
    assert sk("ps", "-q").out == ""
    # start again, then kill with a signal
    assert sk("start", "life").out == "life\n"
    assert _inspect(sk, "life")["State"]["Status"] == "running"
    assert sk("kill", "-s", "USR1", "life").code == 0  # sleep dies of SIGUSR1? pid 1: ignored
    assert sk("kill", "life").out == "life\n"
    assert sk("wait", "life").out == "137\n"
    assert sk("logs", "life").out == "hello\nhello\n"  # the log survives restarts
    assert sk("rm", "life").out == "life\n"
    assert sk("ps", "-aq").out == ""


def test_rm_running_needs_force_and_unknown_names(sk):
    cid = sk("run", "-d", "bb:1", "sleep", "60").out.strip()
    res = sk("rm", cid[:12])
    assert res.code == 1
    # dockerd 20.10's words (measured)
    assert res.err == (f"skiff: You cannot remove a running container {cid}. Stop the "
                       "container before attempting removal or force remove\n")
    assert _inspect(sk, cid)["State"]["Running"] is True
    assert sk("rm", "-f", cid).out == f"{cid}\n"
    res = sk("stop", "nosuchthing")
    assert (res.code, res.err) == (1, "skiff: No such container: nosuchthing\n")
    # With pulling switched off the missing image is Docker's "No such image" (exit 125);
    # the default policy would try the registry first, as `docker run` does.
    res = sk("run", "--rm", "--pull", "never", "nosuch:image", "true")
    assert res.code == 125 and "No such image" in res.err
    res = sk("kill", "-s", "NOPE", "x")
    assert (res.code, res.err) == (1, "skiff: Invalid signal: NOPE\n")  # docker kill: 1


def test_name_conflict_leaves_state_unchanged(sk, root):
    assert sk("create", "--name", "dup", "bb:1", "true").code == 0
    before = sk("ps", "-aq", "--no-trunc").out
    snaps = sorted(os.listdir(root / "snapshots"))
    res = sk("create", "--name", "dup", "bb:1", "true")
    assert res.code == 125
    assert res.err.startswith('skiff: Conflict. The container name "/dup" is already in use by container "')
    assert sk("ps", "-aq", "--no-trunc").out == before
    assert sorted(os.listdir(root / "snapshots")) == snaps
    res = sk("create", "--name", "bad name!", "bb:1", "true")
    assert (res.code, res.err) == (125, "skiff: Invalid container name (bad name!), only "
                                        "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed\n")
    sk("rm", "dup")


def test_containers_do_not_share_writes(sk, root):
    assert sk("run", "--name", "w1", "bb:1", "sh", "-c", "echo x > /tmp/mine").code == 0
    res = sk("run", "--rm", "bb:1", "ls", "/tmp")
    assert (res.code, res.out) == (0, "")
    # the file lives in w1's snapshot only, and persists across its restarts
    res = sk("start", "-a", "w1")
    assert res.code == 0
    sk("rm", "w1")


def test_read_only_bind_mount_and_cap_drop(sk, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f").write_text("host\n")
    res = sk("run", "--rm", "--read-only", "-v", f"{tmp_path}/data:/data:ro", "bb:1", "sh", "-c",
             "cat /data/f; touch /x 2>&1; touch /data/y 2>&1; true")
    assert res.out == ("host\ntouch: /x: Read-only file system\n"
                       "touch: /data/y: Read-only file system\n")
    res = sk("run", "--rm", "--cap-drop", "ALL", "bb:1", "chown", "1000", "/tmp")
    assert res.code == 1
    assert res.err == "chown: /tmp: Operation not permitted\n"
    res = sk("run", "--rm", "--cap-drop", "chown", "--cap-add", "net_admin", "bb:1", "sh", "-c",
             "grep CapEff /proc/self/status")
    assert res.out == "CapEff:\t00000000a80435fa\n"


def test_restart_policy_on_failure(sk):
    cid = sk("run", "-d", "--restart", "on-failure:2", "bb:1", "sh", "-c", "exit 3").out.strip()
    assert sk("wait", cid).out.strip() in ("3",)
    for _ in range(300):
        rec = _inspect(sk, cid)
        if rec["RestartCount"] == 2 and rec["State"]["Status"] == "exited":
            break
        time.sleep(0.05)
    assert (rec["RestartCount"], rec["State"]["Status"], rec["State"]["ExitCode"]) == (2, "exited", 3)
    assert rec["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    sk("rm", "-f", cid)


def test_monitor_killed_is_reconciled(sk):
    cid = sk("run", "-d", "bb:1", "sh", "-c", "echo before; exec sleep 60").out.strip()
    for _ in range(100):
        if sk("logs", cid).out:
            break
        time.sleep(0.02)
    rec = _inspect(sk, cid)
    # the monitor's pid is skiff's own bookkeeping: read it from the database
    from skiff import metadata

    db = metadata.connect(os.path.join(os.path.dirname(rec["LogPath"]), "..", "..", "metadata.db"))
    mpid = json.loads(db.execute("SELECT data FROM containers WHERE id = ?", (cid,)).fetchone()[0])["Skiff"]["MonitorPid"]
    db.close()
    os.kill(mpid, 9)
    time.sleep(0.1)
    st = _inspect(sk, cid)["State"]
    assert (st["Status"], st["Running"], st["ExitCode"]) == ("exited", False, 137)
    assert sk("logs", cid).out == "before\n"  # the log outlives its monitor
    assert not os.path.exists(f"/proc/{rec['State']['Pid']}") or \
        open(f"/proc/{rec['State']['Pid']}/stat").read().split()[2] in ("Z", "X")
    assert sk("rm", cid).code == 0


def test_memory_limit_oom_and_pids_limit(sk):
    res = sk("run", "--name", "oom", "-m", "16m", "--memory-swap", "16m", "bb:1", "sh", "-c",
             "x=$(head -c 64000000 /dev/zero | tr '\\0' a); echo survived")
    rec = _inspect(sk, "oom")
    assert res.code == 137, res
    assert rec["State"]["OOMKilled"] is True
    assert rec["HostConfig"]["Memory"] == 16 * 1024 * 1024
    sk("rm", "oom")
    res = sk("run", "--rm", "--pids-limit", "10", "bb:1", "sh", "-c",
             "for i in $(seq 20); do sleep 2 & echo $i; done; echo end")
    # sh itself + 9 sleeps = 10 tasks: the 10th fork fails and sh gives up
    assert (res.code, res.out) == (2, "".join(f"{i}\n" for i in range(1, 10)))
    assert res.err == "sh: can't fork: Resource temporarily unavailable\n"


def test_ps_format_and_inspect_template(sk):
    sk("create", "--name", "fmt", "-l", "a=b", "bb:1", "echo", "hi there")
    res = sk("ps", "-a", "--filter", "name=fmt", "--format", "{{.Names}} {{.Command}} {{.Status}} {{.Labels}}")
    assert res.out == 'fmt "echo \'hi there\'" Created a=b\n'
    res = sk("inspect", "-f", "{{.State.Status}} {{.Path}} {{json .Args}}", "fmt")
    assert res.out == 'created echo ["hi there"]\n'
    sk("rm", "fmt")


def test_host_network_init_and_bad_user(sk):
    res = sk("run", "--rm", "--network", "host", "bb:1", "readlink", "/proc/self/ns/net")
    assert res.out == os.readlink("/proc/self/ns/net") + "\n"  # the host's network namespace
    res = sk("run", "--rm", "bb:1", "readlink", "/proc/self/ns/net")
    assert res.code == 0 and res.out != os.readlink("/proc/self/ns/net") + "\n"
    res = sk("run", "--rm", "--init", "bb:1", "ps", "-o", "pid,comm")
    assert res.code == 0, res
    assert res.out.splitlines()[1].split() == ["1", "docker-init"]
    res = sk("run", "--rm", "-u", "nosuchuser", "bb:1", "true")
    assert (res.code, res.err) == (125, "skiff: unable to find user nosuchuser: no matching "
                                         "entries in passwd file\n")
    assert sk("ps", "-aq").out == ""


def test_restart_always_stops_for_good_on_stop(sk):
    cid = sk("run", "-d", "--restart", "always", "bb:1", "sh", "-c", "sleep 0.2").out.strip()
    for _ in range(300):
        if _inspect(sk, cid)["RestartCount"] >= 1:
            break
        time.sleep(0.05)
    assert _inspect(sk, cid)["RestartCount"] >= 1
    assert sk("stop", "-t", "1", cid).code == 0
    count = _inspect(sk, cid)["RestartCount"]
    time.sleep(0.6)
    rec = _inspect(sk, cid)
    assert (rec["State"]["Status"], rec["RestartCount"]) == ("exited", count)
    assert sk("restart", "-t", "1", cid).out == f"{cid}\n"
    assert _inspect(sk, cid)["State"]["Status"] in ("running", "restarting")
    sk("rm", "-f", cid)


def test_detached_rm_and_create_then_start_attached(sk):
    cid = sk("run", "-d", "--rm", "bb:1", "sh", "-c", "exit 3").out.strip()
    assert sk("wait", cid).out in ("3\n", "")  # the record may already be gone
    for _ in range(200):
        if sk("ps", "-aq").out == "":
            break
        time.sleep(0.05)
    assert sk("ps", "-aq").out == ""
    cid = sk("create", "--name", "later", "bb:1", "sh", "-c", "echo started; exit 5").out.strip()
    assert _inspect(sk, "later")["State"]["Status"] == "created"
    assert "Created" in sk("ps", "-a", "--filter", "name=later").out
    res = sk("start", "-a", "later")
    assert (res.code, res.out) == (5, "started\n")
    assert _inspect(sk, cid)["State"]["ExitCode"] == 5
    sk("rm", "later")


def test_detached_run_releases_the_callers_pipes(skiff_exe, busybox_tar):
    assert skiff_exe("import", str(busybox_tar), "bb:1").returncode == 0
    t0 = time.monotonic()
    r = skiff_exe("run", "-d", "bb:1", "sleep", "30", timeout=25)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 20  # the monitor keeps none of our stdout/stderr open
    cid = r.stdout.decode().strip()
    st = json.loads(skiff_exe("inspect", cid).stdout)[0]["State"]
    assert st["Running"] is True
    assert skiff_exe("rm", "-f", cid).returncode == 0
