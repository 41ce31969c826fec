"""``docker save`` / ``docker load``: image archives in and out of the store.

save writes the layout recent Docker writes (moby image/tarexport with the containerd
store): an OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/<hex>``) that is
at the same time a docker-archive (``manifest.json`` with Config/RepoTags/Layers paths into
``blobs/``). Blobs are copied as stored (layers stay compressed), streaming.

load reads, all through the same code:
  - docker-archive, new layout (Docker >= 25: paths under ``blobs/sha256``),
  - docker-archive, old layout (``<v1id>/layer.tar``, ``<hex>.json``, symlinked duplicate layers),
  - OCI image-layout tars (``skopeo copy ... oci-archive:``, a tar of an umoci layout),
  plain or compressed (gzip, bzip2, xz, zstd). Every blob is verified: its digest (named by
  its path or descriptor) and, for layers, the diffID of the uncompressed tar from the
  config. Nothing is recorded unless everything verified; blobs a failed load added are
  removed again.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import posixpath
import re
import tarfile
import tempfile
import uuid
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, BinaryIO

from skiff import digest as _digest
from skiff import reference
from skiff.errors import (
    AlreadyExists,
    DigestMismatch,
    ImageNotFound,
    InvalidArgument,
    NotFound,
    SkiffError,
)
from skiff.images.model import Layer
from skiff.images.tarcheck import TarChecker
from skiff.metadata import transaction
from skiff.oci import (
    Descriptor,
    ImageConfig,
    Index,
    Manifest,
    canonical_json,
    host_platform,
    mediatypes,
)

if TYPE_CHECKING:
    from skiff.images.model import Image
    from skiff.images.service import ImageService
    from skiff.oci.types import Platform

CHUNK = 1 << 20
ANN_IMAGE_NAME = "io.containerd.image.name"
ANN_REF_NAME = mediatypes.ANNOTATION_REF_NAME
_BLOB_PATH = re.compile(r"^blobs/sha256/([a-f0-9]{64})$")
_LEGACY_CONFIG = re.compile(r"^([a-f0-9]{64})\.json$")


# ------------------------------------------------------------------------------- save
def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    tar.addfile(ti, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = 0o755
    tar.addfile(ti)


def save(service: ImageService, refs: Sequence[str], out: BinaryIO,
         platforms: Sequence[Platform] = ()) -> None:
    """Write the images named by ``refs`` as one archive to ``out`` (streamed, any sink).

    A name puts that tag in RepoTags; an ID saves the image untagged (as Docker does).
    With *platforms* (``docker save --platform``) every image must be of one of them.
    Raises ImageNotFound, or NotFound with Docker's "was found but does not provide the
    specified platform", before anything is written.
    """
    # a lease on what is being written: an rmi meanwhile untags the image but cannot pull
    # its blobs from under the archive (Docker's save holds layer references); the blobs
    # nothing needs any more are collected once the archive is written
    with service.leased():
        protected = _save(service, refs, out, platforms)
    service._collect_blobs(protected)


def expand_refs(service: ImageService, refs: Sequence[str]) -> list[tuple[str, str | None, str]]:
    """(image ID, name or None, the ref given) for each image ``refs`` names. A repository
    name without tag or digest stands for all its tags, sorted (moby tarexport parseNames:
    ``docker save fedora`` saves every fedora tag); when it has none it is looked up as
    usual (a short ID), and not found reads ``No such image: NAME`` as given."""
    out: list[tuple[str, str | None, str]] = []
    for r in refs:
        try:
            named = reference.parse_normalized_named(r.strip())
        except InvalidArgument:
            named = None
        if named is not None and not named.tag and not named.digest:
            prefix = f"{named.name}:"
            rows = service.db.execute(
                "SELECT name, image_id FROM tags WHERE substr(name, 1, ?) = ? ORDER BY name",
                (len(prefix), prefix)).fetchall()
            if rows:
                out.extend((image_id, name, r) for name, image_id in rows)
                continue
            try:
                out.append((*service.resolve(r), r))
            except ImageNotFound:
                raise ImageNotFound("No such image", r.strip()) from None
            continue
        out.append((*service.resolve(r), r))
    return out


def _save(service: ImageService, refs: Sequence[str], out: BinaryIO,
          platforms: Sequence[Platform]) -> set[str]:
    picked: dict[str, tuple[Image, list[str]]] = {}
    order: list[str] = []
    for image_id, name, r in expand_refs(service, refs):
        if image_id not in picked:
            img = service.get(image_id)
            check_platform(img, reference.parse(name).familiar() if name else r, platforms)
            picked[image_id] = (img, [])
            order.append(image_id)
        if name is not None and "@" not in name and name not in picked[image_id][1]:
            picked[image_id][1].append(name)
    protected: set[str] = set()
    for img, _names in picked.values():
        for d in (*(x.digest for x in img.layers), img.id, img.manifest_digest):
            service.protect(d)
            protected.add(d)
    for image_id in order:  # removed between the lookup and the lease: as if never there
        service.get(image_id)
    tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT,
                       bufsize=CHUNK)
    try:
        _add_dir(tar, "blobs/")
        _add_dir(tar, "blobs/sha256/")
        written: set[str] = set()
        index_manifests = []
        docker_manifest = []
        for image_id in order:
            img, names = picked[image_id]
            blobs = [*(x.digest for x in img.layers), img.id, img.manifest_digest]
            for d in blobs:
                if d in written:
                    continue
                written.add(d)
                ti = tarfile.TarInfo("blobs/sha256/" + _digest.encoded(d))
                ti.size = service.content.size(d)
                ti.mode = 0o644
                with service.content.open(d) as f:
                    tar.addfile(ti, f)
            desc = {"mediaType": img.manifest.media_type, "digest": img.manifest_digest,
                    "size": img.manifest_size}
            for n in names:
                ref = reference.parse_normalized_named(n)
                index_manifests.append({**desc, "annotations": {
                    ANN_IMAGE_NAME: str(ref), ANN_REF_NAME: ref.tag or "latest"}})
            if not names:
                index_manifests.append(desc)
            docker_manifest.append({
                "Config": "blobs/sha256/" + _digest.encoded(img.id),
                "RepoTags": [reference.parse_normalized_named(n).familiar() for n in names] or None,
                "Layers": ["blobs/sha256/" + _digest.encoded(x.digest) for x in img.layers],
            })
        index = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX,
                 "manifests": index_manifests}
        _add_bytes(tar, "index.json", canonical_json(index))
        _add_bytes(tar, "manifest.json", json.dumps(docker_manifest, separators=(",", ":")).encode())
        _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    finally:
        tar.close()
    return protected


# ------------------------------------------------------------------------------- load
class _Loader:
    """One load: the archive's members, the blobs it added (for rollback), what to record."""

    def __init__(self, service: ImageService, tar: tarfile.TarFile,
                 platforms: Sequence[Platform] = ()):
        self.service = service
        self.platforms = tuple(platforms)
        self.content = service.content
        self.tar = tar
        self.members: dict[str, tarfile.TarInfo] = {}
        for m in tar.getmembers():
            name = posixpath.normpath(m.name.lstrip("/")).removeprefix("./")
            self.members[name] = m
        self.added: set[str] = set()

    def open(self, path: str) -> BinaryIO:
        path = posixpath.normpath(path.lstrip("/"))
        m = self.members.get(path)
        if m is None:
            raise InvalidArgument("invalid archive", f"{path}: no such file in the archive")
        try:
            f = self.tar.extractfile(m)
        except (KeyError, tarfile.TarError) as e:
            raise InvalidArgument("invalid archive", f"{path}: {e}") from None
        if f is None:
            raise InvalidArgument("invalid archive", f"{path}: not a regular file")
        return f  # type: ignore[return-value]

    def read_small(self, path: str, limit: int = 16 << 20) -> bytes:
        with self.open(path) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise InvalidArgument("invalid archive", f"{path}: too large for a JSON document")
        return data

    def put_small(self, data: bytes, expected: str | None) -> str:
        d = _digest.of_bytes(data)
        if expected is not None and d != expected:
            raise DigestMismatch("blob", expected, d)
        if not self.content.exists(d):
            self.service.protect(d)
            self.content.write_blob(data)
            self.added.add(d)
        return d

    def put_layer(self, path: str, diff_id: str, expected_digest: str | None = None) -> Layer:
        """Copy a layer file into the store as is; verify its digest and its diffID."""
        with self.open(path) as f:
            head = f.read(CHUNK)
            from skiff.layers.compression import detect

            kind = detect(head[:8])
            if kind not in ("gzip", "zstd", "none"):
                raise InvalidArgument(f"layer {path}", f"unsupported compression {kind}")
            if kind == "gzip":
                dec = _GzipHasher()
            elif kind == "zstd":
                dec = _ZstdHasher()
            else:
                dec = _PlainHasher()
            w = self.content.writer(f"load-{uuid.uuid4().hex}")
            try:
                chunk = head
                while chunk:
                    w.write(chunk)
                    dec.feed(chunk)
                    chunk = f.read(CHUNK)
                actual_diff, usize = dec.finish()
                unpacked = dec.check.content_size
                if actual_diff != diff_id:
                    raise DigestMismatch(f"layer {path}", diff_id, actual_diff)
                digest = w.digest()
                if expected_digest is not None and digest != expected_digest:
                    raise DigestMismatch(f"layer {path}", expected_digest, digest)
                size = w.offset
                self.service.protect(digest)
                try:
                    w.commit()
                    self.added.add(digest)
                except AlreadyExists:
                    pass
            except BaseException:
                w.abort()
                raise
        return Layer(digest=digest, size=size, media_type=mediatypes.layer_type(kind),
                     diff_id=diff_id, uncompressed_size=usize, unpacked_size=unpacked)

    # -- docker-archive ------------------------------------------------------------
    def docker_archive(self) -> list[tuple[str, list[str], dict[str, int]]]:
        try:
            entries = json.loads(self.read_small("manifest.json"))
        except ValueError as e:
            raise InvalidArgument("invalid archive", f"manifest.json: {e}") from None
        if not isinstance(entries, list):
            raise InvalidArgument("invalid archive", "manifest.json is not a list")
        out = []
        for e in entries:
            if not isinstance(e, dict) or not isinstance(e.get("Config"), str) \
                    or not isinstance(e.get("Layers"), list):
                raise InvalidArgument("invalid archive", "manifest.json entry lacks Config/Layers")
            cpath = posixpath.normpath(e["Config"])
            m = _BLOB_PATH.match(cpath) or _LEGACY_CONFIG.match(cpath)
            cbytes = self.read_small(cpath)
            config_digest = self.put_small(cbytes, "sha256:" + m.group(1) if m else None)
            config = ImageConfig.from_bytes(cbytes)
            if len(config.diff_ids) != len(e["Layers"]):
                raise InvalidArgument("invalid archive",
                                      f"{cpath}: {len(config.diff_ids)} diff_ids for "
                                      f"{len(e['Layers'])} layers")
            layers = []
            for lpath, diff_id in zip(e["Layers"], config.diff_ids, strict=True):
                lm = _BLOB_PATH.match(posixpath.normpath(lpath))
                layers.append(self.put_layer(lpath, diff_id, "sha256:" + lm.group(1) if lm else None))
            manifest = Manifest(config=Descriptor(mediatypes.OCI_CONFIG, config_digest, len(cbytes)),
                                layers=tuple(Descriptor(x.media_type, x.digest, x.size)
                                             for x in layers))
            mdigest = self.put_small(manifest.to_json(), None)
            tags = [t for t in (e.get("RepoTags") or []) if isinstance(t, str)]
            out.append((mdigest, tags, layers))
        return out

    # -- OCI layout ------------------------------------------------------------------
    def _blob(self, desc: Descriptor) -> bytes:
        alg, hexpart = desc.digest.split(":", 1)
        data = self.read_small(f"blobs/{alg}/{hexpart}")
        if len(data) != desc.size:
            raise InvalidArgument(f"blob {desc.digest}", f"unexpected size {len(data)}, expected {desc.size}")
        return data

    def oci_layout(self) -> list[tuple[str, list[str], dict[str, int]]]:
        index = Index.from_bytes(self.read_small("index.json"))
        out = []
        for desc in index.manifests:
            if (desc.annotations or {}).get("vnd.docker.reference.type") == "attestation-manifest":
                continue  # BuildKit provenance/SBOM, not an image
            if desc.platform is not None and desc.platform.os == "unknown":
                continue
            name = _name_of(desc)
            for mdesc in self._manifests_of(desc):
                mbytes = self._blob(mdesc)
                manifest = Manifest.from_bytes(mbytes, mdesc.media_type)
                cbytes = self._blob(manifest.config)
                config = ImageConfig.from_bytes(cbytes)
                if len(config.diff_ids) != len(manifest.layers):
                    raise InvalidArgument("invalid archive", f"{mdesc.digest}: diff_ids and layers differ")
                sizes = []
                for ld, diff_id in zip(manifest.layers, config.diff_ids, strict=True):
                    if not mediatypes.is_layer(ld.media_type):
                        raise InvalidArgument(f"layer {ld.digest}",
                                              f"unsupported media type {ld.media_type!r}")
                    alg, hexpart = ld.digest.split(":", 1)
                    lay = self.put_layer(f"blobs/{alg}/{hexpart}", diff_id, ld.digest)
                    if lay.size != ld.size:
                        raise InvalidArgument(f"layer {ld.digest}", f"unexpected size {lay.size}, expected {ld.size}")
                    sizes.append(lay)
                self.put_small(cbytes, manifest.config.digest)
                mdigest = self.put_small(mbytes, mdesc.digest)
                out.append((mdigest, [name] if name else [], sizes))
        return out

    def _manifests_of(self, desc: Descriptor) -> list[Descriptor]:
        if mediatypes.is_manifest(desc.media_type):
            return [desc]
        if mediatypes.is_index(desc.media_type):
            sub = Index.from_bytes(self._blob(desc), desc.media_type)
            self.put_small(self._blob(desc), desc.digest)
            images = [d for d in sub.manifests
                      if (d.annotations or {}).get("vnd.docker.reference.type") != "attestation-manifest"]
            if self.platforms:  # load --platform: every variant asked for, nothing else
                picks = [d for d in images if d.platform is not None
                         and platform_matches(d.platform, self.platforms)]
                if not picks:
                    raise NotFound(f"index {desc.digest}", "no manifest for "
                                   + ", ".join(map(_platform_text, self.platforms)))
                return [d for p in picks for d in self._manifests_of(p)]
            host = host_platform()
            matching = [d for d in images if d.platform is not None
                        and d.platform.os == host.os and d.platform.architecture == host.architecture]
            picks = matching[:1] or [d for d in images if mediatypes.is_manifest(d.media_type)][:1]
            if not picks:
                raise NotFound(f"index {desc.digest}", f"no manifest for {host}")
            return [d for p in picks for d in self._manifests_of(p)]
        raise InvalidArgument(f"descriptor {desc.digest}", f"unsupported media type {desc.media_type!r}")


