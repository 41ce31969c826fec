"""Typed instructions, stages and BuildKit's error wording."""

from __future__ import annotations

import pytest

from skiff.dockerfile import (
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Onbuild,
    Run,
    Shell,
    Volume,
    parse,
)
from skiff.dockerfile.instructions import parse_go_duration
from skiff.dockerfile.shell import Lexer
from skiff.errors import DockerfileError

DF = """\
# syntax=docker/dockerfile:1
# check=skip=ConsecutiveRun
ARG BASE=busybox:1.36
FROM --platform=$BUILDPLATFORM ${BASE} AS Build
ENV A=1 B="two words"
ENV LEGACY value with spaces
LABEL org.opencontainers.image.title="x y"
RUN --mount=type=cache,target=/root/.cache --network=none \\
    echo hi \\
    && echo there
RUN ["/bin/sh", "-c", "echo exec"]
COPY --from=build --chown=1:1 --chmod=0755 --link --parents --exclude=*.md a b /dst/
ADD --checksum=sha256:abc --keep-git-dir https://example.com/x.tar.gz /x/
COPY <<EOF <<-EOT /etc/
one $A
EOF
\t\ttwo
\tEOT
EXPOSE 8080/tcp 443
VOLUME ["/data", "/logs"]
USER app:app
WORKDIR /srv
ARG V1 V2=x
ONBUILD RUN echo trigger
STOPSIGNAL SIGINT
HEALTHCHECK --interval=1m30s --timeout=5s --start-period=1s --start-interval=500ms \\
  --retries=3 CMD curl -f http://localhost/
SHELL ["/bin/bash", "-c"]
ENTRYPOINT ["/entry"]
CMD serve --port 80

FROM build
ENTRYPOINT []
HEALTHCHECK NONE
"""


@pytest.fixture(scope="module")
def df():
    return parse(DF)


def test_directives_and_meta(df):
    assert df.directives == {"syntax": "docker/dockerfile:1", "check": "skip=ConsecutiveRun"}
    assert [(a.key, a.value, a.line) for a in df.meta_args] == [("BASE", "busybox:1.36", 3)]


def test_stages(df):
    s0, s1 = df.stages
    assert (s0.name, s0.index, s0.base, s0.platform, s0.line) == \
        ("build", 0, "${BASE}", "$BUILDPLATFORM", 4)
    assert (s1.name, s1.base, s1.line) == (None, "build", 32)
    assert df.stage("BUILD") is s0 and df.stage(1) is s1
    assert isinstance(s0.from_, From)


def test_instruction_fields(df):
    ins = df.stages[0].instructions
    env, legacy, label, run, run_exec, copy, add, copy_h = ins[:8]
    assert isinstance(env, Env) and env.pairs == [("A", "1"), ("B", '"two words"')]
    assert legacy.pairs == [("LEGACY", "value with spaces")] and legacy.legacy
    assert isinstance(label, Label) and label.pairs == [("org.opencontainers.image.title",
                                                         '"x y"')]
    assert isinstance(run, Run)
    assert (run.line, run.end_line) == (8, 10)
    assert run.cmd == "echo hi     && echo there" and run.prepend_shell
    assert run.mounts == ("type=cache,target=/root/.cache",) and run.network == "none"
    assert run_exec.cmd == ["/bin/sh", "-c", "echo exec"] and not run_exec.prepend_shell
    assert isinstance(copy, Copy)
    assert (copy.from_, copy.chown, copy.chmod, copy.link, copy.parents, copy.exclude,
            copy.sources, copy.dest) == ("build", "1:1", "0755", True, True, ("*.md",),
                                         ["a", "b"], "/dst/")
    assert isinstance(add, Add)
    assert (add.checksum, add.keep_git_dir, add.sources) == \
        ("sha256:abc", True, ["https://example.com/x.tar.gz"])
    assert copy_h.sources == [] and copy_h.dest == "/etc/"
    assert copy.heredocs == () and run.devices == () and add.exclude == ()
    assert [(h.name, h.content, h.chomp, h.expand) for h in copy_h.heredocs] == [
        ("EOF", "one $A\n", False, True), ("EOT", "two\n", True, True)]
    assert (copy_h.line, copy_h.end_line) == (14, 18)


