"""Fixtures for network tests: unique names, a leak check of links/addresses/firewall."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess

import pytest

needs_net = [pytest.mark.requires_root]


# The tables iptables-nft keeps its built-in chains in (never skiff's, which are
# skiff_*): made on first use by the iptables backend's tests and left, as iptables does.
IPTABLES_NFT_TABLES = ("table ip nat {", "table ip filter {", "table ip6 nat {",
                       "table ip6 filter {")


_COUNTER = re.compile(r"counter packets \d+ bytes \d+ ?")  # other tools' rules count


def host_state() -> tuple:
    """Links, IPv4 addresses, named namespaces, the nftables ruleset of the host and
    iptables-legacy's skiff chains and rules."""
    from skiff.network import bridge

    nft = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout \
        if shutil.which("nft") else ""
    ns = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
    legacy = ""
    for save in ("iptables-legacy-save", "ip6tables-legacy-save"):
        if shutil.which(save):
            legacy += subprocess.run([save], capture_output=True, text=True).stdout
    return bridge.links(), bridge.addresses(), ns, nft, legacy


def _items(state: tuple) -> set:
    links, addrs, ns, nft, legacy = state
    tables = {ln for ln in nft.splitlines() if ln.startswith("table ")
              and ln not in IPTABLES_NFT_TABLES}
    rules = {_COUNTER.sub("", ln.strip()) for ln in nft.splitlines() if ln.startswith("\t\t")
             and not ln.strip().startswith("type ")}
    ipt = {ln for ln in legacy.splitlines() if "SKIFF-" in ln}
    return ({("link", x) for x in links} | {("addr", x) for x in addrs} |
            {("netns", x) for x in ns} | {("table", x) for x in tables} |
            {("rule", x) for x in rules} | {("iptables-legacy", x) for x in ipt})


def leaked(before: tuple, timeout: float = 5.0) -> set:
    """What exists now and did not before (links, addresses, netns files, nft tables and
    rules). Other engineers' containers may come and go meanwhile on this shared host, so
    what vanished is ignored and additions get ``timeout`` seconds to go away."""
    import time

    end = time.monotonic() + timeout
    while True:
        extra = _items(host_state()) - _items(before)
        extra = {x for x in extra if not _foreign(x)}
        if not extra or time.monotonic() > end:
            return extra
        time.sleep(0.2)


def _master(link: str) -> str | None:
    try:
        return os.path.basename(os.readlink(f"/sys/class/net/{link}/master"))
    except OSError:
        return None


# What this pytest process made (bridges named by the fixtures' uids, user networks'
# bridges as service.bridge_name hands them out): anything else of skiff's naming on the
# host belongs to someone else's tests running at the same time.
OWN_PREFIXES: set[str] = set()
OWN_BRIDGES: set[str] = set()


def own(uid: str) -> None:
    """Register a test's uid: its bridges/veths/namespaces carry it."""
    OWN_PREFIXES.update({f"skr{uid}", f"skb{uid}", f"skt{uid}", f"vskt{uid}",
                         f"sktest-{uid}", f"skl{uid}", f"skm{uid}"})


@pytest.fixture(scope="session", autouse=True)
def _record_bridges():
    from skiff.network import service

    real = service.bridge_name

    def recording(network_id: str) -> str:
        name = real(network_id)
        OWN_BRIDGES.add(name)
        return name

    service.bridge_name = recording
    yield
    service.bridge_name = real


def _ours(name: str | None) -> bool:
    if not OWN_PREFIXES:  # nothing registered: only the shared default bridge is foreign
        from skiff.network.service import DEFAULT_BRIDGE

        return name != DEFAULT_BRIDGE
    return name in OWN_BRIDGES or any(name.startswith(p) for p in OWN_PREFIXES)


def _link_foreign(name: str) -> bool:
    if name.startswith("vsk"):
        master = _master(name)
        return master is not None and not _ours(master) and not _ours(name)
    return name.startswith("sk") and not _ours(name)


