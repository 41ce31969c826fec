"""The registry client: pull, push, login and logout over the OCI distribution spec.

``pull``, ``push`` and ``ensure_image`` (from :mod:`.api`) are available here too, loaded
on first use so that importing the package costs nothing::

    from skiff.registry import client
    image = client.pull(config, db, "localhost:5000/app:1")

Submodules: ``transport`` (HTTP, TLS, retries), ``auth`` (challenges, tokens),
``credentials`` (Docker config.json, helpers), ``manifests`` (negotiation, platforms),
``transfer`` (one blob up or down), ``pulling``/``pushing`` (one image against a blob sink or
source), ``layout`` (an OCI layout directory as sink/source), ``progress``, ``api``
(the verbs on skiff's store), ``login``.
"""

from __future__ import annotations

_API = ("pull", "push", "ensure_image", "pull_report", "push_report", "list_tags")


def __getattr__(name: str):
    if name in _API:
        from skiff.registry.client import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
