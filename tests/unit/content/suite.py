"""Behavioural suite every content store must pass (after containerd's content testsuite).

Subclass :class:`ContentStoreSuite` and provide ``make_store(path) -> store``; the store
must offer the skiff.content contract (writer, ingest, write_blob, read_blob, open, exists,
size, delete, walk, cleanup_ingests).
"""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from skiff import digest
from skiff.errors import AlreadyExists, DigestMismatch, InvalidArgument, NotFound, Unavailable

BLOB = os.urandom(3 * (1 << 20) + 17)  # crosses the 1 MiB chunk size
BLOB_DIGEST = digest.of_bytes(BLOB)


def _ingest_in_child(args) -> tuple[str, int]:
    make, path, data = args
    return make(path).ingest(io.BytesIO(data), expected_digest=digest.of_bytes(data))


class ContentStoreSuite:
    """Named behavioural tests: Writer, CommitExists, Resume, Mismatch, Concurrent, Crash..."""

    @staticmethod
    def make_store(path):  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path):
        return self.make_store(tmp_path / "content")

    def test_writer_commit_makes_blob_visible(self, store):
        with store.writer("w1", expected_size=len(BLOB)) as w:
            w.write(BLOB[:100])
            assert not store.exists(BLOB_DIGEST)
            w.write(BLOB[100:])
            assert w.offset == len(BLOB)
            assert w.commit(digest=BLOB_DIGEST) == BLOB_DIGEST
        assert store.exists(BLOB_DIGEST)
        assert store.size(BLOB_DIGEST) == len(BLOB)
        with store.open(BLOB_DIGEST) as f:
            assert f.read() == BLOB
        assert list(store.walk()) == [(BLOB_DIGEST, len(BLOB))]
        assert store.list_ingests() == []

    def test_commit_exists(self, store):
        d = store.write_blob(b"hello")
        w = store.writer("again")
        w.write(b"hello")
        with pytest.raises(AlreadyExists):
            w.commit()
        assert store.write_blob(b"hello") == d == digest.of_bytes(b"hello")
        assert store.read_blob(d) == b"hello"
        assert store.list_ingests() == []

    def test_digest_mismatch_names_both_digests(self, store):
        wrong = digest.of_bytes(b"other")
        with pytest.raises(DigestMismatch) as e:
            store.ingest(io.BytesIO(b"hello"), expected_digest=wrong)
        assert str(e.value).endswith(
            f"digest mismatch: expected {wrong}, got {digest.of_bytes(b'hello')}")
        assert list(store.walk()) == []
        assert store.list_ingests() == []

    def test_size_mismatch_refused(self, store):
        with pytest.raises(InvalidArgument) as e:
            store.ingest(io.BytesIO(b"hello"), expected_size=6)
        assert "unexpected size 5, expected 6" in str(e.value)
        assert list(store.walk()) == []

    def test_resume_after_close(self, store):
        w = store.writer("resumable", expected_digest=BLOB_DIGEST)
        w.write(BLOB[:1000])
        w.close()
        w2 = store.writer("resumable", expected_digest=BLOB_DIGEST)
        assert w2.offset == 1000
        w2.write(BLOB[1000:])
        assert w2.commit() == BLOB_DIGEST
        assert store.read_blob(BLOB_DIGEST) == BLOB

    def test_ref_locked(self, store):
        w = store.writer("busy")
        with pytest.raises(Unavailable) as e:
            store.writer("busy")
        assert str(e.value) == "ref busy: locked by another writer"
        w.abort()
        store.writer("busy").abort()

    def test_exception_in_block_aborts(self, store):
        with pytest.raises(RuntimeError), store.writer("boom") as w:
            w.write(b"partial")
            raise RuntimeError("x")
        assert store.list_ingests() == []

    def test_missing_blob(self, store):
        with pytest.raises(NotFound):
            store.open(BLOB_DIGEST)
        with pytest.raises(NotFound):
            store.size(BLOB_DIGEST)
        with pytest.raises(NotFound):
            store.delete(BLOB_DIGEST)
        assert not store.exists(BLOB_DIGEST)

    def test_delete(self, store):
        d = store.write_blob(b"x")
        store.delete(d)
        assert not store.exists(d)
        assert list(store.walk()) == []

    def test_concurrent_same_blob_both_succeed(self, store, tmp_path):
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(4) as pool:
            results = pool.map(_ingest_in_child,
                               [(self.make_store, store.root, BLOB)] * 8)
        assert results == [(BLOB_DIGEST, len(BLOB))] * 8
        assert list(store.walk()) == [(BLOB_DIGEST, len(BLOB))]
        assert store.read_blob(BLOB_DIGEST) == BLOB
        assert store.list_ingests() == []

    def test_kill_9_mid_ingest_leaves_store_as_before(self, store):
        before = store.write_blob(b"before")
        code = textwrap.dedent(f"""
            import os, signal, sys
            sys.path[:0] = {sys.path!r}
            from tests.unit.content.test_local import TestLocalStore
            s = TestLocalStore.make_store({str(store.root)!r})
            w = s.writer("killed")
            w.write(b"x" * 5000)
            w._f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        """)
        r = subprocess.run([sys.executable, "-c", code], capture_output=True)
        assert r.returncode == -signal.SIGKILL, r.stderr
        reopened = self.make_store(store.root)
        assert list(reopened.walk()) == [(before, 6)]
        assert [(ref, n) for ref, n, _ in reopened.list_ingests()] == [("killed", 5000)]
        w = reopened.writer("killed")  # the dead process's lock is gone: resumable
        assert w.offset == 5000
        w.close()
        assert reopened.cleanup_ingests(older_than_s=3600) == 0  # too recent
        assert reopened.cleanup_ingests(older_than_s=0) == 1
        assert reopened.list_ingests() == []
        assert list(reopened.walk()) == [(before, 6)]

    def test_cleanup_skips_live_writer(self, store):
        w = store.writer("live")
        w.write(b"abc")
        assert store.cleanup_ingests(older_than_s=0) == 0
        assert w.commit() == digest.of_bytes(b"abc")
