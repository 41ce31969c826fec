"""Engine configuration: where the store lives and which OCI runtime runs containers.

Precedence for each setting: an explicit argument (the CLI's global flags) > the
environment (``SKIFF_ROOT``, ``SKIFF_RUNTIME``) > the default.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # (not typing's: `run` starts faster without importing typing)
if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_ROOT = "/var/lib/skiff"
DEFAULT_RUNTIME = "runc"


class Config:
    """Settings for one engine instance.

    Attributes:
        root (Path): the store's root directory (DESIGN.md "On disk"), default /var/lib/skiff.
        runtime (str): the OCI runtime binary (name on PATH or absolute path), default runc.
        insecure_registries (tuple[str, ...]): registries (host[:port], name or CIDR) tried
            over https without certificate checks, then plain http, besides loopback:
            ``$SKIFF_INSECURE_REGISTRIES`` (comma-separated), else the
            ``"insecure-registries"`` list of ``<root>/daemon.json`` (dockerd's key).
        userns_remap (str): dockerd's ``userns-remap``: ``""`` (off), ``default`` (the
            ``skiff`` user's subordinate ranges, created on first use) or ``USER[:GROUP]``;
            see skiff.runtime.userns. From ``$SKIFF_USERNS_REMAP``, else the
            ``"userns-remap"`` key of ``<root>/daemon.json``.
    """

    # A plain slotted class with a frozen dataclass's behaviour (keyword or positional
    # construction, ==, hash, repr, no assignment): every command builds a Config, and
    # `dataclasses` pulls in inspect/ast/dis (~15 ms of start-up) for this one value.
    # ``root`` is a property over the text ``root_dir``: pathlib (with urllib.parse and
    # ipaddress, ~4-8 ms of import) is built only for callers that use a Path, and
    # ``skiff run``'s path uses :meth:`at` (str) instead.
    __slots__ = ("root_dir", "runtime", "insecure_registries", "userns_remap", "_root")
    _FIELDS = ("root", "runtime", "insecure_registries", "userns_remap")

    root_dir: str
    runtime: str
    insecure_registries: tuple[str, ...]
    userns_remap: str

    def __init__(self, root: Path | None = None, runtime: str = DEFAULT_RUNTIME,
                 insecure_registries: tuple[str, ...] = (), userns_remap: str = ""):
        """Args as the attributes; ``root`` (a Path or str) defaults to /var/lib/skiff."""
        put = object.__setattr__
        put(self, "root_dir", DEFAULT_ROOT if root is None else _norm(os.fspath(root)))
        put(self, "_root", root if root is not None and not isinstance(root, str) else None)
        put(self, "runtime", runtime)
        put(self, "insecure_registries", insecure_registries)
        put(self, "userns_remap", userns_remap)

    @property
    def root(self) -> Path:
        """The store's root directory as a Path (built on first use)."""
        r = self._root
        if r is None:
            from pathlib import Path

            r = Path(self.root_dir)
            object.__setattr__(self, "_root", r)
        return r

    def at(self, *parts: str) -> str:
        """``root / parts...`` as text: ``at("containers", cid)`` is
        ``str(containers_dir / cid)``. No pathlib, for the paths of ``skiff run``."""
        return os.path.join(self.root_dir, *parts)

    def _values(self) -> tuple:
        return (self.root, self.runtime, self.insecure_registries, self.userns_remap)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")  # dataclass's FrozenInstanceError text

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return (f"Config(root={self.root!r}, runtime={self.runtime!r}, "
                f"insecure_registries={self.insecure_registries!r}, "
                f"userns_remap={self.userns_remap!r})")

    def __reduce__(self):
        return (self.__class__, self._values())

    @classmethod
    def from_env(cls, root: str | os.PathLike[str] | None = None,
                 runtime: str | None = None) -> Config:
        """Build a Config from explicit values, then $SKIFF_ROOT / $SKIFF_RUNTIME, then defaults."""
        r = root or os.environ.get("SKIFF_ROOT") or DEFAULT_ROOT
        rt = runtime or os.environ.get("SKIFF_RUNTIME") or DEFAULT_RUNTIME
        r = os.fspath(r)
        # str(Path(r).absolute()) without pathlib
        root_path = _norm(r if os.path.isabs(r) else os.path.join(os.getcwd(), r))
        env_insecure = os.environ.get("SKIFF_INSECURE_REGISTRIES")
        remap = os.environ.get("SKIFF_USERNS_REMAP")
        daemon = _daemon_json(root_path) if env_insecure is None or remap is None else {}
        if env_insecure is not None:
            insecure = tuple(h for h in env_insecure.split(",") if h)
        else:
            listed = daemon.get("insecure-registries", [])
            if not isinstance(listed, list) or not all(isinstance(h, str) for h in listed):
                from skiff.errors import InvalidArgument

                raise InvalidArgument(os.path.join(root_path, "daemon.json"),
                                      '"insecure-registries" must be a list of strings')
            insecure = tuple(listed)
        if remap is None:
            remap = daemon.get("userns-remap", "")
        return cls(root=root_path, runtime=rt, insecure_registries=insecure,
                   userns_remap=str(remap or ""))

    def runtime_path(self) -> str | None:
        """Absolute path of the runtime binary, or None when it is not installed."""
        if os.path.isabs(self.runtime):
            return self.runtime if os.access(self.runtime, os.X_OK) else None
        return which(self.runtime)

    # Well-known paths under the root (DESIGN.md "On disk").
    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "snapshots"

    @property
    def containers_dir(self) -> Path:
        return self.root / "containers"

    @property
    def volumes_dir(self) -> Path:
        return self.root / "volumes"

    @property
    def builds_dir(self) -> Path:
        return self.root / "builds"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def metadata_path(self) -> Path:
        return self.root / "metadata.db"


def _norm(p: str) -> str:
    """``str(PurePosixPath(p))``: "." parts and doubled or trailing slashes dropped, ".."
    kept, an initial "//" kept (POSIX), ``""`` is ``"."``."""
    lead = "//" if p.startswith("//") and not p.startswith("///") else "/" if p.startswith("/") else ""
    rest = "/".join(x for x in p.split("/") if x and x != ".")
    return lead + rest if lead or rest else "."


def which(name: str) -> str | None:
    """``shutil.which(name)`` for an executable file (POSIX): a name with a slash is taken
    as it is, else the first match on ``$PATH`` (``os.defpath`` when unset). Here rather
    than shutil's because importing shutil (bz2, lzma) costs every ``run`` ~3 ms."""
    def ok(p: str) -> bool:
        return os.access(p, os.F_OK | os.X_OK) and not os.path.isdir(p)

    if os.path.dirname(name):
        return name if ok(name) else None
    seen = set()
    for d in os.environ.get("PATH", os.defpath).split(os.pathsep):
        d = d or os.curdir
        if d in seen:
            continue
        seen.add(d)
        p = os.path.join(d, name)
        if ok(p):
            return p
    return None


def _daemon_json(root: str) -> dict:
    """``<root>/daemon.json`` (dockerd's file name and keys), ``{}`` when absent.

    Raises:
        InvalidArgument: the file is not a JSON object.
    """
    from skiff import jsonio as json

    try:
        with open(os.path.join(root, "daemon.json")) as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        from skiff.errors import InvalidArgument

        raise InvalidArgument(os.path.join(root, "daemon.json"), str(e)) from None
    if not isinstance(data, dict):
        from skiff.errors import InvalidArgument

        raise InvalidArgument(os.path.join(root, "daemon.json"), "not a JSON object")
    return data
