"""One build step: its cache-key inputs, replaying a cache record, and executing it.

Config-only instructions change the image config (imageconfig.py). WORKDIR, COPY, ADD and
RUN work on a fresh active snapshot on top of the stage's chain: COPY/ADD/WORKDIR through
a mount of it, RUN through ``skiff.runtime.oneshot.run`` (the same spec builder and runc
driver as ``skiff run``). The snapshot's upper dir then becomes the step's layer.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import shutil
import stat as stmod
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skiff import digest
from skiff.build import imageconfig as ic
from skiff.build import instructions as ins_
from skiff.build.cachekey import StepInputs
from skiff.build.copy import Copier, extract_archive, is_archive, parse_chmod, resolve_chown
from skiff.errors import AlreadyExists, BuildError, InvalidArgument

if TYPE_CHECKING:
    from skiff.build.executor import Builder, StageState
    from skiff.build.records import CacheRecord

def _layer_dict(layer: Any) -> dict[str, Any] | None:
    if layer is None:
        return None
    d = {"digest": layer.digest, "size": layer.size, "media_type": layer.media_type,
         "diff_id": layer.diff_id}
    if getattr(layer, "unpacked_size", None) is not None:
        d["unpacked_size"] = layer.unpacked_size
    return d


def _is_url(s: str) -> bool:
    return s.startswith("http://") or s.startswith("https://")


def tree_digest(root: Path, sources: list[str]) -> tuple[str, dict[str, str]]:
    """The content digest of ``sources`` (relpaths under ``root``, a stage's mounted rootfs;
    a named symlink is followed inside the root, as :class:`Copier` copies it) and of every
    entry below them: ``(sha256:<hex>, {relpath: "<mode>:<uid>:<gid>:<sha256 or target>"})``.
    Modification times are left out (Docker's COPY checksums ignore them). A missing source
    is keyed as missing; the copy itself then fails with Copier's error."""
    from skiff.build.copy import in_root

    files: dict[str, str] = {}

    def entry(path: str, rel: str, st: os.stat_result) -> None:
        what = ""
        if stmod.S_ISREG(st.st_mode):
            with open(path, "rb") as f:
                what = digest.encoded(digest.of_stream(f)[0])
        elif stmod.S_ISLNK(st.st_mode):
            what = os.readlink(path)
        elif stmod.S_ISCHR(st.st_mode) or stmod.S_ISBLK(st.st_mode):
            what = f"{os.major(st.st_rdev)},{os.minor(st.st_rdev)}"
        files[rel] = f"{st.st_mode:o}:{st.st_uid}:{st.st_gid}:{what}"

    for top in sources:
        # every symlink on the way resolved inside the root (never on the host)
        path = os.fspath(in_root(root, "/" + top)) if top else os.fspath(root)
        if not os.path.exists(path):
            files.setdefault(top, "missing")
            continue
        st = os.stat(path)
        entry(path, top, st)
        if stmod.S_ISDIR(st.st_mode):
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                for name in sorted(dirnames + filenames):
                    p = os.path.join(dirpath, name)
                    entry(p, posixpath.join(top, os.path.relpath(p, path)), os.lstat(p))
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + files[rel].encode() + b"\n")
    return "stage-content:sha256:" + h.hexdigest(), files


