"""Per-container /etc/hosts, /etc/hostname, /etc/resolv.conf."""

from __future__ import annotations

from skiff.runtime import etcfiles


def test_hosts_for_private_network():
    assert etcfiles.hosts_text("abc", network="none", extra_hosts=(("db", "10.0.0.2"),)) == (
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n10.0.0.2\tdb\n")


def test_resolv_drops_loopback_servers_in_private_netns(monkeypatch, tmp_path):
    text = etcfiles.resolv_text(network="none", dns=("1.1.1.1",), dns_search=("example.com",))
    assert text.splitlines()[:2] == ["nameserver 1.1.1.1", "search example.com"]


def test_write_returns_bind_mounts(tmp_path):
    mounts = etcfiles.write(tmp_path, "myhost", network="none")
    assert [m["destination"] for m in mounts] == ["/etc/resolv.conf", "/etc/hostname", "/etc/hosts"]
    assert all(m["type"] == "bind" and m["options"] == ["rbind", "rprivate"] for m in mounts)
    assert (tmp_path / "hostname").read_text() == "myhost\n"
