"""Tests of the built site: the strict build, its pages, links, images and outputs.

They share one clean build of the book per test session (see ``conftest.py``).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup

from toc import toc_files  # tools/ is on the test path (pytest.ini)

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent


def pages(html: Path) -> list[Path]:
    """The book's own HTML pages (not Sphinx's search and index pages)."""
    return sorted(html.glob("chapters/**/*.html"))


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_build_is_strict_and_clean(built_book):
    assert "-W" in built_book.log and "-n" in built_book.log and "--keep-going" in built_book.log
    warnings = [line for line in built_book.log.splitlines()
                if re.search(r"\bWARNING\b", line)]
    assert warnings == []


def test_every_toc_entry_produced_a_page(built_book):
    missing = [f for f in toc_files() if not (built_book.html / f"{f}.html").is_file()]
    assert missing == []
    assert (built_book.html / "index.html").is_file()


def test_internal_links_and_anchors_resolve(built_book):
    html = built_book.html
    ids: dict[Path, set[str]] = {}

    def ids_of(path: Path) -> set[str]:
        if path not in ids:
            ids[path] = {tag["id"] for tag in soup(path).find_all(id=True)}
        return ids[path]

    broken = []
    checked = 0
    for page in pages(html) + [html / "index.html"]:
        document = soup(page)
        for tag, attr in (("a", "href"), ("img", "src"), ("link", "href"), ("script", "src")):
            for element in document.find_all(tag):
                url = element.get(attr)
                if not url:
                    continue
                parts = urlsplit(url)
                if parts.scheme or parts.netloc or url.startswith(("mailto:", "javascript:")):
                    continue
                target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
                checked += 1
                if not target.exists():
                    broken.append(f"{page.relative_to(html)}: {url} (no such file)")
                elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in ids_of(target):
                    broken.append(f"{page.relative_to(html)}: {url} (no such anchor)")
    assert checked > 50
    assert broken == []


FILE_NAME = re.compile(r"^[\w.\-/]+\.(png|svg|jpe?g|gif|pdf)$", re.I)


def test_cell_output_images_have_real_alt_text(built_book):
    problems, images = [], 0
    for page in pages(built_book.html):
        for img in soup(page).select(".cell_output img, figure img"):
            images += 1
            alt = (img.get("alt") or "").strip()
            if len(alt.split()) < 5 or FILE_NAME.match(alt) or re.fullmatch(r"[0-9a-f]{16,}", alt):
                problems.append(f"{page.name}: {img.get('src')} has alt {alt!r}")
    assert images >= 4, "the chapters should produce figures"
    assert problems == []


# Things a reader must never see in an output unless the text means it: a traceback,
# a Python warning, or a non-finite number. A cell whose output shows inf or nan on
# purpose carries the tag `nonfinite-intended` (rendered as the class tag_nonfinite-intended).
BAD_OUTPUT = {
    "traceback": re.compile(r"Traceback \(most recent call last\)|^\s*\w+Error: ", re.M),
    "warning": re.compile(r"\b\w*Warning: "),
    "non-finite number": re.compile(r"(?<![\w.])-?(nan|inf)(?![\w])", re.I),
}


def test_no_tracebacks_warnings_or_unintended_nonfinite_outputs(built_book):
    problems = []
    for page in pages(built_book.html):
        for cell in soup(page).select("div.cell"):
            classes = cell.get("class", [])
            for caption in cell.select("figcaption"):
                caption.decompose()  # captions are prose, not output
            output = " ".join(o.get_text(" ") for o in cell.select(".cell_output"))
            for what, pattern in BAD_OUTPUT.items():
                if what == "non-finite number" and "tag_nonfinite-intended" in classes:
                    continue
                if "tag_raises-exception" in classes and what == "traceback":
                    continue
                match = pattern.search(output)
                if match:
                    context = output[max(0, match.start() - 60): match.end() + 20]
                    problems.append(f"{page.name}: {what}: {context!r}")
        for box in soup(page).select("div.stderr, .output.stderr"):
            problems.append(f"{page.name}: stderr output {box.get_text()[:80]!r}")
    assert problems == []


def test_bad_output_patterns_catch_what_they_should():
    assert BAD_OUTPUT["traceback"].search("Traceback (most recent call last):\n  x")
    assert BAD_OUTPUT["traceback"].search("ValueError: bad")
    assert BAD_OUTPUT["warning"].search("RuntimeWarning: overflow encountered")
    assert BAD_OUTPUT["non-finite number"].search("[1.0, inf, 2.0]")
    assert BAD_OUTPUT["non-finite number"].search("loss = nan")
    assert not BAD_OUTPUT["non-finite number"].search("information infinite inference nanosecond")


def test_two_clean_builds_are_identical(book_builds):
    """Two builds from scratch, each executing every chapter, give the same site.

    Every file under _build/html is compared byte for byte: pages, figures and the
    search index. (tools/build.py sets SOURCE_DATE_EPOCH from the last commit and
    fixes PYTHONHASHSEED, and gradlab.plotting fixes the SVG hash salt, which is
    what makes this hold.)
    """
    first, second = book_builds
    for build in book_builds:
        assert build.returncode == 0, build.log[-3000:]
    files_a = sorted(p.relative_to(first.html) for p in first.html.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(second.html) for p in second.html.rglob("*") if p.is_file())
    assert files_a == files_b
    differ = [str(p) for p in files_a
              if (first.html / p).read_bytes() != (second.html / p).read_bytes()]
    assert differ == []
    assert any(p.suffix in (".png", ".svg") for p in files_a), "the book should contain figures"


def test_api_page_documents_every_public_name(built_book):
    """The API page is generated by autodoc from the docstrings, one entry per public name."""
    import importlib

    import gradlab

    ids = {tag["id"] for tag in soup(built_book.html / "chapters" / "api.html").find_all(id=True)}
    missing = []
    for module_name in gradlab.__all__:
        module = importlib.import_module(f"gradlab.{module_name}")
        missing += [f"gradlab.{module_name}.{name}" for name in module.__all__
                    if f"gradlab.{module_name}.{name}" not in ids]
    assert missing == []


def test_pages_load_nothing_from_other_sites(built_book):
    """Scripts, styles and fonts come with the site, so an offline copy works (MathJax included)."""
    external = []
    for page in pages(built_book.html) + [built_book.html / "index.html"]:
        for tag, attr in (("script", "src"), ("link", "href"), ("img", "src")):
            for element in soup(page).find_all(tag):
                url = element.get(attr) or ""
                if tag == "link" and "stylesheet" not in (element.get("rel") or []) and "preload" not in (element.get("rel") or []):
                    continue
                if urlsplit(url).scheme in ("http", "https") or url.startswith("//"):
                    external.append(f"{page.name}: <{tag}> {url}")
    assert external == []
