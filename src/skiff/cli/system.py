"""``skiff system check`` and ``skiff system df``."""

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
        ctx.out.write(format_rows(a.format, shown, {"Type": "TYPE", "TotalCount": "TOTAL",
                                                    "Active": "ACTIVE", "Size": "SIZE",
                                                    "Reclaimable": "RECLAIMABLE"}))
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
