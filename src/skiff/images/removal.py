"""Removing images as ``docker rmi`` and ``docker image prune`` do, and collecting blobs.

Mixed into :class:`skiff.images.service.ImageService` (the methods use its ``db``,
``content``, ``resolve``, ``list``, ``children`` and lease state).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from skiff import reference
from skiff.errors import Conflict, ImageNotFound, InvalidArgument, NotFound, SkiffError
from skiff.images.model import RemoveReport
from skiff.metadata import transaction
from skiff.oci import Manifest

if TYPE_CHECKING:
    import sqlite3

    from skiff.content import ContentStore


def _short(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]


def _parse_until(v: str) -> float:
    """``until=`` as Docker takes it (see skiff.format.humanize.parse_timestamp_ns), in seconds."""
    from skiff.format.humanize import parse_timestamp_ns

    return parse_timestamp_ns(v) / 1e9  # (its error is dockerd's text)


class RemovalMixin:
    """rmi, prune and blob collection for ImageService."""

    db: sqlite3.Connection
    content: ContentStore
    _lease: str | None

    def _containers_using(self, image_id: str) -> list[tuple[str, bool]]:
        """(container ID, running?) of containers created from the image."""
        out = []
        for r in self.db.execute("SELECT id, data FROM containers WHERE image_id = ?", (image_id,)):
            running = False
            try:
                state = json.loads(r["data"]).get("State") or {}
                running = bool(state.get("Running")) or state.get("Status") in ("running", "paused",
                                                                                 "restarting")
            except (ValueError, AttributeError):
                pass
            out.append((r["id"], running))
        return out

    def _names_of(self, image_id: str) -> tuple[list[str], list[str]]:
        tags = [r[0] for r in self.db.execute("SELECT name FROM tags WHERE image_id = ? ORDER BY name",
                                              (image_id,))]
        digests = [r[0] for r in self.db.execute(
            "SELECT name FROM repo_digests WHERE image_id = ? ORDER BY name", (image_id,))]
        return tags, digests

    def remove(self, refs: Iterable[str], force: bool = False, prune: bool = True) -> RemoveReport:
        """``docker rmi``: untag, and delete images left without names.

        A name that is not the image's last reference is only untagged. Deleting by ID
        refuses (Conflict, unless ``force``) an image referenced in several repositories or
        used by a stopped container; never one used by a running container or with child
        images. ``prune`` also deletes untagged parents left unused. Errors are collected
        per reference in the report (``exit_code`` 1), as ``docker rmi`` continues.
        """
        report = RemoveReport()
        for r in refs:
            try:
                self._remove_one(r, force, prune, report)
            except ImageNotFound:
                report.errors.append(f"No such image: {r}")  # (docker rmi: as typed)
            except SkiffError as e:
                report.errors.append(str(e))
        if report.deleted:
            self.release_snapshots()
        return report

    def _has_build_cache(self) -> bool:
        return self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                               "AND name = 'build_cache'").fetchone() is not None

    def _snapshots_to_keep(self) -> set[str]:
        keep = self.chain_ids_in_use()
        if self._has_build_cache():
            keep |= {r[0] for r in self.db.execute(
                "SELECT chain_id FROM build_cache WHERE chain_id IS NOT NULL")}
        return keep

    def release_snapshots(self) -> list[str]:
        """Remove unpacked layer levels (snapshots named by chainID) that no image and no
        build-cache record needs any more, so an image's layers leave the disk with its last
        user, as Docker's rmi frees them. Returns the snapshot keys removed."""
        from skiff.snapshots import Snapshotter

        return Snapshotter(self.config, self.db).prune(self._snapshots_to_keep())

    def reclaim_build_cache(self, layer_digests: Iterable[str]) -> int:
        """Free the disk space of dropped build-cache records (``BuildRecords.prune_records``):
        their layer blobs that no image, lease or remaining record names, and the unpacked
        levels nobody needs any more. Returns the bytes freed (blob sizes plus the snapshot
        sizes recorded at commit): ``docker builder prune``'s "Total reclaimed space"."""
        from skiff.snapshots import Snapshotter

        still = set()
        if self._has_build_cache():
            for (layer,) in self.db.execute(
                    "SELECT layer FROM build_cache WHERE layer IS NOT NULL"):
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    still.add(json.loads(layer)["digest"])
        freed = self._collect_blobs(set(layer_digests) - still)
        snaps = Snapshotter(self.config, self.db)
        keep = self._snapshots_to_keep()
        sizes = {i.key: i.size or 0 for i in snaps.list()
                 if i.key.startswith("sha256:") and i.key not in keep}
        return freed + sum(sizes.get(k, 0) for k in snaps.prune(keep))

    def _remove_one(self, r: str, force: bool, prune: bool, report: RemoveReport) -> None:
        image_id, by_name = self.resolve(r)
        tags, digests = self._names_of(image_id)
        users = self._containers_using(image_id)
        if by_name is not None:
            others = [n for n in tags + digests if n != by_name]
            # Docker: the repo digests of the same repository go with its last tag (when a
            # tag was named; a digest reference goes alone).
            repo = reference.parse_normalized_named(by_name).name
            if "@" not in by_name and not any(
                    reference.parse_normalized_named(n).name == repo and n != by_name
                    for n in tags):
                same_repo_digests = [n for n in digests if n.split("@")[0] == repo]
            else:
                same_repo_digests = []
            remaining = [n for n in others if n not in same_repo_digests]
            if remaining:
                # moby image_delete.go: the repo's digest references go with its last tag
                # even when another repository's tag keeps the image.
                self._drop_names([by_name, *same_repo_digests], report)
                return
            if users and not force:
                raise Conflict("conflict", f'unable to remove repository reference "{r}" '
                               f"(must force) - container {users[0][0][:12]} is using its "
                               f"referenced image {_short(image_id)}")
            self._drop_names([by_name, *same_repo_digests], report)
            if users:
                return
            self._delete(image_id, prune, report)
            return
        # by ID: Docker's conflict order (children, running; then, unless forced, names
        # when they are not a single reference, stopped containers).
        if self.children(image_id):
            raise Conflict("conflict", f"unable to delete {_short(image_id)} (cannot be forced) - "
                           "image has dependent child images")
        running = [c for c, run in users if run]
        if running:
            raise Conflict("conflict", f"unable to delete {_short(image_id)} (cannot be forced) - "
                           f"image is being used by running container {running[0][:12]}")
        if not force and (tags or digests) and not _single_reference(tags, digests):
            raise Conflict("conflict", f"unable to delete {_short(image_id)} (must be forced) - "
                           "image is referenced in multiple repositories")
        if users and not force:
            raise Conflict("conflict", f"unable to delete {_short(image_id)} (must be forced) - "
                           f"image is being used by stopped container {users[0][0][:12]}")
        self._drop_names(tags + digests, report)
        self._delete(image_id, prune, report)

    def _drop_names(self, names: list[str], report: RemoveReport) -> None:
        with transaction(self.db):
            for n in names:
                table = "repo_digests" if "@" in n else "tags"
                self.db.execute(f"DELETE FROM {table} WHERE name = ?", (n,))
        report.untagged.extend(reference.parse_normalized_named(n).familiar() for n in names)

    def _blobs_of(self, image_id: str, manifest_digest: str) -> set[str]:
        out = {image_id, manifest_digest}
        try:
            m = Manifest.from_bytes(self.content.read_blob(manifest_digest))
            out.update(d.digest for d in m.layers)
        except SkiffError:
            pass
        return out

    def _delete(self, image_id: str, prune: bool, report: RemoveReport) -> int:
        """Delete an untagged image record and its unshared blobs; return bytes freed."""
        if self.children(image_id) or self._containers_using(image_id):
            return 0
        row = self._row(image_id)
        if row is None:
            return 0
        parent = row["parent"]
        with transaction(self.db):
            self.db.execute("DELETE FROM tags WHERE image_id = ?", (image_id,))
            self.db.execute("DELETE FROM repo_digests WHERE image_id = ?", (image_id,))
            self.db.execute("DELETE FROM images WHERE id = ?", (image_id,))
        report.deleted.append(image_id)
        freed = self._collect_blobs(self._blobs_of(image_id, row["manifest_digest"]))
        if prune and parent and self._row(parent) is not None:
            tags, digests = self._names_of(parent)
            if not tags and not digests:
                freed += self._delete(parent, prune, report)
        return freed

    def _collect_blobs(self, candidates: set[str]) -> int:
        """Delete those of ``candidates`` no remaining image or lease references."""
        keep: set[str] = set()
        for r in self.db.execute("SELECT id, manifest_digest FROM images"):
            keep |= self._blobs_of(r[0], r[1])
        keep |= {r[0] for r in self.db.execute(  # other operations' leases
            "SELECT ref FROM lease_resources WHERE kind = 'content' AND lease_id IS NOT ?",
            (self._lease,))}
        freed = 0
        for d in candidates - keep:
            try:
                n = self.content.size(d)
                self.content.delete(d)
                freed += n
            except NotFound:
                pass
        return freed

    def prune(self, all: bool = False, filters: Sequence[str] = ()) -> tuple[RemoveReport, int]:
        """``docker image prune [-a] [--filter label[!]=K[=V]|until=T]``: delete dangling images
        (``all``: every image no container uses); ``until`` takes a Go duration (``24h``,
        ``90m``), a unix time or an RFC 3339 time. Returns the report and bytes freed."""
        from skiff.images.inspect import parse_time

        report = RemoveReport()
        freed = 0
        used = {r[0] for r in self.db.execute("SELECT image_id FROM containers WHERE image_id IS NOT NULL")}
        until = None
        labels: list[tuple[str, str | None]] = []
        not_labels: list[tuple[str, str | None]] = []
        for f in filters:
            k, _, v = f.partition("=")
            if k == "until":
                until = _parse_until(v)
            elif k in ("label", "label!"):
                lk, eq, lv = v.partition("=")
                (labels if k == "label" else not_labels).append((lk, lv if eq else None))
            else:
                raise InvalidArgument(f"Invalid filter '{k}'")
        for img in self.list():
            if img.id in used or self._row(img.id) is None:
                continue
            if until is not None and not parse_time(img.created) < until:
                continue
            il = img.config.config.get("Labels") or {}
            if any(lk not in il or (lv is not None and il[lk] != lv) for lk, lv in labels):
                continue
            # moby matchLabels: label! spares an image that matches all of them
            if not_labels and not any(lk not in il or (lv is not None and il[lk] != lv)
                                      for lk, lv in not_labels):
                continue
            tags, digests = self._names_of(img.id)
            if tags and not all:
                continue
            if self.children(img.id):
                continue
            self._drop_names(tags + digests, report)
            freed += self._delete(img.id, True, report)
        if report.deleted:
            self.release_snapshots()
        return report, freed


def _single_reference(tags: list[str], digests: list[str]) -> bool:
    """Moby's isSingleReference: at most one tag, and every name in one repository
    (the tag's digest references count as the same repository). False when empty."""
    if len(tags) + len(digests) <= 1:
        return len(tags) + len(digests) == 1
    if len(tags) > 1:
        return False
    repos = {d.split("@")[0] for d in digests}
    single = reference.parse_normalized_named(tags[0]).name if tags else next(iter(repos))
    return len(repos) == 1 and single in repos
