"""segment: the line loop on awkward text (continuations ending the file, empty and comment
lines inside them, escaped escapes, lone escapes, blanks after the escape, Unicode blanks,
CRLF, BOM, heredoc bodies ending in an escape). Expected values: BuildKit's rules as the
parser gave them before the loop was rewritten for speed (which kept them)."""

from __future__ import annotations

import pytest

from skiff.dockerfile.parser import parse_ast

CASES = \
[('FROM a\nRUN x \\\n', [('FROM a', 1, 1, [], []), ('RUN x ', 2, 2, [], [])], []),
 ('FROM a\nRUN x \\', [('FROM a', 1, 1, [], []), ('RUN x ', 2, 2, [], [])], []),
 ('FROM a\nRUN x \\\n\n  y\n',
  [('FROM a', 1, 1, [], []), ('RUN x   y', 2, 4, [], [])],
  [('Empty continuation line found in: RUN x   y', 4)]),
 ('FROM a\nRUN x \\\n # c\n  y\n', [('FROM a', 1, 1, [], []), ('RUN x   y', 2, 4, [], [])], []),
 ('FROM a\nRUN x \\\\\nRUN y\n',
  [('FROM a', 1, 1, [], []), ('RUN x \\\\', 2, 2, [], []), ('RUN y', 3, 3, [], [])],
  []),
 ('FROM a\nRUN x \\\\\\\nRUN y\n',
  [('FROM a', 1, 1, [], []), ('RUN x \\\\\\', 2, 2, [], []), ('RUN y', 3, 3, [], [])],
  []),
 ('FROM a\n\\\nRUN y\n', [('FROM a', 1, 1, [], []), ('RUN y', 2, 3, [], [])], []),
 ('FROM a\nRUN a\\ \t\n b\\\n\\\n c\n',
  [('FROM a', 1, 1, [], []), ('RUN a b c', 2, 5, [], [])],
  []),
 ('FROM a\n\xa0RUN y\n\x0b\n\x1c# c\nRUN z\n',
  [('FROM a', 1, 1, [], []), ('RUN y', 2, 2, [], []), ('RUN z', 5, 5, ['c'], [])],
  []),
 ('# escape=`\nFROM a\nRUN x `\n  y\nRUN z \\\n',
  [('FROM a', 2, 2, [], []), ('RUN x   y', 3, 4, [], []), ('RUN z \\', 5, 5, [], [])],
  []),
 ('FROM a\n# one\n#\n# two\n  # three\nRUN x\n# tail',
  [('FROM a', 1, 1, [], []), ('RUN x', 6, 6, ['two', 'three'], [])],
  []),
 ('FROM a\nRUN <<EOF\nbody \\\nEOF\nRUN after \\\n  more\n',
  [('FROM a', 1, 1, [], []),
   ('RUN <<EOF', 2, 4, [], [('EOF', 'body \\\n')]),
   ('RUN after   more', 5, 6, [], [])],
  []),
 ('FROM a\nRUN <<-EOF cat\n\tx\n\tEOF\nCOPY <<A <<B /d\na\nA\nb\nB\n',
  [('FROM a', 1, 1, [], []),
   ('RUN <<-EOF cat', 2, 4, [], [('EOF', '\tx\n')]),
   ('COPY <<A <<B /d', 5, 9, [], [('A', 'a\n'), ('B', 'b\n')])],
  []),
 ('FROM a\nRUN x\r\nRUN y \\\r\n z\r\n',
  [('FROM a', 1, 1, [], []), ('RUN x', 2, 2, [], []), ('RUN y  z', 3, 4, [], [])],
  []),
 ('\ufeffFROM a\nRUN x \t\n', [('FROM a', 1, 1, [], []), ('RUN x \t', 2, 2, [], [])], []),
 ('FROM a\nRUN x \\ \t\n  \\\n y \\\\ \n',
  [('FROM a', 1, 1, [], []), ('RUN x    y \\\\ ', 2, 4, [], [])],
  [])]


@pytest.mark.parametrize("text,children,warnings", CASES)
def test_line_loop(text, children, warnings):
    r = parse_ast(text)
    assert [(c.original, c.start_line, c.end_line, list(c.prev_comment),
             [(h.name, h.content) for h in c.heredocs]) for c in r.ast.children] == children
    assert [(w.short, w.line) for w in r.warnings] == warnings


L = 65535  # bufio.MaxScanTokenSize - 1


@pytest.mark.parametrize("text,want", [
    ("FROM a\nRUN " + "x" * (L - 4) + "\n", [(1, 1, 6), (2, 2, L)]),
    ("FROM a\nRUN " + "x" * (L - 3) + "\n",
     "Dockerfile:2: dockerfile line greater than max allowed size of 65535"),
    ("FROM a\r\nRUN " + "x" * (L - 3) + "\r\n",
     "Dockerfile:2: dockerfile line greater than max allowed size of 65535"),
    ("FROM a\nENV x\nRUN " + "x" * L + "\n", "Dockerfile:2: ENV must have two arguments"),
    ("FROM a\nRUN a \\\n " + "x" * L + "\nRUN b\n",
     "Dockerfile:3: dockerfile line greater than max allowed size of 65535"),
    ("FROM a\nRUN <<EOF\nx\nEOF\nRUN " + "x" * L + "\n",
     "Dockerfile:5: dockerfile line greater than max allowed size of 65535"),
], ids=["at-limit", "over", "over-crlf", "earlier-error-first", "continuation",
        "after-heredoc"])
def test_line_limit(text, want):
    from skiff.errors import DockerfileError

    try:
        got = [(c.start_line, c.end_line, len(c.original)) for c in parse_ast(text).ast.children]
    except DockerfileError as e:
        got = str(e)
    assert got == want


def test_parse_leaves_the_gc_as_it_found_it_and_no_young_collection_pending():
    import gc

    from skiff.dockerfile import parse
    from skiff.dockerfile.parser import parse_ast

    text = "FROM a AS b\n" + "RUN echo hi\nENV A=1 B=2\n" * 2000
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    for fn in (parse, parse_ast):
        df = fn(text)
        assert gc.isenabled()
        assert gc.get_count()[0] < 700  # the parse's 6,000+ objects are not in generation 0
        assert gc.get_freeze_count() == frozen
        del df
    gc.disable()
    try:
        parse(text)
        assert not gc.isenabled()
    finally:
        gc.enable()
    kept = [object(), [1]]
    gc.freeze()
    try:
        n = gc.get_freeze_count()
        parse(text)
        assert gc.get_freeze_count() == n and gc.isenabled()  # the process's frozen set kept
    finally:
        gc.unfreeze()
    del kept
