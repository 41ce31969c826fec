"""``-t`` when this process's stdin is a pipe, not a terminal, with the real ``skiff``
executable, runc and busybox (real pipes from subprocess, real ptys from pty.fork).

Docker's behaviour pinned here (docker 28.2 CLI on dockerd 20.10.24, this machine, the same
busybox image): ``echo hi | docker run -i -t bb:1 cat`` prints ``the input device is not a
TTY`` and exits 1 before creating anything; ``docker run -t`` and ``docker exec -t`` without
``-i`` run with a pty (no stdin) and print through it: ``out\\r\\nerr\\r\\n`` on stdout,
nothing on stderr, the command's exit code; ``docker exec -it`` and ``docker attach`` of a
``-t`` container (without ``--no-stdin``, even when it was not started with ``-i``) refuse
a stdin that is no terminal the same way."""

from __future__ import annotations

import pytest

from tests.integration import runtime_support
from tests.integration.test_runtime_attach import Pty, _exe

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]

NOT_A_TTY = b"skiff: the input device is not a TTY\n"


@pytest.fixture(scope="module")
def box(root):
    sk = runtime_support.runner(root)
    assert sk("run", "-d", "--name", "tty-box", "bb:1", "sleep", "300").code == 0
    yield "tty-box"
    sk("rm", "-f", "tty-box")


def test_run_it_with_piped_stdin_refuses_before_creating(root, sk):
    before = sk("ps", "-aq").out
    res = _exe(root, "run", "-i", "-t", "--name", "tty-refused", "bb:1", "cat", input=b"hi\n")
    assert (res.returncode, res.stdout, res.stderr) == (1, b"", NOT_A_TTY)
    res = _exe(root, "run", "--rm", "-it", "bb:1", "echo", "hi", stdin=open("/dev/null", "rb"))
    assert (res.returncode, res.stderr) == (1, NOT_A_TTY)
    assert sk("ps", "-aq").out == before
    # detached, nothing is attached: no check (as docker run -dit)
    res = _exe(root, "run", "-dit", "--name", "tty-dit", "bb:1", "cat", input=b"")
    assert res.returncode == 0, res
    assert sk("rm", "-f", "tty-dit").code == 0


def test_run_t_without_i_prints_through_the_pty(root):
    res = _exe(root, "run", "--rm", "-t", "bb:1", "echo", "hi", input=b"ignored\n")
    assert (res.returncode, res.stdout, res.stderr) == (0, b"hi\r\n", b"")
    res = _exe(root, "run", "--rm", "-t", "bb:1", "sh", "-c", "echo out; echo err >&2; exit 3",
               stdin=open("/dev/null", "rb"))
    assert (res.returncode, res.stdout, res.stderr) == (3, b"out\r\nerr\r\n", b"")


def test_exec_t_without_i_prints_through_a_pty(root, box):
    res = _exe(root, "exec", "-t", box, "sh", "-c", "echo out; echo err >&2; exit 5",
               input=b"ignored\n")
    assert (res.returncode, res.stdout, res.stderr) == (5, b"out\r\nerr\r\n", b"")
    res = _exe(root, "exec", "-t", box, "sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo both-ttys",
               stdin=open("/dev/null", "rb"))
    assert (res.returncode, res.stdout) == (0, b"both-ttys\r\n")
    # a failed start is still 127 with Docker's message
    res = _exe(root, "exec", "-t", box, "nosuch", input=b"")
    assert (res.returncode, res.stdout) == (127, b"")
    assert res.stderr == (b'skiff: OCI runtime exec failed: exec failed: unable to start '
                          b'container process: exec: "nosuch": executable file not found in '
                          b'$PATH: unknown\n')


def test_exec_it_needs_a_terminal(root, box):
    res = _exe(root, "exec", "-i", "-t", box, "cat", input=b"hi\n")
    assert (res.returncode, res.stdout, res.stderr) == (1, b"", NOT_A_TTY)
    t = Pty(root, ["exec", "-it", box, "sh", "-c", "read x; echo got-$x; tty"])
    t.send(b"abc\r")
    t.expect(b"got-abc")
    t.expect(b"/dev/pts/")
    assert t.wait() == 0


def test_attach_to_a_tty_container_needs_a_terminal(root, sk):
    # -t without -i: docker attach still refuses a piped stdin unless --no-stdin
    assert sk("run", "-d", "-t", "--name", "tty-att", "bb:1", "sleep", "300").code == 0
    res = _exe(root, "attach", "tty-att", input=b"\n")
    assert (res.returncode, res.stdout, res.stderr) == (1, b"", NOT_A_TTY)
    assert sk("inspect", "-f", "{{.State.Running}}", "tty-att").out == "true\n"
    assert sk("rm", "-f", "tty-att").code == 0
