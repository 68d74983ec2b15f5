"""Sphinx extension: render every equation to MathML at build time.

Readers download no maths engine: each formula arrives as MathML, which every
current browser lays out itself (MathML Core) and screen readers read as maths.
Temml (``tools/temml_render.js``, the ``temml`` package that ``package-lock.json``
pins) converts the TeX in one Node.js process per build; a formula it cannot
parse is reported as a warning at its source line, so the strict build fails.

The formulas are drawn with STIX Two Math (``@fontsource/stix-two-math``, SIL Open
Font License), an OpenType font with a MATH table, which browsers need to stretch
brackets, place limits and build fractions and roots. The site carries it cut
down to the glyphs its formulas use (with the size variants and parts that the
MATH table lists for them), as one small WOFF2 file, styled by Temml's stylesheet.

Configuration (``sphinx: config:`` in ``_config.yml``):

``math_macros``
    TeX macros, as a dict from ``"\\\\Var"`` to its expansion.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).with_name("temml_render.js")
TEMML = ROOT / "node_modules" / "temml"
FONT = ROOT / "node_modules" / "@fontsource" / "stix-two-math" / "files" / "stix-two-math-latin-400-normal.woff2"
STATIC_DIR = "math"  # _static/math/ in the site
FONT_FILE = "STIXTwoMath-subset.woff2"
# Cached formulas are rendered again when this converter changes (its own source and
# the Node script are part of every cache key).
CONVERTER = hashlib.sha256(Path(__file__).read_bytes() + SCRIPT.read_bytes()).hexdigest()


class Temml:
    """A Node.js process that converts TeX to MathML on request."""

    def __init__(self, macros: dict[str, str]):
        if not (TEMML / "package.json").exists():
            raise ExtensionError(
                "Temml is not installed: run `make node` (npm ci) before building the book")
        self.macros = dict(macros)
        self.version = json.loads((TEMML / "package.json").read_text())["version"]
        self.process = subprocess.Popen(
            ["node", str(SCRIPT)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, encoding="utf-8", bufsize=1)

    def key(self, tex: str, display: bool) -> str:
        text = json.dumps([CONVERTER, self.version, self.macros, tex, display])
        return hashlib.sha256(text.encode()).hexdigest()

    def convert(self, tex: str, display: bool) -> str:
        """Temml's MathML for ``tex``, as Temml writes it."""
        options = {
            "displayMode": display,
            "throwOnError": True,
            "strict": True,  # LaTeX that Temml would only guess at is an error
            "macros": dict(self.macros),  # Temml adds \gdef definitions to it
            "trust": False,
        }
        self.process.stdin.write(json.dumps({"tex": tex, "options": options}) + "\n")
        answer = json.loads(self.process.stdout.readline())
        if "error" in answer:
            raise ValueError(answer["error"])
        return answer["mathml"]

    def render(self, tex: str, display: bool) -> str:
        """The MathML the page carries: Temml's, spaced as TeX spaces it."""
        return tex_spacing(self.convert(tex, display))

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=30)
        self.process.stdout.close()


# Two places where Temml's MathML loses TeX's spacing, put back by tex_spacing():
# a delimiter sized by \bigl, \Bigr and the like is a fence with no form, so the
# browser takes it for an infix operator with a thick space either side ("f (x)"),
# where TeX gives an opening or closing delimiter none; and an operator name after
# a sub- or superscript ("n_in Var[w]") loses the thin space that Temml writes
# after any other symbol.
SIZED_FENCE = re.compile(r'<mo fence="true"((?: stretchy="true")? symmetric="true" minsize="[^"]*" maxsize="[^"]*")>')
OPERATOR_AFTER_SCRIPT = re.compile(r"(</msub>|</msup>|</msubsup>)(<mi>[^<]{2,}</mi><mo>\u2061</mo>)")


def tex_spacing(mathml: str) -> str:
    """Temml's MathML with sized delimiters and operator names spaced as in TeX."""
    mathml = SIZED_FENCE.sub(r'<mo fence="true"\1 lspace="0em" rspace="0em">', mathml)
    return OPERATOR_AFTER_SCRIPT.sub(r'\1<mspace width="0.1667em"></mspace>\2', mathml)


def _renderer(app) -> Temml:
    if getattr(app, "_temml", None) is None:
        app._temml = Temml(app.config.math_macros)
    return app._temml


def render(translator, node, tex: str, display: bool) -> str:
    """Cached rendering; a TeX error becomes a warning at the node (so -W fails).

    The characters of the formula are noted for the page being written
    (``app._math_pages``), for the font subset.
    """
    app = translator.builder.app
    cache = app.__dict__.setdefault("_mathml_cache", {})
    temml = _renderer(app)
    key = temml.key(tex, display)
    if key not in cache:
        try:
            mathml = temml.render(tex, display)
        except ValueError as error:
            logger.warning("Temml cannot render %r: %s", tex, error, location=node,
                           type="math", subtype="render")
            return f'<code class="math-error">{translator.encode(tex)}</code>'
        cache[key] = (mathml, math_characters([mathml]))
    mathml, chars = cache[key]
    app.__dict__.setdefault("_math_pages", {}).setdefault(translator.builder.current_docname, set()).update(chars)
    return mathml


