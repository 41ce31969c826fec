"""``skiff registry serve`` and ``skiff registry gc``: run and tidy skiff's own registry."""

from __future__ import annotations

from pathlib import Path

from skiff.errors import InvalidArgument


def _root(ctx, value: str | None) -> Path:
    return Path(value).absolute() if value else ctx.config.root / "registry"


def _addr(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``[v6]:PORT`` → (host, port); default host loopback."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidArgument(f"invalid address {value!r}", "expected HOST:PORT")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def serve(ctx, argv: list[str]) -> int:
    """Serve the OCI distribution API until interrupted (SIGINT/SIGTERM: graceful stop)."""
    p = ctx.parser("skiff registry serve", "Run an OCI distribution registry")
    p.add_argument("--addr", default="127.0.0.1:5000", help="Address to listen on (HOST:PORT)")
    p.add_argument("--root", help="Storage directory (default: <skiff root>/registry)")
    p.add_argument("--htpasswd", help="bcrypt htpasswd file: require Basic auth")
    p.add_argument("--anonymous-read", action="store_true",
                   help="With --htpasswd, allow pulls without credentials")
    p.add_argument("--tls-cert", help="TLS certificate (PEM)")
    p.add_argument("--tls-key", help="TLS private key (PEM)")
    p.add_argument("--read-only", action="store_true", help="Refuse pushes and deletes")
    p.add_argument("--disable-delete", action="store_true",
                   help="Refuse DELETE of manifests, tags and blobs")
    p.add_argument("--max-manifest-size", type=int, default=4 << 20, metavar="BYTES",
                   help="Largest manifest accepted (default 4194304)")
    p.add_argument("--upload-timeout", type=float, default=3600.0, metavar="SECONDS",
                   help="Remove unfinished uploads older than this (default 3600)")
    p.add_argument("--auth", choices=["htpasswd", "token"], default=None,
                   help="token: issue Bearer tokens at /token and require them "
                        "(needs --token-key and --token-cert)")
    p.add_argument("--token-key", help="PEM private key signing tokens (RSA or EC P-256)")
    p.add_argument("--token-cert", help="PEM certificate of that key (registries trust it)")
    p.add_argument("--token-issuer", default="skiff-registry", help="The tokens' iss claim")
    p.add_argument("--token-service", default="skiff-registry",
                   help="The service name (the tokens' aud claim)")
    p.add_argument("--token-acl", help='JSON rules [{"account","name","actions"}]')
    p.add_argument("--token-ttl", type=int, default=300, metavar="SECONDS")
    p.add_argument("--token-realm", help="Realm URL announced (default: this server's /token)")
    p.add_argument("--log-level", default="info",
                   choices=["debug", "info", "warning", "error", "critical"])
    a = p.parse_args(argv)
    host, port = _addr(a.addr)
    if bool(a.tls_cert) != bool(a.tls_key):
        raise InvalidArgument("skiff registry serve", "--tls-cert and --tls-key go together")
    for f in (a.htpasswd, a.tls_cert, a.tls_key):
        if f and not Path(f).is_file():
            raise InvalidArgument(f, "no such file")
    token = a.auth == "token"
    if token and not (a.token_key and a.token_cert):
        raise InvalidArgument("skiff registry serve",
                              "--auth token needs --token-key and --token-cert")
    if not token and (a.token_key or a.token_cert or a.token_acl):
        raise InvalidArgument("skiff registry serve", "--token-* options need --auth token")
    if a.auth == "htpasswd" and not a.htpasswd:
        raise InvalidArgument("skiff registry serve", "--auth htpasswd needs --htpasswd")
    for f in (a.token_key, a.token_cert, a.token_acl):
        if f and not Path(f).is_file():
            raise InvalidArgument(f, "no such file")
    if a.anonymous_read and not (a.htpasswd or token):
        raise InvalidArgument("skiff registry serve", "--anonymous-read needs --htpasswd")
    from skiff.registry.server.app import ServerOptions
    from skiff.registry.server.app import serve as run

    opts = ServerOptions(
        root=_root(ctx, a.root),
        htpasswd=Path(a.htpasswd) if a.htpasswd else None,
        anonymous_read=a.anonymous_read, read_only=a.read_only,
        delete_enabled=not a.disable_delete, max_manifest_size=a.max_manifest_size,
        upload_timeout_s=a.upload_timeout,
        token_key=Path(a.token_key) if token else None,
        token_cert=Path(a.token_cert) if token else None,
        token_issuer=a.token_issuer, token_service=a.token_service,
        token_acl=Path(a.token_acl) if a.token_acl else None, token_ttl_s=a.token_ttl,
        token_realm=a.token_realm,
    )
    if token:  # refuse a bad key, certificate or ACL now, not on the first request
        from skiff.registry.server.tokens import TokenKey, load_acl

        TokenKey(opts.token_key, opts.token_cert)
        if opts.token_acl:
            load_acl(opts.token_acl)
    if opts.htpasswd is not None:  # refuse a bad file now, not on the first request
        from skiff.registry.server.auth import load_htpasswd

        load_htpasswd(opts.htpasswd)
    run(opts, host, port, tls_cert=Path(a.tls_cert) if a.tls_cert else None,
        tls_key=Path(a.tls_key) if a.tls_key else None, log_level=a.log_level)
    return 0


def gc(ctx, argv: list[str]) -> int:
    """Delete blobs no manifest references (Docker's ``registry garbage-collect``)."""
    p = ctx.parser("skiff registry gc", "Remove unreferenced blobs from a registry's storage")
    p.add_argument("--root", help="Storage directory (default: <skiff root>/registry)")
    p.add_argument("--dry-run", "-d", action="store_true", help="Only print what would go")
    p.add_argument("--delete-untagged", "-m", action="store_true",
                   help="Also delete manifests no tag reaches")
    p.add_argument("--min-age", type=float, default=0.0, metavar="SECONDS",
                   help="Keep unreferenced blobs younger than this (default 0)")
    a = p.parse_args(argv)
    root = _root(ctx, a.root)
    if not (root / "blobs").is_dir():
        raise InvalidArgument(str(root), "not a registry storage directory")
    from skiff.registry.server.gc import collect
    from skiff.registry.storage import FilesystemStorage

    def say(line: str) -> None:
        ctx.out.write(line + "\n")

    collect(FilesystemStorage(root), dry_run=a.dry_run, delete_untagged=a.delete_untagged,
            min_age_s=a.min_age, log=say)
    return 0
