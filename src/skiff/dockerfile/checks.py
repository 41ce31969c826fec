"""Best-practice checks for Dockerfiles (``skiff dockerfile check``, ``skiff build --check``).

Rules are data (:data:`RULES`: name, description, URL, fix) plus one function per theme.
They cover BuildKit's build checks (same rule names and messages where BuildKit has the
rule: JSONArgsRecommended, UndefinedVar, StageNameCasing, ...) and hadolint's rules on the
same themes (DL3006/DL3007 untagged or ``latest`` bases, DL3009/DL3019/DL3032/DL3040 package
caches, DL3020 ADD vs COPY, DL3059 consecutive RUNs, DL3002 root user, DL3027 ``apt``), plus
skiff's own cache rules (``apt-get update`` alone, ``COPY . .`` before the dependency install,
a context that ships ``.git``/``node_modules``). Each rule's page is docs/checks/<Rule>.md.

More rules live beside this module, each exporting ``RULE_TEXT`` (name → description, URL,
fix) and functions that report through ``add(rule, line, message)``:
:mod:`.checks_context` (the build context, the local store and the global ARGs:
CopyIgnoredFile, InvalidBaseImagePlatform, InvalidDefaultArgInFrom,
InvalidDefinitionDescription), :mod:`.checks_pinning` (hadolint's version pinning rules)
and :mod:`.checks_hadolint` (hadolint's other on-theme rules). docs/checks/README.md has the
coverage tables against BuildKit and hadolint.

Directives: ``# check=skip=Rule1,Rule2`` (or ``skip=all``), ``# check=error=true`` (the
CLI then exits 1 when a warning is reported) and ``# check=experimental=Rule,...`` (or
``all``), as BuildKit reads them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from skiff.dockerfile import (
    Add,
    Arg,
    Cmd,
    Copy,
    Dockerfile,
    Entrypoint,
    Env,
    Expose,
    Healthcheck,
    Instruction,
    Label,
    Maintainer,
    Run,
    Shell,
    Stage,
    User,
    Workdir,
)
from skiff.dockerfile import checks_context as _context_rules
from skiff.dockerfile import checks_hadolint as _hadolint_rules
from skiff.dockerfile import checks_pinning as _pinning_rules

__all__ = ["Warning", "CheckWarning", "Rule", "RULES", "CheckConfig", "check_config",
           "run_checks", "render_text", "PREDEFINED_ARGS"]

_BK = "https://docs.docker.com/go/dockerfile/rule/"
_HL = "https://github.com/hadolint/hadolint/wiki/"
_SK = "docs/checks/"


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule: ``name`` (as in ``# check=skip=``), one-line ``description``, docs ``url``,
    and the short ``fix`` printed with each warning."""

    name: str
    description: str
    url: str
    fix: str


