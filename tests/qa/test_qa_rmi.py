"""QA: ``skiff rmi`` by ID follows moby's conflict rules (daemon/images/image_delete.go)."""

from __future__ import annotations


def test_rmi_by_id_with_two_tags_must_be_forced(cli, busybox_tar):
    # docker tag img:1 img:2 && docker rmi <id>:
    # "conflict: unable to delete <id12> (must be forced) - image is referenced in multiple
    # repositories", exit 1, nothing untagged; with -f both tags go and the image is deleted.
    image_id = cli("import", str(busybox_tar), "bb:1").out.strip()
    assert cli("tag", "bb:1", "bb:2").code == 0
    short = image_id[7:19]
    r = cli("rmi", short)
    assert (r.code, r.out, r.err) == (
        1, "", f"skiff: conflict: unable to delete {short} (must be forced) - image is "
               "referenced in multiple repositories\n")
    assert cli("images", "--format", "{{.Repository}}:{{.Tag}}").out == "bb:1\nbb:2\n"
    r = cli("rmi", "-f", short)
    assert (r.code, r.out) == (0, f"Untagged: bb:1\nUntagged: bb:2\nDeleted: {image_id}\n")
    assert cli("system", "check").code == 0


def test_rmi_by_id_with_one_tag_deletes(cli, busybox_tar):
    image_id = cli("import", str(busybox_tar), "bb:1").out.strip()
    r = cli("rmi", image_id[7:19])
    assert (r.code, r.out) == (0, f"Untagged: bb:1\nDeleted: {image_id}\n")


def test_load_over_an_existing_tag_says_it_renames_the_old_image(cli, busybox_tar, tmp_path):
    # moby image/tarexport/load.go: when the archive's tag already names another image,
    # `docker load` prints "The image bb:1 already exists, renaming the old one with ID
    # sha256:... to empty string" before "Loaded image: bb:1"; the old image stays, untagged.
    first = cli("import", str(busybox_tar), "bb:1").out.strip()
    assert cli("save", "-o", str(tmp_path / "a.tar"), "bb:1").code == 0
    second = cli("import", "-c", "CMD [\"sh\"]", str(busybox_tar), "bb:1").out.strip()
    r = cli("load", "-i", str(tmp_path / "a.tar"))
    assert (r.code, r.out) == (0, f"The image bb:1 already exists, renaming the old one with "
                                  f"ID {second} to empty string\nLoaded image: bb:1\n")
    assert cli("images", "-q", "--no-trunc", "bb:1").out == first + "\n"
    assert cli("images", "-q", "--no-trunc", "-f", "dangling=true").out == second + "\n"
    r = cli("load", "-i", str(tmp_path / "a.tar"))  # same image again: no rename line
    assert (r.code, r.out) == (0, "Loaded image: bb:1\n")