def page_written(app, doctree, docname) -> None:
    """A page is about to be written: its formulas are noted afresh (a removed one drops out)."""
    app.__dict__.setdefault("_math_pages", {})[docname] = set()


def visit_math(self, node: nodes.math) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(render(self, node, node.astext(), display=False))
    self.body.append("</span>")
    raise nodes.SkipNode


def visit_displaymath(self, node: nodes.math_block) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    tex = node.astext()
    if not node["nowrap"]:
        # As Sphinx's MathJax renderer: paragraphs are equations to align, and a
        # multi-line equation is aligned at its & signs.
        parts = [p.strip() for p in tex.split("\n\n") if p.strip()]
        parts = [rf"\begin{{aligned}}{p}\end{{aligned}}" if r"\\" in p and r"\begin" not in p else p
                 for p in parts]
        tex = parts[0] if len(parts) == 1 else r"\begin{gathered}" + r"\\".join(parts) + r"\end{gathered}"
    # A display that is wider than the page scrolls sideways inside its own box, so
    # the box must take keyboard focus to be scrolled without a mouse.
    self.body.append('<span class="math-display" tabindex="0">')
    self.body.append(render(self, node, tex, display=True))
    self.body.append("</span></div>\n")
    raise nodes.SkipNode


def stylesheet() -> str:
    """Temml's stylesheet for STIX Two Math, pointed at the subset font in the site."""
    css = (TEMML / "dist" / "Temml-STIX2.css").read_text(encoding="utf-8")
    face = ("@font-face {\n  font-family: STIX2;\n"
            f"  src: url('./{FONT_FILE}') format('woff2');\n}}")
    css, count = re.subn(r"@font-face\s*\{[^}]*\}", face, css, count=1)
    if count != 1:
        raise ExtensionError("Temml's Temml-STIX2.css has no @font-face rule to point at the font")
    return css


def copy_assets(app) -> None:
    """Temml's stylesheet into _static/math/ (the font follows at the end of the build)."""
    if app.builder.format != "html":
        return
    if not FONT.exists():
        raise ExtensionError(
            "STIX Two Math is not installed: run `make node` (npm ci) before building the book")
    static = Path(tempfile.mkdtemp(prefix="math-static-"))
    (static / STATIC_DIR).mkdir()
    (static / STATIC_DIR / "math.css").write_text(stylesheet(), encoding="utf-8")
    app.config.html_static_path.append(str(static))
    app._math_static = static
    app.add_css_file(f"{STATIC_DIR}/math.css")


# A one-letter <mi> is drawn in italic: the browser replaces "d" with U+1D451
# MATHEMATICAL ITALIC SMALL D (MathML Core, text-transform: math-auto), so the font
# must hold that character, not only the letter in the markup.
SINGLE_MI = re.compile(r"<mi(?![^>]*mathvariant)[^>]*>([^<])</mi>")
ITALIC_NAMES = (("LATIN SMALL LETTER ", "MATHEMATICAL ITALIC SMALL "),
                ("LATIN CAPITAL LETTER ", "MATHEMATICAL ITALIC CAPITAL "),
                ("GREEK SMALL LETTER ", "MATHEMATICAL ITALIC SMALL "),
                ("GREEK CAPITAL LETTER ", "MATHEMATICAL ITALIC CAPITAL "),
                ("GREEK LUNATE EPSILON SYMBOL", "MATHEMATICAL ITALIC EPSILON SYMBOL"),
                ("GREEK ", "MATHEMATICAL ITALIC "),
                ("", "MATHEMATICAL ITALIC "))  # dotless i and j, nabla, partial


def math_italic(char: str) -> str:
    """The character a browser draws for a one-letter ``<mi>``: its mathematical italic."""
    if char == "h":
        return "\u210e"  # PLANCK CONSTANT, where Unicode left the italic h
    name = unicodedata.name(char, "")
    for plain, italic in ITALIC_NAMES:
        if name.startswith(plain):
            try:
                return unicodedata.lookup(italic + name[len(plain):])
            except KeyError:
                continue
    return char  # digits, operators: drawn as they are