def check_platform(img: Image, name: str, platforms: Sequence[Platform]) -> None:
    """Raise NotFound in Docker's words unless *img* is of one of *platforms* (or none asked)."""
    if platforms and not platform_matches(img.config.platform, platforms):
        raise NotFound(f"image with reference {name} was found but does not provide the "
                       "specified platform (" + ", ".join(map(_platform_text, platforms)) + ")")


def _platform_text(p: Platform) -> str:
    return "/".join(x for x in (p.os, p.architecture, p.variant) if x)


def platform_matches(have: Platform, wants: Sequence[Platform]) -> bool:
    """Whether an image or index entry's platform is one of *wants* (``--platform`` of save
    and load): os and architecture equal after Go's normalisation (x86_64 → amd64, aarch64 →
    arm64, arm64/v8 ≡ arm64), and the variant too when the wanted one names it."""
    from skiff.registry.client.manifests import Platform as Wanted

    h = Wanted(have.os, have.architecture, have.variant).normalized()
    return any(h.os == w.os and h.architecture == w.architecture
               and (not w.variant or h.variant == w.variant) for w in wants)


def _name_of(desc: Descriptor) -> str | None:
    """The image name an index entry carries (containerd's annotation, or a full ref.name)."""
    ann = desc.annotations or {}
    for key in (ANN_IMAGE_NAME, ANN_REF_NAME):
        v = ann.get(key)
        if v and ("/" in v or ":" in v):
            try:
                ref = reference.parse_normalized_named(v)
            except InvalidArgument:
                continue
            if not ref.digest:
                return str(ref.tagged_or_latest())
    return None


