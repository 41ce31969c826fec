"""--user resolution against the image's /etc files, and rootfs-confined path joins."""

from __future__ import annotations

import os

import pytest

from skiff.errors import SkiffError
from skiff.runtime.fsutil import secure_join
from skiff.runtime.users import ExecUser, resolve


@pytest.fixture
def rootfs(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
        "# comment\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    (tmp_path / "etc/group").write_text(
        "root:x:0:\nwheel:x:10:root,app\napp:x:1000:\nstaff:x:50:app\n")
    return tmp_path


# additional gids start with the primary gid, as moby's getUser gives them to runc
def test_default_is_root_with_member_groups(rootfs):
    assert resolve(rootfs, "") == ExecUser(0, 0, (0, 10), "/root")


def test_by_name_and_uid(rootfs):
    assert resolve(rootfs, "app") == ExecUser(1000, 1000, (1000, 10, 50), "/home/app")
    assert resolve(rootfs, "1000") == ExecUser(1000, 1000, (1000, 10, 50), "/home/app")
    assert resolve(rootfs, "4242") == ExecUser(4242, 0, (0,), "/")


def test_user_and_group(rootfs):
    assert resolve(rootfs, "app:staff") == ExecUser(1000, 50, (50,), "/home/app")
    assert resolve(rootfs, "nobody:77") == ExecUser(65534, 77, (77,), "/")
    assert resolve(rootfs, "app", ("staff", "99")).additional_gids == (1000, 10, 50, 50, 99)


def test_unknown_names(rootfs):
    with pytest.raises(SkiffError, match="unable to find user bob: no matching entries in passwd file"):
        resolve(rootfs, "bob")
    with pytest.raises(SkiffError, match="unable to find group ops: no matching entries in group file"):
        resolve(rootfs, "app:ops")


def test_passwd_symlink_cannot_escape(rootfs, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "passwd").write_text("evil:x:0:0::/:/bin/sh\n")
    os.unlink(rootfs / "etc/passwd")
    os.symlink(f"../../../../../../../../{outside}/passwd", rootfs / "etc/passwd")
    with pytest.raises(SkiffError, match="unable to find user evil"):
        resolve(rootfs, "evil")


def test_secure_join(tmp_path):
    (tmp_path / "a/b").mkdir(parents=True)
    os.symlink("/a", tmp_path / "abs")
    os.symlink("../../../..", tmp_path / "a/up")
    os.symlink("loop", tmp_path / "loop")
    assert secure_join(tmp_path, "/abs/b/c") == tmp_path / "a/b/c"
    assert secure_join(tmp_path, "a/up/etc/passwd") == tmp_path / "etc/passwd"
    assert secure_join(tmp_path, "../../x") == tmp_path / "x"
    with pytest.raises(SkiffError):
        secure_join(tmp_path, "loop/x")
