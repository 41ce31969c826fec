"""Shifted layer copies: the fallback for user namespaces where idmapped mounts are missing.

On a kernel without idmapped mounts (before 5.19 for overlayfs layers; see
skiff.snapshots.idmap), a user-namespaced container's layers are mounted from chowned
copies, as dockerd's ``userns-remap`` keeps its remapped copy of each layer: every
committed level ``<snapshots>/<n>/fs`` gets ``<snapshots>/<n>/shifted/<mapping>/fs``, a
copy with every owner moved into the mapping's host range, made once per (level,
mapping) and shared by every container of that mapping. Keeping the copies inside the
level's own directory releases them with the level (image removal and prune delete the
directory; ``Snapshotter.cleanup`` never sees them as orphans) and counts them in its
disk usage.

``SKIFF_USERNS_SHIFT=copy`` forces this path on a kernel that has idmapped mounts (tests,
comparisons).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from skiff.errors import SkiffError

Triples = Sequence[tuple[int, int, int]]


def mapping_key(uid_map: Triples, gid_map: Triples) -> str:
    """A short stable name for a mapping (directory name of its copies)."""
    text = json.dumps([[list(t) for t in uid_map], [list(t) for t in gid_map]])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _to_host(table: Triples, i: int) -> int:
    for c, h, n in table:
        if c <= i < c + n:
            return h + i - c
    return 65534  # unmapped: the overflow id, as the kernel shows it


def shift_copy(tree: Path, uid_map: Triples, gid_map: Triples) -> None:
    """lchown every inode under ``tree`` (itself included) once from container ids to
    host ids; modes (setuid/setgid bits) are restored after the chown."""
    seen: set[tuple[int, int]] = set()

    def one(p: str) -> None:
        st = os.lstat(p)
        if (st.st_dev, st.st_ino) in seen:
            return  # a hard link already shifted
        seen.add((st.st_dev, st.st_ino))
        os.lchown(p, _to_host(uid_map, st.st_uid), _to_host(gid_map, st.st_gid))
        if not os.path.islink(p):
            os.chmod(p, st.st_mode & 0o7777)

    one(str(tree))
    for dirpath, dirnames, filenames in os.walk(tree):
        for n in dirnames + filenames:
            one(os.path.join(dirpath, n))


def shifted_fs(level_fs: Path, uid_map: Triples, gid_map: Triples) -> Path:
    """The shifted copy of a committed level's ``fs`` directory for this mapping, made
    on first use (copied and chowned in a temporary directory, then renamed: concurrent
    callers agree on one copy).

    Raises:
        SkiffError: the copy failed.
    """
    key = mapping_key(uid_map, gid_map)
    shifted = level_fs.parent / "shifted"
    final = shifted / key
    if (final / "fs").is_dir():
        return final / "fs"
    shifted.mkdir(exist_ok=True)
    tmp = shifted / f"tmp-{key}-{os.urandom(4).hex()}"
    tmp.mkdir()
    try:
        r = subprocess.run(["cp", "-a", "--reflink=auto", str(level_fs), str(tmp / "fs")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SkiffError(f"shifted copy of {level_fs}", r.stderr.strip())
        shift_copy(tmp / "fs", uid_map, gid_map)
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "fs").is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final / "fs"


def shifted_mounts(mounts: Sequence, uid_map: Triples, gid_map: Triples) -> list:
    """``mounts`` (the snapshotter's) with every overlay lowerdir replaced by its shifted
    copy for this mapping (see :func:`shifted_fs`)."""
    from skiff.snapshots.mount import map_lowerdirs

    return map_lowerdirs(mounts, lambda d: str(shifted_fs(Path(d), uid_map, gid_map)))


def forced() -> bool:
    """True when ``$SKIFF_USERNS_SHIFT`` asks for copies even with idmapped mounts."""
    return os.environ.get("SKIFF_USERNS_SHIFT") == "copy"
