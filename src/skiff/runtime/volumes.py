"""Volumes and bind mounts: ``-v``, ``--mount``, ``--tmpfs``, the image's VOLUMEs.

- ``-v /host:/ctr[:ro]`` bind-mounts a host path (created as a directory when missing, as
  Docker does for ``-v``; ``--mount type=bind`` requires it to exist);
- ``-v name:/ctr`` / ``--mount type=volume,source=name,target=/ctr`` uses the named volume
  (created on first use), ``-v /ctr`` and each image VOLUME not otherwise covered an
  anonymous one (a random 64-hex name), removed by ``rm -v``;
- a volume is a directory ``<root>/volumes/<name>/_data`` recorded in the ``volumes``
  table; when it is empty the first time a container mounts it, the image's content at
  the mount point is copied in (Docker's copy-up; ``nocopy`` turns it off).

Records: each container's ``Mounts`` (docker inspect shape) say what it mounts;
:func:`oci_mounts` turns them into OCI mount dicts at start.
"""

from __future__ import annotations

import os
import time

from skiff import jsonio as json  # (json.loads/dumps without importing re)
from skiff.errors import AlreadyExists, Conflict, InvalidArgument, NotFound, SkiffError
from skiff.metadata import transaction
from skiff.runtime import volspec
from skiff.runtime.records import valid_name

TYPE_CHECKING = False  # (not typing's: `run` starts faster without importing typing)
if TYPE_CHECKING:
    from skiff.runtime.options import CreateOptions

_PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")


def _mount_entry(typ: str, source: str, dest: str, rw: bool, *, name: str = "",
                 mode: str = "", propagation: str = "") -> dict:
    d = {"Type": typ}
    if typ == "volume":
        d["Name"] = name
    d.update({"Source": source, "Destination": dest})
    if typ == "volume":
        d["Driver"] = "local"
    d.update({"Mode": mode, "RW": rw, "Propagation": propagation})
    return d


def parse_mounts(svc, o: CreateOptions, config: dict) -> list[dict]:
    """The container's Mounts (docker inspect shape) from -v, --mount and image VOLUMEs.

    Named volumes are created here (Docker creates them at container create).

    Raises:
        InvalidArgument: a malformed spec or a relative container path (Docker's text).
    """
    out: list[dict] = []
    dests: set[str] = set()

    def add(entry: dict) -> None:
        if entry["Destination"] in dests:
            raise InvalidArgument("Duplicate mount point", entry["Destination"])
        dests.add(entry["Destination"])
        out.append(entry)

    for spec in config_binds(o):
        typ, src, dst, mode = volspec.parse_bind(spec)
        flags = [m for m in mode.split(",") if m]
        rw = "ro" not in flags
        if typ == "bind":
            prop = next((m for m in flags if m in _PROPAGATIONS), "rprivate")
            add(_mount_entry("bind", src, dst, rw, mode=mode, propagation=prop))
        else:
            vol = create(svc, src, exist_ok=True)
            e = _mount_entry("volume", vol["Mountpoint"], dst, rw, name=src,
                             mode=mode or "z")
            if "nocopy" in flags:
                e["NoCopy"] = True
            add(e)
    for spec in o.mounts:
        add(_parse_mount_flag(svc, spec))
    if o.volumes_from:  # (-v and --mount on the same destination win: dockerd)
        from skiff.runtime.volfrom import mounts as volumes_from

        for entry in volumes_from(svc, o.volumes_from):
            if entry["Destination"] not in dests:
                add(entry)
    for path in (config.get("Volumes") or {}):
        path = volspec.clean(path)  # (relative stays relative: under / when mounted)
        if path in dests:
            continue
        name = os.urandom(32).hex()
        vol = create(svc, name, anonymous=True)
        add(_mount_entry("volume", vol["Mountpoint"], path, True, name=name))
    return out


def config_binds(o: CreateOptions) -> list[str]:
    """The ``-v`` specs that are binds or named volumes (HostConfig.Binds)."""
    return volspec.split(o.binds)[0] if o.binds else []


