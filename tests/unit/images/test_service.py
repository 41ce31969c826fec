"""ImageService: import, names, lookup, removal, prune, chainIDs — against a real store."""

from __future__ import annotations

import gzip
import io
import json
import time

import pytest

from skiff import digest, metadata
from skiff.errors import ImageNotFound, InvalidArgument
from skiff.images import ImageService, Layer
from skiff.images.check import check
from skiff.oci import mediatypes
from tests.unit.images.helpers import rootfs_tar

TAR = rootfs_tar({"etc/hostname": b"skiff\n", "hello": b"world\n"})


def _blob_files(svc):
    return sorted(p.name for p in (svc.config.content_dir / "blobs" / "sha256").iterdir())


def test_import_builds_docker_config_and_oci_manifest(svc):
    img = svc.import_rootfs(io.BytesIO(TAR), tag="app:1", changes=[
        'CMD ["sh"]', "ENV A=1 B=two", "WORKDIR /srv", "USER app", "EXPOSE 80 53/udp",
        "LABEL k=v", "ENTRYPOINT /bin/run"])
    raw = img.config.raw
    assert raw["rootfs"] == {"type": "layers", "diff_ids": [digest.of_bytes(TAR)]}
    assert raw["config"] == {"Cmd": ["sh"], "Env": ["A=1", "B=two"], "WorkingDir": "/srv",
                             "User": "app", "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
                             "Labels": {"k": "v"}, "Entrypoint": ["/bin/sh", "-c", "/bin/run"]}
    assert raw["comment"] == "Imported from -"
    assert raw["history"] == [{"created": raw["created"], "comment": "Imported from -"}]
    assert (raw["os"], raw["architecture"]) == ("linux", "amd64")
    assert img.id == digest.of_bytes(svc.content.read_blob(img.id))
    assert img.manifest.media_type == mediatypes.OCI_MANIFEST
    (layer,) = img.layers
    assert layer.media_type == mediatypes.OCI_LAYER_GZIP
    assert gzip.decompress(svc.content.read_blob(layer.digest)) == TAR
    assert layer.uncompressed_size == len(TAR)
    assert layer.unpacked_size == len(b"skiff\n") + len(b"world\n") == img.size
    assert img.repo_tags == ("app:1",)
    assert img.chain_id == digest.of_bytes(TAR)
    assert svc.chain_ids_in_use() == {digest.of_bytes(TAR)}
    assert check(svc).problems == []


def test_same_tar_twice_shares_the_layer_blob(svc):
    a = svc.import_rootfs(io.BytesIO(TAR), tag="a")
    time.sleep(0.01)
    b = svc.import_rootfs(io.BytesIO(TAR), tag="b")
    assert a.id != b.id  # created differs
    assert a.layers[0].digest == b.layers[0].digest
    # one layer + two configs + two manifests
    assert len(_blob_files(svc)) == 5


@pytest.mark.parametrize("data,why", [
    (TAR[:1000], "invalid tar archive: unexpected EOF"),
    (b"this is not a tar archive" * 40, "invalid tar archive: archive/tar: invalid tar header"),
    (gzip.compress(TAR)[:-12], "invalid tar archive: decompressing"),
])
def test_bad_tar_leaves_store_unchanged(svc, data, why):
    svc.import_rootfs(io.BytesIO(TAR), tag="keep")
    before = _blob_files(svc)
    with pytest.raises(InvalidArgument) as e:
        svc.import_rootfs(io.BytesIO(data), tag="bad")
    assert str(e.value).startswith(why)
    assert _blob_files(svc) == before
    assert [i.repo_tags for i in svc.list()] == [("keep:latest",)]
    assert svc.content.list_ingests() == []
    assert check(svc).unreferenced == 0


def test_compressed_input_accepted(svc):
    img = svc.import_rootfs(io.BytesIO(gzip.compress(TAR)))
    assert img.diff_ids == [digest.of_bytes(TAR)]
    assert img.repo_tags == ()


