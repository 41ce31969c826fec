"""The local ContentStore against the shared behavioural suite, plus on-disk details."""

from __future__ import annotations

import stat

from skiff.content import BlobWriter, ContentStore, Ingester, IngestManager, Manager, Provider
from tests.unit.content.suite import ContentStoreSuite


class TestLocalStore(ContentStoreSuite):
    @staticmethod
    def make_store(path):
        return ContentStore(path)

    def test_blob_layout_and_read_only(self, store):
        d = store.write_blob(b"hello")
        p = store.root / "blobs" / "sha256" / d.split(":")[1]
        assert p == store.path(d)
        assert stat.S_IMODE(p.stat().st_mode) == 0o444


def test_local_store_plays_every_role(tmp_path):
    s = ContentStore(tmp_path)
    for role in (Provider, Ingester, IngestManager, Manager):
        assert isinstance(s, role)
    w = s.writer("x")
    assert isinstance(w, BlobWriter)
    w.abort()
