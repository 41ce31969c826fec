"""The image a container is created from, found without loading the image service.

``skiff run NAME`` needs three things of the image: its ID, the ``config`` section of its
config blob (Cmd, Env, Entrypoint, ...) and the chainID of its top layer, already unpacked.
skiff.images.ImageService gives them with everything else (manifest, layers, sizes, tags),
and importing it costs ~30-50 ms of the ~200 ms a ``run`` takes (dataclasses, content
store, OCI types). :func:`quick_resolve` answers the common case — a tagged name whose
image is fully unpacked — from the ``tags`` and ``snapshots`` tables and the config blob
alone; anything else (an ID or ID prefix, a digest reference, an unknown name, a layer not
unpacked yet, an unreadable blob) returns None and the caller asks ImageService, so the
answer and the errors are always ImageService's.
"""

from __future__ import annotations

import os

from skiff import jsonio as json  # (json.loads/dumps without importing re)

TYPE_CHECKING = False  # (not typing's: `run` starts faster without importing typing)
if TYPE_CHECKING:
    import sqlite3

_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_TAG = _WORD | frozenset(".-")


def _one_component(name: str) -> bool:
    """Whether ``name`` is one path component of distribution/reference's grammar:
    runs of ``[a-z0-9]`` joined by ``.``, ``_``, ``__`` or dashes (by hand: no regex on the
    run path)."""
    n = len(name)
    i = 0
    while True:
        j = i
        while j < n and name[j] in _LOWER:
            j += 1
        if j == i:
            return False  # (empty, or a separator not followed by [a-z0-9])
        if j == n:
            return True
        c = name[j]
        if c == ".":
            i = j + 1
        elif c == "_":
            i = j + 2 if name.startswith("_", j + 1) else j + 1
        elif c == "-":
            i = j + 1
            while i < n and name[i] == "-":
                i += 1
        else:
            return False


def _official_name(s: str) -> str | None:
    """``NAME[:TAG]`` with a one-component lower-case NAME (``bb:1``, ``busybox``) →
    ``docker.io/library/NAME:TAG`` (``latest`` when untagged), as distribution/reference's
    ParseNormalizedNamed + TagNameOnly give it, without loading skiff.reference's
    grammar; None for anything else (a domain, a path, a digest, a 64-hex ID, bad input).
    A tag is a word character then up to 127 of word characters, ``.`` and ``-`` (ASCII)."""
    if len(s) > 128:
        return None
    name, colon, tag = s.partition(":")
    if not _one_component(name):
        return None
    if colon and not (tag and tag[0] in _WORD and len(tag) <= 128
                      and all(c in _TAG for c in tag)):
        return None
    if not colon and len(s) == 64 and all(c in "0123456789abcdef" for c in s):
        return None
    return f"docker.io/library/{name}:{tag if colon else 'latest'}"


def quick_resolve(db: sqlite3.Connection, content_dir: str | os.PathLike[str],
                  ref: str) -> tuple[str, dict, str | None] | None:
    """``(image ID, the config's "config" dict, top chainID or None for no layers)`` for
    the image tagged ``ref`` (normalized as Docker does: ``bb:1`` is
    ``docker.io/library/bb:1``) when every layer level is a committed snapshot; None when
    the caller must go through skiff.images.ImageService (see the module docstring).
    Raises nothing for bad input: that is ImageService's to report."""
    s = ref.strip()
    if not s or s.startswith("sha256:") or "@" in s:
        return None
    name = _official_name(s)
    if name is None:
        from skiff import reference
        from skiff.errors import InvalidArgument

        try:
            name = str(reference.parse_normalized_named(s).tagged_or_latest())
        except InvalidArgument:
            return None
    row = db.execute("SELECT image_id FROM tags WHERE name = ?", (name,)).fetchone()
    if row is None or not str(row[0]).startswith("sha256:"):
        return None
    image_id = row[0]
    try:
        with open(os.path.join(content_dir, "blobs", "sha256", image_id[7:]), "rb") as f:
            raw = json.loads(f.read())
        diff_ids = (raw.get("rootfs") or {}).get("diff_ids") or []
        cfg = raw.get("config") or {}
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(diff_ids, list) or not isinstance(cfg, dict):
        return None
    if not diff_ids:
        return image_id, cfg, None
    if len(diff_ids) == 1:
        top = str(diff_ids[0])  # ChainID(L0) = DiffID(L0): no hashing (nor hashlib import)
    else:
        from skiff.digest import chain_ids

        top = chain_ids([str(d) for d in diff_ids])[-1]
    # a committed level's parents are committed (snapshots.parent references them)
    kind = db.execute("SELECT kind FROM snapshots WHERE key = ?", (top,)).fetchone()
    if kind is None or kind[0] != "committed":
        return None
    return image_id, cfg, top
