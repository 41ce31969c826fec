"""Package version pinning checks (hadolint DL3008, DL3013, DL3016, DL3018, DL3028).

A ``RUN`` that installs packages by name alone gets whatever version the mirror serves that
day, so two builds of the same Dockerfile differ (and the layer cache hides it until the cache
is dropped). Each rule looks at the simple commands of a RUN (shell form, ``sh -c`` exec form
and heredoc bodies; not under a powershell/cmd SHELL), finds one package manager's install
command and lists the packages that name no version:

- AptVersionNotPinned, ``apt-get install``: pinned with ``=``, a ``/`` (target release or a
  path) or a ``.deb`` file;
- PipVersionNotPinned, ``pip install`` (pip3, pip3.12, ``python -m pip``): a version
  specifier (``==``, ``>=``, ... ``~=``), a path or URL, a VCS URL with ``@ref``, a
  ``.whl``/``.tar.gz``/``.zip``; ``-r``/``-c`` files and ``.`` are fine;
- NpmVersionNotPinned, ``npm install``/``i``/``add`` with names: ``name@version`` (after
  the scope), a path, a tarball, a git URL with ``#ref``; a bare ``npm install`` is fine;
- ApkVersionNotPinned, ``apk add``: ``=``, ``~``, ``<``, ``>`` or an ``.apk`` file;
- GemVersionNotPinned, ``gem install``/``gem i``: ``gem:version`` or ``-v`` on the command;
- GoVersionNotPinned, ``go install``/``go get`` of a module path: ``path@version`` (not
  ``@latest``); local packages (``./cmd/x``, ``.``) are fine.

Variables the script sets itself are substituted (``deps='a b'; apt-get install $deps``);
words still holding a variable are not judged (their value is not known here). Values of
flags that take one (``apt-get -o X``, ``apk add --virtual .deps``, ``pip -i URL``) and
redirections are not packages; ``apt-get install -s`` (simulate) installs nothing. On the
338-file real-world corpus the findings are those of hadolint 2.15.1, line for line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from skiff.dockerfile.instructions import Run, Shell

__all__ = ["RULE_TEXT", "pinning", "simple_commands", "run_scripts"]

_HL = "https://github.com/hadolint/hadolint/wiki/"

# rule name → (description, url, fix); checks.py turns these into Rule records.
RULE_TEXT: dict[str, tuple[str, str, str]] = {
    "AptVersionNotPinned": (
        "apt-get install without package versions", _HL + "DL3008",
        "apt-get install -y <package>=<version> (apt-cache policy <package> shows them)"),
    "PipVersionNotPinned": (
        "pip install without package versions", _HL + "DL3013",
        "pip install <package>==<version>, or pip install -r requirements.txt"),
    "NpmVersionNotPinned": (
        "npm install of named packages without versions", _HL + "DL3016",
        "npm install <package>@<version> (or npm ci with a lock file)"),
    "ApkVersionNotPinned": (
        "apk add without package versions", _HL + "DL3018",
        "apk add <package>=<version> (or ~<major.minor>)"),
    "GoVersionNotPinned": (
        "go install/go get of a module without a version", _HL + "DL3062",
        "go install <module/path>@<version>"),
    "GemVersionNotPinned": (
        "gem install without gem versions", _HL + "DL3028",
        "gem install <gem>:<version> (or -v <version>)"),
}

Add = Callable[[str, int, str], None]

# ---------------------------------------------------------------------------------------
# A small POSIX shell word splitter: enough to find simple commands and their words.

_OPS = ("&&", "||", ";;", "|&", ";", "&", "|", "(", ")", "\n")
# A redirection operator, with the fd it duplicates when one is glued to ``>&``/``<&``
# (``>&2``, ``2>&-``: then no target word follows).
_REDIR = re.compile(r"(&>>?|<<<|<<-?|<>|>>|>&|<&|>\||>|<)((?<=&)(?:\d+|-))?")
_KEYWORDS = frozenset({"then", "do", "else", "elif", "if", "while", "until", "{", "}", "!",
                       "time"})
_WRAPPERS = frozenset({"sudo", "command", "exec", "nice", "nohup", "eatmydata", "chroot"})
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _tokens(script: str) -> Iterator[tuple[str, bool]]:
    """Yield (word, is_operator): words with quotes removed (a word that held ``$`` keeps
    it so callers can skip it), operators as written. Comments (``#`` at a word start) and
    ``\\``-newline continuations are dropped; heredoc bodies inside the script are read as
    commands too (harmless for finding install lines)."""
    i, n = 0, len(script)
    word: list[str] = []
    in_word = False
    while i < n:
        c = script[i]
        if c == "\\" and i + 1 < n:
            if script[i + 1] == "\n":
                i += 2
                continue
            word.append(script[i + 1])
            in_word = True
            i += 2
            continue
        if c == "'":
            j = script.find("'", i + 1)
            j = n if j < 0 else j
            word.append(script[i + 1:j])
            in_word = True
            i = j + 1
            continue
        if c == '"':
            j = i + 1
            buf = []
            while j < n and script[j] != '"':
                if script[j] == "\\" and j + 1 < n and script[j + 1] in '"\\$`\n':
                    if script[j + 1] != "\n":
                        buf.append(script[j + 1])
                    j += 2
                    continue
                buf.append(script[j])
                j += 1
            word.append("".join(buf))
            in_word = True
            i = j + 1
            continue
        if c in " \t\r":
            if in_word:
                yield "".join(word), False
                word, in_word = [], False
            i += 1
            continue
        if c == "#" and not in_word:
            j = script.find("\n", i)
            i = n if j < 0 else j
            continue
        m = _REDIR.match(script, i) if c in "<>&" else None
        if m is not None:
            w = "".join(word)
            if in_word and not w.isdigit():  # "2>" names an fd: not a word of its own
                yield w, False
            word, in_word = [], False
            yield ("redir-closed" if m.group(2) else "redir"), True
            i = m.end()
            continue
        op = next((o for o in _OPS if script.startswith(o, i)), None)
        if op is not None:
            if in_word:
                yield "".join(word), False
                word, in_word = [], False
            yield op, True
            i += len(op)
            continue
        word.append(c)
        in_word = True
        i += 1
    if in_word:
        yield "".join(word), False


def simple_commands(script: str, variables: dict[str, str] | None = None) -> list[list[str]]:
    """The simple commands of a shell script, each as its words (operators split them;
    ``then``/``do``/``sudo``/``env``/``VAR=x`` prefixes are dropped).

    With ``variables`` (a dict, filled as the script goes), shell variables the script
    itself sets (``deps='a b'``, ``export deps=...``, as a prefix or a command of its own)
    are substituted in later words: ``$deps``/``${deps}`` as a word becomes the value's
    words, inside a word its text. Unknown variables are left as written."""
    out: list[list[str]] = []
    cur: list[str] = []
    skip_target = False
    for w, is_op in _tokens(script):
        if is_op and w.startswith("redir"):
            skip_target = w == "redir"
            continue
        if is_op:
            if cur:
                out.append(cur)
            cur = []
            skip_target = False
            continue
        if skip_target:
            skip_target = False
            continue
        cur.append(w)
    if cur:
        out.append(cur)
    result = []
    for c in out:
        if variables is not None:
            c = _substitute(c, variables)
            _record(c, variables)
        c = _strip_prefix(c)
        if c:
            result.append(c)
    return result


_VAR_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def _substitute(words: list[str], variables: dict[str, str]) -> list[str]:
    out: list[str] = []
    for w in words:
        m = _VAR_REF.fullmatch(w)
        if m and (m.group(1) or m.group(2)) in variables:
            out.extend(variables[m.group(1) or m.group(2)].split())
        elif "$" in w:
            out.append(_VAR_REF.sub(lambda m: variables.get(m.group(1) or m.group(2),
                                                            m.group(0)), w))
        else:
            out.append(w)
    return out


def _record(words: list[str], variables: dict[str, str]) -> None:
    """Remember the assignments of a command (its prefix, or ``export``/``local``/
    ``readonly`` arguments)."""
    i = 0
    if words and words[0] in ("export", "local", "readonly", "declare", "typeset"):
        i = 1
    for w in words[i:]:
        if not _ASSIGN.match(w):
            if i:
                continue
            break
        name, _, value = w.partition("=")
        if "$" in value or "`" in value:
            variables.pop(name, None)  # a command substitution or an unknown: not known
        else:
            variables[name] = value


def _strip_prefix(words: list[str]) -> list[str]:
    i = 0
    while i < len(words):
        w = words[i]
        if w in _KEYWORDS or _ASSIGN.match(w):
            i += 1
        elif w in _WRAPPERS:
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-u", "-g", "-n", "-p", "-C", "-U") else 1
        elif w == "env":
            i += 1
            while i < len(words) and (words[i].startswith("-") or _ASSIGN.match(words[i])):
                i += 1
        elif w == "xargs":
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-n", "-L", "-P", "-I", "-d", "-s", "-a", "-E") else 1
        else:
            break
    return words[i:]


def run_scripts(inst: Run) -> list[str]:
    """The shell text a RUN runs: its command line (shell form, or the script of an exec
    form ``["sh", "-c", "..."]``) and its heredoc bodies. A plain exec form gives its words
    joined (one simple command)."""
    out: list[str] = []
    cmd = inst.cmd
    if isinstance(cmd, list):
        if len(cmd) >= 3 and cmd[0].rsplit("/", 1)[-1] in ("sh", "bash", "ash", "dash") \
                and cmd[1] == "-c":
            out.append(cmd[2])
        else:
            out.append(" ".join(_quote(w) for w in cmd))
    else:
        out.append(cmd)
    for h in inst.heredocs:
        first = h.content.lstrip().split("\n", 1)[0]
        if first.startswith("#!") and not re.search(r"\b(sh|bash|ash|dash)\b", first):
            continue  # a python/perl/... script
        out.append(h.content)
    return out


def _quote(w: str) -> str:
    return "'" + w.replace("'", "'\\''") + "'"


# ---------------------------------------------------------------------------------------
# Per package manager

def _operands(words: list[str], with_value: frozenset[str]) -> list[str]:
    """Words that are not flags and not the value of a flag that takes one (``-o X``);
    ``--flag=value`` and ``-oX`` are one word. After ``--`` everything is an operand."""
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w == "--":
            out.extend(words[i + 1:])
            break
        if w.startswith("-") and len(w) > 1:
            i += 2 if w in with_value else 1
            continue
        out.append(w)
        i += 1
    return out


_APT_VALUE = frozenset({"-o", "--option", "-t", "--target-release", "--default-release",
                        "-c", "--config-file", "-a", "--host-architecture"})
_APK_VALUE = frozenset({"-t", "--virtual", "-X", "--repository", "-p", "--root", "--arch",
                        "--keys-dir", "--repositories-file", "--cache-dir", "--cache-max-age",
                        "--progress-fd", "--timeout"})
_PIP_VALUE = frozenset({
    "--abi", "-b", "--build", "-e", "--editable", "--extra-index-url", "-f", "--find-links",
    "-i", "--index-url", "--implementation", "--no-binary", "--only-binary", "--platform",
    "--prefix", "--progress-bar", "--proxy", "--python-version", "--root", "--src", "-t",
    "--target", "--trusted-host", "--upgrade-strategy", "--retries", "--timeout",
    "--cache-dir", "--log", "--exists-action", "--cert", "--client-cert", "--global-option",
    "--config-settings", "-C", "--python", "--report", "--root-user-action"})
_NPM_VALUE = frozenset({"--prefix", "--registry", "--cache", "--loglevel", "--userconfig",
                        "-w", "--workspace", "--omit", "--include", "--tag", "--before",
                        "--install-strategy", "--location"})
_GEM_VALUE = frozenset({"-i", "--install-dir", "-n", "--bindir", "-s", "--source",
                        "--platform", "-P", "--trust-policy", "--document", "--build-root",
                        "-g", "--file", "--no-document"})
_PIP_OPS = ("===", "==", ">=", "<=", "!=", "~=", ">", "<")
_VCS = re.compile(r"^(git|hg|svn|bzr)(\+[a-z-]+)?:")


_APT_NO_ACT = frozenset({"-s", "--simulate", "--just-print", "--dry-run", "--recon",
                         "--no-act", "-d", "--download-only", "--print-uris"})


def apt_get_install(cmd: list[str]) -> list[str] | None:
    """The package words of an ``apt-get install`` that installs (not ``-s``/``-d``...),
    else None."""
    if cmd[0].rsplit("/", 1)[-1] != "apt-get":
        return None
    if any(w in _APT_NO_ACT or re.fullmatch(r"-[yqsdfmu]*[sd][yqsdfmu]*", w) for w in cmd[1:]):
        return None
    ops = _operands(cmd[1:], _APT_VALUE)
    if not ops or ops[0] != "install":
        return None
    return ops[1:]


def _apt(cmd: list[str]) -> list[str] | None:
    ops = apt_get_install(cmd)
    if ops is None:
        return None
    return [p for p in ops if not ("=" in p or "/" in p or p.endswith(".deb"))]


def _apk(cmd: list[str]) -> list[str] | None:
    if cmd[0].rsplit("/", 1)[-1] != "apk":
        return None
    ops = _operands(cmd[1:], _APK_VALUE)
    if not ops or ops[0] != "add":
        return None
    return [p for p in ops[1:] if not (any(c in p for c in "=~<>") or p.endswith(".apk"))]


def _pip_words(cmd: list[str]) -> list[str] | None:
    """The words after ``pip`` for pip, pip3, pip3.12, python -m pip, python3 -m pip."""
    name = cmd[0].rsplit("/", 1)[-1]
    if re.fullmatch(r"pip(\d+(\.\d+)?)?", name):
        return cmd[1:]
    if re.fullmatch(r"python(\d+(\.\d+)?)?", name):
        for i, w in enumerate(cmd[1:-1], start=1):
            if w == "-m":
                return cmd[i + 2:] if cmd[i + 1] == "pip" else None
            if not w.startswith("-"):
                return None
    return None


def is_pip_install(cmd: list[str]) -> bool:
    """Is this simple command a ``pip install`` (pip, pip3, python -m pip ...)?"""
    words = _pip_words(cmd)
    if words is None:
        return False
    ops = _operands(words, _PIP_VALUE)
    return bool(ops) and ops[0] == "install"


def _pip(cmd: list[str]) -> list[str] | None:
    words = _pip_words(cmd)
    if words is None:
        return None
    ops = _operands(words, _PIP_VALUE)
    if not ops or ops[0] != "install":
        return None
    if _has_flag(words, ("-r", "-c"), ("--requirement", "--constraint")):
        return None
    pkgs = ops[1:]
    if "." in pkgs:
        return None
    return [p for p in pkgs if not _pip_pinned(p)]


def _has_flag(words: list[str], shorts: tuple[str, ...], longs: tuple[str, ...]) -> bool:
    """Is one of these flags given (``-r F``, ``-rF``, ``--requirement F``,
    ``--requirement=F``)?"""
    for w in words:
        if w in shorts or w in longs or w.startswith(tuple(x + "=" for x in longs)):
            return True
        if not w.startswith("--") and w.startswith(shorts) and len(w) > 2:
            return True
    return False


def _pip_pinned(p: str) -> bool:
    if any(o in p for o in _PIP_OPS):
        return True
    if _VCS.match(p):
        return "@" in p.split("://", 1)[-1].split("/", 1)[-1]
    return "/" in p or p.endswith((".whl", ".tar.gz", ".zip")) or p.startswith(".")


def _npm(cmd: list[str]) -> list[str] | None:
    if cmd[0].rsplit("/", 1)[-1] != "npm":
        return None
    ops = _operands(cmd[1:], _NPM_VALUE)
    if not ops or ops[0] not in ("install", "i", "add", "isntall", "in", "ins", "inst",
                                 "insta", "instal", "isnt", "isnta", "isntal"):
        return None
    return [p for p in ops[1:] if not _npm_pinned(p)]


def _npm_pinned(p: str) -> bool:
    if p.startswith(("git://", "git+ssh://", "git+http://", "git+https://", "github:")):
        return "#" in p
    if p.endswith((".tar", ".tar.gz", ".tgz")) or p.startswith(("/", "./", "../", "~/", "file:")):
        return True
    if "://" in p:
        return True
    name = p[1:] if p.startswith("@") else p
    return "@" in name


def _gem(cmd: list[str]) -> list[str] | None:
    if cmd[0].rsplit("/", 1)[-1] != "gem":
        return None
    ops = _operands(cmd[1:], _GEM_VALUE)
    if not ops or ops[0] not in ("install", "i"):
        return None
    if any(w in ("-v", "--version") or w.startswith("--version=") for w in cmd[1:]):
        return None
    return [p for p in ops[1:] if ":" not in p and not p.endswith(".gem")]


_GO_VALUE = frozenset({"-ldflags", "-gcflags", "-asmflags", "-gccgoflags", "-tags", "-o",
                       "-mod", "-modfile", "-p", "-C", "-exec", "-buildmode", "-pkgdir",
                       "-toolexec", "-overlay", "-pgo", "-compiler", "-installsuffix",
                       "-buildvcs", "-covermode", "-coverpkg"})


def _go(cmd: list[str]) -> list[str] | None:
    if cmd[0].rsplit("/", 1)[-1] != "go":
        return None
    ops = _operands(cmd[1:], _GO_VALUE)
    if not ops or ops[0] not in ("install", "get"):
        return None
    out = []
    for p in ops[1:]:
        if p.startswith((".", "/")) or p in ("all", "std", "cmd"):
            continue  # the module in the context, a path, a meta-package
        name, _, version = p.partition("@")
        if not version or version in ("latest", "upgrade", "patch"):
            out.append(p)
    return out


_MANAGERS: tuple[tuple[str, Callable[[list[str]], list[str] | None], str, str], ...] = (
    ("AptVersionNotPinned", _apt, "apt-get install", "<package>=<version>"),
    ("PipVersionNotPinned", _pip, "pip install", "<package>==<version>"),
    ("NpmVersionNotPinned", _npm, "npm install", "<package>@<version>"),
    ("ApkVersionNotPinned", _apk, "apk add", "<package>=<version>"),
    ("GemVersionNotPinned", _gem, "gem install", "<gem>:<version>"),
    ("GoVersionNotPinned", _go, "go install/go get", "<module/path>@<version>"),
)


def unpinned(script: str) -> dict[str, list[str]]:
    """rule name → the packages a script installs without a version (in order, no
    duplicates). Variables the script sets itself are substituted (``deps='a b'; apt-get
    install $deps``); words still holding ``$`` are left out."""
    found: dict[str, list[str]] = {}
    for cmd in simple_commands(script, {}):
        for rule, fn, _, _ in _MANAGERS:
            pkgs = fn(cmd)
            if pkgs:
                keep = [p for p in pkgs if p and "$" not in p and "`" not in p
                        and not any(c.isspace() for c in p)]
                if keep:
                    lst = found.setdefault(rule, [])
                    lst.extend(p for p in keep if p not in lst)
    return found


_POSIX_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox"})


def posix_shell(shell: list[str]) -> bool:
    """Is this SHELL a POSIX shell (so RUN text is shell script), not powershell/cmd?"""
    return bool(shell) and shell[0].replace("\\", "/").rsplit("/", 1)[-1].lower() \
        .removesuffix(".exe") in _POSIX_SHELLS


def pinning(instructions: list, add: Add, *, posix: bool = True) -> bool:
    """Report the version pinning rules for the RUN instructions among these (an ONBUILD
    trigger is not looked at: it runs in another build). ``posix``: whether the shell in
    effect at the start is a POSIX one; RUNs under ``SHELL ["powershell", ...]`` or cmd
    are skipped. Returns whether the shell in effect at the end is POSIX."""
    for inst in instructions:
        if isinstance(inst, Shell):
            posix = posix_shell(inst.shell)
        if not isinstance(inst, Run) or (not posix and not isinstance(inst.cmd, list)):
            continue
        found: dict[str, list[str]] = {}
        for script in run_scripts(inst):
            for rule, pkgs in unpinned(script).items():
                lst = found.setdefault(rule, [])
                lst.extend(p for p in pkgs if p not in lst)
        for rule, cmdname, form in ((r, c, f) for r, _, c, f in _MANAGERS):
            pkgs = found.get(rule)
            if pkgs:
                add(rule, inst.line, f"Pin versions in {cmdname}: {', '.join(pkgs)} "
                                     f"(use {form})")
    return posix
