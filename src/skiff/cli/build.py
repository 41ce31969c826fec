"""``skiff build`` and ``skiff builder prune``: argument handling and progress rendering.

The work is ``skiff.build.build``; this module turns flags into BuildOptions, prints step
events (plain ``#N`` lines like BuildKit's ``--progress plain``, or a compact rich display
on a TTY) and the final summary, and serves ``--logs`` and ``--explain``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import IO

BUILD_USAGE = "skiff build [OPTIONS] PATH | -"


class PlainProgress:
    """BuildKit-style plain lines on ``out``: ``#N [k/n] INSTR``, RUN output with its
    time offset, ``#N CACHE HIT``/``#N CACHE MISS: why``, ``#N DONE 0.4s``."""

    def __init__(self, out: IO[str]):
        self.out = out
        self.t0: dict[int, float] = {}
        self.partial: dict[int, bytes] = {}

    def step_started(self, number: int, label: str, instruction: str) -> None:
        self.t0[number] = time.monotonic()
        self.out.write(f"#{number} {label} {instruction}\n")
        self.out.flush()

    def step_output(self, number: int, data: bytes) -> None:
        buf = self.partial.get(number, b"") + data
        *lines, rest = buf.split(b"\n")
        self.partial[number] = rest
        dt = time.monotonic() - self.t0.get(number, time.monotonic())
        for ln in lines:
            self.out.write(f"#{number} {dt:.3f} {ln.decode(errors='replace')}\n")
        self.out.flush()

    def step_finished(self, step) -> None:
        rest = self.partial.pop(step.number, b"")
        if rest:
            dt = time.monotonic() - self.t0.get(step.number, time.monotonic())
            self.out.write(f"#{step.number} {dt:.3f} {rest.decode(errors='replace')}\n")
        if step.cached:
            self.out.write(f"#{step.number} CACHE HIT {step.seconds:.2f}s\n")
        else:
            self.out.write(f"#{step.number} CACHE MISS: {step.why}\n")
            self.out.write(f"#{step.number} DONE {step.seconds:.2f}s\n")
        self.out.flush()

    def message(self, text: str) -> None:
        self.out.write(f"# {text}\n")
        self.out.flush()


class QuietProgress:
    def step_started(self, number, label, instruction):
        pass

    def step_output(self, number, data):
        pass

    def step_finished(self, step):
        pass

    def message(self, text):
        pass


class TTYProgress(PlainProgress):
    """A compact live view on a terminal (rich): one line per step, coloured hit/miss,
    the last lines of a running RUN under it."""

    def __init__(self, out: IO[str]):
        super().__init__(out)
        from rich.console import Console

        self.console = Console(file=out, highlight=False)
        self.current: tuple[int, str] | None = None
        self.status = None

    def step_started(self, number, label, instruction):
        from rich.markup import escape

        self.t0[number] = time.monotonic()
        self.current = (number, f"{label} {instruction}")
        self.status = self.console.status(f"[bold]#{number}[/] {escape(label)} "
                                          f"{escape(instruction)}")
        self.status.start()

    def step_output(self, number, data):
        buf = self.partial.get(number, b"") + data
        *lines, rest = buf.split(b"\n")
        self.partial[number] = rest
        from rich.markup import escape

        for ln in lines:
            self.console.print(f"  [dim]{escape(ln.decode(errors='replace'))}[/]",
                               markup=True, highlight=False)

    def step_finished(self, step):
        from rich.markup import escape

        if self.status is not None:
            self.status.stop()
            self.status = None
        name = escape(f"#{step.number} {step.label} {step.instruction}")
        if step.cached:
            self.console.print(f"[green]CACHE HIT [/] {name} [dim]{step.seconds:.2f}s[/]")
        else:
            self.console.print(f"[yellow]CACHE MISS[/] {name} [dim]{step.seconds:.2f}s[/]"
                               f"\n           [dim]({escape(str(step.why))})[/]")

    def message(self, text):
        from rich.markup import escape

        self.console.print(f"[dim]{escape(text)}[/]")


