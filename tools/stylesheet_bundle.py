"""One stylesheet per page instead of a dozen: the page's stylesheets, joined in order.

A Sphinx page links each extension's stylesheet separately (theme, Pygments,
toggle and copy buttons, notebooks, proofs, exercises, maths, the book's own), and
the theme's first sheet ``@import``s Sphinx's ``basic.css``. A browser must fetch
every one of them before it paints anything; on a phone each costs a round trip.
Here the links of a page's head become one link to a bundle: the same sheets,
concatenated in the page's order, ``@import``s inlined and relative ``url()``s
rewritten to resolve from the bundle's folder, so the cascade is unchanged.

A bundle is named after the list of sheets it joins, not after their content, so
that pages an incremental build did not rewrite still link the right file; the
list is written in the bundle's first line, and :func:`refresh_bundles` rebuilds
every bundle from the current sheets at the end of each build, then removes the
sheets, which no page links any more.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
from pathlib import Path

LINK = re.compile(r'[ \t]*<link (?:rel="stylesheet" type="text/css" href="([^"]+)"'
                  r'|href="([^"]+)" rel="stylesheet") />\n?')
# an @import (group 1: its address), or a url() anywhere else (group 3, quoted by group 2)
IMPORT_OR_URL = re.compile(r'@import\s+(?:url\()?\s*["\']([^"\']+)["\']\s*\)?\s*;'
                           r'|url\(\s*(["\']?)([^"\')]+)\2\s*\)')
CHARSET = re.compile(r'@charset\s+"[^"]*"\s*;')
HEADER = re.compile(r"\A/\* bundle of: (.*?) \*/\n")
PREFIX = "bundle-"


def _local(url: str) -> bool:
    return not re.match(r"^(?:[a-z][a-z0-9+.-]*:|/|#)", url, re.IGNORECASE)


def sheet_text(static: Path, name: str, seen: frozenset = frozenset(), read: set | None = None) -> str:
    """The sheet ``_static/<name>`` with its imports inlined and its urls relative to ``_static``.

    ``read``, when given, collects the names of the sheets read (imported ones too).
    """
    if read is not None:
        read.add(name)
    if name in seen:
        raise ValueError(f"stylesheet {name} imports itself")
    folder = posixpath.dirname(name)
    css = CHARSET.sub("", (static / name).read_text(encoding="utf-8"))

    def replace(match):
        imported, quote, url = match.groups()
        if imported is not None:  # the imported sheet, itself rebased, in place of the rule
            return sheet_text(static, posixpath.normpath(posixpath.join(folder, imported)), seen | {name}, read)
        if not _local(url):
            return match.group(0)
        return f"url({quote}{posixpath.normpath(posixpath.join(folder, url))}{quote})"

    return IMPORT_OR_URL.sub(replace, css)


def bundle_name(sheets: list[str]) -> str:
    return PREFIX + hashlib.sha256("\n".join(sheets).encode()).hexdigest()[:12] + ".css"


def write_bundle(static: Path, sheets: list[str]) -> set[str]:
    """Write the bundle of ``sheets``; the names of all the sheets it holds, imported ones too."""
    name = bundle_name(sheets)
    read: set[str] = set()
    body = "\n".join(f"/* {sheet} */\n{sheet_text(static, sheet, read=read)}" for sheet in sheets)
    (static / name).write_text(f"/* bundle of: {' '.join(sheets)} */\n{body}\n", encoding="utf-8")
    return read


def bundle_page(page: str, page_path: Path, outdir: Path, wanted: dict) -> str:
    """The page with the stylesheet links of its head replaced by a link to one bundle.

    The bundle's name and list of sheets go into ``wanted``; :func:`refresh_bundles`
    writes it. Links outside ``_static`` or to missing files leave the page as it
    is; a page that links one sheet already is returned unchanged.
    """
    head, sep, body = page.partition("</head>")
    links = list(LINK.finditer(head))
    if len(links) < 2:
        return page
    static = outdir / "_static"
    sheets = []
    for link in links:
        href = (link.group(1) or link.group(2)).split("?", 1)[0]
        target = Path(os.path.normpath(page_path.parent / href))
        try:
            sheet = target.relative_to(static).as_posix()
        except ValueError:
            return page
        if not target.is_file():
            return page
        sheets.append(sheet)
    name = bundle_name(sheets)
    wanted[name] = sheets
    href = Path(os.path.relpath(static / name, page_path.parent)).as_posix()
    indent = re.match(r"[ \t]*", links[0].group(0)).group(0)
    tag = f'{indent}<link rel="stylesheet" type="text/css" href="{href}" />\n'
    out, start = [], 0
    for i, link in enumerate(links):
        out.append(head[start:link.start()])
        if i == 0:
            out.append(tag)
        start = link.end()
    out.append(head[start:])
    return "".join(out) + sep + body


def refresh_bundles(outdir: Path, wanted: dict) -> None:
    """Write the bundles in ``wanted``, and rebuild the ones already in ``_static``.

    Pages that this build did not rewrite link bundles of earlier builds; each is
    rebuilt from the current sheets, which its first line lists.
    """
    static = outdir / "_static"
    bundles = dict(wanted)
    for bundle in sorted(static.glob(PREFIX + "*.css")):
        match = HEADER.match(bundle.read_text(encoding="utf-8"))
        sheets = match.group(1).split() if match else []
        if not sheets or not all((static / s).is_file() for s in sheets):
            bundle.unlink()  # a list of sheets that no longer exist together
            continue
        bundles.setdefault(bundle.name, sheets)
    bundled = set()
    for sheets in bundles.values():
        bundled |= write_bundle(static, sheets)
    # The sheets themselves are not published: every page links a bundle. Sphinx
    # copies them again when it writes the next build's output, for its bundles.
    for sheet in bundled:
        (static / sheet).unlink(missing_ok=True)
