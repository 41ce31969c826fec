"""skiff's default seccomp profile against a real Docker daemon (a private dockerd started
for the test): the static probe of tests/integration/seccomp_probe.c prints the same errno
for every syscall under ``docker run`` and ``skiff run``, with the default capabilities,
``--cap-add SYS_ADMIN`` and ``--cap-drop ALL``.
Skips when dockerd is not installed (``apt-get install docker.io``) or gcc is missing.
"""

from __future__ import annotations

import pytest

from tests.integration.test_runtime_seccomp import probe  # noqa: F401 (fixture)
from tests.interop.test_archive_docker import docker  # noqa: F401 (fixture)

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay,
              pytest.mark.slow]


def test_probe_errnos_equal_dockers(cli, docker, probe, busybox_tar):  # noqa: F811
    docker("import", str(busybox_tar), "bb:1")
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    for flags in ((), ("--cap-add", "SYS_ADMIN"), ("--cap-drop", "ALL")):
        argv = ["run", "--rm", "--network", "none", *flags, "-v", f"{probe}:/p:ro", "bb:1", "/p"]
        want = docker(*argv)
        res = cli(*argv)
        assert res.code == 0, res
        assert res.out == want, flags
