"""The no-op rebuild fast path: a build whose every input is unchanged is answered from
its last result without parsing, walking or importing the builder.

A full build leaves a *result record* keyed by the fingerprint of everything a build reads
besides the context's files: the Dockerfile's path and bytes, the .dockerignore files, the
resolved build args, target, labels, network, platform, secret IDs and layer compression.
The record holds the context's stat signatures (every entry the walk kept, the context root
and each directory: a file added or removed changes its directory's mtime), the base images
by normalized name and ID, the cache keys of the steps, the step reports and the image ID.

:func:`try_fast` re-checks all of that with one ``lstat`` per entry and a few SQL reads
(the base names still point at the same images, the image and the cache records still
exist, the tags already point at the image) and returns the old report, every step a
``CACHE HIT``; any difference returns None and the normal build runs (and is exactly as
correct: the fast path only ever repeats what the full build would conclude).

Records live in ``build_steps`` under ``fast:<fingerprint>`` (the table that keeps each
step's last inputs), so ``builder prune`` drops them with the rest of the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

    from skiff.build.types import BuildOptions, BuildReport, Progress

PREFIX = "fast:"


def _ignore_files(context: Path, dockerfile: Path | None) -> list[str]:
    names = [str(context / ".dockerignore")]
    if dockerfile is not None:
        names.append(str(dockerfile) + ".dockerignore")
    return names


def fingerprint(opts: BuildOptions) -> str | None:
    """The fingerprint of a build's non-context inputs, or None when the fast path does not
    apply (no context directory, a Dockerfile from stdin, --no-cache, --pull)."""
    if opts.context is None or opts.no_cache or opts.pull:
        return None
    ctx = opts.context.absolute()
    dockerfile = opts.dockerfile or ctx / "Dockerfile"
    parts: dict[str, Any] = {"context": str(ctx), "dockerfile": str(dockerfile)}
    try:
        parts["text"] = dockerfile.read_bytes().hex() if opts.dockerfile_text is None \
            else opts.dockerfile_text.encode().hex()
    except OSError:
        return None
    ignores = {}
    for name in _ignore_files(ctx, dockerfile):
        try:
            ignores[name] = Path(name).read_bytes().hex()
        except OSError:
            ignores[name] = None
    parts["ignore"] = ignores
    args = {}
    for k, v in opts.build_args.items():
        args[k] = os.environ.get(k) if v is None else v
    parts.update(args=args, target=opts.target, labels=opts.labels, network=opts.network,
                 platform=opts.platform, secrets=sorted(opts.secrets),
                 compression=opts.compression)
    data = json.dumps(parts, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


def _sig(st: os.stat_result) -> list[int]:
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode]


def save(db: sqlite3.Connection, fp: str, *, context: Path, entries: dict[str, os.stat_result],
         bases: list[tuple[str, str]], tags: dict[str, str], image_id: str,
         steps: list[dict[str, Any]]) -> None:
    """Record a full build's result for :func:`try_fast` (``tags``: raw → normalized
    names; ``bases``: (normalized name, image ID))."""
    from skiff.metadata import transaction

    rec = {
        "root": _sig(os.lstat(context)),
        "entries": {p: _sig(st) for p, st in entries.items()},
        "bases": bases, "tag_names": tags, "image_id": image_id, "steps": steps,
    }
    with transaction(db):
        db.execute("INSERT OR REPLACE INTO build_steps (step_id, inputs, updated) "
                   "VALUES (?, ?, ?)", (PREFIX + fp, json.dumps(rec), time.time()))


def try_fast(db: sqlite3.Connection, opts: BuildOptions, progress: Progress | None
             ) -> BuildReport | None:
    """The previous result when nothing the build reads has changed, else None."""
    t0 = time.monotonic()
    fp = fingerprint(opts)
    if fp is None:
        return None
    row = db.execute("SELECT inputs FROM build_steps WHERE step_id = ?",
                     (PREFIX + fp,)).fetchone()
    if row is None:
        return None
    rec = json.loads(row[0])
    ctx = str(opts.context.absolute())
    try:
        if _sig(os.lstat(ctx)) != rec["root"]:
            return None
        lstat = os.lstat
        prefix = ctx.rstrip("/") + "/"
        for p, (ino, size, mtime, ctime, mode) in rec["entries"].items():
            st = lstat(prefix + p)
            if (st.st_mtime_ns != mtime or st.st_ctime_ns != ctime or st.st_ino != ino
                    or st.st_size != size or st.st_mode != mode):
                return None
    except OSError:
        return None
    for name, image_id in rec["bases"]:
        r = db.execute("SELECT image_id FROM tags WHERE name = ?", (name,)).fetchone()
        if r is None or r[0] != image_id:
            return None
    image_id = rec["image_id"]
    if db.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone() is None:
        return None
    keys = [s["key"] for s in rec["steps"]]
    n = db.execute(f"SELECT count(*) FROM build_cache WHERE key IN ({','.join('?' * len(keys))})",
                   keys).fetchone()[0]
    if n != len(set(keys)):
        return None
    wanted = _normalized_tags(opts.tags, rec.get("tag_names") or {})
    if wanted is None:
        return None
    for t in wanted:
        r = db.execute("SELECT image_id FROM tags WHERE name = ?", (t,)).fetchone()
        if r is None or r[0] != image_id:
            return None
    return _report(db, rec, opts, progress, keys, time.monotonic() - t0)


def _normalized_tags(tags: tuple[str, ...], known: dict[str, str]) -> list[str] | None:
    """Normalized names of ``-t`` values (None when one does not parse: the full build
    reports the error). ``known``: the last build's raw → normalized names, which spares
    importing the reference parser on the fast path."""
    if all(t in known for t in tags):
        return [known[t] for t in tags]
    try:
        from skiff import reference

        return [str(reference.parse(t)) for t in tags]
    except Exception:
        return None


def _report(db, rec, opts, progress, keys, seconds) -> BuildReport:
    from skiff.build.records import BuildRecords
    from skiff.build.types import BuildReport, StepReport

    steps = []
    for d in rec["steps"]:
        s = StepReport(d["number"], d["stage"], d["index"], d["total"], d["instruction"],
                       d["line"], True, None, 0.0, d["key"], d["inputs"], d["layer"])
        steps.append(s)
        if progress is not None:
            progress.step_started(s.number, s.label, s.instruction)
            progress.step_finished(s)
    build_id = os.urandom(13).hex()[:25]
    recs = BuildRecords(db)
    recs.touch(keys)
    recs.save_build(build_id, rec["image_id"], list(opts.tags),
                    {"steps": [s.to_dict() for s in steps], "fast": True})
    return BuildReport(build_id, rec["image_id"], tuple(opts.tags), tuple(steps), seconds)