def _kv(items: list[str] | None, flag: str) -> dict[str, str | None]:
    from skiff.errors import InvalidArgument

    out: dict[str, str | None] = {}
    for it in items or []:
        k, eq, v = it.partition("=")
        if not k:
            raise InvalidArgument(f"invalid argument {it!r} for {flag}", "expected KEY=VALUE")
        out[k] = v if eq else None
    return out


def _secrets(items: list[str] | None) -> dict[str, Path]:
    from skiff.errors import InvalidArgument

    out: dict[str, Path] = {}
    for it in items or []:
        fields = dict(f.partition("=")[::2] for f in it.split(","))
        sid = fields.get("id")
        src = fields.get("src") or fields.get("source")
        if not sid:
            raise InvalidArgument(f"invalid secret {it!r}", "id= is required")
        if not src:
            env = fields.get("env") or sid
            if env in os.environ:
                raise InvalidArgument(f"invalid secret {it!r}",
                                      "secrets from the environment are not supported; use src=")
            src = sid
        p = Path(src).expanduser().absolute()
        if not p.is_file():
            raise InvalidArgument(f"secret {sid}", f"open {src}: no such file or directory")
        out[sid] = p
    return out


def _stdin_context(data: bytes, tmp: Path) -> tuple[Path | None, str | None]:
    """``skiff build -``: a tar (any compression) is the context; other text is the
    Dockerfile with no context. Returns (context dir or None, dockerfile text or None)."""
    import io
    import tarfile

    from skiff.layers.compression import decompressed

    try:
        with tarfile.open(fileobj=decompressed(io.BytesIO(data)), mode="r|") as tf:
            tmp.mkdir(parents=True, exist_ok=True)
            for m in tf:
                name = os.path.normpath("/" + m.name).lstrip("/")
                if not name or m.isdev():
                    continue
                m.name = name
                if m.issym() or m.islnk():
                    tf.extract(m, tmp, set_attrs=False)
                else:
                    tf.extract(m, tmp)
        return tmp, None
    except (tarfile.TarError, OSError, EOFError):
        return None, data.decode()


def build(ctx, argv: list[str]) -> int:
    """skiff build [OPTIONS] PATH | -"""
    p = ctx.parser("skiff build", "Build an image from a Dockerfile", usage=BUILD_USAGE)
    p.add_argument("context", nargs="?")
    p.add_argument("-t", "--tag", action="append", default=[])
    p.add_argument("-f", "--file")
    p.add_argument("--build-arg", action="append")
    p.add_argument("--target")
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--pull", action="store_true")
    p.add_argument("--label", action="append")
    p.add_argument("--network", default="default")
    p.add_argument("--progress", default="auto", choices=["auto", "plain", "tty", "quiet"])
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--iidfile")
    p.add_argument("--platform")
    p.add_argument("--secret", action="append")
    p.add_argument("--check", action="store_true")
    from skiff.cli.context import add_content_trust_flag, refuse_content_trust

    add_content_trust_flag(p)
    p.add_argument("--explain", action="store_true")
    p.add_argument("--logs", nargs="+", metavar="IMAGE|BUILD [STEP]")
    a = p.parse_args(argv)
    refuse_content_trust(a)
    from skiff.errors import InvalidArgument

    if a.logs:
        return _logs(ctx, a.logs)
    if a.context is None:
        raise InvalidArgument("skiff build", '"skiff build" requires exactly 1 argument')
    if a.platform and a.platform not in ("linux/amd64", "linux/x86_64") and not a.check:
        raise InvalidArgument(f"platform {a.platform}", "only linux/amd64 is supported")
    return _build(ctx, a)


