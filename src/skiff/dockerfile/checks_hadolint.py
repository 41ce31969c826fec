"""hadolint's rules on the themes of skiff's checks that BuildKit has no check for.

- EnvSameStatementReference (DL3044): ``ENV A=/opt B=$A/bin`` — every value of one ENV is
  expanded with the variables from *before* the instruction (Docker's documented rule), so
  ``B`` does not see the ``A`` set beside it.
- ExposePortOutOfRange (DL3011): an EXPOSE port outside 0-65535 (or not a number): the
  build fails on it (``invalid containerPort``); said at check time with the line.
- CopyRelativeDestination (DL3045): COPY/ADD to a relative destination while the stage (and
  the stages it is built on) never set WORKDIR: the files land wherever the base image's
  WORKDIR is, which changes with the base image (BuildKit's WorkdirRelativePath, for COPY).
- ArchiveCopiedThenExtracted (DL3010): a tar archive COPY'd from the context and unpacked
  by a later RUN of the stage (``tar -x``): the archive stays in the COPY's layer, while
  ``ADD archive.tar.gz /dest/`` unpacks it without keeping it. Only tar archives (plain,
  gzip, bzip2, xz): those are what ADD unpacks (not zip).
- CopyFromUndefinedStage (DL3022, DL3023): ``COPY --from=NAME`` (or ``RUN
  --mount=from=NAME``) where NAME is the stage itself (the build fails: circular
  dependency), a stage defined later (the build fails: it must be defined before), or no
  stage but one letter or two away from one (``buidler``): BuildKit then pulls NAME as an
  image. Image references (with ``/``, ``:``, ``@``, ``.``) and variables are not judged.
- AptGetNoInstallRecommends (DL3015): ``apt-get install`` without
  ``--no-install-recommends`` (or ``APT::Install-Recommends=false``) pulls in the
  recommended packages too: a bigger image.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from skiff.dockerfile.instructions import Add, Copy, Env, Expose, Run, Workdir

__all__ = ["RULE_TEXT", "env_same_statement", "expose_range", "copy_relative_dest",
           "apt_recommends", "archive_extracted", "copy_from_stage"]

_HL = "https://github.com/hadolint/hadolint/wiki/"

RULE_TEXT: dict[str, tuple[str, str, str]] = {
    "EnvSameStatementReference": (
        "A variable is used in the same ENV instruction that sets it", _HL + "DL3044",
        "set the variable in an ENV of its own, before the one that uses it"),
    "ExposePortOutOfRange": (
        "EXPOSE port outside the range 0-65535", _HL + "DL3011",
        "expose a port between 0 and 65535"),
    "CopyRelativeDestination": (
        "COPY or ADD to a relative destination without a WORKDIR set in the build",
        _HL + "DL3045", "set WORKDIR /absolute/path first, or copy to an absolute path"),
    "ArchiveCopiedThenExtracted": (
        "A tar archive is copied in and then extracted by a RUN", _HL + "DL3010",
        "ADD the archive (ADD unpacks local tar archives) instead of COPY + tar -x"),
    "CopyFromUndefinedStage": (
        "COPY --from names its own stage, a later stage, or a misspelt stage",
        _HL + "DL3022", "name a stage defined before this one"),
    "AptGetNoInstallRecommends": (
        "apt-get install without --no-install-recommends", _HL + "DL3015",
        "add --no-install-recommends to apt-get install"),
}

Add_ = Callable[[str, int, str], None]


def env_same_statement(instructions: list, escape: str, add: Add_) -> None:
    """EnvSameStatementReference: for each ENV with several pairs, a value that uses a
    variable set by an earlier pair of the same ENV (found with Docker's lexer, so
    ``\\$A`` and ``'$A'`` are not uses)."""
    from skiff.dockerfile.shell import Lexer, ShellError

    lex = Lexer(escape)
    for inst in instructions:
        if not isinstance(inst, Env) or len(inst.pairs) < 2:
            continue
        before: dict[str, str] = {}
        reported: set[str] = set()
        for k, v in inst.pairs:
            if before and "$" in v:
                try:
                    _, matched, _ = lex.process_word_with_matches(v, before)
                except ShellError:
                    matched = set()
                for name in sorted(set(matched) & before.keys() - reported):
                    reported.add(name)
                    add("EnvSameStatementReference", inst.line,
                        f"'{k}' uses '${name}' set in the same ENV instruction: it gets the "
                        f"value from before this ENV")
            before[k] = ""


def _port_ok(spec: str) -> bool:
    port = spec.split("/", 1)[0]
    lo, _, hi = port.partition("-")
    return all(p.isdigit() and int(p) <= 65535 for p in ((lo, hi) if hi else (lo,)))


def expose_range(inst: Expose, add: Add_) -> None:
    """ExposePortOutOfRange: each EXPOSE word without variables or a host mapping (those are
    ExposeInvalidFormat's) whose port (or range end) is not a number 0-65535."""
    for p in inst.ports:
        if "$" in p or ":" in p:
            continue
        if not _port_ok(p):
            add("ExposePortOutOfRange", inst.line,
                f"Valid UNIX ports range from 0 to 65535, found '{p}'")


def _absolute(p: str) -> bool:
    p = p.strip("\"'")
    return p.startswith(("/", "$", "\\")) or bool(re.match(r"^[A-Za-z]:[\\/]", p))


def copy_relative_dest(df, add: Add_) -> None:
    """CopyRelativeDestination: COPY/ADD with a relative destination in a stage where no
    WORKDIR was set yet, counting the WORKDIRs of the stages it is built on (``FROM
    stage``). ``/``, ``$VAR`` and Windows drive destinations are absolute."""
    workdir_at_end: dict[str, bool] = {}
    for st in df.stages:
        has = workdir_at_end.get(st.base.lower(), False)
        for inst in st.instructions:
            if isinstance(inst, Workdir):
                has = True
            elif isinstance(inst, (Copy, Add)) and not has and inst.dest and \
                    not _absolute(inst.dest):
                add("CopyRelativeDestination", inst.line,
                    f"{inst.name} to the relative destination '{inst.dest}' without a "
                    "WORKDIR set")
        if st.name:
            workdir_at_end[st.name] = has


def apt_recommends(instructions: list, add: Add_, posix: bool = True) -> None:
    """AptGetNoInstallRecommends: a RUN with an ``apt-get install`` of packages that neither
    passes ``--no-install-recommends`` nor sets ``APT::Install-Recommends`` (``-o ...=false``
    or ``=0``)."""
    from skiff.dockerfile.checks_pinning import posix_shell, run_scripts, simple_commands
    from skiff.dockerfile.instructions import Shell

    configured = False  # an earlier RUN wrote APT::Install-Recommends into apt's config
    for inst in instructions:
        if isinstance(inst, Shell):
            posix = posix_shell(inst.shell)
        if not isinstance(inst, Run) or not posix or configured:
            continue
        scripts = run_scripts(inst)
        if any("Install-Recommends" in x for x in scripts):
            configured = True  # set here (-o flag or apt.conf.d): this RUN and later ones
            continue
        for script in scripts:
            if any(_installs_recommends(c) for c in simple_commands(script)):
                add("AptGetNoInstallRecommends", inst.line,
                    "Avoid additional packages by specifying --no-install-recommends")
                break


def _installs_recommends(cmd: list[str]) -> bool:
    from skiff.dockerfile.checks_pinning import apt_get_install

    pkgs = apt_get_install(cmd)
    if pkgs is None or "--no-install-recommends" in cmd:
        return False
    fix = any(w == "--fix-broken" or re.fullmatch(r"-[a-zA-Z]*f[a-zA-Z]*", w) for w in cmd)
    if not pkgs and not fix:  # a bare apt-get install does nothing
        return False
    return not re.search(r"APT::Install-Recommends=(?:false|0|no)\b", " ".join(cmd), re.I)


_TAR = re.compile(r"\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz)$", re.I)


def _basename(p: str) -> str:
    return re.split(r"[/\\]", p.strip("\"'"))[-1]


def _tar_extracts(cmd: list[str]) -> list[str]:
    """The archive words of a ``tar`` command that extracts (``-x``, ``xzf``, ``--extract``,
    ``--get``), else []."""
    if cmd[0].rsplit("/", 1)[-1] not in ("tar", "bsdtar", "gtar") or len(cmd) < 2:
        return []
    first = cmd[1]
    extract = any(w in ("--extract", "--get") or
                  (w.startswith("-") and not w.startswith("--") and "x" in w) for w in cmd[1:]) \
        or (re.fullmatch(r"[A-Za-z]+", first) is not None and "x" in first)
    return [w for w in cmd[1:] if not w.startswith("-")] if extract else []


def archive_extracted(instructions: list, add: Add_) -> None:
    """ArchiveCopiedThenExtracted: remember the tar archives a stage COPYs from the context
    (by file name: the destination's when it names an archive, else each source's); report
    the COPY when a later RUN of the stage extracts one of them with tar."""
    from skiff.dockerfile.checks_pinning import run_scripts, simple_commands

    copied: dict[str, Copy] = {}
    reported: set[int] = set()
    for inst in instructions:
        if isinstance(inst, Copy) and not inst.from_ and not inst.heredocs:
            if _TAR.search(inst.dest.strip("\"'")):
                copied[_basename(inst.dest)] = inst
            else:
                for src in inst.sources:
                    if _TAR.search(src.strip("\"'")) and "$" not in src:
                        copied[_basename(src)] = inst
        elif isinstance(inst, Run) and copied:
            for script in run_scripts(inst):
                for cmd in simple_commands(script):
                    for word in _tar_extracts(cmd):
                        c = copied.get(_basename(word))
                        if c is not None and c.line not in reported:
                            reported.add(c.line)
                            add("ArchiveCopiedThenExtracted", c.line,
                                f"'{_basename(word)}' is copied, then extracted on line "
                                f"{inst.line}: ADD unpacks it without keeping the archive "
                                "in a layer")


def _from_refs(inst) -> list[str]:
    if isinstance(inst, Copy) and inst.from_:
        return [inst.from_]
    if isinstance(inst, Run):
        out = []
        for m in inst.mounts:
            for part in m.split(","):
                k, _, v = part.partition("=")
                if k.strip().lower() == "from" and v:
                    out.append(v.strip())
        return out
    return []


def copy_from_stage(df, add: Add_) -> None:
    """CopyFromUndefinedStage for each ``--from`` of COPY and RUN --mount."""
    from skiff.dockerfile.instructions import _levenshtein

    where = {st.name: st for st in df.stages if st.name}
    for st in df.stages:
        earlier = [s.name for s in df.stages[:st.index] if s.name]
        for inst in st.instructions:
            for ref in _from_refs(inst):
                low = ref.lower()
                flag = "--from" if isinstance(inst, Copy) else "--mount from"
                if any(c in ref for c in "/:@.$") or low.isdigit() or low == "scratch":
                    continue
                target = where.get(low)
                if target is st:
                    add("CopyFromUndefinedStage", inst.line,
                        f"{inst.name} {flag}={ref} refers to its own stage: a circular "
                        "dependency")
                elif target is not None and target.index > st.index:
                    add("CopyFromUndefinedStage", inst.line,
                        f"{inst.name} {flag}={ref} refers to a stage defined later (line "
                        f"{target.line}): it must be defined before")
                elif target is None:
                    close = sorted((_levenshtein(low, n), n) for n in earlier)
                    if close and close[0][0] <= min(2, max(1, len(low) // 3)):
                        add("CopyFromUndefinedStage", inst.line,
                            f"{inst.name} {flag}={ref} is no stage, so it is pulled as an "
                            f"image (did you mean {close[0][1]}?)")
