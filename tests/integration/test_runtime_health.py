"""Healthchecks with real runc (skiff.runtime.health, run by the monitor): State.Health,
``ps`` STATUS and ``--filter health=``, as docker 20.10 shows them (values compared with
a docker 20.10 daemon running the same commands on the busybox image)."""

from __future__ import annotations

import os
import re
import time

import pytest

from tests.integration.runtime_support import inspect, store
from tests.integration.test_container_lifecycle import _main

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


@pytest.fixture(scope="module")
def root(busybox_tar):
    for r in store(busybox_tar):
        # an image with a HEALTHCHECK whose command does not exist (as docker's
        # `HEALTHCHECK CMD ["nope"]`)
        res = _main(r, "import", "--change", 'HEALTHCHECK CMD ["nope"]', str(busybox_tar),
                    "bbhc:1")
        assert res.code == 0, res
        yield r


_inspect = inspect


def _health(root, name: str) -> dict | None:
    return _inspect(root, name)["State"].get("Health")


def _until(root, name: str, ok, timeout: float = 10.0) -> dict:
    end = time.monotonic() + timeout
    while True:
        h = _health(root, name)
        if ok(h) or time.monotonic() > end:
            return h
        time.sleep(0.1)


def _ps_status(root, name: str, *extra: str) -> str:
    return _main(root, "ps", *extra, "--filter", f"name={name}", "--format",
                 "{{.Status}}").out.strip()


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def test_healthy_then_stopped_then_started_again(root):
    res = _main(root, "run", "-d", "--name", "hc-ok", "--network", "none", "--health-cmd",
                "echo hi; exit 0", "--health-interval", "2s", "bb:1", "sleep", "60")
    assert res.code == 0, res
    rec = _inspect(root, "hc-ok")
    assert rec["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "echo hi; exit 0"],
                                            "Interval": 2_000_000_000}
    assert list(rec["Config"]).index("Healthcheck") == list(rec["Config"]).index("Cmd") + 1
    assert rec["State"]["Health"] == {"Status": "starting", "FailingStreak": 0, "Log": []}
    assert list(rec["State"])[-1] == "Health"
    assert re.fullmatch(r"Up (Less than a second|1 second) \(health: starting\)",
                        _ps_status(root, "hc-ok"))
    h = _until(root, "hc-ok", lambda h: h["Status"] == "healthy")
    assert h["Status"] == "healthy" and h["FailingStreak"] == 0
    entry = h["Log"][0]
    assert list(entry) == ["Start", "End", "ExitCode", "Output"]
    assert (entry["ExitCode"], entry["Output"]) == (0, "hi\n")
    assert RFC3339.match(entry["Start"]) and RFC3339.match(entry["End"])
    assert entry["Start"] <= entry["End"]
    assert re.fullmatch(r"Up (Less than a second|\d+ seconds?) \(healthy\)", _ps_status(root, "hc-ok"))
    assert _main(root, "ps", "--filter", "health=healthy", "--format", "{{.Names}}").out == "hc-ok\n"
    assert _main(root, "ps", "--filter", "health=none", "--format", "{{.Names}}").out == ""
    # stopped: dockerd's SetStopped makes it unhealthy, the streak and log stay
    assert _main(root, "stop", "-t", "1", "hc-ok").code == 0
    h2 = _health(root, "hc-ok")
    assert h2["Status"] == "unhealthy" and h2["FailingStreak"] == 0, (h, h2)
    assert h2["Log"][:len(h["Log"])] == h["Log"]
    assert _ps_status(root, "hc-ok", "-a").startswith("Exited (137) ")
    # started again: starting, streak 0, the log kept
    assert _main(root, "start", "hc-ok").code == 0
    h3 = _health(root, "hc-ok")
    assert (h3["Status"], h3["FailingStreak"], h3["Log"]) == ("starting", 0, h2["Log"])
    assert _main(root, "rm", "-f", "hc-ok").code == 0


