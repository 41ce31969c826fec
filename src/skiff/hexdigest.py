"""sha256 of short text for derived names and IDs, without loading OpenSSL."""

from __future__ import annotations


def sha256_hex(text: str) -> str:
    """sha256 of ``text`` (UTF-8) as 64 hex digits. Through CPython's built-in sha256
    module where there is one (``_sha256``, 3.12+: ``_sha2``; the same digest): importing
    ``hashlib`` loads OpenSSL's libcrypto (~3-5 ms, paid once per ``skiff run``)."""
    try:
        from _sha256 import sha256
    except ImportError:
        try:
            from _sha2 import sha256
        except ImportError:
            from hashlib import sha256
    return sha256(text.encode()).hexdigest()
