"""Build RUN steps under the store's ``userns-remap`` (real runc, overlayfs, idmapped mounts).

Docker's classic builder runs RUN steps as its containers: in the remapped range, the
step's process a mapped host uid; the layer's files hold the container's ids (what root
made is ``0:0``, what ``USER app`` made is ``1000:1000``), never the host's."""

from __future__ import annotations

import io
import json
import os
import tarfile
import threading
import time

import pytest

from skiff.snapshots import idmap
from tests.integration import runtime_support
from tests.integration.test_runtime_userns import _skiff_base

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay,
              pytest.mark.skipif(not idmap.supported(), reason="kernel without idmapped mounts")]

DOCKERFILE = """FROM bb:1
RUN id -u > /u && cat /proc/self/uid_map > /m && touch /f && chmod 640 /etc/group && \
    mkdir -p /srv/own && chown app:app /srv/own && sleep 2 && echo remap-marker >/dev/null
USER app
RUN touch /tmp/mine
"""


@pytest.fixture
def root(busybox_tar):
    yield from runtime_support.store(busybox_tar, searchable=True)


def _host_ids_of(marker: str, seen: list, stop: threading.Event) -> None:
    """Poll /proc for the RUN step's shell (its command line has ``marker``): its host ids."""
    while not stop.is_set() and not seen:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if marker.encode() not in f.read():
                        continue
                with open(f"/proc/{pid}/status") as f:
                    st = dict(ln.split(":", 1) for ln in f.read().splitlines() if ":" in ln)
            except OSError:
                continue
            seen.append((int(st["Uid"].split()[0]), int(st["Gid"].split()[0])))
            return
        time.sleep(0.05)


def _layer_members(tar_path, index: int) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(tar_path) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        blob = t.extractfile(manifest[0]["Layers"][index]).read()
    with tarfile.open(fileobj=io.BytesIO(blob)) as lt:
        out = {}
        for m in lt.getmembers():
            data = lt.extractfile(m).read() if m.isfile() else b""
            out[m.name.removeprefix("./")] = (m, data)
        return out


def test_remapped_run_steps_make_container_owned_layers(root, tmp_path, monkeypatch):
    monkeypatch.setenv("SKIFF_USERNS_REMAP", "default")
    sk = runtime_support.runner(root)
    base_uid, base_gid = _skiff_base()
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    seen: list = []
    stop = threading.Event()
    poll = threading.Thread(target=_host_ids_of, args=("remap-marker", seen, stop), daemon=True)
    poll.start()
    try:
        res = sk("build", "-q", "-t", "remapped:1", str(ctx))
    finally:
        stop.set()
        poll.join()
    assert res.code == 0, res
    assert seen == [(base_uid, base_gid)]  # the step's process, seen from the host
    out = tmp_path / "img.tar"
    assert sk("save", "-o", str(out), "remapped:1").code == 0, res
    first = _layer_members(out, 1)
    assert first["u"][1] == b"0\n"
    assert first["m"][1].split() == [b"0", str(base_uid).encode(), b"65536"]
    owners = {n: (m.uid, m.gid, m.mode) for n, (m, _) in first.items()
              if n in ("f", "u", "etc/group", "srv/own", "srv")}
    assert owners == {"f": (0, 0, 0o644), "u": (0, 0, 0o644), "etc/group": (0, 0, 0o640),
                      "srv": (0, 0, 0o755), "srv/own": (1000, 1000, 0o755)}
    second = _layer_members(out, 2)
    mine = second["tmp/mine"][0]
    assert (mine.uid, mine.gid) == (1000, 1000)


MOUNTS_DOCKERFILE = """FROM bb:1 AS stage
RUN mkdir /sd && echo s > /sd/f && chown 1000:1000 /sd/f
FROM bb:1
RUN --mount=type=bind,target=/ctx stat -c '%u:%g %n' /ctx /ctx/file > /out-ctx
RUN --mount=type=bind,from=stage,source=/sd,target=/sd stat -c '%u:%g %n' /sd /sd/f > /out-stage
RUN --mount=type=cache,target=/cache,uid=1000,gid=1000 touch /cache/x && \
    chown 1000:1000 /cache/x && stat -c '%u:%g %n' /cache /cache/x > /out-cache
RUN --mount=type=secret,id=s stat -c '%u:%g %n' /run/secrets/s > /out-secret && \
    cat /run/secrets/s >> /out-secret
RUN stat -c '%u:%g %n' /etc/hosts /etc/resolv.conf > /out-etc
"""


@pytest.mark.parametrize("shift", ["idmap", "copy"])
def test_remapped_run_mounts_show_the_sources_ids(root, tmp_path, monkeypatch, shift):
    # the bind/cache/secret sources appear with their own ids (the context's root-owned
    # files as 0:0, the stage's app file as 1000:1000), as a RUN --mount step sees them
    # without the remap, instead of as the overflow id (65534) of unmapped host ids;
    # "copy": without idmapped mounts (chowned copies, the cache shifted and back).
    # The expected text is what docker 20.10.24's BuildKit gave for this Dockerfile, its
    # daemon --userns-remap=default (context and secret files root's on the host)
    monkeypatch.setenv("SKIFF_USERNS_REMAP", "default")
    if shift == "copy":
        monkeypatch.setenv("SKIFF_USERNS_SHIFT", "copy")
    sk = runtime_support.runner(root)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(MOUNTS_DOCKERFILE)
    (ctx / "file").write_text("x\n")
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    os.chmod(secret, 0o644)
    res = sk("build", "-q", "-t", "remounts:1", "--secret", f"id=s,src={secret}", str(ctx))
    assert res.code == 0, res
    res = sk("run", "--rm", "remounts:1", "cat", "/out-ctx", "/out-stage", "/out-cache",
             "/out-secret", "/out-etc")
    assert (res.code, res.out) == (0, "0:0 /ctx\n0:0 /ctx/file\n"
                                      "0:0 /sd\n1000:1000 /sd/f\n"
                                      "1000:1000 /cache\n1000:1000 /cache/x\n"
                                      "0:0 /run/secrets/s\ns3cret\n"
                                      "0:0 /etc/hosts\n0:0 /etc/resolv.conf\n"), res
    # what the step wrote into the cache is stored with the container's ids
    caches = list((root / "build-cache-mounts").iterdir())
    assert [(os.stat(c / "x").st_uid, os.stat(c / "x").st_gid) for c in caches] == [(1000, 1000)]
    assert sk("rmi", "remounts:1").code == 0
