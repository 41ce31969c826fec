"""``python -m benchmarks``: run every ``benchmarks/*_bench.py`` module's ``main()``."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks

rc = 0
for m in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
    if m.name.endswith("_bench"):
        print(f"== {m.name}")
        rc |= importlib.import_module(f"benchmarks.{m.name}").main([]) or 0
sys.exit(rc)
