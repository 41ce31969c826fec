"""Attaching to a running container: the monitor's attach socket, detach keys, resizes.

Docker keeps a container's stdio in its daemon so ``docker attach`` can join later; in
skiff the monitor holds them (skiff.runtime.monitor). For a container with a terminal or
an open stdin (``-t`` / ``-i``) the monitor listens on :func:`socket_path`; ``skiff
attach`` connects and hands over its own descriptors with SCM_RIGHTS (stdin, stdout,
stderr: the same :class:`~skiff.runtime.monitor.Attach` a start-time attach passes), so
the monitor treats a late attach exactly like ``run``'s. Over the connection the
monitor then sends one JSON line: ``{"exit": code}`` when the container exits, or
``{"detached": true}`` when the user typed the detach keys; closing it means the
attach ended otherwise (another client took over).

Detach keys (``ctrl-p ctrl-q``, Docker's default) are watched for in a terminal
container's input: :class:`DetachScanner`. A partial sequence followed by anything else
is passed on whole, as Docker's escape proxy does.

Resizes: the attached command forwards its SIGWINCH to the monitor
(:func:`forward_winch`); the monitor reads the command's terminal size from the stdin
it was handed (the command's own terminal) and sets it on the container's pty
(TIOCSWINSZ, which signals the container's foreground process group).
"""

from __future__ import annotations

import os

from skiff import jsonio as json  # (json.loads/dumps without importing re)

TYPE_CHECKING = False  # (socket is imported where used: a plain `run` never needs it)
if TYPE_CHECKING:
    import socket

DETACH_KEYS = b"\x10\x11"  # ctrl-p ctrl-q
_DIR = "/run/skiff-attach"


_CTRL_SPECIAL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse_detach_keys(spec: str) -> bytes:
    """Docker's ``--detach-keys`` (``ctrl-p,ctrl-q``; ``ctrl-<a-z@[\\]^_>`` or a single
    character per comma-separated key) as the byte sequence to watch for.

    Raises:
        InvalidArgument: ``Invalid detach keys (SPEC) provided`` (dockerd's words).
    """
    from skiff.errors import InvalidArgument

    out = bytearray()
    for key in spec.split(","):
        k = key.lower() if key.lower().startswith("ctrl-") else key
        if len(k) == 1 and ord(k) < 128:
            out.append(ord(k))
        elif k.startswith("ctrl-") and len(k) == 6 and "a" <= k[5] <= "z":
            out.append(ord(k[5]) - ord("a") + 1)
        elif k.startswith("ctrl-") and len(k) == 6 and k[5] in _CTRL_SPECIAL:
            out.append(_CTRL_SPECIAL[k[5]])
        else:
            raise InvalidArgument(f"Invalid detach keys ({spec}) provided",
                                  f"Unknown character: '{key}'")
    return bytes(out)


def socket_path(cid: str) -> str:
    """The attach socket of container ``cid`` (short enough for sun_path)."""
    return os.path.join(_DIR, cid[:32] + ".sock")


def listen(cid: str) -> socket.socket:
    """Bind and listen on :func:`socket_path` (a stale file is replaced); non-blocking."""
    import socket

    os.makedirs(_DIR, mode=0o700, exist_ok=True)
    path = socket_path(cid)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    s.bind(path)
    os.chmod(path, 0o600)
    s.listen(4)
    s.setblocking(False)
    return s


def close_listener(s: socket.socket | None, cid: str) -> None:
    """Close the listener and remove its file."""
    if s is None:
        return
    s.close()
    try:
        os.unlink(socket_path(cid))
    except FileNotFoundError:
        pass


def accept(s: socket.socket):
    """Accept one client: ``(connection, stdin, stdout, stderr)`` (-1 for a stream the
    client did not attach), or None when the handshake failed."""
    import socket

    try:
        conn, _ = s.accept()
    except (BlockingIOError, InterruptedError):
        return None
    conn.setblocking(True)
    conn.settimeout(5)
    try:
        msg, fds, _, _ = socket.recv_fds(conn, 4096, 3)
        head = json.loads(msg.decode() or "{}")
    except (OSError, ValueError):
        conn.close()
        return None
    conn.settimeout(None)
    got = iter(fds)
    out = []
    for name in ("stdin", "stdout", "stderr"):
        out.append(next(got, -1) if head.get(name) else -1)
    for extra in got:
        os.close(extra)
    try:
        keys = bytes.fromhex(head.get("detach_keys") or DETACH_KEYS.hex())
    except ValueError:
        keys = DETACH_KEYS
    return conn, out[0], out[1], out[2], keys


def tell(conn: socket.socket | None, msg: dict) -> None:
    """Send one JSON line to an attach client and close the connection (ignored if gone)."""
    if conn is None:
        return
    try:
        conn.sendall((json.dumps(msg) + "\n").encode())
    except OSError:
        pass
    conn.close()


def connect(cid: str, stdin: int, stdout: int, stderr: int,
            detach_keys: bytes = DETACH_KEYS) -> socket.socket:
    """The client side: connect to container ``cid``'s monitor and hand it these
    descriptors (-1: not attached) and its detach keys. Returns the connection to read
    the outcome from.

    Raises:
        OSError: no monitor listens (the container has no terminal nor open stdin).
    """
    import socket

    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        c.connect(socket_path(cid))
        head = {"stdin": stdin >= 0, "stdout": stdout >= 0, "stderr": stderr >= 0,
                "detach_keys": detach_keys.hex()}
        socket.send_fds(c, [json.dumps(head).encode()], [fd for fd in (stdin, stdout, stderr)
                                                         if fd >= 0])
    except OSError:
        c.close()
        raise
    return c


