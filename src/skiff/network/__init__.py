"""Container networking: bridge networks, IPAM, veth/netns plumbing, NAT and published
ports, an embedded DNS resolver for user-defined networks (issue 8; docs/contracts.md
section skiff.network)."""
