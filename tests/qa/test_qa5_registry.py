"""QA pass 5: pull/push against Debian's docker-registry, compared with docker 20.10."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    if not shutil.which("docker-registry"):
        pytest.skip("peer tool 'docker-registry' not installed")
    from tests.interop.regclient.servers import start_registry

    r = start_registry(tmp_path_factory.mktemp("qa5-registry"))
    yield r
    r.stop()


@pytest.fixture
def pushed(cli, busybox_tar, registry):
    """(name:1, repo@digest) of a busybox image pushed and still tagged locally."""
    name = f"{registry.host}/qa5/p"
    assert cli("import", str(busybox_tar), f"{name}:1").code == 0
    assert cli("push", "-q", f"{name}:1").code == 0
    digest = cli("image", "inspect", "-f", "{{index .RepoDigests 0}}", f"{name}:1").out.strip()
    return f"{name}:1", digest


def test_pull_by_a_new_digest_reference_says_downloaded_newer_image(cli, pushed):
    # docker rmi NAME:1 (its repo digest goes with it; another tag keeps the image), then
    # docker pull NAME@DIGEST: the reference is new, so "Status: Downloaded newer image
    # for NAME@DIGEST"; pulled again: "Status: Image is up to date for NAME@DIGEST".
    tagged, digest = pushed
    assert cli("tag", tagged, "keep:1").code == 0
    r = cli("rmi", tagged)
    assert r.out == f"Untagged: {tagged}\nUntagged: {digest}\n"
    r = cli("pull", digest)
    assert r.code == 0, r.err
    assert r.out.splitlines()[-2:] == [f"Status: Downloaded newer image for {digest}", digest]
    r = cli("pull", digest)
    assert r.out.splitlines()[-2:] == [f"Status: Image is up to date for {digest}", digest]


def test_pull_of_an_image_already_in_the_store_prints_no_layer_lines(cli, pushed):
    # moby pull_v2 pullSchema2: when the image's config is already in the image store,
    # nothing is pulled and no per-layer line is printed:
    #   1: Pulling from qa5/p / Digest: sha256:... / Status: Image is up to date for ...
    tagged, digest = pushed
    r = cli("pull", tagged)
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        "1: Pulling from qa5/p", f"Digest: {digest.split('@')[1]}",
        f"Status: Image is up to date for {tagged}", tagged]
