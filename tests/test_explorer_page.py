"""The explorer page and the {explore} links: the role in a small Sphinx project, the built page.

The browser tests of the page (controls, presets, ``file://``, keyboard, axe) are in
``test_browser.py``, with the other tests that open the site in Chromium.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from bs4 import BeautifulSoup

from gradlab import explorer

ROOT = Path(__file__).resolve().parent.parent
LINKING_CHAPTERS = ("01-depth", "02-saturation", "03-initialisation", "04-activations", "05-batchnorm",
                    "06-residual")


# --------------------------------------------------------------------------
# the role, in a small Sphinx project
# --------------------------------------------------------------------------
def sphinx_project(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    src, out = tmp_path / "src", tmp_path / "out"
    (src / "chapters").mkdir(parents=True)
    (src / "conf.py").write_text('extensions = ["explorer_page"]\n')
    (src / "index.rst").write_text("Book\n====\n\n.. toctree::\n\n   chapters/explorer\n   chapters/two\n")
    (src / "chapters" / "explorer.rst").write_text("Explorer\n========\n")
    (src / "chapters" / "two.rst").write_text("Two\n===\n\n" + text + "\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tools")}
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(src), str(out)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_the_role_writes_a_relative_link_with_the_preset(tmp_path):
    run = sphinx_project(tmp_path, "See :explore:`a deep sigmoid <init=normal1&depth=30&act=sigmoid>` "
                                   "and :explore:`res=scaled`.")
    assert run.returncode == 0, run.stderr
    page = BeautifulSoup((tmp_path / "out" / "chapters" / "two.html").read_text(), "html.parser")
    links = [(a.get_text(), a["href"]) for a in page.select("a.explore-link")]
    # the preset in the order of the knobs, relative to the linking page
    assert links == [("a deep sigmoid", "explorer.html?depth=30&act=sigmoid&init=normal1"),
                     ("the gradient-flow explorer", "explorer.html?res=scaled")]
    # the explorer's script and styles are on its own page only
    assert "explorer.js" in (tmp_path / "out" / "chapters" / "explorer.html").read_text()
    assert "explorer.js" not in (tmp_path / "out" / "chapters" / "two.html").read_text()
    assert (tmp_path / "out" / "_static" / "explorer.js").is_file()


@pytest.mark.parametrize("preset, message", [("act=softmax", "act must be one of"),
                                             ("colour=red", "knob must be one of"),
                                             ("depth=30&depth=5", "each knob once")])
def test_a_bad_preset_fails_the_strict_build(tmp_path, preset, message):
    run = sphinx_project(tmp_path, f"See :explore:`this <{preset}>`.")
    assert run.returncode != 0
    assert "explorer link with a bad preset" in run.stderr and message in run.stderr
    assert "two.rst" in run.stderr  # the warning says where the link is


# --------------------------------------------------------------------------
# the built book
# --------------------------------------------------------------------------
def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def page_data(html: Path) -> dict:
    """The grid the page carries, with its shared sentences put back in place."""
    node = soup(html / "chapters" / "explorer.html").find("script", id="explorer-data")
    return explorer.unpack(json.loads(node.string))


@pytest.mark.book
def test_chapters_link_to_the_explorer_with_valid_presets(built_book):
    for name in LINKING_CHAPTERS:
        links = soup(built_book.html / "chapters" / f"{name}.html").select("a.explore-link")
        assert links, f"{name} has no link to the explorer"
        for a in links:
            parts = urlsplit(a["href"])
            assert parts.path == "explorer.html" and not parts.netloc
            preset = explorer.parse_preset(parts.query)
            assert "&".join(f"{k}={v}" for k, v in preset.items()) == parts.query


@pytest.mark.book
def test_the_page_holds_the_grid_that_gradlab_computes(built_book):
    data = page_data(built_book.html)
    assert data["knobs"] == [k._asdict() | {"values": list(k.values), "labels": list(k.labels),
                                            "explained": list(k.explained)} for k in explorer.knobs()]
    assert list(data["configs"]) == [c.key for c in explorer.configurations()]
    rng = np.random.default_rng(14)
    configs = explorer.configurations()
    for i in rng.choice(len(configs), size=6, replace=False):
        cfg = configs[int(i)]
        assert data["configs"][cfg.key] == explorer.grid([cfg])["configs"][cfg.key], cfg.key


def stylesheets(path: Path) -> list[str]:
    """The sheets a page links, the ones inside its bundle (tools/stylesheet_bundle.py) listed."""
    sheets = []
    for link in soup(path).find_all("link", href=True):
        if "stylesheet" not in (link.get("rel") or []):
            continue
        href = urlsplit(link["href"]).path
        if "/bundle-" in href:
            header = (path.parent / href).read_text(encoding="utf-8").split("\n", 1)[0]
            sheets += ["../_static/" + s for s in header.removeprefix("/* bundle of: ").removesuffix(" */").split()]
        else:
            sheets.append(href)
    return sheets


def explorer_assets(path: Path) -> dict:
    page = soup(path)
    return {"script": [s["src"] for s in page.find_all("script", src=True) if "explorer" in s["src"]],
            "style": [s for s in stylesheets(path) if "explorer" in s],
            "data": page.find_all("script", id="explorer-data")}


@pytest.mark.book
def test_the_data_is_small_and_loads_on_the_explorer_page_only(built_book):
    node = soup(built_book.html / "chapters" / "explorer.html").find("script", id="explorer-data")
    assert len(gzip.compress(str(node).encode(), 6)) < 300 * 1024
    own = explorer_assets(built_book.html / "chapters" / "explorer.html")
    assert [urlsplit(s).path for s in own["script"]] == ["../_static/explorer.js"]
    assert [urlsplit(s).path for s in own["style"]] == ["../_static/explorer.css"]
    for other in built_book.html.rglob("*.html"):
        if other.name != "explorer.html" and "_static" not in other.parts:
            assert explorer_assets(other) == {"script": [], "style": [], "data": []}, other.name


@pytest.mark.book
def test_every_section_the_explorer_names_is_linked_on_its_page(built_book):
    data = page_data(built_book.html)
    fragments = {urlsplit(a["href"]).fragment
                 for a in soup(built_book.html / "chapters" / "explorer.html").select("article a.reference.internal")}
    named = {record["d"][2] for record in data["configs"].values()} | {k["explained"][0] for k in data["knobs"]}
    assert named <= fragments, named - fragments


@pytest.mark.book
def test_the_links_to_the_sections_read_as_plain_words(built_book):
    # the page's script copies these links into the diagnosis and next to each control: a
    # section whose title holds a formula needs its text set in the page's table (the
    # override in chapters/explorer.md), or its TeX would show
    table = soup(built_book.html / "chapters" / "explorer.html").select("article table a.reference.internal")
    texts = {urlsplit(a["href"]).fragment: a.get_text(" ", strip=True) for a in table}
    assert set(explorer.DIAGNOSIS_LABELS) <= set(texts)
    for label, text in texts.items():
        assert len(text.split()) >= 2 and not any(c in text for c in "$\\^_{}"), (label, text)
    # two sections with one title (chapters 4 and 8 both have "Dead units") must not
    # give two different links the same words
    repeated = {t for t in texts.values() if list(texts.values()).count(t) > 1}
    assert not repeated, {label: t for label, t in texts.items() if t in repeated}
