"""More container commands: exec, top, cp, diff, export, stats, port, attach.

Split from cli/container.py (lifecycle); same conventions: docker/cli flags and output,
library calls in skiff.runtime.ops.
"""

from __future__ import annotations

import os
import sys

from skiff.cli.container import _out, _service, _stdin_is_tty, _stdin_source, _write_stream
from skiff.cli.context import Context


def exec_(ctx: Context, argv: list[str]) -> int:
    """``skiff exec [-d] [-i] [-t] [-u U] [-w DIR] [-e K=V] CONTAINER COMMAND [ARG...]``:
    exit code of the command (126/127 when it cannot be started)."""
    import argparse

    p = ctx.parser("skiff exec", "Execute a command in a running container")
    p.add_argument("-d", "--detach", action="store_true", help="Detached mode: run command in the background")
    p.add_argument("-i", "--interactive", action="store_true", help="Keep STDIN open even if not attached")
    p.add_argument("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    p.add_argument("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])")
    p.add_argument("-w", "--workdir", help="Working directory inside the container")
    p.add_argument("-e", "--env", action="append", default=[], help="Set environment variables")
    p.add_argument("--env-file", action="append", default=[], help="Read in a file of environment variables")
    p.add_argument("--privileged", action="store_true", help="Give extended privileges to the command")
    p.add_argument("container", nargs="?")
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    from skiff.cli.container import _env_file
    from skiff.runtime.options import parse_env_flags

    if not a.container or not a.command:  # docker/cli's arity check: exit 1
        from skiff.cli.argparser import arity_message

        raise p.usage_error(arity_message(p.prog, 2, None), exit_code=1)
    env = []
    for f in a.env_file:
        env += _env_file(f)
    env = parse_env_flags(env + a.env)
    from skiff.cli.container import cli_error_exit_1

    with cli_error_exit_1():  # docker/cli: the daemon's errors exit 1 (126/127 stay)
        return _exec(ctx, a, env)


def _exec(ctx: Context, a, env) -> int:
    from skiff.errors import InvalidArgument
    from skiff.runtime import ops

    svc = _service(ctx)
    real_tty = a.tty and a.interactive and _stdin_is_tty()
    if a.tty and a.interactive and not real_tty and not a.detach:
        # docker/cli: -it with stdin no terminal; -t alone runs (a pty, no stdin)
        raise InvalidArgument("the input device is not a TTY")
    if a.detach or real_tty:
        p_, log = ops.exec_process(svc, a.container, a.command, user=a.user, workdir=a.workdir,
                                   env=env, tty=a.tty, detach=a.detach, privileged=a.privileged,
                                   stdin=0 if real_tty else None, stdout=None, stderr=None)
        code = p_.wait()
    else:
        import subprocess
        import threading

        stdin = None
        data = None
        if a.interactive:
            try:
                stdin = sys.stdin.fileno()
            except (AttributeError, OSError, ValueError):
                stdin = subprocess.PIPE
                data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        host_pty = -1
        if a.tty:
            # -t with no terminal here: runc exec -t in the foreground wants a terminal among
            # its stdio to copy the container's pty through; give it one of ours as stderr
            # (the container's stdout and stderr both arrive on runc's stdout, \r\n as Docker)
            host_pty, slave = os.openpty()
        p_, log = ops.exec_process(svc, a.container, a.command, user=a.user, workdir=a.workdir,
                                   env=env, tty=a.tty, privileged=a.privileged, stdin=stdin,
                                   stdout=subprocess.PIPE,
                                   stderr=slave if a.tty else subprocess.PIPE)
        if a.tty:
            os.close(slave)
        if data is not None:
            def feed() -> None:
                try:
                    p_.stdin.write(data)
                finally:
                    p_.stdin.close()
            threading.Thread(target=feed, daemon=True).start()

        from skiff.runtime.runc import HeldStderr

        held = HeldStderr()

        def pump(src, dst, hold=None, onlcr=False) -> None:
            for chunk in iter(lambda: src.read1(65536), b""):
                if onlcr:
                    # runc clears ONLCR on the pty it copies in the foreground; Docker's
                    # pty keeps it: every \n leaves as \r\n (what ONLCR itself does)
                    chunk = chunk.replace(b"\n", b"\r\n")
                if hold is not None:
                    chunk = hold.feed(chunk)
                if chunk:
                    _write_stream(dst, chunk)
        if a.tty:
            t = threading.Thread(target=_drain_pty, args=(host_pty, held), daemon=True)
        else:
            t = threading.Thread(target=pump, args=(p_.stderr, sys.stderr, held), daemon=True)
        t.start()
        pump(p_.stdout, ctx.out, onlcr=a.tty)
        t.join()
        code = p_.wait()
        rest = held.finish(code != 0 and ops.exec_error(log) is not None)
        if rest:
            _write_stream(sys.stderr, rest)
    try:
        if code != 0:
            err = ops.exec_error(log)
            if err is not None:
                raise err
    finally:
        ops.exec_cleanup(p_, log)
    return code