def test_more_fields(df):
    by = {type(i).__name__: i for i in df.stages[0].instructions}
    assert by["Expose"].ports == ["443", "8080/tcp"]
    assert by["Volume"].paths == ["/data", "/logs"]
    assert by["User"].user == "app:app" and by["Workdir"].path == "/srv"
    assert by["Arg"].pairs == [("V1", None), ("V2", "x")]
    assert by["Onbuild"].expression == "RUN echo trigger" and by["Onbuild"].trigger == "RUN"
    assert by["Stopsignal"].signal == "SIGINT"
    hc = by["Healthcheck"]
    assert hc.test == ["CMD-SHELL", "curl -f http://localhost/"]
    assert (hc.interval, hc.timeout, hc.start_period, hc.start_interval, hc.retries) == \
        (90_000_000_000, 5_000_000_000, 1_000_000_000, 500_000_000, 3)
    assert by["Shell"].shell == ["/bin/bash", "-c"]
    assert by["Entrypoint"].cmd == ["/entry"]
    assert by["Cmd"].cmd == "serve --port 80" and by["Cmd"].prepend_shell
    s1 = df.stages[1].instructions
    assert isinstance(s1[0], Entrypoint) and s1[0].cmd is None
    assert isinstance(s1[1], Healthcheck) and s1[1].test == ["NONE"]


def test_expand(df):
    lex = Lexer()
    env = {"A": "1", "HOME": "/root"}
    ins = df.stages[0].instructions
    assert ins[0].expand(lambda w: lex.process_word(w, env)).pairs == [("A", "1"),
                                                                       ("B", "two words")]
    args = {"BASE": "alpine:3", "BUILDPLATFORM": "linux/amd64"}
    f = df.stages[0].from_.expand(lambda w: lex.process_word(w, args))
    assert (f.base, f.platform) == ("alpine:3", "linux/amd64")
    cmd = ins[-1]
    assert cmd.expand(lambda w: "X") is cmd  # CMD is not expanded by Docker


