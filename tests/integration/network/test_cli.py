"""``skiff network ...`` end to end (root: it makes bridges and nft tables)."""

from __future__ import annotations

import json
import os

import pytest

pytestmark = [pytest.mark.requires_root]


@pytest.fixture
def netenv(uid, no_leaks):
    saved = {k: os.environ.get(k) for k in ("SKIFF_BRIDGE", "SKIFF_BRIDGE_SUBNET")}
    os.environ["SKIFF_BRIDGE"] = "skb" + uid
    os.environ["SKIFF_BRIDGE_SUBNET"] = f"10.91.{int(uid, 16) % 250}.0/24"
    yield uid
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_create_ls_inspect_rm(cli, netenv):
    uid = netenv
    r = cli("network", "create", "--subnet", f"10.92.{int(uid, 16) % 250}.0/24",
            "--label", "team=a", "n" + uid)
    assert r.code == 0, r.err
    nid = r.out.strip()
    assert len(nid) == 64
    r = cli("network", "ls")
    lines = r.out.splitlines()
    assert lines[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert [ln.split()[1:] for ln in lines[1:]] == [
        ["bridge", "bridge", "local"], ["host", "host", "local"],
        ["n" + uid, "bridge", "local"], ["none", "null", "local"]]
    assert lines[3].split()[0] == nid[:12]
    assert cli("network", "ls", "-q", "-f", "type=custom").out == nid[:12] + "\n"
    assert cli("network", "ls", "--format", "{{.Name}} {{.Driver}}", "-f", "label=team=a").out \
        == f"n{uid} bridge\n"
    r = cli("network", "inspect", "n" + uid)
    d = json.loads(r.out)[0]
    assert (d["Name"], d["Id"], d["Driver"], d["Internal"], d["Labels"], d["Containers"]) == \
        ("n" + uid, nid, "bridge", False, {"team": "a"}, {})
    assert d["IPAM"]["Config"] == [{"Subnet": f"10.92.{int(uid, 16) % 250}.0/24",
                                    "Gateway": f"10.92.{int(uid, 16) % 250}.1"}]
    assert cli("network", "inspect", "-f", "{{.Scope}}", nid[:10]).out == "local\n"
    r = cli("network", "create", "n" + uid)
    assert (r.code, r.err) == (1, f"skiff: network with name n{uid} already exists\n")  # daemon error: docker exits 1
    r = cli("network", "rm", "bridge")
    assert (r.code, r.err) == (1, "skiff: bridge is a pre-defined network and cannot be removed\n")
    r = cli("network", "rm", "n" + uid, "nope" + uid)
    assert (r.code, r.out, r.err) == (1, f"n{uid}\n", f"skiff: No such network: nope{uid}\n")
    r = cli("network", "inspect", "n" + uid)
    assert (r.code, r.out, r.err) == (1, "[]\n", f"skiff: No such network: n{uid}\n")


def test_prune_and_bad_input(cli, netenv):
    uid = netenv
    assert cli("network", "create", "--internal", "p" + uid).code == 0
    r = cli("network", "create", "--subnet", "10.92.0.5/24", "q" + uid)
    # daemon errors: docker/cli exits 1 for every "Error response from daemon"
    assert (r.code, r.err) == (1, "skiff: invalid subnet 10.92.0.5/24: it should be 10.92.0.0/24\n")
    r = cli("network", "create", "-d", "overlay", "q" + uid)
    assert (r.code, r.err) == (1, 'skiff: plugin "overlay" not found\n')
    r = cli("network", "prune", "-f")
    # docker/cli network prune: Fprintln of "Deleted Networks:\n<name>\n", a blank line after
    assert (r.code, r.out) == (0, f"Deleted Networks:\np{uid}\n\n")
    assert cli("network", "ls", "-q", "-f", "type=custom").out == ""
