"""skiff.runtime.oneshot.run with real runc on the busybox rootfs (what build RUN uses)."""

from __future__ import annotations

import os
import subprocess

import pytest

from skiff.config import Config
from skiff.errors import CannotInvoke, CommandNotFound
from skiff.runtime import oneshot
from skiff.runtime.mounts import Mount

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc]


@pytest.fixture(scope="module")
def rootfs(busybox_tar, tmp_path_factory):
    d = tmp_path_factory.mktemp("bbroot") / "rootfs"
    d.mkdir()
    subprocess.run(["tar", "-C", str(d), "-xf", str(busybox_tar)], check=True)
    return d


@pytest.fixture
def config(tmp_path):
    c = Config(root=tmp_path / "root")
    yield c
    from skiff.runtime.runc import state_root

    try:
        os.rmdir(state_root(c.root))  # runc's state root for this store, under /run
    except OSError:
        pass


def _run(config, rootfs, args, **kw):
    out = bytearray()
    code = oneshot.run(config, mounts=[Mount("bind", str(rootfs), ("rbind",))], args=args,
                       output=out.extend, **kw)
    return code, out.decode()


@pytest.mark.parametrize("args,code", [
    (["true"], 0), (["false"], 1), (["sh", "-c", "exit 32"], 32),
    (["sh", "-c", "sh -c 'kill -9 $$'; exit $?"], 137),
])
def test_exit_codes(config, rootfs, args, code):
    assert _run(config, rootfs, args)[0] == code


def test_command_not_found_is_127(config, rootfs):
    with pytest.raises(CommandNotFound) as ei:
        _run(config, rootfs, ["/no/such/cmd"])
    assert ei.value.exit_code == 127
    assert 'exec: "/no/such/cmd": stat /no/such/cmd: no such file or directory' in str(ei.value)


def test_directory_is_126(config, rootfs):
    with pytest.raises(CannotInvoke) as ei:
        _run(config, rootfs, ["/etc"])
    assert ei.value.exit_code == 126


def test_pid1_hostname_network_and_output(config, rootfs):
    code, out = _run(config, rootfs, ["sh", "-c",
                     "echo pid=$$; hostname; ls /sys/class/net; cat /proc/1/cmdline; echo"],
                     hostname="builder1", network="none")
    assert code == 0
    assert out == "pid=1\nbuilder1\nlo\nsh\x00-c\x00echo pid=$$; hostname; ls /sys/class/net; " \
                  "cat /proc/1/cmdline; echo\x00\n"


def test_stderr_is_part_of_the_output(config, rootfs):
    # stdout and stderr are separate streams (as in Docker); each arrives whole.
    assert _run(config, rootfs, ["sh", "-c", "echo out; echo err >&2"])[1] in ("out\nerr\n", "err\nout\n")


def test_host_processes_are_invisible(config, rootfs):
    code, out = _run(config, rootfs, ["ps", "-o", "pid,comm"])
    assert code == 0
    assert out.split("\n")[1:] == ["    1 ps", ""]


def test_env_user_cwd_stdin(config, rootfs):
    code, out = _run(config, rootfs, ["sh", "-c", "id; pwd; echo $FOO; echo $PATH; cat"],
                     env=["FOO=bar"], user="app", cwd="/work/dir", stdin=b"in\n")
    assert code == 0
    # the primary group is a supplementary one too, as docker run -u app gives it
    assert out == ("uid=1000(app) gid=1000(app) groups=1000(app)\n/work/dir\nbar\n"
                   "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nin\n")
    assert os.stat(rootfs / "work/dir").st_uid == 1000


def test_mount_stubs_do_not_stay_in_rootfs(config, rootfs):
    before = sorted(os.listdir(rootfs))
    code, _ = _run(config, rootfs, ["sh", "-c", "test -f /etc/hosts && test -d /proc/self"])
    assert code == 0
    assert sorted(os.listdir(rootfs)) == before
    assert sorted(os.listdir(rootfs / "etc")) == ["group", "passwd"]
    # and nothing of the container is left in runc's state or the store's temp dir
    assert os.listdir(config.tmp_dir) == []


def test_extra_bind_mount_and_default_caps(config, rootfs, tmp_path):
    src = tmp_path / "ctx"
    src.mkdir()
    (src / "f").write_text("hello\n")
    code, out = _run(config, rootfs, ["sh", "-c", "cat /ctx/f; grep CapBnd /proc/self/status"],
                     extra_mounts=[{"destination": "/ctx", "type": "bind", "source": str(src),
                                    "options": ["rbind", "ro"]}])
    assert code == 0
    # Docker's 14 default capabilities: 0x00000000a80425fb
    assert out == "hello\nCapBnd:\t00000000a80425fb\n"


def test_runc_leaves_no_state(config, rootfs):
    from skiff.runtime.runc import Runc
    _run(config, rootfs, ["true"])
    assert Runc.for_config(config).list() == []
    r = subprocess.run(["sh", "-c", f"ls {config.tmp_dir}"], capture_output=True, text=True)
    assert r.stdout == ""


@pytest.mark.requires_overlay
def test_overlay_rootfs_upper_gets_only_the_steps_changes(config, rootfs, tmp_path):
    upper, work = tmp_path / "upper", tmp_path / "work"
    upper.mkdir()
    work.mkdir()
    m = Mount("overlay", "overlay", (f"lowerdir={rootfs}", f"upperdir={upper}", f"workdir={work}"))
    out = bytearray()
    code = oneshot.run(config, mounts=[m], args=["sh", "-c", "echo x > /tmp/new; echo ok"],
                       output=out.extend)
    assert (code, bytes(out)) == (0, b"ok\n")
    found = sorted(str(p.relative_to(upper)) for p in upper.rglob("*"))
    assert found == ["tmp", "tmp/new"]
    with open("/proc/self/mountinfo") as f:
        assert str(config.root) not in f.read()