def _build(ctx, a) -> int:
    import tempfile

    from skiff.build.types import BuildOptions
    from skiff.errors import BuildError

    def do_build(*args):
        from skiff.build import build

        return build(*args)

    dockerfile_text = None
    tmpdir = None
    try:
        if a.context == "-":
            tmpdir = tempfile.mkdtemp(prefix="skiff-ctx-")
            context, dockerfile_text = _stdin_context(sys.stdin.buffer.read()
                                                      if hasattr(sys.stdin, "buffer")
                                                      else sys.stdin.read().encode(),
                                                      Path(tmpdir) / "ctx")
        else:
            context = Path(a.context).absolute()
            if not context.is_dir():
                raise BuildError("unable to prepare context",  # Go's %q, as Docker
                                 f'path "{a.context}" not found')
        dockerfile = None
        if a.file == "-":
            dockerfile_text = sys.stdin.read()
        elif a.file:
            dockerfile = Path(a.file).absolute()
            if not dockerfile.exists() and context is not None and not Path(a.file).is_absolute():
                dockerfile = context / a.file
        if a.check:
            return _check(ctx, context, dockerfile, dockerfile_text, a.platform)
        build_args = _kv(a.build_arg, "--build-arg")
        labels = {k: v or "" for k, v in _kv(a.label, "--label").items()}
        opts = BuildOptions(context=context, dockerfile=dockerfile,
                            dockerfile_text=dockerfile_text, tags=tuple(a.tag),
                            build_args=build_args, target=a.target, no_cache=a.no_cache,
                            labels=labels, network=a.network,
                            platform=a.platform, secrets=_secrets(a.secret), pull=a.pull,
                            compression=os.environ.get("SKIFF_BUILD_COMPRESSION", "none"))
        mode = a.progress
        if a.quiet or mode == "quiet":
            progress = QuietProgress()
        elif mode == "tty" or (mode == "auto" and ctx.err.isatty()):
            progress = TTYProgress(ctx.err)
        else:
            progress = PlainProgress(ctx.err)
        report = None
        if not a.explain:
            from skiff.build.fastpath import try_fast

            report = try_fast(ctx.db, opts, progress)
        if report is None:
            report = do_build(ctx.config, ctx.db, opts, progress)
    finally:
        if tmpdir:
            import shutil

            shutil.rmtree(tmpdir, ignore_errors=True)
    if a.iidfile:
        Path(a.iidfile).write_text(report.image_id)
    if a.quiet:
        ctx.out.write(report.image_id + "\n")
    else:
        ctx.err.write(f"{report.built} layers built ({report.cached} cached) in "
                      f"{report.seconds:.2f}s\n")
        ctx.err.write(f"image {report.image_id}\n")
    if a.explain:
        from skiff.build.cachekey import StepInputs, explain_inputs

        for s in report.steps:
            ctx.out.write(f"#{s.number} {s.label} {s.instruction}\n")
            state = "CACHE HIT" if s.cached else f"CACHE MISS: {s.why}"
            ctx.out.write(f"    {state}\n")
            for ln in explain_inputs(StepInputs.from_dict(s.inputs)):
                ctx.out.write(f"    {ln}\n")
    return 0


def _check(ctx, context, dockerfile, text, platform=None) -> int:
    from skiff.cli.dockerfile import local_platforms
    from skiff.dockerfile import checks, parse

    path = None
    if text is None:
        path = dockerfile or (context / "Dockerfile")
        text = path.read_text()
        name = path.name
    else:
        name = "Dockerfile"
    df = parse(text, filename=name)
    warnings = checks.run_checks(df, context, dockerfile_path=path,
                                 base_platform=local_platforms(ctx), platform=platform)
    for w in warnings:
        ctx.err.write(f"WARNING: {w.rule} - {w.url}\n{w.message} ({name}:{w.line})\n")
    if warnings:
        ctx.err.write(f"Check complete, {len(warnings)} warning"
                      f"{'s have' if len(warnings) != 1 else ' has'} been found!\n")
        return 1
    ctx.err.write("Check complete, no warnings found.\n")
    return 0


