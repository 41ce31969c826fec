"""QA: ``skiff cp`` compared with ``docker cp``."""

from __future__ import annotations

import os

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


@pytest.fixture
def ctr(cli, busybox_tar):
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    r = cli("run", "-d", "--name", "qa-cp", "bb:1", "sh", "-c",
            "ln -s /no/such/target /tmp/dangling && touch /tmp/ready && sleep 300")
    assert r.code == 0, r
    for _ in range(50):
        if cli("exec", "qa-cp", "sh", "-c", "test -e /tmp/ready").code == 0:
            break
    yield "qa-cp"
    cli("rm", "-f", "qa-cp")


def test_cp_out_hostname_is_what_the_container_sees(cli, ctr, tmp_path):
    # docker cp copies /etc/hostname, /etc/hosts, /etc/resolv.conf as the container sees them.
    inside = cli("exec", ctr, "cat", "/etc/hostname").out
    assert len(inside) == 13  # 12 hex digits of the ID + newline
    assert cli("cp", f"{ctr}:/etc/hostname", str(tmp_path / "hn")).code == 0
    st = os.stat(tmp_path / "hn")
    assert ((tmp_path / "hn").read_text(), oct(st.st_mode & 0o777)) == (inside, "0o644")


def test_cp_out_copies_a_dangling_symlink_as_a_symlink(cli, ctr, tmp_path):
    # docker cp without -L copies a symlink itself, whether or not its target exists.
    r = cli("cp", f"{ctr}:/tmp/dangling", str(tmp_path / "link"))
    assert (r.code, r.err) == (0, "")
    assert os.readlink(tmp_path / "link") == "/no/such/target"


@pytest.mark.parametrize("src,dst,path", [
    ("nope:/x", "{tmp}", "nope:/x"), ("nope:x", "{tmp}", "nope:x"),
    ("{file}", "nope:/x", "nope:/"), ("{file}", "nope:a/b", "nope:a"),
    ("{file}", "nope:x", "nope:."), ("nope:/x", "-", "nope:/x"),
])
def test_cp_with_no_such_container_names_the_path_as_docker(cli, tmp_path, src, dst, path):
    """docker 20.10 (measured): `cp nope:/x DIR` says "No such container:path: nope:/x",
    into a container the directory it would write in ("nope:/" for /x, "." for x), exit 1
    (measured against a private dockerd)."""
    f = tmp_path / "f"
    f.write_text("x")
    args = [a.format(tmp=tmp_path, file=f) for a in (src, dst)]
    r = cli("cp", *args)
    assert (r.code, r.err) == (1, f"skiff: No such container:path: {path}\n")
