"""ARG/ENV scoping as docker build applies it."""

from __future__ import annotations

from skiff.dockerfile import parse
from skiff.dockerfile.scope import StageScope, meta_scope, platform_args
from skiff.dockerfile.shell import Lexer

DF = """\
ARG VERSION=1.36
ARG REG=docker.io
ARG UNSET
FROM $REG/busybox:$VERSION AS base
ARG VERSION
ENV A=$VERSION-x
ARG A=arg-loses
ARG NEW=${A}-new
ARG TARGETARCH
WORKDIR /src/$TARGETARCH/$REG
RUN echo $A
"""


def test_platform_args():
    assert platform_args("linux/amd64", "linux/arm/v7") == {
        "BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDARCH": "amd64",
        "BUILDVARIANT": "", "TARGETPLATFORM": "linux/arm/v7", "TARGETOS": "linux",
        "TARGETARCH": "arm", "TARGETVARIANT": "v7"}


def test_meta_scope_and_from_expansion():
    df = parse(DF)
    builtin = platform_args("linux/amd64")
    meta = meta_scope(df, {"VERSION": "1.37"}, builtin)
    assert meta["VERSION"] == "1.37" and meta["REG"] == "docker.io" and "UNSET" not in meta
    lex = Lexer()
    f = df.stages[0].from_.expand(lambda w: lex.process_word(w, meta))
    assert f.base == "docker.io/busybox:1.37"


def test_stage_scope_rules():
    df = parse(DF)
    builtin = platform_args("linux/amd64")
    meta = meta_scope(df, {}, builtin)
    scope = StageScope({**builtin, **meta}, {"HTTP_PROXY": "http://p:3128", "NEW": "cli"},
                       {"PATH": "/bin"})
    out = [scope.expand(i) for i in df.stages[0].instructions]
    env_inst, workdir = out[1], out[5]
    assert env_inst.pairs == [("A", "1.36-x")]          # redeclared meta ARG, default kept
    assert scope.variables()["A"] == "1.36-x"           # ENV wins over the later ARG A
    assert scope.args["NEW"] == "cli"                   # build arg beats the default
    assert workdir.path == "/src/amd64/"                # REG not redeclared: empty here
    assert scope.run_env() == {"PATH": "/bin", "A": "1.36-x", "VERSION": "1.36",
                               "NEW": "cli", "TARGETARCH": "amd64",
                               "HTTP_PROXY": "http://p:3128"}
    assert scope.used_build_args == {"NEW"}
    assert out[-1] is df.stages[0].instructions[-1]     # RUN is not expanded by Docker
