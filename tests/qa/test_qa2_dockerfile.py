"""QA (session 2): ``skiff dockerfile check --context`` with a context that is not there.

The context-dependent checks (CopyIgnoredFile, the .git/node_modules rule) silently did
nothing and the command said "no warnings" with exit 0; ``docker build`` refuses such a
context with exit 1: ``unable to prepare context: path "X" not found`` (or ``context must
be a directory: X`` for a file).
"""

from __future__ import annotations


def _dockerfile(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    return str(tmp_path / "Dockerfile")


def test_check_missing_context_fails(cli, tmp_path):
    r = cli("dockerfile", "check", "-f", _dockerfile(tmp_path), "--context",
            str(tmp_path / "nope"))
    assert (r.code, r.out) == (1, "")
    assert r.err == f'skiff: unable to prepare context: path "{tmp_path}/nope" not found\n'


def test_check_file_as_context_fails(cli, tmp_path):
    df = _dockerfile(tmp_path)
    r = cli("dockerfile", "check", "-f", df, "--context", df)
    assert (r.code, r.err) == (1, f"skiff: unable to prepare context: context must be a "
                                  f"directory: {df}\n")


def test_check_with_real_context_still_warns(cli, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a").write_text("x")
    (ctx / ".dockerignore").write_text("a\n")
    r = cli("dockerfile", "check", "-f", _dockerfile(tmp_path), "--context", str(ctx))
    assert r.code == 0
    assert 'Attempting to Copy file "a" that is excluded by .dockerignore' in r.out
