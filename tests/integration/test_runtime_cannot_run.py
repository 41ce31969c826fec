"""A command that cannot run: exit codes and messages of ``run``, ``start`` and ``exec``,
with real runc and busybox.

Docker observed (dockerd 20.10.24 with the docker 28.2 CLI, this machine, the same busybox
image): ``docker run`` exits 127 for a command not found (in $PATH or as a path) and 126 for
a directory or a file that is not executable, printing the daemon's message (current
Docker's wording: ``failed to create task for container: failed to create shim task: OCI
runtime create failed: runc create failed: unable to start container process: exec: ...:
unknown``); the container stays ``Created`` with ``State.ExitCode`` 127 and
``State.Error`` = the message from ``failed to create shim task``. ``docker start`` of it
exits 1 and adds ``failed to start containers: NAME``; ``docker start -a`` exits 1.
``docker exec`` on 20.10 exits 126 for every such failure; the issue's rule (126 when the
command cannot be invoked, 127 when it is not found) is followed instead, with Docker's
message ``OCI runtime exec failed: exec failed: unable to start container process: ...``;
``exec -w /missing``, ``exec -w relative`` and ``exec --privileged`` in a container that is
not privileged exit 126 (runc's messages), ``docker exec C``
without a command exits 1 (``requires at least 2 arguments``)."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]

PREFIX = ("failed to create shim task: OCI runtime create failed: runc create failed: "
          "unable to start container process: exec: ")


@pytest.mark.parametrize("cmd,code,reason", [
    ("nosuch", 127, '"nosuch": executable file not found in $PATH'),
    ("/etc/passwd", 126, '"/etc/passwd": permission denied'),
    ("/etc", 126, '"/etc": permission denied'),
])
def test_run_rm(sk, cmd, code, reason):
    res = sk("run", "--rm", "bb:1", cmd)
    assert (res.code, res.out) == (code, "")
    assert res.err == f"skiff: failed to create task for container: {PREFIX}{reason}: unknown\n"
    assert sk("ps", "-aq").out == ""


def test_failed_run_leaves_a_created_container_and_start_exits_1(sk):
    res = sk("run", "--name", "cr-nf", "bb:1", "nosuch")
    assert res.code == 127, res
    st = json.loads(sk("inspect", "cr-nf").out)[0]["State"]
    why = f'{PREFIX}"nosuch": executable file not found in $PATH: unknown'
    assert (st["Status"], st["ExitCode"], st["Error"], st["Running"]) == ("created", 127, why,
                                                                           False)
    assert sk("ps", "-a", "--format", "{{.Names}} {{.Status}}").out == "cr-nf Created\n"
    res = sk("start", "cr-nf")
    assert (res.code, res.out) == (1, "")
    assert res.err == (f"skiff: failed to create task for container: {why}\n"
                       "skiff: failed to start containers: cr-nf\n")
    res = sk("start", "-a", "cr-nf")
    assert (res.code, res.err) == (1, f"skiff: failed to create task for container: {why}\n")
    assert sk("rm", "cr-nf").code == 0


def test_exec_not_found_127_cannot_invoke_126(sk):
    assert sk("run", "-d", "--name", "cr-box", "bb:1", "sleep", "300").code == 0
    try:
        for cmd, code, reason in [
                ("nosuch", 127, '"nosuch": executable file not found in $PATH'),
                ("/nosuch/x", 127, '"/nosuch/x": stat /nosuch/x: no such file or directory'),
                ("/etc", 126, '"/etc": permission denied'),
                ("/etc/passwd", 126, '"/etc/passwd": permission denied')]:
            res = sk("exec", "cr-box", cmd)
            assert (res.code, res.out) == (code, ""), (cmd, res)
            assert res.err == ("skiff: OCI runtime exec failed: exec failed: unable to start "
                               f"container process: exec: {reason}: unknown\n"), cmd
        # a working directory that cannot be entered: 126 (the command is never looked up)
        res = sk("exec", "-w", "/nonexist", "cr-box", "true")
        assert (res.code, res.err) == (126, (
            "skiff: OCI runtime exec failed: exec failed: unable to start container process: "
            'chdir to cwd ("/nonexist") set in config.json failed: no such file or directory: '
            "unknown\n"))
        res = sk("exec", "-w", "relative", "cr-box", "true")
        assert (res.code, res.err) == (126, "skiff: OCI runtime exec failed: exec failed: Cwd "
                                            "must be an absolute path: unknown\n")
        # --privileged asks runc for every capability: beyond the container's bounding set
        # runc refuses, and the exec fails as on Docker (126)
        res = sk("exec", "--privileged", "cr-box", "true")
        assert (res.code, res.err) == (126, (
            "skiff: OCI runtime exec failed: exec failed: unable to start container process: "
            "unable to apply caps: operation not permitted: unknown\n"))
        # docker/cli's arity check
        for args in (("exec", "cr-box"), ("exec",)):
            res = sk(*args)
            assert (res.code, res.err) == (1, "skiff: \"skiff exec\" requires at least 2 "
                                              "arguments.\nSee 'skiff exec --help'.\n")
        # the container is untouched by the failed execs
        assert sk("exec", "cr-box", "echo", "still").out == "still\n"
    finally:
        sk("rm", "-f", "cr-box")


@pytest.mark.parametrize("flags,err", [
    (["--ulimit", "bogus=1"],
     'invalid argument "bogus=1" for "--ulimit" flag: invalid ulimit type: bogus'),
    (["--ulimit", "nofile=abc"],
     'invalid argument "nofile=abc" for "--ulimit" flag: strconv.ParseInt: parsing "abc": '
     'invalid syntax'),
    (["--ulimit", "nofile=10:5"],
     'invalid argument "nofile=10:5" for "--ulimit" flag: ulimit soft limit must be less than '
     'or equal to hard limit: 10 > 5'),
    (["--cap-add", "BOGUS"], 'invalid CapAdd: unknown capability: "CAP_BOGUS"'),
    (["--cap-drop", "bogus"], 'invalid CapDrop: unknown capability: "CAP_BOGUS"'),
    (["--security-opt", "seccomp=/nonexist"],
     "opening seccomp profile (/nonexist) failed: open /nonexist: no such file or directory"),
    (["--ipc", "bogus"], "Invalid IPC mode: bogus"),
    (["--uts", "bogus"], "--uts: invalid UTS mode"),
    (["--pid", "bogus"], "--pid: invalid PID mode"),
    (["--memory", "bogus"], "invalid argument \"bogus\" for \"-m, --memory\" flag: invalid size: "
                            "'bogus'"),
    (["--shm-size", "bogus"], "invalid argument \"bogus\" for \"--shm-size\" flag: invalid size: "
                              "'bogus'"),
    (["--cpus", "bogus"], "invalid argument \"bogus\" for \"--cpus\" flag: failed to parse bogus "
                          "as a rational number"),
    (["-v", "/tmp:/b:ro,rw"], "invalid mode: ro,rw"),
    (["-v", "/tmp:/b:z,Z"], "invalid mode: z,Z"),
    (["--tmpfs", "relative"], "invalid mount path: 'relative' mount path must be absolute"),
    (["-e", "=x"], "invalid argument \"=x\" for \"-e, --env\" flag: invalid environment "
                   "variable: =x"),
])
def test_bad_flag_values_leave_no_container(sk, flags, err):
    """Docker refuses these before a container exists (exit 125, each message as observed
    on docker 28.2 / dockerd 20.10). Capabilities, ulimits and the seccomp profile were
    only checked when the container started, leaving a ``Created`` record behind."""
    res = sk("run", "--name", "cr-bad", *flags, "bb:1", "true")
    if err.startswith("invalid argument"):  # (pflag's: docker 20.10 adds its See line)
        err += "\nSee 'skiff run --help'."
    assert (res.code, res.out, res.err) == (125, "", f"skiff: {err}\n")
    assert sk("ps", "-aq").out == ""
