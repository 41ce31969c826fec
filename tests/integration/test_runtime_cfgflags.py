"""``--domainname``, ``--label-file``, ``--volumes-from`` and ``--runtime`` with real runc,
as docker 20.10 gives them (values compared with a docker 20.10 daemon)."""

from __future__ import annotations

import pytest

from tests.integration.runtime_support import inspect, store
from tests.integration.test_container_lifecycle import _main

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


@pytest.fixture(scope="module")
def root(busybox_tar):
    yield from store(busybox_tar)


_inspect = inspect


def test_domainname(root):
    res = _main(root, "run", "--name", "cf-dom", "--network", "none", "--domainname",
                "example.com", "-h", "web", "bb:1", "sh", "-c",
                "hostname; cat /proc/sys/kernel/domainname")
    assert (res.code, res.out) == (0, "web\nexample.com\n")
    rec = _inspect(root, "cf-dom")
    assert (rec["Config"]["Hostname"], rec["Config"]["Domainname"]) == ("web", "example.com")
    assert rec["HostConfig"]["Runtime"] == "runc"
    # without the flag: the kernel's "(none)", Domainname ""
    res = _main(root, "run", "--rm", "--network", "none", "bb:1", "cat",
                "/proc/sys/kernel/domainname")
    assert res.out == "(none)\n"
    # with the host's UTS namespace runc refuses the sysctl (docker: the same runc text)
    res = _main(root, "run", "--rm", "--network", "none", "--uts", "host", "--domainname",
                "example.com", "bb:1", "true")
    assert res.code == 125
    assert res.err.endswith('runc create failed: sysctl "kernel.domainname" is not in a '
                            "separate kernel namespace: unknown\n")
    assert _main(root, "rm", "cf-dom").code == 0


def test_label_file(root, tmp_path):
    f = tmp_path / "labels"
    f.write_text("# c\n\n  a=1\nb\nc=x y \n")
    res = _main(root, "create", "--name", "cf-lab", "--label-file", str(f), "--label", "b=flag",
                "--label", "z", "bb:1", "true")
    assert res.code == 0, res
    assert _inspect(root, "cf-lab")["Config"]["Labels"] == {"a": "1", "b": "flag", "c": "x y ",
                                                           "z": ""}
    assert _main(root, "rm", "cf-lab").code == 0


def test_volumes_from(root, tmp_path):
    bind = tmp_path / "bind"
    bind.mkdir()
    res = _main(root, "create", "--name", "cf-src", "-v", "cfvol:/data", "-v", f"{bind}:/b:ro",
                "-v", "/anon", "bb:1", "true")
    assert res.code == 0, res
    src = _inspect(root, "cf-src")["Mounts"]
    anon = next(m for m in src if m["Destination"] == "/anon")
    vol = next(m for m in src if m["Destination"] == "/data")

    def expect(rw_data: bool, rw_anon: bool) -> list[dict]:
        return [
            {"Type": "volume", "Name": "cfvol", "Source": vol["Source"], "Destination": "/data",
             "Driver": "local", "Mode": "", "RW": rw_data, "Propagation": ""},
            {"Type": "bind", "Source": str(bind), "Destination": "/b", "Mode": "", "RW": False,
             "Propagation": "rprivate"},
            {"Type": "volume", "Name": anon["Name"], "Source": anon["Source"],
             "Destination": "/anon", "Driver": "local", "Mode": "", "RW": rw_anon,
             "Propagation": ""}]

    assert _main(root, "create", "--name", "cf-c1", "--volumes-from", "cf-src", "bb:1",
                 "true").code == 0
    rec = _inspect(root, "cf-c1")
    assert rec["Mounts"] == expect(True, True)
    assert rec["HostConfig"]["VolumesFrom"] == ["cf-src"]
    assert _main(root, "create", "--name", "cf-c2", "--volumes-from", "cf-src:ro", "bb:1",
                 "true").code == 0
    rec = _inspect(root, "cf-c2")
    assert rec["Mounts"] == expect(False, False)
    assert rec["HostConfig"]["VolumesFrom"] == ["cf-src:ro"]
    # -v on the same destination wins
    assert _main(root, "create", "--name", "cf-c3", "--volumes-from", "cf-src:rw", "-v",
                 f"{bind}:/data", "bb:1", "true").code == 0
    assert [(m["Destination"], m["Source"]) for m in _inspect(root, "cf-c3")["Mounts"]] == [
        ("/data", str(bind)), ("/b", str(bind)), ("/anon", anon["Source"])]
    # the mounts are there, read-only with :ro
    res = _main(root, "run", "--rm", "--network", "none", "--volumes-from", "cf-src:ro", "bb:1",
                "sh", "-c", "touch /data/x 2>/dev/null; echo $?; "
                "grep -E ' /(data|b|anon) ' /proc/mounts | cut -d' ' -f2,4 | cut -d, -f1")
    assert res.out == "1\n/data ro\n/b ro\n/anon ro\n"
    res = _main(root, "run", "--rm", "--network", "none", "--volumes-from", "cf-src", "bb:1",
                "sh", "-c", "echo hi > /data/x && cat /data/x")
    assert (res.code, res.out) == (0, "hi\n")
    # errors (dockerd's texts), nothing created
    for spec, err in (("nope", "No such container: nope"), ("cf-src:bad", "invalid mode: bad"),
                      ("", "volumes-from specification cannot be an empty string")):
        res = _main(root, "create", "--name", "cf-x", "--volumes-from", spec, "bb:1", "true")
        assert (res.code, res.err) == (125, f"skiff: {err}\n")
    assert "cf-x" not in _main(root, "ps", "-a", "--format", "{{.Names}}").out
    # the volume is in use by the containers that took it
    res = _main(root, "volume", "rm", "cfvol")
    assert res.code == 1
    assert _main(root, "rm", "cf-c1", "cf-c2", "cf-c3", "cf-src").code == 0
    assert _main(root, "volume", "rm", "cfvol").code == 0


def test_commit_keeps_healthcheck_and_domainname(root):
    """docker commit takes the container's Config: its Healthcheck and Domainname are the
    image's (image inspect shows HealthConfig's field order, as docker 20.10)."""
    assert _main(root, "create", "--name", "cf-cm", "--health-cmd", "exit 0",
                 "--health-interval", "2s", "--health-retries", "2", "--domainname", "ex.com",
                 "bb:1", "true").code == 0
    assert _main(root, "commit", "cf-cm", "cfcm:1").code == 0
    res = _main(root, "image", "inspect", "-f",
                "{{json .Config.Healthcheck}} {{json .Config.Domainname}}", "cfcm:1")
    assert res.out == ('{"Test":["CMD-SHELL","exit 0"],"Interval":2000000000,"Retries":2} '
                       '"ex.com"\n')
    assert _main(root, "create", "--name", "cf-cm2", "cfcm:1", "true").code == 0
    cfg = _inspect(root, "cf-cm2")["Config"]
    # the image's check comes over; its domainname does not (docker: "")
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "exit 0"], "Interval": 2_000_000_000,
                                  "Retries": 2}
    assert cfg["Domainname"] == ""
    assert _main(root, "rm", "cf-cm", "cf-cm2").code == 0
    assert _main(root, "rmi", "cfcm:1").code == 0
