"""Sphinx extension: what every page of the book carries beyond its text.

Metadata and citation, all read from ``CITATION.cff`` (the one place they live):

* the book's version in every page footer;
* a description (from the chapter's own summary) and social-card metadata;
* a "Cite this chapter" section with the chapter's BibTeX at the end of every
  numbered chapter;
* ``sitemap.xml``, ``robots.txt`` and a ``404.html`` page.

Downloads: every numbered chapter as a notebook (``_downloads/notebooks/*.ipynb``,
offered in the page's download menu) that runs outside the repository, and the
wheel of ``gradlab`` it installs (``_downloads/gradlab-<version>-py3-none-any.whl``).

Lighter, accessible pages, by rewriting the written HTML once the build is done:

* the toolbar icons become small inline SVGs (taken from the Font Awesome Free
  paths in the theme's own bundle), so the 1.5 MB icon script is not loaded;
* scripts the book does not use are not loaded (the Thebe launcher, sphinx-design's
  tabs, and the search index on every page but the search page), and the others
  are deferred, so that none delays the first paint;
* a page's stylesheets arrive as one bundle (``tools/stylesheet_bundle.py``);
* figures are stored smaller, drawn the same (``tools/figure_optimise.py``);
* files in ``_static`` that nothing names are not published;
* ARIA roles that axe-core reports are corrected (deprecated citation roles, a
  label that hides a summary's visible text).

Each rewrite is idempotent, so pages that an incremental build did not rewrite
stay correct.
"""

from __future__ import annotations

import datetime
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import yaml
from docutils import nodes

import figure_optimise
import stylesheet_bundle
from sphinx.util import logging

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
CITATION = ROOT / "CITATION.cff"
NOTEBOOK_DIR = "_downloads/notebooks"
NUMBERED = re.compile(r"^chapters/\d\d-[\w-]+$")


# --------------------------------------------------------------------------- metadata

def citation() -> dict:
    """The book's metadata from CITATION.cff."""
    cff = yaml.safe_load(CITATION.read_text(encoding="utf-8"))
    authors = [a.get("name") or f"{a['family-names']}, {a['given-names']}" for a in cff["authors"]]
    return {
        "title": cff["title"],
        "authors": authors,
        "version": str(cff["version"]),
        "year": str(cff["date-released"])[:4],
        "url": cff["url"].rstrip("/") + "/",
    }


def chapter_bibtex(meta: dict, number: str, title: str, docname: str) -> str:
    authors = " and ".join(meta["authors"])
    return (
        f"@incollection{{gradlab_book_{meta['year']}_ch{number},\n"
        f"  title     = {{{title}}},\n"
        f"  booktitle = {{{meta['title']}}},\n"
        f"  author    = {{{{{authors}}}}},\n"
        f"  chapter   = {{{number}}},\n"
        f"  year      = {{{meta['year']}}},\n"
        f"  version   = {{{meta['version']}}},\n"
        f"  url       = {{{meta['url']}{docname}.html}}\n"
        "}"
    )


def config_inited(app, config) -> None:
    app.book_started = time.time()  # files older than this were not written by this build
    meta = citation()
    app.book_meta = meta
    config.html_baseurl = meta["url"]
    footer = (f'<p class="book-version">Version {html.escape(meta["version"])} of '
              f'<a href="{html.escape(meta["url"])}">{html.escape(meta["title"])}</a>. '
              'Text CC-BY-4.0, code MIT.</p>')
    config.html_theme_options = {**config.html_theme_options, "extra_footer": footer}


