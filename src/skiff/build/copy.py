"""COPY and ADD on real directories: Docker's path rules, ownership, modes, tar extraction.

Everything here works on plain directories: ``src_root`` is the build context or another
stage's root filesystem, ``dest_root`` the (mounted) root filesystem of the step. Rules
(Docker/BuildKit, pinned by tests/unit/build/test_copy.py):

- A relative destination is taken from WORKDIR; a destination ending in ``/`` (or that
  is an existing directory) receives sources by their base name, otherwise a single file
  source is written under that exact name.
- Several sources (or a wildcard) need a destination ending in ``/``.
- A directory source copies its *contents*, not the directory itself.
- Symlinks inside a copied tree stay symlinks; a named source that is a symlink is followed.
- Files are owned by root (0:0) unless ``--chown``; names resolve from the destination's
  ``/etc/passwd`` and ``/etc/group``; a missing group means GID = UID.
- ``--chmod`` (octal) applies to every copied file and directory.
- Parent directories that do not exist are created 0755 root:root.
- ADD of a local tar (plain, gzip, bzip2, xz, zstd) extracts it into the destination
  directory keeping the archive's owners and modes (unless ``--chown``).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat as stmod
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from skiff.build.fsview import LayeredFS, as_fs
from skiff.errors import BuildError


@dataclass(frozen=True, slots=True)
class Owner:
    """Numeric owner applied to copied entries."""

    uid: int
    gid: int


ROOT = Owner(0, 0)


def _read_db(root: Path | LayeredFS, abspath: str) -> list[list[str]]:
    try:
        text = as_fs(root).read_text(abspath)
    except (FileNotFoundError, NotADirectoryError):
        return []
    if text is None:
        return []
    return [ln.split(":") for ln in text.splitlines() if ln and not ln.startswith("#")]


def resolve_chown(spec: str, rootfs: Path | LayeredFS) -> Owner:
    """``user[:group]`` (names or numbers) → Owner, names looked up in the rootfs's
    /etc/passwd and /etc/group. A user without a group gives GID = UID (Docker docs).

    Raises BuildError: ``unable to find user NAME`` / ``unable to find group NAME``.
    """
    user, _, group = spec.partition(":")
    if user.isdigit():
        uid = int(user)
    else:
        for f in _read_db(rootfs, "/etc/passwd"):
            if f[0] == user and len(f) > 3:
                uid = int(f[2])
                break
        else:
            raise BuildError("chown", f"unable to find user {user}: no matching entries in passwd file")
    if not group:
        return Owner(uid, uid)
    if group.isdigit():
        return Owner(uid, int(group))
    for f in _read_db(rootfs, "/etc/group"):
        if f[0] == group and len(f) > 2:
            return Owner(uid, int(f[2]))
    raise BuildError("chown", f"unable to find group {group}: no matching entries in group file")


def parse_chmod(spec: str) -> int:
    """``--chmod`` octal (``755``, ``0644``) → mode bits. Raises BuildError otherwise."""
    try:
        mode = int(spec, 8)
    except ValueError:
        raise BuildError("chmod", f"invalid chmod parameter {spec!r}: must be an octal number") from None
    if not 0 <= mode <= 0o7777:
        raise BuildError("chmod", f"invalid chmod parameter {spec!r}")
    return mode


def dest_path(dest: str, workdir: str) -> tuple[str, bool]:
    """The absolute destination and whether it names a directory (trailing ``/``, ``.``)."""
    is_dir = dest.endswith("/") or dest in (".", "") or dest.endswith("/.")
    if not dest.startswith("/"):
        dest = posixpath.join(workdir or "/", dest)
    return posixpath.normpath(dest) if dest != "/" else "/", is_dir


def in_root(root: Path | LayeredFS, abspath: str) -> Path:
    """Where the in-container path ``abspath`` lives under ``root`` (its upper dir for a
    LayeredFS), with symlinks resolved *inside* the root (never on the host)."""
    fs = as_fs(root)
    return fs.upper_path(fs.resolve(abspath))


def _mkdir_parents(root: Path | LayeredFS, abspath: str, owner: Owner) -> Path:
    """Make ``abspath`` a directory (parents too; missing ones 0755 ``owner``); returns
    its path under root. Raises BuildError on a non-directory component."""
    return as_fs(root).ensure_dir(abspath, owner.uid, owner.gid)


class Copier:
    """Copies entries of one source tree into a root filesystem.

    Args:
        src_root: where sources are read (context dir or a stage's rootfs).
        dest_root: the step's root filesystem.
        owner: owner of copied entries (None: root, or the archive's for ADD tar).
        chmod: mode bits for every copied entry, or None to keep the source's.
        allowed: relpath filter for entries below a named directory (the .dockerignore'd
            context gives ``rel in entries``); None allows everything.
    """

    def __init__(self, src_root: Path, dest_root: Path | LayeredFS, *,
                 owner: Owner | None = None,
                 chmod: int | None = None, allowed: Callable[[str], bool] | None = None):
        self.src_root = src_root
        self.dest_root = as_fs(dest_root)
        self.owner = owner or ROOT
        self.chmod = chmod
        self.allowed = allowed
        self.copied = 0
        self.linked = 0
        # (previous layer's directory, relpaths unchanged since): regular files that are
        # hard-linked from the previous build of the same step instead of copied
        self.reuse: tuple[str, set[str]] | None = None
        # source (dev, inode) → first target of a file with several links: its other
        # names become hard links to that target, as Docker's builders keep them
        self._inodes: dict[tuple[int, int], str] = {}

    def copy(self, sources: list[str], dest: str, *, workdir: str = "/",
             multi: bool = False) -> None:
        """Copy ``sources`` (relpaths under src_root, ``""`` = all of it) to ``dest``.

        ``multi``: the instruction named several sources or a wildcard (dest must be a dir).
        Raises BuildError for a multi-source copy into a non-directory destination.
        """
        abs_dest, dest_is_dir = dest_path(dest, workdir)
        if (multi or len(sources) > 1) and not dest_is_dir:
            if not self.dest_root.is_dir(abs_dest):
                raise BuildError(
                    f"COPY to {dest}",
                    "When using COPY with more than one source file, the destination must be "
                    "a directory and end with a /")
            dest_is_dir = True
        for rel in sources:
            src = self._src_path(rel)
            st = os.stat(src)  # a named source symlink is followed
            if stmod.S_ISDIR(st.st_mode):
                target = self._dest_dir(abs_dest)
                self._copy_children(src, rel, target)
            else:
                if dest_is_dir or self.dest_root.is_dir(abs_dest):
                    parent = self._dest_dir(abs_dest)
                    target = parent / posixpath.basename(rel)
                else:
                    parent = self._dest_dir(posixpath.dirname(abs_dest))
                    target = parent / posixpath.basename(abs_dest)
                self._copy_entry(src, target, followed=True)

    def _dest_dir(self, abspath: str) -> Path:
        """The destination directory, created with its missing parents as BuildKit does:
        owned by the ``--chown`` owner, with the ``--chmod`` mode when given, else 0755."""
        return self.dest_root.ensure_dir(abspath, self.owner.uid, self.owner.gid,
                                         self.chmod if self.chmod is not None else 0o755)

    def _src_path(self, rel: str) -> Path:
        """Where source ``rel`` is, every symlink on the way resolved *inside* src_root (a
        stage's ``/app -> /etc`` must not reach the host's /etc: BuildKit scopes them to
        the source's root); a named symlink is followed."""
        if not rel:
            return self.src_root
        fs = as_fs(self.src_root)
        p = fs.upper_path(fs.resolve("/" + rel, follow_last=False))
        if not os.path.lexists(p):
            raise BuildError(f"COPY source {rel!r}", "not found")
        if p.is_symlink():
            resolved = in_root(self.src_root, "/" + rel)
            if not resolved.exists():
                raise BuildError(f"COPY source {rel!r}", "not found (dangling symlink)")
            return resolved
        return p

    def _copy_children(self, src_dir: Path | str, rel: str, target: Path | str,
                       fresh: bool = False) -> None:
        """Copy the entries of ``src_dir`` into ``target``; ``fresh``: target was just
        created by this copy, so nothing in it needs replacing."""
        src_dir, target = os.fspath(src_dir), os.fspath(target)
        with os.scandir(src_dir) as it:
            entries = sorted(it, key=lambda e: e.name)
        allowed = self.allowed
        for e in entries:
            crel = f"{rel}/{e.name}" if rel else e.name
            if allowed is not None and not allowed(crel):
                continue
            self._copy_entry(e.path, os.path.join(target, e.name), followed=False, rel=crel,
                             st=e.stat(follow_symlinks=False), fresh=fresh)

    def _copy_entry(self, src: Path | str, target: Path | str, *, followed: bool,
                    rel: str = "", st: os.stat_result | None = None,
                    fresh: bool = False) -> None:
        src, target = os.fspath(src), os.fspath(target)
        if st is None:
            st = os.stat(src) if followed else os.lstat(src)
        mode = st.st_mode
        uid, gid = self.owner.uid, self.owner.gid
        is_dir = stmod.S_ISDIR(mode)
        created = True
        if not fresh:
            try:
                tst = os.lstat(target)
            except FileNotFoundError:
                tst = None
            if tst is not None:
                if is_dir and stmod.S_ISDIR(tst.st_mode):
                    created = False  # merge into the existing directory
                elif stmod.S_ISDIR(tst.st_mode):
                    shutil.rmtree(target)
                else:
                    os.unlink(target)
        perm = self.chmod if self.chmod is not None else stmod.S_IMODE(mode)
        times = (st.st_atime_ns, st.st_mtime_ns)
        if is_dir:
            if created:
                os.mkdir(target, 0o700)
            os.lchown(target, uid, gid)
            os.chmod(target, perm)
            self._copy_children(src, rel, target, fresh=created)
            os.utime(target, ns=times)
        elif stmod.S_ISREG(mode) and st.st_nlink > 1 and \
                (st.st_dev, st.st_ino) in self._inodes:
            os.link(self._inodes[(st.st_dev, st.st_ino)], target)
            self.copied += 1
            return
        elif stmod.S_ISREG(mode) and self._link_previous(rel, target):
            if st.st_nlink > 1:
                self._inodes[(st.st_dev, st.st_ino)] = target
            return
        elif stmod.S_ISREG(mode):
            if st.st_nlink > 1:
                self._inodes[(st.st_dev, st.st_ino)] = target
            fin = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
            try:
                fout = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                               0o600)
                try:
                    left = st.st_size
                    while left > 0:
                        n = os.sendfile(fout, fin, None, min(left, 1 << 30))
                        if n == 0:
                            break
                        left -= n
                    os.fchown(fout, uid, gid)
                    os.fchmod(fout, perm)  # after chown, which clears set-id bits
                    os.utime(fout, ns=times)
                finally:
                    os.close(fout)
            finally:
                os.close(fin)
        elif stmod.S_ISLNK(mode):
            os.symlink(os.readlink(src), target)
            os.lchown(target, uid, gid)
            os.utime(target, ns=times, follow_symlinks=False)
        else:
            # fifos, devices: recreate the node
            os.mknod(target, mode, st.st_rdev)
            os.lchown(target, uid, gid)
        self.copied += 1


    def _link_previous(self, rel: str, target: str) -> bool:
        """Hard-link an unchanged file from the previous result of this step (same parent,
        same instruction, same content and mode: the same bytes, owner and mode would be
        written). Committed snapshots are never written to, so sharing the inode is safe."""
        if self.reuse is None or rel not in self.reuse[1]:
            return False
        upper = os.fspath(self.dest_root.upper)
        prev = os.path.join(self.reuse[0], os.path.relpath(target, upper))
        try:
            pst = os.lstat(prev)
            if not stmod.S_ISREG(pst.st_mode) or (pst.st_uid, pst.st_gid) != (
                    self.owner.uid, self.owner.gid):
                return False
            os.link(prev, target)
        except OSError:
            return False
        self.linked += 1
        self.copied += 1
        return True


def is_archive(path: Path) -> bool:
    """True when ``path`` is a tar archive, plain or compressed (gzip, bzip2, xz, zstd)."""
    from skiff.layers.compression import decompressed

    try:
        with open(path, "rb") as raw:
            f = decompressed(raw)
            head = f.read(512)
    except (OSError, EOFError, ValueError):
        return False
    except Exception:  # zstandard errors
        return False
    if len(head) < 512:
        return False
    # ustar magic, or a valid checksum for old-style headers.
    if head[257:262] == b"ustar":
        return True
    try:
        tarfile.TarInfo.frombuf(head, "utf-8", "surrogateescape")
        return True
    except tarfile.TarError:
        return False


def extract_archive(path: Path, dest_root: Path, dest: str, *, workdir: str = "/",
                    owner: Owner | None = None, chmod: int | None = None) -> int:
    """ADD a local tar: extract into the destination directory (created if missing).

    Entries keep the archive's modes and numeric owners unless ``owner`` is given; absolute
    names and ``..`` components are confined to the destination; links may not point out.
    Returns the number of entries extracted. Raises BuildError for an unreadable archive.
    """
    from skiff.layers.compression import decompressed

    abs_dest, _ = dest_path(dest, workdir)
    base = _mkdir_parents(dest_root, abs_dest, ROOT)
    n = 0
    try:
        with open(path, "rb") as raw, tarfile.open(fileobj=decompressed(raw), mode="r|") as tf:
            for m in tf:
                name = posixpath.normpath("/" + m.name).lstrip("/")
                if not name or name == ".":
                    continue
                target_abs = posixpath.join(abs_dest, name)
                parent = _mkdir_parents(dest_root, posixpath.dirname(target_abs), ROOT)
                target = parent / posixpath.basename(name)
                if os.path.lexists(target) and not (m.isdir() and target.is_dir()):
                    if target.is_dir() and not target.is_symlink():
                        shutil.rmtree(target)
                    else:
                        target.unlink()
                if m.isdir():
                    target.mkdir(exist_ok=True)
                elif m.issym():
                    os.symlink(m.linkname, target)
                elif m.islnk():
                    link_src = in_root(dest_root, posixpath.join(
                        abs_dest, posixpath.normpath("/" + m.linkname).lstrip("/")))
                    os.link(link_src, target)
                elif m.isfile():
                    src = tf.extractfile(m)
                    with open(target, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                elif m.ischr() or m.isblk() or m.isfifo():
                    kind = (stmod.S_IFCHR if m.ischr() else
                            stmod.S_IFBLK if m.isblk() else stmod.S_IFIFO)
                    os.mknod(target, kind | 0o600, os.makedev(m.devmajor, m.devminor))
                else:
                    continue
                o = owner or Owner(m.uid, m.gid)
                os.lchown(target, o.uid, o.gid)
                if not m.issym():
                    os.chmod(target, chmod if chmod is not None else m.mode & 0o7777)
                    os.utime(target, (m.mtime, m.mtime))
                n += 1
    except (tarfile.TarError, EOFError, OSError) as e:
        raise BuildError(f"ADD {path.name}", f"cannot extract archive: {e}") from e
    _ = base
    return n
