"""Container commands: create, run, start, stop, kill, rm, wait, ps, logs, inspect, pause,
unpause, restart, rename (and their ``skiff container ...`` spellings).

Flags, output and messages follow docker/cli. Each command parses, calls
skiff.runtime.containers.ContainerService, and prints. Commands taking several containers
go on after a failure and exit 1, printing one ``skiff: ...`` line per failure, as
``docker stop/kill/rm`` do.
"""

from __future__ import annotations

import os
import sys

from skiff.cli.context import Context

TYPE_CHECKING = False  # (argparse only when a parser is built: see skiff.cli.fastargs)
if TYPE_CHECKING:
    import argparse


def _service(ctx: Context):
    from skiff.runtime.containers import ContainerService

    return ContainerService(ctx.config, ctx.db)


def _run_parser(ctx: Context, prog: str, summary: str) -> argparse.ArgumentParser:
    """A parser without ``-h`` for help: ``-h`` is ``--hostname`` in create/run (Docker)."""
    from skiff.cli.argparser import ArgumentParser

    p = ArgumentParser(prog=ctx.prog or prog, description=summary, add_help=False)
    p.add_argument("--help", action="help", help="Print usage")
    return p


class cli_error_exit_1:
    """``with cli_error_exit_1():`` engine errors (125) raised inside exit 1 instead, as
    docker/cli exits for a daemon error outside run/create (cp, kill, rename, exec)."""

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb) -> bool:
        from skiff.errors import EXIT_ENGINE, SkiffError

        if isinstance(exc, SkiffError) and exc.exit_code == EXIT_ENGINE:
            exc.exit_code = 1
        return False


def _out(ctx: Context, text: str) -> None:
    ctx.out.write(text)
    ctx.out.flush()


def _each(ctx: Context, refs: list[str], fn) -> int:
    """Run ``fn(ref)`` for each ref; print what it returns; errors → stderr, exit 1."""
    from skiff.errors import SkiffError

    code = 0
    for ref in refs:
        try:
            shown = fn(ref)
        except SkiffError as e:  # per-container report, as docker/cli (not a crash)
            sys.stderr.write(f"skiff: {e}\n")
            code = 1
            continue
        if shown is not None:
            _out(ctx, f"{shown}\n")
    return code