def add_cite_section(app, doctree, docname) -> None:
    """Append "Cite this chapter" to a numbered chapter (its number from the toctree)."""
    if not NUMBERED.match(docname):
        return
    env = app.env
    number = ".".join(map(str, env.toc_secnumbers.get(docname, {}).get("", ())))
    title = env.titles[docname].astext()
    meta = app.book_meta
    section = nodes.section(ids=["cite-this-chapter"], names=["cite this chapter"])
    title_node = nodes.title("", "Cite this chapter")
    # numbered after the chapter's last section (the theme would otherwise repeat the
    # chapter's own number)
    numbers = [n for n in env.toc_secnumbers.get(docname, {}).values() if len(n) == 2]
    if numbers:
        title_node["secnumber"] = (*max(numbers)[:1], max(numbers)[1] + 1)
    section += title_node
    section += nodes.paragraph(
        "", f"This chapter is part of {meta['title']}, version {meta['version']}. "
            "The entry below is generated from the book's CITATION.cff.")
    section += nodes.literal_block("", chapter_bibtex(meta, number, title, docname), language="bibtex")
    # a subsection of the chapter (after its References), not a new top-level section
    chapter = next(iter(doctree.findall(nodes.section)), doctree)
    chapter += section


def plain_text(node) -> str:
    """A node's text with its maths left out (a description is read, not typeset)."""
    parts = []
    for child in node.findall(nodes.Text):
        if not any(isinstance(parent, (nodes.math, nodes.math_block)) for parent in _ancestors(child)):
            parts.append(child.astext())
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _ancestors(node):
    while node.parent is not None:
        node = node.parent
        yield node


def summary_text(doctree) -> str:
    """The summary's statements that read without their maths, joined up to about 160 characters."""
    for section in doctree.findall(nodes.section):
        title = section.next_node(nodes.title)
        if title is None or not title.astext().strip().lower().endswith("summary"):
            continue
        items = [item for item in section.findall(nodes.list_item)] or list(section.findall(nodes.paragraph))
        clean = [plain_text(item) for item in items
                 if not any(True for _ in item.findall(nodes.math))]
        text = ""
        for sentence in clean:
            if len(text) + len(sentence) > 160 and text:
                break
            text = f"{text} {sentence}".strip()
        return text
    return ""


def page_description(app, pagename, doctree) -> str:
    meta = app.book_meta
    text = summary_text(doctree) if doctree is not None else ""
    if not text and doctree is not None:
        first = doctree.next_node(nodes.paragraph)
        text = re.sub(r"\s+", " ", first.astext()).strip() if first is not None else ""
    text = text or f"{meta['title']}: an executable textbook on why gradients vanish or explode."
    if len(text) > 200:
        text = text[:197].rsplit(" ", 1)[0] + "..."
    return text


def html_page_context(app, pagename, templatename, context, doctree) -> None:
    meta = app.book_meta
    description = html.escape(page_description(app, pagename, doctree), quote=True)
    title = html.escape(re.sub(r"<[^>]+>", "", context.get("title", "")) or meta["title"], quote=True)
    url = html.escape(meta["url"] + pagename + ".html", quote=True)
    tags = [
        f'<meta name="description" content="{description}" />',
        '<meta property="og:type" content="article" />',
        f'<meta property="og:title" content="{title}" />',
        f'<meta property="og:description" content="{description}" />',
        f'<meta property="og:url" content="{url}" />',
        f'<meta property="og:site_name" content="{html.escape(meta["title"], quote=True)}" />',
        '<meta name="twitter:card" content="summary" />',
    ]
    context["metatags"] = context.get("metatags", "") + "\n".join(tags) + "\n"


# --------------------------------------------------------------------------- icons

STYLE_PACKS = {"fab": "fab", "fa-brands": "fab", "fas": "fas", "fa-solid": "fas",
               "far": "far", "fa-regular": "far"}
MODIFIERS = {"fa-lg", "fa-fw", "fa-xs", "fa-sm", "fa-2x", "fa-solid", "fa-brands", "fa-regular"}


