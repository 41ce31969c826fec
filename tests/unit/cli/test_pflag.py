"""Flag errors and arity errors as Docker's CLI (cobra, pflag) gives them: each expected
text is docker 20.10's output with "docker" read as "skiff" (its first line after skiff's
``skiff: ``; docker 20.10 prints ``See 'docker CMD --help'.`` under it)."""

from __future__ import annotations

import pytest

from skiff.cli.argparser import ArgumentParser
from skiff.cli.context import UsageError


def _see(cmd: str) -> str:
    return f"\nSee 'skiff {cmd} --help'.\n"


@pytest.mark.parametrize("argv,first", [
    (("run", "--foo", "bb:1"), "unknown flag: --foo"),
    (("run", "--foo=bar", "bb:1"), "unknown flag: --foo"),
    (("run", "-z", "bb:1"), "unknown shorthand flag: 'z' in -z"),
    (("run", "-zit", "bb:1"), "unknown shorthand flag: 'z' in -zit"),
    (("run", "-itz", "bb:1"), "unknown shorthand flag: 'z' in -z"),
    (("run", "--name"), "flag needs an argument: --name"),
    (("run", "-e"), "flag needs an argument: 'e' in -e"),
    (("run", "-p"), "flag needs an argument: 'p' in -p"),
    (("run", "--netw", "none", "bb:1", "true"), "unknown flag: --netw"),  # no abbreviations
    (("run", "--rm=yes", "bb:1"),
     'invalid argument "yes" for "--rm" flag: strconv.ParseBool: parsing "yes": invalid syntax'),
    (("run", "--rm=", "bb:1"),
     'invalid argument "" for "--rm" flag: strconv.ParseBool: parsing "": invalid syntax'),
    (("run", "-d=maybe", "bb:1"), 'invalid argument "maybe" for "-d, --detach" flag: '
                                  'strconv.ParseBool: parsing "maybe": invalid syntax'),
    (("run", "-c", "x", "bb:1"), 'invalid argument "x" for "-c, --cpu-shares" flag: '
                                 'strconv.ParseInt: parsing "x": invalid syntax'),
    (("run", "--stop-timeout", "x", "bb:1"), 'invalid argument "x" for "--stop-timeout" flag: '
                                             'strconv.ParseInt: parsing "x": invalid syntax'),
    (("run", "-m", "x", "bb:1", "true"),
     "invalid argument \"x\" for \"-m, --memory\" flag: invalid size: 'x'"),
    (("run", "--memory=x", "bb:1"),
     "invalid argument \"x\" for \"-m, --memory\" flag: invalid size: 'x'"),
    (("run", "--cpus", "x", "bb:1"),
     'invalid argument "x" for "--cpus" flag: failed to parse x as a rational number'),
    (("ps", "--foo"), "unknown flag: --foo"),
    (("ps", "-z"), "unknown shorthand flag: 'z' in -z"),
    (("ps", "-n", "x"), 'invalid argument "x" for "-n, --last" flag: '
                        'strconv.ParseInt: parsing "x": invalid syntax'),
    (("logs", "--tail"), "flag needs an argument: --tail"),
    (("commit", "-m"), "flag needs an argument: 'm' in -m"),
    (("inspect", "--foo"), "unknown flag: --foo"),
    (("images", "--nope"), "unknown flag: --nope"),
])
def test_flag_errors_are_pflags_exit_125(cli, argv, first):
    r = cli(*argv)
    assert (r.code, r.out, r.err) == (125, "", f"skiff: {first}{_see(argv[0])}")


@pytest.mark.parametrize("argv,first", [
    (("run", "-it"), '"skiff run" requires at least 1 argument.'),
    (("history",), '"skiff history" requires exactly 1 argument.'),
    (("history", "a", "b"), '"skiff history" requires exactly 1 argument.'),
    (("commit",), '"skiff commit" requires at least 1 and at most 2 arguments.'),
    (("commit", "a", "b", "c"), '"skiff commit" requires at least 1 and at most 2 arguments.'),
    (("rm",), '"skiff rm" requires at least 1 argument.'),
    (("tag", "a"), '"skiff tag" requires exactly 2 arguments.'),
    (("version", "x"), '"skiff version" accepts no arguments.'),
    (("ps", "x"), '"skiff ps" accepts no arguments.'),
    (("top",), '"skiff top" requires at least 1 argument.'),
    (("images", "a", "b"), '"skiff images" requires at most 1 argument.'),
    (("exec",), '"skiff exec" requires at least 2 arguments.'),
    (("exec", "c1"), '"skiff exec" requires at least 2 arguments.'),
])
def test_arity_errors_are_docker_clis_exit_1(cli, argv, first):
    r = cli(*argv)
    assert (r.code, r.out, r.err) == (1, "", f"skiff: {first}{_see(argv[0])}")


def test_group_command_names_itself(cli):
    r = cli("network", "create")
    assert (r.code, r.err) == (1, "skiff: \"skiff network create\" requires exactly 1 "
                                  "argument.\nSee 'skiff network create --help'.\n")
    r = cli("volume", "ls", "--bogus")
    assert (r.code, r.err) == (125, "skiff: unknown flag: --bogus\n"
                                    "See 'skiff volume ls --help'.\n")
    # one function serves `images` and `image ls`: the error names the command as typed
    r = cli("image", "list", "a", "b")
    assert (r.code, r.err) == (1, "skiff: \"skiff image ls\" requires at most 1 argument.\n"
                                  "See 'skiff image ls --help'.\n")
    r = cli("container", "ls", "--foo")
    assert (r.code, r.err) == (125, "skiff: unknown flag: --foo\n"
                                    "See 'skiff container ls --help'.\n")
    r = cli("container", "run")
    assert (r.code, r.err) == (1, "skiff: \"skiff container run\" requires at least 1 "
                                  "argument.\nSee 'skiff container run --help'.\n")


