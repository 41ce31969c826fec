"""QA (session 2): skiff build against BuildKit's documented semantics."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def test_copy_heredoc_expands_unless_delimiter_quoted(cli, busybox_tar, tmp_path):
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    (tmp_path / "Dockerfile").write_text(
        "FROM bb:1\nENV V=val\n"
        "COPY <<a.txt /dst/\nA $V\na.txt\n"
        "COPY <<\"b.txt\" /dst/\nB $V\nb.txt\n")
    assert cli("build", "-q", "-t", "qa2-heredoc", str(tmp_path)).code == 0
    r = cli("run", "--rm", "qa2-heredoc", "cat", "/dst/a.txt", "/dst/b.txt")
    assert (r.code, r.out) == (0, "A val\nB $V\n")
