"""An offline validator for image-spec JSON schemas (../shared/peer/opencontainers-image-spec).

Follows image-spec-facts' notes: Draft 4, every schema registered under its file name and
its URL aliases, plus the checks the Go validator makes beyond the schema.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re

from tests.conftest import PEER

SCHEMAS = PEER / "opencontainers-image-spec" / "schema"
FACTS = PEER / "image-spec-facts" / "cases.json"


@functools.cache
def facts() -> dict:
    return json.loads(FACTS.read_text())


@functools.cache
def _registry():
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    reg = Registry()
    for name, aliases in facts()["schema_url_aliases"].items():
        res = Resource.from_contents(json.loads((SCHEMAS / name).read_text()),
                                     default_specification=DRAFT4)
        for uri in [name, *aliases]:
            reg = reg.with_resource(uri, res)
    return reg


def _extra(doc, errors: list[str]) -> None:
    """The Go validator's checks beyond the schema (strict base64 data, digests, Env, uri)."""
    if isinstance(doc, dict):
        if "data" in doc and isinstance(doc["data"], str):
            try:
                base64.b64decode(doc["data"], validate=True)
            except (binascii.Error, ValueError):
                errors.append("data is not padded base64")
        dg = doc.get("digest")
        if isinstance(dg, str) and ":" in dg:
            alg, hexpart = dg.split(":", 1)
            lengths = {"sha256": 64, "sha384": 96, "sha512": 128}
            if alg in lengths and not re.fullmatch(f"[a-f0-9]{{{lengths[alg]}}}", hexpart):
                errors.append("bad digest")
        for u in doc.get("urls") or []:
            if isinstance(u, str) and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", u):
                errors.append(f"url {u!r} is not a URI")
        cfg = doc.get("config")
        if isinstance(cfg, dict):
            for e in cfg.get("Env") or []:
                if isinstance(e, str) and not re.fullmatch(r"[^=]+=.*", e, re.S):
                    errors.append(f"bad Env {e!r}")
        for v in doc.values():
            _extra(v, errors)
    elif isinstance(doc, list):
        for v in doc:
            _extra(v, errors)


def errors_of(document: str | bytes | dict, media_type: str) -> list[str]:
    """Validation errors of a document against the schema for ``media_type`` ([] = valid)."""
    import jsonschema

    schema_file = facts()["media_type_to_schema"][media_type]
    schema = json.loads((SCHEMAS / schema_file).read_text())
    try:
        doc = json.loads(document) if not isinstance(document, dict) else document
    except ValueError as e:
        return [f"invalid JSON: {e}"]
    v = jsonschema.Draft4Validator(schema, registry=_registry(),
                                   format_checker=jsonschema.FormatChecker())
    errs = [e.message for e in v.iter_errors(doc)]
    _extra(doc, errs)
    return errs
