"""Container healthchecks, as docker 20.10 runs them (docker/cli opts.go for the flags,
dockerd daemon/create.go + daemon/commit.go for the merge with the image's HEALTHCHECK,
daemon/health.go for the probing).

Config.Healthcheck is Docker's HealthConfig: ``{"Test": [...], "Interval": ns, "Timeout":
ns, "StartPeriod": ns, "Retries": n}`` (zero fields left out, as Go's omitempty). ``Test``
is ``["CMD", exe, args...]``, ``["CMD-SHELL", "command"]`` (``/bin/sh -c``) or ``["NONE"]``
(no check); empty inherits the image's.

While the container runs, its monitor (skiff.runtime.monitor) forks a prober
(:func:`start_prober`) only when the container has a check: nothing is started, no thread,
no timer otherwise. The prober waits ``Interval`` (default 30 s), runs the test with
``runc exec`` (the container's user, working directory and environment), kills it after
``Timeout`` (default 30 s: ``Health check exceeded timeout (30s)``, exit code -1), and
records the result in ``<bundle>/health.json``: ``{"Seq", "Status", "FailingStreak",
"Log"}``, the last 5 results (``Start``, ``End``, ``ExitCode``, ``Output``: stdout and
stderr together, at most 4096 bytes then ``...``). Exit 0 is healthy (streak 0); anything
else adds to FailingStreak (not during ``StartPeriod`` while still ``starting``), and
``Retries`` (default 3) failures in a row make it ``unhealthy``. At each start the status
is ``starting`` with a zero streak (the log is kept); when the container stops it is
``unhealthy`` (dockerd's SetStopped). skiff.runtime.containers folds health.json into
State.Health.
"""

from __future__ import annotations

import os
import time

from skiff import jsonio as json

MIN_DURATION = 1_000_000  # ns: dockerd's containertypes.MinimumDuration (1ms)
DEFAULT_INTERVAL = 30_000_000_000
DEFAULT_TIMEOUT = 30_000_000_000
DEFAULT_RETRIES = 3
MAX_LOG = 5
MAX_OUTPUT = 4096
HEALTH_FILE = "health.json"
EXEC_FILE = "health-exec.json"
PAUSED_FILE = "health-paused"

_FIELDS = ("Interval", "Timeout", "StartPeriod", "Retries")


