"""Exit codes and messages where docker/cli exits 1 (a daemon error outside run/create),
not 125; and docker exec's 126. Each expected value was read from docker 20.10 (dockerd
with its own data root on this machine, the same busybox image)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


@pytest.fixture(scope="module")
def two(root):
    from tests.integration.test_container_lifecycle import _main

    ids = []
    for name in ("xc-one", "xc-two"):
        res = _main(root, "run", "-d", "--name", name, "bb:1", "sleep", "300")
        assert res.code == 0, res
        ids.append(res.out.strip())
    yield ids
    _main(root, "rm", "-f", *ids)


def test_cp_missing_path_in_container(sk, two, tmp_path):
    res = sk("cp", "xc-one:/nonexist", str(tmp_path / "x"))
    assert (res.code, res.err) == (1, "skiff: Could not find the file /nonexist in container xc-one\n")


def test_cp_bad_local_destination(sk, two, tmp_path):
    res = sk("cp", "xc-one:/etc/hostname", str(tmp_path / "no" / "sub" / "x"))
    assert (res.code, res.err) == (
        1, f'skiff: invalid output path: directory "{tmp_path}/no/sub" does not exist\n')


def test_cp_missing_container_destination_and_source(sk, two, tmp_path):
    res = sk("cp", "/etc/hostname", "xc-one:/no/such/dir/")
    # docker 20.10 (docker/cli archive.ErrDirNotExists): the bare "no such directory"
    assert (res.code, res.err) == (1, "skiff: no such directory\n")
    res = sk("cp", str(tmp_path / "nonexist"), "xc-one:/tmp")
    assert (res.code, res.err) == (1, f"skiff: lstat {tmp_path}/nonexist: no such file or directory\n")


def test_cp_empty_tar_on_stdin_copies_nothing(sk, two):
    res = sk("cp", "-", "xc-one:/tmp", stdin=b"")
    assert (res.code, res.out, res.err) == (0, "", "")


def test_kill_bogus_signal(sk, two):
    res = sk("kill", "-s", "BOGUS", "xc-one")
    assert (res.code, res.err) == (1, "skiff: Invalid signal: BOGUS\n")


def test_rename_to_a_name_in_use(sk, two):
    res = sk("rename", "xc-two", "xc-one")
    assert res.code == 1
    assert res.err == (
        'skiff: Error when allocating new name: Conflict. The container name "/xc-one" is already '
        f'in use by container "{two[0]}". You have to remove (or rename) that container to be '
        "able to reuse that name.\nskiff: failed to rename container named xc-two\n")
    res = sk("rename", "xc-two", "bad name")  # dockerd 20.10's words (the name slashed)
    assert (res.code, res.err) == (
        1, "skiff: Error when allocating new name: Invalid container name (/bad name), only "
           "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed\nskiff: failed to rename container named "
           "xc-two\n")
    res = sk("rename", "xc-one", "xc-one")
    assert (res.code, res.err) == (
        1, "skiff: Renaming a container with the same name as its current name\n"
           "skiff: failed to rename container named xc-one\n")


def test_exec_on_paused_and_failed_starts(sk, two):
    assert sk("pause", "xc-one").code == 0
    try:
        res = sk("exec", "xc-one", "true")
        assert (res.code, res.err) == (
            1, "skiff: Container xc-one is paused, unpause the container before exec\n")
    finally:
        assert sk("unpause", "xc-one").code == 0
    res = sk("exec", "nosuch-xc", "true")
    assert (res.code, res.err) == (1, "skiff: No such container: nosuch-xc\n")
    assert sk("exec", "-u", "nouser", "xc-one", "true").code == 126


def test_pause_twice_unpause_twice_kill_and_rm_f_missing(sk, two):
    # docker 20.10: "Container ID is already paused" / "is not paused" (exit 1);
    # docker kill nosuch: "Cannot kill container: nosuch: No such container: nosuch" (exit 1);
    # docker rm -f nosuch prints the daemon's error and exits 0 (rm without -f: 1)
    assert sk("pause", "xc-two").code == 0
    try:
        res = sk("pause", "xc-two")
        assert (res.code, res.err) == (1, f"skiff: Container {two[1]} is already paused\n")
    finally:
        assert sk("unpause", "xc-two").code == 0
    res = sk("unpause", "xc-two")
    assert (res.code, res.err) == (1, f"skiff: Container {two[1]} is not paused\n")
    res = sk("kill", "nosuch-xc")
    assert (res.code, res.err) == (
        1, "skiff: Cannot kill container: nosuch-xc: No such container: nosuch-xc\n")
    res = sk("rm", "-f", "nosuch-xc")
    assert (res.code, res.out, res.err) == (0, "", "skiff: No such container: nosuch-xc\n")
    res = sk("rm", "nosuch-xc")
    assert (res.code, res.err) == (1, "skiff: No such container: nosuch-xc\n")
    res = sk("run", "--rm", "--restart", "always", "bb:1", "true")
    assert (res.code, res.err) == (
        125, "skiff: conflicting options: cannot specify both --restart and --rm\n")
