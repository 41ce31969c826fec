"""The OCI distribution-spec conformance suite against ``skiff registry serve``.

The suite (github.com/opencontainers/distribution-spec/conformance, a Go program) is built
at test time with the machine's Go toolchain from the Go module proxy, never vendored, and
run with every API and data set it has enabled: pull, push, content discovery (tags list,
referrers) and content management (tag, manifest and blob deletes), plus upload cancel,
tag parameters, sha512 content and required Docker-Content-Digest headers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.registry_server.server_proc import RegistryProcess

MODULE = "github.com/opencontainers/distribution-spec/conformance"
# A pseudo-version the module proxy serves (the conformance module has no tags of its own).
VERSION = "v0.0.0-20260831232431-97274622c111"


def _go() -> str | None:
    return shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if os.access(p, os.X_OK)), None)


@pytest.fixture(scope="session")
def conformance_bin(tmp_path_factory) -> Path:
    go = _go()
    if go is None:
        pytest.skip("needs a Go toolchain (go) to build the conformance suite")
    work = tmp_path_factory.mktemp("oci-conformance")
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
    (work / "go.mod").write_text("module skiffconformance\n\ngo 1.24\n")
    out = work / "conformance"
    for cmd in ([go, "get", f"{MODULE}@{VERSION}"], [go, "build", "-o", str(out), MODULE]):
        r = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    return out


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_oci_conformance_all_categories(conformance_bin, tmp_path):
    with RegistryProcess(tmp_path / "reg") as reg:
        env = {**os.environ,
               "OCI_REGISTRY": reg.host, "OCI_TLS": "disabled",
               "OCI_REPO1": "conformance/repo1", "OCI_REPO2": "conformance/repo2",
               "OCI_RESULTS_DIR": str(tmp_path / "results"),
               "OCI_API_PULL": "true", "OCI_API_PUSH": "true",
               "OCI_API_TAGS_LIST": "true", "OCI_API_REFERRER": "true",
               "OCI_API_TAGS_DELETE": "true", "OCI_API_MANIFESTS_DELETE": "true",
               "OCI_API_BLOBS_DELETE": "true", "OCI_API_BLOBS_UPLOAD_CANCEL": "true",
               "OCI_API_MANIFESTS_TAG_PARAM": "true",
               "OCI_API_BLOBS_DIGEST_HEADER": "true", "OCI_API_MANIFESTS_DIGEST_HEADER": "true",
               "OCI_DATA_SHA512": "true"}
        r = subprocess.run([str(conformance_bin)], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=900)
    out = r.stdout
    assert r.returncode == 0, out[-5000:] + r.stderr[-2000:]
    assert "OCI Conformance Test: Pass" in out
    api = out.split("API conformance:")[1].split("Data conformance:")[0]
    results = dict(line.strip().rsplit(":", 1) for line in api.strip().splitlines())
    results = {k.rstrip("."): v.strip() for k, v in results.items()}
    # pull, push, content discovery, content management: every API the suite knows passes
    for name in ("Manifest get by tag", "Blob get", "Blob get range",  # pull
                 "Blob push", "Blob chunked", "Blob streaming", "Blob mount",  # push
                 "Manifest put by digest", "Manifest put with subject",
                 "Tag listing", "Referrers",  # content discovery
                 "Tag delete", "Manifest delete", "Blob delete", "Blob upload cancel"):  # mgmt
        assert results.get(name) == "Pass", (name, results)
    assert set(results.values()) == {"Pass"}, results
    data = out.split("Data conformance:")[1]
    statuses = {ln.strip().rsplit(":", 1)[1].strip() for ln in data.strip().splitlines() if ":" in ln}
    assert statuses <= {"Pass", "Disabled"}, data