def _config_platform(service: ImageService, manifest_digest: str) -> Platform:
    manifest = service.content.read_json(manifest_digest)
    return ImageConfig.from_bytes(service.content.read_blob(manifest["config"]["digest"])).platform


class _PlainHasher:
    def __init__(self) -> None:
        self.h = hashlib.sha256()
        self.n = 0
        self.check = TarChecker()

    def feed(self, b: bytes) -> None:
        self.h.update(b)
        self.n += len(b)
        self.check.feed(b)

    def finish(self) -> tuple[str, int]:
        self.check.close()
        return "sha256:" + self.h.hexdigest(), self.n


class _GzipHasher(_PlainHasher):
    """Hash the decompression of a (multi-member) gzip stream fed in pieces (bounded memory)."""

    def __init__(self) -> None:
        super().__init__()
        self.z = zlib.decompressobj(31)
        self.in_member = False

    def feed(self, b: bytes) -> None:
        try:
            while True:
                if b:
                    self.in_member = True
                out = self.z.decompress(b, CHUNK)
                super().feed(out)
                if self.z.eof:
                    self.in_member = False
                    b = self.z.unused_data
                    self.z = zlib.decompressobj(31)
                    if not b:
                        return
                    continue
                b = self.z.unconsumed_tail
                if not b and len(out) < CHUNK:
                    return
        except zlib.error as e:
            raise InvalidArgument("invalid layer", f"gzip: {e}") from None

    def finish(self) -> tuple[str, int]:
        if self.in_member:
            raise InvalidArgument("invalid layer", "gzip: unexpected EOF")
        return super().finish()


