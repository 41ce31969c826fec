"""Differential: the same Dockerfiles built by skiff and by Docker's BuildKit give the same
image config and the same file tree (paths, modes, owners, contents, symlink targets).

Docker here is Debian's docker.io (dockerd 20.10 with its embedded BuildKit, client
/usr/bin/docker), started privately by the fixture (own data-root, exec-root, socket).
Known differences of that older BuildKit against today's (the reference) are listed in
``OLD_BUILDKIT`` and normalized before comparing.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.integration.build.conftest import apply_layer_to_tree, image_config, image_files

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay,
              pytest.mark.requires_peer("dockerd"), pytest.mark.slow]

DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
CONFIG_KEYS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Labels",
               "Volumes", "StopSignal", "Healthcheck", "Shell", "OnBuild")


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory, busybox_tar):
    """A private dockerd with the busybox rootfs imported as bb:1; yields the env to use."""
    work = tmp_path_factory.mktemp("dockerd")
    sock = work / "d.sock"
    env = {**os.environ, "DOCKER_HOST": f"unix://{sock}", "DOCKER_BUILDKIT": "1",
           "DOCKER_CONFIG": str(work / "cfg")}
    log = open(work / "dockerd.log", "wb")
    proc = subprocess.Popen(
        ["dockerd", "--iptables=false", "--ip6tables=false", "--bridge=none",
         "--data-root", str(work / "data"), "--exec-root", str(work / "exec"),
         "--pidfile", str(work / "d.pid"), "--host", f"unix://{sock}"],
        stdout=log, stderr=log)
    try:
        for _ in range(120):
            if subprocess.run([DOCKER, "info"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.5)
        else:
            pytest.skip("dockerd did not start: " + (work / "dockerd.log").read_text()[-500:])
        subprocess.run([DOCKER, "import", str(busybox_tar), "bb:1"], env=env, check=True,
                       capture_output=True)
        yield env
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work / "data", ignore_errors=True)


def docker_image(env: dict, ctx: Path, tag: str, *args: str) -> tuple[dict, dict]:
    """Build with Docker's BuildKit; return (raw config, file tree) from ``docker save``."""
    subprocess.run([DOCKER, "build", "--network", "host", "-t", tag, *args, str(ctx)],
                   env=env, check=True, capture_output=True)
    saved = subprocess.run([DOCKER, "save", tag], env=env, check=True, capture_output=True).stdout
    outer = tarfile.open(fileobj=io.BytesIO(saved))
    manifest = json.load(outer.extractfile("manifest.json"))[0]
    config = json.load(outer.extractfile(manifest["Config"]))
    tree: dict[str, tuple] = {}
    for layer in manifest["Layers"]:
        inner = tarfile.open(fileobj=outer.extractfile(layer))
        apply_layer_to_tree(tree, inner)
    return config, tree


# What Debian's dockerd 20.10 (its BuildKit ~0.8) writes differently from today's BuildKit
# (skiff follows today's, pinned by test_buildkit.py): COPY/ADD history without the
# --chown/--chmod flags, ARG history with the default instead of the --build-arg value,
# EXPOSE history as a Go map instead of a list.
OLD_BUILDKIT = (
    (re.compile(r"^(COPY|ADD)( --parents)?( --chown=\S+)?( --chmod=\S+)?"), r"\1"),
    (re.compile(r"^ARG (\w+)=.*$"), r"ARG \1"),
    (re.compile(r"^EXPOSE map\[(.*)\]$"), lambda m: "EXPOSE [" + m.group(1).replace(":{}", "") + "]"),
)


def comparable_history(cfg: dict) -> list[tuple]:
    out = []
    for h in cfg.get("history", [])[1:]:
        text = h.get("created_by", "")
        for rx, repl in OLD_BUILDKIT:
            text = rx.sub(repl, text)
        out.append((text, bool(h.get("empty_layer", False))))
    return out


