"""Image commands: images/image ls, import, tag, rmi/image rm, inspect/image inspect, history,
image prune, save, load. Flags, columns and messages as Docker's CLI."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skiff.cli.context import Context
    from skiff.images import ImageService


def _service(ctx: Context) -> ImageService:
    from skiff.images import ImageService

    return ImageService(ctx.config, ctx.db)


def _out(ctx: Context, text: str) -> None:
    ctx.out.write(text)
    ctx.out.flush()


@contextlib.contextmanager
def _daemon_errors() -> Iterator[None]:
    """Make an engine error exit 1, as Docker's CLI does for every error the daemon reports
    ("Error response from daemon: ..."); 125 stays for usage errors, raised before this."""
    from skiff.errors import EXIT_ENGINE, SkiffError

    try:
        yield
    except SkiffError as e:
        if e.exit_code == EXIT_ENGINE:
            e.exit_code = 1
        raise


# ------------------------------------------------------------------ images / image ls
IMAGE_HEADERS = {"Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID",
                 "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
                 "Containers": "CONTAINERS", "SharedSize": "SHARED SIZE",
                 "UniqueSize": "UNIQUE SIZE", "VirtualSize": "SIZE"}


def images(ctx: Context, argv: list[str]) -> int:
    """``skiff images [OPTIONS] [REPOSITORY[:TAG]]`` (= ``skiff image ls``)."""
    p = ctx.parser("skiff images", "List images")
    p.add_argument("repository", nargs="?")
    p.add_argument("-a", "--all", action="store_true", help="Show all images (default hides intermediate images)")
    p.add_argument("--digests", action="store_true", help="Show digests")
    p.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter output (dangling=, reference=, label=)")
    p.add_argument("--format", help="Format output using a Go template")
    a = p.parse_args(argv)
    for f in a.filter:
        if "=" not in f:  # a usage error (125), found by the CLI before asking the daemon
            from skiff.errors import InvalidArgument

            raise InvalidArgument(f'invalid argument "{f}" for "-f, --filter" flag',
                                  "bad format of filter (expected name=value)")
    with _daemon_errors():
        return _images_run(ctx, a)


def _images_run(ctx: Context, a) -> int:

    import datetime as dt

    from skiff import reference
    from skiff.errors import InvalidArgument
    from skiff.images.display import format_rows, human_size, table, time_ago
    from skiff.images.inspect import parse_time

    svc = _service(ctx)
    imgs = svc.list()
    filters: dict[str, list[str]] = {}
    for f in a.filter:
        k, eq, v = f.partition("=")
        if k not in ("dangling", "reference", "label", "before", "since"):
            raise InvalidArgument(f"Invalid filter '{k}'")
        if k == "dangling" and v not in ("true", "1", "false", "0"):
            # moby filters.GetBoolOrDefault: anything else is refused
            raise InvalidArgument(f"Invalid filter 'dangling=[{v}]'", exit_code=1)
        filters.setdefault(k, []).append(v)
    if a.repository:
        filters.setdefault("reference", []).append(a.repository)
    parents = {i.parent for i in imgs if i.parent}
    # before=/since=IMAGE: images created before / after that image (Docker's filters)
    bounds = {k: parse_time(svc.get(filters[k][-1]).created) for k in ("before", "since")
              if k in filters}
    rows = []
    for img in imgs:
        if not a.all and img.dangling and img.id in parents:
            continue  # an intermediate image
        if "before" in bounds and not parse_time(img.created) < bounds["before"]:
            continue
        if "since" in bounds and not parse_time(img.created) > bounds["since"]:
            continue
        if "dangling" in filters:
            want = filters["dangling"][-1].lower() in ("true", "1")
            if img.dangling != want:
                continue
        labels = img.config.config.get("Labels") or {}
        if "label" in filters and not all(
                (labels.get(k) == v) if eq else (k in labels)
                for k, eq, v in (x.partition("=") for x in filters["label"])):
            continue
        tags = list(img.repo_tags) or ["<none>:<none>"]
        repo_digests = list(img.repo_digests)
        if "reference" in filters:
            # moby: every reference (tags and digests) is matched; an image pulled by
            # digest only is listed by its digest's repository with tag <none>
            def matches(name: str) -> bool:
                ref = reference.parse_normalized_named(name)
                return any(reference.familiar_match(pat, ref) for pat in filters["reference"])

            keep = [t for t in img.repo_tags if matches(t)]
            repo_digests = [d for d in img.repo_digests if matches(d)]
            if not keep and not repo_digests:
                continue
            tags = keep or ["<none>:<none>"]
        created = parse_time(img.created)
        full_id = img.id if a.no_trunc else img.short_id
        for t in tags:
            if t == "<none>:<none>":
                repo, tag = "<none>", "<none>"
                digests = repo_digests
                dig = digests[0].split("@", 1)[1] if digests else "<none>"
                if digests:
                    repo = digests[0].split("@", 1)[0]
            else:
                repo, _, tag = t.rpartition(":")
                ds = [d.split("@", 1)[1] for d in repo_digests if d.split("@", 1)[0] == repo]
                dig = ds[0] if ds else "<none>"
            rows.append({
                "ID": full_id, "Repository": repo, "Tag": tag, "Digest": dig,
                "CreatedSince": time_ago(created),
                "CreatedAt": dt.datetime.fromtimestamp(created, dt.UTC).strftime(
                    "%Y-%m-%d %H:%M:%S +0000 UTC") if created else "",
                "Size": human_size(img.size), "Containers": "N/A", "SharedSize": "N/A",
                "UniqueSize": "N/A",
                # docker/cli: units.HumanSize (4 digits), unlike Size's 3
                "VirtualSize": human_size(img.size, 4),
            })
    # docker/cli New{Image,History}Format: -q only replaces the table format; a custom
    # --format wins over it
    if a.quiet and (not a.format or a.format.strip() == "table"):
        seen: list[str] = []
        for r in rows:
            if r["ID"] not in seen:
                seen.append(r["ID"])
        _out(ctx, "".join(x + "\n" for x in seen))
        return 0
    if a.format:
        _out(ctx, format_rows(a.format, rows, IMAGE_HEADERS,
                              "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}",
                              go_type="*formatter.imageContext"))
        return 0
    cols = ["Repository", "Tag"] + (["Digest"] if a.digests else []) + ["ID", "CreatedSince", "Size"]
    _out(ctx, table([[IMAGE_HEADERS[c] for c in cols]] + [[r[c] for c in cols] for r in rows]))
    return 0


# ------------------------------------------------------------------ import
def import_(ctx: Context, argv: list[str]) -> int:
    """``skiff import [OPTIONS] file|- [REPOSITORY[:TAG]]``: prints the new image ID."""
    p = ctx.parser("skiff import", "Import the contents from a tarball to create a filesystem image")
    p.add_argument("file")
    p.add_argument("repository", nargs="?")
    p.add_argument("-c", "--change", action="append", default=[], help="Apply Dockerfile instruction to the created image")
    p.add_argument("-m", "--message", help="Set commit message for imported image")
    p.add_argument("--platform", help="Set platform if server is multi-platform capable")
    a = p.parse_args(argv)
    with _daemon_errors():
        return _import_run(ctx, a)


def _import_run(ctx: Context, a) -> int:
    from skiff.errors import map_exceptions

    svc = _service(ctx)
    if a.file == "-":
        img = svc.import_rootfs(sys.stdin.buffer, tag=a.repository, changes=a.change,
                                message=a.message)
    elif a.file.startswith(("http://", "https://")):
        with _fetch(a.file, svc.config.tmp_dir) as f:
            img = svc.import_rootfs(f, tag=a.repository, changes=a.change,
                                    message=a.message or f"Imported from {a.file}")
    else:
        with map_exceptions(f"open {a.file}"), open(a.file, "rb") as f:
            img = svc.import_rootfs(f, tag=a.repository, changes=a.change, message=a.message)
    _out(ctx, img.id + "\n")
    return 0


@contextlib.contextmanager
def _fetch(url: str, tmp_dir) -> Iterator:
    """``docker import URL``: the body of a GET (redirects followed) in a temporary file,
    removed afterwards. Errors in the daemon's words (remotecontext.GetWithStatusError):
    ``Get "URL": <why>`` when there is no answer, ``failed to GET URL with status 404 Not
    Found: <body>`` for an HTTP error."""
    import tempfile

    import httpx

    from skiff.errors import SkiffError

    os.makedirs(tmp_dir, exist_ok=True)
    with tempfile.TemporaryFile(dir=tmp_dir) as f:
        try:
            with httpx.stream("GET", url, follow_redirects=True, timeout=30.0) as resp:
                if resp.status_code >= 400:
                    # the body on one line: skiff's errors are one line
                    body = " ".join(resp.read()[:512].decode("utf-8", "replace").split())
                    raise SkiffError(f"failed to GET {url} with status "
                                     f"{resp.status_code} {resp.reason_phrase}: {body}")
                for chunk in resp.iter_bytes(1 << 20):
                    f.write(chunk)
        except httpx.HTTPError as e:
            raise SkiffError(f'Get "{url}"', str(e) or type(e).__name__) from e
        f.seek(0)
        yield f


# ------------------------------------------------------------------ tag
def tag(ctx: Context, argv: list[str]) -> int:
    """``skiff tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]``."""
    p = ctx.parser("skiff tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")
    p.add_argument("source")
    p.add_argument("target")
    a = p.parse_args(argv)
    with _daemon_errors():
        return _tag_run(ctx, a)


def _tag_run(ctx: Context, a) -> int:
    from skiff import reference
    from skiff.errors import InvalidArgument

    # docker's client (ImageTag) checks both names before asking the daemon, in its words
    for name, parse in ((a.source, reference.parse_any), (a.target, reference.parse)):
        try:
            parse(name)
        except InvalidArgument as e:
            raise InvalidArgument(f'Error parsing reference: "{name}" is not a valid '
                                  f"repository/tag", str(e)) from e
    _service(ctx).tag(a.source, a.target)
    return 0


# ------------------------------------------------------------------ rmi
def rmi(ctx: Context, argv: list[str]) -> int:
    """``skiff rmi [-f] [--no-prune] IMAGE...`` (= ``skiff image rm``)."""
    p = ctx.parser("skiff rmi", "Remove one or more images")
    p.add_argument("images", nargs="+")
    p.add_argument("-f", "--force", action="store_true", help="Force removal of the image")
    p.add_argument("--no-prune", action="store_true", help="Do not delete untagged parents")
    a = p.parse_args(argv)
    report = _service(ctx).remove(a.images, force=a.force, prune=not a.no_prune)
    _out(ctx, "".join(f"Untagged: {n}\n" for n in report.untagged)
         + "".join(f"Deleted: {d}\n" for d in report.deleted))
    for e in report.errors:
        sys.stderr.write(f"skiff: {e}\n")
    return report.exit_code


# ------------------------------------------------------------------ inspect
def inspect_object(ctx: Context, name: str) -> tuple[dict | None, str]:
    """The image ``name`` as ``docker image inspect`` shows it, or (None, error message).

    For a combined ``skiff inspect`` (containers first, then images, as Docker does).
    """
    from skiff.errors import ImageNotFound
    from skiff.images.inspect import inspect_image

    try:
        return inspect_image(_service(ctx).get(name)), ""
    except ImageNotFound:
        return None, f"No such image: {name}"  # (docker/cli: the name as typed)


def _inspect(ctx: Context, argv: list[str], prog: str, images_only: bool) -> int:
    p = ctx.parser(prog, "Return low-level information on images")
    p.add_argument("names", nargs="+")
    p.add_argument("-f", "--format", help="Format output using a Go template")
    p.add_argument("--type", help="Only inspect objects of the given type")
    a = p.parse_args(argv)
    if a.type and a.type != "image":
        from skiff.errors import InvalidArgument

        raise InvalidArgument(f'"{a.type}" is not a valid value for --type')
    found: list[tuple[str, object]] = []
    for n in a.names:
        obj, err = inspect_object(ctx, n)
        if obj is not None:
            found.append(("image", obj))
        else:
            found.append(("error", err if images_only or a.type else f"No such object: {n}"))
    from skiff.cli.container_query import print_inspect

    # docker/cli's inspect: a template that does not parse exits 64, one that fails on an
    # image exits 1 after the others are printed
    return print_inspect(ctx, found, a.format)


def inspect(ctx: Context, argv: list[str]) -> int:
    """``skiff inspect [--type image] NAME...`` (images here; containers join when runtime lands)."""
    return _inspect(ctx, argv, "skiff inspect", images_only=False)


def image_inspect(ctx: Context, argv: list[str]) -> int:
    """``skiff image inspect IMAGE...``."""
    return _inspect(ctx, argv, "skiff image inspect", images_only=True)


# ------------------------------------------------------------------ history
HISTORY_HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
                   "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}


def history(ctx: Context, argv: list[str]) -> int:
    """``skiff history [OPTIONS] IMAGE``: IMAGE CREATED CREATED BY SIZE COMMENT."""
    p = ctx.parser("skiff history", "Show the history of an image")
    p.add_argument("image")
    p.add_argument("-H", "--human", default="true", nargs="?", const="true",
                   help="Print sizes and dates in human readable format")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
    p.add_argument("--format", help="Format output using a Go template")
    a = p.parse_args(argv)
    with _daemon_errors():
        return _history_run(ctx, a)


def _history_run(ctx: Context, a) -> int:
    import datetime as dt

    from skiff.images.display import format_rows, human_size, table, time_ago
    from skiff.images.inspect import history as hist

    human = str(a.human).lower() not in ("false", "0")
    img = _service(ctx).get(a.image)
    rows = []
    for h in hist(img):
        hid = h["Id"]
        if hid != "<missing>" and not a.no_trunc:
            hid = hid.split(":", 1)[1][:12]
        by = h["CreatedBy"].replace("\t", " ")
        if not a.no_trunc and len(by) > 45:
            by = by[:44] + "…"
        created = h["Created"]
        rows.append({
            "ID": hid,
            "CreatedSince": time_ago(created) if human else
            dt.datetime.fromtimestamp(created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "CreatedAt": dt.datetime.fromtimestamp(created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "CreatedBy": by, "Size": human_size(h["Size"]) if human else str(h["Size"]),
            "Comment": h["Comment"],
        })
    # docker/cli New{Image,History}Format: -q only replaces the table format; a custom
    # --format wins over it
    if a.quiet and (not a.format or a.format.strip() == "table"):
        _out(ctx, "".join(r["ID"] + "\n" for r in rows))
        return 0
    # docker/cli formatter/history.go: -H=false tables show CREATED AT (nonHumanHistoryTableFormat)
    when = "CreatedSince" if human else "CreatedAt"
    if a.format:
        _out(ctx, format_rows(a.format, rows, HISTORY_HEADERS,
                              "{{.ID}}\t{{." + when + "}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
                              go_type="*image.historyContext"))
        return 0
    cols = ["ID", when, "CreatedBy", "Size", "Comment"]
    _out(ctx, table([[HISTORY_HEADERS[c] for c in cols]] + [[r[c] for c in cols] for r in rows]))
    return 0


# ------------------------------------------------------------------ image prune
def prune(ctx: Context, argv: list[str]) -> int:
    """``skiff image prune [-a] [-f]``."""
    p = ctx.parser("skiff image prune", "Remove unused images")
    p.add_argument("-a", "--all", action="store_true", help="Remove all unused images, not just dangling ones")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="Provide filter values (label=, until=)")
    a = p.parse_args(argv)
    with _daemon_errors():
        return _prune_run(ctx, a)


def _prune_run(ctx: Context, a) -> int:
    from skiff.errors import InvalidArgument
    from skiff.format.humanize import prune_report

    # moby image_prune.go: dangling, label, label!, until; the CLI's -a is dangling=false
    dangling = []
    for f in a.filter:
        k, _, v = f.partition("=")
        if k not in ("dangling", "label", "label!", "until"):
            raise InvalidArgument(f"Invalid filter '{k}'")
        if k == "dangling":
            dangling.append(v)
    if dangling:
        if any(v in ("false", "0") for v in dangling):
            a.all = True
        elif not any(v in ("true", "1") for v in dangling):
            raise InvalidArgument(f"Invalid filter 'dangling=[{', '.join(dangling)}]'")
    filters = [f for f in a.filter if not f.startswith("dangling=")]

    if not a.force:
        warning = ("WARNING! This will remove all images without at least one container "
                   "associated to them.\n" if a.all else
                   "WARNING! This will remove all dangling images.\n")
        _out(ctx, warning + "Are you sure you want to continue? [y/N] ")
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            return 0
    report, freed = _service(ctx).prune(all=a.all, filters=filters)
    _out(ctx, prune_report("Deleted Images:", [f"untagged: {n}" for n in report.untagged]
                           + [f"deleted: {d}" for d in report.deleted], freed))
    return 0


# ------------------------------------------------------------------ save / load
def save(ctx: Context, argv: list[str]) -> int:
    """``skiff save [-o FILE] IMAGE...``: a docker-archive + OCI layout tar (stdout if no -o)."""
    p = ctx.parser("skiff save", "Save one or more images to a tar archive (streamed to STDOUT by default)")
    p.add_argument("images", nargs="+")
    p.add_argument("-o", "--output", help="Write to a file, instead of STDOUT")
    p.add_argument("--platform", action="append", default=[], help="Save only the given platform(s)")
    a = p.parse_args(argv)
    with _daemon_errors():
        return _save_run(ctx, a)


def _save_run(ctx: Context, a) -> int:
    import os
    import tempfile

    from skiff.errors import InvalidArgument, map_exceptions

    svc = _service(ctx)
    platforms = _platforms(a.platform)
    from skiff.images.archive import expand_refs

    # fail before writing anything (a wrong --platform too)
    for image_id, name, n in expand_refs(svc, a.images):
        if platforms:
            from skiff import reference
            from skiff.images.archive import check_platform

            check_platform(svc.get(image_id), reference.parse(name).familiar() if name else n,
                           platforms)
    if not a.output:
        out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
        if out is None or sys.stdout.isatty():
            raise InvalidArgument("cowardly refusing to save to a terminal",
                                  "use the -o flag or redirect")
        svc.save(a.images, out, platforms)
        out.flush()
        return 0
    target = os.path.abspath(a.output)
    # docker/cli save: the output path is checked before anything is written
    parent = os.path.dirname(os.path.normpath(a.output))
    if parent not in ("", ".") and not os.path.exists(parent):
        raise InvalidArgument("failed to save image",
                              f"invalid output path: stat {parent}: no such file or directory")
    if os.path.isdir(target):
        raise InvalidArgument("failed to save image", "cannot write to a directory")
    with map_exceptions(f"failed to save image: {a.output}"):
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".skiff-save-")
        try:
            with os.fdopen(fd, "wb") as f:
                svc.save(a.images, f, platforms)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    return 0


def _platforms(values: list[str]) -> list:
    """``--platform`` values (repeatable, comma-separated lists) → platforms; an OS alone
    means this host's architecture (containerd's platforms.Parse). InvalidArgument (exit 1,
    as Docker's CLI) for anything else."""
    if not values:
        return []
    from skiff.registry.client.manifests import Platform, host_platform

    out = []
    for v in values:
        for part in v.split(","):
            if part and "/" not in part:
                part = f"{part}/{host_platform().architecture}"
            out.append(Platform.parse(part))
    return out


def load(ctx: Context, argv: list[str]) -> int:
    """``skiff load [-i FILE] [-q]``: docker save archives (old/new) and OCI layout tars."""
    p = ctx.parser("skiff load", "Load an image from a tar archive or STDIN")
    p.add_argument("-i", "--input", help="Read from tar archive file, instead of STDIN")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress the load output")
    p.add_argument("--platform", action="append", default=[], help="Load only the given platform(s)")
    a = p.parse_args(argv)
    with _daemon_errors():
        return _load_run(ctx, a)


def _load_run(ctx: Context, a) -> int:
    from skiff.errors import InvalidArgument, map_exceptions

    svc = _service(ctx)
    before = {t: img.id for img in svc.list() for t in img.repo_tags}
    if a.input:
        with map_exceptions(f"open {a.input}"), open(a.input, "rb") as f:
            loaded = svc.load(f, _platforms(a.platform))
    else:
        if sys.stdin.isatty():
            raise InvalidArgument("requested load from stdin, but stdin is empty")
        loaded = svc.load(sys.stdin.buffer, _platforms(a.platform))
    # -q: no progress (skiff shows none); these lines come all the same (moby tarexport
    # writes them to the output stream whatever quiet says)
    lines = []
    for i, n in loaded:
        if n and before.get(n, i) != i:  # Docker's wording (moby tarexport setLoadedTag)
            lines.append(f"The image {n} already exists, renaming the old one with ID "
                         f"{before[n]} to empty string\n")
        lines.append(f"Loaded image: {n}\n" if n else f"Loaded image ID: {i}\n")
    _out(ctx, "".join(lines))
    return 0
