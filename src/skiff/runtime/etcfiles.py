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


# What Docker's init layer adds below a container's own layer besides the mount points
# (moby daemon/initlayer): scripts look for /.dockerenv to know they run in a container.
INIT_FILES = ("/.dockerenv", "/etc/mtab")
MTAB_TARGET = "/proc/mounts"


def add_init_files(rootfs: str, owner: tuple[int, int] = (0, 0)) -> None:
    """Make Docker's init-layer files in a container's mounted ``rootfs`` (its first start)
    where the image has none: ``/.dockerenv`` (empty, 0755) and ``/etc/mtab`` -> ``/proc/mounts``.
    They land in the rw layer; diff, commit and the rw size leave them out
    (skiff.runtime.ops: ``_INIT_PATHS``, ``rw_size``) as Docker's init layer keeps them out. ``owner``:
    the host ids of the container's root (a user-namespaced container's). An image whose
    /etc is not a directory (or a read-only rootfs) gets what can be made; never raises."""
    try:
        fd = os.open(os.path.join(rootfs, ".dockerenv"),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o755)
    except OSError:
        pass  # already there (the image's), or cannot be made
    else:
        try:
            os.fchmod(fd, 0o755)  # (whatever the umask)
            if owner != (0, 0):
                os.fchown(fd, *owner)
        finally:
            os.close(fd)
    mtab = os.path.join(rootfs, "etc", "mtab")
    if os.path.isdir(os.path.join(rootfs, "etc")) and not os.path.lexists(mtab):
        try:
            os.symlink(MTAB_TARGET, mtab)
            if owner != (0, 0):
                os.lchown(mtab, *owner)
        except OSError:
            pass
