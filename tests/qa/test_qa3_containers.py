"""QA pass 3: container listings a Docker user reads (ps -s)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


def test_ps_size_shows_the_rw_layer_and_virtual_size(cli, busybox_tar):
    # docker ps -s: a SIZE column "6B (virtual 1.98MB)" (SizeRw, SizeRootFs = rw + image);
    # {{.Size}} in a template computes it too. skiff accepted -s and showed nothing.
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    assert cli("run", "--name", "qa3sz", "bb:1", "sh", "-c", "echo hello > /f").code == 0
    from skiff.format.humanize import human_size

    image = int(cli("image", "inspect", "-f", "{{.Size}}", "bb:1").out)
    want = f"6B (virtual {human_size(image + 6)})"
    r = cli("ps", "-a", "-s")
    assert r.out.splitlines()[0].split()[-2:] == ["NAMES", "SIZE"]
    assert r.out.splitlines()[1].endswith(f"qa3sz     {want}")
    assert cli("ps", "-a", "--format", "{{.Names}}|{{.Size}}").out == f"qa3sz|{want}\n"
