"""``skiff push`` / ``skiff pull`` on a real store against docker-registry, skopeo and umoci."""

from __future__ import annotations

import json
import os

import pytest

from skiff.config import Config
from tests.interop.regclient.servers import Proxy, skopeo

pytestmark = [pytest.mark.requires_peer("skopeo", "docker-registry")]


def _store(root):
    from skiff import metadata
    from skiff.content import ContentStore
    from skiff.images import ImageService

    cfg = Config.from_env(root)
    db = metadata.connect(cfg.metadata_path)
    return cfg, db, ImageService(cfg, db, ContentStore(cfg.content_dir))


def _in_root(root):
    os.environ["SKIFF_ROOT"] = str(root)


def test_push_then_pull_byte_identical(cli, skiff_root, tmp_path, registry, busybox_tar,
                                       repo_name):
    name = f"{registry.host}/{repo_name}:1"
    assert cli("import", str(busybox_tar), name).code == 0
    _, _, images = _store(skiff_root)
    img = images.get(name)
    layer = img.layers[0].digest
    short = layer.split(":")[1][:12]
    r = cli("push", name)
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        f"The push refers to repository [{registry.host}/{repo_name}]",
        f"{short}: Preparing", f"{short}: Pushing", f"{short}: Pushed",
        f"1: digest: {img.manifest_digest} size: {img.manifest_size}"]
    r = cli("push", name)  # everything is there already
    assert r.out.splitlines()[1:3] == [f"{short}: Preparing", f"{short}: Layer already exists"]
    info = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{name}").stdout)
    assert info["Digest"] == img.manifest_digest
    raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{name}").stdout

    other = tmp_path / "root2"
    other.mkdir()
    _in_root(other)
    r = cli("--root", str(other), "pull", name)
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        f"1: Pulling from {repo_name}", f"{short}: Pulling fs layer",
        f"{short}: Downloading", f"{short}: Verifying Checksum",
        f"{short}: Download complete", f"{short}: Pull complete",
        f"Digest: {img.manifest_digest}",
        f"Status: Downloaded newer image for {name}", name]
    _, _, images2 = _store(other)
    got = images2.get(name)
    assert got.id == img.id
    assert got.repo_digests == (f"{registry.host}/{repo_name}@{img.manifest_digest}",)
    assert images2.content.read_blob(got.manifest_digest) == raw.encode()
    r = cli("--root", str(other), "pull", name)
    assert r.out.splitlines()[-2:] == [f"Status: Image is up to date for {name}", name]
    r = cli("--root", str(other), "image", "pull", "-q",
            f"{registry.host}/{repo_name}@{img.manifest_digest}")
    assert (r.code, r.out) == (0, f"{registry.host}/{repo_name}@{img.manifest_digest}\n")
    r = cli("--root", str(other), "image", "push", "-q", name)
    assert (r.code, r.out) == (0, name + "\n")


def test_pull_errors(cli, registry, repo_name):
    r = cli("pull", f"{registry.host}/{repo_name}:nope")
    # Docker prints "Pulling from" only once the manifest was found: one error line only
    assert (r.code, r.out) == (1, "")
    assert r.err == (f"skiff: manifest for {registry.host}/{repo_name}:nope not found: "
                     "manifest unknown: manifest unknown\n")
    r = cli("pull", "a/b::1")
    assert (r.code, r.err) == (1, "skiff: invalid reference format\n")
    r = cli("push", f"{registry.host}/{repo_name}:none")
    assert (r.code, r.err) == (1, "skiff: An image does not exist locally with the tag: "
                                  f"{registry.host}/{repo_name}\n")


