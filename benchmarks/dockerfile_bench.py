"""Dockerfile front-end benchmark, side by side with the Python peers in one run.

1. A 10,000-instruction Dockerfile vs ``dockerfile_parse.DockerfileParser(...).structure``
   (instruction, line range, raw value per instruction): ``skiff.dockerfile.parser.scan``
   gives the same level of output; ``parse_ast`` (arguments tokenized, BuildKit's tree) and
   ``parse`` (typed instructions and stages) do more work and are shown for reference.
2. ``.dockerignore`` over a 100,000-file tree:
   a. from disk: ``skiff.dockerfile.ignore.walk`` (prunes excluded directories) vs
      ``pathspec.PathSpec.match_tree_files`` (walks everything) — both yield the files to
      keep or drop for the same pattern list;
   b. in memory: the same 100,000 relative paths through ``PatternMatcher.matches`` vs
      ``PathSpec.match_files``.

Run: ``python -m benchmarks.dockerfile_bench`` (``python -m benchmarks`` runs every benchmark).
Needs the ``bench`` extra (``pip install -e ".[bench]"``). Prints median CPU times
and ratios (peer time / skiff time: > 1 means skiff is faster).
"""

from __future__ import annotations

import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

IGNORE = """\
# typical .dockerignore
.git
node_modules
**/*.log
*.md
!README.md
build/
**/__pycache__
**/*.pyc
tmp/**
docs/**/*.png
"""


def make_dockerfile(n: int = 10_000, seed: int = 1) -> str:
    """A Dockerfile of ``n`` instructions mixing every common shape (multi-line RUNs,
    ENV/LABEL pairs, COPY flags, JSON forms, ARGs, stages)."""
    rnd = random.Random(seed)
    out = ["# syntax=docker/dockerfile:1", "ARG BASE=debian:12", "FROM ${BASE} AS base"]
    count = 2
    while count < n:
        k = rnd.randrange(10)
        if k < 3:
            out.append(f"RUN set -eux; \\\n    apt-get update; \\\n    apt-get install -y "
                       f"pkg{count} --no-install-recommends; \\\n"
                       f"    rm -rf /var/lib/apt/lists/*")
        elif k == 3:
            out.append(f'ENV V{count}=value{count} P{count}="a b c" PATH=/opt/{count}:$PATH')
        elif k == 4:
            out.append(f'LABEL org.example.k{count}="v {count}" other=x')
        elif k == 5:
            out.append(f"COPY --chown=1000:1000 --chmod=0644 src/{count}/ /app/{count}/")
        elif k == 6:
            out.append(f'CMD ["/bin/app", "--port", "{count}"]')
        elif k == 7:
            out.append(f"WORKDIR /work/{count}")
        elif k == 8:
            out.append(f"ARG A{count}=default")
        else:
            out.append(f"FROM base AS s{count}")
        count += 1
    return "\n".join(out) + "\n"


def make_tree(root: Path, n_files: int = 100_000, seed: int = 2) -> list[str]:
    """Create (once) a tree of ``n_files`` empty files: sources, docs, build output, a
    big node_modules and .git; return the relative file paths."""
    marker = root / ".complete"
    rnd = random.Random(seed)
    rels: list[str] = []
    shares = [("src", 0.30), ("node_modules", 0.35), (".git/objects", 0.15), ("build", 0.05),
              ("docs", 0.05), ("tests", 0.10)]
    for top, share in shares:
        k = int(n_files * share)
        for i in range(k):
            depth = rnd.randrange(1, 4)
            parts = [top] + [f"d{rnd.randrange(20)}" for _ in range(depth)]
            ext = rnd.choice([".py", ".pyc", ".js", ".md", ".log", ".png", ".txt"])
            rels.append("/".join(parts) + f"/f{i}{ext}")
    rels += ["README.md", "CHANGES.md", "Dockerfile", ".dockerignore"]
    rels = rels[:n_files]
    if not marker.exists():
        for rel in rels:
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.touch()
        (root / ".dockerignore").write_text(IGNORE)
        marker.touch()
    return rels


def _median(fn, repeat: int) -> float:
    """Median CPU time (user + system, seconds) of ``fn`` over ``repeat`` runs. CPU time,
    not wall time: the machine is shared and busy, and both sides are measured alike."""
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times)


def _pair(a, b, repeat: int) -> tuple[float, float]:
    """Medians of ``a`` and ``b`` measured alternately (a, b, a, b, ...)."""
    ta, tb = [], []
    for _ in range(repeat):
        ta.append(_median(a, 1))
        tb.append(_median(b, 1))
    return statistics.median(ta), statistics.median(tb)


def _row(name: str, skiff_s: float, peer: str, peer_s: float) -> str:
    return (f"{name:<44} skiff {skiff_s * 1000:9.1f} ms   {peer:<26} {peer_s * 1000:9.1f} ms"
            f"   ratio {peer_s / skiff_s:6.2f}x")


def main(argv: list[str] | None = None) -> int:
    from dockerfile_parse import DockerfileParser
    from pathspec import PathSpec

    from skiff.dockerfile import parse
    from skiff.dockerfile.ignore import PatternMatcher, read_patterns, walk
    from skiff.dockerfile.parser import parse_ast, scan

    repeat = 7
    text = make_dockerfile()
    print(f"Dockerfile: {text.count(chr(10))} lines, 10,000 instructions")

    def dfp():
        p = DockerfileParser(fileobj=io.BytesIO(text.encode()))
        return p.structure

    n_peer = sum(1 for x in dfp() if x["instruction"] != "COMMENT")
    n_skiff = len(parse(text).instructions())
    assert n_peer == n_skiff == 10_000, (n_peer, n_skiff)
    for label, fn in (("split 10k instructions (scan, same output)", lambda: scan(text)),
                      ("parse 10k instructions (node tree)", lambda: parse_ast(text)),
                      ("parse 10k instructions (typed stages)", lambda: parse(text))):
        t_skiff, t_peer = _pair(fn, dfp, repeat)
        print(_row(label, t_skiff, "dockerfile-parse", t_peer))

    base = Path(os.environ.get("SKIFF_BENCH_TREE") or
                Path(tempfile.gettempdir()) / "skiff-bench-ignore-tree")
    base.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rels = make_tree(base)
    print(f"\ntree: {len(rels)} files under {base} (ready in {time.perf_counter() - t0:.1f}s)")
    patterns = read_patterns(IGNORE)
    spec = PathSpec.from_lines("gitwildmatch", IGNORE.splitlines())

    def skiff_walk():
        return sum(1 for _ in walk(base, patterns, dockerfile="Dockerfile"))

    def pathspec_walk():
        return sum(1 for _ in spec.match_tree_files(str(base)))

    print(f"  skiff walk yields {skiff_walk()} entries; pathspec matches "
          f"{pathspec_walk()} files (their pattern dialects differ: gitignore vs dockerignore)")
    t_skiff, t_peer = _pair(skiff_walk, pathspec_walk, 3)
    print(_row("walk + filter 100k-file context (disk)", t_skiff, "pathspec.match_tree_files",
               t_peer))

    pm = PatternMatcher(patterns)
    t_pm, t_ps = _pair(lambda: [r for r in rels if pm.matches(r)],
                       lambda: list(spec.match_files(rels)), 3)
    print(_row("match 100k paths (memory)", t_pm, "pathspec.match_files", t_ps))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
