"""The registry server's ASGI application and its uvicorn runner.

One starlette endpoint takes every ``/v2/...`` request and routes it by matching the path
from the right (repository names contain slashes): ``<name>/blobs/uploads/[<id>]``,
``<name>/blobs/<digest>``, ``<name>/manifests/<ref>``, ``<name>/tags/list``,
``<name>/referrers/<digest>``, ``_catalog``. Before routing: Basic auth (when an htpasswd
file is configured), ``--read-only`` (writes answer 405 UNSUPPORTED) and the repository
name check (NAME_INVALID). Every answer carries ``Docker-Distribution-API-Version:
registry/2.0``; errors use the spec's JSON body (server/errors.py). A background task
removes upload sessions older than the timeout.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio import to_thread
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from skiff.registry.server import blobs, manifests
from skiff.registry.server.errors import RegistryError
from skiff.registry.storage import FilesystemStorage, Storage, valid_name

log = logging.getLogger("skiff.registry")
API_VERSION = ("Docker-Distribution-API-Version", "registry/2.0")
_ALL = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
_WRITE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_ROUTES = [
    (re.compile(r"^(?P<name>.+)/blobs/uploads/?$"), "uploads"),
    (re.compile(r"^(?P<name>.+)/blobs/uploads/(?P<id>[^/]+)$"), "upload"),
    (re.compile(r"^(?P<name>.+)/blobs/(?P<digest>[^/]+)$"), "blob"),
    (re.compile(r"^(?P<name>.+)/manifests/(?P<ref>[^/]+)$"), "manifest"),
    (re.compile(r"^(?P<name>.+)/tags/list$"), "tags"),
    (re.compile(r"^(?P<name>.+)/referrers/(?P<digest>[^/]+)$"), "referrers"),
]


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """How ``skiff registry serve`` behaves.

    root: storage directory. htpasswd: bcrypt htpasswd file enabling Basic auth (None: no
    auth). anonymous_read: with htpasswd, let GET/HEAD through without credentials.
    read_only: refuse every write with 405 UNSUPPORTED. delete_enabled: allow DELETE of
    manifests, tags and blobs (405 UNSUPPORTED otherwise). max_manifest_size: bytes (413
    above). upload_timeout_s: age after which an unfinished upload is removed;
    purge_interval_s: how often that is checked.
    """

    root: Path
    htpasswd: Path | None = None
    anonymous_read: bool = False
    read_only: bool = False
    delete_enabled: bool = True
    max_manifest_size: int = manifests.DEFAULT_MAX_MANIFEST
    upload_timeout_s: float = 3600.0
    purge_interval_s: float = 60.0
    # Token auth (``--auth token``, distribution's token spec; server/tokens.py): with
    # token_key and token_cert (PEM; RSA → RS256, EC P-256 → ES256) the server issues
    # tokens at ``/token`` (htpasswd users; token_acl rules) and its /v2/ API wants them.
    # token_realm: the realm URL announced (default: this server's own /token).
    token_key: Path | None = None
    token_cert: Path | None = None
    token_issuer: str = "skiff-registry"
    token_service: str = "skiff-registry"
    token_acl: Path | None = None
    token_ttl_s: int = 300
    token_realm: str | None = None


def needed_access(path: str, method: str, query) -> list:
    """What a /v2/ request needs of a token (distribution's access records): pull for
    reads, pull+push for writes, delete for DELETE; a cross-repository mount also pull on
    ``from``; ``registry:catalog:*`` for the catalog; nothing for the base ``/v2/``."""
    from skiff.registry.server.tokens import Access

    if path in ("", "/"):
        return []
    if path == "_catalog":
        return [Access("registry", "catalog", ("*",))]
    m = next((rx.match(path) for rx, _ in _ROUTES if rx.match(path)), None)
    if m is None:
        return []
    name = m.group("name")
    if method in ("GET", "HEAD"):
        return [Access("repository", name, ("pull",))]
    if method == "DELETE":
        return [Access("repository", name, ("delete",))]
    need = [Access("repository", name, ("pull", "push"))]
    other = query.get("from")
    if query.get("mount") and other and other != name:
        need.append(Access("repository", other, ("pull",)))
    return need


def _token_routes(opts: ServerOptions) -> tuple[list, object]:
    """The ``/token`` routes and the TokenService (token auth configured)."""
    import base64

    from skiff.registry.server.tokens import TokenKey, TokenService, load_acl

    service = TokenService(TokenKey(opts.token_key, opts.token_cert), opts.token_issuer,
                           opts.token_service,
                           acl=load_acl(opts.token_acl) if opts.token_acl else None,
                           anonymous_read=opts.anonymous_read, ttl_s=opts.token_ttl_s)
    users = None
    if opts.htpasswd is not None:
        from skiff.registry.server.auth import HtpasswdAuth

        users = HtpasswdAuth(opts.htpasswd)

    def refused(why: str) -> Response:
        return JSONResponse({"details": why}, status_code=401)

    async def token(request: Request) -> Response:
        header = request.headers.get("authorization")
        if request.method == "POST":  # OAuth2 (distribution docs/spec/auth/oauth.md)
            from urllib.parse import parse_qs

            form = {k: v[0] for k, v in parse_qs((await request.body()).decode(
                "utf-8", "replace")).items()}
            if form.get("grant_type") != "password":
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            raw = f"{form.get('username', '')}:{form.get('password', '')}".encode()
            header = "Basic " + base64.b64encode(raw).decode()
            scopes = str(form.get("scope", "")).split()
            want_service = form.get("service")
        else:
            scopes = request.query_params.getlist("scope")
            want_service = request.query_params.get("service")
        if want_service and want_service != service.service:
            return JSONResponse({"details": f"unknown service {want_service!r}"},
                                status_code=400)
        account = ""
        if header is not None:
            if users is None:
                return refused("no user accounts on this token server")
            user = await to_thread.run_sync(users.check, "POST", header)
            if not user:
                return refused("invalid username or password")
            account = user
        return JSONResponse(service.issue(account, scopes))

    return [Route("/token", token, methods=["GET", "POST"])], service


def _bearer_refusal(service, request: Request, need: list, error: str | None) -> RegistryError:
    realm = ""
    if service is not None:
        realm = request.app.state.token_realm or str(request.base_url).rstrip("/") + "/token"
    parts = [f'realm="{realm}"', f'service="{service.service}"']
    if need:
        parts.append('scope="' + " ".join(f"{a.type}:{a.name}:{','.join(a.actions)}"
                                          for a in need) + '"')
    if error:
        parts.append(f'error="{error}"')
    detail = [{"Type": a.type, "Name": a.name, "Action": act} for a in need for act in a.actions]
    return RegistryError("UNAUTHORIZED", detail or None,
                         headers={"WWW-Authenticate": "Bearer " + ",".join(parts)})


def _not_allowed(what: str) -> RegistryError:
    return RegistryError("UNSUPPORTED", {"operation": what})


async def _route(store: Storage, opts: ServerOptions, request: Request, path: str) -> Response:
    method = request.method
    if path in ("", "/"):
        return JSONResponse({})
    if path == "_catalog":
        if method not in ("GET", "HEAD"):
            raise _not_allowed(f"{method} _catalog")
        return manifests.catalog(store, request)
    kind, m = next(((k, rx.match(path)) for rx, k in _ROUTES if rx.match(path)), ("", None))
    if m is None:
        return Response(b"404 page not found\n", status_code=404,
                        headers={"Content-Type": "text/plain; charset=utf-8"})
    name = m.group("name")
    if not valid_name(name):
        raise RegistryError("NAME_INVALID", {"name": name})
    if method == "DELETE" and kind in ("blob", "manifest") and not opts.delete_enabled:
        raise _not_allowed("delete is disabled")
    g = m.groupdict()
    match kind, method:
        case "uploads", "POST":
            return await blobs.start_upload(store, request, name)
        case "upload", "PATCH":
            return await blobs.patch_upload(store, request, name, g["id"])
        case "upload", "PUT":
            return await blobs.put_upload(store, request, name, g["id"])
        case "upload", "GET":
            return blobs.upload_status(store, name, g["id"])
        case "upload", "DELETE":
            return await blobs.cancel_upload(store, name, g["id"])
        case "blob", ("GET" | "HEAD"):
            return await blobs.get_blob(store, request, name, g["digest"])
        case "blob", "DELETE":
            return blobs.delete_blob(store, name, g["digest"])
        case "manifest", ("GET" | "HEAD"):
            return manifests.get_manifest(store, request, name, g["ref"])
        case "manifest", "PUT":
            return await manifests.put_manifest(store, request, name, g["ref"],
                                                opts.max_manifest_size)
        case "manifest", "DELETE":
            return await to_thread.run_sync(manifests.delete_manifest, store, name, g["ref"])
        case "tags", "GET":
            return manifests.tags_list(store, request, name)
        case "referrers", "GET":
            return manifests.referrers(store, request, name, g["digest"])
    raise _not_allowed(f"{method} {kind}")


def create_app(opts: ServerOptions, store: Storage | None = None) -> Starlette:
    """The ASGI app serving ``store`` (a FilesystemStorage on ``opts.root`` by default)."""
    store = store if store is not None else FilesystemStorage(opts.root)
    auth = None
    tokens = None
    token_routes: list = []
    if opts.token_key is not None:
        token_routes, tokens = _token_routes(opts)
    elif opts.htpasswd is not None:
        from skiff.registry.server.auth import HtpasswdAuth

        auth = HtpasswdAuth(opts.htpasswd, anonymous_read=opts.anonymous_read)

    async def v2(request: Request) -> Response:
        method = request.method
        try:
            if tokens is not None:
                path = request.path_params.get("rest", "")
                need = needed_access(path, method, request.query_params)
                header = request.headers.get("authorization") or ""
                if not header.lower().startswith("bearer "):
                    raise _bearer_refusal(tokens, request, need, None)
                why = tokens.check(header[7:].strip(), need)
                if why is not None:
                    raise _bearer_refusal(tokens, request, need, why.replace(" ", "_"))
            if auth is not None:
                user = await to_thread.run_sync(auth.check, method,
                                                request.headers.get("authorization"))
                if user is None:
                    raise RegistryError("UNAUTHORIZED", None,
                                        headers={"WWW-Authenticate": auth.challenge})
            if opts.read_only and method in _WRITE:
                raise _not_allowed("the registry is read-only")
            resp = await _route(store, opts, request, request.path_params.get("rest", ""))
        except RegistryError as e:
            if e.code not in ("UNAUTHORIZED", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN"):
                log.info("%s %s: %s %s", method, request.url.path, e.code, e.detail)
            if method in _WRITE:
                await blobs._drain(request)
            resp = e.response(method)
        except ClientDisconnect:
            resp = Response(b"", status_code=400)
        resp.headers[API_VERSION[0]] = API_VERSION[1]
        return resp

    @contextlib.asynccontextmanager
    async def lifespan(app):
        def purge() -> None:
            n = store.purge_uploads(opts.upload_timeout_s)
            if n:
                log.info("removed %d upload session(s) older than %gs", n, opts.upload_timeout_s)

        await to_thread.run_sync(purge)
        async with anyio.create_task_group() as tg:
            async def loop():
                while True:
                    await anyio.sleep(opts.purge_interval_s)
                    await to_thread.run_sync(purge)

            tg.start_soon(loop)
            yield
            tg.cancel_scope.cancel()

    app = Starlette(routes=[Route("/v2", v2, methods=_ALL),
                            Route("/v2/{rest:path}", v2, methods=_ALL), *token_routes],
                    lifespan=lifespan)
    app.state.storage = store
    app.state.token_realm = opts.token_realm
    return app


def serve(opts: ServerOptions, host: str = "127.0.0.1", port: int = 5000, *,
          tls_cert: Path | None = None, tls_key: Path | None = None,
          log_level: str = "info") -> None:
    """Run the registry on ``host:port`` until SIGINT/SIGTERM (graceful: in-flight
    requests get 30 s to finish). HTTPS when ``tls_cert`` and ``tls_key`` are given."""
    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    config = uvicorn.Config(
        create_app(opts), host=host, port=port, loop="uvloop", http="httptools",
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level=log_level, access_log=log_level == "debug",
        timeout_graceful_shutdown=30, server_header=False, date_header=True,
        timeout_keep_alive=30, backlog=1024,
    )
    uvicorn.Server(config).run()
