"""Pulling one image from a repository into a blob sink (no image store involved).

Order (so an interrupted pull never leaves a manifest without its blobs): resolve the
reference to a manifest (through an index by platform), fetch the config, download the
layers ``max_concurrent`` at a time (default 3, Docker's ``max-concurrent-downloads``),
each verified before it is committed, then store config, manifest and index last.
Blobs the sink has already are not downloaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from skiff.errors import AlreadyExists, DigestMismatch, InvalidArgument
from skiff.registry.client.manifests import (
    INDEXES,
    Fetched,
    Platform,
    fetch_manifest,
    host_platform,
    select_platform,
)
from skiff.registry.client.progress import NullProgress, short_id
from skiff.registry.client.sinks import BlobSink
from skiff.registry.client.transfer import Blob, download_blob, fetch_small, for_each_blob
from skiff.registry.client.transport import Registry

MAX_CONCURRENT = 3


@dataclass(frozen=True, slots=True)
class PulledImage:
    """What a pull stored.

    Attributes:
        manifest: the image manifest (exact bytes, media type, digest).
        index: the index it was selected from, or None for a plain manifest reference.
        config: the image config's bytes (already in the sink).
        config_digest: its digest (the image ID).
        layers: the layer blobs in order (all in the sink).
        downloaded: digests fetched by this pull (the others were present).
        measured: for layers measured while downloading (``pull_image(measure=True)``),
            layer digest → ``skiff.images.layermeter.LayerMeasure`` (diffID already
            checked against the config); the other layers are left to measure later.
    """

    manifest: Fetched
    index: Fetched | None
    config: bytes
    config_digest: str
    layers: tuple[Blob, ...]
    downloaded: tuple[str, ...]
    measured: dict = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """The digest a user pulls by: the index's when there was one (as Docker shows)."""
        return (self.index or self.manifest).digest


def _blob(d: dict, what: str) -> Blob:
    try:
        return Blob(d["digest"], int(d["size"]), d.get("mediaType") or "")
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidArgument(f"manifest for {what}", f"bad descriptor {d!r}") from e


def _store(sink: BlobSink, data: bytes, digest: str) -> None:
    if sink.exists(digest):
        return
    try:
        with sink.writer("pull-" + digest.replace(":", "-"), expected_digest=digest,
                         expected_size=len(data)) as w:
            if w.offset:
                w.abort()
                return _store(sink, data, digest)
            w.write(data)
            w.commit(len(data), digest)
    except AlreadyExists:
        pass


class _DiffIDMeter:
    """Measures a layer in its download thread and refuses it (before commit) when it does
    not decompress to the config's diffID for it."""

    def __init__(self, blob: Blob, diff_id: str):
        from skiff.images.layermeter import LayerMeter

        self.blob = blob
        self.diff_id = diff_id
        self._m = LayerMeter(blob.digest)
        self.feed = self._m.feed
        self.skipped = False
        self.result = None

    def finish(self) -> None:
        r = self._m.close()
        if r is None:
            return
        if r.diff_id != self.diff_id:
            raise DigestMismatch(f"layer {self.blob.digest}", self.diff_id, r.diff_id)
        self.result = r


def _diff_ids(config: bytes, n: int) -> list[str] | None:
    import json

    try:
        ids = json.loads(config)["rootfs"]["diff_ids"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(ids, list) or len(ids) != n or not all(isinstance(d, str) for d in ids):
        return None
    return ids


def pull_image(reg: Registry, repo: str, reference: str, sink: BlobSink, *,
               what: str | None = None, platform: Platform | None = None,
               progress: NullProgress | None = None,
               max_concurrent: int = MAX_CONCURRENT, measure: bool = False,
               hold: Callable[[list[str]], None] | None = None,
               announce: str | None = None,
               have_image: Callable[[str], bool] | None = None) -> PulledImage:
    """Pull ``repo:reference`` (a tag or ``sha256:`` digest) into ``sink``.

    ``measure``: decompress each downloaded layer in its download thread as it arrives,
    check it against the config's diffID before committing it (DigestMismatch, nothing of
    it stored) and return its sizes in ``PulledImage.measured``.

    ``hold`` (optional) is called in the calling thread with every digest the image needs
    (index, manifest, config, layers) once they are known and before any blob is looked
    for or written: a store puts them under a GC lease there, so a concurrent prune cannot
    delete a blob (present or just written) before the image is recorded.

    ``announce`` (e.g. ``1: Pulling from library/busybox``) goes to ``progress.message``
    once the reference's manifest (or index) was found, as Docker prints it: a pull of a
    missing tag shows only its error.

    ``have_image(config_digest)`` (optional): True when the store already has this image;
    then, as moby's pullSchema2 returns early, no per-layer line is printed (the layers
    are present: nothing is downloaded).

    ``platform`` picks the manifest from an index (default: the host's). Raises NotFound
    (unknown manifest / no platform match), Unauthorized, DigestMismatch (nothing of that
    blob stored), Unavailable, InvalidArgument (malformed manifest).
    """
    progress = progress or NullProgress()
    what = what or f"{repo}:{reference}"
    top = fetch_manifest(reg, repo, reference, what=what)
    if announce:
        progress.message(announce)
    index = None
    manifest = top
    if top.media_type in INDEXES:
        index = top
        desc = select_platform(top.json(), platform or host_platform(), what)
        manifest = fetch_manifest(reg, repo, desc["digest"], what=what)
        if manifest.media_type in INDEXES:
            raise InvalidArgument(f"manifest for {what}", "nested index is not supported")
    doc = manifest.json()
    if not isinstance(doc.get("config"), dict) or not isinstance(doc.get("layers"), list):
        raise InvalidArgument(f"manifest for {what}", "missing config or layers")
    cfg = _blob(doc["config"], what)
    layers = tuple(_blob(ld, what) for ld in doc["layers"])
    if hold is not None:
        hold([d.digest for d in (index, manifest) if d is not None] + [cfg.digest]
             + [b.digest for b in layers])
    if (have_image is not None and have_image(cfg.digest)
            and all(sink.exists(b.digest) for b in layers)):
        progress = NullProgress()
    for b in layers:
        if not sink.exists(b.digest):
            progress.status(short_id(b.digest), "Pulling fs layer")
    config = sink.read_blob(cfg.digest) if sink.exists(cfg.digest) else fetch_small(
        reg, repo, cfg)

    meters: dict[str, _DiffIDMeter] = {}
    ids = _diff_ids(config, len(layers)) if measure else None
    if ids is not None:
        for b, d in zip(layers, ids, strict=True):
            meters.setdefault(b.digest, _DiffIDMeter(b, d))
    measured = dict(meters)
    # Each blob's meter goes to exactly one download (dict.pop is atomic): a layer listed
    # twice is measured once.
    got = for_each_blob(layers, lambda b: download_blob(reg, repo, b, sink, progress,
                                                        meter=meters.pop(b.digest, None)),
                        max_concurrent)
    downloaded = [b.digest for b, fetched in zip(layers, got, strict=True) if fetched]
    for b in layers:
        if b.digest in downloaded:
            progress.status(short_id(b.digest), "Pull complete")
    _store(sink, config, cfg.digest)
    _store(sink, manifest.data, manifest.digest)
    if index is not None:
        _store(sink, index.data, index.digest)
    return PulledImage(manifest, index, config, cfg.digest, layers, tuple(downloaded),
                       {dg: m.result for dg, m in measured.items() if m.result is not None})
