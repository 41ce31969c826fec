"""The per-container monitor (conmon's / containerd-shim's role), forked, not exec'd.

:func:`spawn` forks it from the skiff command: the monitor is a session leader that
outlives the command, with no terminal and none of the command's files open. It runs
``runc run --detach`` and is the child subreaper of the session: runc returns once the
container has started, and the container's init, reparented to the monitor, is reaped
here for its exit status (so the exit is known the moment the init is gone; ``runc
delete`` runs after it has been reported). The monitor holds the container's
stdout/stderr pipes, writes them to the json-file log (and to the command's own
stdout/stderr while it is attached), records start and exit in ``state.json`` in the
bundle, and applies the restart policy.

The monitor never opens the metadata database: SQLite state inherited through fork()
is unusable in the child ("locking protocol"), and exec'ing a fresh Python would cost
tens of milliseconds on every start. Instead it writes ``state.json`` (atomically, with a
sequence number) and skiff.runtime.containers folds it into the record when it next reads
an active container. The user's stop is a marker file (``manual-stop``) it checks before
restarting. With ``--rm`` and nobody attached, it execs ``skiff rm -f`` when done (off any
command's critical path).

The command learns what happened through a pipe of JSON lines: ``{"started": pid, "runc":
pid}`` or ``{"error": message}``, then, when attached, ``{"exit": code}`` (the final
exit: the command returns on it, removing the container for ``--rm``; the monitor holds
its ``runc delete`` until the command has closed the pipe); after an error, end of file
means the monitor has finished.

Detection of a start: ``runc run --detach`` returns 0 once the container's process has
been let go, its pid in ``--pid-file``; before that, anything on stderr may be runc's own
failure message (it shares the stream) and is held back until we know.
"""

from __future__ import annotations

# signal.py's C module: the same functions with plain ints, without the wrapper's enums
# (~1.5 ms of import on every run, where the monitor comes from)
import _signal as signal
import os
import select
import time

from skiff import jsonio as json  # (json.loads/dumps without importing re)
from skiff.procinfo import start_time
from skiff.runtime import attachio, jsonlog
from skiff.runtime import runc as runc_mod
from skiff.runtime.value import value


@value
class MonitorSpec:
    """What one monitor supervises.

    Attributes:
        cid: container ID (runc's container ID too).
        bundle: the OCI bundle directory (config.json, pid file, runc's log, state.json).
        log_path: the json-file log.
        detach_argv: ``runc run --detach`` argv (from
            :meth:`skiff.runtime.runc.Runc.run_argv`); with a terminal the monitor adds
            ``--console-socket``.
        delete_argv: ``runc delete --force`` argv, run once the exit has been reported.
        pid_file, runc_log: the paths named in detach_argv.
        restart: (policy name, maximum retries) as in HostConfig.RestartPolicy.
        restart_count: the record's RestartCount when started.
        autoremove: ``--rm``.
        rootfs_mount: the rootfs mount point to unmount when done ("" for none).
        shm_mount: a shareable IPC container's /dev/shm tmpfs (``<bundle>/shm``,
            skiff.runtime.nsjoin) to unmount when done ("" for none), as dockerd's
            Cleanup on exit; a joiner still running keeps its own bind of it. A restart
            gets an empty one (``shm_size`` bytes, owned by ``shm_owner``), as dockerd's.
        snapshot_dir: the container's rw layer directory ("" for none): after an attached
            ``--rm`` run the command renames it to an ``rm-<name>-*`` orphan (with the
            bundle inside) and the monitor deletes that once the command has let go.
        rm_argv: the command that removes the container (for ``--rm`` when detached).
        net_release_argv: the command that releases its networks (skiff.network.release)
            once it is done for good (no restart): veths, addresses, published ports.
        open_stdin, stdin_once: ``-i`` without an attached start that owns stdin (open
            stdin, not once) gives the container a pipe the monitor holds and feeds from
            whoever attaches; otherwise the starting command's stdin goes to runc as is.
        attach_socket: accept later attaches (``skiff attach``, skiff.runtime.attachio).
        cgroup_parent: ``--cgroup-parent`` ("" for skiff's): where the container's
            cgroups are (skiff.runtime.cgroups).
    """

    cid: str
    bundle: str
    log_path: str
    detach_argv: tuple[str, ...]
    pid_file: str
    runc_log: str
    restart: tuple[str, int] = ("no", 0)
    restart_count: int = 0
    autoremove: bool = False
    rootfs_mount: str = ""
    shm_mount: str = ""
    shm_size: int = 0
    shm_owner: tuple[int, int] = (0, 0)
    snapshot_dir: str = ""
    rm_argv: tuple[str, ...] = ()
    net_release_argv: tuple[str, ...] = ()
    tty: bool = False
    delete_argv: tuple[str, ...] = ()
    winsize: tuple[int, int] = (0, 0)
    open_stdin: bool = False  # Config.OpenStdin (-i)
    stdin_once: bool = False  # Config.StdinOnce: the attached start's EOF ends stdin
    attach_socket: bool = False  # listen for ``skiff attach`` (skiff.runtime.attachio)
    detach_keys: bytes = b"\x10\x11"  # the starting command's (--detach-keys)
    cgroup_parent: str = ""  # HostConfig.CgroupParent (skiff.runtime.cgroups)
    # healthcheck (skiff.runtime.health): Config.Healthcheck with a test to run, and the
    # runc argv prefix (binary, --root, root) its execs use; None: no prober at all
    health: dict | None = None
    runc_base: tuple[str, ...] = ()
    # json-file rotation (skiff.runtime.logopts): max bytes (-1: none), files kept
    log_max_size: int = -1
    log_max_files: int = 1
    log_compress: bool = False
    log_format: str = "json-file"  # or "local" (skiff.runtime.locallog)

    @property
    def state_path(self) -> str:
        return os.path.join(self.bundle, "state.json")

    @property
    def stop_marker(self) -> str:
        return os.path.join(self.bundle, "manual-stop")


