"""The iptables backend of skiff.network.firewall, for hosts where nftables is not usable.

The same rules as the nftables backend (see skiff.network.firewall), in chains of skiff's
own, each reached by one jump from a built-in chain, so clean-up is: delete the jumps,
flush and delete the chain.

* ``SKIFF-N-<bridge>`` per bridge network, in ``filter`` (from FORWARD: isolation from
  other skiff bridges ``sk+``, ``--internal``, and ACCEPT for the bridge's own traffic so
  a FORWARD policy of DROP, as dockerd leaves it, does not cut containers off) and in
  ``nat`` (from POSTROUTING: outbound masquerade, the 127.0.0.1 hairpin, DNAT'ed
  traffic from the subnet back into it).
* ``SKIFF-P-<container id[:12]>`` per container with published ports, in ``nat`` (from
  PREROUTING and OUTPUT): ``[-d HOST_IP] -m addrtype --dst-type LOCAL -p PROTO --dport
  HOST_PORT -j DNAT --to-destination CONTAINER_IP:PORT``.

A chain's rules are loaded with one ``iptables-restore --noflush`` per call (each table's
part is committed whole). The binary is ``$SKIFF_IPTABLES`` or ``iptables`` (Debian's
alternative: iptables-nft or iptables-legacy), and its ip6tables twin for the IPv6
subnet of a dual-stack network (the same chains, outbound masquerade and isolation);
every call waits for the xtables lock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable

from skiff.errors import SkiffError, Unavailable

NETWORK_HOOKS = (("filter", "FORWARD"), ("nat", "POSTROUTING"))
PORT_HOOKS = (("nat", "PREROUTING"), ("nat", "OUTPUT"))


def binary(family: int = 4) -> str:
    """The iptables command to use (``$SKIFF_IPTABLES``, else ``iptables``); for IPv6 its
    ip6tables twin (iptables-legacy → ip6tables-legacy)."""
    exe = os.environ.get("SKIFF_IPTABLES") or "iptables"
    return exe.replace("iptables", "ip6tables", 1) if family == 6 else exe


def usable() -> str | None:
    """None when the iptables command exists and can list the nat table, else why not."""
    exe = shutil.which(binary())
    if exe is None:
        return f"{binary()} not found (apt-get install iptables)"
    r = subprocess.run([exe, "-w", "-t", "nat", "-S", "POSTROUTING"], capture_output=True,
                       text=True)
    return None if r.returncode == 0 else f"{binary()}: " + r.stderr.strip()


def _run(args: list[str], what: str, *, check: bool = True,
         family: int = 4) -> subprocess.CompletedProcess:
    exe = binary(family)
    r = subprocess.run([exe, "-w", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise SkiffError(what, f"{exe}: " + (r.stderr.strip().splitlines() or ["failed"])[-1])
    return r


def _restore(script: str, what: str, family: int = 4) -> None:
    exe = binary(family) + "-restore"
    r = subprocess.run([exe, "-w", "--noflush"], input=script, capture_output=True, text=True)
    if r.returncode != 0:
        raise SkiffError(what, f"{exe}: " + (r.stderr.strip().splitlines() or ["failed"])[-1])


def network_chain(bridge: str) -> str:
    return "SKIFF-N-" + "".join(c if c.isalnum() else "_" for c in bridge)


def ports_chain(container_id: str) -> str:
    return "SKIFF-P-" + container_id[:12]


def _load(chain: str, hooks: Iterable[tuple[str, str]], rules: dict[str, list[str]],
          what: str, family: int = 4) -> None:
    """(Re)fill ``chain`` in each table of ``rules`` and make sure each hook jumps to it
    once (first, as dockerd's DOCKER chains are reached)."""
    script = []
    for table, lines in rules.items():
        jumps = [h for t, h in hooks if t == table
                 and _run(["-t", table, "-C", h, "-j", chain], what, check=False,
                          family=family).returncode != 0]
        script += [f"*{table}", f":{chain} - [0:0]", f"-F {chain}"]
        script += [f"-A {chain} {ln}" for ln in lines]
        script += [f"-I {h} -j {chain}" for h in jumps]
        script.append("COMMIT")
    _restore("\n".join(script) + "\n", what, family)


def _drop(chain: str, hooks: Iterable[tuple[str, str]], what: str, family: int = 4) -> None:
    """Delete every jump to ``chain`` from the hooks, then the chain (no-op when absent)."""
    tables = []
    for table, hook in hooks:
        while _run(["-t", table, "-D", hook, "-j", chain], what, check=False,
                   family=family).returncode == 0:
            pass
        if table not in tables:
            tables.append(table)
    for table in tables:
        if _run(["-t", table, "-F", chain], what, check=False, family=family).returncode == 0:
            _run(["-t", table, "-X", chain], what, family=family)


def setup_network(bridge: str, subnet: str, *, internal: bool, family: int = 4) -> None:
    """Install (or replace) a network's chains (``family`` 6: with ip6tables, for a
    dual-stack network's IPv6 subnet). Raises SkiffError naming the bridge."""
    c, br = network_chain(bridge), bridge
    if internal:
        filt = [f"-i {br} -o {br} -j ACCEPT", f"-i {br} -j DROP", f"-o {br} -j DROP"]
        nat: list[str] = []
    else:
        filt = [f"-i {br} -o {br} -j ACCEPT", f"-i {br} -o sk+ -j DROP",
                f"-i {br} -j ACCEPT", f"-o {br} -j ACCEPT"]
        nat = [f"-s {subnet} ! -o {br} -j MASQUERADE"]
        if family == 4:
            nat += [f"-s 127.0.0.0/8 -o {br} -j MASQUERADE",
                    f"-s {subnet} -o {br} -m conntrack --ctstate DNAT -j MASQUERADE"]
    _load(c, NETWORK_HOOKS, {"filter": filt, "nat": nat}, "bridge " + bridge, family)


def teardown_network(bridge: str, family: int = 4) -> None:
    """Delete a network's chains and jumps (no-op when absent)."""
    _drop(network_chain(bridge), NETWORK_HOOKS, "bridge " + bridge, family)


def publish(container_id: str, rules) -> None:
    """Install the container's DNAT chain (firewall.PortRule items), replacing any; IPv6
    host addresses' rules go in the ip6tables twin (to the container's IPv6 address)."""
    by_family: dict[int, list[str]] = {4: [], 6: []}
    for r in rules:
        if r.proto not in ("tcp", "udp"):
            raise SkiffError(f"port {r.host_port}/{r.proto}", "only tcp and udp can be published")
        fam = 6 if ":" in r.host_ip else 4
        dst = f"-d {r.host_ip} " if r.host_ip not in ("", "0.0.0.0", "::") else ""
        to = f"[{r.container_ip}]" if fam == 6 else r.container_ip
        by_family[fam].append(f"{dst}-m addrtype --dst-type LOCAL -p {r.proto} --dport "
                              f"{int(r.host_port)} -j DNAT --to-destination "
                              f"{to}:{int(r.container_port)}")
    what = "container " + container_id[:12] + " ports"
    _load(ports_chain(container_id), PORT_HOOKS, {"nat": by_family[4]}, what)
    if by_family[6]:
        _load(ports_chain(container_id), PORT_HOOKS, {"nat": by_family[6]}, what, 6)
    elif shutil.which(binary(6)):
        _drop(ports_chain(container_id), PORT_HOOKS, what, 6)


def unpublish(container_id: str) -> None:
    """Delete the container's port chains and their jumps (no-op when absent)."""
    what = "container " + container_id[:12] + " ports"
    _drop(ports_chain(container_id), PORT_HOOKS, what)
    if shutil.which(binary(6)):
        _drop(ports_chain(container_id), PORT_HOOKS, what, 6)


def chains(family: int = 4) -> list[str]:
    """skiff's chains as ``TABLE:CHAIN`` (tests check nothing leaked)."""
    out = []
    for table in ("filter", "nat"):
        r = _run(["-t", table, "-S"], "iptables", check=False, family=family)
        out += [f"{table}:{ln.split()[1]}" for ln in r.stdout.splitlines()
                if ln.startswith("-N SKIFF-")]
    return sorted(out)


def check() -> None:
    """Raise Unavailable when iptables cannot be used."""
    why = usable()
    if why:
        raise Unavailable("firewall", why)
