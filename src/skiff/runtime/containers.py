"""ContainerService: the container lifecycle (create, start, stop, kill, rm, wait, ps).

States, as Docker names them (State.Status): ``created`` → ``running`` (⇄ ``paused``) →
``exited`` → ``running`` again on start, or ``restarting`` between runs under a restart
policy; ``rm`` drops the record. Who writes what:

- create writes the record (skiff.runtime.records) and prepares the rw snapshot (key = the
  container ID, parent = the image's chainID) or takes a ``--rootfs`` directory;
- start mounts the rootfs, writes the bundle (``<root>/containers/<id>/config.json``,
  hosts/hostname/resolv.conf) and forks the monitor (skiff.runtime.monitor), then records
  ``running``; from then on the monitor reports exits and restarts in the bundle's
  ``state.json``, which every read of an active record folds into the database
  (:meth:`ContainerService._fold`);
- stop/kill signal through runc; rm unmounts and releases the snapshot.

A record that says the container is active while its monitor is gone (kill -9, reboot) is
reconciled on the next read: the container is killed if runc still has it, the record says
``exited`` (137 after that kill, 255 when the exit code is lost, as Docker after a crash).
"""

from __future__ import annotations

import os
import sys
import time

from skiff import jsonio as json  # (json.loads/dumps without importing re)
from skiff.errors import Conflict, InvalidArgument, NotFound, SkiffError
from skiff.metadata import transaction
from skiff.procinfo import start_time
from skiff.runtime import cgroups, records
from skiff.runtime.records import ACTIVE
from skiff.runtime.value import value
from skiff.services import StoreParts

TYPE_CHECKING = False  # (not typing's: `run` starts faster without importing typing)
if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path
    from typing import Any

    from skiff.config import Config
    from skiff.runtime.monitor import Attach
    from skiff.runtime.options import CreateOptions


@value(frozen=False)
class Started:
    """A start in progress: the container's pid, runc's pid (signals sent to it reach the
    container), and the monitor's remaining messages (``{"exit": code}`` when attached)."""

    pid: int
    runc_pid: int
    messages: Any = None
    autoremove: bool = False
    service: Any = None
    cid: str = ""
    monitor_pid: int = 0
    detached: bool = False
    bridged: bool = False  # on a bridge network: its endpoint is given back at the exit

    def wait_exit(self) -> int | None:
        """Block until the monitor reports the exit code (for ``--rm``, then remove the
        container); None if the monitor died without saying, or when the user detached
        (``detached`` is then True: the container runs on, its monitor owns it)."""
        code = None
        svc = self.service
        try:
            for msg in self.messages or ():
                if msg.get("detached"):
                    self.detached = True
                    return None
                if "exit" in msg:
                    code = int(msg["exit"])
                    # runc has returned (the container is gone): give back the network
                    # now, while the monitor still unmounts the rootfs and drops the
                    # cgroups, instead of after it (saves the veth delete, ~15-30 ms, from
                    # --rm runs).
                    if svc is not None and self.bridged:
                        rec = records.get(svc.db, self.cid)
                        if rec is not None:
                            svc._release_network(rec)
                    # The exit is final (a restart policy's earlier exits are not sent):
                    # return now, as docker run does, not after the monitor's own
                    # teardown (runc delete, unmount, cgroups; a later start or rm waits
                    # for it). --rm: remove the container now (the monitor's unmount and
                    # cgroup removal are idempotent and race-free with ours). The pipe
                    # stays open until we are done: the monitor waits for that before its
                    # `runc delete`, which would otherwise take one of the two cores from
                    # this, the command's, critical path.
                    break
            if svc is not None:
                rec = records.get(svc.db, self.cid)
                if rec is not None:
                    if code is None or not self.autoremove:  # --rm: the record goes anyway
                        rec = svc._fold(rec)
                        if code is None and rec["State"]["Status"] not in ACTIVE:
                            code = int(rec["State"]["ExitCode"])
                    if self.autoremove and code is not None:
                        svc._remove_files(rec, detach_delete=True)
                    elif rec["State"]["Status"] not in ACTIVE:
                        svc._release_network(rec)  # the monitor left it to us (attached)
        finally:
            if self.messages is not None:
                self.messages.close()
        return code


SIGKILL = 9

# --network modes with no network to attach: skiff.network.glue (and the dataclasses it
# imports, ~10 ms of start-up) is not imported for them.
_BUILTIN_NETS = ("none", "host")


_RESOURCES_MORE = ("CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime",
                   "CpusetMems", "MemoryReservation", "KernelMemory", "OomKillDisable",
                   "BlkioWeightDevice", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps",
                   "DeviceCgroupRules")


def _resources_more(hc: dict) -> bool:
    """Whether a start needs skiff.runtime.resources_more (the more resource flags)."""
    return hc.get("MemorySwappiness") is not None or any(hc.get(k) for k in _RESOURCES_MORE)


def _netglue(mode: str | None):
    """skiff.network.glue, or None for ``--network none|host`` (nothing to attach)."""
    if mode in _BUILTIN_NETS:
        return None
    from skiff.network import glue

    return glue


def _builtin_settings(mode: str) -> dict:
    """``NetworkSettings`` of a new ``--network none|host`` record without --ip, aliases or
    --mac-address: skiff.network.glue.create_settings's value for it (a unit test holds
    the two equal)."""
    return {"Networks": {mode: {
        "IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "", "NetworkID": "",
        "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DriverOpts": None,
        "DNSNames": None}},
        "Ports": {}, "SandboxKey": "", "IPAddress": "", "Gateway": "", "MacAddress": ""}


def _health_args(rec: dict, runc) -> dict:
    """MonitorSpec's health/runc_base for a container whose healthcheck has a test to
    run (skiff.runtime.health); nothing otherwise (no prober)."""
    hc = rec["Config"].get("Healthcheck")
    if not hc:
        return {}
    from skiff.runtime import health

    if health.probe_argv(hc) is None:
        return {}
    return {"health": hc, "runc_base": (runc.binary, "--root", runc.root)}