DOCKERFILE = """\
FROM bb:1
ARG GREETING=hello
LABEL org.example.name="diff test" version=1
ENV APP_HOME=/srv/app PATH=/srv/app/bin:/bin
WORKDIR $APP_HOME
COPY app/ ./
COPY --chown=app:app --chmod=640 conf.txt /etc/app/
COPY *.md docs/
ADD bundle.tar.gz /opt/
RUN mkdir -p data && echo "$GREETING" > data/greeting && ln -s data/greeting current
EXPOSE 8080 9090/udp
VOLUME /srv/app/data
USER app
STOPSIGNAL SIGINT
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat current"]
"""


def make_context(root: Path) -> Path:
    (root / "app/bin").mkdir(parents=True)
    (root / "app/bin/run").write_text("#!/bin/sh\necho run\n")
    os.chmod(root / "app/bin/run", 0o755)
    (root / "app/lib.txt").write_text("lib\n")
    (root / "app/link").symlink_to("lib.txt")
    (root / "conf.txt").write_text("conf\n")
    (root / "README.md").write_text("readme\n")
    (root / "CHANGES.md").write_text("changes\n")
    (root / "skip.log").write_text("x")
    (root / ".dockerignore").write_text("*.log\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        ti = tarfile.TarInfo("bundle/data.bin")
        ti.size, ti.uid, ti.gid, ti.mode = 3, 5, 6, 0o600
        tf.addfile(ti, io.BytesIO(b"abc"))
    (root / "bundle.tar.gz").write_bytes(buf.getvalue())
    (root / "Dockerfile").write_text(DOCKERFILE)
    return root


def test_same_config_history_and_tree_as_buildkit(cli, bb, dockerd, tmp_path, skiff_root):
    ctx = make_context(tmp_path / "ctx")
    dcfg, dtree = docker_image(dockerd, ctx, "diff:1", "--build-arg", "GREETING=hi there")
    r = cli("build", "-t", "diff:1", "--build-arg", "GREETING=hi there", str(ctx))
    assert r.code == 0, r.err
    scfg = image_config(skiff_root, "diff:1")
    for k in CONFIG_KEYS:
        assert scfg["config"].get(k) == dcfg["config"].get(k), k
    assert comparable_history(scfg) == comparable_history(dcfg)
    assert [h.get("created_by") for h in scfg["history"]][1:2] == ["ARG GREETING=hi there"]
    assert "COPY --chown=app:app --chmod=640 conf.txt /etc/app/ # buildkit" in [
        h.get("created_by") for h in scfg["history"]]
    stree = image_files("diff:1")
    # Docker 20.10 creates a COPY --chmod destination directory 0755; today's BuildKit
    # gives it the --chmod mode (skiff does, pinned by test_buildkit.py).
    if "/etc/app" in dtree and stree.get("/etc/app", ("",))[1:2] == (0o640,):
        dtree["/etc/app"] = ("d", 0o640) + dtree["/etc/app"][2:]
    # mtimes are not compared; paths, types, modes, owners, contents and link targets are
    assert stree == dtree


MULTISTAGE = """\
ARG BASE=bb:1
FROM ${BASE} AS build
WORKDIR /w
RUN echo built > artifact && mkdir -p out/sub && echo deep > out/sub/f && chmod 600 out/sub/f
WORKDIR sub/dir
RUN pwd > /w/where

FROM ${BASE}
ENV A=1
ENV B=${A}-2
COPY --from=build /w/artifact /w/where /srv/
COPY --from=build /w/out /srv/out/
WORKDIR /srv
USER app:app
ENTRYPOINT cat /srv/artifact
"""


def test_multistage_same_as_buildkit(cli, bb, dockerd, tmp_path, skiff_root):
    ctx = tmp_path / "ms"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(MULTISTAGE)
    dcfg, dtree = docker_image(dockerd, ctx, "diffms:1")
    r = cli("build", "-t", "diffms:1", str(ctx))
    assert r.code == 0, r.err
    scfg = image_config(skiff_root, "diffms:1")
    for k in CONFIG_KEYS:
        assert scfg["config"].get(k) == dcfg["config"].get(k), k
    assert comparable_history(scfg) == comparable_history(dcfg)
    assert image_files("diffms:1") == dtree
