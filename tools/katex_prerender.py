"""Sphinx extension: render every equation with KaTeX at build time.

Readers download no maths engine: each formula arrives as HTML (for the eye) and
MathML (for screen readers), styled by KaTeX's stylesheet and its WOFF2 fonts,
which are copied into the site. KaTeX runs in one Node.js process per build
(``tools/katex_render.js``, with the ``katex`` package that ``package-lock.json``
pins); a formula KaTeX cannot parse is reported as a warning at its source line,
so the strict build fails on it.

Configuration (``sphinx: config:`` in ``_config.yml``):

``katex_macros``
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
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).with_name("katex_render.js")
KATEX_DIST = ROOT / "node_modules" / "katex" / "dist"
STATIC_DIR = "katex"  # _static/katex/ in the site


class KaTeX:
    """A Node.js process that renders TeX on request, with a cache."""

    def __init__(self, macros: dict[str, str]):
        if not (KATEX_DIST / "katex.min.js").exists():
            raise ExtensionError(
                "KaTeX is not installed: run `make node` (npm ci) before building the book")
        self.macros = dict(macros)
        self.version = json.loads((KATEX_DIST.parent / "package.json").read_text())["version"]
        self.process = subprocess.Popen(
            ["node", str(SCRIPT)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, encoding="utf-8", bufsize=1)

    def key(self, tex: str, display: bool) -> str:
        text = json.dumps([self.version, self.macros, tex, display])
        return hashlib.sha256(text.encode()).hexdigest()

    def render(self, tex: str, display: bool) -> str:
        options = {
            "displayMode": display,
            "output": "htmlAndMathml",  # MathML for screen readers, HTML for the eye
            "throwOnError": True,
            "strict": "error",
            "macros": dict(self.macros),  # KaTeX adds \gdef definitions to it
            "trust": False,
        }
        self.process.stdin.write(json.dumps({"tex": tex, "options": options}) + "\n")
        answer = json.loads(self.process.stdout.readline())
        if "error" in answer:
            raise ValueError(answer["error"])
        return answer["html"]

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=30)


def _renderer(app) -> KaTeX:
    if getattr(app, "_katex", None) is None:
        app._katex = KaTeX(app.config.katex_macros)
    return app._katex


def render(translator, node, tex: str, display: bool) -> str:
    """Cached rendering; a TeX error becomes a warning at the node (so -W fails)."""
    app = translator.builder.app
    cache = app.env.__dict__.setdefault("katex_cache", {})
    katex = _renderer(app)
    key = katex.key(tex, display)
    if key not in cache:
        try:
            cache[key] = katex.render(tex, display)
        except ValueError as error:
            logger.warning("KaTeX cannot render %r: %s", tex, error, location=node,
                           type="katex", subtype="render")
            return f'<code class="katex-error">{translator.encode(tex)}</code>'
    return cache[key]


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
    # A display that is wider than the page scrolls sideways inside its own box, so it
    # must take keyboard focus to be scrolled without a mouse.
    rendered = render(self, node, tex, display=True)
    self.body.append(rendered.replace('<span class="katex-display">',
                                      '<span class="katex-display" tabindex="0">', 1))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def copy_assets(app) -> None:
    """KaTeX's stylesheet (WOFF2 fonts only: every current browser reads them) and fonts."""
    if app.builder.format != "html":
        return
    static = Path(tempfile.mkdtemp(prefix="katex-static-"))
    target = static / STATIC_DIR
    (target / "fonts").mkdir(parents=True)
    css = (KATEX_DIST / "katex.min.css").read_text(encoding="utf-8")
    css = re.sub(r',url\(fonts/[^)]+\.(?:woff|ttf)\) format\("(?:woff|truetype)"\)', "", css)
    (target / "katex.min.css").write_text(css, encoding="utf-8")
    for font in sorted((KATEX_DIST / "fonts").glob("*.woff2")):
        shutil.copy(font, target / "fonts" / font.name)
    app.config.html_static_path.append(str(static))
    app._katex_static = static
    app.add_css_file(f"{STATIC_DIR}/katex.min.css")


def math_characters(rendered: list[str]) -> str:
    """The characters that KaTeX's fonts draw in the rendered formulas.

    Only the visible part of each formula counts (its ``katex-html`` span; the MathML
    beside it is read by screen readers, not drawn with these fonts).
    """
    chars = set()
    for markup in rendered:
        visible = markup.split('<span class="katex-html"', 1)[-1]
        chars.update(html.unescape(re.sub(r"<[^>]*>", "", visible)))
    return "".join(sorted(c for c in chars if c.isprintable() or c == "\u200b"))


def subset_fonts(app) -> None:
    """KaTeX's fonts cut down to the characters the site shows, as WOFF2.

    A page loads only the fonts its formulas use, but each of those holds hundreds
    of glyphs; keeping the characters the formulas draw makes them a fraction of it.
    The subsets are kept next to the build's doctrees and reused while the set of
    characters stays the same. The characters come from every formula the build has
    rendered (the render cache), so a font never lacks a glyph a page shows.
    """
    from fontTools import subset

    outdir = Path(app.outdir)
    fonts = outdir / "_static" / STATIC_DIR / "fonts"
    if not fonts.is_dir():
        return
    chars = math_characters(list(app.env.__dict__.get("katex_cache", {}).values()))
    if not chars:
        return
    key = hashlib.sha256((chars + "|" + json.dumps(sorted(app.config.katex_macros.items()))).encode()).hexdigest()[:16]
    store = Path(app.doctreedir) / f"katex-fonts-{key}"
    if not store.is_dir():
        for old in store.parent.glob("katex-fonts-*"):  # subsets of other characters
            shutil.rmtree(old, ignore_errors=True)
        scratch = store.with_name(store.name + ".partial")
        scratch.mkdir(parents=True)
        for font in sorted((KATEX_DIST / "fonts").glob("*.ttf")):
            options = subset.Options()
            options.flavor = "woff2"
            options.layout_features = ["*"]
            options.name_IDs = ["*"]
            options.notdef_outline = True
            loaded = subset.load_font(str(font), options)
            subsetter = subset.Subsetter(options)
            subsetter.populate(text=chars)
            subsetter.subset(loaded)
            subset.save_font(loaded, str(scratch / f"{font.stem}.woff2"), options)
        scratch.rename(store)
    for font in store.glob("*.woff2"):
        shutil.copyfile(font, fonts / font.name)


def finish(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        subset_fonts(app)
    if getattr(app, "_katex", None) is not None:
        app._katex.close()
    if getattr(app, "_katex_static", None) is not None:
        shutil.rmtree(app._katex_static, ignore_errors=True)


def setup(app):
    app.add_config_value("katex_macros", {}, "env")
    app.add_html_math_renderer("katex_prerender", (visit_math, None), (visit_displaymath, None))
    app.connect("builder-inited", copy_assets)
    app.connect("build-finished", finish)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": False}
