"""QA: build cache behaviour compared with docker build (BuildKit)."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]

STEP = re.compile(r"^#(\d+) \[[^\]]*\] (\w+)", re.M)
OUTCOME = re.compile(r"^#(\d+) CACHE (HIT|MISS)", re.M)


def _steps(err: str) -> list[tuple[str, str]]:
    """[(INSTRUCTION, "HIT"|"MISS"), ...] in step order from the plain progress output."""
    names = {n: instr for n, instr in STEP.findall(err)}
    return [(names[n], how) for n, how in OUTCOME.findall(err)]


def test_changed_build_arg_misses_only_from_first_run(cli, busybox_tar, tmp_path):
    # Docker docs (Dockerfile reference, "Impact on build caching"): a changed ARG value
    # causes a cache miss "upon its first usage, not its definition"; BuildKit's WORKDIR
    # and COPY steps do not depend on build args, so they stay cache hits.
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f.txt").write_text("file\n")
    (ctx / "Dockerfile").write_text(
        "FROM bb:1\nARG BA=x\nWORKDIR /w\nCOPY f.txt .\nRUN echo \"$BA\" > /ba.txt\n")
    r1 = cli("build", "--progress", "plain", "-t", "qa-arg", "--build-arg", "BA=one", str(ctx))
    assert r1.code == 0, r1
    r2 = cli("build", "--progress", "plain", "-t", "qa-arg", "--build-arg", "BA=two", str(ctx))
    assert r2.code == 0, r2
    steps = [s for s in _steps(r2.err) if s[0] != "ARG"]
    assert steps == [("FROM", "HIT"), ("WORKDIR", "HIT"), ("COPY", "HIT"), ("RUN", "MISS")]