@dataclass(frozen=True, slots=True)
class CheckWarning:
    """One finding: the rule name, the 1-based line it points at, the message, the docs URL
    and a short fix."""

    rule: str
    line: int
    message: str
    url: str
    fix: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict of the fields."""
        return asdict(self)


Warning = CheckWarning  # the name docs/contracts.md uses

_RULES = [
    Rule("BaseImageNoTag", "Base image without a tag: builds change when the image does",
         _HL + "DL3006", "pin a version: FROM image:1.2 (or a digest)"),
    Rule("BaseImageLatestTag", "Base image pinned to the moving 'latest' tag",
         _HL + "DL3007", "pin a version instead of latest"),
    Rule("AptGetUpdateAlone", "'apt-get update' in a RUN of its own: its cached layer keeps "
         "stale package lists for later installs", _SK + "AptGetUpdateAlone.md",
         "RUN apt-get update && apt-get install -y ... in one RUN"),
    Rule("ConsecutiveRun", "Consecutive RUN instructions that could be one layer",
         _HL + "DL3059", "join the commands with && in one RUN"),
    Rule("PackageCacheNotCleaned", "Package manager cache left in the image layer",
         _HL + "DL3009", "clean in the same RUN (rm -rf /var/lib/apt/lists/*, apk add "
         "--no-cache, yum/dnf clean all) or use RUN --mount=type=cache"),
    Rule("CopyBeforeDependencyInstall", "The whole context is copied before dependencies "
         "are installed, so every code change reinstalls them", _SK +
         "CopyBeforeDependencyInstall.md",
         "COPY only the manifest (package.json, requirements.txt, ...) first, install, "
         "then COPY . ."),
    Rule("ContextNotIgnored", "The build context ships .git or node_modules and no "
         ".dockerignore excludes them", _SK + "ContextNotIgnored.md",
         "add them to .dockerignore"),
    Rule("AddInsteadOfCopy", "ADD used for local files where COPY would do", _HL + "DL3020",
         "use COPY (ADD is for URLs, git and auto-extracted archives)"),
    Rule("JSONArgsRecommended", "JSON arguments recommended for ENTRYPOINT/CMD to prevent "
         "unintended behavior related to OS signals", _BK + "json-args-recommended/",
         'use the exec form: CMD ["executable", "arg"]'),
    Rule("DuplicateStageName", "Stage names should be unique", _BK + "duplicate-stage-name/",
         "rename one of the stages"),
    Rule("ReservedStageName", "Reserved words should not be used as stage names",
         _BK + "reserved-stage-name/", "pick another stage name"),
    Rule("UndefinedVar", "Variables should be defined before their use",
         _BK + "undefined-var/", "declare it with ARG or ENV before this line"),
    Rule("UndefinedArgInFrom", "FROM command must use declared ARGs",
         _BK + "undefined-arg-in-from/", "declare the ARG before the first FROM"),
    Rule("FromPlatformFlagConstDisallowed", "FROM --platform flag should not use a constant "
         "value", _BK + "from-platform-flag-const-disallowed/",
         "use $BUILDPLATFORM/$TARGETPLATFORM or drop the flag"),
    Rule("RedundantTargetPlatform", "Setting platform to predefined $TARGETPLATFORM in FROM "
         "is redundant as this is the default behavior", _BK + "redundant-target-platform/",
         "drop --platform=$TARGETPLATFORM"),
    Rule("MaintainerDeprecated", "The MAINTAINER instruction is deprecated, use a label "
         "instead to define an image author", _BK + "maintainer-deprecated/",
         'LABEL org.opencontainers.image.authors="..."'),
    Rule("StageNameCasing", "Stage names should be lowercase", _BK + "stage-name-casing/",
         "write the stage name in lowercase"),
    Rule("FromAsCasing", "The 'as' keyword should match the case of the 'from' keyword",
         _BK + "from-as-casing/", "write FROM ... AS ... (or from ... as ...)"),
    Rule("ConsistentInstructionCasing", "All commands within the Dockerfile should use the "
         "same casing (either upper or lower)", _BK + "consistent-instruction-casing/",
         "write instructions in uppercase"),
    Rule("NoEmptyContinuation", "Empty continuation lines will become errors in a future "
         "release", _BK + "no-empty-continuation/", "remove the empty line or the \\"),
    Rule("WorkdirRelativePath", "Relative workdir without an absolute workdir declared "
         "within the build can have unexpected results if the base image changes",
         _BK + "workdir-relative-path/", "use an absolute path"),
    Rule("LegacyKeyValueFormat", "Legacy key/value format with whitespace separator should "
         "not be used", _BK + "legacy-key-value-format/", "write key=value"),
    Rule("MultipleInstructionsDisallowed", "Multiple instructions of the same type should "
         "not be used in the same stage", _BK + "multiple-instructions-disallowed/",
         "keep only the last one"),
    Rule("ExposeProtoCasing", "Protocol in EXPOSE instruction should be lowercase",
         _BK + "expose-proto-casing/", "write 80/tcp"),
    Rule("ExposeInvalidFormat", "IP address and host-port mapping should not be used in "
         "EXPOSE instruction", _BK + "expose-invalid-format/",
         "EXPOSE the container port only; map ports at run time"),
    Rule("SecretsUsedInArgOrEnv", "Sensitive data should not be used in the ARG or ENV "
         "commands", _BK + "secrets-used-in-arg-or-env/",
         "use RUN --mount=type=secret instead"),
    Rule("UserRoot", "The final stage runs as root", _HL + "DL3002",
         "switch to a non-root USER at the end"),
    Rule("UseAptGet", "apt is meant for interactive use", _HL + "DL3027",
         "use apt-get or apt-cache"),
]
_RULES += [Rule(name, *text) for name, text in {**_context_rules.RULE_TEXT,
                                                 **_pinning_rules.RULE_TEXT,
                                                 **_hadolint_rules.RULE_TEXT}.items()]
RULES: dict[str, Rule] = {r.name: r for r in _RULES}

# ARGs Docker defines without a declaration (proxy settings and the platform ARGs).
PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
              "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")
PLATFORM_ARGS = ("TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
                 "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT", "TARGETSTAGE")
PREDEFINED_ARGS = frozenset(PROXY_ARGS + PLATFORM_ARGS)
# What an unknown base image is assumed to define (its config is not looked at here).
_COMMON_IMAGE_ENV = frozenset({"PATH", "HOME", "HOSTNAME", "TERM", "LANG", "LC_ALL", "USER",
                               "PWD", "SHELL"})


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """The ``# check=`` directive: rules to skip (``all`` skips every rule), whether a
    warning fails the build (``error=true``), and the experimental rules turned on
    (``experimental=Rule,...`` or ``all``; as BuildKit, a rule named there runs even under
    ``skip=all``)."""

    skip: frozenset[str] = frozenset()
    skip_all: bool = False
    error: bool = False
    experimental: frozenset[str] = frozenset()
    experimental_all: bool = False

    def enabled(self, rule: str) -> bool:
        """Does this rule report under this configuration?"""
        if rule in self.experimental or (self.experimental_all and rule in EXPERIMENTAL):
            return True
        if rule in EXPERIMENTAL or self.skip_all:
            return False
        return rule not in self.skip


# Off unless ``# check=experimental=...`` names them (BuildKit's experimental rules;
# CopyIgnoredFile is experimental in BuildKit but on by default here).
EXPERIMENTAL = frozenset({"InvalidDefinitionDescription"})


def check_config(df: Dockerfile) -> CheckConfig:
    """Read ``# check=skip=A,B;error=true`` from the Dockerfile's directives."""
    raw = df.directives.get("check", "")
    skip: set[str] = set()
    experimental: set[str] = set()
    skip_all = error = experimental_all = False
    for part in raw.split(";"):
        k, _, v = part.strip().partition("=")
        k = k.strip().lower()
        if k == "skip":
            names = {x.strip() for x in v.split(",") if x.strip()}
            if "all" in {n.lower() for n in names}:
                skip_all = True
            skip |= names
        elif k == "error":
            error = v.strip().lower() in ("true", "1")
        elif k == "experimental":
            names = {x.strip() for x in v.split(",") if x.strip()}
            if "all" in {n.lower() for n in names}:
                experimental_all = True
            experimental |= names
    return CheckConfig(frozenset(skip), skip_all, error, frozenset(experimental),
                       experimental_all)


