"""skiff build end to end on the busybox base: config, file trees, stages, errors, cache."""

from __future__ import annotations

import io
import tarfile

import pytest

from tests.integration.build.conftest import image_config, image_files, outcomes, tags

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def write(ctx, files: dict[str, str]):
    ctx.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        p = ctx / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return ctx


def test_config_instructions(cli, bb, tmp_path, skiff_root):
    ctx = write(tmp_path / "c", {"Dockerfile": """\
FROM bb:1
LABEL a=1 "b c"="d e"
ENV A=1 B="two words"
ENV A=3
EXPOSE 3000 53/udp
VOLUME ["/data"]
USER app
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --retries=2 CMD wget -q -O- http://localhost/ || exit 1
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo triggered
WORKDIR /srv
ENTRYPOINT echo hi
"""})
    r = cli("build", "--progress", "plain", "-t", "cfg:1", "--label", "cli=yes", str(ctx))
    assert r.code == 0, r.err
    cfg = image_config(skiff_root, "cfg:1")
    c = cfg["config"]
    assert c["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                        "A=3", "B=two words"]
    assert c["Labels"] == {"a": "1", "b c": "d e", "cli": "yes"}
    assert c["ExposedPorts"] == {"3000/tcp": {}, "53/udp": {}}
    assert c["Volumes"] == {"/data": {}}
    assert c["User"] == "app"
    assert c["StopSignal"] == "SIGQUIT"
    assert c["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q -O- http://localhost/ || exit 1"],
                                "Interval": 30_000_000_000, "Retries": 2}
    assert c["Shell"] == ["/bin/sh", "-ec"]
    assert c["OnBuild"] == ["RUN echo triggered"]
    assert c["WorkingDir"] == "/srv"
    assert c["Entrypoint"] == ["/bin/sh", "-ec", "echo hi"]
    assert "Cmd" not in c
    hist = [(h.get("created_by"), h.get("empty_layer", False)) for h in cfg["history"]][1:]
    assert hist == [
        ("LABEL a=1 b c=d e", True),
        ("ENV A=1 B=two words", True),
        ("ENV A=3", True),
        ("EXPOSE [3000/tcp 53/udp]", True),
        ("VOLUME [/data]", True),
        ("USER app", True),
        ("STOPSIGNAL SIGQUIT", True),
        ('HEALTHCHECK {Test:["CMD-SHELL" "wget -q -O- http://localhost/ || exit 1"] '
         "Interval:30s Timeout:0s StartPeriod:0s StartInterval:0s Retries:2}", True),
        ("SHELL [/bin/sh -ec]", True),
        ("WORKDIR /srv", False),
        ('ENTRYPOINT ["/bin/sh" "-ec" "echo hi"]', True),
    ]
    # WORKDIR made as the USER (app = 1000:1000 in the busybox rootfs)
    assert image_files("cfg:1")["/srv"][:4] == ("d", 0o755, 1000, 1000)

    # ONBUILD triggers run when the image is used as a base, and are not inherited
    child = write(tmp_path / "child", {"Dockerfile": "FROM cfg:1\nUSER root\nRUN true\n"})
    r = cli("build", "--progress", "plain", "-t", "child:1", str(child))
    assert r.code == 0, r.err
    assert "triggered" in r.err
    assert "OnBuild" not in image_config(skiff_root, "child:1")["config"]


