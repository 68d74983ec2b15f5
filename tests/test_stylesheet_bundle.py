"""A page's stylesheets joined into one (``tools/stylesheet_bundle.py``), on a small site.

The bundle must keep the cascade (the page's order), resolve every relative address
from its own folder, inline ``@import``, and follow later edits of the sheets for
pages an incremental build does not rewrite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import stylesheet_bundle as sb  # tools/ is on the test path (pytest.ini)

HEAD = """<html><head>
  <link href="../_static/styles/theme.css?digest=1" rel="stylesheet" />
    <link rel="stylesheet" type="text/css" href="../_static/pygments.css?v=2" />
    <link rel="stylesheet" type="text/css" href="../_static/math/math.css?v=3" />
    <script defer src="../_static/doctools.js"></script>
</head><body><link rel="stylesheet" type="text/css" href="../_static/late.css" /></body></html>"""


@pytest.fixture
def site(tmp_path) -> Path:
    static = tmp_path / "_static"
    (static / "styles").mkdir(parents=True)
    (static / "math").mkdir()
    (static / "basic.css").write_text("body { background: url(file.png); }\n")
    (static / "styles" / "theme.css").write_text(
        '@import "../basic.css";\n.icon { src: url(../vendor/fa.woff2) format("woff2"); }\n')
    (static / "pygments.css").write_text(
        '@charset "utf-8";\n.hll { background: url("data:image/svg+xml,<svg/>"); }\n')
    (static / "math" / "math.css").write_text(
        "@font-face { src: url('./Math.woff2'); }\nmath { font-family: STIX2; }\n")
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "one.html").write_text(HEAD)
    return tmp_path


def bundle(site: Path, wanted: dict) -> str:
    page = site / "chapters" / "one.html"
    new = sb.bundle_page(page.read_text(), page, site, wanted)
    page.write_text(new)
    sb.refresh_bundles(site, wanted)
    return new


def test_the_head_links_one_bundle_in_place_of_its_sheets(site):
    wanted = {}
    page = bundle(site, wanted)
    head = page.split("</head>")[0]
    name = sb.bundle_name(["styles/theme.css", "pygments.css", "math/math.css"])
    assert head.count("<link") == 1
    assert f'<link rel="stylesheet" type="text/css" href="../_static/{name}" />' in head
    assert head.index(name) < head.index("doctools.js")  # still before the scripts
    assert 'href="../_static/late.css"' in page  # the body is not the head's business
    assert list(wanted) == [name]
    assert (site / "_static" / name).is_file()


def test_the_bundle_keeps_order_and_resolves_addresses_from_its_own_folder(site):
    bundle(site, {})
    (css,) = [p.read_text() for p in (site / "_static").glob("bundle-*.css")]
    order = [css.index(s) for s in ("url(file.png)", "url(vendor/fa.woff2)", ".hll", "url('math/Math.woff2')")]
    assert order == sorted(order)  # basic.css (imported first), theme, pygments, math
    assert "@import" not in css and "@charset" not in css
    assert 'url("data:image/svg+xml,<svg/>")' in css  # not an address in the site
    assert "../" not in css.split("*/", 1)[1]


def test_rewriting_a_page_twice_changes_nothing(site):
    once = bundle(site, {})
    assert bundle(site, {}) == once


def test_the_bundled_sheets_are_not_published(site):
    bundle(site, {})
    static = site / "_static"
    assert sorted(p.relative_to(static).as_posix() for p in static.rglob("*.css")) == [
        sb.bundle_name(["styles/theme.css", "pygments.css", "math/math.css"])]


def test_a_page_that_is_not_rewritten_sees_later_edits_of_a_sheet(site):
    bundle(site, {})
    (site / "_static" / "pygments.css").write_text(".hll { color: red; }\n")
    for sheet in ("styles/theme.css", "math/math.css"):  # Sphinx copies them again
        (site / "_static" / sheet).write_text("")
    sb.refresh_bundles(site, {})  # a later build that rewrote no page
    (css,) = [p.read_text() for p in (site / "_static").glob("bundle-*.css")]
    assert ".hll { color: red; }" in css


def test_a_link_outside_the_static_folder_leaves_the_page_alone(site):
    page = site / "chapters" / "one.html"
    text = page.read_text().replace("../_static/pygments.css", "../elsewhere/pygments.css")
    assert sb.bundle_page(text, page, site, {}) == text
    text = page.read_text().replace("math/math.css", "math/missing.css")
    assert sb.bundle_page(text, page, site, {}) == text


def test_a_sheet_that_imports_itself_is_an_error(site):
    (site / "_static" / "basic.css").write_text('@import "styles/theme.css";\n')
    with pytest.raises(ValueError, match="imports itself"):
        sb.sheet_text(site / "_static", "styles/theme.css")
