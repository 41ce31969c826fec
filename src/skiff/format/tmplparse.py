"""Lexer and parser for Go's text/template syntax (the part of ``--format`` before running).

Grammar followed (Go's text/template package documentation, "Actions", "Arguments",
"Pipelines", "Variables")::

    list     := (text | '{{' action '}}' | '{{/*' comment '*/}}')*
    action   := pipeline | if | range | with | define | block | template | break | continue
    if       := 'if' pipeline '}}' list ('{{else if' ... | '{{else}}' list)? '{{end'
    range    := 'range' [$k [',' $v] ':='] pipeline ... (same else/end)
    pipeline := [$v ':=' | $v '='] command ('|' command)*
    command  := operand+
    operand  := term ('.Field')*
    term     := literal | nil | '.' | .Field | $var | function | '(' pipeline ')'

``{{- `` and `` -}}`` trim the whitespace (space, tab, CR, LF) before/after the action.
Errors raise :class:`ParseError` with Go's message (``template: :1: function "x" not
defined``); gotemplate turns it into skiff.errors.InvalidArgument.
"""

from __future__ import annotations

KEYWORDS = frozenset({"if", "else", "end", "range", "with", "define", "template", "block",
                      "break", "continue", "nil", "true", "false"})
_SPACE = " \t\r\n"


class ParseError(Exception):
    """A template that cannot be parsed; ``str()`` is Go's ``template: NAME:LINE: msg``."""


# ---------------------------------------------------------------------------------------------
# nodes (plain classes with slots: built once per template, cached by gotemplate)


_LIST = object()  # default: a fresh empty list