def _log_args(rec: dict) -> dict:
    """MonitorSpec's log rotation (``--log-opt max-size/max-file``), checked now as
    dockerd opens the log at start (skiff.runtime.logopts.rotation raises)."""
    lc = rec["HostConfig"].get("LogConfig") or {}
    local = lc.get("Type") == "local"
    if not (lc.get("Config") or local):
        return {}
    from skiff.runtime.logopts import rotation

    size, files, compress = rotation(lc)
    out = {"log_max_size": size, "log_max_files": files, "log_compress": compress}
    if local:  # (--log-driver local: skiff.runtime.locallog)
        from skiff.runtime import locallog

        out.update(log_format="local",
                   log_path=locallog.path(os.path.dirname(rec["HostnamePath"])))
    return out


def _health_paused(svc, rec: dict, paused: bool) -> None:
    """pause/unpause of a container with a check: no checks while paused, and
    ``unhealthy`` at once (skiff.runtime.health.set_paused)."""
    if _health_args(rec, svc.runc):
        from skiff.runtime import health

        health.set_paused(svc._bdir(rec["Id"]), paused)


def _read_health(svc, rec: dict) -> dict | None:
    """The bundle's health.json of a container with a healthcheck (None otherwise)."""
    if not rec["Config"].get("Healthcheck"):
        return None
    try:
        with open(svc._bdir(rec["Id"], "health.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _winsize() -> tuple[int, int]:
    """(rows, cols) of the terminal on stdin/stdout, or (0, 0)."""
    for fd in (0, 1):
        try:
            if os.isatty(fd):
                sz = os.get_terminal_size(fd)
                return (sz.lines, sz.columns)
        except OSError:
            continue
    return (0, 0)


def parse_signal(sig: str | int) -> int:
    """``KILL``, ``SIGKILL``, ``9`` → 9.

    Raises:
        InvalidArgument: Docker's ``Invalid signal: X``.
    """
    if isinstance(sig, int):
        return sig
    s = str(sig).strip().upper()
    if s.isdigit():
        n = int(s)
        if 0 < n < 65:
            return n
        raise InvalidArgument("Invalid signal", str(sig))
    if not s.startswith("SIG"):
        s = "SIG" + s
    import signal as _signal

    try:
        return int(getattr(_signal, s))
    except AttributeError:
        raise InvalidArgument("Invalid signal", str(sig)) from None


class _NoTransaction:
    """``contextlib.nullcontext()`` without importing contextlib (the run path)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> bool:
        return False


_NO_TXN = _NoTransaction()


def _readable(fd: int, within: float = 0.0) -> bool:
    """Whether ``fd`` has data (or end of file) waiting now or within ``within`` seconds."""
    import select

    p = select.poll()
    p.register(fd, select.POLLIN)
    return bool(p.poll(int(within * 1000)))


# run --rm attached: how long the command waits after the start message for the exit
# before it records the start (a short command's exit follows in ~1 ms; its record is
# removed anyway). A longer run shows as running this much later.
EXIT_WINDOW = 0.005


def monitor_alive(rec: dict) -> bool:
    """True when the record's monitor process still runs (pid and start time match)."""
    sk = rec.get("Skiff") or {}
    pid = sk.get("MonitorPid")
    if not pid:
        return False
    st = start_time(pid)
    return st is not None and st == sk.get("MonitorStart")


class ContainerService(StoreParts):
    """The containers of one store.

    Args:
        config (Config): the store root and runtime.
        db (sqlite3.Connection): the metadata database.
        images: a skiff.images.ImageService (None: only ``--rootfs`` containers).
        snapshotter: a skiff.snapshots.Snapshotter (None: only ``--rootfs`` containers).
    """

    def __init__(self, config: Config, db: sqlite3.Connection, images=None, snapshotter=None):
        self.config = config
        self.db = db
        self._images = images
        self._snapshotter = snapshotter
        self._runc = None

    # -- parts, made on first use (images, snapshotter, content: skiff.services) -------

    @property
    def runc(self):
        if self._runc is None:
            from skiff.runtime.runc import Runc

            self._runc = Runc.for_config(self.config)
        return self._runc

    def bundle(self, cid: str) -> Path:
        """``<root>/containers/<id>``: config.json, log, pid files, etc files."""
        return self.config.containers_dir / cid

    def _bdir(self, cid: str, *parts: str) -> str:
        """:meth:`bundle` (joined with ``parts``) as text: run's path has no pathlib."""
        return self.config.at("containers", cid, *parts)

    # -- create ---------------------------------------------------------------------------
    def create(self, o: CreateOptions) -> dict:
        """Record a new container from ``o``; return its record (docker inspect shape).

        Raises:
            ImageNotFound: no such image. InvalidArgument: bad options, no command.
            AlreadyExists: the name is in use (exit 125, Docker's Conflict message).
        """
        from skiff.runtime import options as opts_mod
        from skiff.runtime import volumes

        cid = os.urandom(32).hex()
        name = records.validate_name(o.name) if o.name else None
        hostname = o.hostname or cid[:12]
        image_id, image_cfg, chain_id, image_name = "", {}, None, o.image
        if o.rootfs:
            rootfs = os.path.abspath(o.rootfs)
            if not os.path.isdir(rootfs):
                raise NotFound(f"rootfs {o.rootfs}", "no such directory")
            image_name = o.image or ""
        else:
            from skiff.runtime.imageref import quick_resolve

            quick = None if self._images is not None else quick_resolve(
                self.db, self.config.at("content"), o.image)
            if quick is not None:  # a tagged, unpacked image: no ImageService import
                img = None
                image_id, image_cfg, chain_id = quick
            else:
                img = self.images.get(o.image)
                image_id = img.id
                image_cfg = img.config.config
                chain_id = img.chain_id
        config = opts_mod.container_config(o, image_cfg, hostname, image_name)
        host = opts_mod.host_config(o)
        if o.pid.startswith("container:") or o.ipc.startswith("container:"):
            from skiff.runtime import nsjoin

            nsjoin.resolve(self.db, host)  # (dockerd: container:<full ID>)
        from skiff.network import sweep_sandboxes  # (what a killed build left attached)

        sweep_sandboxes(self.config, self.db)
        if host["NetworkMode"] in _BUILTIN_NETS and not (
                o.ip or o.network_aliases or o.mac_address):
            netglue = None  # (check_mode takes these as they are)
        else:
            from skiff.network import glue as netglue

            host["NetworkMode"] = netglue.check_mode(
                self.config, self.db, host["NetworkMode"], ip=o.ip, aliases=o.network_aliases,
                hostname=o.hostname, dns=o.dns, extra_hosts=o.extra_hosts,
                publish=bool(o.publish or o.publish_all), expose=o.expose, mac=o.mac_address)
        mounts = volumes.parse_mounts(self, o, config)
        remap = self._remap(o, host)
        argv = (config["Entrypoint"] or []) + (config["Cmd"] or [])
        rec = {
            "Id": cid,
            "Created": records.now_rfc3339(),
            "Path": argv[0],
            "Args": argv[1:],
            "State": records.new_state(),
            "Image": image_id,
            "ResolvConfPath": self._bdir(cid, "resolv.conf"),
            "HostnamePath": self._bdir(cid, "hostname"),
            "HostsPath": self._bdir(cid, "hosts"),
            "LogPath": ("" if host["LogConfig"]["Type"] in ("none", "local")  # (dockerd's)
                        else self._bdir(cid, f"{cid}-json.log")),
            "Name": "/" + (name or records.generate_name(self.db)),
            "RestartCount": 0,
            "Driver": "overlay",
            "Platform": "linux",
            "MountLabel": "",
            "ProcessLabel": "",
            "AppArmorProfile": "",
            "ExecIDs": None,
            "HostConfig": host,
            "Mounts": mounts,
            "Config": config,
            "NetworkSettings": netglue.create_settings(
                host["NetworkMode"], ip=o.ip, aliases=o.network_aliases, mac=o.mac_address)
            if netglue is not None else _builtin_settings(host["NetworkMode"]),
            "Skiff": {"Rootfs": rootfs if o.rootfs else None,
                      "Snapshot": None if o.rootfs else cid,
                      "ManualStop": False, "MonitorPid": 0, "MonitorStart": 0,
                      "IdMap": remap.to_json() if remap else None},
        }
        # validate what start will need now, so a bad flag leaves nothing behind
        self._resources(rec)
        if not o.rootfs and chain_id is not None and img is not None:
            from skiff.snapshots import unpack

            unpack(self.snapshotter, self.images.content, img)
        auto = host.get("UsernsMode") == "auto"
        # the rw layer's row and the record in one write transaction (one commit per
        # create; --userns auto takes the store's file lock first, so not under it)
        with _NO_TXN if auto else transaction(self.db):
            if not o.rootfs:
                self.snapshotter.prepare(cid, chain_id)
            try:
                if auto:
                    self._insert_auto_userns(rec)
                else:
                    records.insert(self.db, rec)
            except BaseException:
                if not o.rootfs:
                    self.snapshotter.remove(cid)
                raise
        # the bundle directory once the record is in: a create killed before leaves no
        # directory without a record (a killed prepare's layer directory is an orphan
        # that Snapshotter.cleanup deletes); one killed after leaves a record without
        # its directory, which start makes and rm takes as it comes
        os.makedirs(self._bdir(cid), exist_ok=True)
        return rec

    # -- user namespaces (skiff.runtime.userns) ------------------------------------------
    def _remap(self, o: CreateOptions, host: dict):
        """The store's userns-remap mapping for a new container (None: no user namespace
        or ``--userns auto``, chosen later). Docker's refusals for host namespaces."""
        mode = host.get("UsernsMode") or ""
        if mode == "host" or (mode == "" and not self.config.userns_remap):
            return None
        from skiff.runtime import userns

        if o.privileged:
            raise InvalidArgument("privileged mode is incompatible with user namespaces.  You "
                                  "must run the container in the host namespace when running "
                                  "privileged mode")
        if host.get("NetworkMode") == "host":
            raise InvalidArgument("cannot share the host's network namespace when user "
                                  "namespaces are enabled")
        if host.get("PidMode") == "host":
            raise InvalidArgument("cannot share the host PID namespace when user namespaces "
                                  "are enabled")
        if o.rootfs:
            raise InvalidArgument("--rootfs", "user namespaces need an image's layers")
        return None if mode == "auto" else userns.remap(self.config.userns_remap)

    def _insert_auto_userns(self, rec: dict) -> None:
        """``--userns auto``: size the range from the image's /etc/passwd and /etc/group,
        pick one no other container of the store has, and insert the record, all under the
        store's lock (two creates never share a range)."""
        from skiff.runtime import userns

        texts = []
        for name in ("passwd", "group"):
            for d in self.snapshotter.lowerdirs(rec["Id"]):
                p = os.path.join(d, "etc", name)
                if os.path.isfile(p):
                    with open(p, errors="replace") as f:
                        texts.append(f.read())
                    break
        size = userns.auto_size(texts)
        with userns.store_lock(str(self.config.root)):
            taken = [m for m in (userns.IdMapping.from_json((r.get("Skiff") or {}).get("IdMap"))
                                 for r in records.all_records(self.db)) if m is not None]
            if self.config.userns_remap:
                taken.append(userns.remap(self.config.userns_remap))
            rec["Skiff"]["IdMap"] = userns.auto(size, taken).to_json()
            records.insert(self.db, rec)

    # -- reading --------------------------------------------------------------------------
    def get(self, ref: str) -> dict:
        """The (reconciled) record for a name, ID or ID prefix.

        Raises:
            ContainerNotFound: ``No such container: <ref>``.
        """
        rec = records.lookup(self.db, ref)
        return self._reconcile(rec)

    def list(self, all: bool = False) -> list[dict]:
        """Records newest first; only active ones unless ``all`` (docker ps [-a])."""
        out, seen = [], []
        for rec in records.all_records(self.db):
            seen.append(rec["Id"])
            if rec["State"]["Status"] in ACTIVE:
                rec = self._reconcile(rec)
            if all or rec["State"]["Status"] in ACTIVE:
                out.append(rec)
        self._sweep(seen)
        return out

    def list_summaries(self, all: bool = False) -> list[dict]:
        """Like :meth:`list` but trimmed records (records.summaries): what ``ps`` needs.
        Active ones are reconciled (and so read whole)."""
        out, seen = [], []
        for s in records.summaries(self.db):
            seen.append(s["Id"])
            if s["State"]["Status"] in ACTIVE:
                full = records.get(self.db, s["Id"])
                if full is None:
                    continue
                s = self._reconcile(full)
            if all or s["State"]["Status"] in ACTIVE:
                out.append(s)
        self._sweep(seen)
        return out

    def _sweep(self, known=None) -> None:
        """Delete runc states no record owns (a monitor killed before its ``runc
        delete``: skiff.runtime.orphans); one listdir when there are none."""
        from skiff.runtime.orphans import sweep_runc_states

        sweep_runc_states(self.config, self.db, known, self._runc)

    def _fold(self, rec: dict) -> dict:
        """Apply the monitor's state.json to the record when it is newer (by Seq); and,
        for a container with a healthcheck, its health.json (State.Health)."""
        if rec["State"]["Status"] not in (*ACTIVE, "created"):
            return rec
        try:
            with open(self._bdir(rec["Id"], "state.json")) as f:
                st = json.load(f)
        except (OSError, ValueError):
            st = None
        # (read after state.json: the monitor writes its last health before the exit)
        health = _read_health(self, rec)
        if health is not None:
            rec = self._fold_health(rec, health)
        if st is None or int(st.get("Seq", 0)) <= int(rec["Skiff"].get("Seq", 0)):
            return rec

        def apply(r: dict) -> None:
            if int(st.get("Seq", 0)) <= int(r["Skiff"].get("Seq", 0)):
                return
            s = r["State"]
            status = st.get("Status", s["Status"])
            if status == "running" and s["Status"] == "paused":
                status = "paused"
            s.update(Status=status, Running=status in ACTIVE, Paused=status == "paused",
                     Restarting=status == "restarting")
            for k in ("Pid", "ExitCode", "Error", "StartedAt", "FinishedAt", "OOMKilled"):
                if k in st:
                    s[k] = st[k]
            if status not in ACTIVE:
                s["Pid"] = 0
            r["RestartCount"] = int(st.get("RestartCount", r.get("RestartCount", 0)))
            r["Skiff"].update(Seq=int(st["Seq"]), MonitorPid=st.get("MonitorPid", 0),
                              MonitorStart=st.get("MonitorStart", 0))
        return records.update(self.db, rec["Id"], apply) or rec

    def _fold_health(self, rec: dict, h: dict) -> dict:
        """State.Health from the prober's health.json when newer (by its Seq)."""
        def apply(r: dict) -> None:
            if int(h.get("Seq", 0)) <= int(r["Skiff"].get("HealthSeq", 0)):
                return
            r["State"]["Health"] = {"Status": h.get("Status") or "starting",
                                    "FailingStreak": int(h.get("FailingStreak") or 0),
                                    "Log": list(h.get("Log") or [])}
            r["Skiff"]["HealthSeq"] = int(h.get("Seq", 0))
        if int(h.get("Seq", 0)) <= int(rec["Skiff"].get("HealthSeq", 0)):
            return rec
        return records.update(self.db, rec["Id"], apply) or rec

    def _reconcile(self, rec: dict) -> dict:
        """Fold the monitor's news; make an active record whose monitor is gone say what
        really happened."""
        rec = self._fold(rec)
        if rec["State"]["Status"] not in ACTIVE or monitor_alive(rec):
            return rec
        rec = self._fold(records.get(self.db, rec["Id"]) or rec)  # it may just have finished
        if rec["State"]["Status"] not in ACTIVE:
            return rec
        cid = rec["Id"]
        code = 255
        try:
            st = self.runc.state(cid)
        except SkiffError:
            st = None
        if st is not None:
            if st.status in ("running", "paused", "created"):
                try:
                    if st.status == "paused":
                        self.runc.resume(cid)
                    self.runc.kill(cid, "SIGKILL", all_processes=True)
                except SkiffError:
                    pass
                code = 137
                for _ in range(100):
                    s2 = self.runc.state(cid)
                    if s2 is None or s2.status == "stopped":
                        break
                    time.sleep(0.02)
            self.runc.delete(cid, force=True)

        def mark(r: dict) -> None:
            s = r["State"]
            if s["Status"] not in ACTIVE:
                return
            s.update(Status="exited", Running=False, Paused=False, Restarting=False, Pid=0,
                     ExitCode=code, FinishedAt=records.now_rfc3339())
        new = records.update(self.db, cid, mark) or rec
        self._release_runtime(new)
        if new["HostConfig"].get("AutoRemove"):
            self._remove_files(new)
        return new

    # -- start ----------------------------------------------------------------------------
    def start(self, ref: str, attach: Attach | None = None,
              detach_keys: bytes | None = None) -> Started | None:
        """Start a created or exited container; None when it already runs.

        With ``attach`` the monitor also writes the output to those descriptors and
        reports the exit code (see :class:`Started`); with a terminal, ``detach_keys``
        (default ctrl-p ctrl-q) typed there detach it (``Started.detached``).

        Raises:
            CommandNotFound (127), CannotInvoke (126): runc could not exec the command.
            Conflict: the container is paused.
            SkiffError: mount, user or runtime failures (125).
        """
        from skiff.runtime import monitor
        from skiff.runtime.runc import classify

        rec = self.get(ref)
        status = rec["State"]["Status"]
        if status == "paused":
            raise Conflict("cannot start a paused container", "try unpause instead")
        if status in ("running", "restarting"):
            return None
        if monitor_alive(rec):
            # the last run's monitor is still unmounting: let it finish first
            self._wait_monitor(rec, 10)
        cid = rec["Id"]
        if status != "created" and os.path.isdir(os.path.join(self.runc.root, cid)):
            # a monitor killed after it reported the exit, before its `runc delete`: runc
            # would refuse the run ("container with given ID already exists"). (Not on
            # run's path: a new container has never had a runc state.)
            self.runc.delete(cid, force=True)
        bundle = self._bdir(cid)
        if not os.path.isdir(bundle):  # (a create killed after its record was written)
            os.makedirs(bundle, exist_ok=True)
        rootfs = self._mount_rootfs(rec)
        hc = rec["HostConfig"]
        netglue = _netglue(hc.get("NetworkMode"))
        try:
            if rec["Skiff"].get("Snapshot") and rec["State"].get("StartedAt") == records.ZERO_TIME:
                self._add_init_files(rec, rootfs)  # (the first start: Docker's init layer)
            spec = self._spec(rec, rootfs)
            tmp = os.path.join(bundle, "config.json.tmp")
            with open(tmp, "w") as f:
                f.write(json.dumps(spec))
            os.replace(tmp, os.path.join(bundle, "config.json"))
            cgroups.prepare(cid, hc.get("Memory") or None, hc.get("MemorySwap") or None,
                            parent=hc.get("CgroupParent") or "",
                            oom_kill_disable=bool(hc.get("OomKillDisable")))
            try:
                os.unlink(os.path.join(bundle, "manual-stop"))
            except FileNotFoundError:
                pass
            pid_file, runc_log = os.path.join(bundle, "init.pid"), os.path.join(bundle, "runc.log")
            pol = hc.get("RestartPolicy") or {}
            logargs = _log_args(rec)  # (bad --log-opt values: dockerd's start error)
            ms = monitor.MonitorSpec(
                cid=cid, bundle=bundle, log_path=logargs.pop("log_path", rec["LogPath"]),
                detach_argv=tuple(self.runc.run_argv(cid, bundle, pid_file=pid_file,
                                                     log=runc_log, detach=True)),
                pid_file=pid_file, runc_log=runc_log,
                restart=(pol.get("Name") or "no", int(pol.get("MaximumRetryCount") or 0)),
                restart_count=int(rec.get("RestartCount") or 0),
                autoremove=bool(hc.get("AutoRemove")),
                rootfs_mount="" if rec["Skiff"].get("Rootfs") else os.path.join(bundle, "rootfs"),
                **self._shm_args(rec),
                snapshot_dir=self._snapshot_dir(rec),
                tty=bool(rec["Config"].get("Tty")),
                delete_argv=(self.runc.binary, "--root", self.runc.root, "delete", "--force", cid),
                winsize=_winsize(),
                open_stdin=bool(rec["Config"].get("OpenStdin")),
                stdin_once=bool(rec["Config"].get("StdinOnce")),
                # (and --log-driver none: attach cannot follow a log)
                attach_socket=bool(rec["Config"].get("OpenStdin") or rec["Config"].get("Tty")
                                   or not rec["LogPath"]),
                detach_keys=detach_keys or b"\x10\x11",
                cgroup_parent=hc.get("CgroupParent") or "",
                **_health_args(rec, self.runc),
                **logargs,
                rm_argv=(sys.executable, "-m", "skiff", "--root", self.config.root_dir,
                         "--runtime", self.config.runtime, "rm", "-f", cid),
                net_release_argv=(netglue.release_argv(self.config, cid)
                                  if netglue is not None
                                  and netglue.uses_bridge(hc.get("NetworkMode")) else ()))
            fd = monitor.spawn(ms, attach or monitor.Attach())
        except BaseException as e:
            self._release_runtime(rec)
            if hc.get("AutoRemove"):
                self._remove_files(rec)
            elif isinstance(e, SkiffError):
                self._record_start_error(cid, e)
            raise
        msgs = monitor.read_messages(fd)
        first = next(msgs, None)
        if first is None or "error" in first:
            for _ in msgs:
                pass  # until the monitor has finished (unmounted)
            rec = self._fold(records.get(self.db, cid) or rec)
            if hc.get("AutoRemove"):
                self._remove_files(rec)
            if first is None:
                raise SkiffError(f"container {cid[:12]}",
                                 "the monitor exited before the container started")
            raise classify(first["error"])

        def running(r: dict) -> None:
            if int(first.get("seq", 0)) <= int(r["Skiff"].get("Seq", 0)):
                return
            r["State"].update(Status="running", Running=True, Paused=False, Restarting=False,
                              Pid=int(first["started"]), ExitCode=0, Error="",
                              StartedAt=first["at"], OOMKilled=False)
            r["Skiff"].update(MonitorPid=first["monitor"], MonitorStart=first["monitor_start"],
                              ManualStop=False, Seq=int(first.get("seq", 0)))
        if not (hc.get("AutoRemove") and attach is not None and not rec["Config"].get("Tty")
                and _readable(fd, EXIT_WINDOW)):
            # (run --rm whose exit is in: the record is about to go, and recording a
            # start nobody will see is a write for nothing)
            records.update(self.db, cid, running)
        return Started(pid=int(first["started"]), runc_pid=int(first["runc"]), messages=msgs,
                       autoremove=bool(hc.get("AutoRemove")), service=self, cid=cid,
                       monitor_pid=int(first.get("monitor") or 0),
                       bridged=bool(ms.net_release_argv))

    def _shm_args(self, rec: dict) -> dict:
        """MonitorSpec's shm_mount/shm_size/shm_owner: a shareable IPC container's
        /dev/shm, for the monitor to renew at restarts and unmount at the end."""
        if rec["HostConfig"].get("IpcMode") != "shareable":
            return {}
        from skiff.runtime import nsjoin

        return {"shm_mount": self._bdir(rec["Id"], nsjoin.SHM_DIR),
                "shm_size": nsjoin.shm_size(rec), "shm_owner": nsjoin.shm_owner(rec)}

    def _record_start_error(self, cid: str, err: SkiffError) -> None:
        """A start that failed before its monitor ran: the record keeps the error and
        exit code 128 (dockerd's containerStart: ``SetError``, 128 when no code was set)."""
        text = f"{err.what}: {err.why}" if err.why else err.what

        def f(r: dict) -> None:
            s = r["State"]
            if s["Status"] in ("created", "exited"):
                s.update(Error=text, ExitCode=int(s.get("ExitCode") or 0) or 128)
        records.update(self.db, cid, f)

    def _snapshot_dir(self, rec: dict) -> str:
        """The container's rw layer directory ("" for a --rootfs container)."""
        sk = rec["Skiff"]
        if sk.get("Rootfs") or not sk.get("Snapshot"):
            return ""
        return self.snapshotter.directory(sk["Snapshot"])

    def _mount_rootfs(self, rec: dict) -> str:
        sk = rec["Skiff"]
        if sk.get("Rootfs"):
            return sk["Rootfs"]
        from skiff.runtime.mounts import mount_rootfs, unmount, volatile

        mounts = self.snapshotter.mounts(sk["Snapshot"])
        target = self._bdir(rec["Id"], "rootfs")
        # a start killed (kill -9 of `skiff run`) after it mounted left its overlay here:
        # never stack a second one on the same upper/work dirs (the removal of a --rm
        # container would unmount only the top one, leaving the other for good)
        unmount(target)
        if sk.get("IdMap"):
            from skiff.runtime import userns
            from skiff.runtime.mounts import mount_rootfs_remapped

            m = userns.IdMapping.from_json(sk["IdMap"])
            # the remapped root must reach its bundle; the container's user namespace is
            # made (and pinned) here: the layers' idmaps, its network namespace and runc
            # all use this one (runc joins it)
            userns.make_searchable(str(self.config.root), str(self.config.containers_dir),
                                   self._bdir(rec["Id"]))
            pinned = self._pin_userns(rec, m)
            return mount_rootfs_remapped(
                mounts, target, m, userns=pinned, idmap_dir=self._bdir(rec["Id"], "idmap"),
                upper=self.snapshotter.upperdir(sk["Snapshot"]))
        if rec["HostConfig"].get("AutoRemove"):
            # --rm: the rw layer is thrown away after the run, so the overlay need not
            # sync it when unmounted (overlayfs ``volatile``): saves a syncfs of the whole
            # upper filesystem (~10-15 ms here) at the end of each run.
            try:
                return mount_rootfs(volatile(mounts), target)
            except SkiffError:
                pass  # a kernel before 5.10, or a workdir marked by an earlier volatile mount
        return mount_rootfs(mounts, target)

    def _add_init_files(self, rec: dict, rootfs: str) -> None:
        from skiff.runtime.etcfiles import add_init_files

        idmap = rec["Skiff"].get("IdMap")
        if idmap:
            from skiff.runtime import userns

            idmap = userns.IdMapping.from_json(idmap)
        add_init_files(rootfs, idmap.root if idmap else (0, 0))

    def _release_runtime(self, rec: dict) -> None:
        """Unmount the rootfs and drop the cgroup parent (container not running)."""
        sk = rec.get("Skiff") or {}
        if sk.get("Snapshot"):
            from skiff.runtime.mounts import unmount

            unmount(self._bdir(rec["Id"], "rootfs"))
        cgroups.remove(rec["Id"], (rec.get("HostConfig") or {}).get("CgroupParent") or "")
        self._release_network(rec)
        if (rec.get("HostConfig") or {}).get("IpcMode") == "shareable":
            from skiff.runtime import nsjoin

            nsjoin.release(self, rec)
        if sk.get("IdMap"):
            from skiff.runtime import userns

            userns.unpin(userns.pin_path(rec["Id"]))

    def _release_network(self, rec: dict) -> None:
        """Give back the container's addresses, veths and published ports (skiff.network)."""
        mode = (rec.get("HostConfig") or {}).get("NetworkMode")
        netglue = _netglue(mode)
        if netglue is not None and netglue.uses_bridge(mode):
            try:
                netglue.release(self.config, self.db, rec["Id"])
            except SkiffError:
                pass  # idempotent: the next start or rm tries again

    def _resources(self, rec: dict):
        from skiff.runtime.spec import Resources

        hc = rec["HostConfig"]
        # the limit is on the container's group (what it sees) and, one page lower, on
        # the cgroup parent (what detects its OOM kills): see skiff.runtime.cgroups
        return Resources(memory=hc.get("Memory") or None,
                         memory_swap=(hc.get("MemorySwap") or None) if hc.get("Memory") else None,
                         nano_cpus=hc.get("NanoCpus") or None,
                         cpu_shares=hc.get("CpuShares") or None,
                         cpuset_cpus=hc.get("CpusetCpus") or None,
                         pids_limit=hc.get("PidsLimit"),
                         blkio_weight=hc.get("BlkioWeight") or None)

    def _spec(self, rec: dict, rootfs: str) -> dict:
        """The OCI config for a start (user resolved in the rootfs, workdir created)."""
        from skiff.runtime import etcfiles, options, users, volumes
        from skiff.runtime import spec as S
        from skiff.runtime.fsutil import secure_join

        cfg, hc, cid = rec["Config"], rec["HostConfig"], rec["Id"]
        eu = users.resolve(rootfs, cfg.get("User") or "", tuple(hc.get("GroupAdd") or ()))
        cwd = cfg.get("WorkingDir") or "/"
        idmap = None
        if (rec.get("Skiff") or {}).get("IdMap"):  # (userns imported only for these)
            from skiff.runtime import userns

            idmap = userns.IdMapping.from_json(rec["Skiff"]["IdMap"])
        if cwd != "/":
            d = secure_join(rootfs, cwd)
            if not d.exists():
                d.mkdir(parents=True, mode=0o755)
                if idmap is not None:  # made by the container's root, as Docker does
                    for p in (d, *d.parents):
                        if str(p) == rootfs or not str(p).startswith(rootfs):
                            break
                        if os.lstat(p).st_uid == 0:
                            os.lchown(p, *idmap.root)
        net = hc.get("NetworkMode") or "default"
        extra_hosts = tuple(tuple(h.split(":", 1)) for h in hc.get("ExtraHosts") or ())
        netglue = _netglue(net)
        pinned = userns.pin_path(cid) if idmap is not None else None  # (_mount_rootfs)
        if netglue is None or not netglue.uses_netns(net):
            netinfo = None
        elif pinned is not None:
            # the netns is made before runc runs: it must belong to the container's user
            # namespace (the pinned one runc joins)
            netinfo = netglue.start(self.config, self.db, rec, userns=pinned)
        else:
            netinfo = netglue.start(self.config, self.db, rec)
        hostname = (netinfo.hostname if netinfo else "") or cfg["Hostname"]
        mounts = etcfiles.write(self._bdir(cid), hostname, network=net,
                                extra_hosts=tuple((n, a) for n, a in extra_hosts),
                                ip=netinfo.ip if netinfo else None,
                                dns=tuple(hc.get("Dns") or ()) or
                                (netinfo.nameservers if netinfo else ()),
                                dns_search=tuple(hc.get("DnsSearch") or ()),
                                dns_options=tuple(hc.get("DnsOptions") or ()))
        if idmap is not None:  # the container's root owns them, as with dockerd's remap
            for m in mounts:
                if m["source"].startswith(self._bdir(cid)):
                    os.chown(m["source"], *idmap.root)
        if netinfo is not None and netinfo.etc:  # --network container:X shares X's files
            mounts = netinfo.etc_mounts(mounts)
        mounts += volumes.oci_mounts(self, rec, rootfs)
        joined = self._joined(rec)
        if joined is not None:
            from skiff.runtime.nsjoin import shm_mount

            mounts += shm_mount(joined)
        sec = options.security_options(hc.get("SecurityOpt") or ())
        seccomp = sec.get("seccomp", "default") or "default"
        rlimits = tuple(S.Rlimit(u["Name"], u["Soft"], u["Hard"]) for u in hc.get("Ulimits") or ())
        args = [rec["Path"], *rec["Args"]]
        if hc.get("Init"):
            # a static init: the image may have no libc (Debian's tini-static, as docker-init)
            import shutil  # (start-up: not at import)

            init = (shutil.which("docker-init") or shutil.which("tini-static")
                    or shutil.which("catatonit"))
            if init is None:
                raise SkiffError("--init", "no static init binary (tini-static) installed")
            mounts.append(S.bind_mount(init, "/sbin/docker-init", readonly=True))
            args = ["/sbin/docker-init", "--", *args]
        o = S.SpecOptions(
            args=tuple(args), rootfs=rootfs, env=tuple(options.process_env(cfg)), cwd=cwd,
            uid=eu.uid, gid=eu.gid, additional_gids=eu.additional_gids,
            hostname=hostname, terminal=bool(cfg.get("Tty")),
            readonly_rootfs=bool(hc.get("ReadonlyRootfs")),
            network=("host" if net == "host" else netinfo.netns if netinfo else "private"),
            pid_host=hc.get("PidMode") == "host", ipc_host=hc.get("IpcMode") == "host",
            uts_host=hc.get("UTSMode") == "host",
            cap_add=tuple(hc.get("CapAdd") or ()), cap_drop=tuple(hc.get("CapDrop") or ()),
            privileged=bool(hc.get("Privileged")), seccomp=seccomp,
            no_new_privileges=sec.get("no-new-privileges") == "true",
            mounts=tuple(mounts), shm_size=hc.get("ShmSize") or S.DEFAULT_SHM_SIZE,
            cgroups_path=cgroups.container_path(cid, hc.get("CgroupParent") or ""),
            resources=self._resources(rec),
            rlimits=rlimits, sysctls=tuple((hc.get("Sysctls") or {}).items()),
            devices=tuple(f"{d['PathOnHost']}:{d['PathInContainer']}:{d['CgroupPermissions']}"
                          for d in hc.get("Devices") or ()),
            device_read_bps=tuple(f"{d['Path']}:{d['Rate']}" for d in hc.get("BlkioDeviceReadBps") or ()),
            device_write_bps=tuple(f"{d['Path']}:{d['Rate']}" for d in hc.get("BlkioDeviceWriteBps") or ()),
            id_mappings=idmap.to_oci() if idmap is not None else None, userns_path=pinned,
            oom_score_adj=hc.get("OomScoreAdj") or None,
            cgroupns=hc.get("CgroupnsMode") or "",
            unmask_paths=sec.get("systempaths") == "unconfined")
        spec = S.build_spec(o)
        if _resources_more(hc):
            from skiff.runtime import resources_more

            resources_more.oci_resources(hc, spec["linux"]["resources"])
        if cfg.get("Domainname"):  # --domainname: a sysctl, as dockerd 20.10 sets it
            linux = spec.setdefault("linux", {})
            linux["sysctl"] = {**(linux.get("sysctl") or {}),
                               "kernel.domainname": cfg["Domainname"]}
        if joined is not None:
            from skiff.runtime import nsjoin

            return nsjoin.apply(spec, joined)
        return spec

    def _joined(self, rec: dict):
        """``--pid``/``--ipc container:X``, shareable or none IPC: what the start joins
        (skiff.runtime.nsjoin), else None (the default modes: nothing imported)."""
        hc = rec["HostConfig"]
        if not (hc.get("PidMode") or "").startswith("container:") and (
                hc.get("IpcMode") or "private") == "private":
            return None
        from skiff.runtime import nsjoin

        return nsjoin.join(self, rec)

    def _pin_userns(self, rec: dict, m) -> str:
        """Pin a user-namespaced container's user namespace (a joiner of another's
        namespaces gets the donor's: skiff.runtime.nsjoin.pin_userns)."""
        from skiff.runtime import userns

        hc = rec["HostConfig"]
        if any((hc.get(k) or "").startswith("container:")
               for k in ("NetworkMode", "IpcMode", "PidMode")):
            from skiff.runtime import nsjoin

            return nsjoin.pin_userns(self, rec, m)
        return userns.repin(m, userns.pin_path(rec["Id"]))

    # -- signals, stop, wait --------------------------------------------------------------
    def _set_manual_stop(self, cid: str, value: bool = True) -> None:
        """Record that the user stopped it: the DB flag and the monitor's marker file."""
        def f(r: dict) -> None:
            r["Skiff"]["ManualStop"] = value
        if records.update(self.db, cid, f) is None:
            return  # already removed (run --rm)
        marker = self.bundle(cid) / "manual-stop"
        if value:
            marker.touch()
        else:
            marker.unlink(missing_ok=True)

    def kill(self, ref: str, sig: str | int = "SIGKILL") -> dict:
        """Send ``sig`` to the container's process (docker kill).

        Raises:
            Conflict: not running (dockerd 20.10's ``Cannot kill container: X: Container Y
                is not running``).
            InvalidArgument: an unknown signal.
        """
        num = parse_signal(sig)
        rec = self.get(ref)
        if rec["State"]["Status"] not in ACTIVE:
            raise Conflict(f"Cannot kill container: {ref}",
                           f"Container {rec['Id']} is not running")
        self._set_manual_stop(rec["Id"])
        try:
            self.runc.kill(rec["Id"], num)
        except NotFound:
            pass
        return rec

    def stop(self, ref: str, timeout: int | None = None, sig: str | None = None) -> dict:
        """Stop: the stop signal (image's STOPSIGNAL or SIGTERM), SIGKILL after
        ``timeout`` seconds (default the container's StopTimeout or 10). A container that
        is not running is left as it is."""
        rec = self.get(ref)
        if rec["State"]["Status"] not in ACTIVE:
            return rec
        cid = rec["Id"]
        self._set_manual_stop(cid)
        num = parse_signal(sig or rec["Config"].get("StopSignal") or "SIGTERM")
        if timeout is None:
            timeout = rec["Config"].get("StopTimeout")
            timeout = 10 if timeout is None else timeout
        if rec["State"]["Status"] == "paused":
            try:
                self.runc.resume(cid)
            except SkiffError:
                pass
        try:
            self.runc.kill(cid, num)
        except SkiffError:
            pass
        if timeout < 0 or not self._wait_monitor(rec, timeout):
            try:
                self.runc.kill(cid, SIGKILL, all_processes=True)
            except SkiffError:
                pass
            self._wait_monitor(rec, 30)
        try:
            return self.get(cid)
        except NotFound:
            return rec  # run --rm removed it on exit: docker stop still succeeds

    def _wait_monitor(self, rec: dict, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the monitor to finish; True if it did."""
        end = time.monotonic() + timeout
        sk = rec.get("Skiff") or {}
        fresh = records.get(self.db, rec["Id"])
        if fresh is not None:
            sk = fresh["Skiff"]
        while True:
            if not monitor_alive({"Skiff": sk}):
                return True
            if time.monotonic() >= end:
                return False
            time.sleep(0.01)

    def wait(self, ref: str) -> int:
        """Block until the container is not running; return its exit code (docker wait)."""
        rec = self.get(ref)
        cid = rec["Id"]
        while rec["State"]["Status"] in ACTIVE:
            time.sleep(0.02)
            cur = records.get(self.db, cid)
            if cur is None:
                break
            rec = self._reconcile(cur)
        return int(rec["State"]["ExitCode"])

    # -- remove ---------------------------------------------------------------------------
    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> dict:
        """Remove a container: its rootfs snapshot, bundle, log and record (docker rm).

        Raises:
            Conflict: it runs and ``force`` is False (Docker's message).
        """
        self._sweep()
        rec = self.get(ref)
        if rec["State"]["Status"] in ACTIVE:
            if not force:
                raise Conflict(f"You cannot remove a running container {rec['Id']}. Stop the "
                               "container before attempting removal or force remove")  # 20.10
            self._set_manual_stop(rec["Id"])
            try:
                if rec["State"]["Status"] == "paused":
                    self.runc.resume(rec["Id"])
                self.runc.kill(rec["Id"], SIGKILL, all_processes=True)
            except SkiffError:
                pass
            self._wait_monitor(rec, 30)
            rec = records.get(self.db, rec["Id"]) or rec
        self._remove_files(rec, volumes=volumes)
        return rec

    def _remove_files(self, rec: dict, volumes: bool = False, *,
                      detach_delete: bool = False) -> None:
        """Release and remove everything of the container. ``detach_delete`` (``run --rm``
        attached, on the monitor's exit message): its rw layer's directory (record
        already gone, renamed to an ``rm-*`` orphan) and its bundle (moved into that) are
        deleted by the container's monitor after this command has let go of it: the
        command need not wait for ~20 unlinks/rmdirs, slow on this ext4, nor fork a
        deleter. An orphan left by a killed monitor goes with ``system prune``
        (skiff.snapshots.Snapshotter.cleanup)."""
        cid = rec["Id"]
        self._release_runtime(rec)
        sk = rec.get("Skiff") or {}
        trash = None
        # with detach_delete the layer is only renamed: its row and the record go in one
        # write transaction (run --rm: one commit); a deleted directory is not waited on
        # under the lock
        with transaction(self.db) if detach_delete else _NO_TXN:
            if sk.get("Snapshot"):
                try:
                    if detach_delete:
                        trash = self.snapshotter.remove(sk["Snapshot"], delete_dir=False)
                    else:
                        self.snapshotter.remove(sk["Snapshot"])
                except NotFound:
                    pass
            records.delete(self.db, cid)
        if volumes or rec["HostConfig"].get("AutoRemove"):
            # Docker: --rm also removes the container's anonymous volumes (as rm -v)
            from skiff.runtime import volumes as vol

            vol.remove_anonymous(self, rec)
        if trash is not None:
            # the bundle goes into the layer's orphan directory (one rename instead of a
            # dozen unlinks and rmdirs here); the container's monitor deletes both once
            # this command has let go of its pipe (MonitorSpec.snapshot_dir)
            try:
                os.rename(self._bdir(cid), os.path.join(trash, "bundle"))
            except OSError:
                import shutil  # (start-up: not at import)

                shutil.rmtree(self._bdir(cid), ignore_errors=True)
        else:
            import shutil  # (start-up: not at import)

            shutil.rmtree(self._bdir(cid), ignore_errors=True)

    # -- pause, rename --------------------------------------------------------------------
    def pause(self, ref: str) -> dict:
        """Freeze every process of the container (cgroup freezer, docker pause)."""
        rec = self.get(ref)
        if rec["State"]["Status"] == "paused":  # dockerd's daemon/pause.go wording
            raise Conflict(f"Container {rec['Id']} is already paused")
        if rec["State"]["Status"] != "running":
            raise Conflict(f"Container {rec['Id']} is not running")
        self.runc.pause(rec["Id"])
        _health_paused(self, rec, True)

        def f(r: dict) -> None:
            r["State"].update(Status="paused", Paused=True)
        return records.update(self.db, rec["Id"], f) or rec

    def unpause(self, ref: str) -> dict:
        """Thaw a paused container (docker unpause)."""
        rec = self.get(ref)
        if rec["State"]["Status"] != "paused":
            raise Conflict(f"Container {rec['Id']} is not paused")
        self.runc.resume(rec["Id"])
        _health_paused(self, rec, False)

        def f(r: dict) -> None:
            if r["State"]["Status"] == "paused":
                r["State"].update(Status="running", Paused=False)
        return records.update(self.db, rec["Id"], f) or rec

    def rename(self, ref: str, new_name: str) -> None:
        """Give the container a new name (docker rename).

        Raises:
            AlreadyExists: the name is taken. InvalidArgument: a bad name.
        """
        rec = self.get(ref)
        try:
            name = records.validate_name(new_name)
        except InvalidArgument as e:  # dockerd: "Error when allocating new name: Invalid
            # container name (/bad name), only ... are allowed" (the name with its slash)
            slashed = "/" + new_name.lstrip("/")
            raise InvalidArgument("Error when allocating new name",
                                  e.what.replace(f"({new_name})", f"({slashed})")) from None
        if rec["Name"] == "/" + name:
            raise InvalidArgument("Renaming a container with the same name as its current name")
        other = self.db.execute("SELECT id FROM containers WHERE name = ?", (name,)).fetchone()
        if other is not None:
            raise Conflict("Error when allocating new name",
                           f'Conflict. The container name "/{name}" is already in use by '
                           f'container "{other[0]}". You have to remove (or rename) that '
                           "container to be able to reuse that name.")

        def f(r: dict) -> None:
            r["Name"] = "/" + name
        records.update(self.db, rec["Id"], f)