@value
class Attach:
    """The command's own descriptors the monitor writes to (and reads stdin from) while
    attached; -1 for a stream that is not attached."""

    stdin: int = -1
    stdout: int = -1
    stderr: int = -1

    @property
    def attached(self) -> bool:
        return self.stdin >= 0 or self.stdout >= 0 or self.stderr >= 0


def now_text() -> str:
    from skiff.runtime.records import now_rfc3339

    return now_rfc3339()


class _State:
    """state.json: the container's State as the monitor sees it, with a sequence number.

    Keys: Seq, Status, Pid, ExitCode, Error, StartedAt, FinishedAt, OOMKilled,
    RestartCount, MonitorPid, MonitorStart.
    """

    def __init__(self, ms: MonitorSpec):
        self.ms = ms
        try:
            with open(ms.state_path) as f:
                self.d = json.load(f)
        except (OSError, ValueError):
            self.d = {"Seq": 0}
        self.d.update(RestartCount=ms.restart_count, MonitorPid=os.getpid(),
                      MonitorStart=start_time(os.getpid()))

    def write(self, **kw) -> None:
        self.d.update(kw)
        write_numbered(self.ms.state_path, self.d)


def write_numbered(path: str, d: dict) -> None:
    """Write a state file the record is folded from (state.json, health.json): ``d`` with
    its ``Seq`` raised by one, replaced atomically, so a reader folds each version once
    (skiff.runtime.containers compares Seq with the one it recorded)."""
    d["Seq"] = int(d.get("Seq", 0)) + 1
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(d, f)
    os.replace(tmp, path)


