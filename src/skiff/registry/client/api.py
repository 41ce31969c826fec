"""The registry client's verbs on the image store: ``pull``, ``push``, ``ensure_image``.

These join the protocol layer (``pull_image``/``push_image`` on a blob sink/source) with
skiff's store: blobs go to ``skiff.content.ContentStore`` (each verified before commit),
the image is recorded in the metadata DB under its config digest (the image ID) with the
exact manifest the registry sent, the tag, and the repo digest (``repo@<digest>``, the
index's when the tag named an index, as Docker records it).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from skiff.config import Config
from skiff.errors import ImageNotFound, InvalidArgument, SkiffError
from skiff.registry.client.progress import NullProgress

PULL_POLICIES = ("always", "missing", "never")


@dataclass(frozen=True, slots=True)
class PullReport:
    """One pulled reference: ``name`` (normalized, ``docker.io/library/bb:latest``),
    ``familiar`` (``bb:latest``), ``repository``, manifest ``digest``, ``image_id`` and
    ``changed`` (False: the tag already named this image — Docker's "Image is up to date")."""

    name: str
    familiar: str
    repository: str
    digest: str
    image_id: str
    changed: bool


@dataclass(frozen=True, slots=True)
class PushReport:
    """One pushed reference: ``name``, ``tag``, manifest ``digest`` and ``size`` (bytes)."""

    name: str
    tag: str
    digest: str
    size: int
    blobs: dict[str, str]


def _parse(ref: str):
    """Parse a reference; a malformed one exits 1 as ``docker pull``/``push`` do."""
    from skiff import reference

    try:
        return reference.parse(ref)
    except InvalidArgument as e:
        e.exit_code = 1
        raise


def _familiar_repo(r) -> str:
    """``docker.io/library/busybox`` → ``library/busybox`` (Docker's "Pulling from")."""
    return r.path


def _record(config: Config, db, r, pulled, images) -> bool:
    """Record the pulled image with the manifest bytes as received, its tag and repo digest
    (``images.record``, an ImageService); True when the tag (or, by digest, the image) is
    new."""
    by_tag = r.digest is None
    # moby pull_v2 pullV2Tag: "Downloaded newer image" unless the reference pulled (the tag,
    # or repo@digest) already named this image.
    if by_tag:
        old = db.execute("SELECT image_id FROM tags WHERE name = ?", (str(r),)).fetchone()
    else:
        old = db.execute("SELECT image_id FROM repo_digests WHERE name = ?",
                         (f"{r.repository}@{pulled.digest}",)).fetchone()
    changed = old is None or old[0] != pulled.config_digest
    new_image = db.execute("SELECT 1 FROM images WHERE id = ?",
                           (pulled.config_digest,)).fetchone() is None
    # Layers measured (and diffID-checked) in the download threads bring their sizes;
    # measure_layers below then reads back only the others (present before, resumed).
    by_diff = {m.diff_id: m for m in pulled.measured.values()}
    images.record(pulled.manifest.digest, tags=[str(r)] if by_tag else [],
                  repo_digests=[f"{r.repository}@{pulled.digest}"],
                  layer_sizes={d: m.tar_size for d, m in by_diff.items()},
                  unpacked_sizes={d: m.unpacked_size for d, m in by_diff.items()})
    if hasattr(images, "measure_layers"):
        # Docker's sizes for the new layers, and each layer checked against its diffID; an
        # image whose layers do not match its config is not kept.
        from skiff.errors import DigestMismatch

        try:
            images.measure_layers(pulled.config_digest)
        except (DigestMismatch, InvalidArgument):
            if new_image:
                with contextlib.suppress(SkiffError):
                    images.remove([pulled.config_digest], force=True)
            raise
    return changed


def pull_report(config: Config, db, ref: str, *, platform: str | None = None,
                progress: NullProgress | None = None, max_concurrent: int = 3) -> PullReport:
    """Pull ``ref`` (tag or digest) into the store; see :func:`pull`."""
    from skiff.content import ContentStore
    from skiff.images import ImageService
    from skiff.registry.client.manifests import Platform
    from skiff.registry.client.pulling import pull_image
    from skiff.registry.client.sources import BlobSources
    from skiff.registry.client.transport import Registry

    progress = progress or NullProgress()
    r = _parse(ref)
    if r.digest is None and r.tag is None:
        r = r.with_tag("latest")
    plat = Platform.parse(platform) if platform else None
    store = ContentStore(config.content_dir)
    images = ImageService(config, db, store)
    # A lease holds every blob of the image, present or downloaded, from the moment the
    # manifest is known until the image is recorded: a concurrent prune or rmi leaves
    # them alone. Released at the end; on failure the blobs it alone kept are removed.
    with images.leased():
        def hold(digests: list[str]) -> None:
            for d in digests:
                images.protect(d)

        with Registry(r.domain, config) as reg:
            pulled = pull_image(reg, r.path, r.digest or r.tag, store, what=r.familiar(),
                                platform=plat, progress=progress,
                                max_concurrent=max_concurrent, measure=True, hold=hold,
                                announce=f"{r.digest or r.tag}: Pulling from "
                                         f"{_familiar_repo(r)}",
                                have_image=lambda d: db.execute(
                                    "SELECT 1 FROM images WHERE id = ?", (d,)
                                ).fetchone() is not None)
        changed = _record(config, db, r, pulled, images)
    sources = BlobSources(config.root)
    try:
        sources.record(r.domain, r.path, [b.digest for b in pulled.layers]
                       + [pulled.config_digest])
    finally:
        sources.close()
    return PullReport(str(r), r.familiar(), r.repository, pulled.digest,
                      pulled.config_digest, changed)


def pull(config: Config, db, ref: str, platform: str | None = None,
         progress: NullProgress | None = None, *, max_concurrent: int = 3):
    """Pull image ``ref`` from its registry into the store and return the ``Image``.

    ``platform`` (``os/arch[/variant]``) picks from an index; default the host's. Layers
    the store has are not downloaded; each downloaded blob is verified before commit.
    Raises InvalidArgument (bad reference), NotFound (``manifest for <ref> not found:
    manifest unknown: …``), Unauthorized, DigestMismatch, Unavailable — all with exit
    code 125 here (Docker's ``run`` after a failed pull); ``skiff pull`` exits 1.
    """
    from skiff.errors import EXIT_ENGINE, SkiffError
    from skiff.images import ImageService

    try:
        rep = pull_report(config, db, ref, platform=platform, progress=progress,
                          max_concurrent=max_concurrent)
    except SkiffError as e:
        # Called for `run`/`create`/`build`: Docker reports a failed pull there as an engine
        # error (exit 125); only `skiff pull` itself exits 1 (pull_cli keeps the 1).
        e.exit_code = EXIT_ENGINE
        raise
    return ImageService(config, db).get(rep.name if "@" not in ref else ref)


_pull = pull  # ensure_image's ``pull`` parameter (the policy) shadows the function


def pull_cli(config: Config, db, ref: str, *, platform: str | None = None,
             all_tags: bool = False, progress: NullProgress | None = None,
             max_concurrent: int = 3) -> list[PullReport]:
    """``skiff pull``: one reference, or with ``all_tags`` every tag of the repository.
    Every error exits 1, as ``docker pull`` does."""
    try:
        return _pull_cli(config, db, ref, platform=platform, all_tags=all_tags,
                         progress=progress, max_concurrent=max_concurrent)
    except SkiffError as e:
        e.exit_code = 1
        raise


def _pull_cli(config: Config, db, ref: str, *, platform: str | None, all_tags: bool,
              progress: NullProgress | None, max_concurrent: int) -> list[PullReport]:
    if not all_tags:
        return [pull_report(config, db, ref, platform=platform, progress=progress,
                            max_concurrent=max_concurrent)]
    r = _parse(ref)
    if r.digest is not None or ("@" in ref or ":" in ref.rsplit("/", 1)[-1]):
        raise InvalidArgument("tag can't be used with --all-tags/-a", exit_code=1)
    # moby pullRepository: each tag's "Digest: ..." follows its own layers (the CLI then
    # prints one Status line for the repository).
    progress = progress or NullProgress()
    out = []
    for t in list_tags(config, r.domain, r.path):
        rep = pull_report(config, db, f"{r.repository}:{t}", platform=platform,
                          progress=progress, max_concurrent=max_concurrent)
        progress.message(f"Digest: {rep.digest}")
        out.append(rep)
    return out


def list_tags(config: Config, host: str, repo: str) -> list[str]:
    """``GET /v2/<repo>/tags/list`` following ``Link`` pagination (end-8a/8b)."""
    from skiff.registry.client.auth import pull_scope
    from skiff.registry.client.transport import Registry, raise_for

    tags: list[str] = []
    path: str | None = f"/v2/{repo}/tags/list"
    with Registry(host, config) as reg:
        while path:
            resp = reg.request("GET", path, scopes=(pull_scope(repo),), what="tags")
            if resp.status_code != 200:
                raise_for(resp, f"listing tags of {host}/{repo}")
            tags += resp.json().get("tags") or []
            link = resp.headers.get("Link", "")
            path = link.split(";")[0].strip("<> ") if 'rel="next"' in link else None
    return sorted(tags)


def push(config: Config, db, ref: str, progress: NullProgress | None = None
         ) -> tuple[str, int]:
    """Push local image ``ref`` (``host/repo[:tag]``) and return (manifest digest, size).

    Blobs the registry has are skipped (HEAD), blobs known in another repository of the
    same registry are mounted, the rest uploaded; the manifest goes up byte for byte.
    Raises ImageNotFound (``No such image: <ref>``), the registry's errors (exit 1).
    """
    rep = push_report(config, db, ref, progress=progress)
    return rep.digest, rep.size


def push_report(config: Config, db, ref: str, *, progress: NullProgress | None = None
                ) -> PushReport:
    from skiff.content import ContentStore
    from skiff.images import ImageService
    from skiff.registry.client.pushing import push_image
    from skiff.registry.client.sources import BlobSources
    from skiff.registry.client.transport import Registry

    progress = progress or NullProgress()
    r = _parse(ref)
    if r.digest is None and r.tag is None:
        r = r.with_tag("latest")
    # moby distribution.Push: this line first, then the local lookup
    progress.message(f"The push refers to repository [{r.repository}]")
    images = ImageService(config, db)
    try:
        img = images.get(str(r))
    except ImageNotFound as e:
        # Docker: "An image does not exist locally with the tag: <repository>" when the
        # repository has no local name at all, else "tag does not exist: <repo:tag>"
        # (push_v2 pushTag); exit 1 either way
        prefix = r.repository + ":"
        if r.tag and db.execute("SELECT 1 FROM tags WHERE substr(name, 1, ?) = ? LIMIT 1",
                                (len(prefix), prefix)).fetchone():
            raise ImageNotFound("tag does not exist", r.familiar(), exit_code=1) from e
        raise ImageNotFound("An image does not exist locally with the tag",
                            r.familiar_name(), exit_code=1) from e
    store = ContentStore(config.content_dir)
    sources = BlobSources(config.root)
    target = r.tag or r.digest
    # a lease on what is uploaded: an rmi meanwhile cannot delete it mid-push (Docker's
    # push holds layer references); what the rmi released is collected afterwards
    held = {*(x.digest for x in img.layers), img.id, img.manifest_digest}
    try:
        with images.leased():
            for d in held:
                images.protect(d)
            images.get(img.id)  # still there once protected
            with Registry(r.domain, config) as reg:
                res = push_image(reg, r.path, target, img.manifest_digest, store,
                                 progress=progress,
                                 mount_from=lambda d: sources.candidates(r.domain, d))
        sources.record(r.domain, r.path, list(res.blobs))
    finally:
        sources.close()
    from skiff import metadata

    with metadata.transaction(db):  # Docker records the pushed digest as a RepoDigest
        db.execute("INSERT OR REPLACE INTO repo_digests (name, image_id) SELECT ?, id "
                   "FROM images WHERE id = ?", (f"{r.repository}@{res.digest}", img.id))
    images._collect_blobs(held)
    return PushReport(str(r), target, res.digest, res.size, res.blobs)


def push_cli(config: Config, db, ref: str, *, all_tags: bool = False,
             progress: NullProgress | None = None) -> list[PushReport]:
    """``skiff push``: one reference, or with ``all_tags`` every local tag of the repo.
    Every error exits 1, as ``docker push`` does."""
    try:
        return _push_cli(config, db, ref, all_tags=all_tags, progress=progress)
    except SkiffError as e:
        e.exit_code = 1
        raise


def _push_cli(config: Config, db, ref: str, *, all_tags: bool,
              progress: NullProgress | None) -> list[PushReport]:
    r = _parse(ref)
    if r.digest is not None:  # moby distribution/push.go
        raise InvalidArgument("cannot push a digest reference")
    if not all_tags:
        return [push_report(config, db, ref, progress=progress)]
    if r.tag is not None:  # docker/cli push.go
        raise InvalidArgument("tag can't be used with --all-tags/-a")
    prefix = r.repository + ":"  # (not LIKE: "_" in a name is no wildcard)
    names = [row[0] for row in db.execute(
        "SELECT name FROM tags WHERE substr(name, 1, ?) = ? ORDER BY name",
        (len(prefix), prefix))]
    if not names:
        raise ImageNotFound(f"An image does not exist locally with the tag: {r.repository}")
    return [push_report(config, db, n, progress=progress) for n in names]


def ensure_image(config: Config, db, ref: str, pull: str = "missing",
                 progress: NullProgress | None = None):
    """The image ``ref`` for ``run`` / ``build FROM``, pulled according to the policy:
    ``always`` (pull, even if present), ``missing`` (pull only when not local),
    ``never`` (local only: ImageNotFound ``No such image: <ref>``).

    Returns a ``skiff.images.Image``; raises InvalidArgument for an unknown policy and
    what :func:`pull` raises.
    """
    from skiff.images import ImageService

    if pull not in PULL_POLICIES:
        raise InvalidArgument(f"invalid pull policy {pull!r}",
                              "expected one of always, missing, never")
    images = ImageService(config, db)
    if pull != "always":
        try:
            return images.get(ref)
        except ImageNotFound:
            if pull == "never":
                raise
    return _pull(config, db, ref, progress=progress)
