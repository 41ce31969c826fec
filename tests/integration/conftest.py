"""Fixtures for the tests/integration/test_runtime_*.py files (a module that defines its
own ``root`` or ``sk`` uses that one instead)."""

from __future__ import annotations

import pytest

from tests.integration import runtime_support


@pytest.fixture(scope="module")
def root(busybox_tar):
    """The module's store with ``bb:1`` (runtime_support.store)."""
    yield from runtime_support.store(busybox_tar)


@pytest.fixture
def sk(root):
    """skiff in-process against the module's ``root`` store."""
    return runtime_support.runner(root)