def from_flags(cmd: str | None, interval: str | None, timeout: str | None,
               start_period: str | None, retries: int, disabled: bool) -> dict | None:
    """docker/cli's HealthConfig from ``--health-*`` / ``--no-healthcheck`` (None: none
    given, the image's applies).

    Raises:
        InvalidArgument: a duration Go cannot parse (``invalid argument "bad" for
            "--health-interval" flag: time: invalid duration "bad"``), a negative value
            (``--health-interval cannot be negative``), ``--no-healthcheck conflicts with
            --health-* options``.
    """
    from skiff.errors import InvalidArgument

    durs = {}
    for key, flag, text in (("Interval", "--health-interval", interval),
                            ("Timeout", "--health-timeout", timeout),
                            ("StartPeriod", "--health-start-period", start_period)):
        durs[key] = _duration_flag(text, flag) if text is not None else 0
    have = bool(cmd) or any(durs.values()) or retries != 0
    if disabled:
        if have:
            raise InvalidArgument("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not have:
        return None
    for key, flag in (("Interval", "--health-interval"), ("Timeout", "--health-timeout")):
        if durs[key] < 0:
            raise InvalidArgument(f"{flag} cannot be negative")
    if retries < 0:
        raise InvalidArgument("--health-retries cannot be negative")
    if durs["StartPeriod"] < 0:
        raise InvalidArgument("--health-start-period cannot be negative")
    hc: dict = {"Test": ["CMD-SHELL", cmd] if cmd else []}
    hc.update(durs)
    hc["Retries"] = retries
    return hc


def _duration_flag(text: str, flag: str) -> int:
    from skiff.dockerfile.gotext import InstructionError, parse_go_duration
    from skiff.errors import InvalidArgument

    try:
        return parse_go_duration(text)
    except InstructionError as e:  # pflag's refusal of the value, Go's text
        q = json.dumps(text)
        raise InvalidArgument(f"invalid argument {q} for \"{flag}\" flag", str(e)) from None


def merge(user: dict | None, image: dict | None) -> dict | None:
    """dockerd's merge of the container's HealthConfig with the image's (daemon/commit.go
    merge): no user config takes the image's; an empty Test or zero field takes the
    image's. The result has Go's omitempty shape (zero fields left out)."""
    if user is None:
        hc = dict(image) if image else None
    else:
        hc = dict(user)
        image = image or {}
        if not hc.get("Test"):
            hc["Test"] = list(image.get("Test") or [])
        for k in _FIELDS:
            if not hc.get(k):
                hc[k] = image.get(k, 0)
    if hc is None:
        return None
    out: dict = {}
    if hc.get("Test"):
        out["Test"] = list(hc["Test"])
    for k in _FIELDS:
        if hc.get(k):
            out[k] = int(hc[k])
    return out


def validate(hc: dict | None) -> None:
    """dockerd's checks at create (daemon/container.go verifyContainerSettings).

    Raises:
        InvalidArgument: ``Interval in Healthcheck cannot be less than 1ms`` (Timeout,
            StartPeriod likewise), ``Retries in Healthcheck cannot be negative``.
    """
    if not hc:
        return
    from skiff.errors import InvalidArgument

    for k in ("Interval", "Timeout"):
        if hc.get(k) and hc[k] < MIN_DURATION:
            raise InvalidArgument(f"{k} in Healthcheck cannot be less than 1ms")
    if hc.get("Retries", 0) < 0:
        raise InvalidArgument("Retries in Healthcheck cannot be negative")
    if hc.get("StartPeriod") and hc["StartPeriod"] < MIN_DURATION:
        raise InvalidArgument("StartPeriod in Healthcheck cannot be less than 1ms")


def probe_argv(hc: dict | None) -> list[str] | None:
    """The command a check runs (dockerd getProbe): ``CMD`` its arguments, ``CMD-SHELL``
    ``/bin/sh -c``; None for no check (none, ``NONE``, empty or unknown Test)."""
    test = (hc or {}).get("Test") or []
    if not test:
        return None
    if test[0] == "CMD" and len(test) > 1:
        return list(test[1:])
    if test[0] == "CMD-SHELL" and len(test) > 1:
        return ["/bin/sh", "-c", test[1]]
    return None


def settings(hc: dict) -> tuple[int, int, int, int]:
    """(interval, timeout, start period in ns, retries) with dockerd's defaults."""
    return (int(hc.get("Interval") or DEFAULT_INTERVAL), int(hc.get("Timeout") or DEFAULT_TIMEOUT),
            int(hc.get("StartPeriod") or 0), int(hc.get("Retries") or DEFAULT_RETRIES))


def status_suffix(health: dict | None) -> str:
    """What ``ps`` STATUS adds to ``Up ...`` (docker's Health.String): `` (health:
    starting)``, `` (healthy)``, `` (unhealthy)``; "" without a check."""
    if not health:
        return ""
    st = health.get("Status") or "starting"
    return " (health: starting)" if st == "starting" else f" ({st})"


def ps_status(rec: dict) -> str:
    """``ps --filter health=`` value of a record: starting|healthy|unhealthy|none."""
    h = rec["State"].get("Health")
    return (h.get("Status") or "none") if h else "none"


# -- the prober (in the monitor) --------------------------------------------------------

def _read(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


class _Locked:
    """``with _Locked(bundle):`` health.json's read-modify-write, between the prober and
    ``pause`` (flock of ``health.lock``)."""

    def __init__(self, bundle: str):
        self.path = os.path.join(bundle, "health.lock")

    def __enter__(self):
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        os.close(self.fd)


def mark(bundle: str, status: str) -> None:
    """Set the status in ``health.json``: ``starting`` (streak 0, log kept) at a start,
    ``unhealthy`` when the container has stopped or is paused (dockerd's
    CloseMonitorChannel)."""
    from skiff.runtime.monitor import write_numbered

    path = os.path.join(bundle, HEALTH_FILE)
    with _Locked(bundle):
        d = _read(path)
        d["Status"] = status
        d.setdefault("FailingStreak", 0)
        d.setdefault("Log", [])
        if status == "starting":
            d["FailingStreak"] = 0
        write_numbered(path, d)


def set_paused(bundle: str, paused: bool) -> None:
    """``pause``/``unpause`` of a container with a check (dockerd's updateHealthMonitor):
    paused, no check runs and the status is ``unhealthy`` at once; unpaused, checks go
    on (the status stays until the next result)."""
    marker = os.path.join(bundle, PAUSED_FILE)
    if paused:
        with open(marker, "w"):
            pass
        mark(bundle, "unhealthy")
    else:
        try:
            os.unlink(marker)
        except FileNotFoundError:
            pass


def start_prober(bundle: str, cid: str, runc_base: tuple[str, ...], hc: dict,
                 init_pid: int) -> int:
    """Fork the prober for a started container (its init: ``init_pid``); returns its pid
    (0: no check to run). Writes ``starting`` first (so an inspect right after the start
    sees it)."""
    argv = probe_argv(hc)
    if argv is None:
        return 0
    mark(bundle, "starting")
    started = time.monotonic()
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        import _signal

        from skiff.libc import _func

        _func("prctl")(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG SIGKILL: gone with the monitor
        # none of the monitor's descriptors (its message pipe, the attached command's
        # stdio, the log, the attach socket): a reader waiting for their end never waits
        # on the prober, nor do the checks' runc execs get them
        null = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(null, std)
        os.closerange(3, 65536)
        for sig in (_signal.SIGTERM, _signal.SIGINT, _signal.SIGCHLD):
            _signal.signal(sig, _signal.SIG_DFL)
        _probe_loop(bundle, cid, runc_base, hc, argv, started, init_pid)
    except BaseException:  # noqa: BLE001 - the prober never runs the monitor's code
        code = 1
    finally:
        os._exit(code)


def stop_prober(pid: int, bundle: str) -> None:
    """Kill the prober of a container that has stopped (-1: it was reaped already);
    record ``unhealthy``."""
    if pid == 0:
        return
    if pid > 0:  # (-1: already reaped)
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    mark(bundle, "unhealthy")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs and is not exiting (PF_EXITING, zombie, gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rpartition(b")")[2].split()
    except OSError:
        return False
    return fields[0] not in (b"Z", b"X", b"x") and not int(fields[6]) & 0x4


def _probe_loop(bundle: str, cid: str, runc_base, hc: dict, argv: list[str],
                started: float, init_pid: int) -> None:
    interval, timeout, start_period, retries = settings(hc)
    with open(os.path.join(bundle, "config.json")) as f:
        proc = dict(json.load(f)["process"])
    proc.update(args=argv, terminal=False)
    pjson = os.path.join(bundle, EXEC_FILE)
    with open(pjson, "w") as f:
        json.dump(proc, f)
    path = os.path.join(bundle, HEALTH_FILE)
    paused = os.path.join(bundle, PAUSED_FILE)
    try:
        os.unlink(paused)  # (a new start is not paused)
    except FileNotFoundError:
        pass
    while True:
        time.sleep(interval / 1e9)
        if os.path.exists(paused):
            continue
        t0 = time.monotonic()
        result = _probe(bundle, cid, runc_base, pjson, timeout)
        if not _alive(init_pid):
            return  # a check cut short by the container's exit is not recorded (dockerd)
        with _Locked(bundle):
            if not os.path.exists(paused):  # (one cut short by a pause: not recorded)
                _record(path, result, t0, started, start_period, retries)


def _record(path: str, result: dict, t0: float, started: float, start_period: int,
            retries: int) -> None:
    """dockerd's handleProbeResult: the log (last 5), the streak, the status."""
    from skiff.runtime.monitor import write_numbered

    d = _read(path)
    log = list(d.get("Log") or [])
    log.append(result)
    d["Log"] = log[-MAX_LOG:]
    status = d.get("Status") or "starting"
    if result["ExitCode"] == 0:
        d["FailingStreak"] = 0
        status = "healthy"
    elif not (status == "starting" and (t0 - started) * 1e9 < start_period):
        d["FailingStreak"] = int(d.get("FailingStreak") or 0) + 1
        if d["FailingStreak"] >= retries:
            status = "unhealthy"
    d["Status"] = status
    write_numbered(path, d)


def _kill_exec(pid: int, pid_file: str) -> int:
    """Kill a check past its timeout, as dockerd does, and return runc exec's wait status.

    The process in the container is killed, not ``runc exec``: runc reaps it and exits.
    (Killing runc first would leave the process's zombie to the monitor, a subreaper,
    and the container's init, once it exits, waits for every process of its PID namespace
    to be gone: neither would ever finish.) runc itself is killed only when no process
    shows up within 2 s."""
    end = time.monotonic() + 2.0
    killed = False
    while time.monotonic() < end:
        if not killed:
            try:
                with open(pid_file) as f:
                    os.kill(int(f.read().strip()), 9)
                killed = True
            except (OSError, ValueError):
                pass
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    return os.waitpid(pid, 0)[1]


def _probe(bundle: str, cid: str, runc_base, pjson: str, timeout: int) -> dict:
    """One check: ``runc exec`` of the test; Docker's HealthcheckResult."""
    import select

    from skiff.runtime.records import now_rfc3339

    start = now_rfc3339()
    pid_file = os.path.join(bundle, "health-exec.pid")
    log = os.path.join(bundle, "health-exec.log")
    for p in (pid_file, log):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    argv = [*runc_base, "--log", log, "--log-format", "json", "exec", "--process", pjson,
            "--pid-file", pid_file, cid]
    r, w = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, w, 1),
            (os.POSIX_SPAWN_DUP2, w, 2), (os.POSIX_SPAWN_CLOSE, r)])
    finally:
        os.close(w)
        os.close(null)
    out = bytearray()
    truncated = False
    deadline = time.monotonic() + timeout / 1e9
    timed_out = False
    poller = select.poll()
    poller.register(r, select.POLLIN)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        if not poller.poll(int(left * 1000) + 1):
            continue
        data = os.read(r, 65536)
        if not data:
            break
        keep = MAX_OUTPUT - len(out)
        if keep > 0:
            out += data[:keep]
        if len(data) > keep:
            truncated = True
    os.close(r)
    if timed_out:
        status = _kill_exec(pid, pid_file)
    else:
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    end = now_rfc3339()
    if timed_out:
        from skiff.dockerfile.gotext import format_go_duration

        return {"Start": start, "End": end, "ExitCode": -1,
                "Output": f"Health check exceeded timeout ({format_go_duration(timeout)})"}
    from skiff.runtime.runc import read_log_error

    err = read_log_error(log) if code != 0 else None
    if err is not None:  # the exec did not start: dockerd's error as the output
        return {"Start": start, "End": end, "ExitCode": -1,
                "Output": f"OCI runtime exec failed: {err}: unknown"}
    text = out.decode("utf-8", "replace") + ("..." if truncated else "")
    return {"Start": start, "End": end, "ExitCode": code, "Output": text}
