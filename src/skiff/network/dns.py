"""The embedded DNS resolver of a user-defined network (Podman's aardvark-dns design).

Docker answers at 127.0.0.11 from the daemon; skiff has no daemon, so one small process per
user-defined network listens on the network's gateway address, UDP port 53, while at least
one container is attached. Containers' /etc/resolv.conf names the gateway. It answers
``A`` queries for the names of the containers on *that* network — the container name,
its ``--network-alias`` names and its 12-hex short ID — from the metadata DB (read per
query, so attach/detach need no signalling), ``AAAA`` queries on dual-stack networks
(an empty answer elsewhere), and forwards everything else to the host's resolvers (/etc/resolv.conf).

``ensure`` starts it (idempotent), ``refresh`` stops it when the network has no endpoints
left. The process: ``python -m skiff.network.dns ROOT NETWORK_ID ADDRESS``, pid file
``ROOT/networks/<id>/dns.pid``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path

from skiff.config import Config

TTL = 600
PORT = 53


def _pidfile(root: Path, network_id: str) -> Path:
    return root / "networks" / network_id / "dns.pid"


def _running(pidfile: Path, network_id: str) -> int | None:
    try:
        pid = int(pidfile.read_text())
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if network_id.encode() in cmd and b"skiff.network.dns" in cmd else None


def ensure(config: Config, network) -> int:
    """Start the network's resolver unless it runs; return its pid. Waits until it listens
    (at most 2 s). Raises SkiffError when it cannot start."""
    from skiff.errors import SkiffError

    pf = _pidfile(config.root, network.id)
    pid = _running(pf, network.id)
    if pid:
        return pid
    pf.parent.mkdir(parents=True, exist_ok=True)
    r, w = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "skiff.network.dns", str(config.root), network.id,
         network.gateway, str(w)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, pass_fds=(w,), close_fds=True)
    os.close(w)
    try:
        import select

        ready, _, _ = select.select([r], [], [], 5.0)
        msg = os.read(r, 512) if ready else b""
    finally:
        os.close(r)
    if msg != b"ok":
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()
        raise SkiffError(f"DNS resolver for network {network.name}",
                         msg.decode(errors="replace") or "did not start")
    return proc.pid


def stop(config: Config, network_id: str) -> None:
    """Stop the network's resolver (no-op when it is not running)."""
    pf = _pidfile(config.root, network_id)
    pid = _running(pf, network_id)
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists() or \
                    Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                break
            time.sleep(0.01)
    with contextlib.suppress(FileNotFoundError):
        pf.unlink()
    with contextlib.suppress(OSError):
        pf.parent.rmdir()


def refresh(config: Config, network, db: sqlite3.Connection) -> None:
    """After a detach: stop the resolver when no container is left on the network."""
    if not db.execute("SELECT 1 FROM network_endpoints WHERE network_id = ?",
                      (network.id,)).fetchone():
        stop(config, network.id)


# ------------------------------------------------------------------------------ wire format
def parse_query(data: bytes) -> tuple[int, int, str, int, int]:
    """(id, flags, qname lower-cased without the final dot, qtype, end offset of the
    question). Raises ValueError on a malformed packet."""
    if len(data) < 12:
        raise ValueError("short")
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    if qd != 1:
        raise ValueError("one question expected")
    labels, i = [], 12
    while True:
        n = data[i]
        if n == 0:
            i += 1
            break
        if n & 0xC0:
            raise ValueError("compressed question")
        labels.append(data[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    qtype, _qclass = struct.unpack("!HH", data[i:i + 4])
    return qid, flags, ".".join(labels).lower(), qtype, i + 4


def answer(query: bytes, addresses: list[str], *, rcode: int = 0) -> bytes:
    """A response to ``query`` with one A record per IPv4 address and one AAAA record per
    IPv6 one (empty = NODATA / rcode)."""
    qid, flags, _name, _qt, qend = parse_query(query)
    rd = flags & 0x0100
    hdr = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1,
                      len(addresses), 0, 0)
    body = query[12:qend]
    for a in addresses:
        if ":" in a:
            body += (b"\xc0\x0c" + struct.pack("!HHIH", 28, 1, TTL, 16)
                     + socket.inet_pton(socket.AF_INET6, a))
        else:
            body += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, TTL, 4) + socket.inet_aton(a)
    return hdr + body


