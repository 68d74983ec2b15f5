"""Fault injection: the book's build configuration really fails on each fault.

Each test builds a small throw-away book in a temporary folder with this
repository's own ``_config.yml`` and build script, breaks it in one way, and
asserts that the build fails with a message naming the broken file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent

FRONT_MATTER = """---
jupytext:
  formats: md:myst
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""

GOOD_PAGE = FRONT_MATTER + """
(good)=
# A good page

```{code-cell} ipython3
print(1 + 1)
```
"""

FAULTS = {
    "failing_cell": FRONT_MATTER + """
# A failing cell

```{code-cell} ipython3
1 / 0
```
""",
    "broken_reference": """
# A broken reference

See {ref}`no-such-label` and {numref}`fig-that-does-not-exist`.
""",
    "stderr_cell": FRONT_MATTER + """
# A cell that writes to stderr

```{code-cell} ipython3
import sys
print("something went wrong", file=sys.stderr)
```
""",
    "missing_citation": """
# A citation of a key that is not in references.bib

As shown by {cite:p}`nobody1999nothing`.
""",
    # notes.txt is a file of the book that tools/build.py does not declare as an
    # execution input: a change to it would not clear the execution cache.
    "undeclared_input": FRONT_MATTER + """
# A cell that reads an undeclared file of the repository

```{code-cell} ipython3
with open("notes.txt") as f:
    print(f.read())
```
""",
}


def make_book(folder: Path, page_name: str, page_text: str) -> Path:
    """A two-page book with the real configuration: a good page and ``page_name``."""
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", folder / "_config.yml")
    shutil.copy(ROOT / "references.bib", folder / "references.bib")
    # the book's own Sphinx extensions and styles (they find the Node tools from here)
    for name in ("tools", "_static"):
        (folder / name).symlink_to(ROOT / name, target_is_directory=True)
    (folder / "requirements.txt").write_text("# throw-away book\n")
    (folder / "_toc.yml").write_text(
        "format: jb-book\nroot: good\nchapters:\n  - file: " + page_name + "\n"
    )
    (folder / "good.md").write_text(GOOD_PAGE)
    (folder / "notes.txt").write_text("a note that no cell should read undeclared\n")
    (folder / f"{page_name}.md").write_text(page_text)
    return folder


def build(book: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build.py"), str(book)],
        capture_output=True, text=True, timeout=600,
    )


def test_a_good_book_builds(tmp_path):
    book = make_book(tmp_path / "book", "other", GOOD_PAGE.replace("(good)=", "(other)="))
    result = build(book)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_fails_the_build_and_names_the_file(tmp_path, fault):
    book = make_book(tmp_path / "book", fault, FAULTS[fault])
    result = build(book)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert f"{fault}.md" in output or f"{fault}.ipynb" in output, output[-3000:]
    if fault == "undeclared_input":
        assert "'notes.txt'" in output and "EXECUTION_INPUTS" in output, output[-3000:]
    # A failed build stays failed: Sphinx's incremental build would skip the unchanged
    # page and exit 0; tools/build.py remembers each page's warnings until the page is
    # read again (a failing cell is never cached, so its page is always executed again).
    again = build(book)
    assert again.returncode != 0, (again.stdout + again.stderr)[-3000:]
    if fault in ("broken_reference", "missing_citation"):
        assert "still failing" in again.stderr and f"{fault}.md" in again.stderr
        assert "0 added, 0 changed, 0 removed" in again.stdout  # nothing was read again