def test_bad_change_refused(svc):
    with pytest.raises(InvalidArgument) as e:
        svc.import_rootfs(io.BytesIO(TAR), changes=["RUN echo"])
    assert str(e.value) == "run is not a valid change command"  # docker 20.10's words
    assert list(svc.content.walk()) == []


def test_lookup_by_name_id_prefix_and_digest(svc):
    img = svc.import_rootfs(io.BytesIO(TAR), tag="busybox")
    hexid = img.id.split(":")[1]
    for ref in ["busybox", "busybox:latest", "docker.io/library/busybox:latest", img.id,
                hexid, hexid[:12], hexid[:3], "sha256:" + hexid[:12],
                f"busybox@{img.manifest_digest}"]:
        assert svc.get(ref).id == img.id, ref
    with pytest.raises(ImageNotFound) as e:
        svc.get("nope")
    assert str(e.value) == "No such image: nope:latest"


def test_tag_moves_and_untag(svc):
    a = svc.import_rootfs(io.BytesIO(TAR), tag="x:1")
    b = svc.import_rootfs(io.BytesIO(rootfs_tar({"f": b"2"})))
    assert svc.tag(b.id, "x:1") == "docker.io/library/x:1"
    assert svc.get("x:1").id == b.id
    assert svc.get(a.id).repo_tags == ()
    with pytest.raises(InvalidArgument):
        svc.tag(b.id, "x@sha256:" + "a" * 64)
    svc.untag("x:1")
    with pytest.raises(ImageNotFound):
        svc.get("x:1")


def test_rmi_untags_then_deletes(svc):
    img = svc.import_rootfs(io.BytesIO(TAR), tag="a:1")
    svc.tag("a:1", "a:2")
    r = svc.remove(["a:1"])
    assert (r.untagged, r.deleted, r.errors) == (["a:1"], [], [])
    r = svc.remove(["a:2"])
    assert (r.untagged, r.deleted) == (["a:2"], [img.id])
    assert list(svc.content.walk()) == []
    assert svc.list() == []
    assert svc.chain_ids_in_use() == set()


def test_rmi_by_id_in_several_repositories_needs_force(svc):
    img = svc.import_rootfs(io.BytesIO(TAR), tag="a")
    svc.tag("a", "b")
    r = svc.remove([img.short_id])
    assert r.errors == [f"conflict: unable to delete {img.short_id} (must be forced) - "
                        "image is referenced in multiple repositories"]
    assert r.exit_code == 1
    r = svc.remove([img.short_id], force=True)
    assert (r.untagged, r.deleted) == (["a:latest", "b:latest"], [img.id])


def test_rmi_keeps_shared_layer(svc):
    a = svc.import_rootfs(io.BytesIO(TAR), tag="a")
    svc.import_rootfs(io.BytesIO(TAR), tag="b")
    svc.remove(["a"])
    assert svc.content.exists(a.layers[0].digest)
    assert not svc.content.exists(a.id)
    assert check(svc).problems == []


def _add_container(svc, image_id, status):
    with metadata.transaction(svc.db):
        svc.db.execute("INSERT INTO containers (id, name, image_id, created, data) VALUES (?,?,?,?,?)",
                       ("c" * 64, "ctr", image_id, time.time(),
                        json.dumps({"State": {"Status": status}})))


def test_rmi_refuses_image_in_use(svc):
    img = svc.import_rootfs(io.BytesIO(TAR), tag="used")
    _add_container(svc, img.id, "exited")
    r = svc.remove(["used"])
    assert r.errors == ['conflict: unable to remove repository reference "used" (must force) - '
                        f"container cccccccccccc is using its referenced image {img.short_id}"]
    r = svc.remove([img.id])
    assert r.errors == [f"conflict: unable to delete {img.short_id} (must be forced) - "
                        "image is being used by stopped container cccccccccccc"]
    r = svc.remove(["used"], force=True)
    assert (r.untagged, r.deleted, r.errors) == (["used:latest"], [], [])
    assert svc.get(img.id).repo_tags == ()  # kept, dangling, for the container