class _Report:
    def __init__(self) -> None:
        self.items: list[CheckWarning] = []

    def add(self, rule: str, line: int, message: str) -> None:
        r = RULES[rule]
        self.items.append(CheckWarning(rule, line, message, r.url, r.fix))


def run_checks(dockerfile: Dockerfile, context: Path | None = None, *,
               dockerfile_path: Path | None = None,
               base_env: Callable[[str], Iterable[str] | None] | None = None,
               base_platform: Callable[[str], str | None] | None = None,
               platform: str | None = None,
               ) -> list[CheckWarning]:
    """Run every rule not skipped by ``# check=``; warnings sorted by line.

    ``context`` (optional) enables the rules that look at the build context (.git and
    node_modules without a .dockerignore entry; CopyIgnoredFile, with the ignore file that
    applies to ``dockerfile_path``). ``base_env(image_ref)`` may return the variable names a
    base image defines (e.g. from its config) so UndefinedVar does not flag them; by default
    only common ones (PATH, HOME, ...) are assumed. ``base_platform(image_ref)`` may return
    the ``os/arch[/variant]`` of that image in the local store (None when it is not local):
    it enables InvalidBaseImagePlatform against ``platform`` (the target platform, default
    the host's, e.g. ``linux/amd64``).
    """
    from skiff.oci.types import host_platform

    cfg = check_config(dockerfile)
    if cfg.skip_all and not (cfg.experimental or cfg.experimental_all):
        return []
    rep = _Report()
    host = str(host_platform())
    target = platform or host
    defaults = _context_rules.meta_arg_defaults(
        dockerfile, _context_rules.platform_args(target, host))
    _context_rules.invalid_default_arg(dockerfile, defaults, rep.add)
    if base_platform is not None:
        _context_rules.base_platform(dockerfile, defaults, target, base_platform, rep.add)
    posix_at_end: dict[str, bool] = {}
    for stage in dockerfile.stages:
        start = posix_at_end.get(stage.base.lower(), True)
        end = _pinning_rules.pinning(stage.instructions, rep.add, posix=start)
        _hadolint_rules.apt_recommends(stage.instructions, rep.add, posix=start)
        _hadolint_rules.env_same_statement(stage.instructions, dockerfile.escape, rep.add)
        _hadolint_rules.archive_extracted(stage.instructions, rep.add)
        if stage.name:
            posix_at_end[stage.name] = end
    _hadolint_rules.copy_relative_dest(dockerfile, rep.add)
    _hadolint_rules.copy_from_stage(dockerfile, rep.add)
    _casing(dockerfile, rep)
    _stages(dockerfile, rep)
    _from_lines(dockerfile, rep)
    _variables(dockerfile, rep, base_env)
    for stage in dockerfile.stages:
        _stage_rules(dockerfile, stage, rep)
    _packages(dockerfile, rep)
    if context is not None:
        _context(dockerfile, Path(context), dockerfile_path, rep)
        _context_rules.copy_ignored(dockerfile, Path(context), dockerfile_path, rep.add)
    for w in dockerfile.warnings:
        rep.add("NoEmptyContinuation", w.line, "Empty continuation line")
    if cfg.enabled("InvalidDefinitionDescription"):
        _context_rules.definition_descriptions(dockerfile, rep.add)
    out = [w for w in rep.items if cfg.enabled(w.rule)]
    out.sort(key=lambda w: (w.line, w.rule))
    return out


