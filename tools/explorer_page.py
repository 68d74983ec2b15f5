"""Sphinx extension: the gradient-flow explorer's links and its script.

The explorer (``chapters/explorer.md``) shows the grid that ``gradlab.explorer``
computes when the page is executed; its controls are drawn by
``tools/explorer/explorer.js`` with the styles of ``tools/explorer/explorer.css``.

* The ``{explore}`` role links to the explorer with knobs preset through the
  address, which MyST's own link syntax refuses (it rejects query strings)::

      {explore}`a sigmoid network of 30 layers with N(0, 1) weights <act=sigmoid&depth=30&init=normal1>`
      {explore}`act=relu&init=he`     (the text is then "the gradient-flow explorer")

  Every preset is checked with ``gradlab.explorer.parse_preset`` while the page
  is read: an unknown knob or value is a warning, so the strict build fails. The
  link is relative, so it works on the site and in a copy opened from disk.
* The script and the styles are added to the explorer's page only (Jupyter Book
  adds every ``.js`` and ``.css`` of the book's ``_static/`` to every page, so
  they live here and are copied into the site's ``_static/`` by Sphinx).
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole
from sphinx.util.nodes import split_explicit_title

logger = logging.getLogger(__name__)

EXPLORER_DOC = "chapters/explorer"
ASSETS = Path(__file__).resolve().parent / "explorer"
DEFAULT_TEXT = "the gradient-flow explorer"


class ExploreRole(SphinxRole):
    """``{explore}`text <preset>``` or ``{explore}`preset```: a link to the explorer with a preset."""

    def run(self):
        from gradlab import explorer

        has_title, title, target = split_explicit_title(self.text)
        preset = (target if has_title else self.text).strip()
        text = title if has_title else DEFAULT_TEXT
        try:
            values = explorer.parse_preset(preset)
        except (TypeError, ValueError) as error:
            logger.warning("explorer link with a bad preset %r: %s", preset, error,
                           location=self.get_location(), type="explore", subtype="preset")
            return [nodes.inline(self.rawtext, text)], []
        node = nodes.reference(self.rawtext, text, internal=True, classes=["explore-link"])
        node["explore_query"] = "&".join(f"{k}={v}" for k, v in values.items())
        node["refuri"] = ""  # set for each builder when the page is written (resolve_links)
        return [node], []


def resolve_links(app, doctree, docname) -> None:
    """The explorer's address relative to the page that links to it, with the preset."""
    for node in doctree.findall(nodes.reference):
        if "explore_query" not in node:
            continue
        if EXPLORER_DOC not in app.env.found_docs:
            logger.warning("an {explore} link, but the book has no page %s", EXPLORER_DOC,
                           location=node, type="explore", subtype="page")
            continue
        uri = app.builder.get_relative_uri(docname, EXPLORER_DOC)
        query = node["explore_query"]
        node["refuri"] = f"{uri}?{query}" if query else uri


def add_assets(app) -> None:
    if app.builder.format == "html":
        app.config.html_static_path.append(str(ASSETS))


def page_assets(app, pagename, templatename, context, doctree) -> None:
    """The explorer's script and styles, on the explorer's page alone."""
    if pagename == EXPLORER_DOC:
        app.add_css_file("explorer.css")
        app.add_js_file("explorer.js", defer="defer")


def setup(app):
    app.add_role("explore", ExploreRole())
    app.connect("builder-inited", add_assets)
    app.connect("doctree-resolved", resolve_links)
    app.connect("html-page-context", page_assets)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
