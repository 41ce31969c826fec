"""Docker CLI behaviour QA found missing, checked against docker 20.10's output with a
real store (runc and overlayfs where a container runs): non-UTF-8 bytes in any command's
arguments, ``--`` after IMAGE, sorted JSON objects in inspect, ``ps``'s ``.Label``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.integration.test_container_lifecycle import _main, drop_runc_root

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


@pytest.fixture(scope="module")
def root(tmp_path_factory, busybox_tar):
    r = tmp_path_factory.mktemp("parity") / "root"
    assert _main(r, "import", str(busybox_tar), "bb:1").code == 0
    yield r
    drop_runc_root(r)


def _exe(root, *args: str | bytes) -> subprocess.CompletedProcess:
    """The real executable (its argv as the kernel gives it: bytes that are not UTF-8)."""
    return subprocess.run([sys.executable, "-m", "skiff", "--root", os.fsencode(root), *args],
                          capture_output=True, timeout=120)


def test_commit_message_with_non_utf8_byte_becomes_replacement_char(root):
    """`docker commit -m $'\\xff' c1 x:1` stores the comment "\\ufffd" (its JSON does);
    skiff crashed with an internal UnicodeEncodeError. Now every command's arguments
    are cleaned where argv is decoded (skiff.cli.main)."""
    assert _main(root, "create", "--name", "p-commit", "bb:1", "true").code == 0
    r = _exe(root, "commit", "-m", b"\xff", "p-commit", "p-commit:1")
    assert (r.returncode, r.stderr) == (0, b""), r
    r = _exe(root, "inspect", "--format", "{{json .Comment}}", "p-commit:1")
    assert r.stdout == b'"\xef\xbf\xbd"\n'
    r = _exe(root, "history", "--format", "{{.Comment}}", "p-commit:1")
    assert r.stdout.splitlines()[0] == b"\xef\xbf\xbd"
    assert _main(root, "rm", "p-commit").code == 0
    assert _main(root, "rmi", "p-commit:1").code == 0


def test_double_dash_after_image_is_the_command(root):
    """pflag stops at IMAGE (interspersed off): `docker run --rm bb:1 -- echo hi` runs
    "--" (exit 127, runc's "executable file not found"); argparse dropped the "--" and ran
    echo. create keeps it as Path, exec as its command."""
    r = _main(root, "run", "--rm", "--network", "none", "bb:1", "--", "echo", "hi")
    assert (r.code, r.out, r.err) == (127, "", (
        "skiff: failed to create task for container: failed to create shim task: OCI runtime "
        "create failed: runc create failed: unable to start container process: exec: \"--\": "
        "executable file not found in $PATH: unknown\n"))
    # a "--" before IMAGE only ends the flags
    r = _main(root, "run", "--rm", "--network", "none", "--", "bb:1", "echo", "--", "hi")
    assert (r.code, r.out) == (0, "-- hi\n")
    r = _main(root, "create", "--name", "p-dash", "bb:1", "--", "echo", "hi")
    assert r.code == 0, r
    r = _main(root, "inspect", "--format", "{{json .Path}} {{json .Args}} {{json .Config.Cmd}}",
              "p-dash")
    assert r.out == '"--" ["echo","hi"] ["--","echo","hi"]\n'
    assert _main(root, "ps", "-a", "--filter", "name=p-dash",
                 "--format", "{{.Command}}").out == '"-- echo hi"\n'
    assert _main(root, "rm", "p-dash").code == 0
    assert _main(root, "run", "-d", "--name", "p-exec", "--network", "none", "bb:1",
                 "sleep", "60").code == 0
    try:
        r = _main(root, "exec", "p-exec", "--", "echo", "hi")
        assert (r.code, r.err) == (127, (
            "skiff: OCI runtime exec failed: exec failed: unable to start container process: "
            "exec: \"--\": executable file not found in $PATH: unknown\n"))
        r = _main(root, "exec", "--", "p-exec", "echo", "hi")
        assert (r.code, r.out) == (0, "hi\n")
    finally:
        _main(root, "rm", "-f", "p-exec")
