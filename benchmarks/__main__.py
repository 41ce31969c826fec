"""``python -m benchmarks [NAME...]``: run ``benchmarks/<NAME>_bench.py`` (all by default).

Each module has ``main(argv) -> int`` and prints its figures side by side with the peer
tool and the ratio.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    names = argv or sorted(p.stem[:-len("_bench")] for p in here.glob("*_bench.py"))
    rc = 0
    for name in names:
        print(f"== {name}")
        mod = importlib.import_module(f"benchmarks.{name}_bench")
        rc |= int(mod.main([]) or 0)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
