"""Sphinx extension: format each chapter's reference list once, not on every build.

sphinxcontrib-bibtex (2.6) formats every bibliography of the book with pybtex
whenever any page is read again, because the labels must be known before
citations are resolved: about a second of every rebuild, for lists that a prose
edit does not change. This keeps each list's formatted entries in the build
environment (which Sphinx saves between builds), keyed by everything the
formatting reads: the style and label prefix of the list, the tooltip settings,
the pybtex version, and the entries in the list's order with their type, fields
and names. A list whose key changed (an entry edited, a citation added or moved, an
option changed) is formatted again. A formatting that raised a warning is never
kept, so a broken entry warns on every build, as before.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata

from sphinxcontrib.bibtex import domain as bibtex_domain
from sphinxcontrib.bibtex.domain import BibtexDomain

_original = BibtexDomain.get_formatted_entries
_PYBTEX = metadata.version("pybtex")


def format_key(bibliography, entries, tooltips, tooltips_style) -> str:
    """What a bibliography's formatted entries depend on, as a hash."""
    text = json.dumps([
        _PYBTEX, bibliography.style, bibliography.labelprefix, bool(tooltips), tooltips_style or "",
        [[key, entry.type, list(entry.fields.items()),
          [[role, [str(person) for person in people]] for role, people in entry.persons.items()]]
         for key, entry in entries],
    ])
    return hashlib.sha256(text.encode()).hexdigest()


def get_formatted_entries(self, bibliography_key, docnames, tooltips, tooltips_style):
    entries = list(self.get_sorted_entries(bibliography_key, docnames))
    key = format_key(self.bibliographies[bibliography_key], entries, tooltips, tooltips_style)
    cache = self.env.__dict__.setdefault("bibtex_formatted_entries", {})
    _used.add(key)
    if key not in cache:
        # Warnings of the reading phase reach Sphinx's counters only when it ends, so
        # the ones this formatting raises are noted here, as sphinxcontrib-bibtex logs them.
        warned = []
        warning = bibtex_domain.logger.warning

        def noting(*args, **kwargs):
            warned.append(args)
            return warning(*args, **kwargs)

        bibtex_domain.logger.warning = noting
        try:
            formatted = list(_original(self, bibliography_key, docnames, tooltips, tooltips_style))
        finally:
            del bibtex_domain.logger.warning  # the adapter's own method again
        if warned:
            return formatted  # not kept: the warning must come again next time
        cache[key] = formatted
    return cache[key]


_used: set[str] = set()


def _keep_used(app, env):
    """After the lists are formatted: forget lists that no page has any more."""
    cache = env.__dict__.get("bibtex_formatted_entries", {})
    for key in set(cache) - _used:
        del cache[key]
    _used.clear()
    return []


def setup(app):
    BibtexDomain.get_formatted_entries = get_formatted_entries
    # after sphinxcontrib-bibtex's own env-updated handler, which formats the lists
    app.connect("env-updated", _keep_used, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
