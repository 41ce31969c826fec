"""Mark-and-sweep garbage collection of a registry's storage (``skiff registry gc``).

Docker's ``registry garbage-collect``: mark every blob a manifest in any repository
references (the manifest itself, its config and layers, the children of an index), then
sweep: delete every blob not marked. With ``delete_untagged`` a manifest is first removed
from its repository when no tag reaches it (directly or through a tagged index) and it is
not a referrer (``subject``) of a manifest that stays. A blob referenced by a remaining
manifest is never removed. As with Docker's registry, run it while the server is stopped
or ``--read-only`` (or use ``min_age_s``): a blob uploaded but not yet referenced by a
manifest is garbage to the collector.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from skiff.registry.storage import FilesystemStorage, valid_digest


@dataclass(frozen=True, slots=True)
class GcReport:
    """What a collection found: marked blobs, deleted (or, dry run, deletable) blob digests
    and removed untagged manifests as (repository, digest); bytes freed."""

    marked: int
    deleted: list[str] = field(default_factory=list)
    manifests_removed: list[tuple[str, str]] = field(default_factory=list)
    bytes_freed: int = 0


def _references(data: bytes) -> tuple[list[str], list[str], str | None]:
    """(blob digests, child manifest digests, subject digest) named by a manifest."""
    try:
        doc = json.loads(data)
    except ValueError:
        return [], [], None
    if not isinstance(doc, dict):
        return [], [], None
    blobs, children = [], []
    for d in [doc.get("config"), *(doc.get("layers") or [])]:
        if isinstance(d, dict) and isinstance(d.get("digest"), str) and valid_digest(d["digest"]):
            blobs.append(d["digest"])
    for d in doc.get("manifests") or []:
        if isinstance(d, dict) and isinstance(d.get("digest"), str) and valid_digest(d["digest"]):
            children.append(d["digest"])
    subj = doc.get("subject")
    subject = subj.get("digest") if isinstance(subj, dict) else None
    return blobs, children, subject if isinstance(subject, str) else None


def _untagged(store: FilesystemStorage, repo: str) -> list[str]:
    """Manifests of ``repo`` that no tag reaches and that refer to no kept manifest."""
    revs = set(store.manifest_digests(repo))
    info = {}
    for d in revs:
        m = store.get_manifest(repo, d)
        info[d] = _references(m.data) if m is not None else ([], [], None)
    keep = set()
    todo = [d for d in (store.tags(repo) or {}).values() if d in revs]
    while todo:
        d = todo.pop()
        if d in keep:
            continue
        keep.add(d)
        todo += [c for c in info[d][1] if c in revs]
        # referrers of a kept manifest stay with it
        todo += [r for r in revs if info[r][2] == d]
    return sorted(revs - keep)


def collect(store: FilesystemStorage, *, dry_run: bool = False, delete_untagged: bool = False,
            min_age_s: float = 0.0, log=None) -> GcReport:
    """Run one mark-and-sweep over ``store``; ``log(str)`` receives progress lines.

    Blobs younger than ``min_age_s`` seconds (mtime) are kept even when unreferenced.
    """
    say = log or (lambda s: None)
    removed: list[tuple[str, str]] = []
    marked: set[str] = set()
    for repo in store.repositories():
        if delete_untagged:
            for d in _untagged(store, repo):
                say(f"{repo}: deleting untagged manifest {d}")
                removed.append((repo, d))
                if not dry_run:
                    store.delete_manifest(repo, d)
        gone = {d for r, d in removed if r == repo}
        for d in store.manifest_digests(repo):
            if d in gone:
                continue
            m = store.get_manifest(repo, d)
            if m is None:
                continue
            say(f"{repo}: marking manifest {d}")
            marked.add(d)
            blobs, children, _ = _references(m.data)
            for b in blobs + children:
                if b not in marked:
                    say(f"{repo}: marking blob {b}")
                marked.add(b)
    now = time.time()
    deleted, freed = [], 0
    for digest, size, mtime in list(store.walk_blobs()):
        if digest in marked or now - mtime < min_age_s:
            continue
        say(f"blob eligible for deletion: {digest}")
        deleted.append(digest)
        freed += size
        if not dry_run:
            store.delete_blob(digest)
    if not dry_run:
        gone_blobs = set(deleted)
        for repo in store.repositories():
            for d in store.linked_blobs(repo):
                if d in gone_blobs:
                    store.unlink_blob(repo, d)
    say(f"{len(marked)} blobs marked, {len(deleted)} blobs "
        f"{'eligible for deletion' if dry_run else 'deleted'}")
    return GcReport(len(marked), sorted(deleted), removed, freed)
