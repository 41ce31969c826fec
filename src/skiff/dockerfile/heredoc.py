"""Heredocs (``<<EOF``, ``<<-EOF``, quoted delimiters, ``3<<EOF``) in RUN, COPY and ADD."""

from __future__ import annotations

import re

from skiff.dockerfile.nodes import Heredoc

__all__ = ["parse_heredoc", "heredocs_from_line", "chomp_heredoc_content"]

_HEREDOC = re.compile(r"^(\d*)<<(-?)\s*([^<]*)$", re.S)
_LEADING_TABS = re.compile(r"(?m)^\t+")


# ---------------------------------------------------------------------------------------
# Heredocs

def parse_heredoc(word: str) -> Heredoc | None:
    """Classify one word: a heredoc (``<<EOF``, ``<<-'EOF'``, ``3<<EOF``) or None.

    Raises ValueError for an unbalanced quote in the delimiter (BuildKit ParseHeredoc).
    """
    if "<<" not in word:
        return None
    m = _HEREDOC.match(word)
    if m is None:
        return None
    from skiff.dockerfile.shell import Lexer, ShellError

    fd = int(m.group(1)) if m.group(1) else 0
    chomp = m.group(2) == "-"
    rest = m.group(3)
    if not rest:
        return None
    lex = Lexer("\\", skip_unset_env=True)
    try:
        words = lex.process_words(rest, {})
        if len(words) != 1:
            return None
        lex.raw_quotes = True
        raw = lex.process_words(rest, {})
    except ShellError as e:
        raise ValueError(str(e)) from None
    if len(raw) != 1:
        raise ValueError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    name = words[0]
    expand = (name.count("'") + name.count('"')) == (raw[0].count("'") + raw[0].count('"'))
    return Heredoc(name=name, expand=expand, chomp=chomp, file_descriptor=fd)


_HEREDOC_OPEN = re.compile(r"^\d*<<-?$")


def heredocs_from_line(line: str) -> list[Heredoc]:
    """The heredocs an instruction line opens, in order (``RUN <<A <<B`` → A, B).

    ``<< EOF`` (space after the operator) names ``EOF``; quoted ``'<<EOF'`` is no heredoc.
    """
    from skiff.dockerfile.shell import Lexer, ShellError

    lex = Lexer("\\", raw_quotes=True, raw_escapes=True, skip_unset_env=True)
    try:
        words = lex.process_words(line, {})
    except ShellError:
        words = _partial_words(lex, line)
    docs: list[Heredoc] = []
    i = 0
    while i < len(words):
        w = words[i]
        if _HEREDOC_OPEN.match(w) and i + 1 < len(words):
            h = parse_heredoc(w + " " + words[i + 1])
            if h is not None:
                docs.append(h)
                i += 2
                continue
        h = parse_heredoc(w)
        if h is not None:
            docs.append(h)
        i += 1
    return docs


def _partial_words(lex: object, line: str) -> list[str]:
    """BuildKit ignores lexing errors here and uses the words found so far."""
    from skiff.dockerfile.shell import ShellError

    for end in range(len(line), 0, -1):
        try:
            return lex.process_words(line[:end], {})  # type: ignore[attr-defined]
        except ShellError:
            continue
    return []


def chomp_heredoc_content(src: str) -> str:
    """Strip leading tabs from every line (the ``<<-`` form)."""
    return _LEADING_TABS.sub("", src)


