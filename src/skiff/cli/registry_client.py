"""``skiff pull``, ``skiff push`` (also ``image pull|push``), ``skiff login``, ``skiff logout``.

Output as Docker's CLI: pull prints ``<tag>: Pulling from <repo>``, a line (or a rich bar on
a TTY) per layer, ``Digest: …``, ``Status: Downloaded newer image for …`` (or ``Image is
up to date for …``) and the full reference; ``-q`` prints only the reference. push prints
``The push refers to repository [<repo>]``, a line per layer and ``<tag>: digest: <d>
size: <n>``. Registry errors exit 1 with the registry's own code and message.
"""

from __future__ import annotations

import sys

from skiff.cli.context import Context


def pull(ctx: Context, argv: list[str]) -> int:
    """``skiff pull [--platform P] [-a] [-q] [--max-concurrent-downloads N] NAME[:TAG|@DIGEST]``."""
    p = ctx.parser("skiff pull", "Download an image from a registry")
    p.add_argument("-a", "--all-tags", action="store_true",
                   help="Download all tagged images in the repository")
    p.add_argument("--platform", default=None, help="Set platform if server is multi-platform capable")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")
    p.add_argument("--max-concurrent-downloads", type=int, default=3)
    p.add_argument("name")
    a = p.parse_args(argv)
    from skiff.registry.client import api
    from skiff.registry.client.progress import for_output

    if not a.all_tags and not a.quiet and _name_only(a.name):
        ctx.out.write("Using default tag: latest\n")  # docker/cli pull.go
    progress = for_output(ctx.out, a.quiet)
    try:
        results = api.pull_cli(ctx.config, ctx.db, a.name, platform=a.platform,
                               all_tags=a.all_tags, progress=progress,
                               max_concurrent=a.max_concurrent_downloads)
    finally:
        progress.close()
    if a.all_tags:
        # docker pull -a: the Digest lines came with each tag; one Status for the repository
        # (familiar form), newer when any tag changed; then the repository.
        if not a.quiet:
            from skiff import reference

            repo = reference.parse_normalized_named(results[0].repository).familiar()
            status = ("Downloaded newer image for" if any(r.changed for r in results)
                      else "Image is up to date for")
            ctx.out.write(f"Status: {status} {repo}\n")
        ctx.out.write(f"{results[0].repository}\n")
    else:
        if not a.quiet:
            r = results[0]
            ctx.out.write(f"Digest: {r.digest}\n")
            status = ("Downloaded newer image for" if r.changed else "Image is up to date for")
            ctx.out.write(f"Status: {status} {r.familiar}\n")
        ctx.out.write(f"{results[0].name}\n")
    return 0


def _name_only(name: str) -> bool:
    """True for a valid reference with neither tag nor digest (docker/cli prints "Using
    default tag: latest" for it); False for a malformed one (the command reports it)."""
    from skiff import reference

    try:
        named = reference.parse_normalized_named(name)
    except Exception:  # noqa: BLE001 - pull_cli/push_cli report the bad reference
        return False
    return not named.tag and not named.digest


def push(ctx: Context, argv: list[str]) -> int:
    """``skiff push [-q] NAME[:TAG]``."""
    p = ctx.parser("skiff push", "Upload an image to a registry")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")
    p.add_argument("-a", "--all-tags", action="store_true", help="Push all tags of an image")
    p.add_argument("name")
    a = p.parse_args(argv)
    from skiff.registry.client import api
    from skiff.registry.client.progress import for_output

    if not a.all_tags and not a.quiet and _name_only(a.name):
        ctx.out.write("Using default tag: latest\n")  # docker/cli push.go
    progress = for_output(ctx.out, a.quiet)
    try:
        results = api.push_cli(ctx.config, ctx.db, a.name, all_tags=a.all_tags,
                               progress=progress)
    finally:
        progress.close()
    for r in results:
        if a.quiet:
            ctx.out.write(f"{r.name}\n")
        else:
            ctx.out.write(f"{r.tag}: digest: {r.digest} size: {r.size}\n")
    return 0


def login(ctx: Context, argv: list[str]) -> int:
    """``skiff login [-u USER] [-p PASS | --password-stdin] [SERVER]``."""
    from skiff.errors import InvalidArgument

    p = ctx.parser("skiff login", "Log in to a registry")
    p.add_argument("-u", "--username", default=None)
    p.add_argument("-p", "--password", default=None)
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument("server", nargs="?", default=None)
    a = p.parse_args(argv)
    from skiff.registry.client import login as lg

    if a.password is not None and a.password_stdin:
        raise InvalidArgument("skiff login", "--password and --password-stdin are mutually exclusive")
    password = a.password
    if a.password_stdin:
        if not a.username:
            raise InvalidArgument("skiff login", "Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    elif a.password is not None:
        ctx.err.write("WARNING! Using --password via the CLI is insecure. "
                      "Use --password-stdin.\n")
    username = a.username
    if username is None or password is None:
        if not sys.stdin.isatty():
            raise InvalidArgument("Cannot perform an interactive login from a non TTY device")
        import getpass

        if username is None:
            ctx.out.write("Username: ")
            ctx.out.flush()
            username = sys.stdin.readline().strip()
        if password is None:
            password = getpass.getpass("Password: ")
    if not username:
        raise InvalidArgument("skiff login", "Username is required")
    if not password:
        raise InvalidArgument("skiff login", "Password is required")
    lg.login(ctx.config, a.server, username, password)
    ctx.out.write("Login Succeeded\n")
    return 0


def logout(ctx: Context, argv: list[str]) -> int:
    """``skiff logout [SERVER]``."""
    p = ctx.parser("skiff logout", "Log out from a registry")
    p.add_argument("server", nargs="?", default=None)
    a = p.parse_args(argv)
    from skiff.registry.client import login as lg

    key, found = lg.logout(a.server)
    if found:
        ctx.out.write(f"Removing login credentials for {key}\n")
    else:
        ctx.out.write(f"Not logged in to {key}\n")
    return 0
