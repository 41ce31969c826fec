"""The OCI runtime driver: runc's command line (create, start, run, exec, kill, delete, state).

Only process plumbing lives here; what to run comes from skiff.runtime.spec and when from
the monitor. runc keeps its own state under ``--root`` (default ``/run/runc``); skiff gives
every store root its own runc root (``/run/skiff-runc/<hash of store root>``), so two stores
on one host never see each other's containers.

runc reports its own failures as JSON lines in the ``--log`` file; :func:`runtime_error`
turns the last one into the error Docker's CLI would print: 127 when the command is not
found, 126 when it cannot be invoked, else 125 (docker/cli container/run.go).
"""

from __future__ import annotations

import os

from skiff import jsonio as json  # (json.loads/dumps without importing re)
from skiff.errors import CannotInvoke, CommandNotFound, NotFound, SkiffError, Unavailable
from skiff.runtime.value import value

TYPE_CHECKING = False  # (not typing's: the run path does not import collections)
if TYPE_CHECKING:
    from collections.abc import Sequence


@value
class State:
    """``runc state`` output: ``status`` is created|running|paused|stopped, ``pid`` the init's
    host pid (0 when stopped), ``bundle`` its directory, ``created`` RFC 3339 text."""

    id: str
    status: str
    pid: int
    bundle: str
    created: str


def state_root(store_root: str | os.PathLike[str]) -> str:
    """runc's ``--root`` for a skiff store: under /run so it vanishes on reboot (as runc's)."""
    from skiff.hexdigest import sha256_hex

    return f"/run/skiff-runc/{sha256_hex(os.fspath(store_root))[:16]}"


class Runc:
    """Drive one runc binary with one state root.

    Args:
        binary (str): absolute path of runc (or crun).
        root (str): runc's ``--root`` state directory.
    """

    def __init__(self, binary: str, root: str):
        self.binary = binary
        self.root = root

    @classmethod
    def for_config(cls, config) -> Runc:
        """The driver for a :class:`skiff.config.Config`.

        Raises:
            Unavailable: the runtime binary is not installed.
        """
        path = config.runtime_path()
        if path is None:
            raise Unavailable(f"OCI runtime {config.runtime!r}",
                              "executable file not found in $PATH")
        return cls(path, state_root(getattr(config, "root_dir", None) or config.root))

    def _base(self, log: str | None = None) -> list[str]:
        argv = [self.binary, "--root", self.root]
        if log:
            argv += ["--log", log, "--log-format", "json"]
        return argv

    # -- process-creating commands: return the Popen, the caller owns waiting ---------------

    def run_argv(self, container_id: str, bundle: str, *, pid_file: str | None = None,
                 log: str | None = None, console_socket: str | None = None,
                 detach: bool = False, no_pivot: bool = False) -> list[str]:
        """argv of ``runc run`` (foreground unless ``detach``): create + start in one exec,
        runc stays the parent and reaper of the container and exits with its status
        (128+N after signal N); it forwards the signals it receives."""
        argv = self._base(log) + ["run", "--bundle", bundle]
        if pid_file:
            argv += ["--pid-file", pid_file]
        if console_socket:
            argv += ["--console-socket", console_socket]
        if detach:
            argv.append("--detach")
        if no_pivot:
            argv.append("--no-pivot")
        argv.append(container_id)
        return argv

    def exec_argv(self, container_id: str, process_json: str, *, pid_file: str | None = None,
                  log: str | None = None, console_socket: str | None = None,
                  detach: bool = False) -> list[str]:
        """argv of ``runc exec --process FILE`` (a process.json per runtime-spec)."""
        argv = self._base(log) + ["exec", "--process", process_json]
        if pid_file:
            argv += ["--pid-file", pid_file]
        if console_socket:
            argv += ["--console-socket", console_socket]
        if detach:
            argv.append("--detach")
        argv.append(container_id)
        return argv

    def create(self, container_id: str, bundle: str, *, pid_file: str | None = None,
               log: str | None = None, console_socket: str | None = None,
               stdin=None, stdout=None, stderr=None) -> None:
        """``runc create``: set up the container, its init waits for :meth:`start`.

        Raises:
            CommandNotFound, CannotInvoke, SkiffError: see :func:`runtime_error`.
        """
        argv = self._base(log) + ["create", "--bundle", bundle]
        if pid_file:
            argv += ["--pid-file", pid_file]
        if console_socket:
            argv += ["--console-socket", console_socket]
        argv.append(container_id)
        import subprocess

        rc = subprocess.run(argv, stdin=stdin, stdout=stdout, stderr=stderr).returncode
        if rc != 0:
            raise runtime_error(log, f"runc create {container_id}")

    def start(self, container_id: str) -> None:
        """``runc start``: let a created container's process exec."""
        self._simple(["start", container_id], f"runc start {container_id}")

    def kill(self, container_id: str, signal: int | str = "SIGTERM", *,
             all_processes: bool = False) -> None:
        """``runc kill``: send ``signal`` to the init (every process with ``all_processes``).

        Raises:
            NotFound: runc does not know the container (it is gone).
            SkiffError: runc failed otherwise (e.g. the container is not running).
        """
        argv = ["kill"] + (["--all"] if all_processes else []) + [container_id, str(signal)]
        self._simple(argv, f"runc kill {container_id}")

    def pause(self, container_id: str) -> None:
        """``runc pause`` (cgroup freezer)."""
        self._simple(["pause", container_id], f"runc pause {container_id}")

    def resume(self, container_id: str) -> None:
        """``runc resume``."""
        self._simple(["resume", container_id], f"runc resume {container_id}")

    def delete(self, container_id: str, *, force: bool = False) -> None:
        """``runc delete``; a container runc does not know is not an error."""
        argv = ["delete"] + (["--force"] if force else []) + [container_id]
        try:
            self._simple(argv, f"runc delete {container_id}")
        except NotFound:
            pass

    def state(self, container_id: str) -> State | None:
        """``runc state``, or None when runc does not know the container."""
        import subprocess

        r = subprocess.run(self._base() + ["state", container_id], capture_output=True)
        if r.returncode != 0:
            if b"does not exist" in r.stderr or b"not exist" in r.stderr:
                return None
            raise SkiffError(f"runc state {container_id}", _last_line(r.stderr))
        d = json.loads(r.stdout)
        return State(d["id"], d["status"], int(d.get("pid") or 0), d.get("bundle", ""),
                     d.get("created", ""))

    def list(self) -> list[State]:
        """Every container in this state root (``runc list --format json``)."""
        import subprocess

        r = subprocess.run(self._base() + ["list", "--format", "json"], capture_output=True)
        if r.returncode != 0:
            return []
        data = json.loads(r.stdout or b"null") or []
        return [State(d["id"], d["status"], int(d.get("pid") or 0), d.get("bundle", ""),
                      d.get("created", "")) for d in data]

    def ps(self, container_id: str) -> list[int]:
        """Host pids of every process in the container (``runc ps --format json``)."""
        import subprocess

        r = subprocess.run(self._base() + ["ps", "--format", "json", container_id],
                           capture_output=True)
        if r.returncode != 0:
            raise _error_from_text(f"runc ps {container_id}", r.stderr)
        return [int(p) for p in json.loads(r.stdout or b"[]") or []]

    def _simple(self, args: Sequence[str], what: str) -> None:
        import subprocess

        r = subprocess.run(self._base() + list(args), capture_output=True)
        if r.returncode != 0:
            raise _error_from_text(what, r.stderr)