class _ZstdHasher(_PlainHasher):
    def __init__(self) -> None:
        super().__init__()
        import zstandard

        self.d = zstandard.ZstdDecompressor().decompressobj()
        self.zstandard = zstandard

    def feed(self, b: bytes) -> None:
        try:
            while b:
                super().feed(self.d.decompress(b))
                if self.d.eof:
                    b = self.d.unused_data
                    self.d = self.zstandard.ZstdDecompressor().decompressobj()
                else:
                    b = b""
        except self.zstandard.ZstdError as e:
            raise InvalidArgument("invalid layer", f"zstd: {e}") from None


@contextlib.contextmanager
def _seekable_tar(service: ImageService, stream: BinaryIO):
    """A TarFile over ``stream``: directly if it is a seekable plain tar, else via a
    decompressed spool file under ``<root>/tmp`` (removed afterwards)."""
    from skiff.layers.compression import decompressed, detect

    seekable = False
    with contextlib.suppress(AttributeError, OSError, ValueError):
        seekable = stream.seekable()
    head = b""
    if seekable:
        pos = stream.tell()
        head = stream.read(8)
        stream.seek(pos)
    if seekable and detect(head) == "none":
        try:
            tar = tarfile.open(fileobj=stream, mode="r:")
        except tarfile.TarError as e:
            raise InvalidArgument("invalid archive", str(e)) from None
        yield tar
        return
    tmpdir = service.config.tmp_dir
    tmpdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=tmpdir) as spool:
        src = decompressed(stream)
        while True:
            try:
                chunk = src.read(CHUNK)
            except (OSError, EOFError, zlib.error) as e:
                raise InvalidArgument("invalid archive", f"decompressing: {e}") from None
            if not chunk:
                break
            # a full disk is not a bad archive: say what failed (Docker: "write ...: no
            # space left on device"), exit 1 as docker load does
            try:
                spool.write(chunk)
            except OSError as e:
                why = "no space left on device" if e.errno == errno.ENOSPC else (e.strerror or str(e))
                raise SkiffError("loading the archive", why) from None
        spool.seek(0)
        try:
            tar = tarfile.open(fileobj=spool, mode="r:")
        except tarfile.TarError as e:
            raise InvalidArgument("invalid archive", str(e)) from None
        yield tar


