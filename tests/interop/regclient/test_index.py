"""Multi-platform images: index push (children first), platform selection on pull,
``ensure_image`` policies and ``pull -a``."""

from __future__ import annotations

import json

import pytest

from skiff.errors import ImageNotFound, InvalidArgument, NotFound
from skiff.registry.client.layout import OCILayout
from skiff.registry.client.manifests import Platform
from skiff.registry.client.pulling import pull_image
from skiff.registry.client.pushing import push_image
from skiff.registry.client.transport import Registry
from tests.interop.regclient.servers import skopeo

pytestmark = [pytest.mark.requires_peer("skopeo", "docker-registry")]


def make_index(layout: OCILayout, busybox_tar_bytes: bytes) -> tuple[str, dict[str, str]]:
    """An OCI index over two manifests (linux/amd64, linux/arm64/v8) sharing one layer;
    returns (index digest, {platform: manifest digest})."""
    import gzip

    from skiff import digest as dg

    gz = gzip.compress(busybox_tar_bytes, compresslevel=1, mtime=0)
    layer = layout.write_blob(gz)
    diff = dg.of_bytes(busybox_tar_bytes)
    children, out = [], {}
    for plat in ("linux/amd64", "linux/arm64/v8"):
        os_, arch, *var = plat.split("/")
        cfg = json.dumps({"architecture": arch, "os": os_, **({"variant": var[0]} if var else {}),
                          "rootfs": {"type": "layers", "diff_ids": [diff]},
                          "config": {"Cmd": ["sh"], "Labels": {"plat": plat}}}).encode()
        cd = layout.write_blob(cfg)
        man = json.dumps({"schemaVersion": 2,
                          "mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                     "digest": cd, "size": len(cfg)},
                          "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                      "digest": layer, "size": len(gz)}]}).encode()
        md = layout.write_blob(man)
        out[plat] = md
        p = {"os": os_, "architecture": arch, **({"variant": var[0]} if var else {})}
        children.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                         "digest": md, "size": len(man), "platform": p})
    idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                      "manifests": children}).encode()
    return layout.write_blob(idx), out


@pytest.fixture
def pushed_index(registry, repo_name, tmp_path, busybox_tar):
    src = OCILayout(tmp_path / "idx")
    idx, mans = make_index(src, busybox_tar.read_bytes())
    with Registry(registry.host) as reg:
        res = push_image(reg, repo_name, "multi", idx, src)
    assert res.digest == idx
    return idx, mans


def test_index_push_and_platform_pull(registry, repo_name, tmp_path, pushed_index):
    idx, mans = pushed_index
    raw = json.loads(skopeo("inspect", "--raw", "--tls-verify=false",
                            f"docker://{registry.host}/{repo_name}:multi").stdout)
    assert [m["digest"] for m in raw["manifests"]] == list(mans.values())
    with Registry(registry.host) as reg:
        host = pull_image(reg, repo_name, "multi", OCILayout(tmp_path / "a"))
        arm = pull_image(reg, repo_name, "multi", OCILayout(tmp_path / "b"),
                         platform=Platform.parse("linux/arm64"))
        with pytest.raises(NotFound) as ei:
            pull_image(reg, repo_name, "multi", OCILayout(tmp_path / "c"),
                       platform=Platform.parse("linux/s390x"), what=f"{repo_name}:multi")
    assert (host.digest, host.manifest.digest) == (idx, mans["linux/amd64"])
    assert (arm.digest, arm.manifest.digest) == (idx, mans["linux/arm64/v8"])
    assert str(ei.value) == (f"pulling {repo_name}:multi: no matching manifest for "
                             "linux/s390x in the manifest list entries")


def test_cli_pull_platform_and_ensure_image(cli, skiff_root, registry, repo_name,
                                            pushed_index):
    from skiff import metadata
    from skiff.config import Config
    from skiff.registry.client.api import ensure_image

    idx, mans = pushed_index
    name = f"{registry.host}/{repo_name}:multi"
    r = cli("pull", "-q", "--platform", "linux/arm64", name)
    assert (r.code, r.out) == (0, name + "\n")
    cfg = Config.from_env(skiff_root)
    db = metadata.connect(cfg.metadata_path)
    img = ensure_image(cfg, db, name, pull="never")
    assert img.manifest_digest == mans["linux/arm64/v8"]
    assert img.repo_digests == (f"{registry.host}/{repo_name}@{idx}",)
    assert ensure_image(cfg, db, name, pull="missing").id == img.id   # local: no pull
    again = ensure_image(cfg, db, name, pull="always")                # host platform
    assert again.manifest_digest == mans["linux/amd64"]
    with pytest.raises(ImageNotFound):
        ensure_image(cfg, db, f"{registry.host}/{repo_name}:other", pull="never")
    with pytest.raises(InvalidArgument):
        ensure_image(cfg, db, name, pull="sometimes")


def test_cli_pull_all_tags(cli, registry, repo_name, pushed_index):
    from skiff.registry.client.manifests import fetch_manifest
    from skiff.registry.client.pushing import put_manifest

    with Registry(registry.host) as reg:
        f = fetch_manifest(reg, repo_name, "multi", what="x")
        put_manifest(reg, repo_name, "second", f.data, f.media_type)
    r = cli("pull", "-a", "-q", f"{registry.host}/{repo_name}")
    assert (r.code, r.out) == (0, f"{registry.host}/{repo_name}\n")
    r = cli("images", "--format", "{{.Tag}}", f"{registry.host}/{repo_name}")
    assert sorted(r.out.split()) == ["multi", "second"]
    r = cli("pull", "-a", f"{registry.host}/{repo_name}:multi")
    assert (r.code, r.err) == (1, "skiff: tag can't be used with --all-tags/-a\n")
