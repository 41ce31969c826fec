"""QA (session 4): the run path after `runc run --detach`, fastargs and skiff.jsonio."""

from __future__ import annotations

import os

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def _mounts_under(root) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [ln.split()[4] for ln in f if ln.split()[4].startswith(str(root))]


def test_start_after_a_run_killed_once_mounted_leaves_no_mount(cli, skiff_root, busybox_tar):
    """`skiff run --rm` killed (-9) after it mounted the rootfs but before runc started
    leaves a Created container with its rootfs mounted (seen with kill -9 ~0.17 s into
    the run). Starting that container must not stack a second overlay on the same
    upper/work dirs, and its auto-removal must leave no mount and no rm-* directory
    (before the fix: `snapshots/rm-N-*/bundle/rootfs` stayed mounted for good and
    `system check` said "no problems found")."""
    from skiff import metadata
    from skiff.config import Config
    from skiff.runtime.containers import ContainerService

    assert cli("import", str(busybox_tar), "bb:1").code == 0
    assert cli("create", "--rm", "--network", "none", "--name", "qa4-killed", "bb:1",
               "true").code == 0
    cfg = Config.from_env()
    db = metadata.connect(cfg.metadata_path)
    try:
        svc = ContainerService(cfg, db)
        svc._mount_rootfs(svc.get("qa4-killed"))  # (what the killed run had done)
    finally:
        db.close()
    assert len(_mounts_under(skiff_root)) == 1
    r = cli("start", "-a", "qa4-killed")
    assert (r.code, r.out) == (0, "")
    assert cli("ps", "-aq").out == ""
    import time

    for _ in range(50):  # (the monitor deletes the removed layer after the exit report)
        left = [n for n in os.listdir(skiff_root / "snapshots") if n.startswith("rm-")]
        if not left and not _mounts_under(skiff_root):
            break
        time.sleep(0.1)
    assert (_mounts_under(skiff_root), left) == ([], [])


def test_boolean_flags_take_docker_true_false_values(cli, skiff_root, busybox_tar):
    """docker run --rm=true / -d=false / --rm=false (pflag booleans take
    strconv.ParseBool values; the last spelling wins); skiff said `argument --rm: ignored
    explicit argument 'true'` and exited 125. A value ParseBool refuses stays an error
    (docker: `invalid argument "yes" for "--rm" flag`, exit 125)."""
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    r = cli("run", "--rm=true", "-d=false", "--network=none", "bb:1", "sh", "-c", "echo hi")
    assert (r.code, r.out) == (0, "hi\n")
    assert cli("ps", "-aq").out == ""
    r = cli("run", "--rm", "--rm=False", "-t=0", "--name", "qa4-kept", "--network", "none",
            "bb:1", "echo", "--rm=true")
    assert (r.code, r.out) == (0, "--rm=true\n")
    assert cli("ps", "-a", "--format", "{{.Names}}").out == "qa4-kept\n"
    assert cli("run", "--rm=yes", "bb:1", "true").code == 125


def test_non_utf8_bytes_in_run_argv_become_replacement_chars(skiff_exe, busybox_tar):
    """`skiff run --rm bb:1 sh -c $'echo \\xff'` failed with `skiff: internal error:
    UnicodeEncodeError ... surrogates not allowed` (the record's command column). Docker
    sends run's arguments as JSON, so a byte that is not UTF-8 becomes U+FFFD: it prints
    EF BF BD; a bad name is reported with U+FFFD too."""
    assert skiff_exe("import", str(busybox_tar), "bb:1").returncode == 0
    r = skiff_exe("run", "--rm", "--network", "none", "bb:1", "sh", "-c", b"echo \xff")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"\xef\xbf\xbd\n", b"")
    r = skiff_exe("run", "--rm", "--name", b"qa4\xff", "bb:1", "true")
    assert (r.returncode, r.stderr) == (125, "skiff: Invalid container name (qa4\ufffd), only "
                                        "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed\n".encode())
    assert skiff_exe("ps", "-aq").stdout == b""