def icon_paths(bundle: Path) -> dict:
    """(pack, name) -> (width, height, path) for every icon in the theme's Font Awesome bundle."""
    text = bundle.read_text(encoding="utf-8")
    icons = {}
    start = 0
    # each pack's icons come before the call that registers the pack, d("fab",p) and so on
    for marker in re.finditer(r'd\("(fab|far|fas)",p\)', text):
        region = text[start:marker.start()]
        for m in re.finditer(r'(?:"([\w-]+)"|\b([\w]+)):\[(\d+),(\d+),\[[^\]]*\],"[0-9a-f]+","(M[^"]+)"\]', region):
            name = m.group(1) or m.group(2)
            icons.setdefault((marker.group(1), name), (m.group(3), m.group(4), m.group(5)))
        start = marker.end()
    return icons


ICON_TAG = re.compile(r'<(i|span) class="([^"]*\bfa[srb]?\b[^"]*|[^"]*\bfa-[a-z][^"]*)"([^>]*)>\s*</\1>')


def inline_icons(page: str, icons: dict, missing: set) -> str:
    def replace(match):
        classes = match.group(2).split()
        pack = next((STYLE_PACKS[c] for c in classes if c in STYLE_PACKS), "fas")
        names = [c[3:] for c in classes if c.startswith("fa-") and c not in MODIFIERS]
        for name in names:
            if (pack, name) in icons:
                w, h, d = icons[(pack, name)]
                keep = " ".join(c for c in classes if not c.startswith("fa"))
                extra = re.sub(r'\s*aria-hidden="true"', "", match.group(3))
                size = " book-icon-lg" if "fa-lg" in classes else ""
                return (f'<svg class="book-icon{size} {keep}"{extra} viewBox="0 0 {w} {h}" '
                        f'aria-hidden="true" focusable="false"><path d="{d}"/></svg>')
        missing.update(names)
        return match.group(0)

    return ICON_TAG.sub(replace, page)


# --------------------------------------------------------------------------- page rewrites

UNUSED_SCRIPTS = [
    re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>'),
    re.compile(r'\s*<!-- So that users can add custom icons -->'),
    re.compile(r'\s*<script async="async" src="[^"]*_static/sphinx-thebe\.js[^"]*"></script>'),
    re.compile(r'\s*<script>const THEBE_JS_URL = [^<]*</script>'),
    re.compile(r'\s*<link rel="stylesheet" type="text/css" href="[^"]*_static/sphinx-thebe\.css[^"]*" />'),
    re.compile(r'\s*<script data-sd-tabs-storage-prefix="[^"]*" src="[^"]*_static/design-tabs\.js[^"]*"></script>'),
]
DESIGN_CSS = re.compile(r'\s*<link rel="stylesheet" type="text/css" href="[^"]*_static/sphinx-design\.min\.css[^"]*" />')
SEARCH_SCRIPTS = [
    re.compile(r'\s*<script (?:defer )?src="[^"]*_static/searchtools\.js"></script>'),
    re.compile(r'\s*<script (?:defer )?src="[^"]*_static/language_data\.js"></script>'),
    re.compile(r'\s*<script (?:defer )?src="[^"]*searchindex\.js"></script>'),
]


DOCUMENTATION_OPTIONS = re.compile(r'<script src="([^"]*_static/)documentation_options\.js[^"]*"></script>')
HEAD_SCRIPT = re.compile(r'<script src="')


def unblock_scripts(page: str, options: str) -> str:
    """The page's scripts run after the page is parsed, so none of them delays the first paint.

    Sphinx loads its scripts in the head, each blocking the page until it has
    arrived; ``defer`` keeps their order and runs them before DOMContentLoaded,
    which is when they start their work. The one object that inline scripts use
    while the page is parsed, ``DOCUMENTATION_OPTIONS``, is defined in the page
    itself (its file is a few hundred bytes).
    """
    page = DOCUMENTATION_OPTIONS.sub(lambda m: f"<script>\n{options}\n</script>", page, count=1)
    head, sep, body = page.partition("</head>")
    return HEAD_SCRIPT.sub('<script defer src="', head) + sep + body


PYGMENTS_RULE = re.compile(r'html\[data-theme="(\w+)"\] \.highlight(?: \.([\w-]+))? \{([^}]*)\}')
CODE_BLOCK = re.compile(r'(<div class="highlight"><pre[^>]*>)(.*?)(</pre>)', re.S)


