"""ImageService: names → images over the content store and the metadata database.

An image is recorded by its config digest (the image ID) with the manifest it was stored
under; ``tags`` and ``repo_digests`` map normalized names to image IDs. Blobs (manifest,
config, layers) live in the content store; removing an image deletes the blobs no other
image (and no lease) still references. Unpacked layers are the snapshotter's business:
:meth:`ImageService.chain_ids_in_use` tells its GC which chainIDs images still need.

Docker behaviour followed: ``docker images``/``rmi``/``tag``/``inspect``/``history``/
``image prune`` (moby daemon/images), messages included.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, BinaryIO

from skiff import digest as _digest
from skiff import reference
from skiff.content import ContentStore
from skiff.errors import ImageNotFound, InvalidArgument, NotFound, SkiffError
from skiff.images.model import Image, Layer
from skiff.images.removal import RemovalMixin
from skiff.metadata import transaction
from skiff.oci import Descriptor, ImageConfig, Manifest, canonical_json, mediatypes

if TYPE_CHECKING:
    import sqlite3

    from skiff.config import Config

_HEX_PREFIX = re.compile(r"^[0-9a-f]{1,64}$")
LEASE_TTL_S = 3600.0  # how long a killed import/load's blobs stay before they are reaped
LEASE_OWNER = "skiff.images"


class ImageService(RemovalMixin):
    """The local image store (one per engine root).

    Args:
        config (Config): the engine configuration (``content_dir`` holds the blobs).
        db (sqlite3.Connection): the metadata database (``skiff.metadata.connect``).
    """

    def __init__(self, config: Config, db: sqlite3.Connection,
                 content: ContentStore | None = None):
        self.config = config
        self.db = db
        self.content = content or ContentStore(config.content_dir)
        self._lease: str | None = None
        # DESIGN.md: partial writes are cleaned on start (only day-old, unlocked ones), and
        # blobs a killed import/load left behind (its lease expired) are removed.
        self.content.cleanup_ingests(older_than_s=24 * 3600)
        self._reap_expired_leases()

    # ---------------------------------------------------------------- leases
    @contextlib.contextmanager
    def leased(self, ttl_s: float = LEASE_TTL_S, *,
               collect_on_error: bool = True) -> Iterator[str]:
        """Hold a lease (a GC root) on every blob written inside the block.

        Blobs are added (:meth:`protect`) before they become visible. On success the lease
        is dropped (the image records now reference the blobs); on an exception the blobs
        the block added and nothing else references are deleted again (unless
        ``collect_on_error`` is False: a build's blobs may belong to its cache records);
        after ``kill -9`` the lease expires and the next ImageService removes them.
        """
        if self._lease is not None:  # nested: join the outer lease
            yield self._lease
            return
        lid = "images-" + uuid.uuid4().hex
        now = time.time()
        from skiff.procinfo import start_time

        pid = os.getpid()  # a lease whose process is gone (kill -9) is reaped at once
        labels = {"owner": LEASE_OWNER, "pid": pid, "start": start_time(pid),
                  "collect": collect_on_error}
        with transaction(self.db):
            self.db.execute("INSERT INTO leases (id, created, expires, labels) VALUES (?, ?, ?, ?)",
                            (lid, now, now + ttl_s, json.dumps(labels)))
        self._lease = lid
        try:
            yield lid
        except BaseException:
            self._lease = None
            self._drop_lease(lid, collect=collect_on_error)
            raise
        self._lease = None
        self._drop_lease(lid, collect=False)

    def protect(self, digest: str) -> None:
        """Add ``digest`` to the current lease (no-op outside :meth:`leased`)."""
        if self._lease is not None:
            self.db.execute("INSERT OR IGNORE INTO lease_resources (lease_id, kind, ref) "
                            "VALUES (?, 'content', ?)", (self._lease, digest))

    def _drop_lease(self, lid: str, *, collect: bool) -> None:
        blobs = {r[0] for r in self.db.execute(
            "SELECT ref FROM lease_resources WHERE lease_id = ? AND kind = 'content'", (lid,))}
        with transaction(self.db):
            self.db.execute("DELETE FROM leases WHERE id = ?", (lid,))
        if collect and blobs:
            self._collect_blobs(blobs)

    def _reap_expired_leases(self) -> None:
        """Drop this service's leases that expired or whose process (pid + start time in
        the labels) is gone, collecting their blobs unless the lease said not to (a
        build's: its layers belong to the build cache)."""
        from skiff.procinfo import start_time

        try:
            rows = self.db.execute("SELECT id, labels, expires FROM leases").fetchall()
        except Exception:  # a database without the leases table (never with migrations)
            return
        now = time.time()
        for r in rows:
            try:
                labels = json.loads(r["labels"])
                owner = labels.get("owner")
            except (ValueError, AttributeError):
                continue
            if owner != LEASE_OWNER:
                continue
            expired = r["expires"] is not None and r["expires"] < now
            pid = labels.get("pid")
            dead = isinstance(pid, int) and start_time(pid) != labels.get("start")
            if expired or dead:
                self._drop_lease(r["id"], collect=labels.get("collect", True) is not False)

    # ---------------------------------------------------------------- reading
    def _layer_sizes(self, diff_ids: Iterable[str]) -> dict[str, tuple[int, int | None]]:
        ids = list(diff_ids)
        if not ids:
            return {}
        q = ",".join("?" * len(ids))
        return {r["diff_id"]: (r["size"], r["unpacked"]) for r in self.db.execute(
            f"SELECT diff_id, size, unpacked FROM layer_sizes WHERE diff_id IN ({q})", ids)}

    def _from_row(self, row: sqlite3.Row) -> Image:
        image_id = row["id"]
        manifest = Manifest.from_bytes(self.content.read_blob(row["manifest_digest"]),
                                       row["manifest_media_type"])
        config = ImageConfig.from_bytes(self.content.read_blob(image_id))
        diff_ids = config.diff_ids
        if len(diff_ids) != len(manifest.layers):
            raise InvalidArgument(f"image {image_id}",
                                  "manifest layers and config diff_ids differ in number")
        sizes = self._layer_sizes(diff_ids)
        layers = tuple(Layer(d.digest, d.size, d.media_type, diff, *sizes.get(diff, (None, None)))
                       for d, diff in zip(manifest.layers, diff_ids, strict=True))
        tags = sorted(reference.parse_normalized_named(r[0]).familiar() for r in self.db.execute(
            "SELECT name FROM tags WHERE image_id = ?", (image_id,)))
        digests = sorted(reference.parse_normalized_named(r[0]).familiar() for r in self.db.execute(
            "SELECT name FROM repo_digests WHERE image_id = ?", (image_id,)))
        return Image(id=image_id, config=config, manifest=manifest,
                     manifest_digest=row["manifest_digest"], manifest_size=row["manifest_size"],
                     layers=layers, repo_tags=tuple(tags), repo_digests=tuple(digests),
                     parent=row["parent"], added=row["added"],
                     last_tag_time=row["last_tag_time"])

    def _row(self, image_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM images WHERE id = ?", (image_id,)).fetchone()

    def resolve(self, ref_or_id: str) -> tuple[str, str | None]:
        """Find an image; return (image ID, the normalized name it was found by or None).

        Order as Docker's: a full ``sha256:`` ID, a name (tag or ``repo@digest``), then a
        unique ID prefix. Raises ImageNotFound (``No such image: <ref>``).
        """
        s = ref_or_id.strip()
        if s.startswith("sha256:"):
            hit = self._by_prefix(s[7:]) if _HEX_PREFIX.match(s[7:]) else None
            if hit:
                return hit, None
            raise ImageNotFound("No such image", s)
        shown = s
        try:
            ref = reference.parse_normalized_named(s)
        except InvalidArgument:
            ref = None
        if ref is not None:
            shown = ref.tagged_or_latest().familiar()
            if ref.digest:
                name = f"{ref.name}@{ref.digest}"
                r = self.db.execute("SELECT image_id FROM repo_digests WHERE name = ?",
                                    (name,)).fetchone()
                if r:
                    return r[0], name
                r = self.db.execute("SELECT id FROM images WHERE manifest_digest = ?",
                                    (ref.digest,)).fetchone()
                if r:
                    return r[0], None
            else:
                name = str(ref.tagged_or_latest())
                r = self.db.execute("SELECT image_id FROM tags WHERE name = ?", (name,)).fetchone()
                if r:
                    return r[0], name
        if _HEX_PREFIX.match(s):
            hit = self._by_prefix(s)
            if hit:
                return hit, None
        raise ImageNotFound("No such image", shown)

    def _by_prefix(self, hexprefix: str) -> str | None:
        rows = self.db.execute("SELECT id FROM images WHERE id LIKE ? LIMIT 2",
                               (f"sha256:{hexprefix}%",)).fetchall()
        if len(rows) > 1:
            raise InvalidArgument(f"image ID prefix {hexprefix}", "ambiguous: matches several images")
        return rows[0][0] if rows else None

    def get(self, ref_or_id: str) -> Image:
        """The image named by ``ref_or_id`` (name, ``repo@sha256:..``, full or short ID).

        Raises ImageNotFound (``No such image: busybox:latest``).
        """
        image_id, _ = self.resolve(ref_or_id)
        row = self._row(image_id)
        if row is None:
            raise ImageNotFound("No such image", ref_or_id)
        return self._from_row(row)

    def exists(self, ref_or_id: str) -> bool:
        try:
            self.resolve(ref_or_id)
        except (ImageNotFound, InvalidArgument):
            return False
        return True

    def list(self) -> list[Image]:
        """Every image, newest (config ``created``) first.

        An image whose manifest or config blob is unreadable is left out (``skiff system
        check`` names it) so one damaged record does not hide the others.
        """
        imgs = []
        for r in self.db.execute("SELECT * FROM images").fetchall():
            try:
                imgs.append(self._from_row(r))
            except (SkiffError, ValueError):
                continue
        imgs.sort(key=lambda i: (i.created, i.added), reverse=True)
        return imgs

    def children(self, image_id: str) -> list[str]:
        """IDs of images recorded with ``image_id`` as their parent."""
        return [r[0] for r in self.db.execute("SELECT id FROM images WHERE parent = ?", (image_id,))]

    def chain_ids_in_use(self) -> set[str]:
        """Every chainID (each level of each image's stack) some image still needs."""
        out: set[str] = set()
        for r in self.db.execute("SELECT id FROM images"):
            try:
                cfg = ImageConfig.from_bytes(self.content.read_blob(r[0]))
            except SkiffError:
                continue
            out.update(_digest.chain_ids(cfg.diff_ids))
        return out

    # ---------------------------------------------------------------- writing
    def create(self, config: dict, layers: Sequence[Layer], *, tags: Iterable[str] = (),
               parent: str | None = None) -> Image:
        """Write ``config`` (canonical JSON) and an OCI manifest over ``layers``; record; tag.

        ``config["rootfs"]["diff_ids"]`` is set from the layers. Every layer blob must
        already be in the content store (NotFound otherwise). Returns the stored Image.
        Used by import, load, build and commit.
        """
        tags = list(tags)
        for t in tags:  # refuse bad names before writing anything
            if reference.parse(t).digest:
                raise InvalidArgument(f"tag {t}", "refusing to create a tag with a digest reference")
        cfg = dict(config)
        cfg["rootfs"] = {"type": "layers", "diff_ids": [x.diff_id for x in layers]}
        for x in layers:
            if not self.content.exists(x.digest):
                raise NotFound(f"layer {x.digest}", "blob not in the content store")
        cbytes = canonical_json(cfg)
        self.protect(_digest.of_bytes(cbytes))
        config_digest = self.content.write_blob(cbytes)
        manifest = Manifest(config=Descriptor(mediatypes.OCI_CONFIG, config_digest, len(cbytes)),
                            layers=tuple(Descriptor(x.media_type, x.digest, x.size) for x in layers))
        mbytes = manifest.to_json()
        self.protect(_digest.of_bytes(mbytes))
        manifest_digest = self.content.write_blob(mbytes)
        sizes = {x.diff_id: x.uncompressed_size for x in layers if x.uncompressed_size is not None}
        unpacked = {x.diff_id: x.unpacked_size for x in layers if x.unpacked_size is not None}
        return self.record(manifest_digest, tags=tags, parent=parent, layer_sizes=sizes,
                           unpacked_sizes=unpacked)

    def record(self, manifest_digest: str, *, tags: Iterable[str] = (),
               repo_digests: Iterable[str] = (), parent: str | None = None,
               layer_sizes: dict[str, int] | None = None,
               unpacked_sizes: dict[str, int] | None = None) -> Image:
        """Record an image whose manifest, config and layers are in the content store.

        For pull and load, which keep the manifest bytes they received (so RepoDigests
        match the registry's). ``repo_digests`` are ``repo@sha256:...`` strings.
        ``layer_sizes`` (diffID → tar bytes) and ``unpacked_sizes`` (diffID → Docker's
        unpacked size) are remembered for SIZE columns when the caller knows them.
        Raises NotFound (a blob missing), InvalidArgument (bad manifest/config).
        """
        mbytes = self.content.read_blob(manifest_digest)
        manifest = Manifest.from_bytes(mbytes)
        if not self.content.exists(manifest.config.digest):
            raise NotFound(f"config {manifest.config.digest}", "blob not in the content store")
        config = ImageConfig.from_bytes(self.content.read_blob(manifest.config.digest))
        if len(config.diff_ids) != len(manifest.layers):
            raise InvalidArgument(f"image {manifest.config.digest}",
                                  "manifest layers and config diff_ids differ in number")
        for d in manifest.layers:
            if not mediatypes.is_layer(d.media_type):
                raise InvalidArgument(f"layer {d.digest}", f"unsupported media type {d.media_type!r}")
            if not self.content.exists(d.digest):
                raise NotFound(f"layer {d.digest}", "blob not in the content store")
        names = [reference.parse(t) for t in tags]
        for n in names:
            if n.digest:
                raise InvalidArgument(f"tag {n.familiar()}", "refusing to create a tag with a digest reference")
        dnames = [reference.parse_normalized_named(d) for d in repo_digests]
        image_id = manifest.config.digest
        now = time.time()
        with transaction(self.db):
            self.db.execute(
                "INSERT OR IGNORE INTO images (id, manifest_digest, manifest_media_type, "
                "manifest_size, added, parent) VALUES (?, ?, ?, ?, ?, ?)",
                (image_id, manifest_digest, manifest.media_type, len(mbytes), now, parent))
            prev = self.db.execute("SELECT manifest_digest FROM images WHERE id = ?",
                                   (image_id,)).fetchone()[0]
            if dnames:
                # A pull brings the registry's manifest: it becomes the one the image is
                # stored under, so RepoDigests and a later push name the same bytes.
                self.db.execute(
                    "UPDATE images SET manifest_digest = ?, manifest_media_type = ?, "
                    "manifest_size = ? WHERE id = ?",
                    (manifest_digest, manifest.media_type, len(mbytes), image_id))
            for diff_id, size in (layer_sizes or {}).items():
                self.db.execute(
                    "INSERT INTO layer_sizes (diff_id, size) VALUES (?, ?) "
                    "ON CONFLICT(diff_id) DO UPDATE SET size = excluded.size", (diff_id, size))
            for diff_id, size in (unpacked_sizes or {}).items():
                self.db.execute(
                    "INSERT INTO layer_sizes (diff_id, size, unpacked) VALUES (?, ?, ?) "
                    "ON CONFLICT(diff_id) DO UPDATE SET unpacked = excluded.unpacked",
                    (diff_id, (layer_sizes or {}).get(diff_id, size), size))
            for n in names:
                self._set_tag(str(n), image_id, now)
            for d in dnames:
                if not d.digest:
                    raise InvalidArgument(f"repo digest {d}", "no digest")
                self.db.execute("INSERT OR REPLACE INTO repo_digests (name, image_id) VALUES (?, ?)",
                                (f"{d.name}@{d.digest}", image_id))
        if prev != manifest_digest and not self.db.in_transaction:
            # The manifest not kept (a second copy, or the one a pull replaced) goes.
            self._collect_blobs({prev, manifest_digest})
        return self.get(image_id)

    def _set_tag(self, name: str, image_id: str, now: float) -> None:
        self.db.execute("INSERT OR REPLACE INTO tags (name, image_id, updated) VALUES (?, ?, ?)",
                        (name, image_id, now))
        self.db.execute("UPDATE images SET last_tag_time = ? WHERE id = ?", (now, image_id))

    def tag(self, image_ref: str, name: str) -> str:
        """``docker tag SOURCE TARGET``: point ``name`` at the image; return the normalized name.

        A name already in use moves (the old image may become dangling).
        Raises ImageNotFound, InvalidArgument (bad name, or a digest in the target).
        """
        image_id, _ = self.resolve(image_ref)
        ref = reference.parse(name)
        if ref.digest:
            raise InvalidArgument("refusing to create a tag with a digest reference")
        with transaction(self.db):
            self._set_tag(str(ref), image_id, time.time())
        return str(ref)

    def untag(self, name: str) -> None:
        """Remove one tag (or ``repo@digest`` reference); NotFound if it is not there."""
        ref = reference.parse_normalized_named(name)
        key = f"{ref.name}@{ref.digest}" if ref.digest else str(ref.tagged_or_latest())
        table = "repo_digests" if ref.digest else "tags"
        with transaction(self.db):
            cur = self.db.execute(f"DELETE FROM {table} WHERE name = ?", (key,))
        if cur.rowcount == 0:
            raise ImageNotFound("No such image", ref.tagged_or_latest().familiar())

    def measure_layers(self, ref_or_id: str) -> Image:
        """Fill in the unknown sizes of an image's layers (after a pull): each such layer is
        decompressed once, streaming, its diffID checked and its tar and unpacked sizes
        recorded. Returns the image as now recorded.

        Raises DigestMismatch when a layer does not decompress to its config diffID,
        InvalidArgument for a corrupt layer.
        """
        from skiff.errors import DigestMismatch
        from skiff.images.layermeter import LayerMeter

        img = self.get(ref_or_id)
        tar_sizes: dict[str, int] = {}
        unpacked: dict[str, int] = {}
        for lay in img.layers:
            if lay.unpacked_size is not None and lay.uncompressed_size is not None:
                continue
            meter = LayerMeter(lay.digest)
            with self.content.open(lay.digest) as f:
                while chunk := f.read(1 << 20):
                    meter.feed(chunk)
            m = meter.close()
            if m is None:  # bzip2/xz: the general reader
                m = _measure_reader(self.content, lay.digest)
            if m.diff_id != lay.diff_id:
                raise DigestMismatch(f"layer {lay.digest}", lay.diff_id, m.diff_id)
            tar_sizes[lay.diff_id] = m.tar_size
            unpacked[lay.diff_id] = m.unpacked_size
        if unpacked:
            with transaction(self.db):
                for d, size in unpacked.items():
                    self.db.execute(
                        "INSERT INTO layer_sizes (diff_id, size, unpacked) VALUES (?, ?, ?) "
                        "ON CONFLICT(diff_id) DO UPDATE SET size = excluded.size, "
                        "unpacked = excluded.unpacked", (d, tar_sizes[d], size))
        return self.get(img.id)

    # ---------------------------------------------------------------- import / archives
    def import_rootfs(self, stream: BinaryIO, *, tag: str | None = None,
                      changes: Sequence[str] = (), message: str | None = None) -> Image:
        """``docker import``: see :func:`skiff.images.importer.import_rootfs`."""
        from skiff.images.importer import import_rootfs

        return import_rootfs(self, stream, tag=tag, changes=changes, message=message)

    def save(self, refs: Sequence[str], out: BinaryIO, platforms: Sequence = ()) -> None:
        """``docker save``: see :func:`skiff.images.archive.save`."""
        from skiff.images.archive import save

        save(self, refs, out, platforms)

    def load(self, stream: BinaryIO, platforms: Sequence = ()) -> list[tuple[str, str | None]]:
        """``docker load``: see :func:`skiff.images.archive.load`."""
        from skiff.images.archive import load

        return load(self, stream, platforms)


def _measure_reader(content, digest: str):
    """LayerMeasure of a blob in any compression ``skiff.layers.compression`` reads."""
    from skiff.images.layermeter import LayerMeasure
    from skiff.images.tarcheck import TarChecker
    from skiff.layers.compression import decompressed

    h, n, chk = hashlib.sha256(), 0, TarChecker()
    with content.open(digest) as f:
        src = decompressed(f)
        try:
            while chunk := src.read(1 << 20):
                h.update(chunk)
                chk.feed(chunk)
                n += len(chunk)
        except (OSError, EOFError) as e:
            raise InvalidArgument(f"layer {digest}", f"decompressing: {e}") from None
    chk.close()
    return LayerMeasure("sha256:" + h.hexdigest(), n, chk.content_size)
