"""Netlink plumbing: bridges, veth pairs, network namespaces, routes (skiff.network.nl on
the start path; pyroute2, imported lazily, for listings and network creation).

What dockerd's bridge driver does, without a daemon:

* ``ensure_bridge``: a Linux bridge with the network's gateway address, up, with
  ``route_localnet=1`` (so DNAT'ed 127.0.0.1 traffic may leave through it: the hairpin
  for ``-p`` on loopback) and IPv4 forwarding on.
* ``plug``: one veth pair per container and network: the host end (``host_veth``,
  enslaved to the bridge, made up) and the container end, made inside the container's
  network namespace as ``eth0`` (``eth1``... for further networks) with its MAC, then
  given its address and (unless the network is internal) the default route.
* ``delete_link``: delete the host end (the kernel deletes its peer); a pair whose
  namespace is unpinned with no process left in it goes with the namespace by itself.

Namespaces are files (``/run/netns/NAME`` or ``/proc/PID/ns/net``); a netlink socket is
opened inside one by switching this thread's namespace for the socket's creation only.
Errors are SkiffErrors naming the interface.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
from ipaddress import IPv4Network

from skiff.errors import SkiffError

TYPE_CHECKING = False  # (not typing's: a bridge start does not import collections)
if TYPE_CHECKING:
    from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"  # (text: no pathlib on the start path)
_libc = None


def _setns(fd: int) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def _iproute_class():
    """pyroute2's IPRoute without running ``pyroute2/__init__`` first: that eagerly imports
    NDB, IPDB, conntrack, nftables... (about 60% of its import time, paid by every
    ``skiff run``). The package module is a stand-in that loads the real ``__init__``
    into itself on the first attribute anyone asks of it, so ``from pyroute2 import X``
    elsewhere still works."""
    import sys

    if "pyroute2" not in sys.modules:
        import importlib
        import importlib.util
        import types

        spec = importlib.util.find_spec("pyroute2")
        if spec is not None and spec.submodule_search_locations:
            stub = types.ModuleType("pyroute2")
            stub.__path__ = list(spec.submodule_search_locations)
            stub.__spec__, stub.__file__, stub.__loader__ = spec, spec.origin, spec.loader

            def _load_all(name: str):
                if name.startswith("__"):
                    raise AttributeError(name)
                if importlib.util.find_spec(f"pyroute2.{name}") is not None:
                    # "from pyroute2 import config" inside pyroute2: just the submodule
                    return importlib.import_module(f"pyroute2.{name}")
                del stub.__getattr__
                spec.loader.exec_module(stub)
                try:
                    return stub.__dict__[name]
                except KeyError:
                    raise AttributeError(name) from None

            stub.__getattr__ = _load_all
            sys.modules["pyroute2"] = stub
    from pyroute2.iproute.linux import IPRoute

    return IPRoute


def rtnl(netns_path: str | os.PathLike[str] | None = None):
    """A skiff.network.nl.RtNetlink socket in the namespace at ``netns_path`` (None: this
    one): the start path's netlink client (no pyroute2 import). Close it (``with``)."""
    from skiff.network.nl import RtNetlink

    return _in_netns(netns_path, RtNetlink)


def _in_netns(netns_path, factory):
    """``factory()`` called with this thread switched into the namespace at ``netns_path``
    (None: no switch), switched straight back after."""
    if netns_path is None:
        return factory()
    me = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(fd)
        finally:
            os.close(fd)
        try:
            return factory()
        finally:
            _setns(me)
    finally:
        os.close(me)


def iproute(netns_path: str | os.PathLike[str] | None = None):
    """An ``IPRoute`` talking to the namespace at ``netns_path`` (None: this one).

    The socket is created with this thread switched into the namespace and the thread is
    switched straight back, so nothing else runs there. Close it (``with``) when done.
    """
    return _in_netns(netns_path, _iproute_class())


@contextlib.contextmanager
def netlink_errors(what: str) -> Iterator[None]:
    """Turn pyroute2's NetlinkError/OSError into SkiffError(what, strerror)."""
    try:
        yield
    except SkiffError:
        raise
    except Exception as e:
        code = getattr(e, "code", None) or getattr(e, "errno", None)
        if isinstance(code, int) and code > 0:
            raise SkiffError(what, os.strerror(code)) from e
        raise SkiffError(what, str(e)) from e


