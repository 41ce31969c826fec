"""Reading the front end's instruction dataclasses: field access, text forms, arguments.

``skiff.dockerfile`` gives one frozen dataclass per instruction (docs/contracts.md). This
module is the only place that knows their field names, so the executor reads instructions
through small functions here: the keyword, the one-line text shown in progress output and
history, the canonical expanded form that goes into the cache key, and per-kind fields.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

SKIP_FIELDS = {"line", "end_line", "original"}


def kind(ins: Any) -> str:
    """Upper-case keyword of an instruction object (``Copy`` → ``COPY``)."""
    return type(ins).__name__.upper()


def field(ins: Any, *names: str, default: Any = None) -> Any:
    """The first of ``names`` the instruction has (field names vary by instruction)."""
    for n in names:
        if hasattr(ins, n):
            return getattr(ins, n)
    return default


def one_line(ins: Any) -> str:
    """The instruction's source text on one line (continuations joined, spaces squeezed),
    keyword upper-cased: what BuildKit shows as a step's name. A RUN heredoc gets BuildKit's
    summary of its body: ``RUN <<EOF (echo one...)``."""
    text = _one_line(ins)
    docs = heredocs(ins) if kind(ins) == "RUN" else []
    if docs:
        body = heredoc_content(docs[0]).strip().replace("\r\n", "\n").split("\n")
        text += f" ({body[0]}{'...' if len(body) > 1 else ''})"
    return text


def _one_line(ins: Any) -> str:
    text = field(ins, "original", default="") or ""
    text = text.replace("\\\n", " ")
    first_line = text.split("\n", 1)[0] if "<<" in text else text
    words = first_line.split()
    if not words:
        return kind(ins)
    words[0] = words[0].upper()
    return " ".join(words)


def _plain(v: Any) -> Any:
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: _plain(getattr(v, f.name)) for f in dataclasses.fields(v)
                if f.name not in SKIP_FIELDS}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def canonical(ins: Any) -> str:
    """The expanded instruction as canonical JSON (every syntax field, no line numbers):
    the ``instruction`` input of a cache key."""
    return kind(ins) + " " + json.dumps(_plain(ins), sort_keys=True, separators=(",", ":"))


def pairs(ins: Any) -> list[tuple[str, str]]:
    """Key/value pairs of ENV and LABEL."""
    raw = field(ins, "pairs", "env", "labels", default=[]) or []
    if isinstance(raw, dict):
        return [(str(k), str(v)) for k, v in raw.items()]
    out = []
    for p in raw:
        if isinstance(p, (list, tuple)):
            out.append((str(p[0]), str(p[1])))
        else:
            out.append((str(field(p, "key", "name")), str(field(p, "value", default=""))))
    return out


def arg_pairs(ins: Any) -> list[tuple[str, str | None]]:
    """ARG declarations: ``[(name, default or None), ...]``."""
    raw = field(ins, "args", "pairs", default=None)
    if raw is None:
        return [(field(ins, "name", "key"), field(ins, "value", "default"))]
    out: list[tuple[str, str | None]] = []
    for p in raw:
        if isinstance(p, (list, tuple)):
            out.append((p[0], p[1] if len(p) > 1 else None))
        else:
            out.append((field(p, "key", "name"), field(p, "value", "default")))
    return out


def command(ins: Any) -> tuple[list[str] | str, bool]:
    """RUN/CMD/ENTRYPOINT: (argv or shell text, shell form?)."""
    cmd = field(ins, "cmd", "command", "args", default=[])
    if cmd is None:
        cmd = []
    shell_form = field(ins, "prepend_shell", "shell_form", default=isinstance(cmd, str))
    if shell_form:
        if isinstance(cmd, (list, tuple)):
            cmd = " ".join(cmd)
        return cmd, True
    return list(cmd), False


def words(ins: Any, *names: str) -> list[str]:
    """A list field (EXPOSE ports, VOLUME paths, SHELL argv)."""
    v = field(ins, *names, default=[])
    if isinstance(v, str):
        return [v]
    return list(v or [])


def sources_dest(ins: Any) -> tuple[list[str], str]:
    """COPY/ADD: (sources, dest)."""
    srcs = field(ins, "sources", "srcs", default=[])
    return list(srcs), field(ins, "dest", "destination", default="")


def heredocs(ins: Any) -> list[Any]:
    """RUN/COPY heredoc bodies (objects with name, content, expand, chomp)."""
    return list(field(ins, "heredocs", "files", default=[]) or [])


def heredoc_content(h: Any) -> str:
    content = field(h, "content", "data", default="") or ""
    if field(h, "chomp", default=False):
        content = "\n".join(ln.lstrip("\t") for ln in content.split("\n"))
    return content


_MOUNT_BOOL = {"readonly", "ro", "readwrite", "rw", "required"}


def parse_mount(raw: Any) -> dict[str, Any]:
    """A ``RUN --mount`` value (``type=cache,target=/root/.npm,sharing=locked``) as a dict;
    bare flags (``ro``, ``required``) become True, ``src``/``dst``/``destination`` aliases
    are folded into ``source``/``target``. Dicts pass through."""
    if isinstance(raw, dict):
        return dict(raw)
    out: dict[str, Any] = {}
    for part in str(raw).split(","):
        if not part:
            continue
        k, eq, v = part.partition("=")
        k = k.strip().lower()
        if not eq:
            out[k] = True if k in _MOUNT_BOOL else v
            continue
        if k in _MOUNT_BOOL:
            out[k] = v.lower() in ("1", "true", "yes")
        else:
            out[{"src": "source", "dst": "target", "destination": "target"}.get(k, k)] = v
    out.setdefault("type", "bind")
    return out
