"""NAT, isolation and port forwarding in the kernel's nftables (no packet touches Python).

Every rule skiff makes lives in a table of its own, so clean-up is deleting the table:

* ``ip skiff_n_<bridge device>`` per bridge network:
  - ``forward`` (filter, priority 0): drop traffic from this bridge to another skiff bridge
    (interfaces named ``sk*``: Docker's DOCKER-ISOLATION stages); on ``--internal``
    networks drop everything that enters or leaves the bridge from/to elsewhere.
  - ``postrouting`` (nat, srcnat): masquerade the subnet going out of any other interface
    (outbound NAT, not on internal networks); masquerade 127.0.0.0/8 sources leaving
    through the bridge (the ``-p`` hairpin on 127.0.0.1, with route_localnet) and
    DNAT'ed traffic from the subnet back into it (a container reaching a sibling through
    a published port).
* ``ip skiff_p_<container id[:12]>`` per container with published ports: ``prerouting``
  (nat, dstnat) for traffic arriving from elsewhere and ``output`` (nat, -100) for the
  host's own connections; each ``[ip daddr HOST_IP] fib daddr type local <proto> dport
  HOST_PORT dnat to CONTAINER_IP:PORT``.

``backend()`` picks what the host has: nftables (``nft``) when present and working,
else iptables (skiff.network.iptables: the same rules in chains of skiff's own), else
Unavailable; ``$SKIFF_FIREWALL=nftables|iptables`` forces one. nft rule sets are loaded
with ``nft -f -`` in one transaction: they appear whole or not at all.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterable

from skiff.errors import SkiffError, Unavailable
from skiff.runtime.value import value

BRIDGE_PATTERN = "sk*"


@value
class PortRule:
    """One published port: ``host_ip`` "" = every local address; ``proto`` tcp|udp."""

    host_ip: str
    host_port: int
    proto: str
    container_ip: str
    container_port: int


def backend() -> str:
    """``"nftables"`` when ``nft`` is installed and the kernel answers it, else
    ``"iptables"`` when that works (``$SKIFF_IPTABLES`` names the binary, default
    ``iptables``); ``$SKIFF_FIREWALL`` forces either. Decided once per setting.

    Raises Unavailable("firewall", why) when neither is usable (or the forced one is not)."""
    return _backend(os.environ.get("SKIFF_FIREWALL") or "",
                    os.environ.get("SKIFF_IPTABLES") or "")


def _nft_usable() -> str | None:
    nft = shutil.which("nft")
    if nft is None:
        return "nft not found (apt-get install nftables)"
    r = subprocess.run([nft, "list", "tables"], capture_output=True, text=True)
    return None if r.returncode == 0 else "nft list tables: " + r.stderr.strip()


@functools.cache
def _backend(forced: str, _iptables: str) -> str:
    from skiff.network import iptables

    if forced not in ("", "nftables", "iptables"):
        raise Unavailable("firewall", f"SKIFF_FIREWALL={forced}: use nftables or iptables")
    if forced != "iptables":
        why = _nft_usable()
        if why is None:
            return "nftables"
        if forced:
            raise Unavailable("firewall", why)
    why_ipt = iptables.usable()
    if why_ipt is None:
        return "iptables"
    raise Unavailable("firewall", why_ipt if forced else f"{why}; {why_ipt}")


def _iptables():
    """The iptables module when that is the backend in use, else None."""
    if backend() == "iptables":
        from skiff.network import iptables

        return iptables
    return None


def _nft(script: str, what: str) -> None:
    r = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True)
    if r.returncode != 0:
        raise SkiffError(what, "nft: " + (r.stderr.strip().splitlines() or ["failed"])[-1])


def network_table(bridge: str) -> str:
    """A network's table, named after its bridge device (so every store root using the
    shared default bridge uses one table, recreated in place, never one per root)."""
    return "skiff_n_" + "".join(c if c.isalnum() else "_" for c in bridge)


def ports_table(container_id: str) -> str:
    return "skiff_p_" + container_id[:12]


def _q(name: str) -> str:
    return '"' + name.replace('"', "") + '"'


def _recreate(table: str) -> str:
    # "add" then "delete" makes the delete safe when the table is absent (nft 1.0.6 has no
    # "destroy"); the final "add table" starts it empty. One transaction with the rules.
    return f"add table ip {table}\ndelete table ip {table}\nadd table ip {table}\n"


def network_rules(bridge: str, subnet: str, *, internal: bool) -> str:
    """The nft script that (re)creates a network's table (see the module docstring)."""
    t, br = network_table(bridge), _q(bridge)
    lines = [_recreate(t).rstrip("\n"),
             f"add chain ip {t} forward {{ type filter hook forward priority 0; policy accept; }}",
             f"add chain ip {t} postrouting {{ type nat hook postrouting priority 100; policy accept; }}"]
    if internal:
        lines += [f"add rule ip {t} forward iifname {br} oifname != {br} drop",
                  f"add rule ip {t} forward oifname {br} iifname != {br} drop"]
    else:
        lines += [f"add rule ip {t} forward iifname {br} oifname != {br} "
                  f"oifname {_q(BRIDGE_PATTERN)} drop",
                  f"add rule ip {t} postrouting ip saddr {subnet} oifname != {br} masquerade",
                  f"add rule ip {t} postrouting oifname {br} ip saddr 127.0.0.0/8 masquerade",
                  f"add rule ip {t} postrouting oifname {br} ip saddr {subnet} "
                  "ct status dnat masquerade"]
    return "\n".join(lines) + "\n"


