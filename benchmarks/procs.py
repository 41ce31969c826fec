"""Running one command for a benchmark: wall time and the rusage of what it waited for."""

from __future__ import annotations

import os
import subprocess
import time


def run_timed(args: list[str], env: dict | None = None):
    """Run ``args`` (stdin and stdout on /dev/null); return (wall seconds, rusage of the
    process and its waited-for descendants: ``ru_utime``/``ru_stime`` in seconds,
    ``ru_maxrss`` in KiB).

    Raises:
        RuntimeError: the command exited non-zero (its stderr's tail in the message).
    """
    t0 = time.perf_counter()
    p = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    p.stderr.close()
    if code != 0:
        raise RuntimeError(f"{' '.join(args[:4])} failed ({code}): {err[-2000:]}")
    return wall, ru