def test_garbage_registry_answer(cli, tmp_path):
    """A server that is not a registry: one line, exit 1."""
    import http.server
    import threading

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<html>hello</html>"
            self.send_response(200 if self.path == "/v2/" else 500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        r = cli("pull", f"127.0.0.1:{srv.server_address[1]}/a/b:1")
    finally:
        srv.shutdown()
        srv.server_close()
    assert r.code == 1
    assert r.err == ("skiff: fetching manifest for 127.0.0.1:"
                     f"{srv.server_address[1]}/a/b:1: unexpected HTTP status: "
                     "500 Internal Server Error\n")


@pytest.mark.requires_root
@pytest.mark.requires_peer("umoci")
def test_skopeo_pushed_image_is_pulled_and_runs(cli, skiff_root, registry, bb_layout,
                                                repo_name):
    from skiff.runtime import oneshot
    from skiff.snapshots import Snapshotter, unpack

    name = f"{registry.host}/{repo_name}:v1"
    skopeo("copy", "--dest-tls-verify=false", f"oci:{bb_layout}:bb", f"docker://{name}")
    r = cli("pull", name)
    assert r.code == 0, r.err
    cfg, db, images = _store(skiff_root)
    img = images.get(name)
    assert img.config.raw["config"]["Cmd"] == ["sh"]
    snap = Snapshotter(cfg, db)
    top = unpack(snap, images.content, img)
    if not os.path.exists("/usr/sbin/runc") and not os.path.exists("/usr/bin/runc"):
        pytest.skip("needs runc")
    mounts = snap.prepare(f"view-{repo_name.replace('/', '-')}", top)
    out = bytearray()
    try:
        code = oneshot.run(cfg, mounts=mounts, args=["/bin/sh", "-c", "echo pulled-and-ran"],
                           network="none", output=out.extend)
    finally:
        snap.remove(f"view-{repo_name.replace('/', '-')}")
    assert (code, bytes(out)) == (0, b"pulled-and-ran\n")


def test_dedup_second_image_uploads_only_new_layer(cli, skiff_root, registry, busybox_tar,
                                                   repo_name, tmp_path):
    import io
    import tarfile

    from skiff.images.importer import ingest_layer

    base = f"{registry.host}/{repo_name}:base"
    assert cli("import", str(busybox_tar), base).code == 0
    cfg, db, images = _store(skiff_root)
    b = images.get(base)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        data = b"layer two\n" * 1000
        ti = tarfile.TarInfo("two.txt")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    raw.seek(0)
    top = ingest_layer(images, raw)
    app = f"{registry.host}/{repo_name}-app:1"
    images.create(b.config.raw, [*b.layers, top], tags=[app])
    proxy = Proxy(registry.host)
    try:
        pbase = base.replace(registry.host, proxy.host)
        papp = app.replace(registry.host, proxy.host)
        assert cli("tag", base, pbase).code == 0 and cli("tag", app, papp).code == 0
        assert cli("push", pbase).code == 0
        before = len(proxy.rec.requests)
        r = cli("push", papp)
        assert r.code == 0, r.err
        second = proxy.rec.requests[before:]
        short = b.layers[0].digest.split(":")[1][:12]
        # the base layer was pulled/pushed from <repo>: it is mounted into <repo>-app
        assert f"{short}: Mounted from {repo_name}" in r.out.splitlines()
        sent = sum(n for m, p, _, n in second if "/blobs/uploads/" in p)
        app_img = images.get(app)
        assert sent == top.size + images.content.size(app_img.id)
    finally:
        proxy.close()


@pytest.mark.requires_root
@pytest.mark.requires_peer("umoci")
def test_rerun_resumes_partial_download_from_the_store(cli, skiff_root, registry, bb_layout,
                                                       repo_name, proxy):
    """An earlier pull that died mid-layer left its bytes in the content store's ingest;
    the rerun asks only for the rest (Range) and completes."""
    from skiff.content import ContentStore
    from skiff.registry.client.layout import OCILayout

    name = f"{registry.host}/{repo_name}:1"
    skopeo("copy", "--dest-tls-verify=false", f"oci:{bb_layout}:bb", f"docker://{name}")
    layout = OCILayout(bb_layout)
    man = json.loads(layout.read_blob(layout.resolve("bb")["digest"]))
    layer = man["layers"][0]
    data = layout.read_blob(layer["digest"])
    cfg = Config.from_env(skiff_root)
    store = ContentStore(cfg.content_dir)
    w = store.writer("pull-" + layer["digest"].replace(":", "-"),
                     expected_digest=layer["digest"], expected_size=layer["size"])
    w.write(data[:400_000])
    w.close()
    r = cli("pull", "-q", name.replace(registry.host, proxy.host))
    assert r.code == 0, r.err
    assert proxy.rec.ranges == ["bytes=400000-"]
    assert store.read_blob(layer["digest"]) == data
    assert store.list_ingests() == []


def test_schema1_is_refused(cli):
    """A registry serving Docker schema 1: a clear refusal, exit 1, nothing stored."""
    import http.server
    import threading

    body = json.dumps({"schemaVersion": 1, "name": "a/b", "tag": "1", "architecture": "amd64",
                       "fsLayers": [], "history": []}).encode()

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            if self.path != "/v2/":
                self.send_header("Content-Type",
                                 "application/vnd.docker.distribution.manifest.v1+prettyjws")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{srv.server_address[1]}"
    try:
        r = cli("pull", f"{host}/a/b:1")
    finally:
        srv.shutdown()
        srv.server_close()
    assert r.code == 1
    assert r.err == (f"skiff: pulling {host}/a/b:1: the registry serves Docker Image manifest "
                     "version 2, schema 1, which skiff does not support; push the image again "
                     "in OCI or Docker schema 2 format\n")
    assert cli("images", "-q").out == ""


@pytest.mark.requires_root
@pytest.mark.requires_runc
@pytest.mark.requires_overlay
def test_run_pulls_a_missing_image(skiff_exe, skiff_root, tmp_path, registry, busybox_tar,
                                   repo_name):
    """``skiff run`` on an image that is only in the registry pulls it, then runs it."""
    name = f"{registry.host}/{repo_name}:1"
    src = tmp_path / "src-root"
    env_root = str(src)
    import subprocess
    import sys

    def sk(root, *args):
        return subprocess.run([sys.executable, "-m", "skiff", "--root", root, *args],
                              capture_output=True, text=True, timeout=120)

    assert sk(env_root, "import", str(busybox_tar), name).returncode == 0
    assert sk(env_root, "push", "-q", name).returncode == 0
    r = skiff_exe("run", "--rm", name, "/bin/echo", "hello from the registry")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hello from the registry\n"
    assert r.stderr.decode().startswith(f"Unable to find image '{name}' locally\n")


def test_layer_not_matching_its_diff_id_is_not_kept(cli, skiff_root, registry, repo_name,
                                                    tmp_path, busybox_tar):
    import gzip

    from skiff.registry.client.layout import OCILayout
    from skiff.registry.client.pushing import push_image
    from skiff.registry.client.transport import Registry

    lay = OCILayout(tmp_path / "bad")
    gz = gzip.compress(busybox_tar.read_bytes(), compresslevel=1, mtime=0)
    layer = lay.write_blob(gz)
    wrong = "sha256:" + "0" * 64
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": [wrong]}}).encode()
    cd = lay.write_blob(cfg)
    man = lay.write_blob(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd,
                   "size": len(cfg)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer, "size": len(gz)}]}).encode())
    with Registry(registry.host) as reg:
        push_image(reg, repo_name, "bad", man, lay)
    r = cli("pull", "-q", f"{registry.host}/{repo_name}:bad")
    assert r.code == 1
    assert r.err.startswith(f"skiff: layer {layer}: digest mismatch: expected {wrong}, got ")
    assert cli("images", "-q").out == ""
    # the pull's lease is gone, and with it every blob it alone held
    _, db, images = _store(skiff_root)
    assert db.execute("SELECT COUNT(*) FROM leases").fetchone()[0] == 0
    assert sorted(d for d, _ in images.content.walk()) == []