# docker/cli opts/mount.go: the keys --mount knows
_MOUNT_KEYS = frozenset({
    "type", "source", "src", "target", "dst", "destination", "readonly", "ro", "consistency",
    "bind-propagation", "bind-nonrecursive", "volume-nocopy", "volume-label", "volume-driver",
    "volume-opt", "tmpfs-size", "tmpfs-mode"})
# dockerd's local volume driver (validateOpts)
_LOCAL_DRIVER_OPTS = frozenset({"type", "device", "o", "size"})


def _check_volume_opts(name: str, opts: list[str]) -> None:
    """``volume-opt=K=V`` for a volume about to be created: dockerd's local driver refuses
    an unknown K (``create NAME: invalid option: "K"``); the ones it knows (type, device,
    o, size: mount options) are not offered here."""
    for o in opts:
        k = o.partition("=")[0]
        if k not in _LOCAL_DRIVER_OPTS:
            raise InvalidArgument(f"create {name}", f'invalid option: "{k}"')
    if opts:
        raise InvalidArgument("volume options", "the local driver here takes no options")


def _go_bool(v: str) -> bool:
    """Go strconv.ParseBool, with a bare key (``ro``) meaning true."""
    if v in ("", "1", "t", "T", "true", "TRUE", "True"):
        return True
    if v in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise InvalidArgument(f"invalid boolean value {v!r}")


def _ram_in_bytes(v: str) -> int:
    """docker/go-units RAMInBytes: ``1m`` → 1048576 (binary multipliers, b/ib optional)."""
    import re

    m = re.fullmatch(r"(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?", v)
    if not m:
        raise InvalidArgument(f"invalid size: '{v}'")
    mult = 1024 ** (" kmgtp".index(m.group(2).lower()) if m.group(2) else 0)
    return int(float(m.group(1)) * mult)


def api_mount(spec: str) -> dict:
    """One ``--mount`` flag as HostConfig.Mounts holds it (docker/cli opts/mount.go into
    the API's mount.Mount, empty fields left out as Go's omitempty does):
    ``type=volume,src=v,dst=/d,volume-nocopy`` → ``{"Type": "volume", "Source": "v",
    "Target": "/d", "VolumeOptions": {"NoCopy": true, "DriverConfig": {}}}``."""
    m: dict = {"Type": "volume"}
    src = dst = None
    ro = False
    consistency = ""
    bind: dict = {}
    vol: dict | None = None
    tmpfs: dict = {}

    def vopts() -> dict:
        nonlocal vol
        if vol is None:
            vol = {"NoCopy": False, "Labels": {}, "DriverConfig": {}}
        return vol

    for field in spec.split(","):
        k, eq, v = field.partition("=")
        key = k.strip().lower()
        if key == "type":
            m["Type"] = v
        elif key in ("source", "src"):
            src = v
        elif key in ("target", "dst", "destination"):
            dst = v
        elif key in ("readonly", "ro"):
            ro = _go_bool(v if eq else "")
        elif key == "consistency":
            consistency = v
        elif key == "bind-propagation":
            bind["Propagation"] = v
        elif key == "bind-nonrecursive":
            bind["NonRecursive"] = _go_bool(v if eq else "")
        elif key == "volume-nocopy":
            vopts()["NoCopy"] = _go_bool(v if eq else "")
        elif key == "volume-label":
            lk, _, lv = v.partition("=")
            vopts()["Labels"][lk] = lv
        elif key == "volume-driver":
            vopts()["DriverConfig"]["Name"] = v
        elif key == "volume-opt":
            ok, _, ov = v.partition("=")
            vopts()["DriverConfig"].setdefault("Options", {})[ok] = ov
        elif key == "tmpfs-size":
            tmpfs["SizeBytes"] = _ram_in_bytes(v)
        elif key == "tmpfs-mode":
            tmpfs["Mode"] = int(v, 8)
    if src:
        m["Source"] = src
    if dst:
        m["Target"] = dst
    if ro:
        m["ReadOnly"] = True
    if consistency:
        m["Consistency"] = consistency
    bind = {k: v for k, v in bind.items() if v}
    if bind:
        m["BindOptions"] = bind
    if vol is not None:
        m["VolumeOptions"] = {k: v for k, v in vol.items() if v or k == "DriverConfig"}
    if tmpfs:
        m["TmpfsOptions"] = tmpfs
    return m