def plain_token_classes(pygments_css: str, other_css: str) -> set[str]:
    """The Pygments token classes that draw nothing a code block does not draw anyway.

    A class qualifies when, in every theme, its only rule sets the text colour of
    the code block itself (names, punctuation and spaces in the book's light and
    dark styles), and no other stylesheet styles it inside a code block.
    """
    base: dict[str, str] = {}
    rules: dict[str, dict[str, list[str]]] = {}
    for theme, token, body in PYGMENTS_RULE.findall(pygments_css):
        declarations = sorted(d.strip() for d in body.split(";") if d.strip())
        if token:
            rules.setdefault(token, {}).setdefault(theme, []).extend(declarations)
        else:
            base[theme] = next((d for d in declarations if d.startswith("color:")), "")
    plain = set()
    for token, by_theme in rules.items():
        if (set(by_theme) == set(base) and all(by_theme[th] == [base[th]] for th in base)
                and not re.search(rf"\.highlight[^{{}},]*\.{re.escape(token)}(?![\w-])", other_css)):
            plain.add(token)
    return plain


def unwrap_plain_tokens(page: str, plain: set[str]) -> str:
    """Code blocks without the spans of classes that change nothing (a third of a chapter's markup)."""
    if not plain:
        return page
    span = re.compile(r'<span class="(?:%s)">([^<]*)</span>' % "|".join(map(re.escape, sorted(plain))))
    return CODE_BLOCK.sub(lambda m: m.group(1) + span.sub(r"\1", m.group(2)) + m.group(3), page)


def rewrite_page(page: str, name: str, icons: dict, missing: set, options: str = "",
                 plain: frozenset = frozenset()) -> str:
    if options:
        page = unblock_scripts(page, options)
    page = unwrap_plain_tokens(page, plain)
    for pattern in UNUSED_SCRIPTS:
        page = pattern.sub("", page)
    if not re.search(r'class="[^"]*\bsd-', page):
        page = DESIGN_CSS.sub("", page)  # sphinx-design's styles, for pages that use none of it
    if name != "search.html":
        # the search box sends the query to search.html; only that page needs the index
        for pattern in SEARCH_SCRIPTS:
            page = pattern.sub("", page)
    page = inline_icons(page, icons, missing)
    # ARIA 1.2 deprecates doc-biblioentry, and a role="list" needs listitem children
    page = page.replace('role="doc-biblioentry"', 'role="listitem"')
    # a summary's name is its visible text ("Show code cell source"), not a generic label
    page = re.sub(r'(<summary)\s+aria-label="Toggle hidden content"', r"\1", page)
    return page


def add_notebook_download(page: str, docname: str) -> str:
    """An .ipynb entry in the page's download menu, before the .md source."""
    if "book-download-ipynb" in page:
        return page
    stem = Path(docname).name
    depth = docname.count("/")
    href = "../" * depth + f"{NOTEBOOK_DIR}/{stem}.ipynb"
    entry = (f'<li><a href="{href}" download="{stem}.ipynb" class="btn btn-sm dropdown-item '
             'book-download-ipynb" title="Download this chapter as a notebook" '
             'data-bs-placement="left" data-bs-toggle="tooltip"><span class="btn__icon-container">'
             '<i class="fas fa-file-code"></i></span><span class="btn__text-container">.ipynb'
             '</span></a></li>')
    return re.sub(r'(<ul class="dropdown-menu">\s*)', r"\1" + entry, page, count=1)


# --------------------------------------------------------------------------- downloads

