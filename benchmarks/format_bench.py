"""--format benchmark: skiff.format vs Go's text/template (as Docker's CLI runs it), one run.

Run: ``python -m benchmarks.format_bench [--rows N] [--repeat R]``.

Both sides render the same templates on the same data in one run: the peer is Go's real
text/template with docker/cli's functions and tabwriter settings (the differential-test
oracle, tests/unit/format/gooracle/main.go, built here with ``go build``; data decoded once,
then the render is timed inside Go). Cases:

  ps table   ``table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Names}}``
             over N container rows (header, tabwriter)
  inspect    ``{{.State.Status}} {{index .Config.Labels "app"}} {{json .Config}}`` on one
             docker-inspect-sized object, R times
Prints milliseconds per render for each side and the ratio skiff/Go, plus the import time
of skiff.format.gotemplate (paid once per CLI invocation).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ORACLE = Path(__file__).resolve().parent.parent / "tests" / "unit" / "format" / "gooracle"

PS_TABLE = ("table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}"
            "\\t{{.Names}}")
INSPECT = '{{.State.Status}} {{index .Config.Labels "app"}} {{json .Config}}'
HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
           "RunningFor": "CREATED", "Status": "STATUS", "Names": "NAMES"}


def ps_rows(n: int) -> list[dict]:
    return [{"Command": f"\"sh -c 'sleep {i}'\"", "ID": f"{i:012x}",
             "Image": f"registry.local/team/app{i % 7}:v{i % 3}", "Names": f"web-{i}",
             "RunningFor": f"{i % 59 + 1} minutes ago", "Status": f"Up {i % 59 + 1} minutes"}
            for i in range(n)]


def inspect_obj() -> dict:
    # The Go side holds maps, whose JSON keys come out sorted; skiff writes a dict in its
    # order (Docker's structs keep field order), so give skiff the keys sorted too.
    return json.loads(json.dumps(_inspect_obj(), sort_keys=True))


def _inspect_obj() -> dict:
    return {
        "Id": "4b2a8d3c1e0f" * 5 + "abcd",
        "Created": "2024-01-01T00:00:00.123456789Z",
        "State": {"Status": "running", "Running": True, "Paused": False, "Pid": 4242,
                  "ExitCode": 0, "StartedAt": "2024-01-01T00:00:01Z"},
        "Config": {"Hostname": "4b2a8d3c1e0f", "Env": [f"VAR{i}=value{i}" for i in range(20)],
                   "Cmd": ["sh", "-c", "while true; do sleep 1; done"], "Image": "busybox",
                   "Labels": {f"label{i}": f"v{i}" for i in range(10)} | {"app": "web"},
                   "WorkingDir": "/", "Entrypoint": ["/init"]},
        "Mounts": [{"Type": "volume", "Source": f"/var/lib/skiff/volumes/v{i}",
                    "Destination": f"/data{i}", "RW": True} for i in range(4)],
    }


def build_oracle(workdir: Path) -> Path | None:
    if not shutil.which("go"):
        return None
    exe = workdir / "oracle"
    env = {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
    r = subprocess.run(["go", "build", "-o", str(exe), "main.go"], cwd=ORACLE, env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"go build failed: {r.stderr.strip()[:300]}", file=sys.stderr)
        return None
    return exe


def go_time(proc: subprocess.Popen, repeat: int, **req: object) -> tuple[str, float]:
    """Seconds per render inside Go, and the text it rendered."""
    assert proc.stdin and proc.stdout
    proc.stdin.write(json.dumps({**req, "repeat": repeat}) + "\n")
    proc.stdin.flush()
    r = json.loads(proc.stdout.readline())
    if r["err"]:
        raise SystemExit(f"go: {r['err']}")
    return r["out"], r["ns"] / 1e9 / repeat


def py_time(fn, repeat: int) -> tuple[str, float]:
    out = fn()  # warm (parse cache)
    t0 = time.perf_counter()
    for _ in range(repeat):
        out = fn()
    return out, (time.perf_counter() - t0) / repeat


def import_time() -> float:
    """CPU seconds that importing skiff.format.gotemplate adds to a fresh interpreter
    (median of 9, bytecode cached as an installed package has it)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def cpu(stmt: str) -> float:
        code = (f"import resource; {stmt}; u = resource.getrusage(resource.RUSAGE_SELF); "
                "print(u.ru_utime + u.ru_stime)")
        runs = sorted(float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                           text=True, check=True, env=env).stdout)
                      for _ in range(9))
        return runs[4]

    cpu("import skiff.format.gotemplate")  # writes the .pyc files
    return max(0.0, cpu("import skiff.format.gotemplate") - cpu("pass"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000, help="container rows in the ps table")
    ap.add_argument("--repeat", type=int, default=200, help="renders per measurement")
    a = ap.parse_args(argv)
    from skiff.format.gotemplate import render, render_list

    with tempfile.TemporaryDirectory(prefix="skiff-fmt-bench-") as d:
        exe = build_oracle(Path(d))
        if exe is None:
            print("format_bench: skipped (needs the Go toolchain: apt-get install golang-go)")
            return 0
        proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True)
        try:
            rows, obj = ps_rows(a.rows), inspect_obj()
            reps = max(1, a.repeat // 20)
            g_out, g_ps = go_time(proc, reps, t=PS_TABLE, rows=rows, list=True, headers=HEADERS)
            p_out, p_ps = py_time(lambda: render_list(PS_TABLE, rows, headers=HEADERS), reps)
            assert p_out == g_out, "ps table output differs from Go's"
            g_out, g_in = go_time(proc, a.repeat, t=INSPECT, d=obj)
            p_out, p_in = py_time(lambda: render(INSPECT, obj), a.repeat)
            assert p_out == g_out, "inspect output differs from Go's"
        finally:
            assert proc.stdin
            proc.stdin.close()
            proc.wait()
    print(f"{'case':<28}{'skiff ms':>10}{'go ms':>10}{'ratio':>8}")
    print(f"{f'ps table, {a.rows} rows':<28}{p_ps * 1e3:>10.2f}{g_ps * 1e3:>10.2f}"
          f"{p_ps / g_ps:>8.1f}")
    print(f"{'inspect, 1 object':<28}{p_in * 1e3:>10.3f}{g_in * 1e3:>10.3f}{p_in / g_in:>8.1f}")
    print(f"import skiff.format.gotemplate: {import_time() * 1e3:.1f} ms CPU (once per command)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
