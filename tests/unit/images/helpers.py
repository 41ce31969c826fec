"""Small rootfs tars built in memory for the image-store tests."""

from __future__ import annotations

import io
import tarfile


def rootfs_tar(files: dict[str, bytes], *, dirs: tuple[str, ...] = ("etc",)) -> bytes:
    """A tar with the given directories and regular files (mode 0644, uid 0, mtime fixed)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for d in dirs:
            ti = tarfile.TarInfo(d)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            ti.mtime = 1700000000
            t.addfile(ti)
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()