def test_failures_timeouts_exec_errors_and_start_period(root):
    runs = {
        "hc-bad": ["--health-cmd", "echo bad >&2; exit 3", "--health-retries", "2",
                   "--health-interval", "300ms", "bb:1"],  # (the last --health-interval)
        "hc-slow": ["--health-cmd", "sleep 5", "--health-timeout", "1s", "bb:1"],
        "hc-img": ["bbhc:1"],  # the image's test, this interval (merged as dockerd)
        "hc-grace": ["--health-cmd", "exit 1", "--health-start-period", "60s", "bb:1"],
        "hc-big": ["--health-cmd", "yes | head -c 5000", "bb:1"],
    }
    for name, args in runs.items():
        res = _main(root, "run", "-d", "--name", name, "--network", "none",
                    "--health-interval", "1s", *args, "sleep", "60")
        assert res.code == 0, res
    assert _inspect(root, "hc-img")["Config"]["Healthcheck"] == {
        "Test": ["CMD", "nope"], "Interval": 1_000_000_000}

    bad = _until(root, "hc-bad", lambda h: h["FailingStreak"] >= 2)
    assert bad["Status"] == "unhealthy"
    assert {(e["ExitCode"], e["Output"]) for e in bad["Log"]} == {(3, "bad\n")}
    assert re.fullmatch(r"Up \d+ seconds? \(unhealthy\)|Up Less than a second \(unhealthy\)",
                        _ps_status(root, "hc-bad"))
    assert "hc-bad\n" in _main(root, "ps", "--filter", "health=unhealthy", "--format",
                               "{{.Names}}").out

    slow = _until(root, "hc-slow", lambda h: h["Log"])
    assert (slow["Status"], slow["FailingStreak"]) == ("starting", 1)
    assert slow["Log"][0]["ExitCode"] == -1
    assert slow["Log"][0]["Output"] == "Health check exceeded timeout (1s)"

    # the timed-out check's process was killed, runc exec reaped it: the container stops
    # (its init waits for every process of its PID namespace to be gone)
    assert _main(root, "stop", "-t", "1", "hc-slow").code == 0
    assert _inspect(root, "hc-slow")["State"]["Status"] == "exited"
    assert _health(root, "hc-slow")["Status"] == "unhealthy"

    img = _until(root, "hc-img", lambda h: h["Log"])
    assert img["Log"][0]["ExitCode"] == -1
    assert img["Log"][0]["Output"] == (
        'OCI runtime exec failed: exec failed: unable to start container process: exec: '
        '"nope": executable file not found in $PATH: unknown')

    grace = _until(root, "hc-grace", lambda h: len(h["Log"]) >= 2)
    assert (grace["Status"], grace["FailingStreak"]) == ("starting", 0)
    assert _ps_status(root, "hc-grace").endswith(" (health: starting)")

    big = _until(root, "hc-big", lambda h: h["Log"])
    out = big["Log"][0]["Output"]
    assert len(out) == 4099 and out.endswith("y\n...") and big["Status"] == "healthy"

    # the log keeps the last five
    bad = _until(root, "hc-bad", lambda h: h["FailingStreak"] >= 6, timeout=15)
    assert len(bad["Log"]) == 5 and bad["FailingStreak"] >= 6
    assert _main(root, "rm", "-f", *runs).code == 0


def test_no_check_no_prober(root):
    """Without a check (none at all, or --no-healthcheck over the image's) the monitor
    starts nothing: no Health in State, no health.json, its only child the init."""
    for name, args in (("hc-none", ["bb:1"]), ("hc-off", ["--no-healthcheck", "bbhc:1"])):
        res = _main(root, "run", "-d", "--name", name, "--network", "none", *args, "sleep", "60")
        assert res.code == 0, res
        rec = _inspect(root, name)
        assert "Health" not in rec["State"]
        bundle = root / "containers" / rec["Id"]
        assert not os.path.exists(bundle / "health.json")
        from skiff import metadata
        from skiff.config import Config
        from skiff.runtime import records

        db = metadata.connect(Config.from_env(root).metadata_path)
        monitor = records.get(db, rec["Id"])["Skiff"]["MonitorPid"]
        db.close()
        assert _children(monitor) == [rec["State"]["Pid"]]
        assert os.listdir(f"/proc/{monitor}/task") == [str(monitor)]  # no thread
    assert _inspect(root, "hc-off")["Config"]["Healthcheck"] == {"Test": ["NONE"]}
    assert _main(root, "ps", "--filter", "health=none", "--format", "{{.Names}}").out \
        == "hc-off\nhc-none\n"
    assert _main(root, "rm", "-f", "hc-none", "hc-off").code == 0


def test_prober_is_monitors_child_and_goes_with_the_container(root):
    res = _main(root, "run", "-d", "--name", "hc-kid", "--network", "none", "--health-cmd",
                "true", "bb:1", "sleep", "60")
    assert res.code == 0, res
    rec = _inspect(root, "hc-kid")
    from skiff import metadata
    from skiff.config import Config
    from skiff.runtime import records

    db = metadata.connect(Config.from_env(root).metadata_path)
    monitor = records.get(db, rec["Id"])["Skiff"]["MonitorPid"]
    db.close()
    kids = _children(monitor)
    assert rec["State"]["Pid"] in kids and len(kids) == 2
    prober = next(k for k in kids if k != rec["State"]["Pid"])
    assert _main(root, "stop", "-t", "1", "hc-kid").code == 0
    assert not os.path.exists(f"/proc/{prober}") or open(f"/proc/{prober}/stat").read().split()[2] == "Z"
    assert _main(root, "rm", "hc-kid").code == 0


def test_pause_stops_checks_and_is_unhealthy(root):
    """dockerd's updateHealthMonitor: paused, no check runs and the status is unhealthy
    at once (docker 20.10: {"Status":"unhealthy","FailingStreak":0,"Log":[]}, ps `Up 2
    seconds (Paused)`); unpaused, checks go on."""
    res = _main(root, "run", "-d", "--name", "hc-pause", "--network", "none", "--health-cmd",
                "true", "--health-interval", "1s", "bb:1", "sleep", "60")
    assert res.code == 0, res
    assert _main(root, "pause", "hc-pause").code == 0
    paused = _health(root, "hc-pause")
    assert (paused["Status"], paused["FailingStreak"]) == ("unhealthy", 0)
    time.sleep(1.5)  # (a check would have run by now)
    assert _health(root, "hc-pause") == paused  # (no check while paused)
    assert re.fullmatch(r"Up \d seconds? \(Paused\)", _ps_status(root, "hc-pause"))
    assert _main(root, "unpause", "hc-pause").code == 0
    h = _until(root, "hc-pause", lambda h: len(h["Log"]) > len(paused["Log"]))
    assert h["Status"] == "healthy" and {e["ExitCode"] for e in h["Log"]} == {0}
    assert _main(root, "rm", "-f", "hc-pause").code == 0
