"""Entry point: global flags, command lookup, and the one place errors become exit codes."""

from __future__ import annotations

import os
import sys

from skiff.cli import COMMANDS, GROUPS, SUB_ALIASES, Entry

USAGE = """Usage:  skiff [OPTIONS] COMMAND

A daemonless container engine

Options:
      --root DIR        Root of the store (default "/var/lib/skiff", env SKIFF_ROOT)
      --runtime PATH    OCI runtime binary (default "runc", env SKIFF_RUNTIME)
  -D, --debug           Show tracebacks for errors
  -v, --version         Print version information and quit
  -h, --help            Print usage
"""


def _help_text() -> str:
    lines = [USAGE, "Management Commands:"]
    for name, (summary, _) in sorted(GROUPS.items()):
        lines.append(f"  {name:<12}{summary}")
    lines.append("\nCommands:")
    for name, (_, _, summary) in sorted(COMMANDS.items()):
        lines.append(f"  {name:<12}{summary}")
    lines.append("\nRun 'skiff COMMAND --help' for more information on a command.")
    return "\n".join(lines) + "\n"


def _group_help(group: str) -> str:
    summary, subs = GROUPS[group]
    lines = [f"Usage:  skiff {group} COMMAND\n", summary, "\nCommands:"]
    for name, (_, _, s) in sorted(subs.items()):
        lines.append(f"  {name:<12}{s}")
    lines.append(f"\nRun 'skiff {group} COMMAND --help' for more information on a command.")
    return "\n".join(lines) + "\n"


def _split_globals(argv: list[str]) -> tuple[dict[str, object], list[str]]:
    """Consume the global flags before the command name; return (options, rest)."""
    opts: dict[str, object] = {"root": None, "runtime": None, "debug": False}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--root", "--runtime"):
            if i + 1 >= len(argv):
                raise _usage_error(f"flag needs an argument: {a}")
            opts[a[2:]] = argv[i + 1]
            i += 2
        elif a.startswith("--root=") or a.startswith("--runtime="):
            k, v = a[2:].split("=", 1)
            opts[k] = v
            i += 1
        elif a in ("-D", "--debug"):
            opts["debug"] = True
            i += 1
        elif a in ("-h", "--help"):
            opts["help"] = True
            i += 1
        elif a in ("-v", "--version"):
            opts["version"] = True
            i += 1
        elif a.startswith("--"):
            raise _usage_error(f"unknown flag: {a.split('=', 1)[0]}")
        elif a.startswith("-") and a != "-":
            raise _usage_error(f"unknown shorthand flag: '{a[1]}' in {a}")
        else:
            break
    return opts, argv[i:]


def _usage_error(msg: str):
    """A usage error of skiff's own flags or command name; Docker's two lines for flags
    (``unknown flag: --bogus`` then ``See 'skiff --help'.``)."""
    from skiff.cli.context import UsageError

    if msg.startswith(("unknown flag", "unknown shorthand flag", "flag needs")):
        return UsageError(f"{msg}\nSee 'skiff --help'.")
    return UsageError(msg, "See 'skiff --help'.")


def _resolve(rest: list[str]) -> tuple[Entry, str, list[str]] | None:
    """Find the command entry for ``rest``; return (entry, prog, remaining argv)."""
    name = rest[0]
    if name in COMMANDS:
        return COMMANDS[name], f"skiff {name}", rest[1:]
    if name in GROUPS:
        subs = GROUPS[name][1]
        if len(rest) < 2 or rest[1] in ("-h", "--help"):
            return None
        sub = SUB_ALIASES.get(rest[1], rest[1])
        if sub not in subs:
            raise _usage_error(f"unknown command: skiff {name} {rest[1]}")
        return subs[sub], f"skiff {name} {sub}", rest[2:]
    raise _usage_error(f"unknown command: {name}")


# Command modules whose engine errors are "daemon" errors: docker/cli prints "Error response
# from daemon: ..." and exits 1 for them. create/run keep 125 (docker run's own code when the
# daemon cannot create or start), exec keeps its 125/126/127.
_DAEMON_FAMILIES = frozenset({"container", "container_query", "container_ops", "network",
                              "volume"})
_KEEPS_125 = frozenset({("container", "create"), ("container", "run"),
                        ("container_ops", "exec_")})


def _daemon_exit(entry: Entry | None, e) -> int:
    """The exit code for SkiffError ``e`` raised by command ``entry``: an engine error (125)
    from a container/network/volume command exits 1, as docker/cli does for a daemon error;
    the CLI's own usage errors (cli.context.UsageError, flag values) stay 125."""
    from skiff.cli.context import UsageError
    from skiff.errors import EXIT_ENGINE

    if entry is None or e.exit_code != EXIT_ENGINE or isinstance(e, UsageError):
        return e.exit_code
    module, func, _ = entry
    if module not in _DAEMON_FAMILIES or (module, func) in _KEEPS_125:
        return e.exit_code
    if str(e).startswith("invalid argument \""):  # pflag's refusal of a flag value
        return e.exit_code
    return 1


# Commands whose arguments name files on this machine (docker/cli opens them itself, byte
# for byte): their arguments keep undecodable bytes (Python's surrogateescape), so that
# ``skiff import /tmp/$'\xff'.tar`` opens that very file. So do skiff's global flags.
_LOCAL_PATHS = {("image", "import_"), ("image", "save"), ("image", "load"),
                ("container_ops", "cp"), ("container_ops", "export"), ("build", "build"),
                ("dockerfile", "check")}


