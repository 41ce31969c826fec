"""QA pass 3: push/pull against Debian's docker-registry as a Docker user does it."""

from __future__ import annotations

import shutil

import pytest


def test_image_pulled_by_digest_only_is_listed_by_reference(cli, busybox_tar, registry):
    # Docker: `docker images REPO` / `--filter reference=REPO*` match the image's digest
    # references too; an image pulled by digest only is listed as REPO <none> (moby
    # daemon/images ImageService.Images). skiff matched tags only and listed nothing.
    name = f"{registry.host}/qa3/dig"
    assert cli("import", str(busybox_tar), f"{name}:1").code == 0
    assert cli("push", "-q", f"{name}:1").code == 0
    digest = cli("image", "inspect", "-f", "{{index .RepoDigests 0}}", f"{name}:1").out.strip()
    image_id = cli("image", "inspect", "-f", "{{.Id}}", f"{name}:1").out.strip()
    assert cli("rmi", f"{name}:1").code == 0
    r = cli("pull", "-q", digest)
    assert (r.code, r.out) == (0, digest + "\n")
    want = f"{name}|<none>|{digest.split('@')[1]}|{image_id[7:19]}\n"
    fmt = "{{.Repository}}|{{.Tag}}|{{.Digest}}|{{.ID}}"
    assert cli("images", "--format", fmt, name).out == want
    assert cli("images", "--format", fmt, "--filter", f"reference={registry.host}/qa3/*").out == want
    assert cli("images", "--format", fmt, f"{registry.host}/qa3/other").out == ""


def test_push_without_tag_and_missing_tags_say_what_docker_says(cli, busybox_tar):
    # docker push REPO: "Using default tag: latest", "The push refers to repository [...]",
    # then "tag does not exist: REPO:latest" when REPO has other tags, or "An image does not
    # exist locally with the tag: REPO" when it has none; exit 1.
    assert cli("import", str(busybox_tar), "127.0.0.1:9/qa3/m:a").code == 0
    r = cli("push", "127.0.0.1:9/qa3/m")
    assert (r.code, r.out, r.err) == (
        1, "Using default tag: latest\nThe push refers to repository [127.0.0.1:9/qa3/m]\n",
        "skiff: tag does not exist: 127.0.0.1:9/qa3/m:latest\n")
    r = cli("push", "127.0.0.1:9/qa3/none:1")
    assert (r.code, r.out, r.err) == (
        1, "The push refers to repository [127.0.0.1:9/qa3/none]\n",
        "skiff: An image does not exist locally with the tag: 127.0.0.1:9/qa3/none\n")


def test_push_without_credentials_says_no_basic_auth_credentials(cli, busybox_tar,
                                                                 tmp_path_factory,
                                                                 monkeypatch, tmp_path):
    # Docker against an htpasswd registry without a login: "no basic auth credentials";
    # skiff's first request (a HEAD, no error body) said "unexpected HTTP status: 401".
    for tool in ("docker-registry", "htpasswd"):
        if not shutil.which(tool):
            pytest.skip(f"peer tool {tool!r} not installed")
    from tests.interop.regclient.servers import start_registry

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    r = start_registry(tmp_path_factory.mktemp("qa3-auth"), user="alice", password="s3cret")
    try:
        name = f"{r.host}/qa3/auth:1"
        assert cli("import", str(busybox_tar), name).code == 0
        res = cli("push", "-q", name)
        assert res.code == 1
        assert res.err.startswith("skiff: checking blob sha256:")
        assert res.err.endswith(": no basic auth credentials\n")
    finally:
        r.stop()


def test_rmi_during_push_does_not_break_the_push(busybox_tar, registry, tmp_path):
    # Docker's push holds references to the layers it uploads; an rmi meanwhile does not
    # make it fail. skiff's rmi deleted the blob being uploaded.
    from skiff import metadata
    from skiff.config import Config
    from skiff.images import ImageService
    from skiff.images.check import check
    from skiff.registry.client import api
    from skiff.registry.client.progress import NullProgress

    cfg = Config(root=tmp_path / "root")
    cfg.root.mkdir()
    db, db2 = metadata.connect(cfg.metadata_path), metadata.connect(cfg.metadata_path)
    svc, other = ImageService(cfg, db), ImageService(cfg, db2)
    name = f"{registry.host}/qa3/race:1"
    with open(busybox_tar, "rb") as f:
        img = svc.import_rootfs(f, tag=name)

    class RemoveOnFirstLayer(NullProgress):
        removed = False

        def status(self, key: str, text: str) -> None:
            if not self.removed:
                self.removed = True
                assert other.remove([name]).deleted == [img.id]

    rep = api.push_report(cfg, db, name, progress=RemoveOnFirstLayer())
    assert rep.tag == "1" and rep.digest.startswith("sha256:")
    r = check(svc)
    assert (r.problems, r.blobs, r.names) == ([], 0, 0)
    db.close()
    db2.close()
