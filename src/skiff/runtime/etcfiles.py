"""The per-container /etc/hosts, /etc/hostname and /etc/resolv.conf, as dockerd writes them.

Each file lives in the container's directory on the host and is bind-mounted over the
image's copy, so the image and the container's diff never see them.
"""

from __future__ import annotations

import os

from skiff.runtime.spec import bind_mount

_DEFAULT_HOSTS = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)
# What dockerd falls back to when the host only lists loopback resolvers.
_DEFAULT_DNS = ("8.8.8.8", "8.8.4.4")


def hosts_text(hostname: str, *, network: str, extra_hosts: tuple[tuple[str, str], ...] = (),
               ip: str | None = None) -> str:
    """/etc/hosts: the host's own file for ``--network host``; else Docker's six default
    lines, then ``--add-host`` entries, then ``IP\\thostname`` when the container has an IP."""
    if network == "host":
        try:
            text = _read("/etc/hosts")
        except OSError:
            text = _DEFAULT_HOSTS
    else:
        text = _DEFAULT_HOSTS
    for name, addr in extra_hosts:
        text += f"{addr}\t{name}\n"
    if ip:
        text += f"{ip}\t{hostname}\n"
    return text


def resolv_text(*, network: str, dns: tuple[str, ...] = (), dns_search: tuple[str, ...] = (),
                dns_options: tuple[str, ...] = ()) -> str:
    """/etc/resolv.conf: the host's, minus loopback nameservers when the container has its
    own network namespace (falling back to Google's resolvers, as dockerd); --dns,
    --dns-search and --dns-option replace the respective lines."""
    try:
        host = _read("/etc/resolv.conf")
    except OSError:
        host = ""
    ns, search, opts, other = [], [], [], []
    for line in host.splitlines():
        f = line.split()
        if not f or f[0].startswith(("#", ";")):
            continue
        if f[0] == "nameserver" and len(f) > 1:
            ns.append(f[1])
        elif f[0] in ("search", "domain"):
            search = f[1:]
        elif f[0] == "options":
            opts.extend(f[1:])
        else:
            other.append(line)
    if network != "host":
        ns = [n for n in ns if not (n.startswith("127.") or n == "::1")]
        if not ns:
            ns = list(_DEFAULT_DNS)
    if dns:
        ns = list(dns)
    if dns_search:
        search = list(dns_search)
    if dns_options:
        opts = list(dns_options)
    out = [*(f"nameserver {n}" for n in ns)]
    if search:
        out.append("search " + " ".join(search))
    if opts:
        out.append("options " + " ".join(opts))
    out.extend(other)
    return "\n".join(out) + "\n"


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def write(directory: str | os.PathLike[str], hostname: str, *, network: str,
          extra_hosts: tuple[tuple[str, str], ...] = (), dns: tuple[str, ...] = (),
          dns_search: tuple[str, ...] = (), dns_options: tuple[str, ...] = (),
          ip: str | None = None) -> list[dict]:
    """Write hosts, hostname and resolv.conf into ``directory``; return their OCI bind
    mounts (rbind, rprivate), in dockerd's order: resolv.conf, hostname, hosts.
    ``ip``: the container's address on its network (the hosts line for its hostname)."""
    os.makedirs(directory, exist_ok=True)
    files = {
        "resolv.conf": resolv_text(network=network, dns=dns, dns_search=dns_search,
                                   dns_options=dns_options),
        "hostname": hostname + "\n",
        "hosts": hosts_text(hostname, network=network, extra_hosts=extra_hosts, ip=ip),
    }
    mounts = []
    for name, text in files.items():
        p = os.path.join(directory, name)
        tmp = p + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, p)
        mounts.append(bind_mount(p, f"/etc/{name}"))
    return mounts