def render_text(warnings: list[CheckWarning], *, filename: str = "Dockerfile") -> str:
    """BuildKit-style report: per warning ``WARNING: Rule - URL``, then
    ``Dockerfile:LINE: message`` and the fix; then the summary line."""
    lines = []
    for w in warnings:
        lines.append(f"WARNING: {w.rule} - {w.url}")
        lines.append(f"{filename}:{w.line}: {w.message}")
        if w.fix:
            lines.append(f"  fix: {w.fix}")
    if warnings:
        n = len(warnings)
        lines.append(f"Check complete, {n} warning{'s' if n != 1 else ''} "
                     f"ha{'ve' if n != 1 else 's'} been found!")
    else:
        lines.append("Check complete, no warnings found.")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# Casing, stage names, FROM

def _keyword(inst: Instruction) -> str:
    return inst.original.strip().split(None, 1)[0] if inst.original.strip() else ""


def _casing(df: Dockerfile, rep: _Report) -> None:
    insts = df.instructions()
    words = [(_keyword(i), i.line) for i in insts]
    upper = sum(1 for w, _ in words if w.isupper())
    lower = sum(1 for w, _ in words if w.islower())
    majority = "uppercase" if upper >= lower else "lowercase"
    for w, line in words:
        if (majority == "uppercase" and not w.isupper()) or \
                (majority == "lowercase" and not w.islower()):
            rep.add("ConsistentInstructionCasing", line,
                    f"Command '{w}' should match the case of the command majority "
                    f"({majority})")


def _stages(df: Dockerfile, rep: _Report) -> None:
    seen: set[str] = set()
    for st in df.stages:
        f = st.from_
        if f is None:
            continue
        words = f.original.split()
        as_words = [w for w in words[1:] if w.lower() == "as"]
        if as_words and words[0].isupper() != as_words[-1].isupper():
            rep.add("FromAsCasing", f.line,
                    f"'{as_words[-1]}' and '{words[0]}' keywords' casing do not match")
        if st.name is None:
            continue
        written = words[-1]
        if written != written.lower():
            rep.add("StageNameCasing", f.line, f"Stage name '{written}' should be lowercase")
        if st.name in ("scratch", "context"):
            rep.add("ReservedStageName", f.line,
                    f"Stage name should not use the same name as reserved stage "
                    f"\"{st.name}\"")
        if st.name in seen:
            rep.add("DuplicateStageName", f.line,
                    f"Duplicate stage name \"{st.name}\", stage names should be unique")
        seen.add(st.name)


def _split_ref(ref: str) -> tuple[str, str | None, bool]:
    """(repository, tag or None, has digest) of an image reference."""
    has_digest = "@" in ref
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else None
    return name, tag, has_digest


