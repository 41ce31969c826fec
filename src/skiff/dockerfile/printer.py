"""Typed instructions → canonical Dockerfile text (the inverse of :func:`skiff.dockerfile.parse`).

``parse(format_dockerfile(parse(text)))`` gives the same instructions (fields, not line
numbers) as ``parse(text)``: flags are written ``--name=value``, exec forms as JSON arrays,
heredoc bodies after their instruction, legacy ``ENV key value`` kept legacy. Comments and
continuation layout are not kept.
"""

from __future__ import annotations

import json

from skiff.dockerfile import (
    Add,
    Arg,
    Cmd,
    Copy,
    Dockerfile,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Heredoc,
    Instruction,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
)

__all__ = ["format_instruction", "format_dockerfile"]


def _json(items: list[str]) -> str:
    return json.dumps(items, ensure_ascii=False)


def _cmdline(cmd: list[str] | str | None) -> str:
    if cmd is None:
        return "[]"
    if isinstance(cmd, list):
        return _json(cmd)
    return cmd


def _bodies(heredocs: list[Heredoc]) -> str:
    return "".join("\n" + h.content + h.name for h in heredocs)


def _marker(h: Heredoc) -> str:
    name = h.name if h.expand else "'" + h.name + "'"
    return ("<<-" if h.chomp else "<<") + name


def format_instruction(inst: Instruction) -> str:
    """One instruction as Dockerfile text (heredoc bodies included, no trailing newline)."""
    if isinstance(inst, From):
        s = "FROM "
        if inst.platform:
            s += f"--platform={inst.platform} "
        s += inst.base
        if inst.stage_name:
            s += f" AS {inst.stage_name}"
        return s
    if isinstance(inst, Run):
        flags = [f"--mount={m}" for m in inst.mounts]
        if inst.network is not None:
            flags.append(f"--network={inst.network}")
        if inst.security is not None:
            flags.append(f"--security={inst.security}")
        flags += [f"--device={d}" for d in inst.devices]
        head = " ".join(["RUN", *flags])
        return f"{head} {_cmdline(inst.cmd)}".rstrip() + _bodies(inst.heredocs)
    if isinstance(inst, (Cmd, Entrypoint)):
        return f"{inst.name} {_cmdline(inst.cmd)}".rstrip()
    if isinstance(inst, Shell):
        return "SHELL " + _json(inst.shell)
    if isinstance(inst, (Env, Label)):
        if inst.legacy:
            (k, v), = inst.pairs
            return f"{inst.name} {k} {v}"
        return inst.name + "".join(f" {k}={v}" for k, v in inst.pairs)
    if isinstance(inst, Expose):
        return "EXPOSE " + " ".join(inst.ports)
    if isinstance(inst, (Add, Copy)):
        flags = []
        if isinstance(inst, Copy) and inst.from_:
            flags.append(f"--from={inst.from_}")
        if inst.chown:
            flags.append(f"--chown={inst.chown}")
        if inst.chmod:
            flags.append(f"--chmod={inst.chmod}")
        if inst.link:
            flags.append("--link")
        if isinstance(inst, Copy) and inst.parents:
            flags.append("--parents")
        flags += [f"--exclude={x}" for x in inst.exclude]
        if isinstance(inst, Add):
            if inst.keep_git_dir:
                flags.append("--keep-git-dir")
            if inst.checksum:
                flags.append(f"--checksum={inst.checksum}")
            if inst.unpack is not None:
                flags.append(f"--unpack={'true' if inst.unpack else 'false'}")
        head = " ".join([inst.name, *flags])
        if inst.json and not inst.heredocs:
            return f"{head} {_json([*inst.sources, inst.dest])}"
        words = [*inst.sources, *(_marker(h) for h in inst.heredocs), inst.dest]
        return f"{head} {' '.join(words)}" + _bodies(inst.heredocs)
    if isinstance(inst, Volume):
        return "VOLUME " + _json(inst.paths)
    if isinstance(inst, User):
        return "USER " + inst.user
    if isinstance(inst, Workdir):
        return "WORKDIR " + inst.path
    if isinstance(inst, Stopsignal):
        return "STOPSIGNAL " + inst.signal
    if isinstance(inst, Maintainer):
        return "MAINTAINER " + inst.maintainer
    if isinstance(inst, Arg):
        return "ARG " + " ".join(k if v is None else f"{k}={v}" for k, v in inst.pairs)
    if isinstance(inst, Onbuild):
        return "ONBUILD " + inst.expression
    if isinstance(inst, Healthcheck):
        if inst.test == ["NONE"]:
            return "HEALTHCHECK NONE"
        flags = []
        for name in ("interval", "timeout", "start_period", "start_interval"):
            v = getattr(inst, name)
            if v:
                flags.append(f"--{name.replace('_', '-')}={v}ns")
        if inst.retries:
            flags.append(f"--retries={inst.retries}")
        kind, *rest = inst.test
        cmd = _json(rest) if kind == "CMD" else rest[0]
        return " ".join(["HEALTHCHECK", *flags, "CMD", cmd])
    raise TypeError(f"not an instruction: {inst!r}")


def format_dockerfile(df: Dockerfile) -> str:
    """The whole file: directives, meta ARGs, then each stage (a blank line between)."""
    out = [f"# {k}={v}" for k, v in df.directives.items()]
    if out:
        out.append("")
    out += [format_instruction(a) for a in df.meta_args]
    for st in df.stages:
        if out and out[-1] != "":
            out.append("")
        if st.from_ is not None:
            out.append(format_instruction(st.from_))
        out += [format_instruction(i) for i in st.instructions]
    return "\n".join(out) + "\n"
