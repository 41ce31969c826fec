"""``--memory`` as the container sees it (Docker's values on this hybrid v1 host, checked
with dockerd 20.10 / runc 1.1.5: ``docker run -m 64m bb cat .../memory.limit_in_bytes``)."""

from __future__ import annotations

import pytest

from skiff.runtime import cgroups

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


@pytest.mark.parametrize("flags,limit,memsw", [
    (["-m", "64m"], "67108864", "134217728"),  # swap defaults to the limit again
    (["-m", "64m", "--memory-swap", "-1"], "67108864", "9223372036854771712"),
])
def test_memory_limit_visible_inside(sk, flags, limit, memsw):
    if cgroups.is_v2():
        files = "/sys/fs/cgroup/memory.max"
        want = limit + "\n"
    else:
        files = ("/sys/fs/cgroup/memory/memory.limit_in_bytes "
                 "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
        want = f"{limit}\n{memsw}\n"
    res = sk("run", "--rm", *flags, "bb:1", "sh", "-c", f"cat {files}")
    assert (res.code, res.out) == (0, want), res
