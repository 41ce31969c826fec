"""What /proc says about a process, for telling a live owner from a reused pid."""

from __future__ import annotations


def start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot, /proc/PID/stat field 22), or None
    when it is gone or a zombie. A pid with the start time recorded earlier is still that
    process: pids are reused, (pid, start time) pairs are not."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()  # after "(comm)", which may hold spaces
    return None if fields[0] in (b"Z", b"X") else int(fields[19])