class _Files:
    """The monitor's own files for a container: its state (``state.json``), the json-file
    log and the OOM eventfd. Made by :meth:`ready` right after runc has been started, so
    their setup (~1.5 ms: state.json read, start time, cgroup event registration, opens)
    runs while runc works instead of before it."""

    def __init__(self, ms: MonitorSpec):
        self.ms = ms
        self.state: _State | None = None
        self.log_fd = -1
        self.oom_fd = -1
        self.prober = 0  # the healthcheck prober's pid (skiff.runtime.health)
        self.rotator = None  # json-file rotation (skiff.runtime.logopts.Rotator)

    def started(self, pid: int) -> None:
        """The container runs: fork its healthcheck prober, if it has a check (before the
        start is recorded, so that State.Health says ``starting`` from then on)."""
        if self.ms.health is not None:
            from skiff.runtime import health

            self.prober = health.start_prober(self.ms.bundle, self.ms.cid, self.ms.runc_base,
                                              self.ms.health, pid)

    def reaped(self, pid: int) -> None:
        """A child of the monitor was reaped by a wait for any child."""
        if pid == self.prober:
            self.prober = -1  # (gone: nothing to kill, the health still to be marked)

    def stopped(self) -> None:
        """The container has exited: stop the prober (the health is ``unhealthy``)."""
        if self.prober:
            from skiff.runtime import health

            health.stop_prober(self.prober, self.ms.bundle)
            self.prober = 0

    def ready(self) -> None:
        if self.state is not None:
            return
        from skiff.runtime import cgroups

        self.state = _State(self.ms)
        self.oom_fd = cgroups.oom_watch(self.ms.cid, self.ms.cgroup_parent)
        if self.ms.log_path:  # ("": --log-driver none)
            if self.ms.log_format == "local":
                os.makedirs(os.path.dirname(self.ms.log_path), 0o700, exist_ok=True)
            self.log_fd = os.open(self.ms.log_path,
                                  os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            if self.ms.log_max_size > 0:
                from skiff.runtime.logopts import Rotator

                self.rotator = Rotator(self.ms.log_path, self.log_fd, self.ms.log_max_size,
                                       self.ms.log_max_files, self.ms.log_compress)
            if self.ms.log_format == "local":
                from skiff.runtime.locallog import Writer

                self.rotator = Writer(self.log_fd, self.rotator)

    def write_log(self, entries: bytes) -> None:
        """Append encoded json-file entries (rotating if set; nothing for no log)."""
        if self.rotator is not None:
            self.rotator.write(entries)
        elif self.log_fd >= 0:
            attachio.write_all(self.log_fd, entries)

    def close(self) -> None:
        if self.rotator is not None:  # (its descriptor is the log's, renewed at rotations)
            self.log_fd, self.rotator = self.rotator.fd, None
        for fd in (self.log_fd, self.oom_fd):
            if fd >= 0:
                os.close(fd)
        self.log_fd = self.oom_fd = -1


class _Proc:
    """A child started with posix_spawn (no ``subprocess`` import on the start path):
    ``argv`` with the given stdin/stdout/stderr, nothing else inherited."""

    def __init__(self, argv, stdin: int, stdout: int, stderr: int):
        if os.path.isabs(argv[0]):
            exe = argv[0]
        else:  # (config.which, not shutil's: shutil imports bz2 and lzma, ~5 ms here)
            from skiff.config import which

            exe = which(argv[0]) or argv[0]
        self.pid = os.posix_spawn(exe, list(argv), os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_DUP2, stdout, 1),
            (os.POSIX_SPAWN_DUP2, stderr, 2)])
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


@value(frozen=False)
class _Once:
    started: bool = False
    error: str | None = None
    code: int = 0
    pid: int = 0  # the container's init (from runc's pid file)
    delete: bool = False  # runc's state is left for the caller to delete (after reporting)


def _send(sync_fd: int, msg: dict) -> None:
    if sync_fd >= 0:
        attachio.write_all(sync_fd, (json.dumps(msg) + "\n").encode())


