"""The build executor: stages in dependency order, each instruction a cached step.

Per step (DESIGN.md "How data flows"): expand the instruction against the stage's ARGs and
ENV → compute its cache key (cachekey.StepInputs) → a hit takes the recorded layer and
config; a miss runs the step (config change, COPY/ADD into a fresh snapshot, or RUN in a
container through ``skiff.runtime.oneshot``), diffs the snapshot's upper dir into a layer,
ingests it, commits the snapshot under the new chainID and records the result. At the end
the target stage's config and layers become an image and the tags move to it; nothing is
tagged when a step fails.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from skiff.build import imageconfig as ic
from skiff.build import instructions as ins_
from skiff.build.cachekey import StepInputs, explain_miss
from skiff.build.records import BuildRecords, CacheRecord
from skiff.build.types import BuildOptions, BuildReport, Progress, StepReport
from skiff.errors import BuildError, DockerfileError, ImageNotFound, SkiffError
from skiff.procinfo import start_time
from skiff.services import StoreParts
from skiff.snapshots.usage import content_size

if TYPE_CHECKING:
    import sqlite3

    from skiff.build.context import BuildContext
    from skiff.config import Config

LAYER_MEDIA_TYPES = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}
# a build's lease on the blobs it uses outlives the longest build (an expired lease is
# reaped, and its blobs collected, by the next command)
BUILD_LEASE_TTL_S = 7 * 24 * 3600
_ARG_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def _now_rfc3339() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class StageState:
    """Mutable state of one stage while it builds (not a value object)."""

    name: str
    index: int
    img: dict[str, Any]
    layers: list[Any] = field(default_factory=list)
    chain_id: str | None = None
    key: str = ""
    args: dict[str, str] = field(default_factory=dict)
    arg_order: list[str] = field(default_factory=list)
    cmd_set: bool = False


class Builder(StoreParts):
    """Runs one build (see :func:`skiff.build.build`)."""

    def __init__(self, config: Config, db: sqlite3.Connection, opts: BuildOptions,
                 progress: Progress | None = None):
        self.config = config
        self.db = db
        self.opts = opts
        self.progress = progress or Progress()
        self.records = BuildRecords(db)
        self.build_id = secrets.token_hex(13)[:25]
        self.created = _now_rfc3339()
        self.steps: list[StepReport] = []
        self.step_inputs: list[tuple[str, dict[str, Any]]] = []
        self.touched: list[str] = []
        self.results: dict[int, StageState] = {}
        self.filename = "Dockerfile"
        self.context: BuildContext | None = None
        self.work = config.tmp_dir / f"build-{self.build_id}"
        self.bases: list[tuple[str, str]] = []  # (normalized name, image ID) for the fast path
        self.volatile = False  # an input the fast path cannot check (ADD of a URL)
        self._netns: dict[str, Any] = {}  # network → the RUN steps' Sandbox (run_netns)
        self._net_stack = contextlib.ExitStack()
        self._userns: tuple[Any, str] | None = None  # (IdMapping, pinned path): run_userns


    # -- the build ---------------------------------------------------------------------------
    def run(self) -> BuildReport:
        """Build; returns the report. Raises BuildError/DockerfileError (exit 1)."""
        from skiff import dockerfile
        from skiff.build.context import BuildContext

        t0 = time.monotonic()
        opts = self.opts
        text, dockerfile_path = self._dockerfile_text()
        df = dockerfile.parse(text, filename=self.filename)
        if not df.stages:
            raise DockerfileError("file with no instructions", filename=self.filename)
        if opts.context is not None:
            if not opts.context.is_dir():
                raise BuildError(f'unable to prepare context: path "{opts.context}"',
                                 "not found")
            from skiff.dockerfile import ignore

            patterns = ignore.read_ignore(opts.context, dockerfile_path)
            self.context = BuildContext(opts.context, patterns, self.db)
        else:
            self.context = BuildContext.empty()
        self.df = df
        self.dockerfile_id = str(dockerfile_path) if dockerfile_path else "-"
        self.meta_args = self._meta_args(df)
        target = self._target_index(df)
        order = self._needed_stages(df, target)
        self._sweep_dead_builds()
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "owner").write_text(f"{os.getpid()} {start_time(os.getpid())}\n")
        # A lease on every blob the build uses (base layers, cached and new layers): a
        # concurrent builder prune / rmi must not delete them before the image records
        # them. On failure nothing is collected (the cache records keep their layers).
        with self.images.leased(BUILD_LEASE_TTL_S, collect_on_error=False):
            try:
                for i in order:
                    self.results[i] = self._run_stage(df.stages[i])
                final = self.results[target]
                image = self._export(final)
            finally:
                try:
                    self._net_stack.close()  # the RUN steps' network namespaces
                finally:
                    self._save_history()
                    self.context.checksums.flush()
                    shutil.rmtree(self.work, ignore_errors=True)
        report = BuildReport(self.build_id, image.id, tuple(opts.tags), tuple(self.steps),
                             time.monotonic() - t0)
        steps = [s.to_dict() for s in self.steps]
        self.records.save_build(self.build_id, image.id, list(opts.tags), {"steps": steps})
        self._save_fast(image.id, steps)
        return report

    def protect_image(self, image: Any) -> None:
        """Put a base image's config and layers under the build's lease (see run())."""
        self.images.protect(image.id)
        for layer in image.layers:
            self.images.protect(layer.digest)

    def run_netns(self, network: str) -> Any:
        """The sandbox (skiff.network.sandbox.Sandbox: ``.netns`` path, ``.nameservers``)
        RUN steps on bridge ``network`` join (``bridge`` or a
        user-defined network): one per network per build, made and attached at the first
        such step and released when the build ends, on every path (skiff.network.sandbox;
        a killed build's is swept by the next command). Reusing it spares each step the
        veth set-up and teardown, as BuildKit reuses namespaces from a pool; the step's
        processes are gone with its container before the next step starts."""
        if network not in self._netns:
            from skiff.network import sandbox

            remap = self.run_userns()
            self._netns[network] = self._net_stack.enter_context(
                sandbox.bridged(self.config, self.db, network,
                                userns=remap[1] if remap else None))
        return self._netns[network]

    def run_userns(self) -> tuple[Any, str] | None:
        """``(IdMapping, pinned user namespace path)`` the RUN steps run in when the store
        has ``userns-remap`` (Docker's classic builder runs them in the remapped range as
        its containers), None otherwise: one namespace per build, made at the first RUN and
        unpinned when the build ends (a killed build's by the next build's sweep); the
        build's network namespaces are made inside it (a namespace the steps' user
        namespace does not own could not be joined)."""
        if not self.config.userns_remap:
            return None
        if self._userns is None:
            from skiff.runtime import userns

            m = userns.remap(self.config.userns_remap)
            path = userns.repin(m, userns.pin_path(self.work.name))
            self._net_stack.callback(userns.unpin, path)  # after the netns (LIFO)
            self._userns = (m, path)
        return self._userns

    def _sweep_dead_builds(self) -> None:
        """Undo what a build killed -9 left: its RUN containers and mounts, the mounts
        under its work dir (``FROM`` views), its active/view snapshots
        (``build-<id>-*``) and the work dir. Builds whose process still runs are left
        alone (their work dir's ``owner`` names pid and start time)."""
        from skiff.network import sandbox

        sandbox.sweep(self.config, self.db)  # RUN steps' netns/veth (network wiring)
        tmp = self.config.tmp_dir
        try:
            names = [n for n in os.listdir(tmp) if n.startswith("build-")]
        except FileNotFoundError:
            return
        dead = []
        for name in names:
            try:
                pid_s, start_s = (tmp / name / "owner").read_text().split()
            except (OSError, ValueError):
                continue
            if str(start_time(int(pid_s))) != start_s:
                dead.append(name)
        if not dead:
            return
        from skiff.runtime import oneshot
        from skiff.runtime.mounts import unmount
        from skiff.runtime.userns import pin_path, unpin

        oneshot.sweep_stale(self.config)
        for name in dead:
            unpin(pin_path(name))  # its RUN steps' user namespace (userns-remap), if any
            work = tmp / name
            prefix = str(work) + "/"
            with open("/proc/self/mountinfo") as f:
                points = [ln.split()[4] for ln in f if ln.split()[4].startswith(prefix)]
            try:
                for point in sorted(points, key=len, reverse=True):
                    unmount(point)
            except SkiffError:
                continue  # never rmtree through a mount
            for info in self.snapshotter.list():
                if info.key.startswith(name + "-") and info.kind in ("active", "view"):
                    with contextlib.suppress(SkiffError):
                        self.snapshotter.remove(info.key)
            shutil.rmtree(work, ignore_errors=True)

    def _save_fast(self, image_id: str, steps: list[dict[str, Any]]) -> None:
        """Leave the result record the no-op fast path checks (fastpath.py)."""
        from skiff.build import fastpath

        fp = fastpath.fingerprint(self.opts)
        if fp is None or self.context is None or self.opts.context is None or self.volatile:
            return
        fastpath.save(self.db, fp, context=self.opts.context.absolute(),
                      entries=self.context.entries, bases=sorted(set(self.bases)),
                      tags={t: _normalized(t) for t in self.opts.tags}, image_id=image_id,
                      steps=steps)

    def _dockerfile_text(self) -> tuple[str, Path | None]:
        opts = self.opts
        if opts.dockerfile_text is not None:
            return opts.dockerfile_text, None
        path = opts.dockerfile
        if path is None:
            if opts.context is None:
                raise BuildError("build", "no Dockerfile and no context given")
            path = opts.context / "Dockerfile"
        self.filename = path.name
        try:
            return path.read_text(), path
        except FileNotFoundError:
            # BuildKit names it relative to the context ("open Dockerfile: ..."): never the
            # temporary directory a context read from stdin was unpacked to
            shown = path
            if opts.context is not None:
                with contextlib.suppress(ValueError):
                    shown = path.relative_to(opts.context)
            raise BuildError("failed to read dockerfile",
                             f"open {shown}: no such file or directory") from None

    def _meta_args(self, df: Any) -> dict[str, str]:
        from skiff.dockerfile.shell import Lexer

        lex = Lexer(self._escape())
        env: dict[str, str] = {}
        for a in df.meta_args:
            for name, default in ins_.arg_pairs(a):
                if name in self.opts.build_args:
                    v = self._build_arg_value(name)
                    if v is not None:
                        env[name] = v
                elif default is not None:
                    env[name] = lex.process_word(default, env)
        return env

    def _escape(self) -> str:
        return getattr(self.df, "escape", "\\") if hasattr(self, "df") else "\\"

    def _build_arg_value(self, name: str) -> str | None:
        v = self.opts.build_args.get(name)
        return os.environ.get(name) if v is None else v

    def _target_index(self, df: Any) -> int:
        t = self.opts.target
        if t is None:
            return len(df.stages) - 1
        for s in df.stages:
            if s.name and s.name.lower() == t.lower():
                return s.index
        raise BuildError(f"target stage {t!r}", "could not be found")

    def _stage_ref(self, df: Any, name: str, before: int) -> int | None:
        """Index of the stage ``name`` (a name or an index) defined before ``before``."""
        if name.isdigit():
            i = int(name)
            if i >= before:
                raise BuildError(f"stage {name}", f"invalid stage index {name}")
            return i
        for s in df.stages[:before]:
            if s.name and s.name.lower() == name.lower():
                return s.index
        return None

    def _deps(self, df: Any, stage: Any) -> set[int]:
        from skiff.dockerfile.shell import Lexer

        out: set[int] = set()
        base = Lexer(self._escape()).process_word(stage.base, self.meta_args)
        i = self._stage_ref(df, base, stage.index) if not base.isdigit() else None
        if i is not None:
            out.add(i)
        for ins in stage.instructions:
            ref = ins_.field(ins, "from_", default=None)
            for m in ins_.field(ins, "mounts", default=None) or []:
                f = ins_.parse_mount(m).get("from")
                if f:
                    ref = ref or f
            if ref:
                j = self._stage_ref(df, ref, stage.index)
                if j is not None:
                    out.add(j)
        return out

    def _needed_stages(self, df: Any, target: int) -> list[int]:
        need: set[int] = set()
        todo = [target]
        while todo:
            i = todo.pop()
            if i in need:
                continue
            need.add(i)
            todo.extend(self._deps(df, df.stages[i]))
        return sorted(need)

    # -- stages --------------------------------------------------------------------------------
    def _run_stage(self, stage: Any) -> StageState:
        from skiff.dockerfile.shell import Lexer

        # BuildKit's step prefix: the stage name, "stage-N" for an unnamed stage of a
        # multi-stage build, nothing for a single-stage build
        name = stage.name or ("" if len(self.df.stages) == 1 else f"stage-{stage.index}")
        lex = Lexer(self._escape())
        base = lex.process_word(stage.base, self.meta_args)
        st = StageState(name=name, index=stage.index, img={})
        instrs = list(stage.instructions)
        t0 = time.monotonic()
        number = self._next_number()
        label_total = len(instrs) + 1
        from_text = f"FROM {base}" + (f" AS {stage.name}" if stage.name else "")
        label = StepReport(number, name, 1, label_total, "", 0, False, None, 0, "", {}, False).label
        self.progress.step_started(number, label, from_text)
        try:
            inputs, apply = self._resolve_base(base, stage)
        except SkiffError as e:
            raise self._step_error(stage.line, label, from_text, e) from e
        onbuild = apply["img"].get("config", {}).get("OnBuild") or []
        if onbuild:
            instrs = self._onbuild(onbuild, stage) + instrs
            label_total = len(instrs) + 1
        key = inputs.key()
        rec = None if self.opts.no_cache else self.records.lookup(key)
        if rec is not None:
            st.img, st.chain_id = rec.config, rec.chain_id
            cached, why = True, None
        else:
            cached = False
            st.img, st.chain_id = apply["img"], apply["chain_id"]
            if onbuild:
                st.img.get("config", {}).pop("OnBuild", None)
            prev = self._last(stage, 0)
            why = "--no-cache" if self.opts.no_cache else explain_miss(prev, inputs)
            if prev is not None and why == "parent layer changed" and inputs.parent != "":
                why = f"base image {base} changed"
            self.records.store(CacheRecord(key, None, st.chain_id, st.img))
        st.layers = list(apply["layers"])
        st.key = key
        self._finish(StepReport(number, name, 1, label_total, from_text, stage.line, cached,
                                why, time.monotonic() - t0, key, inputs.key_material(), False),
                     stage, 0, inputs)
        for pos, ins in enumerate(instrs, start=1):
            self._run_step(st, stage, ins, pos, label_total)
        return st

    def _onbuild(self, triggers: list[str], stage: Any) -> list[Any]:
        from skiff import dockerfile

        out = []
        for t in triggers:
            sub = dockerfile.parse(f"FROM scratch\n{t}\n", filename=self.filename)
            out.extend(sub.stages[0].instructions)
        return out

    def _resolve_base(self, base: str, stage: Any) -> tuple[StepInputs, dict[str, Any]]:
        """The FROM step: (its inputs, {"img", "layers", "chain_id"})."""
        if base.lower() == "scratch":
            return (StepInputs(parent="", instruction="FROM scratch"),
                    {"img": ic.empty_image(), "layers": [], "chain_id": None})
        j = self._stage_ref(self.df, base, stage.index) if not base.isdigit() else None
        if j is not None:
            src = self.results[j]
            return (StepInputs(parent=src.key, instruction=f"FROM stage {j}"),
                    {"img": _copy_img(src.img), "layers": list(src.layers),
                     "chain_id": src.chain_id})
        image = self._get_image(base)
        return (StepInputs(parent=image.id, instruction=f"FROM {image.id}"),
                {"img": ic.from_base(image.config.raw), "layers": list(image.layers),
                 "chain_id": image.chain_id})

    def _get_image(self, ref: str):
        """A local image, else pulled (``--pull`` always pulls). Raises ImageNotFound."""
        if not self.opts.pull:
            try:
                image = self.images.get(ref)
                self.bases.append((_normalized(ref), image.id))
                self.protect_image(image)
                return image
            except ImageNotFound as e:
                missing = e
        else:
            missing = ImageNotFound(ref, "not pulled yet")
        try:
            from skiff.registry.client.api import pull
        except ImportError:
            try:
                from skiff.registry.client import pull  # type: ignore[no-redef]
            except ImportError:
                raise missing from None
        if not callable(pull):
            raise missing
        try:
            return pull(self.config, self.db, ref)
        except SkiffError as e:
            raise ImageNotFound(ref, f"no such image locally, and pulling it failed: {e}") from e

    # -- steps ---------------------------------------------------------------------------------
    def _next_number(self) -> int:
        return len(self.steps) + 1

    def _step_id(self, stage: Any, pos: int) -> str:
        ident = f"{self.context.root}\0{self.dockerfile_id}\0{stage.index}\0{pos}"
        return hashlib.sha256(ident.encode()).hexdigest()

    def _last(self, stage: Any, pos: int) -> StepInputs | None:
        d = self.records.last_inputs(self._step_id(stage, pos))
        return StepInputs.from_dict(d) if d else None

    def _finish(self, rep: StepReport, stage: Any, pos: int, inputs: StepInputs) -> None:
        self.steps.append(rep)
        self.step_inputs.append((self._step_id(stage, pos), inputs.to_dict()))
        if rep.cached:
            self.touched.append(rep.key)
        self.progress.step_finished(rep)

    def _save_history(self) -> None:
        if self.step_inputs:
            self.records.save_inputs(self.step_inputs)
        self.records.touch(self.touched)

    def _step_error(self, line: int, label: str, text: str, e: Exception) -> BuildError:
        why = str(e)
        if isinstance(e, SkiffError) and e.why and e.what in text:
            why = e.why
        return BuildError(f"{self.filename}:{line}: {label} {text}", why)

    def _run_step(self, st: StageState, stage: Any, ins: Any, pos: int, total: int) -> None:
        from skiff.build import steps

        t0 = time.monotonic()
        number = self._next_number()
        text = ins_.one_line(ins)
        line = ins_.field(ins, "line", default=0) or 0
        label = f"[{st.name + ' ' if st.name else ''}{pos + 1}/{total}]"
        self.progress.step_started(number, label, text)
        log = bytearray()
        try:
            step = steps.Step(self, st, ins, number, log)
            inputs = step.inputs()
            key = inputs.key()
            rec = None if self.opts.no_cache else self.records.lookup(key)
            if rec is not None and rec.layer:
                self.images.protect(rec.layer["digest"])  # before looking: see run()
                if not self.content.exists(rec.layer["digest"]):
                    rec = None
            if rec is not None:
                step.apply_record(rec)
                cached, why = True, None
            else:
                cached = False
                prev = self._last(stage, pos)
                why = "--no-cache" if self.opts.no_cache else explain_miss(prev, inputs)
                step.previous = prev
                layer = step.execute()
                if layer:
                    self.images.protect(layer["digest"])
                self.records.store(CacheRecord(key, layer, st.chain_id, st.img))
                if log:
                    self.records.save_log(key, bytes(log))
        except SkiffError as e:
            if isinstance(e, BuildError) and e.what.startswith(f"{self.filename}:"):
                raise
            raise self._step_error(line, label, text, e) from e
        except ValueError as e:
            raise self._step_error(line, label, text, e) from e
        st.key = key
        self._finish(StepReport(number, st.name, pos + 1, total, text, line, cached, why,
                                time.monotonic() - t0, key, inputs.key_material(),
                                bool(rec.layer if rec else layer)), stage, pos, inputs)

    # -- export -------------------------------------------------------------------------------
    def _export(self, st: StageState):
        config = ic.finalize(st.img, labels=self.opts.labels)
        t0 = time.monotonic()
        image = self.images.create(config, list(st.layers), tags=tuple(self.opts.tags))
        self.progress.message(f"writing image {image.id} done {time.monotonic() - t0:.1f}s")
        for t in self.opts.tags:
            self.progress.message(f"naming to {_normalized(t)} done")
        return image

    # -- filesystem helpers used by steps --------------------------------------------------
    def ensure_chain(self, st: StageState) -> None:
        """Make sure the stage's current chain exists as a committed snapshot."""
        if st.chain_id is None or self.snapshotter.exists(st.chain_id):
            return
        from skiff.snapshots import unpack

        diff_ids = [layer.diff_id for layer in st.layers]
        image = SimpleNamespace(layers=list(st.layers), diff_ids=diff_ids,
                                chain_id=st.chain_id, id=st.chain_id)
        unpack(self.snapshotter, self.content, image)

    def layer_from_upper(self, upper: Path, lower: list[Path], tag: str):
        """Diff an upper dir into a layer blob; None when nothing changed.

        Layers are stored uncompressed by default (``BuildOptions.compression="none"``), as
        dockerd and containers/storage keep built layers locally: the tar streams straight
        into the content store (one write, hashed on the way), and gzip's cost (seconds per
        64 MB on this class of machine) is not paid on every rebuild.
        """
        from skiff.errors import AlreadyExists
        from skiff.images import Layer
        from skiff.layers.diff import write_layer

        with os.scandir(upper) as it:
            if next(it, None) is None:
                return None
        algo = self.opts.compression
        w = self.content.writer(f"build-{self.build_id}-{tag}")
        try:
            if algo == "none":
                write_layer(upper, w, lower=lower)
                digest, size = w.digest(), w.offset
                diff_id = digest
            else:
                from skiff.layers.compression import compress_layer

                tmp = self.work / f"{tag}.tar"
                with open(tmp, "w+b") as f:
                    write_layer(upper, f, lower=lower)
                    f.seek(0)
                    cl = compress_layer(f, w, algo)
                tmp.unlink()
                digest, size, diff_id = cl.digest, cl.size, cl.diff_id
            try:
                w.commit(size=size, digest=digest)
            except AlreadyExists:
                pass
        except BaseException:
            with contextlib.suppress(Exception):
                w.abort()
            raise
        return Layer(digest=digest, size=size, media_type=LAYER_MEDIA_TYPES[algo],
                     diff_id=diff_id, unpacked_size=content_size(upper))


def _copy_img(img: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(img)


def _normalized(name: str) -> str:
    try:
        from skiff import reference

        return str(reference.parse(name))
    except Exception:
        return name


def arg_refs(text: str) -> set[str]:
    """Names a text refers to with ``$NAME`` or ``${NAME...}``."""
    return set(_ARG_REF.findall(text))
