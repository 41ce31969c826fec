"""Where each blob was last seen on a registry, for cross-repository mounts on push.

Docker keeps the same facts ("v2 metadata": digest → repositories it came from or went
to) so that pushing an image whose base was pulled from ``reg/library/base`` mounts the
base layers into ``reg/me/app`` instead of uploading them. A small SQLite file of its own
(``<root>/registry-client/sources.db``; ``<root>/registry`` is the
registry server's default storage): it is a cache — losing it costs uploads, never data.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

MAX_CANDIDATES = 3  # mount sources tried per blob (Docker tries a few, newest first)


class BlobSources:
    """``record(host, repo, digests)`` after a pull or push; ``candidates(host, digest)``
    gives the repositories of ``host`` known to hold ``digest``, most recent first."""

    def __init__(self, root: Path):
        d = Path(root) / "registry-client"
        d.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(d / "sources.db"), timeout=30, isolation_level=None,
                                  check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        # a cache: a crash may lose the last facts (costing uploads), so no fsync per commit
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("CREATE TABLE IF NOT EXISTS sources (digest TEXT NOT NULL, "
                        "host TEXT NOT NULL, repo TEXT NOT NULL, seen REAL NOT NULL, "
                        "PRIMARY KEY (digest, host, repo))")

    def record(self, host: str, repo: str, digests: Iterable[str]) -> None:
        now = time.time()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "INSERT INTO sources VALUES (?, ?, ?, ?) ON CONFLICT (digest, host, repo) "
                "DO UPDATE SET seen = excluded.seen", [(d, host, repo, now) for d in digests])
            self.db.execute("COMMIT")

    def candidates(self, host: str, digest: str) -> tuple[str, ...]:
        rows = self.db.execute("SELECT repo FROM sources WHERE digest = ? AND host = ? "
                               "ORDER BY seen DESC LIMIT ?", (digest, host, MAX_CANDIDATES))
        return tuple(r[0] for r in rows)

    def close(self) -> None:
        self.db.close()