def _foreign(item: tuple) -> bool:
    """Something of skiff's naming that another run made: a veth (or a namespace holding
    one) on a bridge that is not this process's, such a bridge, its address, its table
    or rules (the shared default bridge skiff0 is never the tests' own)."""
    import re

    kind, what = item
    if kind == "link":
        return _link_foreign(what)
    if kind == "addr":
        return _link_foreign(what.split()[0])
    if kind == "table":
        m = re.match(r"table ip6? (skiff_n_\S+) \{", what)
        if not m:
            return False  # a container's ports table (skiff_p_<id>): counted
        from skiff.network.firewall import network_table
        from skiff.network.service import DEFAULT_BRIDGE

        name = m.group(1)
        if name == network_table(DEFAULT_BRIDGE):
            return True
        if not OWN_PREFIXES:
            return False
        return name not in {network_table(b) for b in OWN_BRIDGES} and not any(
            name.startswith(network_table(p)) for p in OWN_PREFIXES)
    if kind == "rule":
        names = [n for n in re.findall(r'"(sk[^"*]*)"', what)]
        return bool(names) and all(not _ours(n) for n in names)
    if kind == "netns":
        if what.startswith("sktest-"):
            return not _ours(what)
        from skiff.network import bridge

        try:
            with bridge.iproute(f"/run/netns/{what}") as ipr:
                peers = [ln.get_attr("IFLA_LINK") for ln in ipr.get_links()
                         if ln.get_attr("IFLA_LINK")]
        except Exception:
            return False
        masters = []
        for idx in peers:
            for name in os.listdir("/sys/class/net"):
                try:
                    with open(f"/sys/class/net/{name}/ifindex") as f:
                        if int(f.read()) != idx:
                            continue
                except OSError:
                    continue
                masters.append(_master(name))
        known = [m for m in masters if m]
        return bool(known) and all(not _ours(m) for m in known)
    return False


@pytest.fixture
def no_leaks():
    """Assert nothing was left behind: no link, address, netns file or firewall table or
    rule that was not there before the test."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    before = host_state()
    yield before
    assert leaked(before) == set()


@pytest.fixture
def uid() -> str:
    u = secrets.token_hex(4)
    own(u)
    return u


def nsexec(netns: str, *args: str, timeout: float = 10, **kw) -> subprocess.CompletedProcess:
    """Run a busybox applet inside a network namespace (only the net namespace is joined)."""
    return subprocess.run(["nsenter", f"--net={netns}", "/bin/busybox", *args],
                          capture_output=True, text=True, timeout=timeout, **kw)


def tcp_reach(netns: str, ip: str, port: int, timeout: float = 1.0, send: bytes = b"") -> bool:
    """True when a TCP connection from inside the namespace to ip:port succeeds in time
    (``send`` is written on it before it is closed)."""
    import sys

    code = ("import socket,sys\n"
            f"s = socket.create_connection(({ip!r}, {port}), timeout={timeout})\n"
            f"s.sendall({send!r}); s.close()")
    r = subprocess.run(["nsenter", f"--net={netns}", sys.executable, "-c", code],
                       capture_output=True, timeout=timeout + 10)
    return r.returncode == 0


def skiff_main(root, *args: str):
    """``skiff --root ROOT ARGS`` in-process → CliResult(code, out, err)."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from skiff.cli.main import main
    from tests.conftest import CliResult

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--root", str(root), *args])
    return CliResult(code, out.getvalue(), err.getvalue())


class Store:
    """A test store: ``sk("run", ...)`` runs skiff in-process against it; ``sk.root``."""

    def __init__(self, root):
        self.root = root

    def __call__(self, *args: str):
        return skiff_main(self.root, *args)


@pytest.fixture(scope="module")
def sk(tmp_path_factory, busybox_tar):
    """A store with busybox imported and its own default bridge; on teardown every
    container, network, bridge and table is gone (compared with the state before)."""
    uid = secrets.token_hex(3)
    own(uid)
    saved = {k: os.environ.get(k) for k in ("SKIFF_BRIDGE", "SKIFF_BRIDGE_SUBNET")}
    os.environ["SKIFF_BRIDGE"] = "skr" + uid
    os.environ["SKIFF_BRIDGE_SUBNET"] = f"10.93.{int(uid, 16) % 250}.0/24"
    before = host_state()
    root = tmp_path_factory.mktemp("net") / "root"
    assert skiff_main(root, "import", str(busybox_tar), "bb:1").code == 0
    run = Store(root)
    yield run
    ids = run("ps", "-aq", "--no-trunc").out.split()
    if ids:
        run("rm", "-f", *ids)
    from skiff import metadata
    from skiff.config import Config
    from skiff.network.service import NetworkService

    config = Config.from_env(root=str(root))
    db = metadata.connect(config.metadata_path)
    try:
        from skiff.network import sandbox

        sandbox.sweep(config, db)
        NetworkService(config, db).reset()
    finally:
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
