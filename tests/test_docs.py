"""The project's documentation: complete for every bundled scenario, and self-contained."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]


def test_the_docs_pages_exist():
    assert {page.name for page in DOCS} >= {"format.md", "steps.md", "reports.md", "scenarios.md", "glossary.md"}


@pytest.mark.parametrize("scenario", sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "scenarios").glob("python/*.py")),
                         ids=lambda path: path.name)
def test_every_bundled_scenario_is_listed_with_what_it_teaches(scenario):
    text = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    row = re.search(rf"^\| `{re.escape(scenario.name)}` \| (.+) \|$", text, re.MULTILINE)
    assert row is not None, f"{scenario.name} is not in docs/scenarios.md"
    assert len(row.group(1).split()) >= 5  # a sentence on what it teaches, not a bare name


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_no_page_points_outside_the_project(page):
    text = page.read_text(encoding="utf-8")
    assert "../shared" not in text and "SPEC.md" not in text and "SPEC section" not in text
    assert "/work/" not in text


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_every_relative_link_leads_to_a_file_of_the_project(page):
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (page.parent / target).resolve().exists(), f"{page.name} links to {target}, which is missing"


def test_the_readme_links_to_the_format_and_the_steps():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/format.md)" in text and "(docs/steps.md)" in text and "(docs/glossary.md)" in text
