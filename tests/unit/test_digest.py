"""Digests and chainIDs as the image-spec defines them."""

import hashlib
import io

import pytest

from skiff import digest
from skiff.errors import InvalidArgument


def test_chain_ids_follow_image_spec_formula():
    a, b, c = ("sha256:" + ch * 64 for ch in "abc")
    ab = "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    abc = "sha256:" + hashlib.sha256(f"{ab} {c}".encode()).hexdigest()
    assert digest.chain_ids([a, b, c]) == [a, ab, abc]
    assert digest.chain_ids([]) == []


def test_of_stream_matches_of_bytes():
    data = bytes(range(256)) * 10_000
    assert digest.of_stream(io.BytesIO(data)) == (digest.of_bytes(data), len(data))


@pytest.mark.parametrize("bad", ["sha256:abc", "sha512:" + "a" * 128, "SHA256:" + "a" * 64,
                                 "sha256:" + "A" * 64, ""])
def test_malformed_digests_refused(bad):
    assert not digest.is_digest(bad)
    with pytest.raises(InvalidArgument):
        digest.validate(bad)