def _run_once(ms: MonitorSpec, files: _Files, sync_fd: int, clients,
              listener=None) -> _Once:
    """One run without a terminal: ``runc run --detach`` with the container's stdio on
    pipes (stdin as :class:`MonitorSpec` says). runc returns once the container has
    started (its pid file written); the container's init, reparented to this monitor (a
    subreaper), is reaped here for its exit status. runc's own teardown (``runc delete``)
    is left to the caller, after the exit is reported (``_Once.delete``): the exit is
    known as soon as the init is gone, not after runc has removed the cgroups."""
    for p in (ms.pid_file, ms.runc_log):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    null = in_w = -1
    pump = ms.open_stdin and not ms.stdin_once
    start = clients.start if clients.start in clients.items else None
    if pump:  # the container's stdin outlives any one attach: the monitor holds it
        stdin, in_w = os.pipe()
    elif start is not None and start.stdin >= 0:
        stdin = start.stdin
    else:
        stdin = null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    try:
        proc = _Proc(ms.detach_argv, stdin, out_w, err_w)
    except OSError as e:
        for fd in (null, out_w, err_w, out_r, err_r, in_w, stdin if pump else -1):
            if fd >= 0:
                os.close(fd)
        return _Once(error=f"runc: {e.strerror}")
    files.ready()  # (while runc works)
    state = files.state
    os.close(out_w)
    os.close(err_w)
    if null >= 0:
        os.close(null)
    if pump:
        os.close(stdin)
    splitters = {out_r: jsonlog.StreamSplitter("stdout"), err_r: jsonlog.StreamSplitter("stderr")}
    streams = {out_r: "stdout", err_r: "stderr"}
    res = _Once(delete=True)  # (runc's state exists from here on, even when it fails)
    held = runc_mod.HeldStderr()

    def emit(fd: int, data: bytes) -> None:
        entries = splitters[fd].feed(data)
        if entries:
            files.write_log(entries)
        clients.write(streams[fd], data)

    def check_started() -> None:
        try:
            with open(ms.pid_file) as f:
                text = f.read().strip()
        except FileNotFoundError:
            return
        if not text:
            return
        res.started = True
        pid = int(text)
        res.pid = pid
        files.started(pid)
        started_at = now_text()
        state.write(Status="running", Pid=pid, ExitCode=0, Error="", StartedAt=started_at,
                    OOMKilled=False)
        # ("runc": the process signals go to, as runc is gone: the init itself)
        _send(sync_fd, {"started": pid, "runc": pid, "at": started_at,
                        "monitor": os.getpid(), "monitor_start": state.d["MonitorStart"],
                        "seq": state.d["Seq"]})
        rest = held.finish(False)
        if rest:
            emit(err_r, rest)

    poller = select.poll()
    poller.register(out_r, select.POLLIN)
    poller.register(err_r, select.POLLIN)
    # until runc returns: woken by its exit (pidfd), no ticks (every 2 ms without pidfd)
    runc_fd = _pidfd(proc.pid)
    if runc_fd >= 0:
        poller.register(runc_fd, select.POLLIN)
    rc: int | None = None
    inputs = _Inputs(poller, clients, stdin=pump)
    if listener is not None:
        poller.register(listener.fileno(), select.POLLIN)
    # stdin is fed without blocking (a container that does not read must not stop the
    # output from being read: that would deadlock); past 1 MiB queued, attached stdins
    # are not read until the container has taken some
    pending = bytearray()
    if in_w >= 0:
        os.set_blocking(in_w, False)

    def feed(data: bytes = b"") -> None:
        nonlocal in_w
        pending.extend(data)
        while pending and in_w >= 0:
            try:
                n = os.write(in_w, pending)
            except BlockingIOError:
                break
            except OSError:  # the container closed its stdin
                if was_waiting[0]:
                    poller.unregister(in_w)
                    was_waiting[0] = False
                os.close(in_w)
                in_w = -1
                pending.clear()
                break
            del pending[:n]
        waiting = bool(pending) and in_w >= 0
        if waiting != was_waiting[0]:
            if waiting:
                poller.register(in_w, select.POLLOUT)
            else:
                poller.unregister(in_w)
            was_waiting[0] = waiting
        inputs.pause(len(pending) > 1 << 20)
    was_waiting = [False]
    open_fds = 2
    while open_fds:
        events = poller.poll(None if rc is not None or runc_fd >= 0 else 2)
        if rc is None and proc.poll() is not None:
            rc = proc.returncode
            if runc_fd >= 0:
                poller.unregister(runc_fd)
                os.close(runc_fd)
                runc_fd = -1
            if rc == 0:
                check_started()
            if not res.started and not any(fd in streams for fd, _ in events):
                break  # runc failed (its message is in its log and the held stderr)
        for fd, _ in events:
            if fd in streams:
                data = os.read(fd, 65536)
                if not data:
                    poller.unregister(fd)
                    open_fds -= 1
                    continue
                if fd == err_r and not res.started:
                    data = held.feed(data)
                    if not data:
                        continue
                emit(fd, data)
            elif listener is not None and fd == listener.fileno():
                clients.accept(listener)
                inputs.watch()
            elif fd == in_w:
                feed()
            elif fd != runc_fd:
                c, data = inputs.read(fd)
                if data and in_w >= 0:
                    feed(data)
    inputs.clear()
    if was_waiting[0]:
        poller.unregister(in_w)
    if listener is not None:
        poller.unregister(listener.fileno())
    if in_w >= 0:
        os.close(in_w)
    if runc_fd >= 0:  # (the poller goes with this function)
        os.close(runc_fd)
    if rc is None:
        rc = proc.wait()
        if rc == 0:
            check_started()
    if res.started:
        # our child since runc returned (we are a subreaper): its status is the exit code.
        # Other children are reaped meanwhile: an exec's process whose runc exec was killed
        # is reparented here, and the init (exiting) waits until its zombie is gone.
        while True:
            wpid, status = os.waitpid(-1, 0)
            if wpid == res.pid:
                break
            files.reaped(wpid)
        code = os.waitstatus_to_exitcode(status)
    else:
        err = runc_mod.read_log_error(ms.runc_log)
        res.error = err or f"runc exited with status {rc} before the container started"
        code = rc
    for fd in (out_r, err_r):
        tail = splitters[fd].flush()
        if tail:
            files.write_log(tail)
        os.close(fd)
    res.code = code if code >= 0 else 128 - code
    return res


