"""Container networking: bridge networks, IPAM, veth/netns plumbing, NAT and published
ports, an embedded DNS resolver for user-defined networks (issue 8; docs/contracts.md
section skiff.network)."""

from __future__ import annotations


def sweep_sandboxes(config, db) -> None:
    """Release the network sandboxes a killed build left (skiff.network.sandbox.sweep),
    called by container create and start too. One directory listing when there are none
    (nothing imported, no pathlib: the ``--network none`` path pays nothing else)."""
    import os

    try:
        stale = any(n.startswith("netsandbox-") for n in os.listdir(config.at("tmp")))
    except FileNotFoundError:
        return
    if stale:
        from skiff.network import sandbox

        sandbox.sweep(config, db)