def load(service: ImageService, stream: BinaryIO,
         platforms: Sequence[Platform] = ()) -> list[tuple[str, str | None]]:
    """Load every image of an archive; return ``(image ID, familiar name or None)`` pairs in
    archive order (one per name; untagged images once with None). With *platforms*
    (``docker load --platform``), only images of those platforms are recorded, and
    NotFound is raised when the archive holds none of them.

    Raises InvalidArgument (not an archive, truncated, missing files, bad JSON, unknown
    media types), DigestMismatch (a blob or layer diffID differs). On any error the store
    is left as it was.
    """
    with service.leased(), _seekable_tar(service, stream) as tar:
        try:
            loader = _Loader(service, tar, platforms)
        except (tarfile.TarError, EOFError) as e:
            raise InvalidArgument("invalid archive", str(e)) from None
        try:
            if "manifest.json" in loader.members:
                found = loader.docker_archive()
            elif "index.json" in loader.members:
                found = loader.oci_layout()
            else:
                raise InvalidArgument("invalid archive",
                                      "no manifest.json (docker-archive) or index.json (OCI layout)")
            if platforms:
                found = [f for f in found if platform_matches(_config_platform(service, f[0]), platforms)]
                if not found:
                    raise NotFound("no image in the archive provides the specified platform ("
                                   + ", ".join(map(_platform_text, platforms)) + ")")
            results: list[tuple[str, str | None]] = []
            with transaction(service.db):
                for mdigest, tags, lays in found:
                    img = service.record(
                        mdigest, tags=tags,
                        layer_sizes={x.diff_id: x.uncompressed_size for x in lays
                                     if x.uncompressed_size is not None},
                        unpacked_sizes={x.diff_id: x.unpacked_size for x in lays
                                        if x.unpacked_size is not None})
                    if tags:
                        results += [(img.id, reference.parse(t).familiar()) for t in tags]
                    else:
                        results.append((img.id, None))
            service._collect_blobs(loader.added)  # e.g. a second copy of a stored image
            return results
        except (tarfile.TarError, EOFError) as e:
            service._collect_blobs(loader.added)
            raise InvalidArgument("invalid archive", str(e) or "unexpected EOF") from None
        except BaseException:
            service._collect_blobs(loader.added)
            raise