def _pidfd(pid: int) -> int:
    """A descriptor readable once process ``pid`` (our child) has exited; -1 without
    pidfd_open(2) (Linux 5.3)."""
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):
        return -1


class _Inputs:
    """The attached commands' stdins (when ``stdin``) and attach connections in a poll
    set: :meth:`read` returns ``(client, data)``; ``b""`` data means that input ended
    (a connection ending drops its client)."""

    def __init__(self, poller, clients, *, stdin: bool):
        self.poller, self.clients, self.stdin = poller, clients, stdin
        self.fds: set[int] = set()
        self.paused = False
        self.watch()

    def pause(self, paused: bool) -> None:
        """Stop (or resume) reading the attached stdins (back-pressure)."""
        if paused == self.paused:
            return
        self.paused = paused
        for c in self.clients.items:
            if c.stdin in self.fds:
                self.poller.modify(c.stdin, 0 if paused else select.POLLIN)

    def watch(self) -> None:
        for c in self.clients.items:
            for fd in ((c.stdin if self.stdin else -1),
                       (c.conn.fileno() if c.conn is not None else -1)):
                if fd >= 0 and fd not in self.fds:
                    paused = self.paused and fd == c.stdin
                    self.poller.register(fd, 0 if paused else select.POLLIN)
                    self.fds.add(fd)

    def _forget(self, fd: int) -> None:
        if fd in self.fds:
            self.fds.discard(fd)
            self.poller.unregister(fd)

    def drop(self, c, msg: dict | None = None) -> None:
        """Forget client ``c`` (telling it ``msg``), e.g. after its detach keys."""
        self._forget(c.stdin)
        if c.conn is not None:
            self._forget(c.conn.fileno())
        self.clients.drop(c, msg)

    def read(self, fd: int):
        c = self.clients.by_stdin(fd) if self.stdin else None
        if c is not None:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                self._forget(fd)
                os.close(fd)
                c.stdin = -1
            return c, data
        c = self.clients.by_conn(fd)
        if c is not None:
            try:
                gone = not c.conn.recv(64)
            except OSError:
                gone = True
            if gone:
                self.drop(c)
            return c, b""
        self._forget(fd)
        return None, b""

    def clear(self) -> None:
        for fd in list(self.fds):
            self._forget(fd)


def _restart_wanted(ms: MonitorSpec, code: int, count: int) -> bool:
    name, limit = ms.restart
    if os.path.exists(ms.stop_marker):
        return False
    if name in ("always", "unless-stopped"):
        return True
    return name == "on-failure" and code != 0 and (limit == 0 or count < limit)


def _set_subreaper() -> None:
    from skiff.libc import set_child_subreaper

    set_child_subreaper()