def create_netns(name: str, userns: str | None = None) -> str:
    """A new, empty network namespace pinned at ``/run/netns/NAME`` (as ``ip netns add``);
    its loopback is brought up. Raises SkiffError when the name is taken.

    This thread unshares a network namespace of its own, bind-mounts it onto the file,
    opens the netlink socket that brings lo up there and goes straight back to the one it
    was in (setns): no fork and no helper thread (whose start waits for a CPU on a busy
    host), about a millisecond; the process's other threads are untouched.
    With ``userns`` (a pinned user namespace file: skiff.runtime.userns) the namespace is
    made inside it instead, so that it is owned by it: a user-namespaced container can
    only mount its sysfs, set its sysctls and ``exec`` into a netns its userns owns.
    """
    from skiff.network.nl import RtNetlink

    path = os.path.join(NETNS_DIR, name)
    os.makedirs(NETNS_DIR, exist_ok=True)
    _ensure_shared_mount()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    except FileExistsError:
        raise SkiffError(f"network namespace {name}", "already exists") from None
    os.close(fd)
    if userns is not None:
        from skiff.runtime.userns import unshare_netns_in

        try:
            unshare_netns_in(userns, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
        with rtnl(path) as nl, netlink_errors("lo"):
            nl.set_link(1, up=True)
        return path
    libc = _get_libc()
    nl = None
    me = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.unshare(CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise SkiffError(f"network namespace {name}", "unshare: " + os.strerror(e))
        try:
            if libc.mount(b"/proc/thread-self/ns/net", os.fsencode(path), b"none", 4096,
                          None) != 0:  # MS_BIND
                e = ctypes.get_errno()
                raise SkiffError(f"network namespace {name}", "bind mount: " + os.strerror(e))
            nl = RtNetlink()  # a socket stays in the namespace it was made in
        finally:
            _setns(me)  # back (raises only if the kernel refuses our own namespace)
    except BaseException:
        if nl is not None:
            nl.close()
        remove_netns(path)
        raise
    finally:
        os.close(me)
    try:
        with nl, netlink_errors("lo"):
            nl.set_link(1, up=True)
    except BaseException:
        remove_netns(path)
        raise
    return path


_shared_checked = False


def _ensure_shared_mount() -> None:
    """Make /run/netns a shared mount point of its own, as ``ip netns`` does, so the pins
    show up in other mount namespaces (runc's, the monitor's)."""
    global _shared_checked
    if _shared_checked:
        return
    target = NETNS_DIR
    mounted = shared = False
    with open("/proc/self/mountinfo") as f:
        for ln in f:
            fields = ln.split()
            if fields[4] == target:  # the last mount on it wins (mountinfo is in order)
                mounted = True
                shared = any(x.startswith("shared:") for x in fields[6:fields.index("-")])
    libc = _get_libc()
    if not mounted:
        libc.mount(os.fsencode(target), os.fsencode(target), b"none", 4096 | 16384, None)  # MS_BIND|MS_REC
    if not shared:  # (mount(2) takes the namespace's lock: not again on every start)
        libc.mount(b"none", os.fsencode(target), None, 1 << 20 | 16384, None)  # MS_SHARED|MS_REC
    _shared_checked = True


def _get_libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def remove_netns(path: str | os.PathLike[str]) -> None:
    """Unmount and delete a pinned namespace file (no-op when it is gone)."""
    p = os.fsencode(path)
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    _libc.umount2(p, 2)  # MNT_DETACH; fails harmlessly when not a mount point
    with contextlib.suppress(FileNotFoundError):
        os.unlink(p)


def link_index(ipr, name: str) -> int | None:
    """Interface index of ``name`` in ``ipr``'s namespace, or None."""
    r = ipr.link_lookup(ifname=name)
    return r[0] if r else None


def set_sysctl(path: str, value: str) -> None:
    """Write ``value`` to the /proc/sys file ``path`` unless it already reads so."""
    with contextlib.suppress(OSError):
        with open(path) as f:
            if f.read().strip() == value:
                return
    with open(path, "w") as f:
        f.write(value)


def ensure_bridge(name: str, gateway: str, subnet: IPv4Network, *, mtu: int = 1500) -> bool:
    """Make sure bridge ``name`` exists, is up and holds ``gateway/prefix``; return True if
    it was created now. Turns on ``net.ipv4.ip_forward`` and the bridge's route_localnet.
    Raises SkiffError when ``name`` exists but is not a bridge."""
    created = False
    with rtnl() as nl, netlink_errors(f"bridge {name}"):
        info = nl.link_state(name)
        up = False
        if info is None:
            try:
                nl.add_bridge(name, mtu)
                created = True
            except OSError as e:  # another skiff process made it just now
                if e.errno != errno.EEXIST:
                    raise
            idx = nl.link_index(name)
        else:
            idx, kind, up = info
            if kind != "bridge":
                raise SkiffError(f"bridge {name}", f"interface exists and is a {kind or 'device'}")
        if (gateway, subnet.prefixlen) not in nl.addrs(idx):
            try:
                nl.add_addr(idx, gateway, subnet.prefixlen)
            except OSError as e:
                if e.errno != errno.EEXIST:
                    raise
        if not up:
            nl.set_link(idx, up=True)
    set_sysctl(f"/proc/sys/net/ipv4/conf/{name}/route_localnet", "1")
    set_sysctl("/proc/sys/net/ipv4/ip_forward", "1")
    return created


def delete_link(name: str) -> bool:
    """Delete interface ``name`` from the host namespace; False when it did not exist."""
    with rtnl() as nl, netlink_errors(f"interface {name}"):
        idx = nl.link_index(name)
        if idx is None:
            return False
        try:
            nl.del_link(idx)
        except OSError as e:  # raced with the kernel removing a veth with its netns
            if e.errno == errno.ENODEV:
                return False
            raise
    return True


def delete_links_later(names: list[str]) -> None:
    """Delete the host interfaces ``names`` from a detached process and return at once.
    Deleting a veth waits for RCU grace periods (15-50 ms here), which a release need not
    sit through. (Used where the namespace may outlive its pin: a ``--network container:``
    joiner holds it, or a killed build's RUN process; otherwise the pair goes with the
    namespace and nothing is spawned: attach.detach ``with_netns``.)

    The deleter is this Python running :func:`delete_links_now` under util-linux
    ``setsid -f`` (posix_spawn: ~1 ms, where forking this process cost 5-15), in a session
    of its own, holding none of our descriptors (a caller reading our stdout/stderr does not
    wait for it); it never touches the database. Without ``setsid``, a double fork does the
    same. Errors are ignored: a link that is gone is the goal, and :func:`plug` replaces a
    leftover of the same name."""
    if not names:
        return
    import sys

    from skiff.config import which
    from skiff.network.nl import RtNetlink

    # By index, not name: the name is this container's and may be plugged again (a restart)
    # before the deleter runs; an ifindex is not handed out again so soon.
    with RtNetlink() as nl:
        indexes = [str(i) for i in (nl.link_index(n) for n in names) if i is not None]
    if not indexes:
        return
    setsid = which("setsid")
    if setsid and sys.executable:
        src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        code = ("import sys; sys.path.insert(0, sys.argv[1]); from skiff.network.bridge "
                "import delete_links_now; delete_links_now([int(i) for i in sys.argv[2:]])")
        try:
            pid = os.posix_spawn(setsid, [setsid, "-f", sys.executable, "-I", "-c", code, src,
                                          *indexes], {"PATH": os.defpath}, file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDWR, 0),
                (os.POSIX_SPAWN_DUP2, 0, 1), (os.POSIX_SPAWN_DUP2, 0, 2)])
            _, status = os.waitpid(pid, 0)  # setsid -f forks and exits at once
            if os.waitstatus_to_exitcode(status) == 0:
                return
        except OSError:
            pass
    pid = os.fork()
    if pid == 0:
        try:
            if os.fork() == 0:
                null = os.open(os.devnull, os.O_RDWR)
                for std in (0, 1, 2):
                    os.dup2(null, std)
                os.closerange(3, 65536)
                delete_links_now([int(i) for i in indexes])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def delete_links_now(indexes: list[int]) -> None:
    """Delete the host interfaces with these ifindexes; errors ignored (the deleter's body)."""
    from skiff.network.nl import RtNetlink

    with RtNetlink() as nl:
        for idx in indexes:
            with contextlib.suppress(Exception):
                nl.del_link(idx)