class Step:
    """A step of a stage being built; see module docstring."""

    def __init__(self, builder: Builder, st: StageState, ins: Any, number: int, log: bytearray):
        self.b = builder
        self.st = st
        self.ins = ins
        self.kind = ins_.kind(ins)
        self.number = number
        self.log = log
        self.env = {**st.args, **ic.env_dict(st.img)}
        self.expanded = self._expand()
        self.matched: list[str] = []
        self.skip: set[str] = set()  # entries COPY --exclude removes
        self.previous: StepInputs | None = None  # the last build's inputs of this step
        self.current: StepInputs | None = None

    # -- expansion and inputs --------------------------------------------------------------
    def _expand(self) -> Any:
        if self.kind in ("ARG", "ONBUILD") or not hasattr(self.ins, "expand"):
            return self.ins
        from skiff.dockerfile.shell import Lexer

        lex = Lexer(self.b._escape())
        env = self.env

        def expander(word: str) -> str:
            return lex.process_word(word, env)

        try:
            out = self.ins.expand(expander)
        except TypeError:
            out = self.ins.expand(lex, env)
        if self.kind in ("COPY", "ADD"):
            out = self._expand_heredocs(out, env)
        return out

    def _expand_heredocs(self, ins: Any, env: dict[str, str]) -> Any:
        """COPY/ADD heredoc bodies expanded as BuildKit's SourcesAndDest.ExpandRaw does:
        variables are substituted (quotes kept as written) unless the delimiter was quoted
        (``<<"EOF"``); RUN heredocs are left to the shell."""
        import dataclasses

        from skiff.dockerfile.shell import Lexer

        docs = ins_.heredocs(ins)
        if not any(ins_.field(h, "expand", default=False) for h in docs):
            return ins
        raw = Lexer(self.b._escape(), skip_process_quotes=True)
        new = tuple([dataclasses.replace(h, content=raw.process_word(h.content, env))
                     if h.expand else h for h in docs])  # the field is a tuple (contracts)
        return dataclasses.replace(ins, heredocs=new)

    def inputs(self) -> StepInputs:
        """The step's cache-key inputs (ARG also updates the stage's args here: that
        happens whether the step hits or misses)."""
        st = self.st
        text = ins_.canonical(self.expanded)
        if self.kind == "ARG":
            # A changed value misses "upon its first usage, not its definition" (Dockerfile
            # reference, "Impact on build caching"): the values are not in the ARG's key
            # (so not in the chain below); the steps that use them carry them instead.
            self._declare_args()
            return StepInputs(parent=st.key, instruction=text)
        if self.kind == "RUN":
            return StepInputs(parent=st.key, instruction=text, args=dict(st.args),
                              extra=self._run_extra())
        from skiff.build.executor import arg_refs

        refs = arg_refs(ins_.field(self.ins, "original", default="") or "")
        args = {k: v for k, v in st.args.items() if k in refs}
        if self.kind in ("COPY", "ADD"):
            sources, files = self._copy_sources()
            self.current = StepInputs(parent=st.key, instruction=text, args=args,
                                      sources=sources, files=files)
            return self.current
        return StepInputs(parent=st.key, instruction=text, args=args)

    def _declare_args(self) -> list[tuple[str, str | None]]:
        from skiff.dockerfile.shell import Lexer

        st = self.st
        out = []
        lex = Lexer(self.b._escape())
        for name, default in ins_.arg_pairs(self.ins):
            if name in self.b.opts.build_args:
                value = self.b._build_arg_value(name)
            elif default is not None:
                value = lex.process_word(default, {**st.args, **ic.env_dict(st.img)})
            else:
                value = self.b.meta_args.get(name)
            if value is not None:
                st.args[name] = value
            if name not in st.arg_order:
                st.arg_order.append(name)
            out.append((name, value))
        self.declared = out
        return out

    def _run_extra(self) -> dict[str, str]:
        extra = {"network": self._network(self.ins)}
        return extra

    def _network(self, e: Any) -> str:
        """The RUN step's network: ``RUN --network=host|none`` (BuildKit), else the
        build's ``--network`` (``default``/``bridge``: the default bridge, as Docker's
        classic builder; ``host``; ``none``; a user-defined bridge network's name)."""
        network = ins_.field(e, "network", default=None) or "default"
        if network == "default":
            network = self.b.opts.network
        return "default" if network == "bridge" else network

    def _copy_sources(self) -> tuple[str, dict[str, str]]:
        srcs, _dest = ins_.sources_dest(self.expanded)
        from_ = ins_.field(self.expanded, "from_", default=None)
        if ins_.heredocs(self.expanded) and not srcs:
            return "", {}
        if from_:
            j = self.b._stage_ref(self.b.df, from_, self.st.index)
            if j is not None:
                # Docker keys COPY --from on the content of what is copied, not on how the
                # stage got there: a stage rebuilt with the same output still hits.
                with self._source_root(from_, "-key") as src_root:
                    return tree_digest(src_root, [x.lstrip("/") for x in srcs])
            image = self.b._get_image(from_)
            return f"image:{image.id}", {}
        parts: list[str] = []
        files: dict[str, str] = {}
        ctx = self.b.context
        matched: list[str] = []
        for s in srcs:
            if self.kind == "ADD" and _is_url(s):
                parts.append(self._url_identity(s))
                continue
            m = ctx.match(s)
            if not m:
                raise BuildError(
                    f"failed to compute cache key: failed to calculate checksum of ref: "
                    f"\"/{s.lstrip('/')}\"", "not found")
            matched.extend(x for x in m if x not in matched)
        self.matched = matched
        self.skip = ctx.excluded(matched, list(ins_.field(self.expanded, "exclude",
                                                           default=None) or []))
        if self.skip:
            parts.append("exclude:" + ",".join(sorted(ins_.field(self.expanded, "exclude"))))
        if matched:
            ss = ctx.sources_checksum(matched, skip=self.skip)
            parts.append(ss.digest)
            files = ss.files
        return "+".join(parts), files

    def _url_identity(self, url: str) -> str:
        """What an ADD URL source contributes to the key: the ``--checksum`` when given
        (content addressed), else the server's validators (ETag, Last-Modified, length)
        from a HEAD request, so a changed remote file misses; a server that answers no
        HEAD makes the step always run."""
        checksum = ins_.field(self.expanded, "checksum", default=None)
        if checksum:
            return f"url:{url}@{checksum}"
        self.b.volatile = True  # the fast path cannot see a remote change: never use it
        import time

        import httpx

        try:
            r = httpx.head(url, follow_redirects=True, timeout=30)
            r.raise_for_status()
        except httpx.HTTPError:
            return f"url:{url}|unvalidated|{time.time()}"
        h = r.headers
        return (f"url:{url}|{h.get('etag', '')}|{h.get('last-modified', '')}|"
                f"{h.get('content-length', '')}")

    # -- cache hit ---------------------------------------------------------------------------
    def apply_record(self, rec: CacheRecord) -> None:
        """Take a cached result: its config and (if any) its layer."""
        from skiff.images import Layer

        st = self.st
        if self.kind == "ARG":
            # The record may come from a build with other values: redo the history entry.
            ic.add_arg_history(st.img, self.declared, self.b.created)
            return
        # The chain below may differ from the record's in ARG history values only (the
        # keys ignore them): keep this build's history and take the step's own entries.
        history = list(st.img.get("history") or [])
        st.img = dict(rec.config)
        st.img["history"] = history + list(rec.config.get("history") or [])[len(history):]
        if rec.layer:
            st.layers.append(Layer(**rec.layer))
        st.chain_id = rec.chain_id
        if self.kind == "CMD":
            st.cmd_set = True

    # -- execution ---------------------------------------------------------------------------
    def execute(self) -> dict[str, Any] | None:
        """Run the step for real; returns the layer dict (or None when no layer)."""
        k = self.kind
        e = self.expanded
        img = self.st.img
        created = self.b.created
        if k == "ENV":
            ic.set_env(img, ins_.pairs(e), created)
        elif k == "LABEL":
            ic.set_labels(img, ins_.pairs(e), created)
        elif k == "CMD":
            cmd, _ = ins_.command(e)
            ic.set_cmd(img, cmd, created)
            self.st.cmd_set = True
        elif k == "ENTRYPOINT":
            cmd, _ = ins_.command(e)
            ic.set_entrypoint(img, cmd, created, cmd_set_in_stage=self.st.cmd_set)
        elif k == "EXPOSE":
            ic.set_expose(img, ins_.words(e, "ports"), created)
        elif k == "VOLUME":
            ic.set_volumes(img, ins_.words(e, "paths", "volumes"), created)
        elif k == "USER":
            ic.set_user(img, ins_.field(e, "user", default=""), created)
        elif k == "STOPSIGNAL":
            ic.set_stopsignal(img, ins_.field(e, "signal", default=""), created)
        elif k == "SHELL":
            ic.set_shell(img, ins_.words(e, "shell", "cmd"), created)
        elif k == "HEALTHCHECK":
            ic.set_healthcheck(img, self._health(e), created)
        elif k == "ONBUILD":
            ic.add_onbuild(img, self._onbuild_text(e))
        elif k == "MAINTAINER":
            ic.set_maintainer(img, ins_.field(e, "maintainer", "name", default=""), created)
        elif k == "ARG":
            ic.add_arg_history(img, self.declared, created)
        elif k == "WORKDIR":
            return self._workdir(e)
        elif k in ("COPY", "ADD"):
            return self._copy(e)
        elif k == "RUN":
            return self._run(e)
        elif k == "FROM":
            raise BuildError("FROM", "unexpected FROM inside a stage")
        else:
            raise BuildError(k, "unsupported instruction")
        return None

    def _health(self, e: Any) -> dict[str, Any]:
        h = ins_.field(e, "health", "config", default=None)
        if isinstance(h, dict):
            return h
        if h is not None:
            e = h
        test = ins_.field(e, "test", default=None) or []

        def ns(v: Any) -> int:
            if v is None:
                return 0
            if isinstance(v, float):
                return int(v * 1e9)
            return int(v)

        return {"Test": list(test), "Interval": ns(ins_.field(e, "interval")),
                "Timeout": ns(ins_.field(e, "timeout")),
                "StartPeriod": ns(ins_.field(e, "start_period")),
                "StartInterval": ns(ins_.field(e, "start_interval")),
                "Retries": ins_.field(e, "retries", default=0) or 0}

    def _onbuild_text(self, e: Any) -> str:
        expr = ins_.field(e, "expression", "trigger", default=None)
        if isinstance(expr, str):
            return expr
        text = ins_.field(e, "original", default="") or ""
        return text.split(None, 1)[1].strip() if " " in text.strip() else text

    # -- filesystem steps --------------------------------------------------------------------
    def _fs(self, fn, *, created_by: str, mount: bool = True) -> dict[str, Any] | None:
        from skiff.build.fsview import LayeredFS

        b, st = self.b, self.st
        b.ensure_chain(st)
        snap = b.snapshotter
        key = f"build-{b.build_id}-{self.number}"
        mounts = snap.prepare(key, st.chain_id)
        committed = False
        try:
            if mount:
                # COPY/ADD/WORKDIR only add files: write into the unmounted upper dir,
                # reading what is below through the merged view (fsview.py).
                fn(LayeredFS(snap.upperdir(key), snap.lowerdirs(key)))
            else:
                fn(mounts)
            layer = b.layer_from_upper(snap.upperdir(key), snap.lowerdirs(key), str(self.number))
            if layer is not None:
                chain = (layer.diff_id if st.chain_id is None
                         else digest.of_bytes(f"{st.chain_id} {layer.diff_id}".encode()))
                if not snap.exists(chain):
                    try:
                        snap.commit(chain, key)
                        committed = True
                    except AlreadyExists:
                        pass  # a concurrent build committed the same chain first
                st.layers.append(layer)
                st.chain_id = chain
                st.img.setdefault("rootfs", {"type": "layers", "diff_ids": []})
                st.img["rootfs"].setdefault("diff_ids", []).append(layer.diff_id)
            ic.add_history(st.img, created_by, empty_layer=layer is None, created=b.created)
            return _layer_dict(layer)
        finally:
            if not committed:
                with contextlib.suppress(Exception):
                    snap.remove(key)

    def _workdir(self, e: Any) -> dict[str, Any] | None:
        img = self.st.img
        cfg = img.setdefault("config", {})
        wd = ic.normalize_workdir(cfg.get("WorkingDir") or "/", ins_.field(e, "path", default=""))
        cfg["WorkingDir"] = wd
        if wd == "/":
            ic.add_history(img, "WORKDIR /", empty_layer=True, created=self.b.created)
            return None
        user = cfg.get("User") or ""

        def mk(rootfs: Path) -> None:
            from skiff.build.copy import ROOT, _mkdir_parents

            owner = resolve_chown(user, rootfs) if user else ROOT
            _mkdir_parents(rootfs, wd, owner)

        return self._fs(mk, created_by=f"WORKDIR {wd}")

    def _copy(self, e: Any) -> dict[str, Any] | None:
        srcs, dest = ins_.sources_dest(e)
        from_ = ins_.field(e, "from_", default=None)
        chown = ins_.field(e, "chown", default=None)
        chmod = ins_.field(e, "chmod", default=None)
        workdir = self.st.img.get("config", {}).get("WorkingDir") or "/"
        docs = ins_.heredocs(e)
        multi = len(srcs) > 1 or any(any(c in s for c in "*?[") for s in srcs)
        ctx = self.b.context
        add = self.kind == "ADD"

        def do(rootfs: Path) -> None:
            owner = resolve_chown(chown, rootfs) if chown else None
            mode = parse_chmod(chmod) if chmod else None
            if docs and not srcs:
                self._heredoc_files(rootfs, docs, dest, workdir, owner, mode)
                return
            if from_:
                with self._source_root(from_) as src_root:
                    Copier(src_root, rootfs, owner=owner, chmod=mode).copy(
                        [s.lstrip("/") for s in srcs], dest, workdir=workdir, multi=multi)
                return
            plain: list[str] = []
            for s in srcs:
                if add and _is_url(s):
                    self._add_url(s, rootfs, dest, workdir, owner, mode)
            for rel in self.matched:
                if rel in self.skip:
                    continue
                if add and rel and not ctx.is_dir(rel) and is_archive(ctx.root / rel):
                    extract_archive(ctx.root / rel, rootfs, dest if dest.endswith("/") else
                                    dest + "/", workdir=workdir, owner=owner, chmod=mode)
                else:
                    plain.append(rel)
            if plain:
                skip = self.skip
                c = Copier(ctx.root, rootfs, owner=owner, chmod=mode,
                           allowed=(lambda r: r in ctx.entries and r not in skip) if skip
                           else ctx.entries.__contains__)
                c.reuse = self._reusable()
                c.copy(plain, dest, workdir=workdir, multi=multi)

        return self._fs(do, created_by=self._copy_created_by(e))

    def _reusable(self) -> tuple[str, set[str]] | None:
        """For a COPY whose last build had the same parent and instruction: that result's
        directory and the source files unchanged since (hard-linked, not copied)."""
        prev, cur = self.previous, self.current
        if (prev is None or cur is None or self.b.opts.no_cache or prev.parent != cur.parent
                or prev.instruction != cur.instruction or prev.args != cur.args
                or not prev.files):
            return None
        rec = self.b.records.lookup(prev.key())
        if rec is None or rec.chain_id is None or rec.layer is None:
            return None
        snap = self.b.snapshotter
        if not snap.exists(rec.chain_id):
            return None
        same = {p for p, d in cur.files.items() if prev.files.get(p) == d}
        return os.fspath(snap.upperdir(rec.chain_id)), same

    def _copy_created_by(self, e: Any) -> str:
        """BuildKit's history text: ``COPY [--parents] [--chown=X] [--chmod=Y] SRC... DEST``
        from the expanded instruction (``--from``/``--link`` are not shown) + `` # buildkit``."""
        srcs, dest = ins_.sources_dest(e)
        parts = [self.kind]
        if ins_.field(e, "parents", default=False):
            parts.append("--parents")
        for flag in ("chown", "chmod"):
            v = ins_.field(e, flag, default=None)
            if v:
                parts.append(f"--{flag}={v}")
        names = srcs or [f"<<{ins_.field(h, 'name', default='EOF')}"
                         for h in ins_.heredocs(e)]
        return " ".join([*parts, *names, dest]) + " # buildkit"

    def _heredoc_files(self, rootfs: Path, docs: list[Any], dest: str, workdir: str,
                       owner: Any, mode: int | None) -> None:
        from skiff.build.copy import ROOT, _mkdir_parents, dest_path

        abs_dest, is_dir = dest_path(dest, workdir)
        for h in docs:
            name = ins_.field(h, "name", default="heredoc")
            if is_dir or len(docs) > 1:
                parent = _mkdir_parents(rootfs, abs_dest, ROOT)
                target = parent / name
            else:
                parent = _mkdir_parents(rootfs, posixpath.dirname(abs_dest), ROOT)
                target = parent / posixpath.basename(abs_dest)
            target.write_text(ins_.heredoc_content(h))
            os.chmod(target, mode if mode is not None else 0o644)
            o = owner
            os.lchown(target, o.uid if o else 0, o.gid if o else 0)

    def _add_url(self, url: str, rootfs: Path, dest: str, workdir: str, owner: Any,
                 mode: int | None) -> None:
        import httpx

        from skiff.build.copy import ROOT, _mkdir_parents, dest_path

        checksum = ins_.field(self.expanded, "checksum", default=None)
        abs_dest, is_dir = dest_path(dest, workdir)
        name = posixpath.basename(url.split("?", 1)[0].rstrip("/")) or "download"
        if is_dir:
            target = _mkdir_parents(rootfs, abs_dest, ROOT) / name
        else:
            target = _mkdir_parents(rootfs, posixpath.dirname(abs_dest), ROOT) / posixpath.basename(abs_dest)
        h = hashlib.sha256()
        try:
            with httpx.stream("GET", url, follow_redirects=True, timeout=60) as r:
                r.raise_for_status()
                with open(target, "wb") as f:
                    for chunk in r.iter_bytes():
                        h.update(chunk)
                        f.write(chunk)
        except httpx.HTTPError as err:
            raise BuildError(f"ADD {url}", str(err)) from err
        if checksum and checksum != "sha256:" + h.hexdigest():
            raise BuildError(f"ADD {url}", f"digest mismatch {checksum}: sha256:{h.hexdigest()}")
        os.chmod(target, mode if mode is not None else 0o600)
        os.lchown(target, owner.uid if owner else 0, owner.gid if owner else 0)

    def _cache_sharing(self, d: Path, sharing: str, stack: contextlib.ExitStack) -> Path:
        """BuildKit's cache mount sharing: ``shared`` (concurrent users), ``locked`` (one
        writer at a time: wait for the lock), ``private`` (a fresh directory when in use)."""
        import fcntl

        if sharing == "shared":
            return d
        if sharing not in ("locked", "private"):
            raise InvalidArgument(f"RUN --mount sharing={sharing}",
                                  "expected shared, private or locked")
        lock = open(str(d) + ".lock", "a")  # noqa: SIM115 - closed by the stack
        stack.callback(lock.close)
        if sharing == "locked":
            fcntl.flock(lock, fcntl.LOCK_EX)
            return d
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return d
        except BlockingIOError:
            import tempfile

            private = Path(tempfile.mkdtemp(prefix="cache-private-", dir=self.b.work))
            return private

    @contextlib.contextmanager
    def _source_root(self, ref: str, suffix: str = "") -> Iterator[Path]:
        """A read-only view of another stage's (or an image's) root filesystem."""
        from skiff.snapshots import mount_all, unmount

        b = self.b
        j = b._stage_ref(b.df, ref, self.st.index)
        if j is not None:
            src = b.results[j]
            b.ensure_chain(src)
            chain = src.chain_id
        else:
            from skiff.snapshots import unpack

            image = b._get_image(ref)
            chain = unpack(b.snapshotter, b.content, image)
        target = b.work / f"from-{self.number}{suffix}"
        target.mkdir(parents=True, exist_ok=True)
        if chain is None:
            yield target
            return
        key = f"build-{b.build_id}-view-{self.number}{suffix}"
        mounts = b.snapshotter.view(key, chain)
        try:
            mount_all(mounts, target)
            try:
                yield target
            finally:
                unmount(target)
        finally:
            with contextlib.suppress(Exception):
                b.snapshotter.remove(key)

    # -- RUN -----------------------------------------------------------------------------------
    def _run_argv(self, e: Any) -> list[str]:
        cmd, shell_form = ins_.command(e)
        docs = ins_.heredocs(e)
        img = self.st.img
        if docs and shell_form:
            first = docs[0]
            content = ins_.heredoc_content(first)
            if len(docs) == 1 and cmd.strip().startswith("<<"):
                if content.startswith("#!"):
                    self._script = content
                    return ["/dev/pipes/" + ins_.field(first, "name", default="EOF")]
                return ic.with_shell(img, content)
            text = cmd
            for h in docs:
                text += "\n" + ins_.heredoc_content(h) + ins_.field(h, "name", default="EOF")
            return ic.with_shell(img, text)
        if shell_form:
            return ic.with_shell(img, cmd)
        return list(cmd)

    def _run(self, e: Any) -> dict[str, Any] | None:
        from skiff.runtime import oneshot

        self._script = None
        argv = self._run_argv(e)
        st = self.st
        cfg = st.img.get("config", {})
        # the predefined proxy ARGs reach RUN without a declaration (Docker's builders);
        # they are left out of the history and of the cache key (BuildKit's proxy env)
        from skiff.dockerfile.checks import PROXY_ARGS

        proxy = {k: v for k in PROXY_ARGS if k in self.b.opts.build_args
                 and (v := self.b._build_arg_value(k)) is not None}
        env_map = {**proxy, **st.args, **ic.env_dict(st.img)}
        env = [f"{k}={v}" for k, v in env_map.items()]
        network = self._network(e)
        build_args = [(k, st.args[k]) for k in st.arg_order if k in st.args]
        created_by = ic.run_created_by(argv, build_args)

        def out(data: bytes) -> None:
            self.log.extend(data)
            self.b.progress.step_output(self.number, data)

        def go(mounts: list[Any]) -> None:
            with contextlib.ExitStack() as stack:
                extra = self._run_mounts(e, stack)
                netns, dns = network, ()
                security = ins_.field(e, "security", default=None) or "sandbox"
                if network not in ("host", "none"):
                    br = "bridge" if network == "default" else network
                    if security == "insecure":  # may change the netns: one of its own
                        from skiff.network import sandbox

                        sb = stack.enter_context(sandbox.bridged(self.b.config, self.b.db, br))
                    else:  # the build's netns on that bridge
                        sb = self.b.run_netns(br)
                    # a user-defined network's resolver: names of its containers resolve
                    netns, dns = sb.netns, sb.nameservers
                remap = self.b.run_userns()  # userns-remap: the steps run remapped too
                code = oneshot.run(self.b.config, mounts=mounts, args=argv, env=env,
                               cwd=cfg.get("WorkingDir") or "/", user=cfg.get("User") or "",
                                   hostname="buildkitsandbox", network=netns,
                                   extra_mounts=extra, output=out,
                                   security=security, dns=dns,
                                   idmap=remap[0] if remap else None,
                                   userns_path=remap[1] if remap else None)
            if code != 0:
                raise BuildError(f'process "{" ".join(argv)}" did not complete successfully',
                                 f"exit code: {code}")
            self._keep_runtime_dirs()

        return self._fs(go, created_by=created_by, mount=False)

    def _keep_runtime_dirs(self) -> None:
        """BuildKit's RUN layer keeps the /dev, /proc and /sys mount points runc made when
        the image had none (its stub cleaner only removes the extra mounts' stubs); the
        runtime removes them, so put them back as BuildKit leaves them: empty, 0755 root."""
        snap = self.b.snapshotter
        key = f"build-{self.b.build_id}-{self.number}"
        upper = snap.upperdir(key)
        lowers = snap.lowerdirs(key)
        for d in ("dev", "proc", "sys"):
            if os.path.lexists(upper / d) or any(os.path.lexists(lo / d) for lo in lowers):
                continue
            os.mkdir(upper / d, 0o755)
            os.chmod(upper / d, 0o755)

    def _run_mounts(self, e: Any, stack: contextlib.ExitStack) -> list[dict[str, Any]]:
        """``RUN --mount`` and heredoc scripts as OCI mount entries; views of other stages
        and cache locks are held on ``stack`` until the RUN ends."""
        b = self.b
        out: list[dict[str, Any]] = []
        if self._script is not None:
            d = b.work / f"pipes-{self.number}"
            d.mkdir(parents=True, exist_ok=True)
            name = self._run_argv(e)[0].rsplit("/", 1)[1]
            p = d / name
            p.write_text(self._script)
            os.chmod(p, 0o755)
            out.append({"destination": "/dev/pipes", "type": "bind", "source": str(d),
                        "options": ["rbind", "ro"]})
        for raw in ins_.field(e, "mounts", default=None) or []:
            m = ins_.parse_mount(raw)
            get = m.get
            mtype = get("type", "bind") or "bind"
            target = get("target") or get("dst") or get("destination")
            if mtype == "secret":
                sid = get("id") or (posixpath.basename(target) if target else None)
                target = target or f"/run/secrets/{sid}"
                src = b.opts.secrets.get(sid)
                if src is None:
                    if get("required", False):
                        raise BuildError(f"secret {sid}", "not provided (--secret id=...)")
                    continue
                out.append({"destination": target, "type": "bind", "source": str(src),
                            "options": ["rbind", "ro"]})
            elif mtype == "cache":
                cid = get("id") or target
                d = b.config.root / "build-cache-mounts" / hashlib.sha256(
                    str(cid).encode()).hexdigest()[:32]
                if not d.exists():
                    d.mkdir(parents=True, exist_ok=True)
                    mode = get("mode")
                    if mode:
                        os.chmod(d, int(str(mode), 8))
                    uid, gid = int(get("uid", 0) or 0), int(get("gid", 0) or 0)
                    os.chown(d, uid, gid)
                ro = get("readonly", False) or get("ro", False)
                d = self._cache_sharing(d, str(get("sharing") or "shared"), stack)
                out.append({"destination": target, "type": "bind", "source": str(d),
                            "options": ["rbind", "ro" if ro else "rw"]})
            elif mtype == "tmpfs":
                out.append({"destination": target, "type": "tmpfs", "source": "tmpfs",
                            "options": ["nosuid", "nodev", "mode=1777"]})
            elif mtype == "bind":
                src = (get("source") or "").lstrip("/")
                frm = get("from") or get("from_")
                rw = get("readwrite", False) or get("rw", False)
                if frm:
                    from skiff.build.copy import in_root

                    root = stack.enter_context(self._source_root(frm, suffix=f"-{len(out)}"))
                    path = in_root(root, "/" + src)
                    if not path.exists():
                        raise BuildError(f"RUN --mount from={frm}", f"/{src}: not found")
                else:
                    ctx = b.context
                    path = ctx.resolve_in_context(src) if src else ctx.root
                if rw:
                    copy = b.work / f"bind-{self.number}-{len(out)}"
                    if path.is_dir():
                        shutil.copytree(path, copy, symlinks=True)
                    else:
                        shutil.copy2(path, copy)
                    path = copy
                out.append({"destination": target, "type": "bind", "source": str(path),
                            "options": ["rbind", "rw" if rw else "ro"]})
            else:
                raise InvalidArgument(f"RUN --mount type={mtype}", "unsupported mount type")
        return out