def _logs(ctx, args: list[str]) -> int:
    """``skiff build --logs IMAGE|BUILD [STEP]``: the full output of the build's RUN steps."""
    from skiff.build.records import BuildRecords
    from skiff.errors import NotFound

    ref = args[0]
    step = int(args[1].lstrip("#")) if len(args) > 1 else None
    recs = BuildRecords(ctx.db)
    found = recs.find_build(ref)
    if found is None:
        try:
            from skiff.images import ImageService

            image = ImageService(ctx.config, ctx.db).get(ref)
            found = recs.find_build(image.id)
        except Exception:
            found = None
    if found is None:
        raise NotFound(f"build {ref}", "no build record for this image or build ID")
    _bid, report = found
    shown = 0
    for s in report["steps"]:
        if step is not None and s["number"] != step:
            continue
        log = recs.log(s["key"])
        if log is None and step is None:
            continue
        stage = s["stage"] + " " if s["stage"] else ""
        ctx.out.write(f"#{s['number']} [{stage}{s['index']}/{s['total']}] {s['instruction']}\n")
        if log:
            text = log.decode(errors="replace")
            ctx.out.write(text if text.endswith("\n") else text + "\n")
        shown += 1
    if step is not None and shown == 0:
        raise NotFound(f"step {step}", "no such step in the build")
    return 0


def builder_prune(ctx, argv: list[str]) -> int:
    """skiff builder prune [-a] [-f] [--filter until=DURATION]"""
    p = ctx.parser("skiff builder prune", "Remove build cache")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("--filter", action="append")
    a = p.parse_args(argv)
    from skiff.errors import InvalidArgument

    older = None
    for f in a.filter or []:
        k, eq, v = f.partition("=")
        if not eq:  # docker/cli's opts.FilterOpt, before anything is sent
            raise InvalidArgument(f'invalid argument "{f}" for "--filter" flag: bad format '
                                  "of filter (expected name=value)")
        if k != "until":  # (BuildKit's id/parent/type/... filters are not kept by skiff)
            raise InvalidArgument(f"failed to prune build cache: Invalid filter '{k}'",
                                  exit_code=1)
        from skiff.dockerfile.gotext import InstructionError, parse_go_duration

        try:
            older = time.time() - parse_go_duration(v) / 1e9
        except InstructionError as e:  # dockerd's words, Go's ParseDuration (no "1d")
            raise InvalidArgument("failed to prune build cache: \"until\" filter expects a "
                                  f"duration (e.g., '24h'): {e}", exit_code=1) from None
    if not a.force:
        ctx.out.write("WARNING! This will remove all build cache. " if a.all else
                      "WARNING! This will remove all dangling build cache. ")
        ctx.out.write("Are you sure you want to continue? [y/N] ")
        ctx.out.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            return 0
    from skiff.format.humanize import prune_report

    ids, freed = prune_build_cache(ctx, older)
    ctx.out.write(prune_report("Deleted build cache objects:", ids, freed))
    return 0


def prune_build_cache(ctx, older: float | None = None) -> tuple[list[str], int]:
    """Drop the build cache records (those unused since ``older``, unix time, or all) and
    free the space they held (their layers and unpacked levels nothing else needs), as
    Docker's builder prune does; returns (the records' IDs, bytes freed)."""
    from skiff.build.records import BuildRecords
    from skiff.images import ImageService

    dropped = BuildRecords(ctx.db).prune_records(older_than=older)
    freed = ImageService(ctx.config, ctx.db).reclaim_build_cache(
        r.layer["digest"] for r in dropped if r.layer and r.layer.get("digest"))
    return [r.key.partition(":")[2] or r.key for r in dropped], freed


def _duration_s(v: str) -> float:
    from skiff.errors import InvalidArgument

    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if v[-1] in units:
            return float(v[:-1]) * units[v[-1]]
        return float(v)
    except (ValueError, IndexError):
        raise InvalidArgument(f"invalid duration {v!r}", "expected e.g. 24h, 30m") from None