def veth_name(network_id: str, container_id: str) -> str:
    """The host end's name: ``vsk`` + 9 hex of sha256(network/container) — deterministic, so
    a crash between creating it and recording it still lets ``detach`` find it."""
    from skiff.hexdigest import sha256_hex

    return "vsk" + sha256_hex(f"{network_id}/{container_id}")[:9]


def plug(*, bridge: str, netns_path: str | os.PathLike[str], host_veth: str, ifname: str,
         address: str, prefix_len: int, gateway: str | None, mac: str,
         mtu: int = 1500) -> None:
    """Connect the namespace to ``bridge`` with a new veth pair (see the module docstring).

    ``gateway`` None means no default route (``--internal``). On any failure the pair is
    deleted again before the SkiffError propagates. Raises SkiffError when ``ifname``
    already exists in the namespace or the bridge is missing.
    """
    with rtnl() as nl, netlink_errors(f"veth {host_veth}"):
        br = nl.link_index(bridge)
        if br is None:
            raise SkiffError(f"bridge {bridge}", "no such interface")
        with rtnl(netns_path) as nr:
            # The container end is made in the namespace, named and addressed already.
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                for retry in (False, True):
                    try:
                        nl.add_veth(host_veth, ifname, mtu, peer_netns_fd=fd, peer_mac=mac,
                                    master=br, up=True)
                        break
                    except OSError as e:
                        if e.errno != errno.EEXIST or retry:
                            raise
                        if nr.link_index(ifname) is not None:
                            raise SkiffError(f"interface {ifname}",
                                             "already exists in the container") from None
                        # this container's last pair, still going with its old namespace
                        # (the kernel's clean-up) or its deleter: take it away now
                        old = nl.link_index(host_veth)
                        if old is not None:
                            try:
                                nl.del_link(old)
                            except OSError as e2:
                                if e2.errno != errno.ENODEV:
                                    raise
            finally:
                os.close(fd)
            try:
                # the host end is up already (add_veth up=True), lo since create_netns
                idx = nr.link_index(ifname)
                nr.add_addr(idx, address, prefix_len)
                nr.set_link(idx, up=True)
                # The first network with a gateway gives the default route (Docker: the
                # gateway endpoint); later ones only their subnet.
                if gateway is not None:
                    try:
                        nr.add_default_route(gateway)
                    except OSError as e:
                        if e.errno != errno.EEXIST:
                            raise
            except BaseException:
                with contextlib.suppress(Exception):
                    hidx = nl.link_index(host_veth)
                    if hidx is not None:
                        nl.del_link(hidx)
                raise


def host_routes() -> list[IPv4Network]:
    """The IPv4 destinations of the host's main routing table (the default route left
    out): what a new network's subnet must not overlap."""
    out = []
    with iproute() as ipr:
        for r in ipr.get_routes(family=2, table=254):
            dst = r.get("RTA_DST")
            if dst and r["dst_len"] > 0:
                out.append(IPv4Network(f"{dst}/{r['dst_len']}", strict=False))
    return out


def links(netns_path: str | os.PathLike[str] | None = None) -> list[str]:
    """Interface names in a namespace (tests compare them before and after)."""
    with iproute(netns_path) as ipr:
        return sorted(link.get("ifname") for link in ipr.get_links())


def addresses(netns_path: str | os.PathLike[str] | None = None) -> list[str]:
    """``"ifname address/prefix"`` for every IPv4 address in a namespace."""
    with iproute(netns_path) as ipr:
        names = {link["index"]: link.get("ifname") for link in ipr.get_links()}
        return sorted(f"{names.get(a['index'])} {a.get('IFA_ADDRESS')}/{a['prefixlen']}"
                      for a in ipr.get_addr(family=2))
