"""Differential against today's BuildKit (buildkitd + buildctl, runc worker): the reference
where Debian's older dockerd differs (test_differential.py normalizes those differences;
this test compares without normalizing).

The binaries come from the Go module proxy (``go build`` of github.com/moby/buildkit); that
takes minutes, so it runs only when they are already built: on PATH, in
``.cache/buildkit/bin`` (``SKIFF_TEST_BUILDKIT=1`` builds them there first when Go is
installed), else the test skips with the reason.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.integration.build.conftest import apply_layer_to_tree, image_config, image_files
from tests.integration.build.test_differential import CONFIG_KEYS, make_context

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay,
              pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
BIN = REPO / ".cache" / "buildkit" / "bin"
VERSION = "v0.34.2"


def _find() -> tuple[str, str] | None:
    for d in (None, BIN):
        kd = shutil.which("buildkitd") if d is None else str(d / "buildkitd")
        ctl = shutil.which("buildctl") if d is None else str(d / "buildctl")
        if kd and ctl and os.access(kd, os.X_OK) and os.access(ctl, os.X_OK):
            return kd, ctl
    return None


def _build_from_proxy() -> None:
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not os.access(go, os.X_OK):
        pytest.skip("buildkitd not built and no Go toolchain")
    work = REPO / ".cache" / "buildkit"
    env = {**os.environ, "GOPATH": str(work / "gopath"), "GOFLAGS": "-mod=mod"}
    info = subprocess.run([go, "mod", "download", "-json", f"github.com/moby/buildkit@{VERSION}"],
                          env=env, check=True, capture_output=True, text=True)
    src = work / "src"
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(json.loads(info.stdout)["Dir"], src)
    subprocess.run(["chmod", "-R", "u+w", str(src)], check=True)
    subprocess.run([go, "build", "-o", str(BIN) + "/", "./cmd/buildkitd", "./cmd/buildctl"],
                   cwd=src, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def buildkit(tmp_path_factory):
    found = _find()
    if found is None and os.environ.get("SKIFF_TEST_BUILDKIT") == "1":
        _build_from_proxy()
        found = _find()
    if found is None:
        pytest.skip("buildkitd/buildctl not built (SKIFF_TEST_BUILDKIT=1 builds them from the "
                    "Go module proxy into .cache/buildkit/bin)")
    kd, ctl = found
    work = tmp_path_factory.mktemp("buildkitd")
    addr = f"unix://{work}/bk.sock"
    log = open(work / "buildkitd.log", "wb")
    proc = subprocess.Popen([kd, "--root", str(work / "root"), "--addr", addr,
                             "--oci-worker-binary", "runc", "--containerd-worker=false"],
                            stdout=log, stderr=log)
    try:
        for _ in range(120):
            if subprocess.run([ctl, "--addr", addr, "debug", "workers"],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.5)
        else:
            pytest.skip("buildkitd did not start: " + (work / "buildkitd.log").read_text()[-400:])
        yield ctl, addr, work
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _layout_digest(layout: Path) -> str:
    """The manifest digest of the one image in an OCI layout (BuildKit wants a digest)."""
    return json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]


def buildkit_image(buildkit, ctx: Path, layout: Path, *args: str) -> tuple[dict, dict]:
    ctl, addr, work = buildkit
    out = work / "out.tar"
    r = subprocess.run([ctl, "--addr", addr, "build", "--frontend", "dockerfile.v0",
                    "--local", f"context={ctx}", "--local", f"dockerfile={ctx}",
                    "--oci-layout", f"bb={layout}",
                    "--opt", f"context:bb:1=oci-layout://bb@{_layout_digest(layout)}",
                    *args, "--output", f"type=oci,dest={out}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    tf = tarfile.open(out)

    def blob(d: str) -> bytes:
        return tf.extractfile("blobs/sha256/" + d.split(":", 1)[1]).read()

    index = json.loads(tf.extractfile("index.json").read())
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    config = json.loads(blob(manifest["config"]["digest"]))
    tree: dict[str, tuple] = {}
    for layer in manifest["layers"]:
        inner = tarfile.open(fileobj=io.BytesIO(blob(layer["digest"])))
        apply_layer_to_tree(tree, inner)
    return config, tree


def test_same_as_todays_buildkit(buildkit, cli, bb, tmp_path, skiff_root):
    layout = tmp_path / "layout"
    layout.mkdir()
    saved = tmp_path / "bb.tar"
    assert cli("save", "-o", str(saved), "bb:1").code == 0
    with tarfile.open(saved) as tf:
        tf.extractall(layout)
    ctx = make_context(tmp_path / "ctx")
    bcfg, btree = buildkit_image(buildkit, ctx, layout, "--opt", "build-arg:GREETING=hi there")
    r = cli("build", "-t", "bk:1", "--build-arg", "GREETING=hi there", str(ctx))
    assert r.code == 0, r.err
    scfg = image_config(skiff_root, "bk:1")
    for k in CONFIG_KEYS:
        assert scfg["config"].get(k) == bcfg["config"].get(k), k
    assert [(h.get("created_by"), bool(h.get("empty_layer"))) for h in scfg["history"]][1:] == \
        [(h.get("created_by"), bool(h.get("empty_layer"))) for h in bcfg["history"]][1:]
    assert image_files("bk:1") == btree
