"""Fixtures for the registry server's tests: an in-process client and a real server."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_configure(config):
    # starlette's TestClient still works with httpx; its deprecation note is noise here.
    config.addinivalue_line("filterwarnings",
                            "ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture
def reg_root(tmp_path: Path) -> Path:
    return tmp_path / "registry"


@pytest.fixture
def client(reg_root):
    """A starlette TestClient on a fresh registry (delete enabled, no auth)."""
    from starlette.testclient import TestClient

    from skiff.registry.server.app import ServerOptions, create_app

    with TestClient(create_app(ServerOptions(root=reg_root)), base_url="http://reg") as c:
        yield c


@pytest.fixture
def make_client(tmp_path):
    """Build a TestClient with custom ServerOptions fields: ``make_client(read_only=True)``."""
    from starlette.testclient import TestClient

    from skiff.registry.server.app import ServerOptions, create_app

    clients = []

    def make(**kw):
        kw.setdefault("root", tmp_path / "registry")
        c = TestClient(create_app(ServerOptions(**kw)), base_url="http://reg")
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)
