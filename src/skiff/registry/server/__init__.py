"""skiff's registry server: the OCI distribution API over starlette/uvicorn.

``app.create_app(ServerOptions) -> Starlette``, ``app.serve(opts, host, port, ...)``;
endpoints in ``blobs`` and ``manifests``; ``auth`` (htpasswd bcrypt), ``errors`` (the spec's
error body), ``gc`` (mark and sweep).
"""

from __future__ import annotations

from skiff.registry.server.app import ServerOptions, create_app, serve

__all__ = ["ServerOptions", "create_app", "serve"]
