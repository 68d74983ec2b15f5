"""What every page of the built site carries, checked in the HTML (no browser needed).

Version and metadata from CITATION.cff, descriptions and social cards, the cite
block of each chapter, the notebook downloads and the wheel they install, the
sitemap, robots.txt and 404 page, and the published link targets.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import published_labels  # tools/ is on the test path (pytest.ini)
import pytest
import yaml
from bs4 import BeautifulSoup

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent



CFF = yaml.safe_load((ROOT / "CITATION.cff").read_text())
URL = CFF["url"].rstrip("/") + "/"


def chapter_pages(html: Path) -> list[Path]:
    return sorted(html.glob("chapters/[0-9][0-9]-*.html"))


def content_pages(html: Path) -> list[Path]:
    return sorted(html.glob("chapters/*.html"))


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_every_page_shows_the_version_from_citation_cff(built_book):
    for page in content_pages(built_book.html) + [built_book.html / "search.html"]:
        footer = soup(page).select_one(".book-version")
        assert footer is not None, page.name
        assert f"Version {CFF['version']}" in footer.get_text(), page.name


def test_every_page_has_a_description_and_social_card(built_book):
    for page in content_pages(built_book.html):
        document = soup(page)
        description = document.find("meta", attrs={"name": "description"})
        assert description is not None and 40 <= len(description["content"]) <= 200, page.name
        assert "\\" not in description["content"], f"{page.name}: TeX in the description"
        og = {m["property"]: m["content"] for m in document.find_all("meta", attrs={"property": True})}
        assert og["og:url"] == URL + page.relative_to(built_book.html).as_posix()
        assert og["og:title"] and og["og:description"] == description["content"]


def test_chapter_descriptions_come_from_their_summaries(built_book):
    for page in chapter_pages(built_book.html):
        document = soup(page)
        description = document.find("meta", attrs={"name": "description"})["content"].rstrip(".")
        summary = document.find(id=re.compile(r"summary$")) or document.find(
            lambda tag: tag.name == "section" and tag.find("h2") and "Summary" in tag.find("h2").get_text())
        assert summary is not None, page.name
        first_words = description.split("...")[0][:40]
        assert first_words in " ".join(summary.get_text().split()), page.name


def test_each_chapter_ends_with_its_bibtex_from_citation_cff(built_book):
    for page in chapter_pages(built_book.html):
        section = soup(page).find(id="cite-this-chapter")
        assert section is not None, page.name
        bibtex = section.find("pre").get_text()
        assert f"version   = {{{CFF['version']}}}" in bibtex
        assert f"booktitle = {{{CFF['title']}}}" in bibtex
        assert f"url       = {{{URL}chapters/{page.name}}}" in bibtex
        number = re.search(r"chapter   = \{(\d+)\}", bibtex).group(1)
        assert soup(page).select_one("section > h1").get_text().strip().startswith(f"{number}.")


def test_each_chapter_downloads_as_a_notebook_with_the_wheel_beside_it(built_book):
    html = built_book.html
    wheels = sorted((html / "_downloads").glob("gradlab-*-py3-none-any.whl"))
    assert [w.name for w in wheels] == [f"gradlab-{CFF['version']}-py3-none-any.whl"]
    for page in chapter_pages(html):
        link = soup(page).select_one("a.book-download-ipynb")
        assert link is not None, page.name
        notebook = (page.parent / link["href"]).resolve()
        assert notebook.is_file() and notebook.suffix == ".ipynb"
        cells = json.loads(notebook.read_text())["cells"]
        assert wheels[0].name in "".join(cells[0]["source"]) + "".join(cells[1]["source"])
        assert not any(cell.get("outputs") for cell in cells if cell["cell_type"] == "code")


def test_sitemap_robots_and_404(built_book):
    html = built_book.html
    sitemap = (html / "sitemap.xml").read_text()
    listed = set(re.findall(r"<loc>([^<]+)</loc>", sitemap))
    assert {URL + p.relative_to(html).as_posix() for p in content_pages(html)} <= listed
    assert f"Sitemap: {URL}sitemap.xml" in (html / "robots.txt").read_text()
    not_found = soup(html / "404.html")
    assert not_found.find("base")["href"] == "/" + URL.split("://")[1].split("/", 1)[1]
    assert "Page not found" in not_found.select_one("section > h1").get_text()


def test_no_page_loads_the_icon_font_or_unused_scripts(built_book):
    for page in content_pages(built_book.html):
        text = page.read_text(encoding="utf-8")
        for needle in ("fontawesome.js", "sphinx-thebe", "design-tabs.js", "searchindex.js", "mathjax"):
            assert not re.search(rf'<(script|link)[^>]*{re.escape(needle)}', text, re.I), f"{page.name} loads {needle}"
        assert not re.search(r'<(i|span) class="[^"]*\bfa-', text), f"{page.name} has an icon-font icon"


def test_no_page_waits_for_a_script_or_for_more_than_one_stylesheet_before_it_paints(built_book):
    for page in content_pages(built_book.html):
        head = page.read_text(encoding="utf-8").split("</head>", 1)[0]
        blocking = [s for s in re.findall(r"<script\b[^>]*\bsrc=[^>]*>", head)
                    if not re.search(r"\b(defer|async)\b", s)]
        assert blocking == [], f"{page.name} waits for {blocking}"
        sheets = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"|<link[^>]*href="([^"]+)"[^>]*rel="stylesheet"', head)
        sheets = [a or b for a, b in sheets]
        assert len(sheets) == 1 and "/_static/bundle-" in sheets[0], f"{page.name} links {sheets}"
        assert (page.parent / sheets[0]).resolve().is_file()


def test_a_page_with_formulas_preloads_the_math_font_and_no_other_page_does(built_book):
    for page in content_pages(built_book.html):
        text = page.read_text(encoding="utf-8")
        head = text.split("</head>", 1)[0]
        preloads = re.findall(r'font\.crossOrigin = "anonymous"; font\.href = "([^"]+\.woff2)"', head)
        if "<math" in text:
            assert len(preloads) == 1 and (page.parent / preloads[0]).resolve().is_file(), page.name
            assert preloads[0].endswith("_static/math/STIXTwoMath-subset.woff2")
        else:
            assert preloads == [], page.name


def test_every_published_link_target_still_exists(built_book):
    published = (ROOT / "tests" / "published_labels.txt").read_text().split()
    current = set(published_labels.published_targets(built_book.html))
    missing = [target for target in published if target not in current]
    assert missing == [], "published links that no longer resolve (labels are never renamed)"
    assert len(published) >= 60