def test_multistage_copy_from_and_skipped_stage(cli, bb, example, skiff_root):
    ctx = example("busybox-multistage")
    r = cli("build", "--progress", "plain", "-t", "ms:1", "--build-arg", "VERSION=2.5", str(ctx))
    assert r.code == 0, r.err
    assert "never built" not in r.err  # the docs stage is not needed for the target
    files = image_files("ms:1")
    assert files["/srv/out.txt"] == ("f", 0o640, 0, 0, b"hello 2.5\n")
    assert files["/srv/bin/greet"][:4] == ("f", 0o644, 1000, 1000)
    cfg = image_config(skiff_root, "ms:1")["config"]
    assert not any(e.startswith("VERSION=") for e in cfg["Env"])  # build args stay out
    assert cfg["Entrypoint"] == ["/bin/sh", "/srv/bin/greet"]
    assert cfg["Cmd"] == ["world"]
    # --target picks a stage; a changed build arg misses on its first use, not at the ARG
    # (FROM, ARG, WORKDIR, COPY hit), and is named as the reason for the miss
    r = cli("build", "--progress", "plain", "--target", "builder", "-t", "ms:builder",
            "--build-arg", "VERSION=3", str(ctx))
    assert r.code == 0, r.err
    got = outcomes(r.err)
    assert got[:5] == [("HIT", None), ("HIT", None), ("HIT", None), ("HIT", None),
                       ("MISS", "build arg VERSION changed")]
    hist = [h.get("created_by") for h in image_config(skiff_root, "ms:builder")["history"]]
    assert "ARG VERSION=3" in hist and "ARG VERSION=2.5" not in hist
    assert image_files("ms:builder")["/src/out.txt"][4] == b"hello 3\n"


def test_copy_rules_dockerignore_symlinks_and_add_tar(cli, bb, tmp_path):
    ctx = write(tmp_path / "c", {
        "Dockerfile": """\
FROM bb:1
COPY dir /dst/
COPY one.txt /named
COPY *.txt /many/
COPY --chown=app --chmod=600 one.txt /owned/
ADD pkg.tar.gz /opt/
""",
        ".dockerignore": "dir/secret.key\n*.log\n",
        "dir/a.txt": "a", "dir/secret.key": "k", "dir/sub/b.txt": "b",
        "one.txt": "1", "two.txt": "2", "debug.log": "x"})
    (ctx / "dir/ln").symlink_to("a.txt")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        ti = tarfile.TarInfo("pkg/data.txt")
        ti.size, ti.uid, ti.gid, ti.mode = 4, 7, 8, 0o640
        tf.addfile(ti, io.BytesIO(b"data"))
    (ctx / "pkg.tar.gz").write_bytes(buf.getvalue())
    r = cli("build", "--progress", "plain", "-t", "cp:1", str(ctx))
    assert r.code == 0, r.err
    f = image_files("cp:1")
    assert f["/dst/a.txt"] == ("f", 0o644, 0, 0, b"a")
    assert f["/dst/sub/b.txt"][4] == b"b"
    assert f["/dst/ln"] == ("l", 0o777, 0, 0, "a.txt")
    assert "/dst/secret.key" not in f and "/dst/dir" not in f
    assert f["/named"][4] == b"1"
    assert sorted(k for k in f if k.startswith("/many/")) == ["/many/one.txt", "/many/two.txt"]
    assert f["/owned/one.txt"] == ("f", 0o600, 1000, 1000, b"1")
    assert f["/opt/pkg/data.txt"] == ("f", 0o640, 7, 8, b"data")

    # an excluded file is not in the context
    (ctx / "Dockerfile").write_text("FROM bb:1\nCOPY debug.log /\n")
    r = cli("build", str(ctx))
    assert r.code == 1
    assert "Dockerfile:2" in r.err and "debug.log" in r.err and "not found" in r.err


def test_failing_run_names_step_and_leaves_no_tag(cli, bb, tmp_path):
    ctx = write(tmp_path / "c", {"Dockerfile": "FROM bb:1\nRUN echo before\nRUN exit 3\n"})
    r = cli("build", "-t", "bad:1", str(ctx))
    assert r.code == 1
    assert r.err.strip().splitlines()[-1] == (
        'skiff: Dockerfile:3: [3/3] RUN exit 3: process "/bin/sh -c exit 3" did not complete '
        "successfully: exit code: 3")
    assert "docker.io/library/bad:1" not in tags()


