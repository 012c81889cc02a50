"""Research packaging: the licence, the citation file and the ODD description agree with the
project's metadata and with the model card they point into. Reads files only."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

ODD_ELEMENTS = (
    "Purpose and patterns",
    "Entities, state variables and scales",
    "Process overview and scheduling",
    "Design concepts",
    "Initialization",
    "Input data",
    "Submodels",
)
DESIGN_CONCEPTS = (
    "Basic principles",
    "Emergence",
    "Adaptation",
    "Objectives",
    "Learning",
    "Prediction",
    "Sensing",
    "Interaction",
    "Stochasticity",
    "Collectives",
    "Observation",
)

# A section reference: "§5", "§5.6" or a range "§7.1–§7.5" / "§7.1–7.5".
SECTION_REF = re.compile(r"§(\d+(?:\.\d+)*)(?:\s*[–-]\s*§?(\d+(?:\.\d+)*))?")
NUMBERED_HEADING = re.compile(r"^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def project() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]


@pytest.fixture(scope="module")
def citation() -> dict:
    return yaml.safe_load(read("CITATION.cff"))


@pytest.fixture(scope="module")
def odd() -> str:
    return read("docs/odd.md")


def numbered_sections(text: str) -> set[str]:
    """The section numbers of a document's numbered headings ("## 5. …", "### 5.6 …")."""
    return set(NUMBERED_HEADING.findall(text))


def headings(text: str, level: int) -> list[str]:
    """The titles of the headings of one level, in order, without their numbers."""
    marks = "#" * level
    found = re.findall(rf"^{marks}\s+(.+?)\s*$", text, re.MULTILINE)
    return [re.sub(r"^\d+(?:\.\d+)*\.?\s+", "", title) for title in found]


# ---------------------------------------------------------------------------- CITATION.cff


def test_citation_is_cff_1_2_0_with_the_required_keys(citation):
    assert citation["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors"):
        assert citation.get(key), key
    assert {"name": "The CXM Lab developers"} in citation["authors"]
    assert citation.get("abstract") and citation.get("keywords")


def test_citation_version_and_licence_match_pyproject(citation, project):
    assert isinstance(citation["version"], str)
    assert citation["version"] == project["version"]
    assert citation["license"] == project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]


def test_citation_references_are_complete_and_include_the_odd_protocol(citation):
    references = citation["references"]
    for reference in references:
        for key in ("type", "title", "authors"):
            assert reference.get(key), (key, reference.get("title"))
    odd = [r for r in references if "ODD protocol" in r["title"]]
    assert len(odd) == 1
    assert odd[0]["year"] == 2020 and odd[0]["volume"] == 23
    assert odd[0]["authors"][0]["family-names"] == "Grimm"
    cited = {(r["authors"][0]["family-names"], r["year"]) for r in references}
    expected = {("Bass", 1969), ("Reichheld", 2003), ("Dixon", 2010)}
    expected |= {("Mandelbaum", 2007), ("Kahneman", 1993)}
    assert expected <= cited


def test_citation_references_are_in_the_model_card(citation):
    card = read("docs/model.md")
    references = card[re.search(r"^## \d+\. References$", card, re.M).start() :]
    for reference in citation["references"]:
        if "ODD protocol" in reference["title"]:
            continue
        first_author = reference["authors"][0]["family-names"]
        assert re.search(
            rf"^- {re.escape(first_author)},.*\({reference['year']}\)", references, re.M
        )
        title = " ".join(reference["title"].split())
        assert title in " ".join(references.split()), title


# ---------------------------------------------------------------------------- LICENSE


def test_licence_is_the_mit_text_naming_the_copyright_holder():
    text = " ".join(read("LICENSE").split())
    assert text.startswith("MIT License Copyright (c) 2026 The CXM Lab developers ")
    for passage in (
        "Permission is hereby granted, free of charge, to any person obtaining a copy of this "
        'software and associated documentation files (the "Software"), to deal in the '
        "Software without restriction",
        "The above copyright notice and this permission notice shall be included in all "
        "copies or substantial portions of the Software.",
        'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND',
        "IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM",
    ):
        assert passage in text, passage


# ---------------------------------------------------------------------------- docs/odd.md


def test_odd_has_the_seven_elements_in_order(odd):
    elements = [title for title in headings(odd, 2) if title != "References"]
    assert elements == list(ODD_ELEMENTS)
    numbers = re.findall(r"^##\s+(\d+)\.\s", odd, re.MULTILINE)
    assert numbers == [str(n) for n in range(1, 8)]


def test_odd_has_the_eleven_design_concepts_in_order(odd):
    start = odd.index("## 4. Design concepts")
    end = odd.index("## 5. Initialization")
    assert headings(odd[start:end], 3) == list(DESIGN_CONCEPTS)
    assert re.findall(r"^### 4\.(\d+) ", odd[start:end], re.MULTILINE) == [
        str(n) for n in range(1, 12)
    ]


def test_odd_says_why_a_design_concept_is_not_used(odd):
    for section in re.split(r"^### ", odd, flags=re.MULTILINE)[1:]:
        body = section.split("\n", 1)[1].strip()
        if body.startswith("Not used"):
            assert len(body.split(".")[1].split()) >= 5, section.split("\n", 1)[0]


def cited_document(odd: str, position: int) -> str:
    """Which document a section reference at `position` points into: the last one named
    before it on its line, else the model card (as in the submodels table)."""
    line = odd[odd.rfind("\n", 0, position) + 1 : position]
    named = re.findall(r"model card|contact_centre\.md", line)
    return named[-1] if named and named[-1] == "contact_centre.md" else "model card"


def test_every_section_the_odd_cites_exists(odd):
    sections = {
        "model card": numbered_sections(read("docs/model.md")),
        "contact_centre.md": numbered_sections(read("docs/contact_centre.md")),
    }
    assert {"1.1", "5.6", "15.2", "17"} <= sections["model card"]
    cited = {"model card": 0, "contact_centre.md": 0}
    for match in SECTION_REF.finditer(odd):
        document = cited_document(odd, match.start())
        for number in filter(None, match.groups()):
            assert number in sections[document], (document, odd[match.start() - 40 : match.end()])
        cited[document] += 1
    assert cited["model card"] >= 40 and cited["contact_centre.md"] >= 1
    assert len(re.findall(r"model card §\d", odd)) >= 40