def _from_lines(df: Dockerfile, rep: _Report) -> None:
    names: set[str] = set()
    for st in df.stages:
        f = st.from_
        if f is None:
            continue
        base = f.base
        if st.platform:
            if "$" not in st.platform:
                rep.add("FromPlatformFlagConstDisallowed", f.line,
                        f"FROM --platform flag should not use constant value "
                        f"\"{st.platform}\"")
            elif st.platform.strip() in ("$TARGETPLATFORM", "${TARGETPLATFORM}"):
                rep.add("RedundantTargetPlatform", f.line,
                        "Setting platform to predefined $TARGETPLATFORM in FROM is redundant "
                        "as this is the default behavior")
        if "$" not in base and base.lower() != "scratch" and base.lower() not in names:
            repo, tag, digest = _split_ref(base)
            if not digest and tag is None:
                rep.add("BaseImageNoTag", f.line,
                        f"Base image \"{base}\" has no tag; pin a version")
            elif not digest and tag == "latest":
                rep.add("BaseImageLatestTag", f.line,
                        f"Base image \"{base}\" uses the latest tag; pin a version")
        if st.name:
            names.add(st.name)


# ---------------------------------------------------------------------------------------
# Variables (UndefinedVar, UndefinedArgInFrom, secrets)

_SECRET = re.compile(r"(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|"
                     r"passwd|secret|token)(?:_|$)")
# Beyond BuildKit's allow-list ("public"): GPG/PGP key IDs (docker-library's GPG_KEY) and
# names that are about a secret rather than the secret (DOCKER_AUTH_VERSION, TOKEN_URL).
_SECRET_ALLOW = re.compile(r"(?i)(?:_|^)(?:public|gpg|pgp)(?:_|$)|"
                           r"_(?:version|url|path|file|dir|host|port|type|name)$")


def _variables(df: Dockerfile, rep: _Report,
               base_env: Callable[[str], Iterable[str] | None] | None) -> None:
    from skiff.dockerfile.shell import Lexer, ShellError

    lex = Lexer(df.escape)
    meta: dict[str, str] = {}
    for a in df.meta_args:
        _secret_check(a, rep)
        for k, v in a.pairs:
            meta[k] = v or ""
    from_env = {**{k: "" for k in PREDEFINED_ARGS}, **meta}
    stage_env: dict[str, set[str]] = {}
    for st in df.stages:
        f = st.from_
        if f is not None:
            for word in [f.base] + ([st.platform] if st.platform else []):
                try:
                    _, _, unmatched = lex.process_word_with_matches(word, from_env)
                except ShellError:
                    continue
                for name in sorted(unmatched):
                    rep.add("UndefinedArgInFrom", f.line,
                            f"FROM argument '{name}' is not declared")
        parent = stage_env.get(st.base.lower())
        if parent is not None:
            defined = set(parent)
        elif st.base.lower() == "scratch":
            defined = set()
        else:
            extra = base_env(st.base) if base_env is not None else None
            defined = set(_COMMON_IMAGE_ENV) | set(extra or ())
        defined |= PREDEFINED_ARGS
        for inst in st.instructions:
            env = dict.fromkeys(defined, "")
            undefined: list[str] = []

            def expander(word: str, env=env, undefined=undefined) -> str:
                try:
                    res, _, unmatched = lex.process_word_with_matches(word, env)
                except ShellError:
                    return word
                undefined.extend(sorted(unmatched))
                return res

            if not isinstance(inst, Run):  # RUN is expanded by the shell, not by Docker
                inst.expand(expander)
            with_default = _names_with_default(inst.original) if undefined else set()
            for name in dict.fromkeys(undefined):
                if name in with_default:
                    continue
                msg = f"Usage of undefined variable '${name}'"
                close = _suggest(name, defined)
                if close:
                    msg += f" (did you mean ${close}?)"
                rep.add("UndefinedVar", inst.line, msg)
            if isinstance(inst, Arg):
                _secret_check(inst, rep)
                defined |= {k for k, _ in inst.pairs}
            elif isinstance(inst, Env):
                _secret_check(inst, rep)
                defined |= {k for k, _ in inst.pairs}
        if st.name:
            stage_env[st.name] = defined - PREDEFINED_ARGS


_WITH_DEFAULT = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?[-+?]")


def _names_with_default(text: str) -> set[str]:
    """Names used as ``${NAME:-x}``/``${NAME-x}``/``${NAME:+x}``/``${NAME?x}``: a default
    or an explicit check is given, so an unset value is intended."""
    return set(_WITH_DEFAULT.findall(text))