def code_key() -> str:
    digest = __import__("hashlib").sha256()
    for path in sorted((ROOT / "code").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and "build" not in path.parts \
                and not any(p.endswith(".egg-info") for p in path.parts):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    digest.update(os.environ.get("SOURCE_DATE_EPOCH", "").encode())
    return digest.hexdigest()


def build_wheel(outdir: Path, keyfile: Path) -> Path:
    """The wheel of gradlab, served with the site for the downloaded notebooks.

    Built again only when ``code/`` (or the build date) changed since the last build.
    """
    target = outdir / "_downloads"
    target.mkdir(parents=True, exist_ok=True)
    key = code_key()
    existing = sorted(target.glob("gradlab-*-py3-none-any.whl"))
    if len(existing) == 1 and keyfile.exists() and keyfile.read_text() == key:
        return existing[0]
    for old in target.glob("gradlab-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="gradlab-wheel-") as scratch:
        # setuptools writes build/ and *.egg-info next to the sources: build from a copy,
        # so the checkout stays clean and two builds at once do not collide
        source = Path(scratch) / "code"
        shutil.copytree(ROOT / "code", source,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "--quiet", "--disable-pip-version-check", "-w", str(target), str(source)],
                       check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    wheels = sorted(target.glob("gradlab-*-py3-none-any.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"pip wrote {len(wheels)} gradlab wheels into {target}, expected one")
    wheel = wheels[0]
    normalise_wheel(wheel)
    keyfile.write_text(key)
    return wheel


def normalise_wheel(wheel: Path) -> None:
    """Rewrite the wheel with fixed timestamps and order, so two builds give the same bytes."""
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "1767225600"))
    stamp = datetime.datetime.fromtimestamp(max(epoch, 315532800), datetime.timezone.utc).timetuple()[:6]
    with zipfile.ZipFile(wheel) as zin:
        entries = sorted((info.filename, zin.read(info.filename)) for info in zin.infolist())
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(info, data)


def export_notebook(source: Path, target: Path, wheel_name: str, page_url: str,
                    without_solutions: bool = False) -> None:
    """The chapter as a notebook that runs outside the repository.

    ``without_solutions`` (the student edition) leaves the exercises' solutions out.
    """
    import jupytext
    import nbformat

    text = source.read_text(encoding="utf-8")
    if without_solutions:
        from student_edition import strip_solutions

        text = strip_solutions(text)
    notebook = jupytext.reads(text, fmt="md:myst")
    intro = nbformat.v4.new_markdown_cell(
        "This notebook is a chapter of the book *Vanishing and Exploding Gradients* "
        f"({page_url}). To run it outside the book's repository, install the book's package "
        f"`gradlab` from the wheel that the site serves next to this notebook, "
        f"`_downloads/{wheel_name}` (it brings numpy and matplotlib), then run the cells in order. "
        "The next cell installs it when the wheel is in the same folder as the notebook.")
    install = nbformat.v4.new_code_cell(
        "import importlib.util\n"
        "import subprocess\n"
        "import sys\n\n"
        "if importlib.util.find_spec(\"gradlab\") is None:\n"
        f"    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"{wheel_name}\"], check=True)")
    notebook.cells = [intro, install] + notebook.cells
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    for i, cell in enumerate(notebook.cells):
        cell.id = f"cell-{i:03d}"  # stable ids: two builds write the same file
    nbformat.validate(notebook)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(nbformat.writes(notebook), encoding="utf-8")


# --------------------------------------------------------------------------- theme assets

FA_ICON_RULE = re.compile(r'(?:\.fa-[a-z0-9-]+:(?:before|after),?)+\{content:"[^"]*"\}')
FONT_FACE = re.compile(r'@font-face\{[^}]*font-family:Font Awesome[^}]*\}')
PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def slim_theme_assets(outdir: Path, started: float) -> None:
    """Keep of Font Awesome only the glyphs the theme's stylesheets draw.

    The page icons are inline SVG (see ``inline_icons``), so the icon classes of the
    theme's stylesheet are dropped; the few glyphs that stylesheets still draw
    (admonition and theorem icons, the "on this page" chevron) are subset out of
    the icon fonts into small WOFF2 files, and the full fonts and the icon script
    are removed from the site.
    """
    from fontTools import subset

    static = outdir / "_static"
    # (the bundles are rebuilt from the slimmed sheets: stylesheet_bundle.refresh_bundles)
    sheets = sorted(s for s in static.rglob("*.css") if not s.name.startswith(stylesheet_bundle.PREFIX))
    if not any(sheet.stat().st_mtime >= started for sheet in sheets):
        return  # nothing copied again since the last build slimmed them
    for sheet in sheets:
        text = sheet.read_text(encoding="utf-8")
        slim = FA_ICON_RULE.sub("", text)
        if slim != text:
            sheet.write_text(slim, encoding="utf-8")
    used = sorted({ord(c) for sheet in sheets for c in PRIVATE_USE.findall(sheet.read_text(encoding="utf-8"))})
    for sheet in sheets:
        text = sheet.read_text(encoding="utf-8")
        faces = FONT_FACE.findall(text)
        for face in faces:
            woff2 = re.search(r'url\(([^)]+\.woff2)\)', face)
            if woff2 is None:
                continue
            source = (sheet.parent / woff2.group(1)).with_suffix(".ttf")
            target = source.with_name(source.stem + ".subset.woff2")
            rel = os.path.relpath(target, sheet.parent).replace(os.sep, "/")
            text = text.replace(face, re.sub(r'src:[^;}]*', f'src:url({rel}) format("woff2")', face))
            if target.exists():  # from an earlier build: the theme's fonts do not change
                continue
            options = subset.Options()
            options.flavor = "woff2"
            options.layout_features = []
            font = subset.load_font(str(source), options)
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=used)
            subsetter.subset(font)
            subset.save_font(font, str(target), options)
        if faces:
            sheet.write_text(text, encoding="utf-8")
    # Nothing loads the source maps of the theme's minified files or its message
    # catalogues for other languages (the book is in English): they only weigh.
    for unused in list(static.rglob("*.map")):
        unused.unlink()
    shutil.rmtree(static / "locales", ignore_errors=True)
    for leftover in list(static.glob("vendor/fontawesome/webfonts/*.woff2")) + \
            list(static.glob("vendor/fontawesome/webfonts/*.ttf")) + list(static.glob("scripts/fontawesome.js*")):
        if not leftover.name.endswith("LICENSE.txt") and ".subset." not in leftover.name:
            leftover.unlink()


# --------------------------------------------------------------------------- unused styles

FUNCTIONAL = re.compile(r":(?:not|is|where|has)\((?:[^()]|\([^()]*\))*\)")


def _block_end(css: str, start: int) -> int:
    """Index of the brace that closes the block opened at ``start``."""
    depth = 0
    for i in range(start, len(css)):
        if css[i] == "{":
            depth += 1
        elif css[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced braces in a stylesheet")


def _split_selectors(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def purge_css(css: str, used: set) -> str:
    """The stylesheet without the selectors that name a class no page or script uses.

    Conservative: a selector stays unless one of the classes it requires (outside
    ``:not()``, ``:is()``, ``:where()``, ``:has()``) appears in no page and in no
    script of the site, so classes that scripts add at run time are kept.
    """
    out, i = [], 0
    while i < len(css):
        if css[i].isspace():
            i += 1
            continue
        if css.startswith("/*", i):
            end = css.index("*/", i) + 2
            out.append(css[i:end])
            i = end
            continue
        brace = css.find("{", i)
        if brace == -1:
            out.append(css[i:])
            break
        if css[i] == "@":
            semi = css.find(";", i)
            if semi != -1 and semi < brace:
                out.append(css[i:semi + 1])
                i = semi + 1
                continue
            end = _block_end(css, brace)
            head = css[i:brace]
            if head.startswith(("@media", "@supports", "@layer", "@container")):
                inner = purge_css(css[brace + 1:end], used)
                if inner.strip():
                    out.append(f"{head}{{{inner}}}")
            else:
                out.append(css[i:end + 1])  # @font-face, @keyframes: kept whole
            i = end + 1
            continue
        end = _block_end(css, brace)
        keep = [sel for sel in _split_selectors(css[i:brace])
                if all(c in used for c in re.findall(r"\.(-?[_a-zA-Z][\w-]*)", FUNCTIONAL.sub("", sel)))]
        if keep:
            out.append(",".join(keep) + css[brace:end + 1])
        i = end + 1
    return "".join(out)


def purge_stylesheets(outdir: Path) -> None:
    """Drop from the site's stylesheets what none of its pages or scripts can use."""
    static = outdir / "_static"
    used = set()
    for page in outdir.rglob("*.html"):
        if "_static" not in page.parts:
            for attr in re.findall(r'class="([^"]*)"', page.read_text(encoding="utf-8")):
                used.update(attr.split())
    for script in static.rglob("*.js"):
        used.update(re.findall(r"[\w-]+", script.read_text(encoding="utf-8", errors="replace")))
    for sheet in static.rglob("*.css"):
        if sheet.name.startswith(stylesheet_bundle.PREFIX):
            continue  # rebuilt from the purged sheets (stylesheet_bundle.refresh_bundles)
        text = sheet.read_text(encoding="utf-8")
        slim = purge_css(text, used)
        if slim != text:
            sheet.write_text(slim, encoding="utf-8")


def remove_unreferenced_static(outdir: Path) -> None:
    """Drop the files of ``_static`` that no page, script or stylesheet names.

    Extensions copy assets the book does not use (the launch buttons' logos, the
    Thebe and tab scripts this module unlinks, templates); a file whose name no
    page, script or stylesheet of the site mentions cannot be loaded by it.
    Licence files stay.
    """
    static = outdir / "_static"
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in outdir.rglob("*.html")
             if "_static" not in p.relative_to(outdir).parts]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in static.rglob("*")
              if p.suffix in (".js", ".css") and p.is_file()]
    named = "\n".join(texts)
    for path in sorted(static.rglob("*")):
        if path.is_file() and "LICENSE" not in path.name and path.name not in named:
            path.unlink()


# --------------------------------------------------------------------------- site files

def write_site_files(app, outdir: Path, pages: list[str]) -> None:
    meta = app.book_meta
    lastmod = datetime.datetime.fromtimestamp(
        int(os.environ.get("SOURCE_DATE_EPOCH", "1767225600")), datetime.timezone.utc).date().isoformat()
    urls = "".join(f"  <url><loc>{html.escape(meta['url'] + p)}</loc><lastmod>{lastmod}</lastmod></url>\n"
                   for p in pages)
    (outdir / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + urls + "</urlset>\n",
        encoding="utf-8")
    (outdir / "robots.txt").write_text(f"User-agent: *\nAllow: /\nSitemap: {meta['url']}sitemap.xml\n",
                                       encoding="utf-8")


def write_root_redirect(app, outdir: Path) -> None:
    """The site's root page sends the reader to the contents, as a complete small page."""
    meta = app.book_meta
    target = "chapters/index.html"
    title = html.escape(meta["title"])
    (outdir / "index.html").write_text(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n"
        f"<title>{title}</title>\n"
        f'<meta http-equiv="refresh" content="0; url={target}" />\n'
        f'<link rel="canonical" href="{html.escape(meta["url"])}{target}" />\n'
        '<link rel="icon" href="_static/favicon.svg" />\n'
        f'<meta name="description" content="{title}: an executable textbook on why gradients '
        'vanish or explode in deep networks, and what fixes them." />\n'
        "</head>\n<body>\n"
        f'<p><a href="{target}">{title}</a></p>\n'
        "</body>\n</html>\n", encoding="utf-8")


def build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    meta = app.book_meta
    import pydata_sphinx_theme

    fa_bundle = (Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme"
                 / "static" / "scripts" / "fontawesome.js")
    icons = icon_paths(fa_bundle)
    slim_theme_assets(outdir, app.book_started)
    figure_optimise.optimise_figures(outdir / "_images", Path(app.doctreedir) / "optimised-figures")
    wheel = build_wheel(outdir, Path(app.doctreedir) / "gradlab-wheel.key")
    chapters = [d for d in sorted(app.env.found_docs) if NUMBERED.match(d)]
    for docname in chapters:
        source = ROOT / f"{docname}.md"
        target = outdir / NOTEBOOK_DIR / f"{Path(docname).name}.ipynb"
        if target.exists() and target.stat().st_mtime >= max(source.stat().st_mtime, wheel.stat().st_mtime):
            continue  # exported from this text and this wheel already
        export_notebook(source, target, wheel.name, f"{meta['url']}{docname}.html",
                        without_solutions=app.config.hide_solutions)
    missing: set = set()
    options_file = outdir / "_static" / "documentation_options.js"
    options = options_file.read_text(encoding="utf-8").strip() if options_file.exists() else ""
    bundles: dict = {}
    static = outdir / "_static"
    pygments = static / "pygments.css"
    plain = frozenset(plain_token_classes(
        pygments.read_text(encoding="utf-8") if pygments.exists() else "",
        "".join(s.read_text(encoding="utf-8") for s in sorted(static.rglob("*.css"))
                if s != pygments and not s.name.startswith(stylesheet_bundle.PREFIX))))
    pages = []
    for path in sorted(outdir.rglob("*.html")):
        rel = path.relative_to(outdir).as_posix()
        if rel.startswith(("_static/", "_downloads/", "_sources/")):
            continue
        docname = rel[:-5]
        if path.stat().st_mtime >= app.book_started:  # written by this build: rewrite it
            page = path.read_text(encoding="utf-8")
            if docname in chapters:
                page = add_notebook_download(page, docname)
            new = rewrite_page(page, rel, icons, missing, options, plain)
            new = stylesheet_bundle.bundle_page(new, path, outdir, bundles)
            if new != page:
                path.write_text(new, encoding="utf-8")
        else:
            page = ""
        if not rel.startswith(("genindex", "search", "404", "index.html")):
            pages.append(rel)
    if missing:
        logger.warning("no inline SVG for the icon(s) %s: add them to the theme bundle lookup",
                       ", ".join(sorted(missing)), type="book", subtype="icons")
    write_site_files(app, outdir, pages)
    write_root_redirect(app, outdir)
    purge_stylesheets(outdir)
    stylesheet_bundle.refresh_bundles(outdir, bundles)
    remove_unreferenced_static(outdir)
    # GitHub Pages serves 404.html at any depth: its links resolve from the site's root
    not_found = outdir / "404.html"
    if not_found.exists():
        base = "/" + meta["url"].split("://", 1)[-1].split("/", 1)[-1]
        page = not_found.read_text(encoding="utf-8")
        if "<base " not in page:
            page = page.replace("<head>", f'<head>\n  <base href="{html.escape(base)}" />', 1)
            not_found.write_text(page, encoding="utf-8")


def collect_pages(app):
    """A 404 page in the book's theme (GitHub Pages serves it for any missing address)."""
    meta = app.book_meta
    body = (
        '<section id="page-not-found"><h1>Page not found</h1>'
        "<p>There is no page at this address. Chapter numbers and the labels of sections, "
        "figures and equations are stable, so an old link should still work: perhaps the "
        "address was shortened or mistyped.</p>"
        f'<p>Start again from the <a href="index.html">contents of {html.escape(meta["title"])}</a> '
        'or <a href="search.html">search the book</a>.</p></section>'
    )
    yield ("404", {"title": "Page not found", "body": body}, "page.html")


def setup(app):
    app.connect("config-inited", config_inited)
    app.connect("html-collect-pages", collect_pages)
    app.connect("doctree-resolved", add_cite_section)
    app.connect("html-page-context", html_page_context)
    # after the theme's own build-finished handler, which writes the light and dark
    # Pygments styles into pygments.css (plain_token_classes reads them)
    app.connect("build-finished", build_finished, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": False}
