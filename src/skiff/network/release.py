"""``python -m skiff.network.release ROOT CONTAINER_ID``: detach a container from its
networks and unpin its namespace (what the monitor runs when the container exits; the
monitor holds no database handle). Exit 0 even when there was nothing to release."""

from __future__ import annotations

import sys


def release(root: str, container_id: str) -> None:
    """Idempotent: detach every endpoint, drop ports, remove the pinned netns, clear the
    addresses and ports from the container's record."""
    from skiff import metadata
    from skiff.config import Config
    from skiff.network import glue

    config = Config.from_env(root=root)
    db = metadata.connect(config.metadata_path)
    try:
        glue.release(config, db, container_id)
    finally:
        db.close()


if __name__ == "__main__":
    release(sys.argv[1], sys.argv[2])
