"""Fixtures shared by the QA passes' tests."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Debian's docker-registry on 127.0.0.1 without auth, one per test module (each QA
    module pushes its own repositories into a registry of its own)."""
    if not shutil.which("docker-registry"):
        pytest.skip("peer tool 'docker-registry' not installed")
    from tests.interop.regclient.servers import start_registry

    r = start_registry(tmp_path_factory.mktemp("qa-registry"))
    yield r
    r.stop()