class Node:
    """Base node: ``pos`` is the byte offset in the template, ``src`` the source text shown
    in execution errors as ``at <...>``. Subclasses list their fields and defaults."""

    __slots__ = ("pos", "src")
    _fields: tuple[tuple[str, object], ...] = ()

    def __init__(self, pos: int, *, src: str = "", **kw: object):
        self.pos = pos
        self.src = src
        for name, default in self._fields:
            v = kw.pop(name, default)
            setattr(self, name, [] if v is _LIST else v)
        if kw:
            raise TypeError(f"{type(self).__name__}: unknown fields {sorted(kw)}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.pos}, {self.src!r})"


class Text(Node):
    __slots__ = ("text",)
    _fields = (("text", ""),)


class Const(Node):
    """A literal: string, int, float or bool value."""

    __slots__ = ("value",)
    _fields = (("value", None),)


class Nil(Node):
    __slots__ = ()


class Dot(Node):
    __slots__ = ()


class FieldRef(Node):
    """``.A.B.C``: field chain on dot."""

    __slots__ = ("idents",)
    _fields = (("idents", ()),)


class VarRef(Node):
    """``$x.A.B``: a variable and an optional field chain."""

    __slots__ = ("name", "idents")
    _fields = (("name", "$"), ("idents", ()))


class Ident(Node):
    """A function name."""

    __slots__ = ("name",)
    _fields = (("name", ""),)


class Chain(Node):
    """``(pipeline).A.B``: a field chain on a parenthesized term."""

    __slots__ = ("term", "idents")
    _fields = (("term", None), ("idents", ()))


class Command(Node):
    __slots__ = ("args",)
    _fields = (("args", _LIST),)


class Pipe(Node):
    __slots__ = ("decl", "is_assign", "cmds")
    _fields = (("decl", _LIST), ("is_assign", False), ("cmds", _LIST))


class Action(Node):
    __slots__ = ("pipe",)
    _fields = (("pipe", None),)


class Branch(Node):
    """if / range / with: ``kind`` names which."""

    __slots__ = ("kind", "pipe", "body", "else_body")
    _fields = (("kind", "if"), ("pipe", None), ("body", _LIST), ("else_body", None))


class TemplateCall(Node):
    __slots__ = ("name", "pipe")
    _fields = (("name", ""), ("pipe", None))


class LoopControl(Node):
    __slots__ = ("kind",)
    _fields = (("kind", "break"),)


# ---------------------------------------------------------------------------------------------
# lexer


class Tok:
    """A lexer token. ``kind``: text, boa/eoa (begin/end of action), lparen, rparen, pipe,
    comma, declare, assign, field, var, ident, string, rawstring, char, number, dot,
    keyword, eof. ``space``: whitespace right before it; ``trim_after``: `` -}}``."""

    __slots__ = ("kind", "val", "pos", "space", "trim_after")

    def __init__(self, kind: str, val: str, pos: int, space: bool = False,
                 trim_after: bool = False):
        self.kind, self.val, self.pos = kind, val, pos
        self.space, self.trim_after = space, trim_after


def _is_alnum(c: str) -> bool:
    return c == "_" or c.isalnum()


class _Lexer:
    def __init__(self, src: str, name: str):
        self.src = src
        self.name = name
        self.toks: list[Tok] = []

    def fail(self, pos: int, msg: str) -> ParseError:
        line = self.src.count("\n", 0, pos) + 1
        return ParseError(f"template: {self.name}:{line}: {msg}")

    def run(self) -> list[Tok]:
        src, n, i = self.src, len(self.src), 0
        trim_next = False
        while i <= n:
            j = src.find("{{", i)
            text = src[i:] if j < 0 else src[i:j]
            if trim_next:
                text = text.lstrip(_SPACE)
                trim_next = False
            if j < 0:
                if text:
                    self.toks.append(Tok("text", text, i))
                break
            k = j + 2
            if src.startswith("-", k) and k + 1 < n and src[k + 1] in _SPACE:
                text = text.rstrip(_SPACE)
                k += 2
            if text:
                self.toks.append(Tok("text", text, i))
            if src.startswith("/*", k):  # comment: {{/* ... */}} or {{- /* ... */ -}}
                end = src.find("*/", k + 2)
                if end < 0:
                    raise self.fail(j, "unclosed comment")
                e = end + 2
                if e + 3 < n + 0 and src[e] in _SPACE and src.startswith("-}}", e + 1):
                    trim_next, i = True, e + 4
                elif src.startswith("}}", e):
                    i = e + 2
                else:
                    raise self.fail(j, "comment ends before closing delimiter")
                continue
            i, trim_next = self.action(k, j)
        self.toks.append(Tok("eof", "", n))
        return self.toks

    def action(self, i: int, start: int) -> tuple[int, bool]:
        """Lex one action from ``i`` (after ``{{``); returns (index after ``}}``, trim)."""
        src, n = self.src, len(self.src)
        self.toks.append(Tok("boa", "{{", start))
        depth = 0
        space = False
        while True:
            if i >= n:
                raise self.fail(start, "unclosed action")
            c = src[i]
            if c in _SPACE:
                if src.startswith("-}}", i + 1):
                    if depth:
                        raise self.fail(i, "unclosed left paren")
                    self.toks.append(Tok("eoa", "}}", i, space, trim_after=True))
                    return i + 4, True
                i += 1
                space = True
                continue
            if src.startswith("}}", i):
                if depth:
                    raise self.fail(i, "unclosed left paren")
                self.toks.append(Tok("eoa", "}}", i, space))
                return i + 2, False
            st = i
            if c == "(":
                depth += 1
                kind, i = "lparen", i + 1
            elif c == ")":
                depth -= 1
                if depth < 0:
                    raise self.fail(i, "unexpected right paren")
                kind, i = "rparen", i + 1
            elif c == "|":
                kind, i = "pipe", i + 1
            elif c == ",":
                kind, i = "comma", i + 1
            elif c == ":" :
                if not src.startswith(":=", i):
                    raise self.fail(i, "expected :=")
                kind, i = "declare", i + 2
            elif c == "=":
                kind, i = "assign", i + 1
            elif c == '"':
                i = self._quoted(i, '"', start)
                kind = "string"
            elif c == "`":
                e = src.find("`", i + 1)
                if e < 0:
                    raise self.fail(start, "unterminated raw quoted string")
                kind, i = "rawstring", e + 1
            elif c == "'":
                i = self._quoted(i, "'", start)
                kind = "char"
            elif c == "$":
                i += 1
                while i < n and _is_alnum(src[i]):
                    i += 1
                kind = "var"
            elif c == "." and i + 1 < n and src[i + 1].isdigit():
                i = self._number(i)
                kind = "number"
            elif c == ".":
                i += 1
                if i < n and _is_alnum(src[i]):
                    while i < n and _is_alnum(src[i]):
                        i += 1
                    kind = "field"
                else:
                    kind = "dot"
            elif c.isdigit() or (c in "+-" and i + 1 < n and (src[i + 1].isdigit() or (
                    src[i + 1] == "." and i + 2 < n and src[i + 2].isdigit()))):
                i = self._number(i)
                kind = "number"
            elif _is_alnum(c):
                while i < n and _is_alnum(src[i]):
                    i += 1
                kind = "keyword" if src[st:i] in KEYWORDS else "ident"
            elif c == "}":
                raise self.fail(i, 'unexpected "}" in operand')
            else:
                raise self.fail(i, f'unexpected "{c}" in command')
            self.toks.append(Tok(kind, src[st:i], st, space))
            space = False

    def _quoted(self, i: int, q: str, start: int) -> int:
        src, n = self.src, len(self.src)
        i += 1
        while i < n:
            c = src[i]
            if c == "\\":
                i += 2
                continue
            if c == "\n":
                break
            if c == q:
                return i + 1
            i += 1
        raise self.fail(start, "unterminated quoted string" if q == '"'
                        else "unterminated character constant")

    def _number(self, i: int) -> int:
        src, n = self.src, len(self.src)
        if src[i] in "+-":
            i += 1
        while i < n and (_is_alnum(src[i]) or src[i] == "." or (
                src[i] in "+-" and src[i - 1] in "eEpP" and not src[i - 2:i].lower().startswith("0x"))):
            i += 1
        return i


# ---------------------------------------------------------------------------------------------
# literals


def unquote(s: str) -> str:
    """Go's strconv.Unquote for a double-quoted string literal."""
    body = s[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i, n = 0, len(body)
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", '"': '"', "'": "'"}
    while i < n:
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1] if i + 1 < n else ""
        if e in simple:
            out.append(simple[e])
            i += 2
        elif e == "x":
            out.append(chr(int(body[i + 2:i + 4], 16)))
            i += 4
        elif e == "u":
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        elif e == "U":
            out.append(chr(int(body[i + 2:i + 10], 16)))
            i += 10
        elif e in "01234567":
            out.append(chr(int(body[i + 1:i + 4], 8)))
            i += 4
        else:
            raise ValueError(f"invalid syntax: {s}")
    return "".join(out)


def parse_number(text: str) -> int | float:
    """A Go number literal: ints (0x, 0o, 0b, legacy 0755 octal, _), floats (``1e3``)."""
    t = text.replace("_", "")
    sign = 1
    body = t
    if body[:1] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    low = body.lower()
    if low.startswith(("0x", "0o", "0b")):
        if low.startswith("0x") and ("." in low or "p" in low):
            return sign * float.fromhex(body)
        return sign * int(body, 0)
    if any(c in body for c in ".eE"):
        return sign * float(body)
    if len(body) > 1 and body[0] == "0":
        return sign * int(body, 8)
    return sign * int(body)


# ---------------------------------------------------------------------------------------------
# parser


class Tree:
    """A parsed template: the top-level nodes and the ``{{define}}``d templates by name."""

    __slots__ = ("root", "defines")

    def __init__(self, root: list[Node], defines: dict[str, list[Node]]):
        self.root, self.defines = root, defines


class Parser:
    """Recursive descent over the tokens; checks function names and variables as Go does."""

    def __init__(self, src: str, funcs: frozenset[str], name: str = ""):
        self.src = src
        self.name = name
        self.funcs = funcs
        self.lex = _Lexer(src, name)
        self.toks = self.lex.run()
        self.i = 0
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.defines: dict[str, list[Node]] = {}

    # -- helpers
    def fail(self, pos: int, msg: str) -> ParseError:
        return self.lex.fail(pos, msg)

    def peek(self, k: int = 0) -> Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, kind: str, ctx: str) -> Tok:
        t = self.next()
        if t.kind != kind:
            raise self.fail(t.pos, f"unexpected {self.desc(t)} in {ctx}")
        return t

    @staticmethod
    def desc(t: Tok) -> str:
        if t.kind == "eoa":
            return "\"}}\""
        if t.kind == "eof":
            return "EOF"
        if t.kind == "keyword":
            return f"<{t.val}>"
        return repr(t.val).replace("'", '"') if t.kind not in ("string", "rawstring") else t.val

    # -- structure
    def parse(self) -> Tree:
        root, end = self.item_list(top=True)
        if end is not None:
            raise self.fail(end.pos, f"unexpected {{{{{end.val}}}}}")
        return Tree(root, self.defines)

    def item_list(self, top: bool = False) -> tuple[list[Node], Tok | None]:
        """Items until ``{{end}}``/``{{else}}`` (returned, consumed up to the keyword)."""
        nodes: list[Node] = []
        while True:
            t = self.peek()
            if t.kind == "eof":
                if not top:
                    raise self.fail(t.pos, "unexpected EOF")
                return nodes, None
            if t.kind == "text":
                self.next()
                nodes.append(Text(t.pos, text=t.val))
                continue
            # boa
            self.next()
            t = self.peek()
            if t.kind == "keyword" and t.val in ("end", "else"):
                self.next()
                if top:
                    raise self.fail(t.pos, f"unexpected {{{{{t.val}}}}}")
                return nodes, t
            nodes.append(self.action())

    def action(self) -> Node:
        t = self.peek()
        if t.kind == "keyword":
            kw = t.val
            if kw in ("if", "range", "with"):
                self.next()
                return self.branch(kw, t.pos)
            if kw in ("break", "continue"):
                self.next()
                if not self.range_depth:
                    raise self.fail(t.pos, f"{{{{{kw}}}}} outside {{{{range}}}}")
                self.expect("eoa", kw)
                return LoopControl(t.pos, kind=kw)
            if kw == "define":
                self.next()
                return self.define(t.pos)
            if kw in ("template", "block"):
                self.next()
                return self.template(kw, t.pos)
        pipe = self.pipeline("command", allow_decl=True)
        return Action(t.pos, pipe=pipe, src=pipe.src)

    def branch(self, kind: str, pos: int) -> Branch:
        mark = len(self.vars)
        pipe = self.pipeline(kind, allow_decl=True, is_range=kind == "range")
        if kind == "range":
            self.range_depth += 1
        body, end = self.item_list()
        if kind == "range":
            self.range_depth -= 1
        else_body = None
        assert end is not None
        if end.val == "else":
            nt = self.peek()
            if nt.kind == "keyword" and nt.val in ("if", "with") and (
                    kind == nt.val or (kind == "if" and nt.val == "if")):
                # {{else if ...}} / {{else with ...}}: a nested branch ending at our {{end}}
                self.next()
                inner = self.branch(nt.val, nt.pos)
                else_body = [inner]
            else:
                self.expect("eoa", "else")
                else_body, end2 = self.item_list()
                assert end2 is not None
                if end2.val != "end":
                    raise self.fail(end2.pos, "expected end; found {{else}}")
                self.expect("eoa", "end")
        else:
            self.expect("eoa", "end")
        del self.vars[mark:]
        return Branch(pos, kind=kind, pipe=pipe, body=body, else_body=else_body, src=kind)

    def define(self, pos: int) -> Node:
        t = self.next()
        if t.kind not in ("string", "rawstring"):
            raise self.fail(t.pos, f"unexpected {self.desc(t)} in define clause")
        name = unquote(t.val) if t.kind == "string" else t.val[1:-1]
        self.expect("eoa", "define clause")
        saved = self.vars
        self.vars = ["$"]
        body, end = self.item_list()
        self.vars = saved
        if end is None or end.val != "end":
            raise self.fail(pos, "unexpected {{else}} in define clause")
        self.expect("eoa", "end")
        self.defines[name] = body
        return Text(pos, text="")

    def template(self, kw: str, pos: int) -> Node:
        t = self.next()
        if t.kind not in ("string", "rawstring"):
            raise self.fail(t.pos, f"unexpected {self.desc(t)} in {kw} clause")
        name = unquote(t.val) if t.kind == "string" else t.val[1:-1]
        pipe = None
        if self.peek().kind != "eoa":
            pipe = self.pipeline(kw, allow_decl=False)
        else:
            self.next()
        if kw == "block":
            saved = self.vars
            self.vars = ["$"]
            body, end = self.item_list()
            self.vars = saved
            if end is None or end.val != "end":
                raise self.fail(pos, "unexpected {{else}} in block clause")
            self.expect("eoa", "end")
            self.defines[name] = body
        return TemplateCall(pos, name=name, pipe=pipe, src=f"template {name!r}")

    # -- pipelines
    def pipeline(self, ctx: str, allow_decl: bool, is_range: bool = False,
                 closer: str = "eoa") -> Pipe:
        start = self.peek().pos
        decl: list[str] = []
        is_assign = False
        t = self.peek()
        if allow_decl and t.kind == "var":
            n1 = self.peek(1)
            if n1.kind in ("declare", "assign"):
                self.i += 2
                decl = [t.val]
                is_assign = n1.kind == "assign"
            elif n1.kind == "comma" and is_range:
                n2, n3 = self.peek(2), self.peek(3)
                if n2.kind == "var" and n3.kind in ("declare", "assign"):
                    self.i += 4
                    decl = [t.val, n2.val]
                    is_assign = n3.kind == "assign"
                elif n2.kind == "var" and n3.kind == "comma":
                    raise self.fail(t.pos, f"too many declarations in {ctx}")
                else:
                    raise self.fail(t.pos, "range can only initialize variables")
            elif n1.kind == "comma":
                raise self.fail(t.pos, f"too many declarations in {ctx}")
        if is_assign:
            for v in decl:
                if v not in self.vars:
                    raise self.fail(t.pos, f"undefined variable \"{v}\"")
        cmds: list[Command] = []
        while True:
            cmds.append(self.command(ctx))
            t = self.next()
            if t.kind == "pipe":
                continue
            if t.kind == closer:
                break
            raise self.fail(t.pos, f"unexpected {self.desc(t)} in {ctx}")
        if not is_assign:
            self.vars.extend(decl)
        end = t.pos
        src = self.src[start:end].strip()
        if not cmds or not cmds[0].args:
            raise self.fail(start, f"missing value for {ctx}")
        for c in cmds[1:]:
            a0 = c.args[0]
            if isinstance(a0, (Const, Nil, Dot)):
                raise self.fail(a0.pos, f"non executable command in pipeline stage {cmds.index(c) + 1}")
        return Pipe(start, decl=decl, is_assign=is_assign, cmds=cmds, src=src)

    def command(self, ctx: str) -> Command:
        args: list[Node] = []
        start = self.peek().pos
        while True:
            t = self.peek()
            if t.kind in ("eoa", "pipe", "rparen"):
                break
            if args and not t.space:
                raise self.fail(t.pos, f"unexpected {self.desc(t)} in operand")
            args.append(self.operand())
        if not args:
            t = self.peek()
            raise self.fail(t.pos, f"missing value for {ctx}" if t.kind != "pipe"
                            else 'unexpected "|" in command')
        end = self.peek().pos
        return Command(start, args=args, src=self.src[start:end].strip())

    def operand(self) -> Node:
        t = self.next()
        pos = t.pos
        node: Node
        if t.kind == "field":
            idents = [t.val[1:]]
            if self.peek().kind == "field" and not self.peek().space:
                pos = self.peek().pos  # Go places a chain at its second field
            while self.peek().kind == "field" and not self.peek().space:
                idents.append(self.next().val[1:])
            return FieldRef(pos, idents=tuple(idents), src="." + ".".join(idents))
        if t.kind == "var":
            if t.val not in self.vars:
                raise self.fail(pos, f"undefined variable \"{t.val}\"")
            idents = []
            while self.peek().kind == "field" and not self.peek().space:
                idents.append(self.next().val[1:])
            return VarRef(pos, name=t.val, idents=tuple(idents),
                          src=t.val + "".join("." + x for x in idents))
        if t.kind == "lparen":
            pipe = self.pipeline("parenthesized pipeline", allow_decl=True, closer="rparen")
            node = pipe
            node.src = "(" + pipe.src + ")"
        elif t.kind == "ident":
            if t.val not in self.funcs:
                raise self.fail(pos, f"function \"{t.val}\" not defined")
            node = Ident(pos, name=t.val, src=t.val)
        elif t.kind == "keyword" and t.val in ("true", "false"):
            node = Const(pos, value=t.val == "true", src=t.val)
        elif t.kind == "keyword" and t.val == "nil":
            node = Nil(pos, src="nil")
        elif t.kind == "dot":
            node = Dot(pos, src=".")
        elif t.kind == "string":
            try:
                node = Const(pos, value=unquote(t.val), src=t.val)
            except (ValueError, IndexError) as e:
                raise self.fail(pos, f"invalid syntax: {t.val}") from e
        elif t.kind == "rawstring":
            node = Const(pos, value=t.val[1:-1], src=t.val)
        elif t.kind == "char":
            try:
                s = unquote('"' + t.val[1:-1] + '"')
            except (ValueError, IndexError) as e:
                raise self.fail(pos, f"malformed character constant: {t.val}") from e
            if len(s) != 1:
                raise self.fail(pos, f"malformed character constant: {t.val}")
            node = Const(pos, value=ord(s), src=t.val)
        elif t.kind == "number":
            try:
                node = Const(pos, value=parse_number(t.val), src=t.val)
            except ValueError as e:
                raise self.fail(pos, f"bad number syntax: \"{t.val}\"") from e
        else:
            raise self.fail(pos, f"unexpected {self.desc(t)} in operand")
        if self.peek().kind == "field" and not self.peek().space:
            if isinstance(node, (Const, Nil)) and not isinstance(node, Dot):
                raise self.fail(self.peek().pos, f"unexpected . after term \"{node.src}\"")
            idents = []
            while self.peek().kind == "field" and not self.peek().space:
                idents.append(self.next().val[1:])
            if isinstance(node, Dot):
                return FieldRef(pos, idents=tuple(idents), src="." + ".".join(idents))
            return Chain(pos, term=node, idents=tuple(idents),
                         src=node.src + "".join("." + x for x in idents))
        return node


def parse(src: str, funcs: frozenset[str], name: str = "") -> Tree:
    """Parse ``src`` into a :class:`Tree`; ``funcs`` are the function names in scope.

    Raises ParseError with Go's message text.
    """
    return Parser(src, funcs, name).parse()