def test_global_flag_error(cli):
    r = cli("--bogus", "version")
    assert (r.code, r.err) == (125, "skiff: unknown flag: --bogus\nSee 'skiff --help'.\n")
    r = cli("--bogus=1", "version")
    assert (r.code, r.err) == (125, "skiff: unknown flag: --bogus\nSee 'skiff --help'.\n")
    r = cli("-x", "version")
    assert (r.code, r.err) == (125, "skiff: unknown shorthand flag: 'x' in -x\n"
                                    "See 'skiff --help'.\n")
    r = cli("--root")
    assert (r.code, r.err) == (125, "skiff: flag needs an argument: --root\n"
                                    "See 'skiff --help'.\n")


def _parser(remainder: bool = False) -> ArgumentParser:
    p = ArgumentParser(prog="skiff t", add_help=False)
    p.add_argument("--help", action="help")
    p.add_argument("-i", "--interactive", action="store_true")
    p.add_argument("-t", "--tty", action="store_true")
    p.add_argument("-d", "--detach", action="store_true")
    p.add_argument("-e", "--env", action="append", default=[])
    p.add_argument("--name")
    p.add_argument("-n", "--last", type=int, default=-1)
    p.add_argument("-H", "--human", default="true", nargs="?", const="true")
    p.add_argument("first")
    if remainder:
        p.add_argument("rest", nargs="...")
    else:
        p.add_argument("more", nargs="*")
    return p


@pytest.mark.parametrize("argv,want", [
    # bundles of booleans, a last short taking the next argument or the rest of the bundle
    (["-it", "x"], {"interactive": True, "tty": True}),
    (["-dit", "x"], {"interactive": True, "tty": True, "detach": True}),
    (["-ite", "A=1", "x"], {"interactive": True, "tty": True, "env": ["A=1"]}),
    (["-eA=1", "-e=B", "x"], {"env": ["A=1", "B"]}),
    # a flag's value is the next argument whatever it looks like
    (["--name", "--rm", "x"], {"name": "--rm"}),
    (["--name", "--", "x"], {"name": "--"}),
    (["--name=--", "x"], {"name": "--"}),
    (["-e", "-x", "x"], {"env": ["-x"]}),
    (["-n", "-1", "x"], {"last": -1}),
    # booleans: Go's ParseBool spellings, the last one wins
    (["-i=false", "x"], {"interactive": False}),
    (["--tty=T", "--tty=0", "x"], {"tty": False}),
    # an optional value is taken only after "=" (-H never eats the next argument)
    (["-H", "x"], {"human": "true", "first": "x"}),
    (["--human=false", "x"], {"human": "false"}),
    # flags after positionals (interspersed), "--" ends the flags
    (["x", "-i", "y"], {"interactive": True, "first": "x", "more": ["y"]}),
    (["--", "-i", "--", "y"], {"interactive": False, "first": "-i", "more": ["--", "y"]}),
])
def test_pflag_reading(argv, want):
    ns = vars(_parser().parse_args(argv))
    assert {k: ns[k] for k in want} == want


@pytest.mark.parametrize("argv,msg", [
    (["-itA=1", "x"], "unknown shorthand flag: 'A' in -A=1"),  # (-t takes no value)
    (["--last=0x", "x"], 'invalid argument "0x" for "-n, --last" flag: strconv.ParseInt: '
                         'parsing "0x": invalid syntax'),
    (["--name=a", "--bad\tname"], "unknown flag: --bad\tname"),
    (["-i=\"yes\"", "x"], 'invalid argument "\\"yes\\"" for "-i, --interactive" flag: '
                          'strconv.ParseBool: parsing "\\"yes\\"": invalid syntax'),
    (["---x"], "bad flag syntax: ---x"),
])
def test_pflag_refusals(argv, msg):
    with pytest.raises(UsageError) as e:
        _parser().parse_args(argv)
    assert (str(e.value), e.value.exit_code) == (f"{msg}\nSee 'skiff t --help'.", 125)


@pytest.mark.parametrize("argv,first,rest", [
    (["img", "--", "echo", "hi"], "img", ["--", "echo", "hi"]),
    (["--", "img", "--", "echo"], "img", ["--", "echo"]),
    (["-i", "img", "-t", "--name", "n"], "img", ["-t", "--name", "n"]),
    (["--", "-img"], "-img", []),
])
def test_remainder_stops_flags_at_first_positional(argv, first, rest):
    """run/create/exec/top: pflag's SetInterspersed(false); the rest is kept verbatim,
    "--" included (docker run IMG -- echo runs "--")."""
    ns = _parser(remainder=True).parse_args(argv)
    assert (ns.first, ns.rest) == (first, rest)


def test_list_flag_takes_following_values_as_argparse():
    """skiff's own `build --logs IMAGE|BUILD [STEP]` (nargs="+"): the values up to the
    next flag, as argparse took them."""
    p = ArgumentParser(prog="skiff t")
    p.add_argument("context", nargs="?")
    p.add_argument("--logs", nargs="+")
    p.add_argument("-q", action="store_true")
    assert vars(p.parse_args(["--logs", "seed:1"])) == {"context": None, "logs": ["seed:1"],
                                                        "q": False}
    assert vars(p.parse_args(["--logs", "b1", "3", "-q"])) == {"context": None,
                                                              "logs": ["b1", "3"], "q": True}
    assert vars(p.parse_args(["--logs=b1", "3"]))["logs"] == ["b1", "3"]