def test_rmi_running_container_cannot_be_forced(svc):
    img = svc.import_rootfs(io.BytesIO(TAR))
    _add_container(svc, img.id, "running")
    r = svc.remove([img.id], force=True)
    assert r.errors == [f"conflict: unable to delete {img.short_id} (cannot be forced) - "
                        "image is being used by running container cccccccccccc"]


def test_prune_dangling_and_all(svc):
    keep = svc.import_rootfs(io.BytesIO(TAR), tag="keep")
    dang = svc.import_rootfs(io.BytesIO(rootfs_tar({"x": b"1"})))
    report, freed = svc.prune()
    assert report.deleted == [dang.id]
    assert freed > 0
    report, _ = svc.prune(all=True)
    assert (report.untagged, report.deleted) == (["keep:latest"], [keep.id])
    assert list(svc.content.walk()) == []


def test_create_with_parent_and_child_protection(svc):
    base = svc.import_rootfs(io.BytesIO(TAR), tag="base")
    lay = svc.import_rootfs(io.BytesIO(rootfs_tar({"y": b"2"}))).layers[0]
    child = svc.create({"architecture": "amd64", "os": "linux", "config": {}},
                       [*base.layers, lay], tags=["child"], parent=base.id)
    assert child.parent == base.id
    assert len(child.chain_ids) == 2
    assert child.chain_ids[0] == base.chain_id
    svc.untag("base")
    r = svc.remove([base.id])
    assert r.errors == [f"conflict: unable to delete {base.short_id} (cannot be forced) - "
                        "image has dependent child images"]
    r = svc.remove(["child"])
    assert child.id in r.deleted and base.id in r.deleted  # the untagged parent goes too


def test_create_requires_layer_blobs(svc):
    from skiff.errors import NotFound

    with pytest.raises(NotFound):
        svc.create({}, [Layer("sha256:" + "0" * 64, 1, mediatypes.OCI_LAYER_GZIP, "sha256:" + "1" * 64)])


def test_migration_3_from_version_2(tmp_path):
    db = metadata.connect(tmp_path / "m.db", migrate=False)
    metadata.upgrade(db, 2)
    db.execute("INSERT INTO layer_sizes (diff_id, size) VALUES ('sha256:a', 5)")
    assert metadata.upgrade(db) == metadata.SCHEMA_VERSION
    assert tuple(db.execute("SELECT size, unpacked FROM layer_sizes").fetchone()) == (5, None)


def test_migration_2_from_version_1(tmp_path):
    db = metadata.connect(tmp_path / "m.db", migrate=False)
    metadata.upgrade(db, 1)
    db.execute("INSERT INTO images (id, manifest_digest, manifest_media_type, manifest_size, added)"
               " VALUES ('sha256:x', 'sha256:y', 'm', 1, 0)")
    assert metadata.upgrade(db) == metadata.SCHEMA_VERSION
    assert db.execute("SELECT last_tag_time FROM images").fetchone()[0] is None
    db.execute("INSERT INTO layer_sizes (diff_id, size) VALUES ('sha256:a', 5)")


def test_record_pulled_manifest_takes_over(svc):
    """record() with repo digests (a pull) stores the image under the registry's manifest."""
    img = svc.import_rootfs(io.BytesIO(TAR), tag="local")
    m = json.loads(svc.content.read_blob(img.manifest_digest))
    m["mediaType"] = mediatypes.DOCKER_MANIFEST
    m["config"]["mediaType"] = mediatypes.DOCKER_CONFIG
    m["layers"][0]["mediaType"] = mediatypes.DOCKER_LAYER_GZIP
    pulled = json.dumps(m, indent=3).encode()
    md = svc.content.write_blob(pulled)
    got = svc.record(md, tags=["registry.example:5000/app:1"],
                     repo_digests=[f"registry.example:5000/app@{md}"])
    assert got.id == img.id
    assert got.manifest_digest == md
    assert got.manifest.media_type == mediatypes.DOCKER_MANIFEST
    assert got.repo_digests == (f"registry.example:5000/app@{md}",)
    assert got.repo_tags == ("local:latest", "registry.example:5000/app:1")
    assert svc.get(f"registry.example:5000/app@{md}").id == img.id
    assert not svc.content.exists(img.manifest_digest)  # the replaced manifest is collected
    assert check(svc).problems == []