def _drain_pty(fd: int, held) -> None:
    """Copy what runc writes on the host pty given as its stderr (only runc's own messages:
    the command's output comes through runc's stdout) to stderr, until runc closes it."""
    try:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the last holder of the slave side has gone
                break
            if not chunk:
                break
            chunk = held.feed(chunk)
            if chunk:
                _write_stream(sys.stderr, chunk)
    finally:
        os.close(fd)


def top(ctx: Context, argv: list[str]) -> int:
    """``skiff top CONTAINER [ps OPTIONS]``."""
    import argparse

    p = ctx.parser("skiff top", "Display the running processes of a container")
    p.add_argument("container")
    p.add_argument("ps_args", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    from skiff.format.table import tabwrite
    from skiff.runtime import ops

    titles, rows = ops.top(_service(ctx), a.container, a.ps_args)
    _out(ctx, tabwrite("\n".join("\t".join(r) for r in [titles, *rows]) + "\n", minwidth=20))
    return 0


def cp(ctx: Context, argv: list[str]) -> int:
    """``skiff cp [-L] [-a] CONTAINER:SRC DEST`` / ``skiff cp SRC CONTAINER:DEST``
    (``-`` streams a tar archive on stdin/stdout)."""
    p = ctx.parser("skiff cp", "Copy files/folders between a container and the local filesystem")
    p.add_argument("-L", "--follow-link", action="store_true", help="Always follow symbol link in SRC_PATH")
    p.add_argument("-a", "--archive", action="store_true", help="Archive mode (copy all uid/gid information)")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress progress output")
    p.add_argument("src")
    p.add_argument("dest")
    a = p.parse_args(argv)
    from skiff.errors import InvalidArgument

    def split(s: str):
        if ":" in s and not s.startswith(("/", ".")):
            c, _, path = s.partition(":")
            return c, path
        return None, s
    sc, sp = split(a.src)
    dc, dp = split(a.dest)
    if (sc is None) == (dc is None):
        raise InvalidArgument("copying between containers is not supported" if sc else
                              "must specify at least one container source")
    from skiff.cli.container import cli_error_exit_1

    with cli_error_exit_1():  # docker/cli: cp's errors exit 1
        return _cp(ctx, a, sc, sp, dc, dp)


def _cp(ctx: Context, a, sc, sp, dc, dp) -> int:
    from skiff.runtime.records import ContainerNotFound

    try:
        return _cp_one(_service(ctx), ctx, a, sc, sp, dc, dp)
    except ContainerNotFound:
        # dockerd's archive error for the path docker/cli asked about, as typed: the
        # source, or the directory the destination would be written in
        import posixpath

        from skiff.errors import NotFound

        path = sp if sc is not None else (
            posixpath.dirname(dp.rstrip("/")) or ("/" if dp.startswith("/") else "."))
        raise NotFound(f"No such container:path: {sc or dc}:{path}") from None


def _cp_one(svc, ctx: Context, a, sc, sp, dc, dp) -> int:
    from skiff.runtime import ops

    if sc is not None:
        if not sp.startswith("/"):
            sp = "/" + sp
        if dp == "-":
            return _cp_tar_out(ctx, svc, sc, sp, follow=a.follow_link)
        ops.copy_from(svc, sc, sp, dp, follow=a.follow_link)
    else:
        if not dp.startswith("/"):
            dp = "/" + dp
        if sp == "-":
            return _cp_tar_in(svc, dc, dp)
        ops.copy_to(svc, dc, sp, dp, follow=a.follow_link)
    return 0


def _cp_tar_out(ctx: Context, svc, ref: str, cpath: str, follow: bool = False) -> int:
    """``docker cp C:SRC -``: a tar of SRC on stdout (``-L``: of what a symlink SRC points
    to, named as its target, as Docker); members in name order, owners' names included."""
    import subprocess

    from skiff.errors import NotFound, SkiffError
    from skiff.runtime import ops

    rec = svc.get(ref)
    with ops.rootfs(svc, rec) as root:
        src = ops.resolve_path(root, rec, cpath, bundle=svc.bundle(rec["Id"]), follow=follow)
        if not os.path.lexists(src):
            raise NotFound(f"Could not find the file {cpath} in container {ref}")
        out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
        r = subprocess.run(["tar", "--sort=name", "-C", str(src.parent), "-cf", "-", src.name],
                           capture_output=True)
        if r.returncode != 0:
            raise SkiffError("cp", r.stderr.decode(errors="replace").strip())
        if idmap := (rec.get("Skiff") or {}).get("IdMap"):
            r.stdout = _unshifted(r.stdout, idmap)  # the container's ids, as dockerd's
        if out is not None:
            out.write(r.stdout)
            out.flush()
        else:
            ctx.out.write(r.stdout.decode("latin-1"))
    return 0


def _unshifted(data: bytes, idmap: dict, *, to_host: bool = False) -> bytes:
    """A remapped container's tar with its owners as the container sees them (``to_host``:
    a tar for it, with its owners made the host ids the container sees as them)."""
    import io

    from skiff.runtime.ops import unshift_tar

    out = io.BytesIO()
    unshift_tar(io.BytesIO(data), out, idmap, to_host=to_host)
    return out.getvalue()


def _cp_tar_in(svc, ref: str, cpath: str) -> int:
    import subprocess

    from skiff.errors import NotFound, SkiffError
    from skiff.runtime import ops

    rec = svc.get(ref)
    data = sys.stdin.buffer.read()
    if not data:
        return 0  # docker cp - C:DIR with nothing on stdin copies nothing and succeeds
    if idmap := (rec.get("Skiff") or {}).get("IdMap"):
        data = _unshifted(data, idmap, to_host=True)  # (the container's ids: dockerd's)
    with ops.rootfs(svc, rec) as root:
        dest = ops.resolve_path(root, rec, cpath)
        if not dest.is_dir():
            raise NotFound(f"destination {cpath}", "no such directory")
        r = subprocess.run(["tar", "--numeric-owner", "--no-overwrite-dir", "-C", str(dest),
                            "-xf", "-"], input=data, capture_output=True)
        if r.returncode != 0:
            raise SkiffError("cp", r.stderr.decode(errors="replace").strip())
    return 0


def diff(ctx: Context, argv: list[str]) -> int:
    """``skiff diff CONTAINER``: ``A``/``C``/``D`` lines."""
    p = ctx.parser("skiff diff", "Inspect changes to files or directories on a container's filesystem")
    p.add_argument("container")
    a = p.parse_args(argv)
    from skiff.runtime import ops

    _out(ctx, "".join(f"{k} {path}\n" for k, path in ops.diff(_service(ctx), a.container)))
    return 0


def export(ctx: Context, argv: list[str]) -> int:
    """``skiff export [-o FILE] CONTAINER``: the filesystem as a tar archive."""
    p = ctx.parser("skiff export", "Export a container's filesystem as a tar archive")
    p.add_argument("-o", "--output", help="Write to a file, instead of STDOUT")
    p.add_argument("container")
    a = p.parse_args(argv)
    from skiff.errors import InvalidArgument
    from skiff.runtime import ops

    svc = _service(ctx)
    if a.output:
        tmp = a.output + ".skiff-tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            ops.export(svc, a.container, fd)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        os.close(fd)
        os.replace(tmp, a.output)
        return 0
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        fd = -1
    if fd < 0 or os.isatty(fd):
        raise InvalidArgument("cowardly refusing to save to a terminal",
                              "use the -o flag or redirect")
    sys.stdout.flush()
    ops.export(svc, a.container, fd)
    return 0


def stats(ctx: Context, argv: list[str]) -> int:
    """``skiff stats --no-stream [CONTAINER...]`` (one sample; streaming is not offered)."""
    p = ctx.parser("skiff stats", "Display a live stream of container(s) resource usage statistics")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    p.add_argument("--no-stream", action="store_true", help="Disable streaming stats and only pull the first result")
    p.add_argument("--no-trunc", action="store_true", help="Do not truncate output")
    p.add_argument("--format", help="Format output using a custom template")
    p.add_argument("containers", nargs="*")
    a = p.parse_args(argv)
    from skiff.format.humanize import bytes_size, human_size
    from skiff.runtime import ops

    rows = ops.stats(_service(ctx), a.containers or None, all=a.all)
    # docker/cli stats: .Container is the name or ID as given, else the short ID
    given = a.containers if len(a.containers) == len(rows) else [None] * len(rows)
    view = [{
        "Container": g or (r["Id"][:12] if not a.no_trunc else r["Id"]),
        "ID": r["Id"][:12] if not a.no_trunc else r["Id"],
        "Name": r["Name"],
        "CPUPerc": f"{r['CPUPerc']:.2f}%",
        "MemUsage": f"{bytes_size(r['MemUsage'])} / {bytes_size(r['MemLimit'])}",
        "MemPerc": f"{r['MemPerc']:.2f}%",
        "NetIO": f"{human_size(r['NetIO'][0])} / {human_size(r['NetIO'][1])}",
        "BlockIO": f"{human_size(r['BlockIO'][0])} / {human_size(r['BlockIO'][1])}",
        "PIDs": str(r["PIDs"]),
    } for r, g in zip(rows, given, strict=True)]
    if a.format:
        from skiff.format.gotemplate import ContextRow, render_list

        # rows are docker/cli's *container.statsContext: a field it lacks fails
        rows = [ContextRow(v, "*container.statsContext") for v in view]
        _out(ctx, render_list(a.format, rows, headers={"ID": "CONTAINER ID", "Container": "CONTAINER"},
                              fields=("Container", "ID", "Name", "CPUPerc", "MemUsage", "MemPerc",
                                      "NetIO", "BlockIO", "PIDs")))
        return 0
    from skiff.format.table import render

    _out(ctx, render(view, [("CONTAINER ID", "ID"), ("NAME", "Name"), ("CPU %", "CPUPerc"),
                            ("MEM USAGE / LIMIT", "MemUsage"), ("MEM %", "MemPerc"),
                            ("NET I/O", "NetIO"), ("BLOCK I/O", "BlockIO"), ("PIDS", "PIDs")]))
    return 0


def port(ctx: Context, argv: list[str]) -> int:
    """``skiff port CONTAINER [PORT]``: no port is ever published (no bridge networks yet)."""
    p = ctx.parser("skiff port", "List port mappings or a specific mapping for the container")
    p.add_argument("container")
    p.add_argument("port", nargs="?")
    a = p.parse_args(argv)
    from skiff.errors import NotFound

    rec = _service(ctx).get(a.container)
    if a.port:
        raise NotFound(f"no public port '{a.port}' published for {rec['Id'][:12]}")
    return 0


def attach(ctx: Context, argv: list[str]) -> int:
    """``skiff attach CONTAINER``: join a running container's stdio until it exits (its
    exit code) or the user detaches (ctrl-p ctrl-q with a terminal: exit 1, as docker's
    ``read escape sequence``). A container with a terminal or an open stdin (``-t``,
    ``-i``) is joined through its monitor (skiff.runtime.attachio): stdin included,
    terminal resizes followed; any other streams its output from the log."""
    p = ctx.parser("skiff attach", "Attach local standard input, output, and error streams to a running container")
    p.add_argument("--no-stdin", action="store_true", help="Do not attach STDIN")
    p.add_argument("--sig-proxy", default="true", help="Proxy all received signals to the process")
    p.add_argument("--detach-keys", default="ctrl-p,ctrl-q",
                   help="Override the key sequence for detaching a container")
    p.add_argument("container")
    a = p.parse_args(argv)
    from skiff.cli.container import cli_error_exit_1

    with cli_error_exit_1():  # docker attach: the daemon's refusals exit 1
        return _attach(ctx, a)


def _attach(ctx: Context, a) -> int:
    from skiff.errors import Conflict, InvalidArgument
    from skiff.runtime import jsonlog, records
    from skiff.runtime.attachio import parse_detach_keys
    from skiff.runtime.records import ACTIVE

    keys = parse_detach_keys(a.detach_keys)
    svc = _service(ctx)
    rec = svc.get(a.container)
    status = rec["State"]["Status"]
    if status == "paused":
        raise Conflict("You cannot attach to a paused container, unpause it first")
    if status not in ACTIVE:
        raise Conflict("You cannot attach to a stopped container, start it first")
    cfg = rec["Config"]
    tty = bool(cfg.get("Tty"))
    if cfg.get("OpenStdin") or tty or not rec["LogPath"]:  # (no log: --log-driver none)
        want_in = bool(cfg.get("OpenStdin")) and not a.no_stdin
        if tty and not a.no_stdin and not _stdin_is_tty():
            # docker/cli: a terminal container and stdin attached (whatever OpenStdin says)
            raise InvalidArgument("the input device is not a TTY")
        code = _attach_monitor(ctx, svc, rec, want_in, tty, a.sig_proxy.lower() != "false",
                               keys)
        if code is not None:
            return code
    try:
        offset = os.path.getsize(rec["LogPath"])
    except OSError:
        offset = 0

    def stopped() -> bool:
        cur = records.get(svc.db, rec["Id"])
        return cur is None or svc._reconcile(cur)["State"]["Status"] not in ACTIVE
    if os.path.exists(rec["LogPath"]):
        for e in jsonlog.follow(rec["LogPath"], offset, stop=stopped):
            _write_stream(ctx.out if e.stream == "stdout" else sys.stderr, e.text.encode())
    cur = records.get(svc.db, rec["Id"])
    return int(cur["State"]["ExitCode"]) if cur else 0


def _attach_monitor(ctx: Context, svc, rec: dict, want_in: bool, tty: bool,
                    sig_proxy: bool, keys: bytes) -> int | None:
    """Attach through the monitor's socket; None when it does not listen (then the
    caller streams the log)."""
    import selectors
    import signal

    from skiff.errors import SkiffError
    from skiff.runtime import attachio, records

    stdin_fd, feeder = _stdin_source() if want_in else (-1, None)
    out_r, out_w = os.pipe()
    err_r, err_w = (-1, -1) if tty else os.pipe()
    saved_tc = None
    if tty and stdin_fd >= 0 and os.isatty(stdin_fd):
        # raw before the monitor reads it (and without flushing what was typed ahead)
        import termios
        import tty as tty_mod

        saved_tc = termios.tcgetattr(stdin_fd)
        tty_mod.setraw(stdin_fd, termios.TCSANOW)
    try:
        conn = attachio.connect(rec["Id"], stdin_fd, out_w, err_w, keys)
    except OSError:
        if saved_tc is not None:
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved_tc)
        for fd in (stdin_fd, out_r, out_w, err_r, err_w):
            if fd >= 0:
                os.close(fd)
        return None
    finally:
        for fd in (out_w, err_w):
            if fd >= 0:
                os.close(fd)
    if feeder is not None:
        feeder.start()
    mon = int((rec.get("Skiff") or {}).get("MonitorPid") or 0)
    old = {}
    if tty and mon:
        old[signal.SIGWINCH] = attachio.forward_winch(mon)
    if sig_proxy and not tty and rec["State"].get("Pid"):
        def proxy(signum, _frame):
            try:
                os.kill(int(rec["State"]["Pid"]), signum)
            except ProcessLookupError:
                pass
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            old[s] = signal.signal(s, proxy)
    try:
        streams = {out_r: ctx.out}
        if err_r >= 0:
            streams[err_r] = sys.stderr
        sel = selectors.DefaultSelector()
        for fd in streams:
            sel.register(fd, selectors.EVENT_READ)
        while streams:
            for key, _ in sel.select():
                try:
                    data = os.read(key.fd, 65536)
                except InterruptedError:
                    continue
                if not data:
                    sel.unregister(key.fd)
                    os.close(key.fd)
                    del streams[key.fd]
                    continue
                _write_stream(streams[key.fd], data)
        sel.close()
        end = attachio.outcome(conn)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if saved_tc is not None:
            import termios

            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved_tc)
        if stdin_fd >= 0:
            os.close(stdin_fd)
    if end.get("detached"):
        raise SkiffError("read escape sequence", exit_code=1)
    if "exit" in end:
        return int(end["exit"])
    cur = records.get(svc.db, rec["Id"])
    if cur is None:
        return 0
    return svc.wait(rec["Id"])


def commit(ctx: Context, argv: list[str]) -> int:
    """``skiff commit [-a A] [-m M] [-c CHANGE] [-p] CONTAINER [REPOSITORY[:TAG]]``: print
    the new image's ID."""
    p = ctx.parser("skiff commit", "Create a new image from a container's changes")
    p.add_argument("-a", "--author", default="", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    p.add_argument("-m", "--message", default="", help="Commit message")
    p.add_argument("-c", "--change", action="append", default=[], help="Apply Dockerfile instruction to the created image")
    p.add_argument("-p", "--pause", default="true", nargs="?", const="true",
                   help="Pause container during commit")
    p.add_argument("container")
    p.add_argument("repository", nargs="?")
    a = p.parse_args(argv)
    from skiff.runtime import ops

    img = ops.commit(_service(ctx), a.container, tag=a.repository, author=a.author,
                     message=a.message, changes=a.change,
                     pause=str(a.pause).lower() not in ("false", "0"))
    _out(ctx, img.id + "\n")
    return 0
