"""The home page names every chapter of the table of contents, in its order."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_chapters():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [c["file"] for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]


def label(file):
    return re.search(r"^\((chapter-[\w-]+)\)=", (ROOT / f"{file}.md").read_text(), re.M).group(1)


def test_home_page_lists_every_chapter_in_order():
    home = (ROOT / "chapters" / "index.md").read_text()
    listed = re.findall(r"^- \{ref\}`(chapter-[\w-]+)`", home, re.M)
    assert listed == [label(f) for f in toc_chapters()]


def test_home_page_does_not_call_the_book_unfinished():
    home = (ROOT / "chapters" / "index.md").read_text().lower()
    for phrase in ["so far", "coming soon", "to be written"]:
        assert phrase not in home
