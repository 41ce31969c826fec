"""``skiff run`` on networks end to end: real runc, overlayfs, busybox image, nftables."""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
from contextlib import redirect_stderr, redirect_stdout

import pytest

from tests.conftest import CliResult

from .conftest import host_state, leaked

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def _main(root, *args: str) -> CliResult:
    from skiff.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--root", str(root), *args])
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def sk(tmp_path_factory, busybox_tar):
    """A store with busybox imported and its own default bridge; on teardown every
    container, network, bridge and table is gone (compared with the state before)."""
    import secrets

    uid = secrets.token_hex(3)
    saved = {k: os.environ.get(k) for k in ("SKIFF_BRIDGE", "SKIFF_BRIDGE_SUBNET")}
    os.environ["SKIFF_BRIDGE"] = "skr" + uid
    os.environ["SKIFF_BRIDGE_SUBNET"] = f"10.93.{int(uid, 16) % 250}.0/24"
    before = host_state()
    root = tmp_path_factory.mktemp("net") / "root"
    assert _main(root, "import", str(busybox_tar), "bb:1").code == 0

    def run(*args: str) -> CliResult:
        return _main(root, *args)

    yield run
    ids = run("ps", "-aq", "--no-trunc").out.split()
    if ids:
        run("rm", "-f", *ids)
    from skiff import metadata
    from skiff.config import Config
    from skiff.network.service import NetworkService

    config = Config.from_env(root=str(root))
    db = metadata.connect(config.metadata_path)
    NetworkService(config, db).reset()
    db.close()
    with open("/proc/self/mountinfo") as f:
        mounts = [ln.split()[4] for ln in f]
    for m in sorted((m for m in mounts if m.startswith(str(root))), reverse=True):
        subprocess.run(["umount", "-l", m], check=False)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    assert leaked(before) == set()


def _ok(r: CliResult) -> str:
    assert r.code == 0, r
    return r.out


def test_names_between_containers_and_isolation(sk):
    _ok(sk("network", "create", "front"))
    _ok(sk("network", "create", "back"))
    _ok(sk("run", "-d", "--name", "web", "--network", "front", "--network-alias", "www",
           "bb:1", "httpd", "-f", "-p", "80", "-h", "/etc"))
    time.sleep(0.3)
    web = json.loads(_ok(sk("inspect", "web")))[0]
    ip = web["NetworkSettings"]["Networks"]["front"]["IPAddress"]
    assert ip.startswith("10.89.")
    out = _ok(sk("run", "--rm", "--network", "front", "bb:1", "sh", "-c",
                 "ping -c1 -W2 web >/dev/null && echo ping-ok; wget -q -O- http://www:80/hostname"))
    assert out == "ping-ok\nweb\n" or out.startswith("ping-ok\n"), out
    r = sk("run", "--rm", "--network", "back", "bb:1", "ping", "-c1", "-W1", ip)
    assert r.code == 1
    r = sk("network", "rm", "front")
    assert r.code == 1 and "has active endpoints" in r.err
    _ok(sk("rm", "-f", "web"))
    assert _ok(sk("network", "rm", "front", "back")) == "front\nback\n"


def test_published_port_and_none(sk, tmp_path):
    cid = _ok(sk("run", "-d", "-p", "127.0.0.1::80", "bb:1", "httpd", "-f", "-p", "80",
                 "-h", "/etc")).strip()
    time.sleep(0.3)
    line = _ok(sk("port", cid))
    assert line.startswith("80/tcp -> 127.0.0.1:")
    hp = int(line.strip().rsplit(":", 1)[1])
    assert _ok(sk("port", cid, "80")) == f"127.0.0.1:{hp}\n"
    ps = _ok(sk("ps", "--format", "{{.Ports}}", "-f", f"id={cid}"))
    assert ps == f"127.0.0.1:{hp}->80/tcp\n"
    # The default table shows the same PORTS cell as --format does.
    table = _ok(sk("ps", "-f", f"id={cid}")).splitlines()
    assert table[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                                "PORTS", "NAMES"]
    assert f"127.0.0.1:{hp}->80/tcp" in table[1].split()
    r = subprocess.run(["/bin/busybox", "wget", "-q", "-O-", f"http://127.0.0.1:{hp}/hostname"],
                       capture_output=True, text=True, timeout=20)
    assert r.stdout == cid[:12] + "\n", r.stderr
    _ok(sk("stop", "-t", "1", cid))
    assert _ok(sk("port", cid)) == ""
    from skiff.network import firewall

    assert firewall.ports_table(cid) not in firewall.tables()
    out = _ok(sk("run", "--rm", "--network", "none", "bb:1", "ls", "/sys/class/net"))
    assert out.split() == ["lo"]
    out = _ok(sk("run", "--rm", "bb:1", "ls", "/sys/class/net"))
    assert out.split() == ["eth0", "lo"]


def test_connect_disconnect_and_release_after_a_foreground_run(sk):
    _ok(sk("network", "create", "extra"))
    _ok(sk("run", "-d", "--name", "two", "bb:1", "sleep", "60"))
    _ok(sk("network", "connect", "--alias", "deux", "extra", "two"))
    assert _ok(sk("exec", "two", "ls", "/sys/class/net")).split() == ["eth0", "eth1", "lo"]
    d = json.loads(_ok(sk("network", "inspect", "extra")))[0]
    (c,) = d["Containers"].values()
    assert c["Name"] == "two" and c["IPv4Address"].endswith("/24")
    r = sk("network", "connect", "extra", "two")
    assert r.code == 125 and "already exists in network" in r.err
    _ok(sk("network", "disconnect", "extra", "two"))
    assert _ok(sk("exec", "two", "ls", "/sys/class/net")).split() == ["eth0", "lo"]
    _ok(sk("rm", "-f", "two"))
    _ok(sk("network", "rm", "extra"))
    # A foreground run without --rm gives its address back when it exits.
    _ok(sk("run", "--name", "fg", "bb:1", "true"))
    assert json.loads(_ok(sk("network", "inspect", "bridge")))[0]["Containers"] == {}
    fg = json.loads(_ok(sk("inspect", "fg")))[0]
    assert fg["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == ""
    _ok(sk("rm", "fg"))
