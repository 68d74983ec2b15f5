"""Sphinx extension: resolve ``{numref}`` without unpickling a doctree per reference.

Sphinx's standard domain (7.4) resolves every numbered reference by loading the
whole pickled doctree of the page that holds the target, once per reference, to
look up one node. Chapters cite their own figures and equations dozens of times,
and their doctrees hold executed outputs, so an incremental build spent most of
its writing time unpickling the same few files again (about 3 s of 10 s after a
one-sentence edit of one chapter; ``make bench`` reports the rebuild times).

This keeps each doctree it loaded for the rest of the write phase and gives the
resolver that copy. The resolver only reads it (the target node's type, ids and
numbers), so sharing one copy between references changes nothing but the time.
The cache is emptied whenever sources are read, so an edited page is never
seen in its old state.
"""

from __future__ import annotations

from sphinx.domains.std import StandardDomain

_doctrees: dict[str, object] = {}
_original = StandardDomain._resolve_numref_xref


class _CachedDoctrees:
    """An environment whose ``get_doctree`` remembers what it unpickled."""

    def __init__(self, env):
        self._env = env

    def get_doctree(self, docname):
        if docname not in _doctrees:
            _doctrees[docname] = self._env.get_doctree(docname)
        return _doctrees[docname]

    def __getattr__(self, name):  # everything else is the real environment
        return getattr(self._env, name)


def _resolve_numref_xref(self, env, fromdocname, builder, typ, target, node, contnode):
    return _original(self, _CachedDoctrees(env), fromdocname, builder, typ, target, node, contnode)


def _forget(*_args) -> None:
    _doctrees.clear()


def setup(app):
    StandardDomain._resolve_numref_xref = _resolve_numref_xref
    app.connect("env-before-read-docs", _forget)
    app.connect("build-finished", _forget)
    return {"parallel_read_safe": True, "parallel_write_safe": False}
