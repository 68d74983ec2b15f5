"""The built site in a real browser: Debian's Chromium, driven by Playwright.

Every page is enumerated from the build and opened at phone width (390 px), in the
light and in the dark theme, from a local server that serves the site under the
same path as GitHub Pages does. On every page: no console warning or error, no
failed request, no request to another host, every image loaded, every equation
rendered by KaTeX (no TeX left visible), no sideways scrolling of the page, and no
axe-core violation of any impact (axe from the npm package, injected into the
page, no rule disabled). Also: the search page finds the initialisation chapter,
a downloaded copy reads from disk with no request at all, printing gives a
document without sidebars or cut-off code, and light and dark screenshots of a
chapter are kept in ``_build/test-artifacts/``.

Without Chromium these tests skip and say how to install it; under CI
(``GRADLAB_REQUIRE_BROWSER=1``, set by ``.ci/run``) they fail instead.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

pytestmark = [pytest.mark.book, pytest.mark.browser]

import site_audit  # tools/ is on the test path (pytest.ini)

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, AXE, FLAGS, PHONE = site_audit.CHROMIUM, site_audit.AXE, site_audit.FLAGS, site_audit.PHONE
REQUIRED = os.environ.get("GRADLAB_REQUIRE_BROWSER") == "1"
ARTIFACTS = ROOT / "_build" / "test-artifacts"


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = ("Chromium is not installed: `sudo apt-get install chromium` (Debian/Ubuntu) "
                   "runs the browser tests; Playwright's own browser downloads are not used")
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make node` (npm ci)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def site_pages(html: Path) -> list[str]:
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if not p.relative_to(html).as_posix().startswith(("_static/", "_downloads/", "_sources/")))


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
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
    return files


def new_context(browser, theme: str, **options):
    context = browser.new_context(viewport=PHONE, **options)
    # the theme's own switch stores the reader's choice in localStorage
    context.add_init_script(f"localStorage.setItem('mode', '{theme}'); localStorage.setItem('theme', '{theme}');")
    return context


class Visit:
    """One page load with everything the checks need recorded."""

    def __init__(self, context, url: str):
        self.console, self.failed, self.hosts = [], [], []
        self.page = context.new_page()
        self.page.on("console", lambda m: m.type in ("warning", "error") and self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"exception: {e}"))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.url} ({r.status})"))
        self.page.on("request", lambda r: self.hosts.append(urlsplit(r.url).netloc))
        self.page.goto(url, wait_until="networkidle")

    def close(self):
        self.page.close()


PAGE_FACTS = """() => {
  const root = document.documentElement;
  const images = [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);
  const maths = document.querySelectorAll('.math').length;
  const rendered = document.querySelectorAll('.math .katex').length;
  const errors = document.querySelectorAll('.katex-error').length;
  const prose = document.querySelector('article') ? document.querySelector('article').cloneNode(true) : null;
  let tex = '';
  if (prose) {
    prose.querySelectorAll('pre, code, .katex, script, style').forEach(n => n.remove());
    const m = prose.textContent.match(/\\$\\$|\\\\\\(|\\\\\\[|\\\\begin\\{|\\\\frac\\{/);
    tex = m ? prose.textContent.slice(Math.max(0, m.index - 40), m.index + 40) : '';
  }
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, images, maths, rendered, errors, tex,
          theme: root.dataset.theme};
}"""


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                          ".map(v => `${v.id} (${v.impact}): ${v.nodes.length} x ${v.nodes[0].target.join(' ')}`)")
    return found


# --------------------------------------------------------------------------- every page

def test_every_page_is_enumerated(built_book):
    pages = site_pages(built_book.html)
    # besides the toc: the redirect at the root, the generated indexes (general, Python
    # modules, sphinx-proof's list of theorems), the search page and the 404 page
    generated = {"index.html", "genindex.html", "py-modindex.html", "prf-prf.html", "search.html", "404.html"}
    expected = {f"{f}.html" for f in toc_files()} | generated
    assert set(pages) == expected, set(pages) ^ expected


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_in_a_real_browser(browser, site, built_book, theme):
    context = new_context(browser, theme)
    problems = []
    for name in site_pages(built_book.html):
        visit = Visit(context, site + name)
        where = f"{theme} {name}"
        if name == "index.html":  # the root sends the reader on to the contents, checked as its own page
            visit.page.wait_for_url("**/chapters/index.html")
            problems += [f"{where}: console {m}" for m in visit.console]
            # (leaving the page at once cancels its own requests: ERR_ABORTED is expected)
            problems += [f"{where}: failed request {r}" for r in visit.failed if "ERR_ABORTED" not in r]
            visit.close()
            continue
        facts = visit.page.evaluate(PAGE_FACTS)
        problems += [f"{where}: console {m}" for m in visit.console]
        problems += [f"{where}: failed request {r}" for r in visit.failed]
        other = [h for h in visit.hosts if h and h != urlsplit(site).netloc]
        if other:
            problems.append(f"{where}: {len(other)} requests to other hosts: {sorted(set(other))}")
        if facts["images"]:
            problems.append(f"{where}: images not loaded: {facts['images']}")
        if facts["rendered"] != facts["maths"] or facts["errors"]:
            problems.append(f"{where}: {facts['maths'] - facts['rendered']} equations not rendered, "
                            f"{facts['errors']} KaTeX errors")
        if facts["tex"]:
            problems.append(f"{where}: raw TeX visible: {facts['tex']!r}")
        if facts["scrollWidth"] > facts["clientWidth"]:
            problems.append(f"{where}: the page scrolls sideways ({facts['scrollWidth']} px in {facts['clientWidth']} px)")
        if facts["theme"] != theme:
            problems.append(f"{where}: the page shows the {facts['theme']} theme")
        problems += [f"{where}: axe {v}" for v in axe_violations(visit.page)]
        visit.close()
    context.close()
    assert problems == []


# --------------------------------------------------------------------------- single features

def test_search_finds_the_initialisation_chapter(browser, site, built_book):
    context = new_context(browser, "light")
    visit = Visit(context, site + "search.html?q=Xavier")
    visit.page.wait_for_selector("#search-results .search-summary, #search-results p.search-summary",
                                 timeout=30_000)
    found = visit.page.eval_on_selector_all("#search-results ul.search li a",
                                            "links => links.map(a => a.getAttribute('href'))")
    context.close()
    pages = {p.relative_to(built_book.html).as_posix() for p in built_book.html.glob("chapters/*.html")
             if "Xavier" in p.read_text(encoding="utf-8")}
    assert pages, "some page mentions Xavier initialisation"
    hits = {urlsplit(h).path.lstrip("./") for h in found}
    assert {p for p in pages if p.endswith("initialisation.html")} <= hits
    assert hits & pages


def test_a_downloaded_copy_reads_offline(browser, built_book, tmp_path):
    copy = tmp_path / "site"
    shutil.copytree(built_book.html, copy)
    context = new_context(browser, "light")
    for name in ("chapters/01-depth.html", "chapters/api.html"):
        visit = Visit(context, (copy / name).as_uri())
        facts = visit.page.evaluate(PAGE_FACTS)
        assert visit.failed == [] and visit.console == []
        assert all(h == "" for h in visit.hosts), visit.hosts  # file:// only
        assert facts["images"] == [] and facts["maths"] == facts["rendered"] > 0
        visit.close()
    context.close()


def test_printing_a_chapter(browser, site):
    context = browser.new_context(viewport={"width": 794, "height": 1123})
    visit = Visit(context, site + "chapters/01-depth.html")
    page = visit.page
    page.emulate_media(media="print")
    facts = page.evaluate("""() => ({
      sidebars: [...document.querySelectorAll('.bd-sidebar-primary, .bd-sidebar-secondary, .bd-header')]
                 .filter(e => getComputedStyle(e).display !== 'none').length,
      cutCode: [...document.querySelectorAll('pre')].filter(p => p.scrollWidth > p.clientWidth + 1).length,
      splitFigures: [...document.querySelectorAll('figure, .cell_output img')]
                 .filter(f => !['avoid', 'avoid-page'].includes(getComputedStyle(f).breakInside)).length,
      hiddenCode: [...document.querySelectorAll('details')].filter(d => !d.open).length,
    })""")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.pdf(path=str(ARTIFACTS / "01-depth-print.pdf"), format="A4")
    context.close()
    assert facts == {"sidebars": 0, "cutCode": 0, "splitFigures": 0, "hiddenCode": facts["hiddenCode"]}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots_of_a_chapter(browser, site, theme):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.add_init_script(f"localStorage.setItem('mode', '{theme}'); localStorage.setItem('theme', '{theme}');")
        visit = Visit(context, site + "chapters/01-depth.html")
        visit.page.locator("#fig-depth-matrix-products").first.scroll_into_view_if_needed()
        path = ARTIFACTS / f"01-depth-{theme}-{width}.png"
        visit.page.screenshot(path=str(path))
        context.close()
        assert path.stat().st_size > 10_000


def test_a_missing_address_shows_the_404_page(browser, site):
    context = new_context(browser, "light")
    page = context.new_page()
    response = page.goto(site + "chapters/no-such-chapter.html", wait_until="networkidle")
    assert response.status == 404
    assert "Page not found" in page.inner_text("article")
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != ""
    context.close()


def test_checks_catch_what_they_should():
    """The raw-TeX detector of PAGE_FACTS matches what it must and nothing else."""
    pattern = re.compile(r"\$\$|\\\(|\\\[|\\begin\{|\\frac\{")
    assert pattern.search("the sum $$x$$") and pattern.search(r"a \(x\) b") and pattern.search(r"\frac{1}{2}")
    assert not pattern.search("costs $5 and $6, see (1.2)")


# --------------------------------------------------------------------------- page weight

# A chapter page, its own figures excepted, transfers at most this much (compressed
# as GitHub Pages compresses, fonts as served): HTML, styles, scripts, fonts.
PAGE_BUDGET = 250 * 1024


def test_every_chapter_page_stays_within_its_transfer_budget(browser, site, built_book):
    over = {}
    for page in sorted(built_book.html.glob("chapters/[0-9][0-9]-*.html")):
        sizes = site_audit.page_weight(browser, site + page.relative_to(built_book.html).as_posix())
        own = sum(v for k, v in sizes.items() if k != "figures")
        if own > PAGE_BUDGET:
            over[page.name] = {k: round(v / 1024, 1) for k, v in sizes.items()}
    assert over == {}, f"over {PAGE_BUDGET // 1024} KB without figures (KB by kind): {over}"


def test_the_whole_site_is_small(built_book):
    total = sum(p.stat().st_size for p in built_book.html.rglob("*") if p.is_file())
    assert total < 10 * 2**20, f"the site is {total / 2**20:.1f} MB"


# --------------------------------------------------------------------------- Lighthouse

def test_lighthouse_accessibility_best_practices_and_seo_are_perfect(browser, site, tmp_path):
    """Performance is noisy on two cores, so `make bench` reports it; these three are not."""
    report = site_audit.lighthouse(site + "chapters/01-depth.html", tmp_path / "lighthouse.json",
                                   "accessibility,best-practices,seo")
    scores = {k: v["score"] for k, v in report["categories"].items()}
    failing = {a["id"]: report["audits"][a["id"]]["title"]
               for c in report["categories"].values() for a in c["auditRefs"]
               if a["weight"] > 0 and report["audits"][a["id"]]["score"] not in (None, 1)}
    assert scores == {"accessibility": 1, "best-practices": 1, "seo": 1}, failing