def _parse_mount_flag(svc, spec: str) -> dict:
    kv: dict[str, str] = {}
    volume_opts: list[str] = []
    for field in spec.split(","):
        k, eq, v = field.partition("=")
        key = k.strip().lower()
        if key not in _MOUNT_KEYS:
            raise InvalidArgument(f"invalid argument \"{spec}\" for \"--mount\" flag",
                                  f"unexpected key '{k}' in '{field}'")
        if key == "volume-opt":
            volume_opts.append(v)
        kv[key] = v if eq else "true"
    typ = kv.get("type", "volume")
    dst = kv.get("target") or kv.get("destination") or kv.get("dst")
    if not dst:
        raise InvalidArgument(f"invalid argument \"{spec}\" for \"--mount\" flag",
                              "target is required")
    if why := volspec.target_error(typ, dst):
        raise InvalidArgument(why)  # dockerd's text
    ro = kv.get("readonly", kv.get("ro", "false")) in ("true", "1", "")
    src = kv.get("source") or kv.get("src") or ""
    if typ == "bind":
        if not src.startswith("/") or not os.path.exists(src):
            raise InvalidArgument("invalid mount config for type \"bind\"",
                                  f"bind source path does not exist: {src}")
        return _mount_entry("bind", src, dst, not ro,
                            propagation=kv.get("bind-propagation", "rprivate"))
    if typ == "volume":
        name = src or os.urandom(32).hex()
        if volume_opts and not (src and _exists(svc, src)):
            _check_volume_opts(name, volume_opts)
        labels = (api_mount(spec).get("VolumeOptions") or {}).get("Labels") or None
        vol = (create(svc, name, labels=labels, exist_ok=True) if src
               else create(svc, name, labels=labels, anonymous=True))
        e = _mount_entry("volume", vol["Mountpoint"], dst, not ro, name=name, mode="z")
        if kv.get("volume-nocopy") in ("true", "1"):
            e["NoCopy"] = True
        return e
    if typ == "tmpfs":
        e = _mount_entry("tmpfs", "", dst, not ro)
        if "tmpfs-size" in kv:
            e["TmpfsSize"] = kv["tmpfs-size"]
        if "tmpfs-mode" in kv:
            e["TmpfsMode"] = kv["tmpfs-mode"]
        return e
    raise InvalidArgument(f"invalid argument \"{spec}\" for \"--mount\" flag",
                          f"invalid mount type: {typ!r}")


def oci_mounts(svc, rec: dict, rootfs: str) -> list[dict]:
    """OCI mount dicts for the record's Mounts and --tmpfs (volumes copied up first)."""
    from skiff.runtime.spec import bind_mount

    root_ids = None
    if (rec.get("Skiff") or {}).get("IdMap"):  # (userns imported only then: start-up)
        from skiff.runtime.userns import IdMapping

        root_ids = IdMapping.from_json(rec["Skiff"]["IdMap"]).root
    out = []
    for m in rec.get("Mounts") or []:
        if m["Type"] == "bind":
            src = m["Source"]
            if not os.path.exists(src):
                os.makedirs(src, exist_ok=True)
            out.append(bind_mount(src, m["Destination"], readonly=not m["RW"],
                                  propagation=m.get("Propagation") or "rprivate"))
        elif m["Type"] == "volume":
            dest = volspec.container_path(m["Destination"])
            if not m.get("NoCopy"):
                _copy_up(rootfs, dest, m["Source"], root_ids)
            out.append(bind_mount(m["Source"], dest, readonly=not m["RW"]))
        elif m["Type"] == "tmpfs":
            opts = ["nosuid", "nodev", "noexec"]
            if m.get("TmpfsSize"):
                opts.append(f"size={m['TmpfsSize']}")
            if m.get("TmpfsMode"):
                opts.append(f"mode={m['TmpfsMode']}")
            if not m["RW"]:
                opts.append("ro")
            out.append({"destination": m["Destination"], "type": "tmpfs", "source": "tmpfs",
                        "options": opts})
    for path, opts in (rec["HostConfig"].get("Tmpfs") or {}).items():
        o = ["noexec", "nosuid", "nodev"] + [x for x in opts.split(",") if x]
        out.append({"destination": path, "type": "tmpfs", "source": "tmpfs", "options": o})
    return out


