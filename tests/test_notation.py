"""The notation page: one table per chapter in the book's order, and no letter
listed with two meanings unless the page says so.

The page is read as text. A row's symbols are the ``$...$`` groups of its first
cell; a symbol's letter is its first Latin or Greek letter, after the
decorations that do not change it (hat, tilde, bar, norms).
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from toc import chapter_label, numbered_chapters  # tools/ is on the test path (pytest.ini)

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "chapters" / "notation.md"
DECORATIONS = {"hat", "tilde", "bar", "overline", "lVert", "rVert", "text", "mathrm", "left", "right"}


def sections(text):
    """{heading: body} for the ## and ### headings of the page."""
    parts = re.split(r"^#{2,3} (.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def table_rows(body):
    """First and second cells of each table row below the header."""
    rows = [line for line in body.splitlines() if line.startswith("| ") and not line.startswith("| Symbol")
            and not line.startswith("| Letter")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


def symbols(cell):
    """The symbols of a first cell: each $...$ group, the part left of any '='."""
    return [s.split("=")[0].strip() for s in re.findall(r"\$([^$]+)\$", cell)]


def letter(symbol):
    """The letter a symbol is written with: \\kappa(V) -> \\kappa, h^{(l)} -> h, \\tilde s -> s."""
    for token in re.findall(r"\\[A-Za-z]+|[A-Za-z]", symbol):
        if token.lstrip("\\") not in DECORATIONS:
            return token
    raise AssertionError(f"no letter in {symbol!r}")


@pytest.fixture(scope="module")
def page():
    return sections(PAGE.read_text())


def chapter_sections(page):
    """{chapter label: rows} for the sections of single chapters, in page order."""
    found = {}
    for heading, body in page.items():
        m = re.search(r"^Defined in \{ref\}`(chapter-[\w-]+)`\.", body.strip(), re.M)
        if m:
            found[m.group(1)] = table_rows(body)
    return found


def test_one_section_per_chapter_in_reading_order(page):
    expected = [chapter_label(f) for f in numbered_chapters()]
    assert list(chapter_sections(page)) == expected


def several_meanings(page):
    rows = table_rows(page["Letters with several meanings"])
    return {letter(s) for row in rows for s in symbols(row[0])}


def test_a_symbol_is_listed_once_unless_its_letter_has_several_meanings(page):
    """A symbol listed in two places is either a duplicate to remove or a letter
    with two meanings, which the last table must name."""
    where = defaultdict(list)
    for heading, body in page.items():
        if heading == "Letters with several meanings":
            continue
        for row in table_rows(body):
            for s in symbols(row[0]):
                where[re.sub(r"\s+", "", s)].append(heading)
    repeated = {s: h for s, h in where.items() if len(h) > 1}
    unexplained = {s: h for s, h in repeated.items() if letter(s) not in several_meanings(page)}
    assert not unexplained, f"symbols listed more than once: {unexplained}"


def test_every_letter_with_several_meanings_is_used_in_two_places(page):
    """The last table must not name a letter that only one table defines."""
    places = defaultdict(set)
    for heading, body in page.items():
        if heading == "Letters with several meanings":
            continue
        for row in table_rows(body):
            for s in symbols(row[0]):
                places[letter(s)].add(heading)
    lonely = {x: places[x] for x in several_meanings(page) if len(places[x]) < 2}
    assert not lonely, f"letters said to have several meanings but defined in one table only: {lonely}"


def test_letter_parsing():
    assert [letter(s) for s in [r"\kappa(V)", "h^{(l)}", r"\tilde s_j", r"\lVert g \rVert_1", r"\lambda_{\max}"]] == [
        r"\kappa", "h", "s", "g", r"\lambda"]
    assert symbols(r"$z^{(l)} = W^{(l)} a$, $q^*$") == ["z^{(l)}", "q^*"]