def test_measure_layers_after_a_pull_like_record(svc):
    """An image recorded without sizes (as a pull records it) gets Docker's sizes measured."""
    img = svc.import_rootfs(io.BytesIO(TAR), tag="a")
    with metadata.transaction(svc.db):
        svc.db.execute("DELETE FROM layer_sizes")
    bare = svc.get("a")
    assert bare.layers[0].unpacked_size is None
    assert bare.size == bare.layers[0].size  # falls back to the blob size
    measured = svc.measure_layers("a")
    assert measured.layers[0].uncompressed_size == len(TAR)
    assert measured.size == img.size == 12


def test_measure_layers_detects_wrong_diff_id(svc):
    from skiff.errors import DigestMismatch

    other = svc.import_rootfs(io.BytesIO(rootfs_tar({"z": b"1"})))
    bad = svc.create({"architecture": "amd64", "os": "linux"},
                     [Layer(other.layers[0].digest, other.layers[0].size,
                            mediatypes.OCI_LAYER_GZIP, digest.of_bytes(TAR))], tags=["bad"])
    with pytest.raises(DigestMismatch) as e:
        svc.measure_layers("bad")
    assert f"expected {digest.of_bytes(TAR)}, got {other.diff_ids[0]}" in str(e.value)
    assert bad.layers[0].unpacked_size is None


def test_leases_are_dropped_after_success_and_failure(svc):
    svc.import_rootfs(io.BytesIO(TAR), tag="ok")
    with pytest.raises(InvalidArgument):
        svc.import_rootfs(io.BytesIO(TAR[:600]), tag="bad")
    assert svc.db.execute("SELECT COUNT(*) FROM leases").fetchone()[0] == 0
    assert svc.db.execute("SELECT COUNT(*) FROM lease_resources").fetchone()[0] == 0


def test_expired_lease_of_a_killed_import_is_reaped(svc):
    """What a kill -9 between blob commit and image record leaves is removed on next start."""
    from skiff.images.service import LEASE_OWNER

    kept = svc.import_rootfs(io.BytesIO(TAR), tag="keep")
    orphan = svc.content.write_blob(b"left by a killed import")
    with metadata.transaction(svc.db):
        svc.db.execute("INSERT INTO leases (id, created, expires, labels) VALUES (?, ?, ?, ?)",
                       ("dead", 0, time.time() - 1, json.dumps({"owner": LEASE_OWNER})))
        for d in (orphan, kept.layers[0].digest):
            svc.db.execute("INSERT INTO lease_resources VALUES ('dead', 'content', ?)", (d,))
        svc.db.execute("INSERT INTO leases (id, created, expires, labels) VALUES "
                       "('live', 0, ?, '{}')", (time.time() + 60,))
    ImageService(svc.config, svc.db)
    assert not svc.content.exists(orphan)
    assert svc.content.exists(kept.layers[0].digest)
    assert [r[0] for r in svc.db.execute("SELECT id FROM leases")] == ["live"]
    assert check(svc).problems == []


def test_list_survives_a_damaged_image(svc):
    good = svc.import_rootfs(io.BytesIO(TAR), tag="good")
    bad = svc.import_rootfs(io.BytesIO(rootfs_tar({"q": b"1"})), tag="bad")
    svc.content.delete(bad.manifest_digest)
    assert [i.id for i in svc.list()] == [good.id]
    assert check(svc).problems == [f"image {bad.id}: manifest {bad.manifest_digest}: "
                                   f"blob {bad.manifest_digest}: not found"]
