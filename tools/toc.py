"""The book's table of contents, read once for the tools and the tests.

``_toc.yml`` (Jupyter Book's ``jb-book`` format) names a root page and parts
whose entries name files, without the ``.md`` suffix. The numbered parts hold
the chapters.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _toc(book: Path) -> dict:
    return yaml.safe_load((book / "_toc.yml").read_text(encoding="utf-8"))


def toc_files(book: Path = ROOT) -> list[str]:
    """Every file of the table of contents, root first, in reading order (``chapters/01-depth``)."""
    toc = _toc(book)
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", []))
    walk(toc.get("chapters", []))
    return files


def numbered_chapters(book: Path = ROOT) -> list[str]:
    """The files of the numbered parts, the chapters, in reading order."""
    return [entry["file"] for part in _toc(book).get("parts", []) if part.get("numbered")
            for entry in part["chapters"]]


def chapter_label(file: str, book: Path = ROOT) -> str:
    """The ``(chapter-...)=`` label a chapter file starts its title with."""
    text = (book / f"{file}.md").read_text(encoding="utf-8")
    return re.search(r"^\((chapter-[\w-]+)\)=", text, re.M).group(1)