def _last_line(b: bytes) -> str:
    lines = [ln for ln in b.decode(errors="replace").splitlines() if ln.strip()]
    text = lines[-1] if lines else "failed"
    # runc's text log format: time="..." level=error msg="..."
    if 'msg="' in text:
        text = text.split('msg="', 1)[1].rsplit('"', 1)[0].replace('\\"', '"')
    return text


def _error_from_text(what: str, stderr: bytes) -> SkiffError:
    msg = _last_line(stderr)
    if "does not exist" in msg or "not exist" in msg:
        return NotFound(what, msg)
    return SkiffError(what, msg)


def read_log_error(log: str | os.PathLike[str] | None) -> str | None:
    """The last ``level=error`` message runc wrote to its JSON ``--log`` file, or None."""
    if not log:
        return None
    try:
        with open(log, "rb") as f:
            data = f.read()
    except OSError:
        return None
    msg = None
    for line in data.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if d.get("level") in ("error", "fatal"):
            msg = d.get("msg")
    return msg


class HeldStderr:
    """runc writes its own failure message (``runc run failed: ...``, ``exec failed: ...``)
    to the stderr it shares with the container's process. Hold back stderr output that may
    be that message until runc has exited and we know whether it failed."""

    PREFIXES = (b"runc run failed: ", b"exec failed: ", b"runc exec failed: ")

    def __init__(self) -> None:
        self.held = b""
        self.passthrough = False

    def feed(self, data: bytes) -> bytes:
        """What may be shown now of ``data``."""
        if self.passthrough:
            return data
        self.held += data
        if any(self.held.startswith(p) or p.startswith(self.held) for p in self.PREFIXES):
            return b""
        self.passthrough = True
        out, self.held = self.held, b""
        return out

    def finish(self, failed: bool) -> bytes:
        """The held bytes, unless runc failed (then they were its message)."""
        out, self.held = (b"" if failed else self.held), b""
        return out


def classify(message: str, what: str = "failed to create task for container",
             phase: str = "create") -> SkiffError:
    """The SkiffError for a runc failure message, by docker/cli's rules:
    "executable file not found" / "no such file or directory" → 127, "permission denied" /
    "is a directory" → 126, anything else → 125.

    Worded as Docker's (containerd's shim between dockerd and runc adds its layers): a
    create is ``failed to create task for container: failed to create shim task: OCI
    runtime create failed: runc create failed: <runc's reason>: unknown`` (``runc run``,
    which skiff calls, says ``runc run failed``: named as Docker's ``runc create``); the
    ``why`` part is Docker 20.10's ``State.Error``."""
    if phase == "create":
        if message.startswith("runc run failed: "):
            message = "runc create failed: " + message[len("runc run failed: "):]
        why = f"failed to create shim task: OCI runtime create failed: {message}: unknown"
    else:
        why = f"OCI runtime {phase} failed: {message}: unknown"
    if "executable file not found" in message or "no such file or directory" in message:
        return CommandNotFound(what, why)
    if "permission denied" in message or "is a directory" in message:
        return CannotInvoke(what, why)
    return SkiffError(what, why)


def runtime_error(log: str | os.PathLike[str] | None, fallback: str) -> SkiffError:
    """The error for a failed runc create/run from its log (see :func:`classify`)."""
    msg = read_log_error(log)
    return classify(msg) if msg else SkiffError(fallback, "OCI runtime failed")