@pytest.mark.parametrize("dockerfile,needle", [
    ("FROM bb:1\nCOPY --from=nope /x /\n", "nope"),
    ("FROM 127.0.0.1:9/no-such-image:1\n", "no-such-image"),
    ("FROM bb:1\nBOGUS x\n", "unknown instruction: BOGUS"),
])
def test_bad_input_exit_1(cli, bb, tmp_path, dockerfile, needle):
    ctx = write(tmp_path / "c", {"Dockerfile": dockerfile})
    r = cli("build", "-t", "bad:1", str(ctx))
    assert r.code == 1, r.err
    assert needle in r.err and "Dockerfile:" in r.err
    assert "docker.io/library/bad:1" not in tags()


def test_missing_context(cli, bb, tmp_path):
    r = cli("build", str(tmp_path / "nope"))
    assert r.code == 1
    assert "unable to prepare context" in r.err


def test_stdin_dockerfile_no_cache_prune_and_explain(cli, bb):
    df = b"FROM bb:1\nARG V=1\nRUN echo v=$V\n"
    r = cli("build", "--progress", "plain", "-t", "stdin:1", "-", stdin=df)
    assert r.code == 0, r.err
    assert "v=1" in r.err
    r = cli("build", "--progress", "plain", "--explain", "-", stdin=df)
    assert [o for o, _ in outcomes(r.err)] == ["HIT"] * 3
    assert "    build arg: V=1" in r.out and "instruction: RUN" in r.out
    r = cli("build", "--progress", "plain", "--no-cache", "-", stdin=df)
    assert outcomes(r.err) == [("MISS", "--no-cache")] * 3
    r = cli("builder", "prune", "-f")
    assert r.code == 0 and r.out.startswith("Deleted build cache objects:")
    r = cli("build", "--progress", "plain", "-", stdin=df)
    assert [o for o, _ in outcomes(r.err)] == ["MISS"] * 3


def test_run_secret_mount_not_in_layer(cli, bb, tmp_path):
    secret = tmp_path / "token"
    secret.write_text("s3cr3t")
    ctx = write(tmp_path / "c", {"Dockerfile": """\
FROM bb:1
RUN --mount=type=secret,id=tok cat /run/secrets/tok > /copied && wc -c < /run/secrets/tok
RUN --mount=type=cache,target=/cache echo x >> /cache/n && wc -l < /cache/n
"""})
    r = cli("build", "--progress", "plain", "-t", "sec:1", "--secret", f"id=tok,src={secret}",
            str(ctx))
    assert r.code == 0, r.err
    f = image_files("sec:1")
    assert f["/copied"][4] == b"s3cr3t"
    assert not any(k.startswith("/run/secrets") for k in f)
    assert not any(k.startswith("/cache") for k in f)


def test_heredocs_bind_from_stage_and_cache_sharing(cli, bb, tmp_path):
    ctx = tmp_path / "hd"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM bb:1 AS base\n"
        "RUN <<EOF\necho one > /one\necho two >> /one\nEOF\n"
        "RUN <<EOT\n#!/bin/sh\necho \"script $0\" > /script.txt\nEOT\n"
        "COPY <<EOF /etc/greeting\nhello heredoc\nEOF\n"
        "FROM bb:1\n"
        "RUN --mount=type=bind,from=base,source=/one,target=/mnt/one cat /mnt/one > /copied\n"
        "RUN --mount=type=cache,target=/c,sharing=locked echo hi >> /c/x && wc -l < /c/x\n")
    r = cli("build", "--progress", "plain", "--target", "base", "-t", "hd:1", str(ctx))
    assert r.code == 0, r.err
    assert "#2 [base 2/4] RUN <<EOF (echo one > /one...)\n" in r.err
    f = image_files("hd:1")
    assert f["/one"][4] == b"one\ntwo\n"
    assert f["/script.txt"][4] == b"script /dev/pipes/EOT\n"
    assert f["/etc/greeting"] == ("f", 0o644, 0, 0, b"hello heredoc\n")
    assert not any(k.startswith("/dev/pipes") for k in f)
    r = cli("build", "--progress", "plain", "-t", "hd:2", str(ctx))
    assert r.code == 0, r.err
    assert "#6 [stage-1 2/3] RUN --mount=type=bind,from=base" in r.err
    f = image_files("hd:2")
    assert f["/copied"][4] == b"one\ntwo\n"
    assert "/mnt/one" not in f and "/c" not in f


