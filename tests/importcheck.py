"""Which modules a piece of code imports, run in a fresh interpreter (start-up tests)."""

from __future__ import annotations

import subprocess
import sys


def imported(code: str, modules: tuple[str, ...]) -> list[str]:
    """Run ``code`` in a new ``python -c`` and return which of ``modules`` it left in
    ``sys.modules`` (in the order given). The code may print; only the last line counts.

    Raises:
        subprocess.CalledProcessError: the code failed.
    """
    probe = code + f"\nimport sys as _s\nprint(','.join(m for m in {modules!r} if m in _s.modules))\n"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       check=True)
    last = (r.stdout.splitlines() or [""])[-1].strip()
    return last.split(",") if last else []