def _copy_up(rootfs: str, dest: str, data_dir: str,
             root_ids: tuple[int, int] | None = None) -> None:
    """Populate a new volume from the image's content at ``dest`` (Docker's copy-up).
    ``root_ids``: the host (uid, gid) of a user-namespaced container's root: a volume
    the image has nothing for belongs to it (dockerd creates it as the remapped root);
    copied content already carries host ids (the rootfs is seen through idmapped
    layers, skiff.snapshots.idmap)."""
    from skiff.runtime.fsutil import secure_join

    marker = os.path.join(os.path.dirname(data_dir), ".populated")
    if os.path.exists(marker):
        return
    try:
        empty = not os.listdir(data_dir)
    except FileNotFoundError:
        os.makedirs(data_dir, exist_ok=True)
        empty = True
    src = secure_join(rootfs, dest)
    if empty and src.is_dir() and any(os.scandir(src)):
        import subprocess

        subprocess.run(["cp", "-a", f"{src}/.", data_dir], check=False, capture_output=True)
    if empty and src.is_dir():
        st = os.stat(src)
        os.chown(data_dir, st.st_uid, st.st_gid)
        os.chmod(data_dir, st.st_mode & 0o7777)
    elif empty and root_ids is not None:
        os.chown(data_dir, *root_ids)
    if empty:
        _init_stubs(dest, data_dir, root_ids)
    open(marker, "w").close()


# what Docker's init layer holds that runc bind-mounts over (daemon/initlayer)
_INIT_FILES = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")


def _init_stubs(dest: str, data_dir: str, root_ids: tuple[int, int] | None) -> None:
    """A new volume over a directory that holds the runtime's mount points (``/etc``)
    gets them as Docker's copy-up brings them from its init layer: empty files, mode
    0755, root's; so a read-only volume there needs nothing created at start."""
    base = dest.rstrip("/")
    for f in _INIT_FILES:
        if f.rpartition("/")[0] != base:
            continue
        p = os.path.join(data_dir, f.rpartition("/")[2])
        if os.path.lexists(p):
            continue
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
        os.close(fd)
        os.chmod(p, 0o755)
        os.chown(p, *(root_ids or (0, 0)))


# -- the volume store --------------------------------------------------------------------

def _info(svc, row) -> dict:
    from skiff.format.humanize import format_rfc3339

    name = row["name"]
    labels = dict(sorted(json.loads(row["labels"] or "{}").items()))  # (a Go map: sorted)
    return {"CreatedAt": format_rfc3339(int(row["created"])), "Driver": row["driver"],
            "Labels": labels or None,  # docker: null for a volume without labels
            "Mountpoint": str(svc.config.volumes_dir / name / "_data"),
            "Name": name, "Options": json.loads(row["options"] or "{}") or None,
            "Scope": "local"}


