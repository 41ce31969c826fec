"""Docker's shell-word lexer: quote removal, escapes and ``$VAR`` expansion.

This follows BuildKit's ``frontend/dockerfile/shell`` rules (the reference for what
``docker build`` does), not POSIX sh: there is no command substitution, no globbing and no
field splitting beyond whitespace splitting of unquoted expansion results in
:meth:`Lexer.process_words`.

Supported forms: ``$VAR``, ``${VAR}``, ``${VAR:-word}``, ``${VAR-word}``, ``${VAR:+word}``,
``${VAR+word}``, ``${VAR:?msg}``, ``${VAR?msg}``, ``${VAR#pat}``, ``${VAR##pat}``,
``${VAR%pat}``, ``${VAR%%pat}``, ``${VAR/pat/rep}``, ``${VAR//pat/rep}``. Positional and
special parameters (``$1``, ``$@``, ``$?``...) are looked up like any name (normally unset,
so they expand to nothing). Single quotes keep everything literal; inside double quotes the
escape character only escapes ``"``, ``$`` and itself.

Errors raise :class:`ShellError` (a ``ValueError``) with BuildKit's wording, e.g.
``failed to process "${x": syntax error: missing '}'``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Lexer", "ShellError", "ExpandResult", "shell_pattern_to_regex", "shell_pattern_regex_source", "reverse_pattern"]

_EOF = ""


class ShellError(ValueError):
    """A word that cannot be expanded (unbalanced quotes, bad substitution, ``${V:?}``)."""


@dataclass(slots=True)
class ExpandResult:
    """The outcome of one expansion: the joined ``result``, the split ``words``, and the
    variable names that were looked up and found (``matched``) or not (``unmatched``)."""

    result: str
    words: list[str]
    matched: set[str] = field(default_factory=set)
    unmatched: set[str] = field(default_factory=set)


class _Words:
    """Accumulates words: unquoted whitespace splits, quoted text is kept whole."""

    __slots__ = ("buf", "words", "in_word")

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if ch.isspace():
            if self.in_word and self.buf:
                self.words.append("".join(self.buf))
                self.buf = []
                self.in_word = False
        else:
            self.buf.append(ch)
            self.in_word = True

    def add_raw_char(self, ch: str) -> None:
        self.buf.append(ch)
        self.in_word = True

    def add_string(self, s: str) -> None:
        for ch in s:
            self.add_char(ch)

    def add_raw_string(self, s: str) -> None:
        self.buf.append(s)
        self.in_word = True

    def get(self) -> list[str]:
        if self.buf:
            w = "".join(self.buf)
            if w:
                self.words.append(w)
            self.buf = []
            self.in_word = False
        return self.words


_SPECIAL_PARAMS = frozenset("@*#?-$!0")


class _Scanner:
    """One pass over one word (a character cursor plus the lexer's options)."""

    __slots__ = ("src", "pos", "env", "escape", "raw_quotes", "raw_escapes",
                 "skip_unset", "skip_quotes", "matched", "unmatched")

    def __init__(self, src: str, env: Mapping[str, str], lexer: Lexer):
        self.src = src
        self.pos = 0
        self.env = env
        self.escape = lexer.escape
        self.raw_quotes = lexer.raw_quotes
        self.raw_escapes = lexer.raw_escapes
        self.skip_unset = lexer.skip_unset_env
        self.skip_quotes = lexer.skip_process_quotes
        self.matched: set[str] = set()
        self.unmatched: set[str] = set()

    def peek(self) -> str:
        return self.src[self.pos] if self.pos < len(self.src) else _EOF

    def next(self) -> str:
        if self.pos < len(self.src):
            ch = self.src[self.pos]
            self.pos += 1
            return ch
        return _EOF

    def getenv(self, name: str) -> tuple[str, bool]:
        v = self.env.get(name)
        if v is not None:
            self.matched.add(name)
            return v, True
        self.unmatched.add(name)
        return "", False

    # -- the word loop ---------------------------------------------------------------
    def process_stop_on(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        try:
            while self.pos < len(self.src):
                ch = self.src[self.pos]
                if stop and ch == stop:
                    self.pos += 1
                    return "".join(result), words.get()
                if ch == "$":
                    tmp = self.process_dollar()
                    result.append(tmp)
                    words.add_string(tmp)
                elif ch == "'" and not self.skip_quotes:
                    tmp = self.process_single_quote()
                    result.append(tmp)
                    words.add_raw_string(tmp)
                elif ch == '"' and not self.skip_quotes:
                    tmp = self.process_double_quote()
                    result.append(tmp)
                    words.add_raw_string(tmp)
                else:
                    self.pos += 1
                    if ch == self.escape:
                        if self.raw_escapes:
                            words.add_raw_char(ch)
                            result.append(ch)
                        ch = self.next()
                        if ch == _EOF:
                            break
                        words.add_raw_char(ch)
                    else:
                        words.add_char(ch)
                    result.append(ch)
            if stop:
                raise ShellError(
                    f"unexpected end of statement while looking for matching {stop}")
            return "".join(result), words.get()
        finally:
            self.raw_escapes = saved

    def process_single_quote(self) -> str:
        out: list[str] = []
        ch = self.next()
        if self.raw_quotes:
            out.append(ch)
        while True:
            ch = self.next()
            if ch == _EOF:
                raise ShellError(
                    "unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def process_double_quote(self) -> str:
        out: list[str] = []
        ch = self.next()
        if self.raw_quotes:
            out.append(ch)
        while True:
            p = self.peek()
            if p == _EOF:
                raise ShellError(
                    "unexpected end of statement while looking for matching double-quote")
            if p == '"':
                ch = self.next()
                if self.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if p == "$":
                out.append(self.process_dollar())
                continue
            ch = self.next()
            if ch == self.escape:
                if self.raw_escapes:
                    out.append(ch)
                q = self.peek()
                if q == _EOF:
                    continue
                if q in ('"', "$", self.escape):
                    ch = self.next()
            out.append(ch)

    def process_name(self) -> str:
        name: list[str] = []
        while self.pos < len(self.src):
            ch = self.src[self.pos]
            if not name and ch.isdigit():
                while self.pos < len(self.src) and self.src[self.pos].isdigit():
                    name.append(self.src[self.pos])
                    self.pos += 1
                return "".join(name)
            if not name and ch in _SPECIAL_PARAMS:
                self.pos += 1
                return ch
            if not (ch.isalpha() or ch.isdigit() or ch == "_"):
                break
            name.append(ch)
            self.pos += 1
        return "".join(name)

    def process_dollar(self) -> str:
        self.next()  # the '$'
        if self.peek() != "{":
            name = self.process_name()
            if not name:
                return "$"
            value, found = self.getenv(name)
            if not found and self.skip_unset:
                return "$" + name
            return value
        self.next()  # the '{'
        p = self.peek()
        if p == _EOF:
            raise ShellError("syntax error: missing '}'")
        if p in "{}:":
            raise ShellError("syntax error: bad substitution")
        name = self.process_name()
        ch = self.next()
        chs = ch
        if ch == _EOF:
            raise ShellError("syntax error: missing '}'")
        if ch == "}":
            value, found = self.getenv(name)
            if not found and self.skip_unset:
                return "${" + name + "}"
            return value
        if ch and ch in ":+-?#%":
            null_is_unset = False
            if ch == ":":
                null_is_unset = True
                ch = self.next()
                chs += ch
            raw = ch in ("#", "%")
            if null_is_unset and raw:
                raise ShellError(f"unsupported modifier ({chs}) in substitution")
            try:
                word, _ = self.process_stop_on("}", raw)
            except ShellError:
                if self.peek() == _EOF:
                    raise ShellError("syntax error: missing '}'") from None
                raise
            value, found = self.getenv(name)
            if self.skip_unset and not found:
                return "${" + name + chs + word + "}"
            empty = not found or (null_is_unset and value == "")
            if ch == "-":
                return word if empty else value
            if ch == "+":
                return "" if empty else word
            if ch == "?":
                if not found:
                    raise ShellError(f"{name}: {word or 'is not allowed to be unset'}")
                if null_is_unset and value == "":
                    raise ShellError(f"{name}: {word or 'is not allowed to be empty'}")
                return value
            if ch not in ("#", "%"):
                raise ShellError(f"unsupported modifier ({chs}) in substitution")
            greedy = False
            if word and word[0] == ch:
                greedy = True
                word = word[1:]
            if ch == "%":
                return _trim_suffix(word, value, greedy)
            return _trim_prefix(word, value, greedy)
        if ch == "/":
            replace_all = self.peek() == "/"
            if replace_all:
                self.next()
            try:
                pattern, _ = self.process_stop_on("/", True)
            except ShellError:
                if self.peek() == _EOF:
                    raise ShellError("syntax error: missing '/' in ${}") from None
                raise
            try:
                repl, _ = self.process_stop_on("}", True)
            except ShellError:
                if self.peek() == _EOF:
                    raise ShellError("syntax error: missing '}'") from None
                raise
            value, found = self.getenv(name)
            if self.skip_unset and not found:
                return "${" + name + "/" + pattern + "/" + repl + "}"
            try:
                rx = shell_pattern_to_regex(pattern, greedy=True, anchored=False)
            except ShellError as e:
                raise ShellError(f"invalid pattern ({pattern}) in substitution: {e}") from None
            literal = _go_expand_template(repl)
            if replace_all:
                return rx.sub(lambda _m: literal, value)
            m = rx.search(value)
            if m:
                value = value[:m.start()] + literal + value[m.end():]
            return value
        if self.skip_unset:
            return "${" + name + "}"
        raise ShellError(f"unsupported modifier ({chs}) in substitution")


def _go_expand_template(repl: str) -> str:
    """Go's Regexp.ReplaceAllString expands ``$name``/``${name}`` in the replacement; our
    patterns have no groups, so those become empty and ``$$`` becomes ``$``."""
    if "$" not in repl:
        return repl
    return re.sub(r"\$(\$|\{[A-Za-z0-9_]*\}|[A-Za-z0-9_]+)",
                  lambda m: "$" if m.group(1) == "$" else "", repl)


def shell_pattern_to_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """Compile :func:`shell_pattern_regex_source` (see there)."""
    return re.compile(shell_pattern_regex_source(pattern, greedy=greedy, anchored=anchored))


def shell_pattern_regex_source(pattern: str, *, greedy: bool, anchored: bool) -> str:
    """Compile a shell glob (``*``, ``?``, ``\\`` escapes) as used by ``${V#pat}`` into a regex.

    ``*`` is ``.*`` when ``greedy`` else ``.*?``; ``anchored`` adds ``^``. A backslash may
    only escape ``*``, ``?`` or ``\\`` (a ``\\}`` drops the backslash); anything else raises
    ShellError ``invalid escape '\\x'``.
    """
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i, n = 0, len(pattern)
    while i < n:
        tok = pattern[i]
        i += 1
        if tok == "*":
            out.append(star)
            continue
        if tok == "?":
            out.append(".")
            continue
        if tok == "\\":
            if i < n and pattern[i] == "}":
                continue
            if i >= n:
                raise ShellError("invalid escape '\\'")
            tok = pattern[i]
            i += 1
            if tok.isalnum() or tok == "_":  # Go's regexp rejects \x, \q ... escapes
                raise ShellError(f"invalid escape '\\{tok}'")
            out.append("\\" + tok)
            continue
        if tok in "[]{}.+()|^$":
            out.append("\\" + tok)
            continue
        out.append(tok)
    return "".join(out)


def reverse_pattern(pattern: str) -> str:
    """Reverse a glob, keeping each ``\\x`` escape pair in order (for suffix removal)."""
    n = len(pattern)
    out = [""] * n
    last = n - 1
    i = 0
    while i <= last:
        tok = pattern[i]
        o = last - i
        if tok == "\\" and i != last:
            out[o - 1] = tok
            out[o] = pattern[i + 1]
            i += 2
        else:
            out[o] = tok
            i += 1
    return "".join(out)


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    try:
        rx = shell_pattern_to_regex(pattern, greedy=greedy, anchored=True)
    except ShellError as e:
        raise ShellError(f"invalid pattern ({pattern}) in substitution: {e}") from None
    m = rx.search(value)
    return value[m.end():] if m else value


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    return _trim_prefix(reverse_pattern(pattern), value[::-1], greedy)[::-1]


class Lexer:
    """BuildKit's word lexer.

    ``escape`` is the Dockerfile's escape character (``\\`` or a backtick). Options mirror
    BuildKit's: ``raw_quotes`` keeps quote characters in the output, ``raw_escapes`` keeps
    escape characters, ``skip_unset_env`` leaves references to unset variables as written,
    ``skip_process_quotes`` treats quotes as ordinary characters.
    """

    __slots__ = ("escape", "raw_quotes", "raw_escapes", "skip_unset_env", "skip_process_quotes")

    def __init__(self, escape: str = "\\", *, raw_quotes: bool = False,
                 raw_escapes: bool = False, skip_unset_env: bool = False,
                 skip_process_quotes: bool = False):
        self.escape = escape
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_unset_env = skip_unset_env
        self.skip_process_quotes = skip_process_quotes

    def expand(self, word: str, env: Mapping[str, str]) -> ExpandResult:
        """Expand ``word`` once; returns the joined result, the split words and the
        matched/unmatched variable names. Raises ShellError (``failed to process "w": ...``)."""
        sc = _Scanner(word, env, self)
        try:
            result, words = sc.process_stop_on(_EOF, self.raw_escapes)
        except ShellError as e:
            raise ShellError(f"failed to process {_go_quote(word)}: {e}") from None
        return ExpandResult(result, words, sc.matched, sc.unmatched)

    def process_word(self, word: str, env: Mapping[str, str]) -> str:
        """Expand one word without splitting: ``'a $X "b c"'`` → ``a 1 b c`` (X=1)."""
        return self.expand(word, env).result

    def process_words(self, word: str, env: Mapping[str, str]) -> list[str]:
        """Expand and split on unquoted whitespace: ``'a "b c" $X'`` → ``['a', 'b c', '1']``."""
        return self.expand(word, env).words

    def process_word_with_matches(self, word: str, env: Mapping[str, str]
                                  ) -> tuple[str, set[str], set[str]]:
        """(result, matched names, unmatched names): what checks use to spot undefined
        variables (BuildKit's ProcessWordWithMatches)."""
        r = self.expand(word, env)
        return r.result, r.matched, r.unmatched


def _go_quote(s: str) -> str:
    """Go's strconv.Quote (used in error messages and the AST dump)."""
    from skiff.dockerfile.parser import go_quote

    return go_quote(s)


def envs_from_list(items: list[str]) -> dict[str, str]:
    """``["K=V", "K2"]`` → dict (an entry without ``=`` is empty; the last duplicate wins),
    as BuildKit's EnvsFromSlice."""
    out: dict[str, str] = {}
    for item in items:
        k, _, v = item.partition("=")
        out[k] = v
    return out