def test_tar_context_on_stdin_iidfile_and_bad_flag(cli, bb, example, tmp_path):
    ctx = example("busybox-seed")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(ctx, arcname=".")
    iid = tmp_path / "iid"
    r = cli("build", "--progress", "plain", "--iidfile", str(iid), "-t", "tarctx:1", "-",
            stdin=buf.getvalue())
    assert r.code == 0, r.err
    assert iid.read_text().startswith("sha256:") and iid.read_text() in r.err
    assert image_files("tarctx:1")["/app/app.js"][4] == (ctx / "app.js").read_bytes()
    r = cli("build", "--no-such-flag", str(ctx))
    assert r.code == 125
    assert r.err == "skiff: unknown flag: --no-such-flag\nSee 'skiff build --help'.\n"


def test_check_reports_lint_warnings_without_building(cli, tmp_path, skiff_root):
    ctx = write(tmp_path / "chk", {"Dockerfile": "FROM bb:1 as Base\nCMD echo hi\n"})
    r = cli("build", "--check", str(ctx))
    assert r.code == 1
    assert "WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/" in r.err
    assert r.err.strip().endswith("Check complete, 3 warnings have been found!")
    (ctx / "Dockerfile").write_text('FROM bb:1\nCMD ["true"]\n')
    r = cli("build", "--check", str(ctx))
    assert (r.code, r.err) == (0, "Check complete, no warnings found.\n")


@pytest.fixture
def http_server(tmp_path):
    """A loopback HTTP server on an ephemeral port serving tmp_path/www."""
    import functools
    import http.server
    import threading

    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield www, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_add_url_with_checksum_and_network_none(cli, bb, tmp_path, http_server):
    import hashlib

    www, base = http_server
    (www / "tool.txt").write_bytes(b"remote bytes\n")
    good = "sha256:" + hashlib.sha256(b"remote bytes\n").hexdigest()
    ctx = write(tmp_path / "c", {"Dockerfile": f"""\
FROM bb:1
ADD --checksum={good} {base}/tool.txt /opt/
ADD {base}/tool.txt /opt/renamed.txt
RUN --network=none sh -c 'wget -q -T 2 -O- {base}/tool.txt && exit 1 || echo offline'
"""})
    r = cli("build", "--progress", "plain", "-t", "url:1", str(ctx))
    assert r.code == 0, r.err
    assert "offline" in r.err
    f = image_files("url:1")
    assert f["/opt/tool.txt"] == ("f", 0o600, 0, 0, b"remote bytes\n")
    assert f["/opt/renamed.txt"][4] == b"remote bytes\n"
    # the remote file changes: the ADD without --checksum misses, the pinned one hits
    import os as _os

    (www / "tool.txt").write_bytes(b"remote bytes, version 2\n")
    _os.utime(www / "tool.txt", (1, 1))
    r = cli("build", "--progress", "plain", "-t", "url:1", str(ctx))  # not the fast path
    assert [o for o, _ in outcomes(r.err)][:3] == ["HIT", "HIT", "MISS"]
    bad = "sha256:" + "0" * 64
    (ctx / "Dockerfile").write_text(f"FROM bb:1\nADD --checksum={bad} {base}/tool.txt /opt/\n")
    r = cli("build", str(ctx))
    assert r.code == 1 and "digest mismatch" in r.err


def test_copy_exclude(cli, bb, tmp_path):
    ctx = write(tmp_path / "ex", {
        "Dockerfile": "FROM bb:1\nCOPY --exclude=*.md --exclude=tmp src/ /dst/\n",
        "src/a.txt": "a", "src/README.md": "r", "src/tmp/x": "x", "src/sub/b.md": "b",
        "src/sub/c.txt": "c"})
    r = cli("build", "-t", "ex:1", str(ctx))
    assert r.code == 0, r.err
    got = sorted(k for k in image_files("ex:1") if k.startswith("/dst/"))
    assert got == ["/dst/a.txt", "/dst/sub", "/dst/sub/b.md", "/dst/sub/c.txt"]
