"""Healthcheck configuration as docker/cli and dockerd 20.10 make it (skiff.runtime.health):
the flags' HealthConfig, the merge with the image's, dockerd's checks, the probe command,
Go's duration text, ps's STATUS suffix; and the flags through the CLI's option parsing
(texts compared with docker 20.10)."""

from __future__ import annotations

import pytest

from skiff.errors import InvalidArgument
from skiff.runtime import health
from skiff.runtime.options import CreateOptions, container_config

S = 1_000_000_000


def test_flags_give_docker_cli_health_config():
    assert health.from_flags(None, None, None, None, 0, False) is None
    assert health.from_flags("echo hi", "1s", None, None, 0, False) == {
        "Test": ["CMD-SHELL", "echo hi"], "Interval": S, "Timeout": 0, "StartPeriod": 0,
        "Retries": 0}
    # only a duration: the image's test stays (empty Test)
    assert health.from_flags(None, None, "1m30s", "500ms", 2, False) == {
        "Test": [], "Interval": 0, "Timeout": 90 * S, "StartPeriod": S // 2, "Retries": 2}
    assert health.from_flags(None, None, None, None, 0, True) == {"Test": ["NONE"]}
    # "0s" is no setting (docker/cli compares with 0)
    assert health.from_flags(None, "0s", None, None, 0, True) == {"Test": ["NONE"]}


@pytest.mark.parametrize(("args", "text"), [
    (("bad", None, None, 0), 'invalid argument "bad" for "--health-interval" flag: '
                             'time: invalid duration "bad"'),
    (("1", None, None, 0), 'invalid argument "1" for "--health-interval" flag: '
                           'time: missing unit in duration "1"'),
    ((None, "1x", None, 0), 'invalid argument "1x" for "--health-timeout" flag: '
                            'time: unknown unit "x" in duration "1x"'),
    (("-1s", None, None, 0), "--health-interval cannot be negative"),
    ((None, "-1s", None, 0), "--health-timeout cannot be negative"),
    ((None, None, None, -1), "--health-retries cannot be negative"),
    ((None, None, "-2s", 0), "--health-start-period cannot be negative"),
])
def test_flag_refusals_are_docker_clis(args, text):
    interval, timeout, start, retries = args
    with pytest.raises(InvalidArgument) as e:
        health.from_flags(None, interval, timeout, start, retries, False)
    assert str(e.value) == text


def test_no_healthcheck_conflicts_with_health_flags():
    with pytest.raises(InvalidArgument) as e:
        health.from_flags("true", None, None, None, 0, True)
    assert str(e.value) == "--no-healthcheck conflicts with --health-* options"
    with pytest.raises(InvalidArgument):
        health.from_flags(None, None, None, None, 3, True)


IMAGE_HC = {"Test": ["CMD", "echo", "img"], "Interval": 2 * S, "Retries": 4}


@pytest.mark.parametrize(("user", "merged"), [
    # (docker 20.10 inspect of containers made from an image with
    #  HEALTHCHECK --interval=2s --retries=4 CMD ["echo","img"])
    (None, {"Test": ["CMD", "echo", "img"], "Interval": 2 * S, "Retries": 4}),
    (health.from_flags(None, "1s", None, None, 0, False),
     {"Test": ["CMD", "echo", "img"], "Interval": S, "Retries": 4}),
    (health.from_flags("true", None, "2s", "3s", 0, False),
     {"Test": ["CMD-SHELL", "true"], "Interval": 2 * S, "Timeout": 2 * S,
      "StartPeriod": 3 * S, "Retries": 4}),
    (health.from_flags(None, None, None, None, 0, True),
     {"Test": ["NONE"], "Interval": 2 * S, "Retries": 4}),
])
def test_merge_with_image_as_dockerd(user, merged):
    assert health.merge(user, IMAGE_HC) == merged


def test_container_config_puts_healthcheck_after_cmd():
    o = CreateOptions(image="bb:1", cmd=("sleep", "1"),
                      healthcheck=health.from_flags("true", "1s", None, None, 0, False))
    cfg = container_config(o, {}, "h", "bb:1")
    keys = list(cfg)
    assert keys[keys.index("Cmd") + 1] == "Healthcheck"
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": S}
    # without flags nor image check: no key at all (docker: omitempty)
    assert "Healthcheck" not in container_config(CreateOptions(image="bb:1", cmd=("x",)), {},
                                                 "h", "bb:1")


@pytest.mark.parametrize(("hc", "text"), [
    ({"Test": ["CMD", "x"], "Interval": 500_000}, "Interval in Healthcheck cannot be less than 1ms"),
    ({"Test": ["CMD", "x"], "Timeout": 10}, "Timeout in Healthcheck cannot be less than 1ms"),
    ({"Test": ["CMD", "x"], "StartPeriod": 999_999},
     "StartPeriod in Healthcheck cannot be less than 1ms"),
    ({"Test": ["CMD", "x"], "Retries": -1}, "Retries in Healthcheck cannot be negative"),
])
def test_dockerd_checks(hc, text):
    with pytest.raises(InvalidArgument) as e:
        health.validate(hc)
    assert str(e.value) == text
    health.validate({"Test": ["CMD", "x"], "Interval": 1_000_000})  # 1ms is allowed


def test_probe_argv():
    assert health.probe_argv({"Test": ["CMD", "ls", "-l"]}) == ["ls", "-l"]
    assert health.probe_argv({"Test": ["CMD-SHELL", "exit 1"]}) == ["/bin/sh", "-c", "exit 1"]
    for hc in (None, {}, {"Test": []}, {"Test": ["NONE"]}, {"Interval": S}):
        assert health.probe_argv(hc) is None


@pytest.mark.parametrize(("ns", "text"), [
    (S, "1s"), (30 * S, "30s"), (90 * S, "1m30s"), (3600 * S, "1h0m0s"), (1_500_000_000, "1.5s"),
    (500_000_000, "500ms"), (1_000_000, "1ms"), (1_500, "1.5µs"), (10, "10ns"), (0, "0s")])
def test_go_duration_text(ns, text):
    from skiff.dockerfile.gotext import format_go_duration

    assert format_go_duration(ns) == text


def test_ps_status_suffix_and_filter_value():
    assert health.status_suffix(None) == ""
    assert health.status_suffix({"Status": "starting"}) == " (health: starting)"
    assert health.status_suffix({"Status": "healthy"}) == " (healthy)"
    assert health.status_suffix({"Status": "unhealthy"}) == " (unhealthy)"
    assert health.ps_status({"State": {}}) == "none"
    assert health.ps_status({"State": {"Health": {"Status": "healthy"}}}) == "healthy"


def test_cli_flags_reach_create_options(skiff_root):
    from skiff.cli import container
    from skiff.cli.context import Context
    from skiff.config import Config

    ctx = Context(Config.from_env())
    a = container._parse_create_args(
        ctx, ["--health-cmd", "true", "--health-interval", "1s", "--health-retries", "2",
              "bb:1"], "skiff create", "", run=False)
    o = container._options(a)
    assert o.healthcheck == {"Test": ["CMD-SHELL", "true"], "Interval": S, "Timeout": 0,
                             "StartPeriod": 0, "Retries": 2}
    a = container._parse_create_args(ctx, ["bb:1"], "skiff create", "", run=False)
    assert container._options(a).healthcheck is None


@pytest.mark.parametrize(("argv", "err"), [
    (["--health-interval", "bad"],
     'skiff: invalid argument "bad" for "--health-interval" flag: time: invalid duration "bad"\n'
     "See 'skiff create --help'.\n"),
    (["--health-retries", "x"],
     'skiff: invalid argument "x" for "--health-retries" flag: strconv.ParseInt: parsing "x": '
     "invalid syntax\nSee 'skiff create --help'.\n"),
    (["--no-healthcheck", "--health-cmd", "true"],
     "skiff: --no-healthcheck conflicts with --health-* options\n"),
    (["--health-timeout", "10ns"], "skiff: Timeout in Healthcheck cannot be less than 1ms\n"),
])
def test_cli_refusals(skiff_root, cli, argv, err):
    res = cli("create", *argv, "bb:1", "true")
    assert (res.code, res.out, res.err) == (125, "", err)
