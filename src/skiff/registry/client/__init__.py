"""The registry client: pull, push, login and logout over the OCI distribution spec.

Submodules: ``transport`` (HTTP, TLS, retries), ``auth`` (challenges, tokens),
``credentials`` (Docker config.json, helpers), ``manifests`` (negotiation, platforms),
``transfer`` (one blob up or down), ``pull``/``push`` (one image against a blob sink or
source), ``layout`` (an OCI layout directory as sink/source), ``progress``.
"""
