"""Docker's ``--format`` Go templates: Go text/template semantics over Python data.

Entry points:

- :func:`render` ``(template, data) -> str``: run one template on ``data`` (what
  ``docker inspect --format`` does per object). A template starting with ``table`` is
  handed to :func:`render_list` with ``data`` as the rows.
- :func:`render_list` ``(template, rows, headers=None) -> str``: what ``docker ps/images
  --format`` print: each row's output plus ``\\n``; with ``table`` a header row first and
  columns aligned by Go's tabwriter as docker/cli's formatter sets it up (minwidth 10,
  tabwidth 1, padding 3, padchar ' '). Docker's pre-processing applies: ``table`` prefix
  removed, surrounding spaces trimmed, the two-character escapes ``\\t`` and ``\\n`` in
  the format string become a tab and a newline.

Data model (how Python stands in for Go's reflect): ``dict`` = a map (``.Key`` looks the
key up; a missing key is ``<no value>``); any other object = a struct (``.Attr`` is
``getattr``; a bound method is called with the arguments, like a Go method; a missing
attribute is an error, as Go's ``can't evaluate field X in type T``); ``None`` = a nil
pointer/slice/map (prints ``<nil>``; ``len`` is 0; ``range`` runs the else branch;
``index`` by string key gives ``""``; ``.Field`` on it is Go's ``nil pointer evaluating``
error); ``list``/``tuple`` = a slice; ``str``/``int``/``float``/``bool`` = Go's kinds.

Functions: Go's builtins (``and or not len index slice print printf println eq ne lt le
gt ge html js urlquery call``) and Docker's (``json split join title lower upper pad
truncate``); ``funcs=`` adds or overrides. Errors raise skiff.errors.InvalidArgument
(``template parsing error: template: :1:2: executing "" at <.Foo>: ...``, exit 125).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

from skiff.errors import InvalidArgument
from skiff.format import tmplparse as P
from skiff.format.gofmt import MISSING, format_value, go_type_name
from skiff.format.tmplfuncs import BUILTINS, HEADER_FUNCS, RAW_ARGS, FuncError, is_true

__all__ = ["render", "render_list", "is_table", "header_name", "DOCKER_HEADERS", "parse_check",
           "ContextRow", "LabeledRow", "validate_on", "GoStruct", "inspect_parse",
           "render_inspect"]

TABLE_KEY = "table"
JSON_KEY = "json"


class ExecError(Exception):
    """Raised inside evaluation; ``node`` says where (Go's ``at <...>``)."""

    def __init__(self, msg: str, node: P.Node | None = None):
        super().__init__(msg)
        self.msg = msg
        self.node = node


class GoStruct(dict):
    """A dict that stands for a Go struct decoded from an API's JSON (``docker inspect``).

    ``fields`` names the struct's fields: one of them absent from the dict reads as
    ``<no value>`` like any missing map key (or its ``defaults`` value: Go's zero value
    of the typed field), but a name the struct does not have is an error: ``can't evaluate
    field Sise in type types.Volume`` with ``struct_type``, else as docker/cli's inspect
    reports it after its raw-JSON retry with ``missingkey=error``: ``map has no entry for
    key "Sise"``.
    """

    __slots__ = ("fields", "defaults", "struct_type", "go_order")

    def __init__(self, data: Mapping[str, object], fields: Iterable[str], *,
                 defaults: Mapping[str, object] | None = None, struct_type: str | None = None,
                 ordered: bool = False):
        super().__init__(data)
        self.fields = frozenset(fields)
        self.defaults = defaults or {}
        self.struct_type = struct_type
        # with ordered=True ``fields`` is in Go's declaration order and ``{{.}}`` prints the
        # struct as Go's %v does: ``{no 0}``
        self.go_order = tuple(fields) if ordered else None

    def missing(self, name: str) -> object:
        """The value of field ``name`` when the JSON left it out (omitempty): ``defaults``'
        (a nil pointer is None, ``<nil>``), else ``<no value>``."""
        return self.defaults.get(name, MISSING)


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_NOFINAL = object()  # no value piped in from the previous command


# ---------------------------------------------------------------------------------------------
# execution


class _State:
    __slots__ = ("tree", "funcs", "out", "vars", "src", "depth", "missingkey_error")

    def __init__(self, tree: P.Tree, funcs: Mapping[str, tuple], src: str, data: object,
                 missingkey_error: bool = False):
        self.missingkey_error = missingkey_error
        self.tree = tree
        self.funcs = funcs
        self.src = src
        self.out: list[str] = []
        self.vars: list[tuple[str, object]] = [("$", data)]
        self.depth = 0

    # -- variables
    def var(self, name: str) -> object:
        for n, v in reversed(self.vars):
            if n == name:
                return v
        raise ExecError(f"undefined variable: {name}")

    def set_var(self, name: str, value: object) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        raise ExecError(f"undefined variable: {name}")

    # -- walking
    def walk(self, dot: object, nodes: list[P.Node]) -> None:
        for node in nodes:
            t = type(node)
            if t is P.Text:
                self.out.append(node.text)  # type: ignore[attr-defined]
            elif t is P.Action:
                pipe = node.pipe  # type: ignore[attr-defined]
                v = self.pipeline(dot, pipe)
                if not pipe.decl:
                    self.out.append(self.printable(v, node))
            elif t is P.Branch:
                self.branch(dot, node)  # type: ignore[arg-type]
            elif t is P.LoopControl:
                raise _Break() if node.kind == "break" else _Continue()  # type: ignore[attr-defined]
            elif t is P.TemplateCall:
                self.template(dot, node)  # type: ignore[arg-type]

    def printable(self, v: object, node: P.Node) -> str:
        if callable(v) and not isinstance(v, type) and not hasattr(v, "__dataclass_fields__"):
            raise ExecError(f"can't print {node.src} of type func", node)
        return format_value(v)

    def branch(self, dot: object, node: P.Branch) -> None:
        mark = len(self.vars)
        try:
            if node.kind == "range":
                self.range(dot, node)
                return
            v = self.pipeline(dot, node.pipe)  # type: ignore[arg-type]
            if is_true(v):
                self.walk(v if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def range(self, dot: object, node: P.Branch) -> None:
        pipe = node.pipe
        assert pipe is not None
        val = self.pipeline(dot, pipe)
        decl = pipe.decl
        if val is None or val is MISSING:
            items: Iterable[tuple[object, object]] = ()
        elif isinstance(val, dict) and (getattr(val, "go_type", None)
                                        or getattr(val, "struct_type", None)):  # a struct
            raise ExecError(f"range can't iterate over {format_value(val)}", _last_node(pipe))
        elif isinstance(val, dict):
            try:
                keys = sorted(val)
            except TypeError:
                keys = sorted(val, key=str)
            items = [(k, val[k]) for k in keys]
        elif isinstance(val, (list, tuple, bytes)):
            items = list(enumerate(val))
        elif isinstance(val, int) and not isinstance(val, bool):
            if len(decl) > 1:
                raise ExecError(f"can't use {val} to iterate over more than one variable", node)
            items = [(i, i) for i in range(val)]
        elif isinstance(val, (str, float, bool)) or not hasattr(val, "__iter__"):
            # at the pipeline, as Go's evalPipeline left it: ``:1:8: ... at <.ID>``
            raise ExecError(f"range can't iterate over {format_value(val)}", _last_node(pipe))
        else:
            items = list(enumerate(val))  # type: ignore[call-overload]
        ran = False
        mark = len(self.vars)
        for k, v in items:
            ran = True
            if decl:
                if pipe.is_assign:
                    self.set_var(decl[-1], v)
                    if len(decl) > 1:
                        self.set_var(decl[0], k)
                else:
                    self.vars[mark - 1] = (decl[-1], v)
                    if len(decl) > 1:
                        self.vars[mark - 2] = (decl[0], k)
            try:
                self.walk(v, node.body)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del self.vars[mark:]
        if not ran and node.else_body is not None:
            self.walk(dot, node.else_body)

    def template(self, dot: object, node: P.TemplateCall) -> None:
        body = self.tree.defines.get(node.name)
        if body is None:
            raise ExecError(f"no template {node.name!r} associated with template \"\"", node)
        newdot = self.pipeline(dot, node.pipe) if node.pipe is not None else None
        self.depth += 1
        if self.depth > 1000:
            raise ExecError("exceeded maximum template depth (100000)", node)
        saved = self.vars
        self.vars = [("$", newdot)]
        try:
            self.walk(newdot, body)
        finally:
            self.vars = saved
            self.depth -= 1

    # -- pipelines and commands
    def pipeline(self, dot: object, pipe: P.Pipe) -> object:
        value: object = _NOFINAL
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
        for name in pipe.decl:
            if pipe.is_assign:
                self.set_var(name, value)
            else:
                self.vars.append((name, value))
        return value

    def command(self, dot: object, cmd: P.Command, final: object) -> object:
        first = cmd.args[0]
        t = type(first)
        if t is P.FieldRef:
            return self.field_chain(dot, dot, first, first.idents, cmd.args, final)  # type: ignore[attr-defined]
        if t is P.Ident:
            return self.call(dot, first.name, cmd, cmd.args, final)  # type: ignore[attr-defined]
        if t is P.VarRef:
            v = self.var(first.name)  # type: ignore[attr-defined]
            if not first.idents:  # type: ignore[attr-defined]
                self.not_a_function(cmd.args, final, first)
                return v
            return self.field_chain(dot, v, first, first.idents, cmd.args, final)  # type: ignore[attr-defined]
        if t is P.Chain:
            v = self.term(dot, first.term)  # type: ignore[attr-defined]
            return self.field_chain(dot, v, first, first.idents, cmd.args, final)  # type: ignore[attr-defined]
        self.not_a_function(cmd.args, final, first)
        if t is P.Pipe:
            return self.pipeline(dot, first)  # type: ignore[arg-type]
        if t is P.Const:
            return first.value  # type: ignore[attr-defined]
        if t is P.Dot:
            return dot
        if t is P.Nil:
            raise ExecError("nil is not a command", first)
        raise ExecError(f"can't evaluate command {first.src!r}", first)

    @staticmethod
    def not_a_function(args: list[P.Node], final: object, node: P.Node) -> None:
        if len(args) > 1 or final is not _NOFINAL:
            raise ExecError(f"can't give argument to non-function {args[0].src}", node)

    def term(self, dot: object, node: P.Node | None) -> object:
        t = type(node)
        if t is P.Pipe:
            return self.pipeline(dot, node)  # type: ignore[arg-type]
        if t is P.Ident:
            return self.call(dot, node.name, node, [node], _NOFINAL)  # type: ignore[union-attr]
        return self.arg(dot, node)  # type: ignore[arg-type]

    def field_chain(self, dot: object, receiver: object, node: P.Node, idents: tuple[str, ...],
                    args: list[P.Node], final: object) -> object:
        n = len(idents)
        for i in range(n - 1):
            receiver = self.field(dot, idents[i], node, [], _NOFINAL, receiver)
        return self.field(dot, idents[-1], node, args, final, receiver)

    def field(self, dot: object, name: str, node: P.Node, args: list[P.Node], final: object,
              receiver: object) -> object:
        has_args = len(args) > 1 or final is not _NOFINAL
        if receiver is MISSING:
            return MISSING
        if isinstance(receiver, dict) and getattr(receiver, "go_type", None):
            return self.context_field(dot, name, node, args, final, receiver)
        if isinstance(receiver, dict) and not (has_args and _row_method(receiver, name)):
            if not has_args and _row_method(receiver, name):
                want = getattr(type(receiver), name).__code__.co_argcount - 1
                raise ExecError(f"wrong number of args for {name}: want {want} got 0", node)
            if has_args:
                if getattr(receiver, "struct_type", None) and name in receiver.fields:  # type: ignore[attr-defined]
                    raise ExecError(f"{name} has arguments but cannot be invoked as function",
                                    node)
                raise ExecError(f"{name} is not a method but has arguments", node)
            if name in receiver:
                v = receiver[name]
                if v is None and self.missingkey_error and type(receiver) is dict:
                    return MISSING  # a JSON null in map[string]interface{}: <no value>
                return v
            if isinstance(receiver, GoStruct):
                if name in receiver.fields:
                    return receiver.missing(name)
                if receiver.struct_type:
                    raise ExecError(f"can't evaluate field {name} in type "
                                    f"{receiver.struct_type}", node)
                raise ExecError(f'map has no entry for key "{name}"', node)
            if self.missingkey_error:  # Go's Option("missingkey=error")
                raise ExecError(f'map has no entry for key "{name}"', node)
            return MISSING
        if receiver is None:
            raise ExecError(f"nil pointer evaluating interface {{}}.{name}", node)
        if isinstance(receiver, (str, int, float, bool, list, tuple, bytes)) or name.startswith("_"):
            raise ExecError(f"can't evaluate field {name} in type {go_type_name(receiver)}", node)
        try:
            attr = getattr(receiver, name)
        except AttributeError:
            raise ExecError(f"can't evaluate field {name} in type {go_type_name(receiver)}",
                            node) from None
        except Exception as e:  # a property that fails: Go's "error calling X: err"
            raise ExecError(f"error calling {name}: {e}", node) from e
        if callable(attr) and hasattr(attr, "__self__"):
            argv = [_nil_if_missing(self.arg(dot, a)) for a in args[1:]]
            if final is not _NOFINAL:
                argv.append(_nil_if_missing(final))
            try:
                return attr(*argv)
            except ExecError:
                raise
            except Exception as e:  # a method's error, as Go's "error calling X: err"
                raise ExecError(f"error calling {name}: {e}", node) from e
        if has_args:
            raise ExecError(f"{name} has arguments but cannot be invoked as function", node)
        return attr

    def context_field(self, dot: object, name: str, node: P.Node, args: list[P.Node],
                      final: object, row: dict) -> object:
        """``.Name`` on a list row standing for a docker/cli formatter context (a Go struct
        whose fields are methods without arguments, plus methods like ``Label(string)``):
        a name the context lacks is ``can't evaluate field Name in type *formatter.X``."""
        nargs = max(len(args) - 1, 0) + (final is not _NOFINAL)
        if _row_method(row, name):
            method = getattr(row, name)
            want = method.__code__.co_argcount - 1
            if nargs != want:
                raise ExecError(f"wrong number of args for {name}: want {want} got {nargs}", node)
            argv = []
            for a in args[1:]:
                if type(a) is P.Const and not isinstance(a.value, str):  # type: ignore[attr-defined]
                    raise ExecError(f"expected string; found {a.src}", a)  # Go's evalArg
                argv.append(_nil_if_missing(self.arg(dot, a)))
            if final is not _NOFINAL:
                argv.append(_nil_if_missing(final))
            return method(*argv)
        if name in row:
            if nargs:
                raise ExecError(f"wrong number of args for {name}: want 0 got {nargs}", node)
            return row[name]
        if name in ("Header", "FullHeader"):  # the embedded formatter.HeaderContext: nil
            if nargs:
                raise ExecError(f"{name} has arguments but cannot be invoked as function"
                                if name == "Header" else
                                f"wrong number of args for {name}: want 0 got {nargs}", node)
            return MISSING
        raise ExecError(f"can't evaluate field {name} in type {row.go_type}", node)  # type: ignore[attr-defined]

    def arg(self, dot: object, node: P.Node) -> object:
        t = type(node)
        if t is P.Dot:
            return dot
        if t is P.Nil:
            return None
        if t is P.Const:
            return node.value  # type: ignore[attr-defined]
        if t is P.FieldRef:
            return self.field_chain(dot, dot, node, node.idents, [node], _NOFINAL)  # type: ignore[attr-defined]
        if t is P.VarRef:
            v = self.var(node.name)  # type: ignore[attr-defined]
            if node.idents:  # type: ignore[attr-defined]
                v = self.field_chain(dot, v, node, node.idents, [node], _NOFINAL)  # type: ignore[attr-defined]
            return v
        if t is P.Pipe:
            return self.pipeline(dot, node)  # type: ignore[arg-type]
        if t is P.Ident:
            return self.call(dot, node.name, node, [node], _NOFINAL)  # type: ignore[attr-defined]
        if t is P.Chain:
            v = self.term(dot, node.term)  # type: ignore[attr-defined]
            return self.field_chain(dot, v, node, node.idents, [node], _NOFINAL)  # type: ignore[attr-defined]
        raise ExecError(f"can't handle {node.src} for arg", node)

    def call(self, dot: object, name: str, node: P.Node, args: list[P.Node],
             final: object) -> object:
        fn, lo, hi = self.funcs[name]
        argn = args[1:]
        nargs = len(argn) + (final is not _NOFINAL)
        if nargs < lo or (hi is not None and nargs > hi):
            want = lo if hi == lo else (f"at least {lo}" if hi is None else f"{lo}-{hi}")
            raise ExecError(f"wrong number of args for {name}: want {want} got {nargs}", node)
        builtin = fn is BUILTINS.get(name, (None,))[0]
        if builtin and name in ("and", "or"):
            # short-circuit: stop at the first false (and) / true (or) argument
            v: object = None
            for a in argn:
                v = self.arg(dot, a)
                if is_true(v) != (name == "and"):
                    return v
            if final is not _NOFINAL:
                v = final
            return v
        if builtin and name == "len" and any(type(a) is P.Nil for a in argn):
            # Go's len takes reflect.Value: the untyped literal nil is a zero Value (a nil
            # *value* from the data is Docker's empty slice, len 0, handled in _len).
            raise ExecError("error calling len: reflect: call of reflect.Value.Type on zero "
                            "Value", node)
        argv = [self.arg(dot, a) for a in argn]
        if final is not _NOFINAL:
            argv.append(final)
        if not (builtin and name in RAW_ARGS):
            # interface{} parameters: a missing value arrives as nil
            argv = [_nil_if_missing(a) for a in argv]
        try:
            return fn(*argv)
        except FuncError as e:
            raise ExecError(f"error calling {name}: {e}", node) from None
        except ExecError:
            raise
        except Exception as e:
            raise ExecError(f"error calling {name}: {e}", node) from e


def _last_node(pipe: P.Pipe) -> P.Node:
    """The node text/template was "at" after evaluating ``pipe`` (its last command's first
    word, inside parentheses too): where Go places an error about the pipeline's value."""
    first = pipe.cmds[-1].args[0]
    return _last_node(first) if type(first) is P.Pipe else first  # type: ignore[arg-type]


def _nil_if_missing(v: object) -> object:
    return None if v is MISSING else v


# ---------------------------------------------------------------------------------------------
# parsing with a cache, error wrapping


def _fail(msg: str) -> InvalidArgument:
    # one line, whatever the template held (a raw string or a pipeline may span lines)
    return InvalidArgument("template parsing error", msg.replace("\n", "\\n"))


@lru_cache(maxsize=256)
def _parse_cached(template: str, names: frozenset[str]) -> P.Tree:
    return P.parse(template, names)


def _parse(template: str, funcs: Mapping[str, tuple]) -> P.Tree:
    try:
        return _parse_cached(template, frozenset(funcs))
    except P.ParseError as e:
        raise _fail(str(e)) from None
    except RecursionError:
        raise _fail("template: :1: expression nested too deeply") from None


def _exec_error(template: str, e: ExecError) -> InvalidArgument:
    node = e.node
    if node is None:
        return _fail(f"template: :1: executing \"\": {e.msg}")
    pos = node.pos
    line = template.count("\n", 0, pos) + 1
    col = pos - (template.rfind("\n", 0, pos) + 1)
    src = " ".join(node.src.split())  # Go prints the node re-spaced, on one line
    return _fail(f"template: :{line}:{col}: executing \"\" at <{src}>: {e.msg}")


def _funcs(extra: Mapping[str, Callable[..., object]] | None) -> Mapping[str, tuple]:
    if not extra:
        return BUILTINS
    f = dict(BUILTINS)
    for k, fn in extra.items():
        f[k] = (fn, 0, None)
    return f


def _execute(tree: P.Tree, template: str, data: object, funcs: Mapping[str, tuple],
             missingkey_error: bool = False) -> str:
    st = _State(tree, funcs, template, data, missingkey_error)
    try:
        st.walk(data, tree.root)
    except ExecError as e:
        raise _exec_error(template, e) from None
    except (_Break, _Continue):  # pragma: no cover - the parser refuses these outside range
        pass
    except RecursionError:
        raise _fail("template: :1: exceeded maximum template depth") from None
    return "".join(st.out)


def parse_check(template: str, funcs: Mapping[str, Callable[..., object]] | None = None) -> None:
    """Validate ``template`` before doing any work (Docker parses ``--format`` first).

    Raises InvalidArgument ``template parsing error: template: :1: ...`` when it is bad.
    """
    body = template[len(TABLE_KEY):] if is_table(template) else template
    _parse(body, _funcs(funcs))


def render(template: str, data: object, *, headers: Mapping[str, str] | None = None,
           funcs: Mapping[str, Callable[..., object]] | None = None) -> str:
    """Run the Go template ``template`` on ``data`` and return the text.

    ``render("{{.Id}}", {"Id": "sha256:ab"})`` → ``"sha256:ab"``; a missing map key prints
    ``<no value>``; ``{{json .Config}}`` prints Go's compact JSON. A template starting with
    ``table`` renders ``data`` (a list of rows, or one row) through :func:`render_list`.
    ``funcs`` adds template functions (name → Python callable).
    Raises InvalidArgument (exit 125) for a template that does not parse or fails to run.
    """
    if is_table(template):
        rows = data if isinstance(data, (list, tuple)) else [data]
        return render_list(template, rows, headers=headers, funcs=funcs)
    f = _funcs(funcs)
    return _execute(_parse(template, f), template, data, f)


def is_table(fmt: str) -> bool:
    """True when ``fmt`` asks for a table (starts with ``table``, as docker/cli checks)."""
    return fmt.startswith(TABLE_KEY)


def _prepare(fmt: str) -> str:
    s = fmt[len(TABLE_KEY):] if is_table(fmt) else fmt
    return s.strip(" ").replace("\\t", "\t").replace("\\n", "\n")


# Docker's column headers for the fields its list commands offer; other fields get their
# name split at case changes and upper-cased (``CreatedAt`` → ``CREATED AT``). Per-command
# names (``ID`` is ``CONTAINER ID`` for ps, ``IMAGE ID`` for images) come from ``headers=``.
DOCKER_HEADERS: dict[str, str] = {
    "CreatedSince": "CREATED", "RunningFor": "CREATED", "CreatedAt": "CREATED AT",
    "CPUPerc": "CPU %", "MemPerc": "MEM %", "MemUsage": "MEM USAGE / LIMIT",
    "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS", "TotalCount": "TOTAL",
    "LocalVolumes": "LOCAL VOLUMES", "CreatedBy": "CREATED BY", "IPv6": "IPV6",
}


def header_name(field: str, headers: Mapping[str, str] | None = None) -> str:
    """The table header for ``field``: ``headers`` first, then Docker's, then split+upper."""
    if headers and field in headers:
        return headers[field]
    if field in DOCKER_HEADERS:
        return DOCKER_HEADERS[field]
    words: list[str] = []
    cur = ""
    for i, ch in enumerate(field):
        nxt = field[i + 1] if i + 1 < len(field) else ""
        if cur and ch.isupper() and (cur[-1].islower() or cur[-1].isdigit()
                                     or (nxt.islower() and cur[-1].isupper())):
            words.append(cur)
            cur = ""
        cur += ch
    if cur:
        words.append(cur)
    return " ".join(words).upper()


class _HeaderName(str):
    """A header cell: ``.Sub`` fields of it keep the name of the first field."""

    __slots__ = ()


class _HeaderContext:
    """What the template sees when the header row is rendered (docker's FullHeader)."""

    __slots__ = ("_headers", "_fields")

    def __init__(self, headers: Mapping[str, str] | None,
                 fields: Iterable[str] | None = None):
        self._headers = headers
        self._fields = None if fields is None else frozenset(fields)

    def __getattr__(self, name: str) -> object:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._fields is not None and name not in self._fields:
            return MISSING  # docker/cli's header is a map: a field it lacks is <no value>
        return _HeaderName(header_name(name, self._headers))

    def Label(self, name: object) -> _HeaderName:  # noqa: N802 (Go's method name)
        """docker/cli's HeaderContext.Label: ``{{.Label "com.x.app-name"}}``'s header is the
        last dot-separated part, ``-`` and ``_`` as spaces: ``app name``."""
        last = str(name).split(".")[-1]
        return _HeaderName(last.replace("-", " ").replace("_", " "))


class _HeaderState(_State):
    """Runs the template on the header context: a header's sub-fields are the header."""

    __slots__ = ()

    def field(self, dot, name, node, args, final, receiver):
        if isinstance(receiver, _HeaderName):
            return receiver
        return super().field(dot, name, node, args, final, receiver)


class ContextRow(dict):
    """A list command's row standing for a docker/cli formatter context, a Go struct:
    ``fields`` (name → value) are its methods without arguments, ``go_type`` the type
    docker/cli names in errors (``*formatter.imageContext``). A template naming anything
    else fails: ``can't evaluate field Foo in type *formatter.imageContext``, and
    ``index``/``len``/``range`` refuse it, as on docker's struct (not map) rows."""

    __slots__ = ("go_type",)

    def __init__(self, fields: Mapping[str, object], go_type: str):
        super().__init__(fields)
        self.go_type = go_type


class LabeledRow(ContextRow):
    """A context row (:class:`ContextRow`) whose ``{{.Label "k"}}`` is the object's label
    k, "" when it has none: docker/cli's Label method of the container, volume and network
    formatter contexts."""

    __slots__ = ("labels",)

    def __init__(self, fields: Mapping[str, object], labels: Mapping[str, str] | None,
                 go_type: str):
        super().__init__(fields, go_type)
        self.labels = labels or {}

    def Label(self, name: object) -> str:  # noqa: N802 (Go's method name)
        return self.labels.get(name, "") if isinstance(name, str) else ""


def _row_method(row: dict, name: str) -> bool:
    """True when ``row`` (a list command's row, a dict subclass) has a Go-style method
    ``name`` taking arguments, as docker/cli's ContainerContext.Label: ``{{.Label "k"}}``."""
    return type(row) is not dict and name[:1].isupper() \
        and callable(getattr(type(row), name, None))


def _render_header(tree: P.Tree, template: str, headers: Mapping[str, str] | None,
                   funcs: Mapping[str, tuple], fields: Iterable[str] | None = None) -> str:
    f = dict(funcs)
    f.update(HEADER_FUNCS)
    st = _HeaderState(tree, f, template, _HeaderContext(headers, fields))
    try:
        st.walk(st.vars[0][1], tree.root)
    except (ExecError, _Break, _Continue, RecursionError):
        pass  # docker/cli ignores header errors and keeps what was written
    return "".join(st.out)


def render_list(template: str, rows: Iterable[object], *, headers: Mapping[str, str] | None = None,
                funcs: Mapping[str, Callable[..., object]] | None = None,
                fields: Iterable[str] | None = None) -> str:
    """Docker's list output (ps, images, volume ls, ...) for ``--format``: one block per row.

    Each row's text is followed by ``\\n``. With ``table`` a header row comes first (the
    fields' headers, see :func:`header_name`; ``headers`` maps field → header, e.g.
    ``{"ID": "IMAGE ID"}``), and the whole output goes through Go's tabwriter as
    docker/cli sets it up (minwidth 10, tabwidth 1, padding 3, ' '). A bare ``table``
    renders empty rows: callers substitute their default table format first. The format
    ``json`` is ``{{json .}}`` (one JSON object per line), as docker/cli defines it.
    ``fields`` (the rows' context fields, see :class:`ContextRow`) makes the header a map
    of those only, as docker/cli's: with no rows, ``table {{.Foo}}`` prints ``<no value>``.
    Raises InvalidArgument for a bad template (``template parsing error: ...``).
    """
    if template == JSON_KEY:  # docker/cli: --format json is {{json .}} per row
        template = "{{json .}}"
    body = _prepare(template)
    f = _funcs(funcs)
    tree = _parse(body, f)
    from skiff.format.tmplfuncs import LIST_ROW

    out = []
    for row in rows:
        token = LIST_ROW.set(row)
        try:
            out.append(_execute(tree, body, row, f) + "\n")
        finally:
            LIST_ROW.reset(token)
    if not is_table(template):
        return "".join(out)
    from skiff.format.table import tabwrite

    head = _render_header(tree, body, headers, f, fields) + "\n"
    return tabwrite(head + "".join(out))


def validate_on(template: str, row: object) -> None:
    """docker/cli's ``ps --format`` check before listing: ``template`` as given (``table``
    and all, ``\\t`` unreplaced) parsed, then run on ``row`` (an empty ContainerContext),
    output thrown away. Raises InvalidArgument ``failed to parse template: template: :1:
    ...`` / ``failed to execute template: template: :1:8: executing "" at <.Foo>: ...``
    (exit 1), even when no container is listed."""
    f = _funcs(None)
    try:
        tree = _parse(template, f)
    except InvalidArgument as e:
        raise InvalidArgument("failed to parse template", e.why, exit_code=1) from None
    try:
        _execute(tree, template, row, f)
    except InvalidArgument as e:
        raise InvalidArgument("failed to execute template", e.why, exit_code=1) from None


def inspect_parse(template: str) -> None:
    """docker/cli's inspect parses ``-f`` first (NewTemplateInspectorFromString): a template
    that does not parse is ``template parsing error: template: :1: unclosed action``, exit
    64 (cli.StatusError), before any object is looked at. ``table`` is no keyword here."""
    try:
        _parse(template, BUILTINS)
    except InvalidArgument as e:
        raise InvalidArgument(e.what, e.why, exit_code=64) from None


def render_inspect(template: str, typed: object, raw: object = None) -> str:
    """docker/cli's TemplateInspector.Inspect for one object: ``template`` (as is: no
    ``table`` handling) run on ``typed`` (the API struct: GoStruct views); when that fails
    and ``raw`` (the object's JSON as plain dicts) is given, run again on ``raw`` with
    ``missingkey=error``, whose result or error counts (``map has no entry for key "Foo"``).
    Raises InvalidArgument ``template parsing error: template: :1:2: executing ...``."""
    f = BUILTINS
    tree = _parse(template, f)
    try:
        return _execute(tree, template, typed, f)
    except InvalidArgument:
        if raw is None:
            raise
    return _execute(tree, template, raw, f, missingkey_error=True)