def _replacing_bad_bytes(argv: list[str]) -> list[str]:
    """``argv`` with each byte that is not UTF-8 (a lone surrogate from Python's
    surrogateescape decoding of the process's arguments) turned into U+FFFD, as Docker's
    client-to-daemon JSON turns it (``docker commit -m $'\\xff'`` stores "\\ufffd"); no
    record, spec, SQLite column or output stream here can hold a lone surrogate."""
    out = []
    for a in argv:
        try:
            a.encode()
        except UnicodeEncodeError:
            a = a.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        out.append(a)
    return out


def main(argv: list[str] | None = None, *, exiting: bool = False) -> int:
    """Run one skiff command; return its exit code (never raises for user errors).

    ``exiting``: the process ends right after (:func:`entry`): the metadata database is
    left to the exit to close, as a killed command would leave it (every commit is
    already durable in the WAL; SQLite's recovery of an unclosed WAL database is its
    normal open path here), which saves the close's ~1 ms."""
    from skiff.errors import EXIT_ENGINE, SkiffError

    argv = sys.argv[1:] if argv is None else argv
    debug = os.environ.get("SKIFF_DEBUG") == "1"
    ctx = None
    entry: Entry | None = None
    prog = ""
    try:
        opts, rest = _split_globals(argv)
        debug = debug or bool(opts["debug"])
        if opts.get("version"):
            rest = ["version"]
        if not rest or opts.get("help"):
            if rest and rest[0] in GROUPS:
                sys.stdout.write(_group_help(rest[0]))
            else:
                sys.stdout.write(_help_text())
            return 0
        found = _resolve(rest)
        if found is None:
            sys.stdout.write(_group_help(rest[0]))
            return 0
        entry, prog, args = found
        module, func, _ = entry
        if (module, func) not in _LOCAL_PATHS:
            for a in args:
                if not a.isascii():  # (O(1) per argument: the usual command line stops here)
                    args = _replacing_bad_bytes(args)
                    break
        from skiff.cli.context import Context
        from skiff.config import Config

        ctx = Context(Config.from_env(opts["root"], opts["runtime"]), debug=debug,
                      exiting=exiting)
        ctx.prog = prog
        fn = getattr(__import__(f"skiff.cli.{module}", fromlist=[func]), func)
        return int(fn(ctx, args) or 0)
    except SkiffError as e:
        if debug:
            import traceback

            traceback.print_exc()
        msg = str(e)
        if prog and msg.startswith('invalid argument "') and "\n" not in msg:
            msg += f"\nSee '{prog} --help'."  # (pflag's refusal of a flag's value)
        _print_error(msg)
        return _daemon_exit(entry, e)
    except KeyboardInterrupt:
        _print_error("operation cancelled by user")
        return 130
    except BrokenPipeError:
        # Output went to a closed pipe (`skiff images | head`): not an error worth a message.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except SystemExit as e:  # argparse --help
        return e.code if isinstance(e.code, int) else 0
    except Exception as e:  # a bug: one line, traceback only in debug mode
        if debug:
            import traceback

            traceback.print_exc()
        _print_error(f"internal error: {type(e).__name__}: {e} (set SKIFF_DEBUG=1 for a traceback)")
        return EXIT_ENGINE
    finally:
        if ctx is not None:
            if exiting:
                _LEFT_OPEN.append(ctx)  # (unreferenced, it would be closed right here)
            else:
                ctx.close()


GC_GEN0_THRESHOLD = 50_000  # see entry()
_LEFT_OPEN: list = []  # main(exiting=True)'s context, for the process exit to close


def entry() -> None:
    """The ``skiff`` executable and ``python -m skiff``: :func:`main` on this process's
    arguments, then exit with its code.

    The interpreter's teardown (a full collection over every object, then each module
    emptied and freed: ~10-15 ms of each command here) is skipped when nothing needs it:
    the exit handlers are run (atexit: logging's flush, ``weakref.finalize`` such as
    TemporaryDirectory's cleanup), stdout and stderr flushed, then ``os._exit``. With a
    non-daemon thread still running (the teardown would wait for it) or a stream that
    cannot be flushed, the usual exit; its collection then skips the objects alive now
    (``gc.freeze``).

    The cyclic collector's youngest generation waits for :data:`GC_GEN0_THRESHOLD` net
    allocations instead of 700: a command's start-up (imports: classes, functions and
    their cycles, none of it garbage) otherwise triggers ~25 collections that find next
    to nothing. Long-running commands (a server, a build) still collect.
    """
    import gc

    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
    code = main(exiting=True)
    # (handlers exist only if a module imported atexit to register them)
    atexit = sys.modules.get("atexit")
    threading = sys.modules.get("threading")
    if threading is None or not any(t.is_alive() and not t.daemon
                                    and t is not threading.current_thread()
                                    for t in threading.enumerate()):
        if atexit is not None:
            atexit._run_exitfuncs()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        else:
            os._exit(code)
    gc.freeze()
    sys.exit(code)


def _print_error(msg: str) -> None:
    try:
        sys.stderr.write(f"skiff: {msg}\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
