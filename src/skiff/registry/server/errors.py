"""The distribution-spec error body and the HTTP status each error code travels with.

distribution-spec "Error Codes": a failed request answers ``{"errors": [{"code",
"message", "detail"}]}``; the codes and their messages are the spec's table (14 codes).
The status codes are those Docker's distribution registry uses for each code.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

#: code -> (HTTP status, the spec's message)
CODES: dict[str, tuple[int, str]] = {
    "BLOB_UNKNOWN": (404, "blob unknown to registry"),
    "BLOB_UPLOAD_INVALID": (400, "blob upload invalid"),
    "BLOB_UPLOAD_UNKNOWN": (404, "blob upload unknown to registry"),
    "DIGEST_INVALID": (400, "provided digest did not match uploaded content"),
    "MANIFEST_BLOB_UNKNOWN": (400, "manifest references a manifest or blob unknown to registry"),
    "MANIFEST_INVALID": (400, "manifest invalid"),
    "MANIFEST_UNKNOWN": (404, "manifest unknown to registry"),
    "NAME_INVALID": (400, "invalid repository name"),
    "NAME_UNKNOWN": (404, "repository name not known to registry"),
    "SIZE_INVALID": (400, "provided length did not match content length"),
    "UNAUTHORIZED": (401, "authentication required"),
    "DENIED": (403, "requested access to the resource is denied"),
    "UNSUPPORTED": (405, "the operation is unsupported"),
    "TOOMANYREQUESTS": (429, "too many requests"),
}


class RegistryError(Exception):
    """An error answered as the spec's JSON body.

    ``code`` is one of :data:`CODES`; ``status`` overrides the code's usual HTTP status
    (e.g. 413 for an oversized manifest, 416 for an out-of-order chunk); ``detail`` is any
    JSON value; ``headers`` are added to the response.
    """

    def __init__(self, code: str, detail: Any = None, *, status: int | None = None,
                 message: str | None = None, headers: dict[str, str] | None = None):
        default_status, default_message = CODES[code]
        self.code = code
        self.status = status or default_status
        self.message = message or default_message
        self.detail = detail
        self.headers = headers or {}
        super().__init__(f"{code}: {self.message}")

    def body(self) -> dict:
        """``{"errors": [{"code", "message", "detail"}]}``."""
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            err["detail"] = self.detail
        return {"errors": [err]}

    def response(self, method: str = "GET") -> Response:
        """The starlette Response (no body for HEAD, as HTTP requires)."""
        data = json.dumps(self.body()).encode()
        headers = {**self.headers, "Content-Type": "application/json; charset=utf-8"}
        if method == "HEAD":
            headers["Content-Length"] = str(len(data))
            return Response(b"", status_code=self.status, headers=headers)
        return Response(data, status_code=self.status, headers=headers)