def records_for(qtype: int, addresses: list[str], subnet: str | None,
                subnet6: str | None) -> list[str]:
    """What to answer a query of ``qtype`` for a name with these IPv4 ``addresses``: A (1)
    → them; AAAA (28) → their IPv6 twins on a dual-stack network (skiff.network.ipv6),
    else nothing (NODATA, so resolvers fall back to A); other types → nothing."""
    if qtype == 1:
        return addresses
    if qtype == 28 and subnet and subnet6:
        from skiff.network.ipv6 import address_for

        return [str(address_for(subnet, a, subnet6)) for a in addresses]
    return []


def lookup(db: sqlite3.Connection, network_id: str, name: str) -> list[str]:
    """Addresses of the endpoints on the network that answer to ``name``."""
    names = {}
    with contextlib.suppress(sqlite3.Error):
        names = {r[0]: r[1] for r in db.execute("SELECT id, name FROM containers")}
    out = []
    for cid, addr, data in db.execute("SELECT container_id, address, data FROM "
                                      "network_endpoints WHERE network_id = ?", (network_id,)):
        d = json.loads(data or "{}")
        cands = {cid[:12], names.get(cid, ""), d.get("name", ""), *(d.get("aliases") or ())}
        if name in {c.lower() for c in cands if c}:
            out.append(addr)
    return out


def _upstreams() -> list[str]:
    out = []
    with contextlib.suppress(OSError):
        for line in Path("/etc/resolv.conf").read_text().splitlines():
            f = line.split()
            if len(f) >= 2 and f[0] == "nameserver" and ":" not in f[1]:
                out.append(f[1])
    return out


def _forward(query: bytes, upstreams: list[str]) -> bytes | None:
    for server in upstreams:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2.0)
            try:
                s.sendto(query, (server, PORT))
                return s.recv(4096)
            except OSError:
                continue
    return None


def serve(root: str, network_id: str, address: str, ready_fd: int | None = None) -> None:
    """The resolver's main loop (runs until SIGTERM). Forwarded queries are answered from
    threads so a slow upstream never blocks names on the network."""
    import threading

    from skiff import metadata

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, PORT))
    except OSError as e:
        if ready_fd is not None:
            os.write(ready_fd, f"bind {address}:{PORT}: {e.strerror}".encode())
        raise SystemExit(1) from None
    pf = _pidfile(Path(root), network_id)
    tmp = pf.with_suffix(".tmp")
    tmp.write_text(str(os.getpid()))
    os.replace(tmp, pf)
    db = metadata.connect(Path(root) / "metadata.db", migrate=False)
    upstreams = _upstreams()
    from skiff.network import records

    net = records.find(db, network_id)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if ready_fd is not None:
        os.write(ready_fd, b"ok")
        os.close(ready_fd)
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            _qid, _flags, name, qtype, _end = parse_query(data)
        except (ValueError, IndexError, struct.error):
            continue
        bare = name.split(".")[0] if name.count(".") == 1 and name.endswith(".") else name
        try:
            addrs = lookup(db, network_id, bare)
        except sqlite3.Error:
            addrs = []
        if addrs:
            sock.sendto(answer(data, records_for(qtype, addrs, net.subnet, net.subnet6)), peer)
            continue

        def fwd(data=data, peer=peer):
            reply = _forward(data, upstreams)
            sock.sendto(reply if reply else answer(data, [], rcode=2), peer)

        threading.Thread(target=fwd, daemon=True).start()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else None)
