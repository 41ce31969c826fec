"""segment: the one-pattern fast path gives exactly what the line-at-a-time path gives
(instruction lines, comments, line ranges, heredoc bodies, warnings, errors), on the
BuildKit corpus, the real-world Dockerfiles and generated awkward text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skiff.dockerfile.segment import segment
from skiff.errors import DockerfileError
from tests.conftest import PEER


def _build(line, d, comments, start, end, word, at):
    if word is not None:  # the fast path's split is BuildKit's split of the joined line
        m = re.fullmatch(r"([^\t\v\f\r ]+)[\t\v\f\r ]+(.+)", line.strip(), re.S)
        if m is None:
            assert line[at:].rstrip() == ""
        else:
            assert (word, line[at:].lstrip(" \t\v\f\r").rstrip()) == m.groups()
    return (line, tuple(comments), start, end, ())


def _capable(obj, line):
    words = line.split(None, 1)
    return bool(words) and words[0].lower() in ("run", "copy", "add")


def _fixup(obj, end, docs):
    return obj[:3] + (end, tuple((h.name, h.content, h.chomp, h.expand) for h in docs))


def _outcome(text: str, fast: bool):
    try:
        d, warnings, out = segment(text, "Dockerfile", _build, _capable, _fixup, fast=fast)
    except DockerfileError as e:
        return ("error", str(e))
    return (d.values, d.escape, [(w.short, w.line) for w in warnings], out)


def _same(text: str) -> None:
    assert _outcome(text, True) == _outcome(text, False)


def _files():
    out = sorted((PEER / "moby-buildkit" / "frontend" / "dockerfile").rglob("Dockerfile*"))
    out += sorted(PEER.glob("docker-library*/**/Dockerfile*"))
    out += sorted(PEER.glob("jessfraz*/**/Dockerfile*"))
    return [p for p in out if p.is_file()]


FILES = _files()


def test_there_are_files_to_compare():
    assert len(FILES) > 50


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PEER)))
def test_same_on_real_files(path):
    _same(path.read_bytes().decode("utf-8", "surrogateescape"))


@pytest.mark.parametrize("text", [
    "FROM a\nRUN x \\\n",                      # continuation at the end of the file
    "FROM a\nRUN x \\",                        # ... without a newline
    "FROM a\nRUN x \\\n\n  y\n",               # empty continuation line (warning)
    "FROM a\nRUN x \\\n # c\n  y\n",           # comment inside a continuation
    "FROM a\nRUN x \\\\\nRUN y\n",             # escaped escape: no continuation
    "FROM a\nRUN x \\\\\\\nRUN y\n",           # three: still none (BuildKit looks at one)
    "FROM a\n\\\nRUN y\n",                     # a lone escape
    "FROM a\nRUN a\\ \t\n b\\\n\\\n c\n",      # blanks after the escape, lone escapes
    "FROM a\n\xa0RUN y\n\v\n\x1c# c\nRUN z\n",  # Unicode whitespace: general path
    "# escape=`\nFROM a\nRUN x `\n  y\nRUN z \\\n",
    "FROM a\n# one\n#\n# two\n  # three\nRUN x\n# tail",
    "FROM a\nRUN <<EOF\nbody \\\nEOF\nRUN after \\\n  more\n",
    "FROM a\nRUN <<-EOF cat\n\tx\n\tEOF\nCOPY <<A <<B /d\na\nA\nb\nB\n",
    "FROM a\nRUN <<EOF\nnever ends\n",
    "FROM a\nRUN x\r\nRUN y \\\r\n z\r\n",
    "\ufeffFROM a\nRUN x\n",
    "# syntax=x\n# escape=\\\n\nFROM a\n",
    "",
    "\n\n# only comments\n",
])
def test_same_on_awkward_text(text):
    _same(text)


_LINE = st.sampled_from([
    "FROM a", "RUN x", "run y \\", "COPY a b \\\\", "  ENV a=b \\ ", "\t# c", "#", "",
    "  ", "\\", "`", "RUN x `", "RUN <<EOF", "COPY <<-E /d", "EOF", "\tE", "E",
    "LABEL a=\"b \\", " c\"", "\v", "\xa0x", "# escape=`", "# syntax=y", "x \\\\\\",
    "ONBUILD RUN <<EOF", "RUN [\"a\", \"<<EOF\"]", "\x85y",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_LINE, max_size=14), st.booleans())
def test_same_on_generated_text(lines, trailing_newline):
    text = "\n".join(lines) + ("\n" if trailing_newline else "")
    _same(text)
