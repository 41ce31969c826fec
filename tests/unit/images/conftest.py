"""Fixtures shared by the image-store tests."""

from __future__ import annotations

import pytest

from skiff import metadata
from skiff.config import Config
from skiff.images import ImageService


@pytest.fixture
def svc(tmp_path):
    """An ImageService over a fresh store root under ``tmp_path`` (real SQLite, real files)."""
    cfg = Config(root=tmp_path / "root")
    cfg.root.mkdir()
    db = metadata.connect(cfg.metadata_path)
    yield ImageService(cfg, db)
    db.close()