def math_characters(rendered: list[str]) -> str:
    """The characters that the formulas draw.

    The text of their MathML elements, each one-letter identifier as its italic
    form (:func:`math_italic`), and the radical sign of a square root (drawn by
    the browser, not written in the markup).
    """
    chars = set()
    for markup in rendered:
        chars.update(html.unescape(re.sub(r"<[^>]*>", "", markup)))
        chars.update(math_italic(html.unescape(c)) for c in SINGLE_MI.findall(markup))
        if "<msqrt" in markup or "<mroot" in markup:
            chars.add("\u221a")
    return "".join(sorted(c for c in chars if not c.isspace() or c == "\u00a0"))


def subset_font(chars: str, target: Path) -> None:
    """STIX Two Math cut down to ``chars``, with what its MATH and GSUB tables reach."""
    from fontTools import subset

    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]  # script-size forms, primes, stylistic sets
    options.name_IDs = ["*"]  # the licence and the font's name stay in the file
    options.notdef_outline = True
    # Without TrueType hinting instructions (a quarter of the file): browsers draw
    # formulas at text sizes with their own anti-aliasing, as they do most web fonts.
    options.hinting = False
    with subset.load_font(str(FONT), options) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars)
        subsetter.subset(font)  # closes over the MATH table: size variants and parts
        subset.save_font(font, str(target), options)


def characters_by_page(stored: dict, written: dict, pages: set) -> dict:
    """The characters of each page's formulas after a build.

    ``stored`` is the map of the previous build, ``written`` the pages this build
    wrote (each with the characters of its formulas now), ``pages`` the pages the
    book has now: a page this build did not write keeps its characters, a page
    that is gone loses them.
    """
    merged = {page: "".join(sorted(set(chars))) for page, chars in stored.items() if page in pages}
    merged.update({page: "".join(sorted(chars)) for page, chars in written.items()})
    return dict(sorted(merged.items()))


def write_font(app) -> None:
    """The math font, subset to the characters of the formulas of every page of the site.

    An incremental build writes only some pages, so each page's characters are
    kept from build to build (``math-characters.json`` beside the doctrees) and
    the subset covers them all: no page ever shows a glyph the font lacks. The
    subset itself is kept there too and reused while the characters stay the same.
    """
    target = Path(app.outdir) / "_static" / STATIC_DIR / FONT_FILE
    if not target.parent.is_dir():
        return
    record = Path(app.doctreedir) / "math-characters.json"
    stored = json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}
    pages = characters_by_page(stored, app.__dict__.get("_math_pages", {}), set(app.env.all_docs))
    record.write_text(json.dumps(pages, ensure_ascii=False, indent=0), encoding="utf-8")
    chars = "".join(sorted(set("".join(pages.values()))))
    version = json.loads((FONT.parent.parent / "package.json").read_text())["version"]
    # (CONVERTER: this module's source, so that a change of the subsetting makes a new subset)
    key = hashlib.sha256(f"{CONVERTER}|{version}|{chars}".encode()).hexdigest()[:16]
    store = Path(app.doctreedir) / f"math-font-{key}.woff2"
    if not store.exists():
        for old in store.parent.glob("math-font-*.woff2"):  # subsets of other characters
            old.unlink()
        scratch = store.with_name(store.name + ".partial")
        subset_font(chars, scratch)
        scratch.rename(store)
    shutil.copyfile(store, target)


def finish(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        write_font(app)
    if getattr(app, "_temml", None) is not None:
        app._temml.close()
    if getattr(app, "_math_static", None) is not None:
        shutil.rmtree(app._math_static, ignore_errors=True)


def preload_font(app, pagename, templatename, context, doctree) -> None:
    """A page with formulas asks for the math font at once, not after its stylesheet.

    Otherwise the font arrives after the first layout, and every formula is laid
    out again (and moves: Lighthouse counted a layout shift of 0.16 on a chapter).
    A font is fetched in CORS mode, which a copy opened from disk (``file:``)
    refuses for a preload, so a line of script adds the preload only on a server.
    """
    if doctree is None or app.builder.format != "html":
        return
    if doctree.next_node(lambda node: isinstance(node, (nodes.math, nodes.math_block))) is None:
        return
    href = context["pathto"](f"_static/{STATIC_DIR}/{FONT_FILE}", 1)
    context["metatags"] = context.get("metatags", "") + "\n" + PRELOAD.format(href=json.dumps(href))


PRELOAD = ('<script>if (location.protocol !== "file:") {{ const font = document.createElement("link"); '
           'font.rel = "preload"; font.as = "font"; font.type = "font/woff2"; font.crossOrigin = "anonymous"; '
           'font.href = {href}; document.head.appendChild(font); }}</script>')


def setup(app):
    app.add_config_value("math_macros", {}, "env")
    app.connect("html-page-context", preload_font)
    app.add_html_math_renderer("mathml_prerender", (visit_math, None), (visit_displaymath, None))
    app.connect("builder-inited", copy_assets)
    app.connect("doctree-resolved", page_written)
    app.connect("build-finished", finish)
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": False}
