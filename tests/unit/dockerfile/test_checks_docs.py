"""docs/checks: each rule's page says what the rule record says, and the README's tables
list every rule and every BuildKit check."""

from __future__ import annotations

import pytest

from skiff.dockerfile.checks import RULES
from tests.conftest import REPO

DOCS = REPO / "docs" / "checks"
# BuildKit's build checks (frontend/dockerfile/linter/ruleset.go, docs reference).
BUILDKIT = ("StageNameCasing", "FromAsCasing", "NoEmptyContinuation",
            "ConsistentInstructionCasing", "DuplicateStageName", "ReservedStageName",
            "JSONArgsRecommended", "MaintainerDeprecated", "UndefinedArgInFrom",
            "WorkdirRelativePath", "UndefinedVar", "MultipleInstructionsDisallowed",
            "LegacyKeyValueFormat", "InvalidBaseImagePlatform", "RedundantTargetPlatform",
            "SecretsUsedInArgOrEnv", "InvalidDefaultArgInFrom",
            "FromPlatformFlagConstDisallowed", "CopyIgnoredFile",
            "InvalidDefinitionDescription", "ExposeProtoCasing", "ExposeInvalidFormat")


@pytest.mark.parametrize("name", sorted(RULES))
def test_page_matches_rule(name):
    r = RULES[name]
    lines = (DOCS / f"{name}.md").read_text().splitlines()
    assert lines[0] == f"# {name}"
    assert lines[2] == r.description + "."
    assert [ln for ln in lines if ln.startswith("Fix: ")] == [f"Fix: {r.fix}."]
    refs = [ln for ln in lines if ln.startswith("Reference: ")]
    assert len(refs) == 1
    if r.url.startswith("https://"):
        assert refs[0] == f"Reference: {r.url}"
    assert "## Bad" in lines and "## Good" in lines


def test_readme_tables():
    text = (DOCS / "README.md").read_text()
    assert [n for n in RULES if f"| [{n}]({n}.md) |" not in text] == []
    section = text.split("## Coverage: BuildKit's build checks", 1)[1].split("\n## ", 1)[0]
    rows = {ln.split("|")[1].strip(): ln.split("|")[2].strip() for ln in section.splitlines()
            if ln.startswith("| ") and ln.split("|")[1].strip() in BUILDKIT}
    assert sorted(rows) == sorted(BUILDKIT)
    assert {k: v.split()[0] for k, v in rows.items()} == {k: "yes" for k in BUILDKIT}
    assert set(BUILDKIT) <= set(RULES)
