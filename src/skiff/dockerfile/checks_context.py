"""Checks that need more than the Dockerfile: the build context and the local image store.

- CopyIgnoredFile (BuildKit): a COPY/ADD source from the build context that the
  ``.dockerignore`` excludes, so the build fails ("not found") or copies less than meant.
  As BuildKit: only when an ignore file with patterns applies and none of them is an
  exception (``!pattern``: then what reaches the builder cannot be told statically); the
  source is cleaned (Go ``filepath.Clean``) and matched like ``MatchesOrParentMatches``
  (the path or one of its parent directories). ``COPY --from``, heredocs, URLs and git
  sources are not from the context; a source holding a variable is skipped (its value
  depends on build arguments).
- InvalidBaseImagePlatform (BuildKit): the base image in the local store was pulled for
  another platform (OS or architecture) than the stage is built for (its ``--platform``,
  else the target platform). Images that are not local are skipped quietly (no pull to
  lint).
- InvalidDefaultArgInFrom (BuildKit): with only the global ARGs' default values, a FROM
  gives an empty or invalid image reference (``ARG TAG`` + ``FROM alpine:$TAG``).
- InvalidDefinitionDescription (BuildKit, experimental: opt-in): the comment right above
  ``FROM ... AS name`` or an ARG should start with that name.

Each function takes ``add(rule, line, message)``; checks.py owns the Rule records (built
from :data:`RULE_TEXT`) and the ``# check=`` directive.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from skiff.dockerfile.instructions import Add, Arg, Copy

__all__ = ["RULE_TEXT", "copy_ignored", "base_platform", "invalid_default_arg",
           "definition_descriptions", "normalize_platform", "platform_args",
           "meta_arg_defaults"]

_BK = "https://docs.docker.com/go/dockerfile/rule/"
_SK = "docs/checks/"

# rule name → (description, url, fix): BuildKit's descriptions.
RULE_TEXT: dict[str, tuple[str, str, str]] = {
    "CopyIgnoredFile": (
        "Attempting to Copy file that is excluded by .dockerignore",
        _BK + "copy-ignored-file/",
        "remove the pattern from .dockerignore or stop copying the file"),
    "InvalidBaseImagePlatform": (
        "Base image platform does not match expected target platform",
        _SK + "InvalidBaseImagePlatform.md",
        "pull the image for the build's platform (skiff pull --platform ...) or fix "
        "FROM --platform"),
    "InvalidDefaultArgInFrom": (
        "Default value for global ARG results in an empty or invalid base image name",
        _BK + "invalid-default-arg-in-from/",
        "give the ARG a default that makes a valid image name"),
    "InvalidDefinitionDescription": (
        "Comment for build stage or argument should follow the format: `# <arg/stage name> "
        "<description>`. If this is not intended to be a description comment, add an empty "
        "line or comment between the instruction and the comment",
        _BK + "invalid-definition-description/",
        "start the comment with the name it describes, or separate it with an empty '#' line"),
}

Add_ = Callable[[str, int, str], None]


def _goq(s: str) -> str:
    """Go's ``%q`` for the strings that occur here (printable text)."""
    return json.dumps(s, ensure_ascii=False)


# ---------------------------------------------------------------------------------------
# CopyIgnoredFile

def _remote(src: str) -> bool:
    low = src.lower()
    return "://" in low or low.startswith("git@")


def copy_ignored(df, context: Path, dockerfile_path: Path | None, add: Add_) -> None:
    """CopyIgnoredFile for every COPY/ADD from the context (all stages, as ``docker build
    --check`` lints every stage). Unreadable or invalid ignore files are left to the build
    to report."""
    from skiff.dockerfile.ignore import BadPattern, PatternMatcher, go_clean, read_ignore
    from skiff.dockerfile.shell import Lexer, ShellError
    from skiff.errors import InvalidArgument

    try:
        patterns = read_ignore(context, dockerfile_path)
        if not patterns:
            return
        pm = PatternMatcher(patterns)
    except (BadPattern, InvalidArgument, OSError):
        return
    if pm.exclusions:
        return
    lex = Lexer(df.escape)
    for st in df.stages:
        for inst in st.instructions:
            if not isinstance(inst, (Copy, Add)) or (isinstance(inst, Copy) and inst.from_):
                continue
            verb = "Add" if isinstance(inst, Add) else "Copy"
            for raw in inst.sources:
                if "$" in raw or (isinstance(inst, Add) and _remote(raw)):
                    continue
                try:
                    src = raw if inst.json else lex.process_word(raw, {})
                except ShellError:
                    src = raw
                src = go_clean(src)
                if pm.matches(src):
                    add("CopyIgnoredFile", inst.line,
                        f"Attempting to {verb} file {_goq(src)} that is excluded by "
                        ".dockerignore")


# ---------------------------------------------------------------------------------------
# Global ARG defaults, InvalidDefaultArgInFrom

def meta_arg_defaults(df, platform_args: dict[str, str]) -> dict[str, str] | None:
    """The global ARGs (before the first FROM) with their default values only, as BuildKit
    computes them for this check (no ``--build-arg``; each default expanded with the ones
    before it; an ARG without default is unset), over ``platform_args``
    (:func:`skiff.dockerfile.scope.meta_scope`). None when a default does not expand (the
    build reports that)."""
    from skiff.dockerfile.scope import meta_scope
    from skiff.dockerfile.shell import ShellError

    try:
        return meta_scope(df, {}, platform_args)
    except ShellError:
        return None


