"""What the fast ``run`` path changed, checked with real runc and overlayfs: ``--rm``
mounts its throw-away layer ``volatile`` (others not), and a ``--rm`` run leaves no
record, snapshot, bundle or mount behind once the command has returned."""

from __future__ import annotations

import os

import pytest

from tests.integration.test_container_lifecycle import _main, drop_runc_root

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]

ROOT_OPTS = "awk '$2 == \"/\" {print $4}' /proc/mounts"


@pytest.fixture(scope="module")
def root(tmp_path_factory, busybox_tar):
    r = tmp_path_factory.mktemp("fast") / "root"
    assert _main(r, "import", str(busybox_tar), "bb:1").code == 0
    yield r
    drop_runc_root(r)


def test_rm_run_mounts_volatile_and_leaves_nothing(root, tmp_path):
    cidfile = tmp_path / "cid"
    res = _main(root, "run", "--rm", "--cidfile", str(cidfile), "--network", "none", "bb:1",
                "sh", "-c", ROOT_OPTS)
    assert res.code == 0, res
    cid = cidfile.read_text()
    # runc makes /skiff/<id>/ctr in every v1 hierarchy and removes only ctr
    assert [d for d in os.listdir("/sys/fs/cgroup")
            if os.path.exists(f"/sys/fs/cgroup/{d}/skiff/{cid}")] == []
    opts = res.out.strip().split(",")
    assert "volatile" in opts or "fsync=volatile" in opts  # (newer kernels show the latter)
    assert _main(root, "ps", "-aq").out == ""
    assert os.listdir(root / "containers") == []
    import sqlite3

    db = sqlite3.connect(root / "metadata.db")
    kinds = [r[0] for r in db.execute("SELECT kind FROM snapshots")]
    db.close()
    assert kinds == ["committed"]  # the image's one layer; the container's is gone
    # its directory (with the bundle moved in) is deleted by a detached process
    import time

    for _ in range(250):
        left = sorted(os.listdir(root / "snapshots"))
        if left == ["1", "locks"]:
            break
        time.sleep(0.02)
    assert left == ["1", "locks"]
    with open("/proc/self/mountinfo") as f:
        assert not [ln for ln in f if str(root) in ln]


def test_kept_container_is_not_volatile(root):
    res = _main(root, "run", "--name", "kept", "--network", "none", "bb:1", "sh", "-c", ROOT_OPTS)
    assert res.code == 0, res
    assert "volatile" not in res.out and "fsync=" not in res.out
    assert "upperdir=" in res.out
    # started again, it mounts the same layer again (and keeps its changes)
    res = _main(root, "start", "-a", "kept")
    assert res.code == 0, res
    assert _main(root, "rm", "kept").code == 0


def test_rm_container_layer_mounts_again(root):
    """A --rm container started a second time (its first mount was volatile, which the
    kernel marks) still mounts."""
    from skiff import metadata
    from skiff.config import Config
    from skiff.runtime.containers import ContainerService
    from skiff.runtime.mounts import unmount
    from skiff.runtime.options import CreateOptions

    cfg = Config.from_env(root)
    db = metadata.connect(cfg.metadata_path)
    svc = ContainerService(cfg, db)
    rec = svc.create(CreateOptions(image="bb:1", cmd=("true",), autoremove=True,
                                   network="none"))
    try:
        for _ in range(2):
            target = svc._mount_rootfs(rec)
            with open("/proc/self/mountinfo") as f:
                opts = [ln.split(" - ")[1] for ln in f if ln.split()[4] == target]
            assert len(opts) == 1 and "volatile" in opts[0]
            unmount(target)
    finally:
        svc.remove(rec["Id"], force=True)
        db.close()


def test_monitor_is_one_fork_and_is_reaped_by_the_next_spawn(root):
    """The monitor is this process's direct child (one fork, its own session); once it
    has exited it is reaped at the next spawn, so an in-process caller gathers no
    zombies."""
    import time

    from skiff.runtime import monitor

    res = _main(root, "run", "-d", "--network", "none", "bb:1", "true")
    assert res.code == 0, res
    first = list(monitor._FORKED)
    assert len(first) == 1
    pid = first[0]
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    assert int(fields[1]) == os.getpid()  # ppid: us, no intermediate
    assert os.getsid(pid) == pid  # a session leader of its own
    for _ in range(500):  # it finishes once `true` has exited: a zombie until reaped
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    else:
        raise AssertionError("the monitor did not finish")
    res = _main(root, "run", "--rm", "--network", "none", "bb:1", "true")
    assert res.code == 0, res
    assert pid not in monitor._FORKED and not os.path.exists(f"/proc/{pid}")
    monitor.reap_monitors()


def test_attached_run_returns_on_the_exit_and_later_commands_wait_for_the_monitor(root):
    """docker run returns when the container exits; the monitor's teardown (runc delete,
    unmount, cgroups) goes on after it, held until the command has let go of the pipe. A
    record read right after shows the exit; rm and start right after wait for the
    monitor instead of racing it."""
    res = _main(root, "run", "--name", "early", "--network", "none", "bb:1",
                "sh", "-c", "echo hi; exit 3")
    assert (res.code, res.out) == (3, "hi\n")
    st = _main(root, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "early")
    assert st.out == "exited 3\n"
    again = _main(root, "start", "-a", "early")
    assert (again.code, again.out) == (3, "hi\n")
    cid = _main(root, "inspect", "--format", "{{.Id}}", "early").out.strip()
    assert len(cid) == 64
    assert _main(root, "rm", "early").code == 0
    assert _main(root, "ps", "-aq", "--filter", "name=early").out == ""
    with open("/proc/self/mountinfo") as f:
        assert [ln for ln in f if cid in ln] == []


def test_container_prune_deletes_layer_orphans_a_killed_monitor_left(root):
    """run --rm leaves its layer's rm-* orphan to the monitor; if that monitor was killed
    the orphan stays until `container prune` (Snapshotter.cleanup)."""
    orphan = root / "snapshots" / "rm-999-deadbeef"
    (orphan / "bundle").mkdir(parents=True)
    (orphan / "fs" / "f").parent.mkdir()
    (orphan / "fs" / "f").write_text("x")
    assert _main(root, "container", "prune", "-f").code == 0
    assert not orphan.exists()
    assert "1" in os.listdir(root / "snapshots")  # the image's layer stays


def test_run_rm_imports_none_of_the_heavy_stdlib(root):
    """A whole `run --rm` (parse, create, start, wait, remove) without re, enum, json's
    package, argparse, gettext, contextlib, dataclasses, pathlib, typing, functools (and
    the collections it imports) or the ctypes package: each is milliseconds of every start
    (skiff.jsonio, skiff.cli.fastargs, skiff.metadata's _sqlite3 import, skiff.libc). Nor
    skiff.runtime.orphans: its sweeps are for ps, rm and prune."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from skiff.cli.main import main\n"
            "rc = main(['--root', sys.argv[1], 'run', '--rm', '--network', 'none', 'bb:1',"
            " 'true'], exiting=True)\n"
            "heavy = ('re', 'enum', 'json', 'argparse', 'gettext', 'contextlib',"
            " 'dataclasses', 'pathlib', 'typing', 'functools', 'collections', 'ctypes',"
            " 'skiff.runtime.orphans')\n"
            "print(rc, [m for m in heavy if m in sys.modules])\n")
    r = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True,
                       text=True, timeout=60)
    assert r.stdout.strip().splitlines()[-1] == "0 []", (r.stdout, r.stderr)
