"""Network namespaces for processes that are not containers: ``skiff build``'s RUN steps.

Docker's classic builder runs each RUN step in a container on the default bridge; skiff's
RUN steps go through skiff.runtime.oneshot (no container record), so this module gives
them the same plumbing ``skiff run`` gets (skiff.network.attach) around one process:

    with sandbox.bridged(config, db) as sb:       # netns + veth on skiff0 + NAT
        oneshot.run(config, ..., network=sb.netns)

Crash safety: before anything is made, an owner file ``<tmp>/netsandbox-<id>`` records
the process (pid and start time) that owns sandbox ``<id>``; it is removed only after
everything was released. :func:`sweep` (run by the next build, ``skiff network``
commands and container starts) releases the sandboxes whose owner is gone: a build killed
with ``kill -9`` leaves no veth, address, namespace or DB row behind once anything runs
again.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # (the C module: the sqlite3 package imports datetime)
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from skiff.config import Config
from skiff.procinfo import start_time
from skiff.runtime.value import value

PREFIX = "netsandbox-"


@value
class Sandbox:
    """An attached namespace: ``netns`` (the pinned file's path, what the OCI spec joins),
    ``address`` (the IPv4 address on ``network``), ``id`` (the endpoint's container ID
    in ``network_endpoints``: 64 hex, no container record), ``nameservers`` for
    /etc/resolv.conf (a user-defined network's resolver; () = the host's)."""

    id: str
    netns: str
    address: str
    network: str
    nameservers: tuple[str, ...] = ()


def _owner_path(config: Config, sid: str) -> Path:
    return Path(config.tmp_dir) / f"{PREFIX}{sid}"


def _write_owner(config: Config, sid: str) -> Path:
    path = _owner_path(config, sid)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pid = os.getpid()
    tmp.write_text(f"{pid} {start_time(pid)}\n")
    os.rename(tmp, path)  # no fsync: a power cut also empties /run/netns and the links
    return path


def release(config: Config, db: sqlite3.Connection, sid: str, *, settled: bool = True) -> None:
    """Detach sandbox ``sid`` from every network, unpin its namespace, drop its owner
    file. Idempotent. The veth ends go with the namespace: ``settled`` (the owner ran the
    step to its end: no process is left in the namespace) leaves them to the kernel (see
    attach.detach ``with_netns``); else (the sweep of a killed build, whose RUN process
    may live on) a detached child deletes them."""
    from skiff.network import attach

    try:
        attach.detach(config, db, sid, background=True, with_netns=settled)
    finally:
        attach.remove_sandbox(sid)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_owner_path(config, sid))


def sweep(config: Config, db: sqlite3.Connection) -> list[str]:
    """Release every sandbox whose owner process is gone (a build killed -9 mid-RUN);
    returns their IDs. Sandboxes of live owners are left alone. Cheap when there are none
    (one directory listing)."""
    try:
        names = [n for n in os.listdir(config.tmp_dir) if n.startswith(PREFIX)
                 and not n.endswith(".tmp")]
    except FileNotFoundError:
        return []
    done = []
    for name in names:
        sid = name[len(PREFIX):]
        try:
            pid_s, start = (Path(config.tmp_dir) / name).read_text().split()
        except (OSError, ValueError):
            continue
        if str(start_time(int(pid_s))) == start:
            continue
        release(config, db, sid, settled=False)
        done.append(sid)
    return done


@contextlib.contextmanager
def bridged(config: Config, db: sqlite3.Connection, network: str = "bridge",
            userns: str | None = None) -> Iterator[Sandbox]:
    """A fresh network namespace attached to ``network`` (the default bridge: ``bridge``;
    or a user-defined bridge network's name/ID) for the duration of the ``with``; released
    on every exit path (the error, if any, propagates). Sweeps stale sandboxes first.

    Raises what skiff.network.attach.attach raises (NotFound for an unknown network,
    InvalidArgument for ``host``/``none``, SkiffError from netlink or nft). ``userns``: a
    pinned user namespace to own the namespace (a remapped build's RUN steps)."""
    from skiff.network import attach

    sweep(config, db)
    sid = os.urandom(32).hex()
    _write_owner(config, sid)
    try:
        path = attach.create_sandbox(sid, userns) if userns else attach.create_sandbox(sid)
        eps = attach.attach(config, db, sid, path, [attach.EndpointRequest(network)])
        yield Sandbox(sid, str(path), eps[0].address, eps[0].network_name,
                      attach.etc_settings(db, eps).nameservers)
    finally:
        release(config, db, sid)