def invalid_default_arg(df, env: dict[str, str] | None, add: Add_) -> None:
    """InvalidDefaultArgInFrom: each FROM whose base, expanded with the global ARG defaults,
    is not a valid reference (``reference.ParseNormalizedNamed`` fails). Message as
    BuildKit's: ``Default value for ARG <base as written> results in empty or invalid base
    image name``. Only FROMs that use a variable are looked at (a literal bad name is a
    build error already)."""
    from skiff.dockerfile.shell import Lexer, ShellError
    from skiff.errors import InvalidArgument
    from skiff.reference import parse_normalized_named

    if env is None:
        return
    lex = Lexer(df.escape)
    for st in df.stages:
        if st.from_ is None or "$" not in st.base:
            continue
        try:
            name = lex.process_word(st.base, env)
        except ShellError:
            return
        try:
            parse_normalized_named(name)
        except InvalidArgument:
            add("InvalidDefaultArgInFrom", st.from_.line,
                f"Default value for ARG {st.base} results in empty or invalid base image name")


def definition_descriptions(df, add: Add_) -> None:
    """InvalidDefinitionDescription (experimental in BuildKit, here too): the comment lines
    right above ``FROM ... AS name`` or an ARG (the parser's ``prev_comment``, as
    BuildKit's ``PrevComment``: an empty ``#`` line resets it) describe it only when the
    last one starts with the name (one of the ARG's keys)."""
    if df.ast is None:
        return
    nodes = {n.start_line: n for n in df.ast.children}
    insts = list(df.meta_args) + [i for st in df.stages for i in
                                  ([st.from_] if st.from_ else []) + st.instructions]
    names: dict[int, tuple[str, list[str]]] = {}
    for st in df.stages:
        if st.from_ is not None and st.name:
            names[st.from_.line] = ("FROM", [st.name])
    for inst in insts:
        if isinstance(inst, Arg):
            names[inst.line] = ("ARG", [k for k, _ in inst.pairs])
    for line in sorted(names):
        kind, keys = names[line]
        node = nodes.get(line)
        if node is None or not node.prev_comment or not keys:
            continue
        if node.prev_comment[-1].split(" ")[0] in keys:
            continue
        example = keys[0] if len(keys) == 1 else "<arg_key>"
        add("InvalidDefinitionDescription", line,
            f"Comment for {kind} should follow the format: `# {example} <description>`")


# ---------------------------------------------------------------------------------------
# InvalidBaseImagePlatform

_ARCH = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm",
         "armel": "arm", "i386": "386", "i686": "386"}


def normalize_platform(p: str) -> tuple[str, str, str]:
    """(os, arch, variant) as containerd's ``platforms.Normalize``: lower case, Go arch
    names (x86_64 → amd64, aarch64 → arm64), arm64's v8 and amd64's v1 are no variant, arm
    defaults to v7."""
    parts = [x.strip().lower() for x in p.split("/")]
    os_ = parts[0] if parts else ""
    arch = parts[1] if len(parts) > 1 else ""
    variant = parts[2] if len(parts) > 2 else ""
    raw_arch = arch
    arch = _ARCH.get(arch, arch)
    if arch == "arm64" and variant in ("8", "v8", "v8.0"):
        variant = ""
    elif arch == "amd64" and variant == "v1":
        variant = ""
    elif arch == "arm":
        if raw_arch == "armhf":
            variant = "v7"
        elif raw_arch == "armel":
            variant = "v6"
        elif variant in ("", "7"):
            variant = "v7"
        elif variant in ("5", "6", "8"):
            variant = "v" + variant
    elif arch == "386":
        variant = ""
    return os_, arch, variant


def _fmt(p: tuple[str, str, str]) -> str:
    return "/".join(x for x in p if x)


def platform_args(target: str, build: str) -> dict[str, str]:
    """The predefined platform ARGs (normalized) for a target and build platform."""
    from skiff.dockerfile.scope import platform_args as scope_platform_args

    return scope_platform_args(_fmt(normalize_platform(build)),
                               _fmt(normalize_platform(target)))


def base_platform(df, env: dict[str, str] | None, target: str,
                  lookup: Callable[[str], str | None], add: Add_) -> None:
    """InvalidBaseImagePlatform: for each stage built on an image (not scratch, not an
    earlier stage), ``lookup(reference)`` gives the local image's ``os/arch[/variant]`` or
    None when the image is not in the store (then nothing is said). The expected platform
    is the stage's ``--platform`` (expanded with the global ARGs and the platform ARGs),
    else ``target``. OS and architecture must match (BuildKit ignores the variant)."""
    from skiff.dockerfile.shell import Lexer, ShellError

    if env is None:
        return
    lex = Lexer(df.escape)
    names: set[str] = set()
    for st in df.stages:
        f = st.from_
        if f is None:
            continue
        try:
            base = lex.process_word(st.base, env)
            expected = lex.process_word(st.platform, env) if st.platform else target
        except ShellError:
            base = expected = ""
        if base and expected and base.lower() != "scratch" and base.lower() not in names:
            actual = lookup(base)
            if actual:
                e, a = normalize_platform(expected), normalize_platform(actual)
                if e[:2] != a[:2]:
                    add("InvalidBaseImagePlatform", f.line,
                        f"Base image {base} was pulled with platform {_goq(_fmt(a))}, "
                        f"expected {_goq(_fmt(e))} for current build")
        if st.name:
            names.add(st.name)
