"""``skiff version``."""

from __future__ import annotations

from skiff.cli.context import Context


def version(ctx: Context, argv: list[str]) -> int:
    """Print skiff's version, the Python it runs on and the OCI runtime it would use."""
    import platform

    from skiff import __version__

    p = ctx.parser("skiff version", "Show the skiff version information")
    p.parse_args(argv)
    runtime = ctx.config.runtime_path() or f"{ctx.config.runtime} (not found)"
    ctx.out.write(
        f"skiff version {__version__}\n"
        f" Python:   {platform.python_version()}\n"
        f" OS/Arch:  linux/{_goarch(platform.machine())}\n"
        f" Runtime:  {runtime}\n"
        f" Root:     {ctx.config.root}\n")
    return 0


def _goarch(machine: str) -> str:
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)