def outcome(c: socket.socket) -> dict:
    """Block until the monitor says how the attach ended: ``{"exit": code}``,
    ``{"detached": True}``, or ``{}`` (connection closed without a word)."""
    buf = b""
    while True:
        try:
            chunk = c.recv(4096)
        except InterruptedError:
            continue
        if not chunk:
            break
        buf += chunk
        if b"\n" in buf:
            break
    c.close()
    line = buf.split(b"\n", 1)[0].strip()
    try:
        return json.loads(line) if line else {}
    except ValueError:
        return {}


class DetachScanner:
    """Find the detach keys in a terminal's input stream.

    :meth:`feed` returns ``(data to pass on, detached?)``; bytes of an unfinished
    sequence at the end of a chunk are held until the next chunk decides."""

    def __init__(self, keys: bytes = DETACH_KEYS):
        self.keys = keys
        self.held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        data = self.held + data
        self.held = b""
        i = data.find(self.keys)
        if i >= 0:
            return data[:i], True
        for n in range(len(self.keys) - 1, 0, -1):  # a prefix of the keys at the end
            if data.endswith(self.keys[:n]):
                self.held = data[-n:]
                return data[:-n], False
        return data, False


def copy_winsize(src_tty: int, dst_pty: int) -> None:
    """Set ``dst_pty``'s window size to ``src_tty``'s (both descriptors; errors ignored:
    the source may not be a terminal, or gone)."""
    import fcntl
    import termios

    try:
        size = fcntl.ioctl(src_tty, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(dst_pty, termios.TIOCSWINSZ, size)
    except OSError:
        pass


def forward_winch(monitor_pid: int):
    """Install a SIGWINCH handler that passes the signal on to the container's monitor
    (which then copies this terminal's size to the container's pty); returns the previous
    handler, to restore with ``signal.signal(SIGWINCH, previous)``."""
    import signal

    def handler(_signum, _frame) -> None:
        try:
            os.kill(monitor_pid, signal.SIGWINCH)
        except ProcessLookupError:
            pass
    return signal.signal(signal.SIGWINCH, handler)


def write_all(fd: int, data: bytes) -> bool:
    """Write all of ``data`` to ``fd`` (short writes continued); False when the other end
    is gone or the write failed (the monitor's log, pty and sync pipe writes)."""
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        return True
    except OSError:
        return False


class Client:
    """One attached command: its descriptors (-1: not attached), its connection (None:
    the command that started the container, answered through the monitor's pipe)."""

    __slots__ = ("stdin", "stdout", "stderr", "conn", "scanner")

    def __init__(self, stdin: int, stdout: int, stderr: int, conn=None,
                 keys: bytes = DETACH_KEYS):
        self.stdin, self.stdout, self.stderr, self.conn = stdin, stdout, stderr, conn
        self.scanner = DetachScanner(keys)

    def close(self) -> None:
        for fd in {self.stdin, self.stdout, self.stderr} - {-1}:
            try:
                os.close(fd)
            except OSError:
                pass
        self.stdin = self.stdout = self.stderr = -1


class Clients:
    """Every command attached to one container (the monitor's side): output goes to all,
    input comes from any, each may detach or go away on its own.

    ``start`` is the starting command's :class:`~skiff.runtime.monitor.Attach` (answered
    on ``sync_fd``); later ones arrive through :meth:`accept`."""

    def __init__(self, start, sync_fd: int, keys: bytes = DETACH_KEYS):
        self.items: list[Client] = []
        self.start: Client | None = None
        self.sync_fd = sync_fd
        self.start_detached = False
        if start.attached:
            self.start = Client(start.stdin, start.stdout, start.stderr, keys=keys)
            self.items.append(self.start)

    def accept(self, listener) -> Client | None:
        got = accept(listener)
        if got is None:
            return None
        c = Client(got[1], got[2], got[3], conn=got[0], keys=got[4])
        self.items.append(c)
        return c

    def write(self, stream: str, data: bytes) -> None:
        """Copy ``data`` to every client's ``stream`` ("stdout"/"stderr")."""
        for c in self.items:
            fd = getattr(c, stream)
            if fd >= 0 and not write_all(fd, data):
                setattr(c, stream, -1)  # that command went away: keep the others

    def by_stdin(self, fd: int) -> Client | None:
        return next((c for c in self.items if c.stdin == fd), None)

    def by_conn(self, fd: int) -> Client | None:
        return next((c for c in self.items if c.conn is not None and c.conn.fileno() == fd),
                    None)

    def detach(self, c: Client) -> None:
        """The user typed the detach keys in ``c``: let it go, the container runs on."""
        self.drop(c, {"detached": True})

    def drop(self, c: Client, msg: dict | None = None) -> None:
        """Forget ``c`` (closing its descriptors), telling it ``msg`` if given."""
        if c in self.items:
            self.items.remove(c)
        c.close()
        if c is self.start:
            self.start_detached = True
            if msg is not None and self.sync_fd >= 0:
                write_all(self.sync_fd, (json.dumps(msg) + "\n").encode())
        elif msg is not None:
            tell(c.conn, msg)
        elif c.conn is not None:
            c.conn.close()

    def finish(self, code: int) -> bool:
        """The container exited for good: tell every client; True when the starting
        command is still attached and was told (it then takes over, see the monitor)."""
        told = False
        for c in list(self.items):
            if c is self.start:
                if self.sync_fd >= 0:
                    told = write_all(self.sync_fd, (json.dumps({"exit": code}) + "\n").encode())
                c.close()
            else:
                c.close()
                tell(c.conn, {"exit": code})
        self.items.clear()
        return told

    def close_all(self) -> None:
        for c in self.items:
            c.close()
            if c.conn is not None:
                c.conn.close()
        self.items.clear()