def _secret_check(inst: Arg | Env, rep: _Report) -> None:
    kind = "ARG" if isinstance(inst, Arg) else "ENV"
    for k, _ in inst.pairs:
        if _SECRET.search(k) and not _SECRET_ALLOW.search(k):
            rep.add("SecretsUsedInArgOrEnv", inst.line,
                    f"Do not use ARG or ENV instructions for sensitive data ({kind} \"{k}\")")


def _suggest(name: str, candidates: Iterable[str]) -> str | None:
    from skiff.dockerfile.instructions import _levenshtein

    best, best_d = None, 3
    for c in sorted(candidates):
        d = _levenshtein(name.lower(), c.lower())
        if d < best_d and d <= max(1, len(name) // 3):
            best, best_d = c, d
    return best


# ---------------------------------------------------------------------------------------
# Per-stage rules

def _run_text(r: Run) -> str:
    text = " ".join(r.cmd) if isinstance(r.cmd, list) else r.cmd
    for h in r.heredocs:
        text += "\n" + h.content
    return text


def _stage_rules(df: Dockerfile, st: Stage, rep: _Report) -> None:
    has_shell = any(isinstance(i, Shell) for i in st.instructions)
    counts: dict[str, list[int]] = {}
    prev_run: Run | None = None
    group_start: int | None = None
    copied_all: Instruction | None = None
    for inst in st.instructions:
        if isinstance(inst, (Cmd, Entrypoint)) and inst.prepend_shell and not has_shell \
                and inst.cmd:
            rep.add("JSONArgsRecommended", inst.line,
                    f"JSON arguments recommended for {inst.name} to prevent unintended "
                    "behavior related to OS signals")
        if isinstance(inst, (Cmd, Entrypoint, Healthcheck)):
            counts.setdefault(inst.name, []).append(inst.line)
        if isinstance(inst, Maintainer):
            rep.add("MaintainerDeprecated", inst.line,
                    "Maintainer instruction is deprecated in favor of using label")
        if isinstance(inst, Workdir):
            p = _unquote(inst.path, df.escape)
            if not (p.startswith("/") or p.startswith("$") or re.match(r"^[A-Za-z]:", p)):
                rep.add("WorkdirRelativePath", inst.line,
                        f"Relative workdir \"{p}\" can have unexpected results if the base "
                        "image changes")
        if isinstance(inst, (Env, Label)) and inst.legacy:
            rep.add("LegacyKeyValueFormat", inst.line,
                    f"\"{inst.name} key=value\" should be used instead of legacy "
                    f"\"{inst.name} key value\" format")
        if isinstance(inst, Expose):
            _expose(inst, rep)
            _hadolint_rules.expose_range(inst, rep.add)
        if isinstance(inst, Add):
            _add(inst, rep)
        if isinstance(inst, (Copy, Add)) and copied_all is None and not \
                (isinstance(inst, Copy) and inst.from_):
            if any(s.rstrip("/") in (".", "", "*") for s in inst.sources):
                copied_all = inst
        if isinstance(inst, Run):
            text = _run_text(inst)
            _apt_update_alone(inst, text, rep)
            if re.search(r"(?:^|[;&|(\s])apt\s+(?:-\S+\s+)*(?:install|update|upgrade|"
                         r"remove|purge)\b", text):
                rep.add("UseAptGet", inst.line,
                        "Do not use apt as it is meant to be an end-user tool, use apt-get "
                        "or apt-cache instead")
            if copied_all is not None and copied_all is not _DONE and _installs_dependencies(text):
                rep.add("CopyBeforeDependencyInstall", copied_all.line,
                        f"'{copied_all.original.strip()}' comes before the dependency "
                        f"install on line {inst.line}: any source change invalidates it")
                copied_all = _DONE
            if prev_run is not None and not inst.mounts and not prev_run.mounts and \
                    inst.network == prev_run.network and inst.security == prev_run.security \
                    and _short_run(inst) and _short_run(prev_run):
                if group_start is None:
                    group_start = prev_run.line
                    rep.add("ConsecutiveRun", inst.line,
                            f"Multiple consecutive RUN instructions (from line "
                            f"{group_start}); consider joining them")
            else:
                group_start = None
            prev_run = inst
        else:
            prev_run = None
            group_start = None
    for name, lines in counts.items():
        for line in lines[:-1]:
            rep.add("MultipleInstructionsDisallowed", line,
                    f"Multiple {name} instructions should not be used in the same stage "
                    "because only the last one will be used")
    if st is df.stages[-1]:
        users = [i for i in st.instructions if isinstance(i, User)]
        if users and users[-1].user.split(":")[0] in ("root", "0"):
            rep.add("UserRoot", users[-1].line, "Last USER should not be root")


def _short_run(r: Run) -> bool:
    """At most 2 shell commands: a RUN with more is taken as a deliberate layer of its own
    (hadolint DL3059's exemption), so it neither joins nor starts a ConsecutiveRun group."""
    n = 0
    for script in _pinning_rules.run_scripts(r):
        n += len(_pinning_rules.simple_commands(script))
        if n > 2:
            return False
    return True


def _unquote(word: str, escape: str) -> str:
    """Quote removal only (variables left as written)."""
    from skiff.dockerfile.shell import Lexer, ShellError

    try:
        return Lexer(escape, skip_unset_env=True).process_word(word, {})
    except ShellError:
        return word


_DONE = Instruction()  # marker: the COPY-before-install warning was given for this stage


def _expose(inst: Expose, rep: _Report) -> None:
    for p in inst.ports:
        if "$" in p:
            continue
        if ":" in p:
            rep.add("ExposeInvalidFormat", inst.line,
                    f"EXPOSE instruction should not define an IP address or host-port "
                    f"mapping, found '{p}'")
        elif "/" in p and p.split("/", 1)[1] != p.split("/", 1)[1].lower():
            rep.add("ExposeProtoCasing", inst.line,
                    f"Defined protocol '{p}' in EXPOSE instruction should be lowercase")


_ARCHIVE = re.compile(r"\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tar\.lz|"
                      r"gz|bz2|xz|zst|lz|lzma)$", re.I)


def _add(inst: Add, rep: _Report) -> None:
    if inst.heredocs or inst.checksum or inst.keep_git_dir or inst.unpack is not None:
        return
    for s in inst.sources:
        low = s.lower()
        if "://" in low or low.startswith("git@") or "$" in s or _ARCHIVE.search(low):
            return
    rep.add("AddInsteadOfCopy", inst.line,
            "Use COPY instead of ADD for files and folders")


def _commands(text: str) -> list[str]:
    """Split a shell command line into simple commands (on ;, &&, ||, |, newlines)."""
    return [c.strip() for c in re.split(r"&&|\|\||[;|\n]", text) if c.strip()]


def _apt_update_alone(inst: Run, text: str, rep: _Report) -> None:
    cmds = [c for c in _commands(text)
            if not re.match(r"^(set|true|:|echo|exit)\b", c)]
    if not cmds:
        return
    updates = [c for c in cmds if re.search(r"\b(apt-get|apt|apk)\s+(?:-\S+\s+)*update\b", c)]
    if updates and len(updates) == len(cmds):
        rep.add("AptGetUpdateAlone", inst.line,
                f"'{updates[0]}' alone in its own RUN: its cached layer keeps stale "
                "package lists; install in the same RUN")


_DEP_INSTALL = re.compile(
    r"\b(?:npm\s+(?:install|ci|i)\b|yarn(?:\s+install)?\s*(?:$|--|\s)|pnpm\s+(?:install|i)\b|"
    r"pip3?\s+install\b|python3?\s+-m\s+pip\s+install\b|poetry\s+install\b|"
    r"pipenv\s+install\b|uv\s+(?:sync|pip\s+install)\b|bundle\s+install\b|"
    r"go\s+mod\s+download\b|composer\s+install\b|cargo\s+fetch\b|"
    r"mvn\s+(?:\S+\s+)*dependency:|gradle\s+(?:\S+\s+)*dependencies\b|dotnet\s+restore\b|"
    r"mix\s+deps\.get\b)")


def _installs_dependencies(text: str) -> bool:
    return bool(_DEP_INSTALL.search(text))


def _final_stages(df: Dockerfile) -> set[int]:
    """Indexes of the last stage and the stages it is built on (FROM chain)."""
    if not df.stages:
        return set()
    by_name = {s.name: s for s in df.stages if s.name}
    out: set[int] = set()
    st: Stage | None = df.stages[-1]
    while st is not None and st.index not in out:
        out.add(st.index)
        st = by_name.get(st.base.lower())
    return out


def _packages(df: Dockerfile, rep: _Report) -> None:
    final = _final_stages(df)
    pip_env_at_end: dict[str, bool] = {}
    for st in df.stages:
        pip_env = pip_env_at_end.get(st.base.lower(), False)  # ENV PIP_NO_CACHE_DIR seen
        for inst in st.instructions:
            if isinstance(inst, Env) and any(k == "PIP_NO_CACHE_DIR" for k, _ in inst.pairs):
                pip_env = True
            if st.index not in final or not isinstance(inst, Run):
                continue
            text = _run_text(inst)
            cached = any("type=cache" in m for m in inst.mounts)
            if cached:
                continue
            if re.search(r"\bapt-get\s+(?:-\S+\s+)*install\b", text) and \
                    not re.search(r"/var/lib/apt/lists|apt-get\s+dist-clean", text):
                rep.add("PackageCacheNotCleaned", inst.line,
                        "apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN")
            if re.search(r"\bapk\s+(?:-\S+\s+)*add\b", text) and \
                    "--no-cache" not in text and not re.search(r"/var/cache/apk", text):
                rep.add("PackageCacheNotCleaned", inst.line,
                        "apk add without --no-cache (or rm -rf /var/cache/apk/*)")
            for pm in ("yum", "dnf", "microdnf"):
                if re.search(rf"\b{pm}\s+(?:-\S+\s+)*install\b", text) and \
                        not re.search(rf"\b{pm}\s+clean\s+all\b", text) and \
                        not re.search(r"/var/cache/(yum|dnf)", text):
                    rep.add("PackageCacheNotCleaned", inst.line,
                            f"{pm} install without '{pm} clean all' in the same RUN")
            _language_caches(inst, text, pip_env, rep)
        if st.name:
            pip_env_at_end[st.name] = pip_env


def _language_caches(inst: Run, text: str, pip_env: bool, rep: _Report) -> None:
    """pip (hadolint DL3042), yarn (DL3060) and zypper (DL3036) caches left in the layer."""
    cmds = [c for sc in _pinning_rules.run_scripts(inst)
            for c in _pinning_rules.simple_commands(sc)]
    if any(_pinning_rules.is_pip_install(c) for c in cmds) and not pip_env and \
            "--no-cache-dir" not in text and "PIP_NO_CACHE_DIR" not in text and \
            not re.search(r"\bpip3?\s+cache\s+(purge|remove)|\.cache/pip|/root/\.cache\b",
                          text):
        rep.add("PackageCacheNotCleaned", inst.line,
                "pip install without --no-cache-dir (its cache stays in /root/.cache/pip)")
    if any(c[0] == "yarn" and (len(c) == 1 or c[1] in ("install", "add") or
                               c[1:3] == ["global", "add"] or c[1].startswith("--"))
           for c in cmds) and not re.search(r"\byarn\s+cache\s+clean\b", text):
        rep.add("PackageCacheNotCleaned", inst.line,
                "yarn install without 'yarn cache clean' in the same RUN")
    if any(c[0] == "zypper" and any(w in ("install", "in") for w in c[1:3]) for c in cmds) \
            and not re.search(r"\bzypper\s+(?:-\S+\s+)*(clean|cc)\b", text):
        rep.add("PackageCacheNotCleaned", inst.line,
                "zypper install without 'zypper clean' in the same RUN")


# ---------------------------------------------------------------------------------------
# The build context

def _context(df: Dockerfile, context: Path, dockerfile_path: Path | None,
             rep: _Report) -> None:
    from skiff.dockerfile.ignore import BadPattern, PatternMatcher, read_ignore

    broad: Instruction | None = None
    for st in df.stages:
        for inst in st.instructions:
            if isinstance(inst, (Copy, Add)) and not (isinstance(inst, Copy) and inst.from_):
                if any(s.rstrip("/") in (".", "", "*") or s in ("./*",) for s in inst.sources):
                    broad = inst
                    break
        if broad is not None:
            break
    if broad is None:
        return
    try:
        pm = PatternMatcher(read_ignore(context, dockerfile_path))
    except (BadPattern, OSError):
        return
    for name in (".git", "node_modules"):
        if (context / name).exists() and not pm.matches(name):
            rep.add("ContextNotIgnored", broad.line,
                    f"The build context holds {name} and no .dockerignore entry excludes it; "
                    f"'{broad.original.strip()}' sends it to the image")
