"""stdin, attach, detach keys and terminal resizes, with the real ``skiff`` executable
(and real pseudo-terminals from pty.fork for ``-t``), runc and busybox.

Docker's behaviour pinned here: ``run -i`` without ``-t`` pipes stdin to the process and
closes it at EOF; ``attach`` to a ``-i`` container forwards stdin and exits with the
container's code; ``ctrl-p ctrl-q`` detaches a ``-it`` run (exit 0, container running)
and an attach (``read escape sequence``, exit 1); the pty has the client's size at start
and follows its resizes (SIGWINCH)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def _exe(root, *args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skiff", "--root", str(root), *args],
                          capture_output=True, timeout=60, **kw)


def _state(sk, ref: str) -> dict:
    res = sk("inspect", ref)
    assert res.code == 0, res
    return json.loads(res.out)[0]["State"]


class Pty:
    """``skiff ARGS`` on a new pseudo-terminal of ``rows`` × ``cols``."""

    def __init__(self, root, args, rows=24, cols=80):
        pid, fd = pty.fork()
        if pid == 0:
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                os.execv(sys.executable, [sys.executable, "-m", "skiff", "--root", str(root),
                                          *args])
            finally:
                os._exit(127)
        self.pid, self.fd, self.buf = pid, fd, b""

    def expect(self, text: bytes, timeout: float = 15) -> bytes:
        end = time.monotonic() + timeout
        while text not in self.buf:
            left = end - time.monotonic()
            assert left > 0, f"{text!r} not seen in {self.buf!r}"
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                assert chunk, f"EOF before {text!r}: {self.buf!r}"
                self.buf += chunk
        return self.buf

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def resize(self, rows: int, cols: int) -> None:
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def wait(self, timeout: float = 20) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                try:  # what it wrote just before exiting is still in the pty: read it
                    while select.select([self.fd], [], [], 0.05)[0]:
                        chunk = os.read(self.fd, 4096)
                        if not chunk:
                            break
                        self.buf += chunk
                except OSError:
                    pass  # EIO: nothing left
                try:
                    os.close(self.fd)
                except OSError:
                    pass
                return os.waitstatus_to_exitcode(status)
            try:  # keep draining so the child never blocks on a full pty
                if select.select([self.fd], [], [], 0.05)[0]:
                    self.buf += os.read(self.fd, 4096)
            except OSError:
                time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"skiff did not exit: {self.buf!r}")


def test_run_i_pipes_stdin_and_closes_it_at_eof(root):
    res = _exe(root, "run", "-i", "--rm", "bb:1", "cat", input=b"hi\n")
    assert (res.returncode, res.stdout) == (0, b"hi\n"), res
    res = _exe(root, "run", "-i", "--rm", "bb:1", "sh", "-c", "cat; echo eof seen",
               input=b"one\ntwo\n")
    assert (res.returncode, res.stdout) == (0, b"one\ntwo\neof seen\n"), res
    # without -i the process reads nothing
    res = _exe(root, "run", "--rm", "bb:1", "cat", input=b"ignored\n")
    assert (res.returncode, res.stdout) == (0, b""), res


def test_start_attach_interactive(root, sk):
    res = sk("create", "-i", "--name", "at-start", "bb:1", "sh", "-c", "read x; echo got $x")
    assert res.code == 0, res
    res = _exe(root, "start", "-a", "-i", "at-start", input=b"hi\n")
    assert (res.returncode, res.stdout) == (0, b"got hi\n"), res
    assert sk("rm", "at-start").code == 0


def test_attach_forwards_stdin_and_exits_with_the_container(root, sk):
    assert sk("run", "-d", "-i", "--name", "at-cat", "bb:1", "cat").code == 0
    p = subprocess.Popen([sys.executable, "-m", "skiff", "--root", str(root), "attach",
                          "at-cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        p.stdin.write(b"hello\n")
        p.stdin.flush()
        assert p.stdout.readline() == b"hello\n"
        p.stdin.close()  # stdin stays open in the container (not StdinOnce), as Docker
        time.sleep(0.3)
        assert _state(sk, "at-cat")["Running"] is True
        assert sk("kill", "at-cat").code == 0
        assert p.wait(timeout=20) == 137
    finally:
        if p.poll() is None:
            p.kill()
    assert sk("rm", "-f", "at-cat").code == 0


def test_tty_size_at_start_and_on_resize(root):
    t = Pty(root, ["run", "-it", "--rm", "bb:1", "sh", "-c",
                   "stty size; while read x; do stty size; done"], rows=33, cols=101)
    t.expect(b"33 101")
    t.resize(41, 132)
    for _ in range(50):  # the resize travels client → monitor → pty: ask until it shows
        t.send(b"\n")
        try:
            t.expect(b"41 132", timeout=0.3)
            break
        except AssertionError:
            continue
    t.expect(b"41 132")
    t.send(b"\x04")  # ^D: read fails, the shell exits 0
    assert t.wait() == 0


def test_detach_keys_then_attach_again(root, sk):
    t = Pty(root, ["run", "-it", "--name", "at-tty", "bb:1", "sh"])
    t.expect(b"# ")
    t.send(b"\x10\x11")  # ctrl-p ctrl-q
    assert t.wait() == 0
    assert _state(sk, "at-tty")["Running"] is True
    a = Pty(root, ["attach", "at-tty"], rows=20, cols=70)
    a.send(b"echo attached-$((40+2)); stty size\r")
    a.expect(b"attached-42")
    a.expect(b"20 70")  # the attaching terminal's size
    a.send(b"\x10\x11")
    assert a.wait() == 1
    assert b"read escape sequence" in a.buf
    assert _state(sk, "at-tty")["Running"] is True
    c = Pty(root, ["attach", "--detach-keys", "ctrl-a,x", "at-tty"])
    c.send(b"echo ready-$((2+3))\r")
    c.expect(b"ready-5")  # attached (and the terminal raw): control keys go through now
    # ctrl-p ctrl-q are plain keys here (ash: history, XON; ctrl-c clears the line)
    c.send(b"\x10\x11\x03echo still-$((1+1))\r")
    c.expect(b"still-2")
    c.send(b"\x01x")
    assert c.wait() == 1
    assert _state(sk, "at-tty")["Running"] is True
    b = Pty(root, ["attach", "at-tty"])
    b.send(b"exit 7\r")
    assert b.wait() == 7
    st = _state(sk, "at-tty")
    assert (st["Status"], st["ExitCode"]) == ("exited", 7)
    assert sk("rm", "at-tty").code == 0


def test_attach_streams_more_than_the_pipes_hold(root, sk, tmp_path):
    """The container writes 2 MiB before it reads stdin, while 3 MiB are attached to it:
    the monitor must keep reading its output while its stdin is full (a blocking feed
    would deadlock), then the 3 MiB come back through ``cat``."""
    assert sk("run", "-d", "-i", "--name", "at-big", "bb:1", "sh", "-c",
              "sleep 1; dd if=/dev/zero bs=65536 count=32 2>/dev/null; cat").code == 0
    data = bytes(2 << 20) + os.urandom(3 << 20)
    out, inp = tmp_path / "out", tmp_path / "in"
    inp.write_bytes(data[2 << 20:])  # a file, not a pipe we write: a hang cannot hang us
    with open(out, "wb") as f, open(inp, "rb") as i:
        p = subprocess.Popen([sys.executable, "-m", "skiff", "--root", str(root), "attach",
                              "at-big"], stdin=i, stdout=f)
        try:
            end = time.monotonic() + 60
            while out.stat().st_size < len(data) and time.monotonic() < end:
                time.sleep(0.1)
            assert out.read_bytes() == data
            assert sk("kill", "at-big").code == 0
            assert p.wait(timeout=20) == 137
        finally:
            if p.poll() is None:
                p.kill()
    assert sk("rm", "-f", "at-big").code == 0