def _run_once_tty(ms: MonitorSpec, files: _Files, sync_fd: int, clients,
                  listener=None) -> _Once:
    """A container with a terminal: ``runc run --detach --console-socket``; the monitor
    receives the pty master, is the container's subreaper, copies the master to the log
    (as stdout, ``\r\n`` included, as Docker logs a tty) and the attached command, and
    feeds the attached stdin into it. runc's state is deleted after the exit."""
    import socket

    res = _Once()
    sock_path = f"/tmp/skiff-console-{ms.cid[:24]}-{os.getpid()}.sock"
    try:
        os.unlink(sock_path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    argv = [*ms.detach_argv[:-1], "--console-socket", sock_path, ms.detach_argv[-1]]
    for p in (ms.pid_file, ms.runc_log):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    err_r, err_w = os.pipe()
    try:
        proc = _Proc(argv, null, null, err_w)
    finally:
        os.close(err_w)
        os.close(null)
        files.ready()  # (while runc works)
    state = files.state
    master = -1
    try:
        srv.settimeout(0.05)
        while master < 0:
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                if proc.poll() is not None:
                    break
                continue
            with conn:
                _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
                master = fds[0] if fds else -1
            if master >= 0 and ms.winsize != (0, 0):
                # now, while runc still holds the process before its exec: the command
                # starts with the client's size (Docker sets it at start)
                _set_winsize(master, ms.winsize)
        rc = proc.wait()
    finally:
        srv.close()
        try:
            os.unlink(sock_path)
        except FileNotFoundError:
            pass
        os.close(err_r)
    err = runc_mod.read_log_error(ms.runc_log)
    if rc != 0 or master < 0:
        if master >= 0:
            os.close(master)
        res.error = err or f"runc exited with status {rc} before the container started"
        return res
    try:
        with open(ms.pid_file) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        os.close(master)
        res.error = "runc wrote no pid file"
        return res
    res.started = True
    files.started(pid)
    started_at = now_text()
    state.write(Status="running", Pid=pid, ExitCode=0, Error="", StartedAt=started_at,
                OOMKilled=False)
    _send(sync_fd, {"started": pid, "runc": pid, "at": started_at, "monitor": os.getpid(),
                    "monitor_start": state.d["MonitorStart"], "seq": state.d["Seq"]})
    splitter = jsonlog.StreamSplitter("stdout")
    poller = select.poll()
    poller.register(master, select.POLLIN)
    inputs = _Inputs(poller, clients, stdin=True)
    if listener is not None:
        poller.register(listener.fileno(), select.POLLIN)
    status = None
    master_open = True

    def resize(*_args) -> None:  # SIGWINCH from an attached command: its size, ours
        for c in reversed(clients.items):
            if c.stdin >= 0 and os.isatty(c.stdin):
                attachio.copy_winsize(c.stdin, master)
                return
    old_winch = signal.signal(signal.SIGWINCH, resize)

    def from_master() -> bool:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every slave side is closed
            data = b""
        if not data:
            return False
        entries = splitter.feed(data)
        if entries:
            files.write_log(entries)
        clients.write("stdout", data)
        return True

    while status is None and master_open:
        for fd, _ev in poller.poll(200):
            if fd == master:
                if not from_master():
                    poller.unregister(master)
                    master_open = False
            elif listener is not None and fd == listener.fileno():
                c = clients.accept(listener)
                if c is not None:
                    inputs.watch()
                    if c.stdin >= 0 and os.isatty(c.stdin):
                        attachio.copy_winsize(c.stdin, master)  # Docker resizes on attach
            else:
                c, data = inputs.read(fd)
                if c is None:
                    continue
                if not data:
                    if c is clients.start and c.stdin < 0:
                        attachio.write_all(master, b"\x04")  # EOF for the terminal's reader
                    continue
                data, detached = c.scanner.feed(data)
                if data:
                    attachio.write_all(master, data)
                if detached:  # ctrl-p ctrl-q: that command lets go, the container runs on
                    inputs.drop(c, {"detached": True})
        # reap whatever was reparented to us; stop when the container's init is gone
        while True:
            try:
                wpid, wst = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                wpid = 0
            if not wpid:
                break
            if wpid == pid:
                status = wst
            else:
                files.reaped(wpid)
    signal.signal(signal.SIGWINCH, old_winch)
    inputs.clear()
    if listener is not None:
        poller.unregister(listener.fileno())
    if master_open:  # the init exited: take what is still in the pty
        drain = select.poll()
        drain.register(master, select.POLLIN)
        while drain.poll(50) and from_master():
            pass
    while status is None:  # (reaping the others too: see _run_once)
        wpid, wst = os.waitpid(-1, 0)
        if wpid == pid:
            status = wst
        else:
            files.reaped(wpid)
    try:
        os.close(master)
    except OSError:
        pass
    tail = splitter.flush()
    if tail:
        files.write_log(tail)
    code = os.waitstatus_to_exitcode(status)
    res.code = code if code >= 0 else 128 - code
    res.delete = True
    return res


def _wait_reader_gone(fd: int, timeout: float) -> None:
    """Wait (at most ``timeout`` seconds) until the read end of pipe ``fd`` is closed."""
    if fd < 0:
        return
    p = select.poll()
    p.register(fd, 0)  # (POLLERR once no reader is left: reported whatever the mask)
    p.poll(int(timeout * 1000))


def _run_quiet(argv) -> None:
    """Run ``argv`` with its stdio on /dev/null and wait for it; a command that cannot be
    started is ignored (runc delete, rm -rf, skiff rm, the network release)."""
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    try:
        _Proc(argv, null, null, null).wait()
    except OSError:
        pass
    finally:
        os.close(null)


def _delete_orphans(snapshot_dir: str) -> None:
    """Delete the ``rm-<name>-*`` orphans of layer directory ``snapshot_dir`` (what the
    command that removed the container renamed it to, with the bundle inside)."""
    if not snapshot_dir:
        return
    parent, name = os.path.split(snapshot_dir)
    try:
        gone = [os.path.join(parent, n) for n in os.listdir(parent)
                if n.startswith(f"rm-{name}-")]
    except OSError:
        return
    if gone:  # (--one-file-system: never into a mount left behind)
        _run_quiet(("rm", "-rf", "--one-file-system", "--", *gone))


def _delete_runc_state(ms: MonitorSpec) -> None:
    """``runc delete --force``: runc's state and cgroups of the last run."""
    if ms.delete_argv:
        _run_quiet(ms.delete_argv)


def _set_winsize(master: int, size: tuple[int, int]) -> None:
    import fcntl
    import struct
    import termios

    try:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
    except OSError:
        pass


def supervise(ms: MonitorSpec, sync_fd: int, attach: Attach) -> None:
    """The monitor's main loop: run, record, restart per policy, finish (see module doc)."""
    from skiff.runtime import cgroups

    files = _Files(ms)
    clients = attachio.Clients(attach, sync_fd, ms.detach_keys)
    listener = None
    if ms.attach_socket:
        try:
            listener = attachio.listen(ms.cid)
        except OSError:
            listener = None  # no late attach; the container runs all the same
    _set_subreaper()  # (runc run --detach: the container's init becomes our child)
    first = True
    delay = 0.1
    handed_over = False
    res = None
    try:
        while True:
            t0 = time.monotonic()
            once = _run_once_tty if ms.tty else _run_once
            res = once(ms, files, sync_fd if first else -1, clients, listener)
            files.ready()  # (made during the run; also when runc could not be started)
            state = files.state
            files.stopped()
            if res.error is not None:
                from skiff.runtime.runc import classify

                err = classify(res.error)
                kw = {"Error": err.why or res.error, "ExitCode": err.exit_code, "Pid": 0}
                if not first:
                    kw.update(Status="exited", FinishedAt=now_text())
                state.write(**kw)
                if first:
                    _send(sync_fd, {"error": res.error})
                    handed_over = True  # the command reports (and removes for --rm)
                break
            first = False
            oom = cgroups.oom_fired(files.oom_fd) or cgroups.oom_kills(ms.cid, ms.cgroup_parent) > 0
            count = int(state.d.get("RestartCount", 0))
            again = _restart_wanted(ms, res.code, count)
            state.write(Status="restarting" if again else "exited", Pid=0, ExitCode=res.code,
                        FinishedAt=now_text(), OOMKilled=oom,
                        RestartCount=count + 1 if again else count)
            if not again:
                # the starting command, if still attached, takes over (it removes the
                # container for --rm); later attaches are told the exit code
                handed_over = clients.finish(res.code)
                # (the attached command returns on this message; for --rm it removes the
                # container first)
                break
            if res.delete:  # (the exit is recorded; the backoff hides this wait)
                _delete_runc_state(ms)
                res.delete = False
            if ms.shm_mount:  # the next run's /dev/shm is empty, as with dockerd
                from skiff.runtime.nsjoin import mount_shm

                try:
                    mount_shm(ms.shm_mount, ms.shm_size, ms.shm_owner)
                except Exception:  # noqa: BLE001 - the run then fails and says why
                    pass
            # Docker's backoff: 100 ms doubling, reset after 10 s of running.
            delay = 0.1 if time.monotonic() - t0 > 10 else min(delay * 2, 60.0)
            end = time.monotonic() + delay
            while time.monotonic() < end and not os.path.exists(ms.stop_marker):
                time.sleep(min(0.05, max(0.0, end - time.monotonic())))
            if os.path.exists(ms.stop_marker):
                state.write(Status="exited")
                break
    finally:
        clients.close_all()
        if res is not None and res.delete:  # (after the exit was reported: not waited on)
            if handed_over and res.error is None:
                # the attached command finishes now (for --rm: removes the container);
                # runc delete waits until it has let go of the pipe, off the two cores
                # of its critical path
                _wait_reader_gone(sync_fd, 5.0)
            _delete_runc_state(ms)
        if handed_over and res is not None and res.error is None and ms.autoremove:
            _delete_orphans(ms.snapshot_dir)
        attachio.close_listener(listener, ms.cid)
        files.stopped()  # (a failure on the way out: no prober left behind)
        files.close()
        if ms.rootfs_mount or ms.shm_mount:
            from skiff.runtime.mounts import unmount

            for m in (ms.rootfs_mount, ms.shm_mount):
                if m:
                    try:
                        unmount(m)
                    except Exception:  # noqa: BLE001 - the next start or rm tries again
                        pass
        cgroups.remove(ms.cid, ms.cgroup_parent)
        if ms.net_release_argv and not (attach.attached and handed_over):
            # (an attached command that took over releases them itself, in-process, when
            # it removes or reconciles the container: it need not wait for this)
            _run_quiet(ms.net_release_argv)
        if ms.autoremove and not handed_over and ms.rm_argv:
            _run_quiet(ms.rm_argv)
        if sync_fd >= 0:
            os.close(sync_fd)


def _send_ok(sync_fd: int, msg: dict) -> bool:
    return attachio.write_all(sync_fd, (json.dumps(msg) + "\n").encode())


_FORKED: list[int] = []  # monitors this process forked and has not reaped yet


def reap_monitors() -> None:
    """Reap the monitors this process forked that have exited (no zombies pile up in a
    long-lived caller, such as an in-process test run or a server); never blocks."""
    for pid in list(_FORKED):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _FORKED.remove(pid)


def spawn(ms: MonitorSpec, attach: Attach, keep_fds: tuple[int, ...] = ()) -> int:
    """Fork a monitor for ``ms``; return the read end of its message pipe.

    One fork: the monitor is this process's child in a session of its own (no terminal;
    it only ever receives descriptors, never opens a terminal device), and it outlives
    this process, which normally exits first: the monitor is then reparented to init. A
    monitor that finishes first is reaped by :func:`reap_monitors` (the next spawn calls
    it). A second fork of this ~40 MB process (the classic daemon double fork) cost
    ~2 ms of every start. The monitor touches no database (see the module docstring)."""
    import gc

    reap_monitors()
    r, w = os.pipe()
    gc.freeze()  # keep the collector from touching (and so copying) every inherited page
    pid = os.fork()
    if pid == 0:  # the monitor
        gc.disable()
        code = 0
        try:
            os.close(r)
            os.setsid()
            # nothing of the command's left open but what it needs
            keep = {w, *(fd for fd in (attach.stdin, attach.stdout, attach.stderr) if fd >= 0),
                    *keep_fds}
            null = os.open(os.devnull, os.O_RDWR)
            for std in (0, 1, 2):
                if std not in keep:
                    os.dup2(null, std)
            os.close(null)
            _close_other_fds(keep | {0, 1, 2})
            os.chdir("/")
            supervise(ms, w, attach)
        except BaseException:
            code = 1
            try:
                import traceback

                with open(os.path.join(ms.bundle, "monitor.err"), "a") as f:
                    traceback.print_exc(file=f)
            except BaseException:
                pass
        finally:
            os._exit(code)
    gc.unfreeze()
    _FORKED.append(pid)
    os.close(w)
    return r


def _close_other_fds(keep: set[int]) -> None:
    prev = 3
    for fd in sorted(k for k in keep if k >= 3):
        if fd > prev:
            os.closerange(prev, fd)
        prev = fd + 1
    os.closerange(prev, 65536)


def read_messages(fd: int):
    """Yield the monitor's messages (dicts) from the pipe until it closes; the pipe is
    closed then, or when the caller closes the generator early."""
    buf = b""
    try:
        while True:
            try:
                chunk = os.read(fd, 4096)
            except InterruptedError:
                continue
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                if line.strip():
                    yield json.loads(line)
    finally:
        os.close(fd)