def setup_network(bridge: str, subnet: str, *, internal: bool) -> None:
    """Install (or replace) a network's table. Raises SkiffError naming the bridge."""
    if ipt := _iptables():
        return ipt.setup_network(bridge, subnet, internal=internal)
    _nft(network_rules(bridge, subnet, internal=internal), "bridge " + bridge)


def teardown_network(bridge: str) -> None:
    """Delete a network's table (no-op when absent)."""
    if ipt := _iptables():
        return ipt.teardown_network(bridge)
    t = network_table(bridge)
    _nft(f"add table ip {t}\ndelete table ip {t}\n", "bridge " + bridge)


def port_rules(container_id: str, rules: Iterable[PortRule]) -> str:
    """The nft script that (re)creates a container's port-forwarding table: ``ip`` for
    IPv4 host addresses, ``ip6`` (same name) for IPv6 ones (``-p [::1]:8080:80``, DNAT to
    the container's IPv6 address), made only when there are such rules."""
    t = ports_table(container_id)
    rules = list(rules)
    lines = []
    for fam in ("ip", "ip6"):
        mine = [r for r in rules if (":" in r.host_ip) == (fam == "ip6")]
        if fam == "ip6" and not mine:  # (drop one a previous publish made)
            lines.append(f"add table ip6 {t}\ndelete table ip6 {t}")
            continue
        lines += [_recreate(t).replace("table ip ", f"table {fam} ").rstrip("\n"),
                  f"add chain {fam} {t} prerouting {{ type nat hook prerouting priority -100; "
                  "policy accept; }",
                  f"add chain {fam} {t} output {{ type nat hook output priority -100; "
                  "policy accept; }"]
        for r in mine:
            if r.proto not in ("tcp", "udp"):
                raise SkiffError(f"port {r.host_port}/{r.proto}",
                                 "only tcp and udp can be published")
            dst = (f"[{r.container_ip}]" if fam == "ip6" else r.container_ip)
            match = (f"{fam} daddr {r.host_ip} " if r.host_ip not in ("", "0.0.0.0", "::")
                     else "")
            match += (f"fib daddr type local {r.proto} dport {int(r.host_port)} "
                      f"dnat to {dst}:{int(r.container_port)}")
            lines += [f"add rule {fam} {t} prerouting {match}", f"add rule {fam} {t} output {match}"]
    return "\n".join(lines) + "\n"


def publish(container_id: str, rules: list[PortRule]) -> None:
    """Install the container's DNAT rules (replacing any previous set; none → no table)."""
    if not rules:
        unpublish(container_id)
        return
    if ipt := _iptables():
        return ipt.publish(container_id, rules)
    _nft(port_rules(container_id, rules), "container " + container_id[:12] + " ports")


def unpublish(container_id: str) -> None:
    """Delete the container's port table (no-op when absent)."""
    if ipt := _iptables():
        return ipt.unpublish(container_id)
    t = ports_table(container_id)
    _nft(f"add table ip {t}\ndelete table ip {t}\nadd table ip6 {t}\ndelete table ip6 {t}\n",
         "container " + container_id[:12] + " ports")


def tables() -> list[str]:
    """Names of skiff's tables in the ip family (tests check nothing leaked), and of the
    iptables backend's chains under the same names (``SKIFF-P-<id>`` as
    ``skiff_p_<id>``), whichever of the two is installed."""
    out = set()
    if shutil.which("nft"):
        r = subprocess.run(["nft", "list", "tables", "ip"], capture_output=True, text=True)
        out |= {ln.split()[-1] for ln in r.stdout.splitlines()
                if ln.split()[-1].startswith("skiff_")}
    from skiff.network import iptables

    if iptables.usable() is None:
        out |= {"skiff_" + c.split(":", 1)[1][6].lower() + "_" + c.split(":", 1)[1][8:]
                for c in iptables.chains()}
    return sorted(out)
