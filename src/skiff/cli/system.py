"""``skiff system check``, ``skiff system df`` and ``skiff system prune``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skiff.cli.context import Context


def check(ctx: Context, argv: list[str]) -> int:
    """``skiff system check``: every blob's digest, every image and name; exit 1 on problems."""
    p = ctx.parser("skiff system check", "Verify every blob's digest and every image reference")
    p.add_argument("-q", "--quiet", action="store_true", help="Print problems only")
    p.parse_args(argv)
    from skiff.images import ImageService
    from skiff.images.check import check as run_check

    r = run_check(ImageService(ctx.config, ctx.db))
    for line in r.problems:
        ctx.out.write(line + "\n")
    summary = (f"{r.blobs} blobs, {r.images} images, {r.names} names checked; "
               f"{r.unreferenced} unreferenced blobs; {r.ingests} unfinished ingests; ")
    n = len(r.problems)
    summary += f"{n} problem{'s' if n != 1 else ''} found" if n else "no problems found"
    ctx.out.write(summary + "\n")
    return 1 if r.problems else 0


_DF_CONTEXTS = {"Images": "*formatter.diskUsageImagesContext",
                "Containers": "*formatter.diskUsageContainersContext",
                "Local Volumes": "*formatter.diskUsageVolumesContext",
                "Build Cache": "*formatter.diskUsageBuilderContext"}


def df(ctx: Context, argv: list[str]) -> int:
    """``skiff system df [-v] [--format]``: TYPE TOTAL ACTIVE SIZE RECLAIMABLE."""
    p = ctx.parser("skiff system df", "Show skiff disk usage")
    p.add_argument("-v", "--verbose", action="store_true", help="Show detailed information on space usage")
    p.add_argument("--format", help="Format output using a Go template")
    a = p.parse_args(argv)
    from skiff.images import ImageService
    from skiff.images.check import attribute
    from skiff.images.check import df as run_df
    from skiff.images.display import format_rows, human_size, table

    svc = ImageService(ctx.config, ctx.db)
    rows = run_df(svc)
    shown = []
    for r in rows:
        pct = f" ({r['Reclaimable'] * 100 // r['Size']}%)" if r["Size"] else ""
        shown.append({"Type": r["Type"], "TotalCount": str(r["TotalCount"]),
                      "Active": str(r["Active"]), "Size": human_size(r["Size"], 4),
                      "Reclaimable": human_size(r["Reclaimable"], 4) + pct})
    if a.format:
        # each line is its own docker/cli context struct: a field it lacks fails
        ctx.out.write(format_rows(a.format, shown, {"Type": "TYPE", "TotalCount": "TOTAL",
                                                    "Active": "ACTIVE", "Size": "SIZE",
                                                    "Reclaimable": "RECLAIMABLE"},
                                  go_type=lambda r: _DF_CONTEXTS[r["Type"]]))
        return 0
    ctx.out.write(table([["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]]
                        + [[r["Type"], r["TotalCount"], r["Active"], r["Size"], r["Reclaimable"]]
                           for r in shown]))
    if a.verbose:
        parts = attribute(svc)
        ctx.out.write("\nSpace under the root by owner:\n")
        ctx.out.write(table([["PATH", "OWNER", "SIZE"]]
                            + [[pth, owner, str(n)] for pth, owner, n in parts]
                            + [["total", "", str(sum(n for _, _, n in parts))]]))
    return 0


PRUNE_WARNING = "WARNING! This will remove:\n{items}\n{filters}\nAre you sure you want to continue? [y/N] "


def prune(ctx: Context, argv: list[str]) -> int:
    """``skiff system prune [-a] [-f] [--volumes] [--filter label=|until=]``: stopped
    containers, unused networks, (anonymous unused volumes,) dangling (``-a``: unused)
    images and the build cache, in Docker's order and words, then ``Total reclaimed space``.

    Docker: cli/command/system/prune.go (the confirmation lists what goes; each pruner's
    report is followed by a blank line; one total for all). Exit 125 for bad flags.
    """
    p = ctx.parser("skiff system prune", "Remove unused data")
    p.add_argument("-a", "--all", action="store_true",
                   help="Remove all unused images not just dangling ones")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--volumes", action="store_true", help="Prune anonymous volumes")
    p.add_argument("--filter", action="append", default=[],
                   help='Provide filter values (e.g. "label=<key>=<value>")')
    a = p.parse_args(argv)
    import io
    import sys
    import time

    from skiff.errors import InvalidArgument
    from skiff.format.humanize import human_size, parse_size

    for f in a.filter:  # what each pruner takes; dockerd's words, exit 1
        if f.partition("=")[0] not in ("label", "label!", "until"):
            raise InvalidArgument(f"Invalid filter '{f.partition('=')[0]}'", exit_code=1)
    if a.volumes and any(f.startswith("until=") for f in a.filter):
        raise InvalidArgument('ERROR: The "until" filter is not supported with "--volumes"')
    if not a.force:
        items = ["all stopped containers", "all networks not used by at least one container"]
        if a.volumes:
            items.append("all anonymous volumes not used by at least one container")
        items.append("all images without at least one container associated to them" if a.all
                     else "all dangling images")
        items.append("all build cache" if a.all else "unused build cache")
        filters = ""
        if a.filter:
            filters = ("\n  Items to be pruned will be filtered with:\n"
                       + "".join(f"  - {f}\n" for f in sorted(a.filter)))
        ctx.out.write(PRUNE_WARNING.format(items="".join(f"  - {i}\n" for i in items)[:-1],
                                           filters=filters))
        ctx.out.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0

    from skiff.cli import container, network
    from skiff.cli.build import prune_build_cache
    from skiff.images import ImageService

    total = 0
    fflags = [x for f in a.filter for x in ("--filter", f)]

    def captured(fn, args: list[str]) -> str:
        out, ctx.out = ctx.out, io.StringIO()
        try:
            fn(ctx, args)
            return ctx.out.getvalue()
        finally:
            ctx.out = out

    def section(text: str) -> None:
        if text:
            ctx.out.write(text + "\n")

    # containers: their own report, less its total (added to ours)
    text = captured(container.prune, ["-f", *fflags])
    head, _, tail = text.rpartition("Total reclaimed space: ")
    total += parse_size(tail.strip()) if tail.strip() else 0
    section(head[:-1] if head.endswith("\n\n") else head)
    section(captured(network.prune, ["-f", *fflags]).removesuffix("\n"))
    if a.volumes:
        from skiff.runtime import volumes

        gone, size = volumes.prune(container._service(ctx), all=False)
        total += size
        section("Deleted Volumes:\n" + "".join(n + "\n" for n in gone) if gone else "")
    report, freed = ImageService(ctx.config, ctx.db).prune(all=a.all, filters=a.filter)
    total += freed
    lines = [f"untagged: {n}" for n in report.untagged] + [f"deleted: {d}" for d in report.deleted]
    section("Deleted Images:\n" + "".join(x + "\n" for x in lines) if lines else "")
    older = None
    for f in a.filter:
        if f.startswith("until="):
            from skiff.cli.build import _duration_s

            older = time.time() - _duration_s(f.partition("=")[2])
    # build cache records carry no labels: a label= filter matches none of them (dockerd)
    ids, freed = ([], 0) if any(f.startswith("label=") for f in a.filter) else \
        prune_build_cache(ctx, older)
    total += freed
    section("Deleted build cache objects:\n" + "".join(i + "\n" for i in ids) if ids else "")
    ctx.out.write(f"Total reclaimed space: {human_size(total)}\n")
    return 0
