"""``skiff dockerfile parse`` and ``skiff dockerfile check``: the Dockerfile front end."""

from __future__ import annotations

import sys
from pathlib import Path

from skiff.cli.context import Context


def _read(path: str) -> tuple[str, str, Path | None]:
    """(text, display name, path or None for stdin). Raises InvalidArgument."""
    from skiff.errors import InvalidArgument

    if path == "-":
        return sys.stdin.read(), "Dockerfile", None
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InvalidArgument(f"failed to read {path}", e.strerror or str(e)) from e
    return data.decode("utf-8", "surrogateescape"), p.name, p


def parse(ctx: Context, argv: list[str]) -> int:
    """Print a Dockerfile's parse: ``--format json`` (stages and typed instructions with
    their lines) or ``--format ast`` (BuildKit's S-expression dump). Exit 1 on a parse
    error (``skiff: Dockerfile:LINE: message``)."""
    p = ctx.parser("skiff dockerfile parse", "Parse a Dockerfile and print its syntax tree")
    p.add_argument("-f", "--file", default="Dockerfile",
                   help='Name of the Dockerfile (default "Dockerfile", "-" for stdin)')
    p.add_argument("--format", choices=("json", "ast"), default="json",
                   help="Output format: json (typed instructions) or ast (BuildKit dump)")
    args = p.parse_args(argv)
    text, name, _ = _read(args.file)
    if args.format == "ast":
        from skiff.dockerfile.parser import parse_ast

        result = parse_ast(text, filename=name)
        ctx.out.write("".join("(" + c.dump() + ")\n" for c in result.ast.children))
        return 0
    import json

    from skiff.dockerfile import parse as parse_dockerfile

    df = parse_dockerfile(text, filename=name)
    ctx.out.write(json.dumps(df.to_dict(), indent=2, ensure_ascii=False) + "\n")
    return 0


def local_platforms(ctx: Context):
    """``ref -> "os/arch[/variant]"`` of that image in the local store, None when it is not
    there; None (no lookup at all) when the store does not exist yet (a lint never creates
    one). Used by InvalidBaseImagePlatform."""
    if not ctx.config.metadata_path.is_file():
        return None

    def lookup(ref: str) -> str | None:
        from skiff.errors import SkiffError
        from skiff.images import ImageService

        try:
            img = ImageService(ctx.config, ctx.db).get(ref)
        except (SkiffError, OSError, ValueError):
            return None
        return str(img.config.platform) if img.config.os else None

    return lookup


def check(ctx: Context, argv: list[str]) -> int:
    """Report best-practice warnings for a Dockerfile, each with its line and a fix.

    Honours ``# check=skip=Rule,...`` and ``# check=error=true`` (then exit 1 when a check
    fires). The build context (``--context``, default the Dockerfile's directory) is used
    for the .git / node_modules rule and CopyIgnoredFile (with the ignore file that applies
    to the Dockerfile); base images found in the local store are checked against
    ``--platform`` (default the host's) by InvalidBaseImagePlatform."""
    p = ctx.parser("skiff dockerfile check", "Check a Dockerfile against best practices")
    p.add_argument("-f", "--file", default="Dockerfile",
                   help='Name of the Dockerfile (default "Dockerfile", "-" for stdin)')
    p.add_argument("--context", default=None,
                   help="Build context directory (default: the Dockerfile's directory)")
    p.add_argument("--platform", default=None,
                   help="Target platform the base images should match (default: the host's)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    args = p.parse_args(argv)
    if args.context is not None and not Path(args.context).is_dir():
        # docker build's words for a context that is not there (checks would silently skip)
        from skiff.errors import InvalidArgument

        what = (f'unable to prepare context: path "{args.context}" not found'
                if not Path(args.context).exists() else
                f"unable to prepare context: context must be a directory: {args.context}")
        raise InvalidArgument(what, exit_code=1)
    text, name, path = _read(args.file)
    from skiff.dockerfile import parse as parse_dockerfile
    from skiff.dockerfile.checks import check_config, render_text, run_checks

    df = parse_dockerfile(text, filename=name, allow_duplicate_stages=True)
    context = Path(args.context) if args.context else (path.parent if path else None)
    warnings = run_checks(df, context, dockerfile_path=path,
                          base_platform=local_platforms(ctx), platform=args.platform)
    if args.format == "json":
        import json

        ctx.out.write(json.dumps([w.to_dict() for w in warnings], indent=2) + "\n")
    else:
        ctx.out.write(render_text(warnings, filename=name))
    cfg = check_config(df)
    return 1 if (cfg.error and warnings) else 0