def create(svc, name: str | None = None, *, labels: dict | None = None,
           exist_ok: bool = False, anonymous: bool = False, driver: str = "local") -> dict:
    """Create a volume (docker volume create); return its inspect dict.

    Raises:
        InvalidArgument: a bad name or a driver other than ``local``.
        AlreadyExists: the name is taken and ``exist_ok`` is False.
    """
    name = name or os.urandom(32).hex()
    if driver != "local":  # dockerd's words
        raise InvalidArgument(f"create {name}", f"error looking up volume plugin {driver}: "
                              f'plugin "{driver}" not found')
    if len(name) == 1:  # moby volume/local validateName
        raise InvalidArgument(f"create {name}", "volume name is too short, names should be "
                              "at least two alphanumeric characters")
    if not valid_name(name):
        raise InvalidArgument(f'create {name}',
                              f'"{name}" includes invalid characters for a local volume name, '
                              "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended "
                              "to pass a host directory, use absolute path")
    labels = dict(labels or {})
    if anonymous:
        labels["com.docker.volume.anonymous"] = ""
    db = svc.db
    with transaction(db):
        row = db.execute("SELECT * FROM volumes WHERE name = ?", (name,)).fetchone()
        if row is not None:
            if exist_ok:
                return _info(svc, row)
            raise AlreadyExists(f"volume {name}", "already exists")
        root = svc.config.volumes_dir / name
        try:
            (root / "_data").mkdir(parents=True, exist_ok=True)
        except OSError as e:  # e.g. a name longer than the file system allows
            why = (e.strerror or str(e))
            raise SkiffError(f"create {name}", f"error while creating volume root path "
                             f"'{root}': mkdir {root}: {why[:1].lower() + why[1:]}") from None
        db.execute("INSERT INTO volumes (name, driver, created, labels, options) "
                   "VALUES (?, 'local', ?, ?, '{}')", (name, time.time(), json.dumps(labels)))
        row = db.execute("SELECT * FROM volumes WHERE name = ?", (name,)).fetchone()
    return _info(svc, row)


def _exists(svc, name: str) -> bool:
    try:
        get(svc, name)
    except NotFound:
        return False
    return True


def get(svc, name: str) -> dict:
    """A volume's inspect dict.

    Raises:
        NotFound: ``No such volume: NAME`` (docker/cli's words).
    """
    row = svc.db.execute("SELECT * FROM volumes WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFound("No such volume", name)
    return _info(svc, row)


def list_all(svc) -> list[dict]:
    """Every volume, by name."""
    return [_info(svc, r) for r in svc.db.execute("SELECT * FROM volumes ORDER BY name")]


def users(svc, name: str) -> list[str]:
    """IDs of the containers whose Mounts use volume ``name``."""
    out = []
    for cid, data in svc.db.execute("SELECT id, data FROM containers"):
        rec = json.loads(data)
        if any(m.get("Name") == name for m in rec.get("Mounts") or []):
            out.append(cid)
    return out


def remove(svc, name: str, force: bool = False) -> None:
    """Remove a volume and its data (docker volume rm).

    Raises:
        NotFound: no such volume. Conflict: a container uses it (Docker's ``volume is in
            use - [ids]``).
    """
    get(svc, name)
    used = users(svc, name)
    if used and not force:
        raise Conflict(f"remove {name}", f"volume is in use - [{', '.join(used)}]")
    with transaction(svc.db):
        svc.db.execute("DELETE FROM volumes WHERE name = ?", (name,))
    import shutil  # (start-up: not at import)

    shutil.rmtree(svc.config.volumes_dir / name, ignore_errors=True)


def remove_anonymous(svc, rec: dict) -> None:
    """``rm -v``: remove the container's anonymous volumes no other container uses."""
    for m in rec.get("Mounts") or []:
        if m["Type"] != "volume":
            continue
        try:
            v = get(svc, m["Name"])
        except NotFound:
            continue
        if "com.docker.volume.anonymous" in (v["Labels"] or {}) and not users(svc, m["Name"]):
            remove(svc, m["Name"])


def prune(svc, all: bool = False, keep=None) -> tuple[list[str], int]:
    """Remove unused volumes (anonymous only unless ``all``, as Docker 23+); ``keep``: a
    predicate on the volume record sparing those it accepts (``--filter label=``);
    returns (names, bytes reclaimed, counted as Docker does:
    skiff.snapshots.usage.content_size)."""
    from skiff.snapshots.usage import content_size

    gone, size = [], 0
    for v in list_all(svc):
        if users(svc, v["Name"]) or (keep is not None and keep(v)):
            continue
        if not all and "com.docker.volume.anonymous" not in (v["Labels"] or {}):
            continue
        size += content_size(svc.config.volumes_dir / v["Name"])
        remove(svc, v["Name"])
        gone.append(v["Name"])
    return gone, size
