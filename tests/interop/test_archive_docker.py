"""skiff's archives against a real Docker daemon (a private dockerd started for the test).

``docker load`` takes what ``skiff save`` writes (same image ID, same Size); ``docker save``
output (Docker 20.10's old layout here) loads back into skiff with the same ID.
Skips when dockerd is not installed (``apt-get install docker.io``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.slow]


@pytest.fixture
def docker():
    dockerd, cli = shutil.which("dockerd"), shutil.which("docker")
    if not dockerd or not cli:
        pytest.skip("needs dockerd and docker (apt-get install docker.io)")
    d = Path(tempfile.mkdtemp(prefix="skd"))  # short: the socket path has a length limit
    sock = d / "d.sock"
    log = open(d / "log", "wb")  # noqa: SIM115
    p = subprocess.Popen([dockerd, "--iptables=false", "--bridge=none", "--data-root",
                          str(d / "data"), "--exec-root", str(d / "x"), "-H", f"unix://{sock}",
                          "--pidfile", str(d / "pid")], stdout=log, stderr=log)
    env = {**os.environ, "DOCKER_HOST": f"unix://{sock}"}

    def run(*args: str) -> str:
        r = subprocess.run([cli, *args], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (args, r.stderr)
        return r.stdout

    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if p.poll() is not None:
                pytest.skip(f"dockerd exited: {(d / 'log').read_text()[-500:]}")
            if subprocess.run([cli, "version"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.5)
        else:
            pytest.skip("dockerd did not start in 60 s")
        yield run
    finally:
        p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()
        with open("/proc/self/mountinfo") as f:
            mounts = [ln.split()[4] for ln in f if ln.split()[4].startswith(str(d))]
        for m in sorted(mounts, reverse=True):
            subprocess.run(["umount", "-l", m], check=False)
        shutil.rmtree(d, ignore_errors=True)


def test_docker_loads_skiff_save_and_skiff_loads_docker_save(cli, docker, busybox_tar, tmp_path):
    image_id = cli("import", str(busybox_tar), "bb:1", "-c", 'CMD ["sh"]').out.strip()
    (want,) = json.loads(cli("inspect", "bb:1").out)
    out = tmp_path / "skiff.tar"
    assert cli("save", "-o", str(out), "bb:1").code == 0
    assert docker("load", "-i", str(out)) == "Loaded image: bb:1\n"
    (got,) = json.loads(docker("image", "inspect", "bb:1"))
    assert got["Id"] == image_id
    assert got["RootFS"] == want["RootFS"]
    assert got["Size"] == want["Size"]
    assert got["Config"]["Cmd"] == ["sh"]
    # back: docker import + docker save → skiff load
    did = docker("import", "-c", "ENV A=1", str(busybox_tar), "dimp:1").strip()
    back = tmp_path / "docker.tar"
    docker("save", "-o", str(back), "dimp:1")
    r = cli("load", "-i", str(back))
    assert (r.code, r.out) == (0, "Loaded image: dimp:1\n")
    (mine,) = json.loads(cli("inspect", "dimp:1").out)
    (theirs,) = json.loads(docker("image", "inspect", "dimp:1"))
    for k in ("Id", "Created", "Comment", "RootFS", "Size", "Architecture", "Os"):
        assert mine[k] == theirs[k], k
    assert mine["Id"] == did
    assert mine["Config"]["Env"] == theirs["Config"]["Env"]
    assert cli("system", "check").code == 0
