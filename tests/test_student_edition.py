"""The student edition (``make student``): every exercise, no solution.

The solution-stripping of MyST text is tested on its own first; the built edition is
then compared with the full book, page by page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from student_edition import strip_solutions
from toc import numbered_chapters

ROOT = Path(__file__).resolve().parent.parent

GATED = """\
Text before.

````{exercise} Title
:label: ex-a
Do it.
````

````{solution-start} ex-a
:class: dropdown
````

Solution prose.

```{code-cell} ipython3
x = 1
```

````{solution-end}
````

Text after.

```{solution} ex-a
Plain solution.
```

Last line.
"""


def test_strip_solutions_removes_plain_and_gated_solutions_only():
    stripped = strip_solutions(GATED)
    for gone in ("solution-start", "Solution prose.", "x = 1", "solution-end", "Plain solution."):
        assert gone not in stripped
    for kept in ("Text before.", "{exercise} Title", "Do it.", "Text after.", "Last line."):
        assert kept in stripped
    assert stripped == ("Text before.\n\n````{exercise} Title\n:label: ex-a\nDo it.\n````\n\n"
                        "Text after.\n\nLast line.\n")


def test_strip_solutions_keeps_a_longer_fenced_solution_whole():
    text = "A\n\n````{solution} ex-a\n```python\ncode\n```\nafter the code\n````\n\nB\n"
    assert strip_solutions(text) == "A\n\nB\n"


@pytest.mark.parametrize("text", [
    "```{solution} ex-a\nnever closed\n",
    "````{solution-start} ex-a\n````\n\nno end marker\n",
])
def test_strip_solutions_refuses_an_unclosed_solution(text):
    with pytest.raises(ValueError, match="never closed"):
        strip_solutions(text)


def test_every_chapter_source_strips_cleanly():
    """Each chapter loses all its solutions and none of its exercises."""
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]-*.md")):
        text = path.read_text(encoding="utf-8")
        stripped = strip_solutions(text)
        assert "{solution" not in stripped, path.name
        assert (re.findall(r"\{exercise(?:-start)?\}", stripped)
                == re.findall(r"\{exercise(?:-start)?\}", text)), path.name


# --------------------------------------------------------------------------- the build


def page(html: Path, docname: str) -> BeautifulSoup:
    return BeautifulSoup((html / f"{docname}.html").read_text(encoding="utf-8"), "html.parser")


def exercises(soup: BeautifulSoup) -> list[tuple[str, str]]:
    """(id, title) of every exercise on a page, in order."""
    found = []
    for div in soup.select("div.exercise"):
        title = div.select_one(".admonition-title")
        found.append((div.get("id", ""), " ".join(title.get_text().split()) if title else ""))
    return found


def sentences(text: str) -> set[str]:
    """The runs of eight or more words of a text (what a reader would recognise)."""
    words = text.split()
    return {" ".join(words[i:i + 8]) for i in range(len(words) - 7)}


@pytest.mark.book
@pytest.mark.parametrize("docname", numbered_chapters())
def test_student_chapter_has_every_exercise_and_no_solution(built_book, student_book, docname):
    full, student = page(built_book.html, docname), page(student_book, docname)
    full_exercises = exercises(full)
    source = (ROOT / f"{docname}.md").read_text(encoding="utf-8")
    assert len(full_exercises) == len(re.findall(r"\{exercise(?:-start)?\}", source)) >= 3
    assert exercises(student) == full_exercises
    assert full.select("div.solution"), f"{docname}: the full book shows no solution"
    assert not student.select("div.solution, .solution-content")

    # Every run of eight words that the full page has only inside a solution is
    # missing from the student page (prose, code and outputs of gated solutions).
    solution_text = " ".join(div.get_text(" ") for div in full.select("div.solution"))
    for div in full.select("div.solution"):
        div.decompose()
    outside = sentences(full.select_one("main").get_text(" "))
    only_in_solutions = sentences(solution_text) - outside
    assert only_in_solutions, docname
    leaked = only_in_solutions & sentences(student.select_one("main").get_text(" "))
    assert not leaked, f"{docname}: solution text in the student edition: {sorted(leaked)[:3]}"


@pytest.mark.book
def test_student_downloads_have_no_solutions(student_book):
    for docname in numbered_chapters():
        name = Path(docname).name
        source = (student_book / "_sources" / f"{docname}.md").read_text(encoding="utf-8")
        assert "{solution" not in source and "{exercise" in source, name
        notebook = json.loads((student_book / "_downloads" / "notebooks" / f"{name}.ipynb")
                              .read_text(encoding="utf-8"))
        text = "".join("".join(cell["source"]) for cell in notebook["cells"])
        assert "{solution" not in text and "{exercise" in text, name


@pytest.mark.book
def test_student_pages_name_their_edition(student_book, built_book):
    for docname in ["chapters/index"] + numbered_chapters():
        assert "Student edition" in (student_book / f"{docname}.html").read_text(encoding="utf-8")
        assert "Student edition" not in (built_book.html / f"{docname}.html").read_text(encoding="utf-8")
