"""skiff build: Dockerfiles executed step by step with an explainable layer cache.

Modules: ``context`` (walk, .dockerignore, stat-cached checksums), ``cachekey`` (step keys
and miss explanations), ``imageconfig`` (config mutation per instruction), ``copy``
(COPY/ADD path rules), ``steps`` (one step: inputs, replay, execution), ``executor``
(stages and the build), ``records`` (the build tables), ``types`` (options and reports).

Entry point: :func:`build`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

    from skiff.build.types import BuildOptions, BuildReport, Progress
    from skiff.config import Config


def build(config: Config, db: sqlite3.Connection, options: BuildOptions,
          progress: Progress | None = None) -> BuildReport:
    """Build an image from a Dockerfile and a context; tag it; return the report.

    Args:
        config: the engine's configuration (store root, runtime).
        db: the metadata database (cache records live in its ``build_cache`` table).
        options: what to build (types.BuildOptions).
        progress: receives step events for display (types.Progress); None: silent.

    Returns:
        BuildReport: image ID, every step with CACHE HIT/MISS and why, times.

    Raises:
        DockerfileError: the Dockerfile does not parse (exit 1).
        BuildError: a step failed, a COPY source is missing, a stage is unknown (exit 1);
            the message names the Dockerfile line and step. No image or tag is left.
        ImageNotFound: the base image is not in the store and cannot be pulled.
    """
    from skiff.build.executor import Builder

    return Builder(config, db, options, progress).run()
