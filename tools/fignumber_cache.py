"""Sphinx extension: number the figures again only when numbering can have changed.

After any page is read, Sphinx (7.4) numbers every figure, table, code listing
and theorem of the book again: it unpickles the doctree of every page, the
largest ones included (the API page's is 5 MB), and walks each whole tree. On a
prose edit that is about 1.5 s of the rebuild, for the same numbers as before.

The numbering reads little of a page: the order of its sections, its toctrees,
and its numbered items (their type and id). This records that outline of each
page when Sphinx reads it, from the tree in memory, and keeps the outlines and
the last numbering in the build environment (which Sphinx saves between builds).
When the outlines of all pages, the section numbers and the settings equal
those of the last numbering, that numbering is kept; otherwise Sphinx numbers
the book as it always does.
"""

from __future__ import annotations

import copy
import hashlib
import json

from docutils import nodes
from sphinx import addnodes
from sphinx.environment.collectors.toctree import TocTreeCollector

_original = TocTreeCollector.assign_figure_numbers


def figure_type(env, node) -> str | None:
    """The numbered type of ``node``, exactly as Sphinx's numbering decides it."""
    for domain in env.domains.values():
        figtype = domain.get_enumerable_node_type(node)
        if domain.name == "std" and not domain.get_numfig_title(node):
            continue  # an item without a caption is not numbered
        if figtype:
            return figtype
    return None


def outline(env, doctree) -> list:
    """What the numbering reads of a page, in the order Sphinx walks it."""
    events: list = []

    def walk(element):
        for child in element.children:
            if isinstance(child, nodes.section):
                events.append(["section", child["ids"][0] if child["ids"] else ""])
                walk(child)
                events.append(["end"])
            elif isinstance(child, addnodes.toctree):
                events.append(["toctree", [entry[1] for entry in child["entries"]]])
            elif isinstance(child, nodes.Element):
                figtype = figure_type(env, child)
                if figtype and child["ids"]:
                    events.append(["item", figtype, child["ids"][0]])
                walk(child)

    walk(doctree)
    return events


def record_outline(app, doctree) -> None:
    env = app.env
    text = json.dumps(outline(env, doctree))
    env.__dict__.setdefault("figure_outlines", {})[env.docname] = hashlib.sha256(text.encode()).hexdigest()


def purge_outline(app, env, docname) -> None:
    env.__dict__.get("figure_outlines", {}).pop(docname, None)


def merge_outlines(app, env, docnames, other) -> None:
    """Parallel reading: the outlines a worker recorded join the main environment's."""
    outlines = env.__dict__.setdefault("figure_outlines", {})
    for docname, digest in other.__dict__.get("figure_outlines", {}).items():
        if docname in docnames:
            outlines[docname] = digest


def numbering_key(env) -> str:
    outlines = env.__dict__.get("figure_outlines", {})
    text = json.dumps([
        env.config.numfig, env.config.numfig_secnum_depth, env.config.root_doc,
        sorted(env.domains["std"]._virtual_doc_names),
        {doc: outlines.get(doc) for doc in sorted(env.all_docs)},
        {doc: {anchor: list(num) for anchor, num in sorted(nums.items())}
         for doc, nums in sorted(env.toc_secnumbers.items())},
    ], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def assign_figure_numbers(self, env) -> list[str]:
    key = numbering_key(env)
    last = env.__dict__.get("figure_numbering")
    if last is not None and last[0] == key:
        # the same outlines give the same numbers: the pages read again get theirs
        # back (Sphinx dropped them when it read the page), and no page needs rewriting
        env.toc_fignumbers = copy.deepcopy(last[1])
        return []
    rewrite = _original(self, env)
    env.figure_numbering = (key, copy.deepcopy(env.toc_fignumbers))
    return rewrite


def setup(app):
    TocTreeCollector.assign_figure_numbers = assign_figure_numbers
    # last, after every extension has added its numbered items and ids
    app.connect("doctree-read", record_outline, priority=999)
    app.connect("env-purge-doc", purge_outline)
    app.connect("env-merge-info", merge_outlines)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
