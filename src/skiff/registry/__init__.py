"""Registries: the pull/push client (``registry.client``) and skiff's own registry server.

The server side is ``registry.server`` (an OCI distribution-spec v1.1 HTTP API on
starlette/uvicorn: ``skiff registry serve``), ``registry.storage`` (where it keeps blobs,
manifests, tags and upload sessions; a narrow interface an object store could implement)
and ``registry.server.gc`` (mark-and-sweep garbage collection: ``skiff registry gc``).
"""
