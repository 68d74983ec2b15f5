"""The home page names every chapter of the table of contents, in its order."""
from __future__ import annotations

import re
from pathlib import Path

from toc import chapter_label, numbered_chapters  # tools/ is on the test path (pytest.ini)

ROOT = Path(__file__).resolve().parents[1]


def test_home_page_lists_every_chapter_in_order():
    home = (ROOT / "chapters" / "index.md").read_text()
    listed = re.findall(r"^- \{ref\}`(chapter-[\w-]+)`", home, re.M)
    assert listed == [chapter_label(f) for f in numbered_chapters()]


def test_home_page_does_not_call_the_book_unfinished():
    home = (ROOT / "chapters" / "index.md").read_text().lower()
    for phrase in ["so far", "coming soon", "to be written"]:
        assert phrase not in home
