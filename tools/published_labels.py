"""The book's published link targets: every page, and every labelled section, figure,
equation, theorem and exercise on it, as ``page.html#anchor`` lines.

Instructors link to these from their courses, so once published they must keep
working. ``tests/published_labels.txt`` is the committed list; a test checks that
every line of it still exists in a fresh build. After adding labels, extend the list:

    .venv/bin/python tools/published_labels.py _build/html >> tests/published_labels.txt
    sort -u -o tests/published_labels.txt tests/published_labels.txt

Removing or renaming a line is a broken promise, not a clean-up.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Anchor ids the book's labels produce: chapters and sections, figures, equations
# (Sphinx prefixes "equation-"), theorems, definitions, propositions and exercises.
LABEL = re.compile(r'\bid="((?:chapter|sec|fig|equation-eq|thm|def|prop|lem|cor|ex)-[\w-]+)"')


def published_targets(html_dir: Path) -> list[str]:
    targets = []
    for page in sorted(html_dir.glob("chapters/*.html")):
        rel = page.relative_to(html_dir).as_posix()
        targets.append(rel)
        targets += [f"{rel}#{anchor}" for anchor in LABEL.findall(page.read_text(encoding="utf-8"))]
    return sorted(set(targets))


if __name__ == "__main__":
    print("\n".join(published_targets(Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html"))))
