"""The bibliography is complete: every citation resolves and every entry is cited.

The strict build already fails on a citation whose key is missing; these tests also
catch the converse (an entry nobody cites, which the global bibliography page would
list without the book ever using it) and check each entry carries what a reader needs
to find the work.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parent.parent
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
VENUE_FIELDS = ("journal", "booktitle", "publisher", "school", "institution", "eprint", "howpublished")


def bibliography():
    return parse_file(str(ROOT / "references.bib"), bib_format="bibtex").entries


def toc_pages() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    return [ROOT / f"{name}.md" for name in files]


def citations() -> dict[str, set[str]]:
    """Each cited key and the pages that cite it."""
    cited: dict[str, set[str]] = {}
    for path in toc_pages():
        for group in CITE.findall(path.read_text(encoding="utf-8")):
            for key in group.split(","):
                cited.setdefault(key.strip(), set()).add(path.name)
    return cited


def test_citation_pattern_reads_every_role_form():
    text = "{cite}`a` and {cite:p}`b, c` and {cite:t}`d`"
    assert [k.strip() for g in CITE.findall(text) for k in g.split(",")] == ["a", "b", "c", "d"]


def test_every_citation_resolves():
    keys = set(bibliography())
    missing = {key: sorted(pages) for key, pages in citations().items() if key not in keys}
    assert not missing, f"cited but not in references.bib: {missing}"


def test_every_entry_is_cited():
    cited = set(citations())
    uncited = sorted(key for key in bibliography() if key not in cited)
    assert not uncited, f"in references.bib but cited by no page of the book: {uncited}"


@pytest.mark.parametrize("key", sorted(bibliography()))
def test_entry_can_be_found(key):
    entry = bibliography()[key]
    fields = {name.lower() for name in entry.fields}
    assert entry.persons.get("author") or entry.persons.get("editor"), f"{key}: no author"
    assert {"title", "year"} <= fields, f"{key}: needs a title and a year"
    assert re.fullmatch(r"(19|20)\d\d", entry.fields["year"]), f"{key}: year {entry.fields['year']!r}"
    assert fields & set(VENUE_FIELDS), f"{key}: no venue (one of {', '.join(VENUE_FIELDS)})"


@pytest.mark.book
def test_bibliography_page_lists_every_entry_once(built_book):
    soup = BeautifulSoup((built_book.html / "chapters" / "bibliography.html").read_text(encoding="utf-8"),
                         "html.parser")
    entries = soup.select("main div.citation")
    assert len(entries) == len(bibliography())
