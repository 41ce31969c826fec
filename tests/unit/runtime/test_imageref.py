"""runtime.imageref.quick_resolve answers as ImageService does, or leaves it to it."""

from __future__ import annotations

from skiff import metadata
from skiff.config import Config
from skiff.images import ImageService
from skiff.runtime.imageref import quick_resolve
from skiff.snapshots import Snapshotter, unpack


def test_quick_resolve_matches_the_image_service(cli, skiff_root, busybox_tar):
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    assert cli("tag", "bb:1", "example.org/team/app").code == 0
    cfg = Config.from_env()
    db = metadata.connect(cfg.metadata_path)
    images = ImageService(cfg, db)
    img = images.get("bb:1")
    # not unpacked yet: the service has to do it
    assert quick_resolve(db, cfg.content_dir, "bb:1") is None
    unpack(Snapshotter(cfg, db), images.content, img)
    want = (img.id, img.config.config, img.chain_id)
    assert img.chain_id is not None
    for ref in ("bb:1", "docker.io/library/bb:1", " bb:1", "example.org/team/app",
                "example.org/team/app:latest"):
        assert quick_resolve(db, cfg.content_dir, ref) == want, ref
    # everything else is ImageService's to answer (IDs, prefixes, digests, unknown, bad)
    for ref in (img.id, img.id[7:19], f"bb@{img.manifest_digest}", "bb:2", "nope", "",
                "UPPER:case", "bb:1:2"):
        assert quick_resolve(db, cfg.content_dir, ref) is None, ref
    db.close()


def test_one_component_names_normalize_as_the_reference_grammar():
    from skiff import reference
    from skiff.runtime.imageref import _official_name

    for s in ("bb", "bb:1", "busybox:latest", "a.b_c__d-e--f:T_1.x-y", "localhost:5000",
              "x" * 100 + ":" + "t" * 20, "9" * 63, "a" * 64 + ":v1"):
        assert _official_name(s) == str(reference.parse_normalized_named(s).tagged_or_latest()), s
    # left to skiff.reference: paths, domains, digests, IDs, upper case, bad tags
    for s in ("library/bb", "example.org/bb", "bb@sha256:" + "a" * 64, "a" * 64, "Bb", "bb:",
              "bb:-x", ":1", "bb..c", "-bb", "bb:" + "t" * 129, "x" * 129):
        assert _official_name(s) is None, s