@pytest.mark.parametrize("text,line,message", [
    ("", 1, "file with no instructions"),
    ("# only\n# comments\n", 2, "file with no instructions"),
    ("FROM a\nFOO bar\n", 2, "unknown instruction: FOO"),
    ("FROM a\nCOPPY a b\n", 2, "unknown instruction: COPPY (did you mean copy?)"),
    ("RUN ls\n", 1, "no build stage in current context"),
    ("ARG X\n", 1, "dockerfile contains no stages to build"),
    ("FROM a\nCOPY a\n", 2, "COPY requires at least two arguments, but only one was "
                            "provided. Destination could not be determined"),
    ("FROM a\nADD\n", 2, "ADD requires at least two arguments, but only one was provided. "
                         "Destination could not be determined"),
    ("FROM a\nCOPY --foo=1 a b\n", 2, "unknown flag: foo"),
    ("FROM a\nCOPY --chmown=1 a b\n", 2, "unknown flag: chmown (did you mean chown?)"),
    ("FROM a\nCOPY --chown a b\n", 2, "missing a value on flag: chown"),
    ("FROM a\nCOPY --link=maybe a b\n", 2, "expecting boolean value for flag link, not: maybe"),
    ("FROM a\nCOPY --from=x --from=y a b\n", 2, "duplicate flag specified: from"),
    ("FROM a\nRUN <<EOF\nls\n", 2, "unterminated heredoc"),
    ("FROM a\nHEALTHCHECK --interval=5 CMD ls\n", 2, 'time: missing unit in duration "5"'),
    ("FROM a\nHEALTHCHECK --timeout=abc CMD ls\n", 2, 'time: invalid duration "abc"'),
    ("FROM a\nHEALTHCHECK --interval=1us CMD ls\n", 2,
     'Interval "interval" cannot be less than 1ms'),
    ("FROM a\nHEALTHCHECK CMD\n", 2, "Missing command after HEALTHCHECK CMD"),
    ("FROM a\nHEALTHCHECK NONE x\n", 2, "HEALTHCHECK NONE takes no arguments"),
    ("FROM a\nHEALTHCHECK FOO x\n", 2, 'Unknown type "FOO" in HEALTHCHECK (try CMD)'),
    ("FROM a\nHEALTHCHECK --retries=-1 CMD x\n", 2, "--retries cannot be negative (-1)"),
    ("FROM a\nHEALTHCHECK --retries=1_0 CMD x\n", 2,
     'strconv.ParseInt: parsing "1_0": invalid syntax'),
    ("FROM a b\n", 1, "FROM requires either one or three arguments"),
    ("FROM a AS 1x\n", 1, 'invalid name for build stage: "1x", name can\'t start with a '
                          "number or contain symbols"),
    ("FROM a AS x\nFROM b AS X\n", 2, 'duplicate stage name "x"'),
    ("FROM a\nENV\n", 2, "ENV requires at least one argument"),
    ("FROM a\nENV A=1 B\n", 2, 'Syntax error - can\'t find = in "B". Must be of the form: '
                               "name=value"),
    ("FROM a\nSTOPSIGNAL\n", 2, "STOPSIGNAL requires exactly one argument"),
    ("FROM a\nWORKDIR\n", 2, "WORKDIR requires exactly one argument"),
    ("FROM a\nSHELL /bin/sh -c\n", 2, "SHELL requires the arguments to be in JSON form"),
    ("FROM a\nONBUILD FROM x\n", 2, "FROM isn't allowed as an ONBUILD trigger"),
    ("FROM a\nONBUILD ONBUILD RUN x\n", 2,
     "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("FROM a\nEXPOSE\n", 2, "EXPOSE requires at least one argument"),
    ("FROM a\nARG =x\n", 2, "ARG names can not be blank"),
    ("FROM a\nCOPY a <<EOF\nx\nEOF\n", 2, "COPY cannot accept a heredoc as a destination"),
    ("# escape=x\nFROM a\n", 1, "invalid escape token 'x' does not match ` or \\"),
    ("FROM a\nRUN --network=bridge ls\n", 2, 'unsupported network mode "bridge"'),
])
def test_errors(text, line, message):
    with pytest.raises(DockerfileError) as ei:
        parse(text)
    assert (ei.value.line, ei.value.message) == (line, message)
    assert str(ei.value) == f"Dockerfile:{line}: {message}"


def test_instruction_names_case_insensitive():
    df = parse("from a as B\nrun echo\ncopy a b\n")
    assert df.stages[0].name == "b"
    assert isinstance(df.stages[0].instructions[0], Run)


def test_exec_form_fallback_to_shell_form():
    df = parse("FROM a\nCMD [\"a\", 'b']\nRUN [ \"unterminated\n")
    cmd, run = df.stages[0].instructions
    assert isinstance(cmd, Cmd) and cmd.cmd == "[\"a\", 'b']" and cmd.prepend_shell
    assert run.cmd == '[ "unterminated' and run.prepend_shell


def test_run_heredoc_and_onbuild_heredoc():
    df = parse("FROM a\nRUN <<EOF bash\nset -e\necho $X\nEOF\n"
               "ONBUILD RUN <<E\nhi\nE\nVOLUME /v\n")
    run, onb, vol = df.stages[0].instructions
    assert run.cmd == "<<EOF bash" and [(h.name, h.content) for h in run.heredocs] == \
        [("EOF", "set -e\necho $X\n")]
    assert isinstance(onb, Onbuild) and onb.expression == "RUN <<E\nhi\nE"
    assert isinstance(vol, Volume) and vol.line == 9


def test_backtick_escape_directive():
    df = parse("# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo done\n")
    assert df.escape == "`"
    assert df.stages[0].instructions[0].cmd == "dir c:\\   && echo done"


def test_shell_instruction_and_expose_types():
    df = parse('FROM a\nSHELL ["pwsh", "-c"]\nEXPOSE 80 53/udp\nARG X\n')
    sh, ex, arg = df.stages[0].instructions
    assert isinstance(sh, Shell) and isinstance(ex, Expose) and isinstance(arg, Arg)
    assert arg.value is None


@pytest.mark.parametrize("s,ns", [("0", 0), ("1s", 10**9), ("1.5h", 5_400 * 10**9),
                                  ("2m3s", 123 * 10**9), ("300ms", 300 * 10**6),
                                  ("10us", 10_000), ("7ns", 7), ("1h2m3.5s", 3723_500_000_000)])
def test_go_duration(s, ns):
    assert parse_go_duration(s) == ns


def test_to_dict_is_json_ready(df):
    import json

    d = json.loads(json.dumps(df.to_dict()))
    run = d["stages"][0]["instructions"][3]
    assert run["instruction"] == "RUN" and run["line"] == 8 and run["mounts"] == \
        ["type=cache,target=/root/.cache"]
    assert d["stages"][0]["instructions"][5]["from"] == "build"


@pytest.mark.parametrize("text", [
    "FROM a\nRUN ls\nCOPY a b\nADD c d\n",  # the line path's own shapes
    "FROM a\nRUN --network=none ls\nCOPY --chown=1 a b\nADD --link c d\n",  # flag rules
    "FROM a\nRUN <<EOF\nls\nEOF\nCOPY <<EOF /x\nhi\nEOF\n",  # through the tree node
])
def test_sequence_fields_are_tuples(text):
    """RUN's mounts/devices/heredocs and COPY/ADD's heredocs/exclude are tuples whichever
    path built them, the shared empty tuple when none were written."""
    for ins in parse(text).stages[0].instructions:
        names = ("mounts", "devices", "heredocs") if isinstance(ins, Run) else \
            ("heredocs", "exclude")
        for name in names:
            v = getattr(ins, name)
            assert type(v) is tuple  # an empty one is CPython's shared ()
    run, copy = parse("FROM a\nRUN --mount=type=cache,target=$D --device=x ls\n"
                      "COPY --exclude=$P --exclude=y a b\n").stages[0].instructions
    assert (run.mounts, run.devices) == (("type=cache,target=$D",), ("x",))
    assert run.expand(lambda w: w.replace("$D", "/c")).mounts == ("type=cache,target=/c",)
    assert copy.exclude == ("$P", "y")
    assert copy.expand(lambda w: w.replace("$P", "*.md")).exclude == ("*.md", "y")
