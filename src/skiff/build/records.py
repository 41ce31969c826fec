"""The build's tables in the metadata database: cache records, step history, builds, logs.

Tables (created by ``skiff.metadata._m4_build_cache``):

    build_cache      key → result of a step: its layer (or none), the top chainID and the
                     image config after the step; ``last_used`` for pruning
    build_steps      step identity (context, Dockerfile, stage, position) → the inputs of its
                     last build, to explain the next miss
    build_checksums  (context, path) → stat signature and content sha256 (context.py)
    builds           one row per build: image ID, tags, the step reports (JSON)
    build_logs       cache key → the complete output of the RUN that produced it (never clipped)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

@dataclass(frozen=True, slots=True)
class CacheRecord:
    """What a cached step produced.

    Attributes:
        key (str): the step's cache key.
        layer (dict | None): ``{"digest", "size", "media_type", "diff_id"}`` or None.
        chain_id (str | None): top chainID of the stage's layers after the step.
        config (dict): the image config after the step.
    """

    key: str
    layer: dict[str, Any] | None
    chain_id: str | None
    config: dict[str, Any]


class BuildRecords:
    """Reads and writes the build tables through one connection."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    # -- cache --------------------------------------------------------------------------
    def lookup(self, key: str) -> CacheRecord | None:
        """The record for ``key`` or None."""
        row = self.db.execute("SELECT layer, chain_id, config FROM build_cache WHERE key = ?",
                              (key,)).fetchone()
        if row is None:
            return None
        return CacheRecord(key, json.loads(row[0]) if row[0] else None, row[1],
                           json.loads(row[2]))

    def touch(self, keys: list[str]) -> None:
        """Mark records used now (for ``builder prune --filter until``)."""
        if keys:
            from skiff.metadata import transaction

            now = time.time()
            with transaction(self.db):
                self.db.executemany("UPDATE build_cache SET last_used = ? WHERE key = ?",
                                    [(now, k) for k in keys])

    def store(self, rec: CacheRecord) -> None:
        """Insert or replace a cache record."""
        from skiff.metadata import transaction

        now = time.time()
        with transaction(self.db):
            self.db.execute(
                "INSERT OR REPLACE INTO build_cache (key, created, last_used, layer, chain_id, "
                "config) VALUES (?, ?, ?, ?, ?, ?)",
                (rec.key, now, now, json.dumps(rec.layer) if rec.layer else None, rec.chain_id,
                 json.dumps(rec.config, sort_keys=True)))

    def prune(self, *, older_than: float | None = None) -> int:
        """Drop cache records (all, or those unused since ``older_than`` unix time) and the
        logs, step histories and checksums that go with them; returns records dropped."""
        return len(self.prune_records(older_than=older_than))

    def prune_records(self, *, older_than: float | None = None) -> list[CacheRecord]:
        """:meth:`prune`, returning the records dropped (their layers and chainIDs are what
        ``skiff.images.ImageService.reclaim_build_cache`` frees from the disk)."""
        from skiff.metadata import transaction

        where, params = ("", ()) if older_than is None else (" WHERE last_used < ?",
                                                             (older_than,))
        with transaction(self.db):
            rows = self.db.execute("SELECT key, layer, chain_id, config FROM build_cache"
                                   + where, params).fetchall()
            dropped = [CacheRecord(r[0], json.loads(r[1]) if r[1] else None, r[2],
                                   json.loads(r[3])) for r in rows]
            if older_than is None:
                self.db.execute("DELETE FROM build_cache")
                self.db.execute("DELETE FROM build_logs")
                self.db.execute("DELETE FROM build_steps")
                self.db.execute("DELETE FROM build_checksums")
            else:
                self.db.execute("DELETE FROM build_cache WHERE last_used < ?", (older_than,))
                self.db.execute("DELETE FROM build_logs WHERE key NOT IN "
                                "(SELECT key FROM build_cache)")
        return dropped

    # -- step history (for miss explanations) --------------------------------------------
    def last_inputs(self, step_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT inputs FROM build_steps WHERE step_id = ?",
                              (step_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_inputs(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        from skiff.metadata import transaction

        now = time.time()
        with transaction(self.db):
            self.db.executemany(
                "INSERT OR REPLACE INTO build_steps (step_id, inputs, updated) VALUES (?, ?, ?)",
                [(sid, json.dumps(inp, sort_keys=True), now) for sid, inp in items])

    # -- builds and logs --------------------------------------------------------------------
    def save_log(self, key: str, log: bytes) -> None:
        from skiff.metadata import transaction

        with transaction(self.db):
            self.db.execute("INSERT OR REPLACE INTO build_logs (key, log) VALUES (?, ?)",
                            (key, log))

    def log(self, key: str) -> bytes | None:
        row = self.db.execute("SELECT log FROM build_logs WHERE key = ?", (key,)).fetchone()
        return bytes(row[0]) if row else None

    def save_build(self, build_id: str, image_id: str | None, tags: list[str],
                   report: dict[str, Any]) -> None:
        from skiff.metadata import transaction

        with transaction(self.db):
            self.db.execute(
                "INSERT OR REPLACE INTO builds (id, created, image_id, tags, report) "
                "VALUES (?, ?, ?, ?, ?)",
                (build_id, time.time(), image_id, json.dumps(tags), json.dumps(report)))

    def find_build(self, ref: str) -> tuple[str, dict[str, Any]] | None:
        """A build by ID (or unique prefix), or the latest build that made image ``ref``
        (an image ID, ``sha256:`` optional, or a short ID)."""
        row = self.db.execute("SELECT id, report FROM builds WHERE id = ?", (ref,)).fetchone()
        if row is None and len(ref) >= 4:
            rows = self.db.execute("SELECT id, report FROM builds WHERE id LIKE ?",
                                   (ref + "%",)).fetchall()
            if len(rows) == 1:
                row = rows[0]
        if row is None:
            img = ref if ref.startswith("sha256:") else "sha256:" + ref
            row = self.db.execute(
                "SELECT id, report FROM builds WHERE image_id LIKE ? ORDER BY created DESC "
                "LIMIT 1", (img + "%",)).fetchone()
        return (row[0], json.loads(row[1])) if row else None
