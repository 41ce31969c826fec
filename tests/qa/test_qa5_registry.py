"""QA pass 5: pull/push against Debian's docker-registry, compared with docker 20.10."""

from __future__ import annotations

import pytest


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


def test_pull_without_a_tag_says_using_default_tag(cli, pushed, registry):
    # docker/cli pull.go: a name without tag or digest prints "Using default tag: latest"
    # first (not with -q), also when the pull then fails.
    tagged, digest = pushed
    latest = tagged.rsplit(":", 1)[0] + ":latest"
    assert cli("tag", tagged, latest).code == 0
    assert cli("push", "-q", latest).code == 0
    r = cli("pull", tagged.rsplit(":", 1)[0])
    assert (r.code, r.out.splitlines()) == (0, [
        "Using default tag: latest", "latest: Pulling from qa5/p",
        f"Digest: {digest.split('@')[1]}", f"Status: Image is up to date for {latest}",
        latest])
    r = cli("pull", "-q", tagged.rsplit(":", 1)[0])
    assert (r.code, r.out) == (0, latest + "\n")
    r = cli("pull", f"{registry.host}/qa5/none")
    assert (r.code, r.out) == (1, "Using default tag: latest\n")
    assert r.err == (f"skiff: manifest for {registry.host}/qa5/none:latest not found: "
                     "manifest unknown: manifest unknown\n")


def test_pull_all_tags_prints_each_digest_after_its_tag_and_one_status(cli, busybox_tar,
                                                                       registry):
    # docker pull -a REPO: per tag "<tag>: Pulling from <path>", its layers, "Digest: ...";
    # then one "Status: ... for REPO" (newer if any tag changed) and REPO.
    repo = f"{registry.host}/qa5/all"
    assert cli("import", str(busybox_tar), f"{repo}:1").code == 0
    assert cli("push", "-q", f"{repo}:1").code == 0
    digest = cli("image", "inspect", "-f", "{{index .RepoDigests 0}}", f"{repo}:1").out.strip()
    assert cli("import", "-c", "CMD [\"sh\"]", "-", f"{repo}:2",
               stdin=_tar_of_one_file()).code == 0
    assert cli("push", "-q", f"{repo}:2").code == 0
    d2 = cli("image", "inspect", "-f", "{{index .RepoDigests 0}}", f"{repo}:2").out.strip()
    r = cli("pull", "-a", repo)
    assert (r.code, r.out.splitlines()) == (0, [
        "1: Pulling from qa5/all", f"Digest: {digest.split('@')[1]}",
        "2: Pulling from qa5/all", f"Digest: {d2.split('@')[1]}",
        f"Status: Image is up to date for {repo}", repo])
    assert cli("rmi", f"{repo}:2").code == 0
    r = cli("pull", "-a", repo)
    assert r.out.splitlines()[-2:] == [f"Status: Downloaded newer image for {repo}", repo]
    r = cli("pull", "-a", "-q", repo)
    assert (r.code, r.out) == (0, repo + "\n")


def _tar_of_one_file() -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"two\n"
        ti = tarfile.TarInfo("two.txt")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_rmi_by_digest_untags_it_once(cli, pushed):
    # docker rmi REPO@DIGEST (another repository's tag keeps the image): one line
    # "Untagged: REPO@DIGEST"; skiff printed it twice
    tagged, digest = pushed
    assert cli("tag", tagged, "keep:2").code == 0
    assert cli("rmi", tagged).code == 0
    assert cli("pull", "-q", digest).code == 0
    r = cli("rmi", digest)
    assert (r.code, r.out) == (0, f"Untagged: {digest}\n")


def test_push_refuses_a_digest_reference_and_a_tag_with_all_tags(cli, pushed):
    # docker/cli push.go and moby distribution: exit 1, nothing pushed
    #   push REPO@DIGEST  → "cannot push a digest reference"
    #   push -a REPO:TAG  → "tag can't be used with --all-tags/-a"
    tagged, digest = pushed
    r = cli("push", digest)
    assert (r.code, r.out, r.err) == (1, "", "skiff: cannot push a digest reference\n")
    r = cli("push", "-a", tagged)
    assert (r.code, r.out, r.err) == (1, "", "skiff: tag can't be used with --all-tags/-a\n")