# ------------------------------------------------------------------ create / run flags
def _add_create_flags(p: argparse.ArgumentParser) -> None:
    from skiff.cli.context import add_content_trust_flag

    add_content_trust_flag(p)
    a = p.add_argument
    a("-a", "--attach", action="append", default=[], help="Attach to STDIN, STDOUT or STDERR")
    a("-i", "--interactive", action="store_true", help="Keep STDIN open even if not attached")
    a("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    a("--name", help="Assign a name to the container")
    a("-e", "--env", action="append", default=[], help="Set environment variables")
    a("--env-file", action="append", default=[], help="Read in a file of environment variables")
    a("-w", "--workdir", help="Working directory inside the container")
    a("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])")
    a("--entrypoint", help="Overwrite the default ENTRYPOINT of the image")
    a("-h", "--hostname", help="Container host name")
    a("-v", "--volume", action="append", default=[], help="Bind mount a volume")
    a("--mount", action="append", default=[], help="Attach a filesystem mount to the container")
    a("--tmpfs", action="append", default=[], help="Mount a tmpfs directory")
    a("--read-only", action="store_true", help="Mount the container's root filesystem as read only")
    a("--cap-add", action="append", default=[], help="Add Linux capabilities")
    a("--cap-drop", action="append", default=[], help="Drop Linux capabilities")
    a("--privileged", action="store_true", help="Give extended privileges to this container")
    a("--security-opt", action="append", default=[], help="Security Options")
    a("--network", "--net", default="default", help="Connect a container to a network")
    a("--pid", default="", help="PID namespace to use")
    a("--ipc", default="", help="IPC mode to use")
    a("--uts", default="", help="UTS namespace to use")
    a("-m", "--memory", help="Memory limit")
    a("--memory-swap", help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    a("--cpus", help="Number of CPUs")
    a("-c", "--cpu-shares", type=int, default=0, help="CPU shares (relative weight)")
    a("--cpuset-cpus", default="", help="CPUs in which to allow execution (0-3, 0,1)")
    a("--pids-limit", type=int, help="Tune container pids limit (set -1 for unlimited)")
    a("--blkio-weight", type=int, default=0, help="Block IO (relative weight), between 10 and 1000")
    a("--shm-size", help="Size of /dev/shm")
    a("--restart", default="no", help="Restart policy to apply when a container exits")
    a("--rm", action="store_true", help="Automatically remove the container when it exits")
    a("-l", "--label", action="append", default=[], help="Set meta data on a container")
    a("--ulimit", action="append", default=[], help="Ulimit options")
    a("--add-host", action="append", default=[], help="Add a custom host-to-IP mapping (host:ip)")
    a("--dns", action="append", default=[], help="Set custom DNS servers")
    a("--dns-search", action="append", default=[], help="Set custom DNS search domains")
    a("--dns-option", action="append", default=[], help="Set DNS options")
    a("--group-add", action="append", default=[], help="Add additional groups to join")
    a("--init", action="store_true", help="Run an init inside the container")
    a("--stop-signal", help="Signal to stop the container")
    a("--stop-timeout", type=int, help="Timeout (in seconds) to stop a container")
    a("--sysctl", action="append", default=[], help="Sysctl options")
    a("--expose", action="append", default=[], help="Expose a port or a range of ports")
    a("-p", "--publish", action="append", default=[], help="Publish a container's port(s) to the host")
    a("--userns", default="", help="User namespace to use (host, or auto as podman)")
    a("-P", "--publish-all", action="store_true", help="Publish all exposed ports to random ports")
    a("--ip", default="", help="IPv4 address (e.g., 172.30.100.104)")
    a("--network-alias", action="append", default=[], help="Add network-scoped alias for the container")
    a("--mac-address", default="", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)")
    a("--device", action="append", default=[], help="Add a host device to the container")
    a("--device-read-bps", action="append", default=[], help="Limit read rate (bytes per second) from a device")
    a("--device-write-bps", action="append", default=[], help="Limit write rate (bytes per second) to a device")
    a("--rootfs", action="store_true",
      help="The first argument is a root filesystem directory, not an image (as podman)")
    a("--pull", default="missing", help='Pull image before running ("always", "missing", "never")')
    a("--platform", help="Set platform if server is multi-platform capable")
    a("--cidfile", help="Write the container ID to the file")
    a("-q", "--quiet", action="store_true", help="Suppress the pull output")
    _add_resource_flags_more(p)
    _add_config_flags(p)
    a("image", help="IMAGE")
    a("command", nargs="...", help="[COMMAND] [ARG...]")  # (argparse.REMAINDER)


# ---- more resource flags (docker 20.10's; skiff.runtime.resources_more): plain store
# flags only, read by skiff.cli.fastargs from the same table
def _add_resource_flags_more(p) -> None:
    a = p.add_argument
    a("--cpu-period", type=int, default=0, help="Limit CPU CFS (Completely Fair Scheduler) period")
    a("--cpu-quota", type=int, default=0, help="Limit CPU CFS (Completely Fair Scheduler) quota")
    a("--cpu-rt-period", type=int, default=0, help="Limit CPU real-time period in microseconds")
    a("--cpu-rt-runtime", type=int, default=0, help="Limit CPU real-time runtime in microseconds")
    a("--cpuset-mems", default="", help="MEMs in which to allow execution (0-3, 0,1)")
    a("--memory-reservation", help="Memory soft limit")
    a("--memory-swappiness", type=int, default=-1,
      help="Tune container memory swappiness (0 to 100) (default -1)")
    a("--kernel-memory", help="Kernel memory limit")
    a("--oom-kill-disable", action="store_true", help="Disable OOM Killer")
    a("--oom-score-adj", type=int, default=0, help="Tune host's OOM preferences (-1000 to 1000)")
    a("--blkio-weight-device", action="append", default=[],
      help="Block IO weight (relative device weight)")
    a("--device-read-iops", action="append", default=[],
      help="Limit read rate (IO per second) from a device")
    a("--device-write-iops", action="append", default=[],
      help="Limit write rate (IO per second) to a device")
    a("--device-cgroup-rule", action="append", default=[],
      help="Add a rule to the cgroup allowed devices list")
    a("--cgroup-parent", default="", help="Optional parent cgroup for the container")
    a("--cgroupns", default="", help="Cgroup namespace to use (host|private)")


def _resource_options_more(a) -> dict:
    """CreateOptions' fields for the flags above, checked as docker/cli does (nothing
    imported when none is given)."""
    if not (a.cpu_period or a.cpu_quota or a.cpu_rt_period or a.cpu_rt_runtime
            or a.cpuset_mems or a.memory_reservation or a.memory_swappiness != -1
            or a.kernel_memory or a.oom_kill_disable or a.oom_score_adj
            or a.blkio_weight_device or a.device_read_iops or a.device_write_iops
            or a.device_cgroup_rule or a.cgroup_parent or a.cgroupns):
        return {}
    from skiff.errors import InvalidArgument
    from skiff.format.humanize import ram_in_bytes
    from skiff.runtime import resources_more as rm

    def size(v: str | None, flag: str) -> int:
        if not v:
            return 0
        try:
            return ram_in_bytes(v)
        except InvalidArgument as e:
            raise InvalidArgument(f'invalid argument "{v}" for "{flag}" flag', str(e)) from None
    out = dict(
        blkio_weight_device=tuple(rm.weight_device(x) for x in a.blkio_weight_device),
        device_read_iops=tuple(rm.iops_device(x, "--device-read-iops") for x in a.device_read_iops),
        device_write_iops=tuple(rm.iops_device(x, "--device-write-iops")
                                for x in a.device_write_iops),
        device_cgroup_rules=tuple(rm.device_cgroup_rule(x) for x in a.device_cgroup_rule),
        memory_reservation=size(a.memory_reservation, "--memory-reservation"),
        kernel_memory=size(a.kernel_memory, "--kernel-memory"),
        cpu_period=a.cpu_period, cpu_quota=a.cpu_quota, cpu_rt_period=a.cpu_rt_period,
        cpu_rt_runtime=a.cpu_rt_runtime, cpuset_mems=a.cpuset_mems,
        memory_swappiness=a.memory_swappiness, oom_kill_disable=a.oom_kill_disable,
        oom_score_adj=a.oom_score_adj, cgroup_parent=a.cgroup_parent, cgroupns=a.cgroupns)
    rm.cli_check(memory_swappiness=a.memory_swappiness, cgroupns=a.cgroupns)
    return out


# -- cfg5: healthcheck and other config flags (one block, kept apart for merges) ----------
def _add_config_flags(p) -> None:
    """Healthcheck flags (docker/cli's names; durations as Go's, parsed in _options);
    --log-driver/--log-opt (skiff.runtime.logopts); --domainname, --label-file,
    --volumes-from (skiff.runtime.volfrom), --runtime."""
    a = p.add_argument
    a("--health-cmd", help="Command to run to check health")
    a("--health-interval", help="Time between running the check (ms|s|m|h) (default 0s)")
    a("--health-timeout", help="Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
    a("--health-retries", type=int, default=0,
      help="Consecutive failures needed to report unhealthy")
    a("--health-start-period", help="Start period for the container to initialize before "
      "starting health-retries countdown (ms|s|m|h) (default 0s)")
    a("--no-healthcheck", action="store_true", help="Disable any container-specified HEALTHCHECK")
    a("--log-driver", default="", help="Logging driver for the container")
    a("--log-opt", action="append", default=[], help="Log driver options")
    a("--domainname", default="", help="Container NIS domain name")
    a("--label-file", action="append", default=[], help="Read in a line delimited file of labels")
    a("--volumes-from", action="append", default=[],
      help="Mount volumes from the specified container(s)")
    a("--runtime", default="", help="Runtime to use for this container")


def _config_options(a) -> dict:
    """CreateOptions fields of the flags above (nothing is imported when none is given)."""
    out: dict = {}
    if a.health_cmd or a.health_interval or a.health_timeout or a.health_retries \
            or a.health_start_period or a.no_healthcheck:
        from skiff.runtime.health import from_flags, validate

        hc = from_flags(a.health_cmd, a.health_interval, a.health_timeout,
                        a.health_start_period, a.health_retries, a.no_healthcheck)
        validate(hc)  # (dockerd checks the request before it looks for the image)
        out["healthcheck"] = hc
    if a.domainname:
        out["domainname"] = a.domainname
    if a.volumes_from:
        from skiff.runtime.volfrom import parse

        for spec in a.volumes_from:
            parse(spec)  # (dockerd's texts, before anything is looked up)
        out["volumes_from"] = tuple(a.volumes_from)
    if a.runtime:
        from skiff.errors import InvalidArgument

        if a.runtime != "runc":  # (the one runtime this host runs: crun does not work)
            raise InvalidArgument(f"Unknown runtime specified {a.runtime}")
        out["runtime"] = a.runtime
    if a.log_driver or a.log_opt:
        from skiff.runtime.logopts import log_config

        log_config(a.log_driver, a.log_opt)  # (refused before anything is looked up)
        out.update(log_driver=a.log_driver, log_opts=tuple(a.log_opt))
    return out


def _env_file(path: str) -> list[str]:
    from skiff.errors import InvalidArgument

    out = []
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise InvalidArgument(f"open {path}", e.strerror or "cannot read") from None
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def _binds(specs: list[str]) -> tuple[str, ...]:
    """``-v`` specs with a ``.`` or ``./…`` host part made absolute against the current
    directory, as docker/cli does (20.10 too; other relative sources stay volume names,
    and a spec of one or two characters is an anonymous volume: skiff.runtime.volspec)."""
    out = []
    for spec in specs:
        host, sep, rest = spec.partition(":")
        if sep and len(spec) > 2 and (host == "." or host.startswith("./")):
            spec = os.path.abspath(host) + ":" + rest
        out.append(spec)
    return tuple(out)


def _options(a) -> object:
    from skiff.errors import InvalidArgument
    from skiff.runtime.options import CreateOptions, parse_env_flags

    def ram_in_bytes(text: str) -> int:  # humanize (~0.5 ms of import) only for these flags
        from skiff.format.humanize import ram_in_bytes

        return ram_in_bytes(text)

    if a.userns not in ("", "host", "auto"):
        raise InvalidArgument("--userns", "invalid USER mode")
    if a.pid or a.ipc or a.uts:  # docker/cli's and dockerd's checks
        from skiff.runtime.nsjoin import check_flags

        check_flags(a.pid, a.ipc, a.uts)
    if a.network == "host" and (a.publish or a.publish_all):
        sys.stderr.write("WARNING: Published ports are discarded when using host network mode\n")
        a.publish, a.publish_all = [], False
    for v in a.env:  # docker/cli opts.ValidateEnv, a flag-value error
        if not v.strip():
            raise InvalidArgument(f'invalid argument "{v}" for "-e, --env" flag',
                                  f"invalid environment variable: {v}")
    if a.stop_signal:  # dockerd checks it at create: "Invalid signal: X"
        from skiff.runtime.containers import parse_signal

        parse_signal(a.stop_signal)
    env: list[str] = []
    for path in a.env_file:
        env += _env_file(path)
    env += a.env
    nano = 0
    if a.cpus:
        try:
            nano = int(round(float(a.cpus) * 1e9))
        except ValueError:
            raise InvalidArgument(f'invalid argument "{a.cpus}" for "--cpus" flag',
                                  f"failed to parse {a.cpus} as a rational number") from None
        if nano <= 0 or nano > os.cpu_count() * 1_000_000_000:
            raise InvalidArgument("Range of CPUs is from 0.01 to "
                                  f"{os.cpu_count()}.00, as there are only {os.cpu_count()} CPUs available")
    def size_flag(v: str, flag: str) -> int:
        try:
            return ram_in_bytes(v)
        except InvalidArgument as e:  # docker/cli: a flag-value error naming the flag
            raise InvalidArgument(f'invalid argument "{v}" for "{flag}" flag', str(e)) from None
    memory = size_flag(a.memory, "-m, --memory") if a.memory else 0
    if memory and memory < 6 * 1024 * 1024:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    swap = 0
    if a.memory_swap:
        swap = -1 if a.memory_swap == "-1" else size_flag(a.memory_swap, "--memory-swap")
        if swap > 0 and memory and swap < memory:
            raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, "
                                  "see usage")
    if a.label_file:  # docker/cli: the files' labels, then --label's (the last wins)
        from skiff.runtime.volfrom import read_label_files

        a.label = read_label_files(a.label_file) + list(a.label)
    labels = tuple(tuple(lb.split("=", 1)) if "=" in lb else (lb, "") for lb in a.label)
    sysctls = []
    for s in a.sysctl:
        if "=" not in s:
            raise InvalidArgument(f"sysctl '{s}' is not allowed")
        sysctls.append(tuple(s.split("=", 1)))
    attach = tuple(s.lower() for s in a.attach)
    entry = None
    if a.entrypoint is not None:
        entry = (a.entrypoint,) if a.entrypoint else ()
    return CreateOptions(
        image="" if a.rootfs else a.image, cmd=tuple(a.command), entrypoint=entry, name=a.name,
        env=tuple(parse_env_flags(env)), workdir=a.workdir, user=a.user, hostname=a.hostname,
        tty=a.tty, stdin_open=a.interactive, attach=attach, binds=_binds(a.volume),
        mounts=tuple(a.mount), tmpfs=tuple(a.tmpfs), read_only=a.read_only,
        cap_add=tuple(a.cap_add), cap_drop=tuple(a.cap_drop), privileged=a.privileged,
        security_opt=tuple(a.security_opt), network=a.network, pid=a.pid, ipc=a.ipc, uts=a.uts,
        memory=memory, memory_swap=swap, nano_cpus=nano, cpu_shares=a.cpu_shares,
        cpuset_cpus=a.cpuset_cpus, pids_limit=(None if a.pids_limit in (None, 0) else a.pids_limit),
        blkio_weight=a.blkio_weight, shm_size=size_flag(a.shm_size, "--shm-size") if a.shm_size else 0,
        restart=a.restart, autoremove=a.rm, labels=labels, ulimits=tuple(a.ulimit),
        extra_hosts=tuple(a.add_host), dns=tuple(a.dns), dns_search=tuple(a.dns_search),
        dns_options=tuple(a.dns_option), group_add=tuple(a.group_add), init=a.init,
        stop_signal=a.stop_signal, stop_timeout=a.stop_timeout, sysctls=tuple(sysctls),
        rootfs=a.image if a.rootfs else None, expose=tuple(a.expose),
        publish=tuple(a.publish), publish_all=a.publish_all, ip=a.ip,
        network_aliases=tuple(a.network_alias), mac_address=a.mac_address,
        devices=tuple(a.device), device_read_bps=tuple(a.device_read_bps),
        device_write_bps=tuple(a.device_write_bps), userns=a.userns,
        **_resource_options_more(a), **_config_options(a))


def _create(ctx: Context, svc, a) -> dict:
    """Create, pulling the image first as ``--pull`` says (missing: only when absent)."""
    from skiff.errors import ImageNotFound, InvalidArgument

    if not a.disable_content_trust:
        from skiff.cli.context import refuse_content_trust

        refuse_content_trust(a)
    if a.pull not in ("missing", "always", "never"):
        raise InvalidArgument(f'invalid pull option: "{a.pull}"',
                              "must be one of: always, missing, never")
    o = _options(a)
    if a.pull == "always" and not a.rootfs:
        _pull(ctx, a.image, a.quiet)
    try:
        rec = svc.create(o)
    except ImageNotFound as e:
        if a.rootfs or a.pull == "never":
            raise
        try:
            from skiff.registry import client  # noqa: F401 - only once the client is there
        except ImportError:
            raise e from None
        from skiff.reference import parse_normalized_named

        # docker/cli refuses a bad name before saying this, and says it of the familiar
        # name with :latest added (TagNameOnly): 'nope:latest', 'localhost:1/x:latest'
        ref = parse_normalized_named(a.image).tagged_or_latest()
        sys.stderr.write(f"Unable to find image '{ref.familiar()}' locally\n")
        _pull(ctx, a.image, a.quiet)
        rec = svc.create(o)
    _warn_resources_more(o)
    if a.cidfile:
        with open(a.cidfile, "x") as f:
            f.write(rec["Id"])
    return rec


def _warn_resources_more(o) -> None:
    """docker create/run's ``WARNING:`` lines for the more resource flags."""
    if (o.oom_kill_disable or o.kernel_memory or o.blkio_weight_device or o.blkio_weight
            or o.memory_swappiness != -1 or o.memory_reservation):
        from skiff.runtime.resources_more import warnings

        for w in warnings(o):
            sys.stderr.write(f"WARNING: {w}\n")


def _pull(ctx: Context, image: str, quiet: bool) -> None:
    """Pull for create/run: a failure is the engine's (exit 125, as ``docker run``)."""
    from skiff.errors import SkiffError
    from skiff.registry import client

    try:
        client.pull(ctx.config, ctx.db, image)
    except SkiffError as e:
        e.exit_code = 125
        raise


def _add_run_flags(p) -> None:
    """The flags ``run`` has beside create's."""
    p.add_argument("-d", "--detach", action="store_true",
                   help="Run container in background and print container ID")
    p.add_argument("--sig-proxy", default="true", help="Proxy received signals to the process")
    p.add_argument("--detach-keys", default="ctrl-p,ctrl-q",
                   help="Override the key sequence for detaching a container")


def _parse_create_args(ctx: Context, argv: list[str], prog: str, summary: str, *,
                       run: bool):
    """``run``/``create``'s arguments: the usual command lines through skiff.cli.fastargs
    (same flag table, same namespace, no argparse), anything else through argparse
    (help, and every error with its message and exit code)."""
    from skiff.cli import fastargs

    table = fastargs.Table()
    if run:
        _add_run_flags(table)
    _add_create_flags(table)
    a = fastargs.parse(table, argv)
    if a is None:
        p = _run_parser(ctx, prog, summary)
        if run:
            _add_run_flags(p)
        _add_create_flags(p)
        a = p.parse_args(argv)
    return a


def create(ctx: Context, argv: list[str]) -> int:
    """``skiff create [OPTIONS] IMAGE [COMMAND] [ARG...]``: print the new container's ID."""
    a = _parse_create_args(ctx, argv, "skiff create", "Create a new container", run=False)
    rec = _create(ctx, _service(ctx), a)
    _out(ctx, rec["Id"] + "\n")
    return 0


def run(ctx: Context, argv: list[str]) -> int:
    """``skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]``: create + start; attached unless -d
    (exit code: the container's; 125/126/127 as Docker when it could not run)."""
    a = _parse_create_args(ctx, argv, "skiff run", "Create and run a new container from an image",
                           run=True)
    from skiff.errors import InvalidArgument
    from skiff.runtime.attachio import parse_detach_keys

    keys = parse_detach_keys(a.detach_keys)  # before anything is created

    if a.detach and a.rm and a.restart not in ("no", ""):
        raise InvalidArgument("Conflicting options", "--restart and --rm")
    if not a.detach and not a.attach:
        a.attach = ["stdout", "stderr"] + (["stdin"] if a.interactive else [])
    if a.tty and not a.detach and "stdin" in (s.lower() for s in a.attach) and not _stdin_is_tty():
        # docker/cli checks before creating anything: a message, exit 1, no container
        raise InvalidArgument("the input device is not a TTY", exit_code=1)
    svc = _service(ctx)
    rec = _create(ctx, svc, a)
    if a.detach:
        svc.start(rec["Id"])
        _out(ctx, rec["Id"] + "\n")
        return 0
    return _start_attached(ctx, svc, rec["Id"], rec["Config"],
                           sig_proxy=a.sig_proxy.lower() != "false", detach_keys=keys)


def _stdin_is_tty() -> bool:
    """Whether this process's stdin is a terminal (False when it is no real file)."""
    try:
        return os.isatty(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def _stdin_source():
    """``(fd, feeder)``: a descriptor of this process's stdin for the container (a dup), or,
    when stdin is no real file (in-process tests), the read end of a pipe and the not yet
    started daemon thread that writes what stdin held into it."""
    try:
        return os.dup(sys.stdin.fileno()), None
    except (AttributeError, OSError, ValueError):
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        r, w = os.pipe()
        import threading

        def feed() -> None:
            try:
                os.write(w, data)
            finally:
                os.close(w)
        return r, threading.Thread(target=feed, daemon=True)


def _start_attached(ctx: Context, svc, cid: str, config: dict, *, sig_proxy: bool = True,
                    detach_keys: bytes | None = None) -> int:
    """Start with the command's stdio attached; return the container's exit code."""
    # the C module under signal.py: the same calls with plain ints, without the wrapper's
    # Signals/Handlers/Sigmasks enums (~1.5 ms of import on every attached run)
    import _signal as signal
    import select  # (not selectors: one more import for a poll of two pipes)

    from skiff.runtime.monitor import Attach

    want_in = bool(config.get("AttachStdin") or config.get("OpenStdin"))
    tty = bool(config.get("Tty"))
    fds: dict[int, object] = {}
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    fds[out_r] = ctx.out
    fds[err_r] = sys.stderr
    stdin_fd, feeder = _stdin_source() if want_in else (-1, None)
    attach = Attach(stdin=stdin_fd, stdout=out_w, stderr=err_w)
    saved_tc = None
    if tty and stdin_fd >= 0 and os.isatty(stdin_fd):
        # -it on a terminal: raw mode here, the monitor copies it to the container's pty
        import termios
        import tty as tty_mod

        saved_tc = termios.tcgetattr(stdin_fd)
        tty_mod.setraw(stdin_fd)
    try:
        started = svc.start(cid, attach=attach, detach_keys=detach_keys)
    except BaseException:
        _restore_tc(stdin_fd, saved_tc)
        raise
    finally:
        for fd in (attach.stdout, attach.stderr):
            if fd >= 0:
                os.close(fd)
        if saved_tc is None and attach.stdin >= 0:
            os.close(attach.stdin)
    if started is None:
        return 0
    if feeder is not None:
        feeder.start()
    old = {}
    if tty and saved_tc is not None and started.monitor_pid:
        # the terminal's resizes reach the container's pty through its monitor
        from skiff.runtime.attachio import forward_winch

        old[signal.SIGWINCH] = forward_winch(started.monitor_pid)
    if sig_proxy and not tty:
        def proxy(signum, _frame):
            try:
                os.kill(started.runc_pid, signum)
            except ProcessLookupError:
                pass
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                  signal.SIGUSR1, signal.SIGUSR2):
            old[s] = signal.signal(s, proxy)
    try:
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        open_fds = len(fds)
        while open_fds:
            for fd, _ in poller.poll():
                try:
                    data = os.read(fd, 65536)
                except InterruptedError:
                    continue
                if not data:
                    poller.unregister(fd)
                    os.close(fd)
                    open_fds -= 1
                    continue
                _write_stream(fds[fd], data)
        code = started.wait_exit()
        if started.detached:
            return 0  # ctrl-p ctrl-q: docker run leaves the container running, exit 0
    finally:
        for s, h in old.items():
            # (forward_winch's previous handler comes from signal.py: an enum for SIG_DFL,
            # which _signal takes only as the plain int)
            signal.signal(s, h if callable(h) else int(h))
        if saved_tc is not None:
            _restore_tc(stdin_fd, saved_tc)
            os.close(stdin_fd)
    if code is None:
        rec = svc.get(cid) if _exists(svc, cid) else None
        code = rec["State"]["ExitCode"] if rec else 125
    return code


def _restore_tc(fd: int, saved) -> None:
    if saved is not None:
        import termios

        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _exists(svc, cid: str) -> bool:
    from skiff.runtime import records

    return records.get(svc.db, cid) is not None


def _write_stream(stream, data: bytes) -> None:
    buf = getattr(stream, "buffer", None)
    if buf is not None:
        buf.write(data)
        buf.flush()
    else:
        stream.write(data.decode(errors="replace"))
        stream.flush()


# ------------------------------------------------------------------ start / stop / kill / rm
def start(ctx: Context, argv: list[str]) -> int:
    """``skiff start [-a] [-i] CONTAINER...``: print each name as given (or attach to one)."""
    p = ctx.parser("skiff start", "Start one or more stopped containers")
    p.add_argument("-a", "--attach", action="store_true", help="Attach STDOUT/STDERR and forward signals")
    p.add_argument("-i", "--interactive", action="store_true", help="Attach container's STDIN")
    p.add_argument("--detach-keys", default="ctrl-p,ctrl-q",
                   help="Override the key sequence for detaching a container")
    p.add_argument("containers", nargs="+")
    a = p.parse_args(argv)
    svc = _service(ctx)
    if a.attach or a.interactive:
        from skiff.errors import InvalidArgument
        from skiff.runtime.attachio import parse_detach_keys

        keys = parse_detach_keys(a.detach_keys)

        if len(a.containers) > 1:
            raise InvalidArgument("you cannot start and attach multiple containers at once")
        from skiff.errors import SkiffError

        try:
            rec = svc.get(a.containers[0])
            cfg = dict(rec["Config"])
            cfg["AttachStdin"] = a.interactive
            return _start_attached(ctx, svc, rec["Id"], cfg, detach_keys=keys)
        except SkiffError as e:
            e.exit_code = 1  # docker start -a: a failed start (127/126 too) exits 1
            raise

    failed = []

    def one(ref: str) -> str:
        try:
            svc.start(ref)
        except Exception:
            failed.append(ref)
            raise
        return ref
    code = _each(ctx, a.containers, one)
    if failed:  # docker/cli's summary line after the per-container errors
        sys.stderr.write(f"skiff: failed to start containers: {', '.join(failed)}\n")
    return code


def stop(ctx: Context, argv: list[str]) -> int:
    """``skiff stop [-t N] [-s SIG] CONTAINER...``."""
    p = ctx.parser("skiff stop", "Stop one or more running containers")
    p.add_argument("-t", "--time", "--timeout", type=int, dest="time",
                   help="Seconds to wait before killing the container")
    p.add_argument("-s", "--signal", help="Signal to send to the container")
    p.add_argument("containers", nargs="+")
    a = p.parse_args(argv)
    svc = _service(ctx)

    def one(ref: str) -> str:
        svc.stop(ref, a.time, a.signal)
        return ref
    return _each(ctx, a.containers, one)


def kill(ctx: Context, argv: list[str]) -> int:
    """``skiff kill [-s SIG] CONTAINER...``."""
    p = ctx.parser("skiff kill", "Kill one or more running containers")
    p.add_argument("-s", "--signal", default="KILL", help="Signal to send to the container")
    p.add_argument("containers", nargs="+")
    a = p.parse_args(argv)
    from skiff.runtime.containers import parse_signal

    with cli_error_exit_1():
        parse_signal(a.signal)  # a bad signal fails before any container is touched
    svc = _service(ctx)

    def one(ref: str) -> str:
        from skiff.errors import NotFound

        try:
            svc.kill(ref, a.signal)
        except NotFound as e:  # dockerd's wording for kill
            raise NotFound(f"Cannot kill container: {ref}", str(e)) from None
        return ref
    return _each(ctx, a.containers, one)


def rm(ctx: Context, argv: list[str]) -> int:
    """``skiff rm [-f] [-v] CONTAINER...``."""
    p = ctx.parser("skiff rm", "Remove one or more containers")
    p.add_argument("-f", "--force", action="store_true", help="Force the removal of a running container")
    p.add_argument("-v", "--volumes", action="store_true", help="Remove anonymous volumes")
    p.add_argument("-l", "--link", action="store_true", help="Remove the specified link")
    p.add_argument("containers", nargs="+")
    a = p.parse_args(argv)
    svc = _service(ctx)

    def one(ref: str) -> str | None:
        from skiff.errors import NotFound

        try:
            svc.remove(ref, force=a.force, volumes=a.volumes)
        except NotFound as e:
            if not a.force:
                raise
            sys.stderr.write(f"skiff: {e}\n")  # docker/cli: rm -f of a missing one exits 0
            return None
        return ref
    return _each(ctx, a.containers, one)


def restart(ctx: Context, argv: list[str]) -> int:
    """``skiff restart [-t N] CONTAINER...``: stop then start."""
    p = ctx.parser("skiff restart", "Restart one or more containers")
    p.add_argument("-t", "--time", "--timeout", type=int, dest="time",
                   help="Seconds to wait before killing the container")
    p.add_argument("-s", "--signal", help="Signal to send to the container")
    p.add_argument("containers", nargs="+")
    a = p.parse_args(argv)
    svc = _service(ctx)

    def one(ref: str) -> str:
        svc.stop(ref, a.time, a.signal)
        svc.start(ref)
        return ref
    return _each(ctx, a.containers, one)


def wait(ctx: Context, argv: list[str]) -> int:
    """``skiff wait CONTAINER...``: print each exit code."""
    p = ctx.parser("skiff wait", "Block until one or more containers stop, then print their exit codes")
    p.add_argument("containers", nargs="+")
    a = p.parse_args(argv)
    svc = _service(ctx)
    return _each(ctx, a.containers, lambda ref: str(svc.wait(ref)))


def pause(ctx: Context, argv: list[str]) -> int:
    """``skiff pause CONTAINER...``."""
    p = ctx.parser("skiff pause", "Pause all processes within one or more containers")
    p.add_argument("containers", nargs="+")
    a = p.parse_args(argv)
    svc = _service(ctx)

    def one(ref: str) -> str:
        svc.pause(ref)
        return ref
    return _each(ctx, a.containers, one)


def unpause(ctx: Context, argv: list[str]) -> int:
    """``skiff unpause CONTAINER...``."""
    p = ctx.parser("skiff unpause", "Unpause all processes within one or more containers")
    p.add_argument("containers", nargs="+")
    a = p.parse_args(argv)
    svc = _service(ctx)

    def one(ref: str) -> str:
        svc.unpause(ref)
        return ref
    return _each(ctx, a.containers, one)


def rename(ctx: Context, argv: list[str]) -> int:
    """``skiff rename CONTAINER NEW_NAME``."""
    p = ctx.parser("skiff rename", "Rename a container")
    p.add_argument("container")
    p.add_argument("new_name")
    a = p.parse_args(argv)
    from skiff.errors import SkiffError

    if not a.container.strip() or not a.new_name.strip():  # docker/cli rename.go
        sys.stderr.write("skiff: Neither old nor new names may be empty\n")
        return 1
    try:
        _service(ctx).rename(a.container, a.new_name)
    except SkiffError as e:  # docker/cli: the daemon's error, then its own line; exit 1
        sys.stderr.write(f"skiff: {e}\nskiff: failed to rename container named {a.container}\n")
        return 1
    return 0


def _prune_until(v: str) -> float:
    """``until=`` of ``container prune`` (a Go duration, RFC 3339 time or Unix seconds, see
    skiff.format.humanize.parse_timestamp_ns) in Unix seconds; Docker's invalid-filter
    error otherwise."""
    from skiff.errors import InvalidArgument
    from skiff.format.humanize import parse_timestamp_ns

    try:
        return parse_timestamp_ns(v) / 1e9
    except InvalidArgument as e:
        raise InvalidArgument(str(e), exit_code=1) from None  # dockerd's words alone


def prune(ctx: Context, argv: list[str]) -> int:
    """``skiff container prune [-f]``: remove every stopped container."""
    p = ctx.parser("skiff container prune", "Remove all stopped containers")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="Provide filter values")
    a = p.parse_args(argv)
    from skiff.cli.container_query import _match, _ts
    from skiff.errors import InvalidArgument
    from skiff.format.humanize import human_size
    from skiff.runtime.records import ACTIVE
    from skiff.snapshots import disk_usage

    svc = _service(ctx)
    filters = [tuple(f.split("=", 1)) for f in a.filter if "=" in f]
    for k, _v in filters:  # moby container prune: until, label, label!
        if k not in ("until", "label", "label!"):
            raise InvalidArgument(f"Invalid filter '{k}'", exit_code=1)
    until = None
    for _k, v in [f for f in filters if f[0] == "until"]:
        until = _prune_until(v)
    not_labels = [("label", v) for k, v in filters if k == "label!"]
    filters = [f for f in filters if f[0] == "label"]
    gone, size = [], 0
    for rec in svc.list(all=True):
        if rec["State"]["Status"] in ACTIVE or (filters and not _match(rec, filters)):
            continue
        if not_labels and _match(rec, not_labels):  # label!: spares what matches them all
            continue
        if until is not None and _ts(rec, "Created") > until:  # dockerd: created after: kept
            continue
        sk = rec.get("Skiff") or {}
        if sk.get("Snapshot"):
            try:
                upper = svc.snapshotter.upperdir(sk["Snapshot"])
                # what the container wrote: the upper dir's contents, not the dir itself
                size += disk_usage(upper).size - os.lstat(upper).st_blocks * 512
            except Exception:  # noqa: BLE001 - the size is informative only
                pass
        svc.remove(rec["Id"])
        gone.append(rec["Id"])
    # layer directories no record owns: what a killed command or monitor left mid-removal
    svc.snapshotter.cleanup()
    from skiff.runtime.orphans import sweep_bundles

    sweep_bundles(ctx.config, ctx.db)  # (and container directories: a killed rm's)
    text = ("Deleted Containers:\n" + "".join(c + "\n" for c in gone) + "\n") if gone else ""
    _out(ctx, text + f"Total reclaimed space: {human_size(size)}\n")
    return 0
