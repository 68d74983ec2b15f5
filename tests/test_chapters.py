"""Source-level checks of the numbered chapters (chapters/NN-*.md).

They guard the structure every chapter must keep (objectives, figures with real
alt text, exercises with solutions, references) and prove that the computed
results the book spec lists are glued from executed cells, not typed by hand.
Each checker is also run on a small bad text, so the regexes can fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from toc import numbered_chapters  # tools/ is on the test path (pytest.ini)

ROOT = Path(__file__).resolve().parent.parent

CHAPTERS = [f"{name}.md" for name in numbered_chapters()]

# --------------------------------------------------------------------------
# parsing helpers
# --------------------------------------------------------------------------
FRONT_MATTER = re.compile(
    r"\A---\njupytext:\n(?:.*\n)*?\s+format_name: myst\n(?:.*\n)*?kernelspec:\n(?:.*\n)*?---\n"
)
CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```\s*$", re.S | re.M)
CELL_HEADER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
EXERCISE = re.compile(r"^`{3,}\{exercise\}[^\n]*\n:label:\s*(\S+)", re.M)
SOLUTION = re.compile(r"^`{3,}\{solution(?:-start)?\}\s+(\S+)", re.M)
GATED = re.compile(r"\{solution-start\}.*?\{solution-end\}", re.S)
GLUE_ROLE = re.compile(r"\{glue:(?:text|md|)\}`([^`:]+)(?::[^`]*)?`")
GLUE_CALL = re.compile(r"glue\(\s*(f?)\"([^\"]+)\"")

# Results the spec lists: typed in prose they would go stale, so they must be glued.
FORBIDDEN_IN_PROSE = {
    "1.6^15 = 1152.92": r"1152\.9",
    "sigma'(5) = 0.00665": r"0\.006[56]|6\.65\s*(?:e-?0?3|\\times|×)",
    "0.6^15 = 4.70e-4": r"4\.70?\s*(?:e-?0?4|\\times|×)|0\.00047",
    "0.6^3 = 0.216": r"0\.216",
    "float16 max 65504": r"65[ ,\\]*504",
    "float32 max 3.40e38": r"3\.40?\s*(?:e\+?38|\\times|×)",
    "float64 max 1.80e308": r"1\.80?\s*(?:e\+?308|\\times|×)",
    "float16 smallest subnormal 5.96e-8": r"5\.96\s*(?:e-?0?8|\\times|×)",
    "overflow/underflow layers 39, 309, 75, 538": r"(?<![\w.\-])(?:39|309|75|538)(?![\w.%])",
}


def prose_of(text: str) -> str:
    """The chapter without its front matter, code cells (with their metadata) and glue roles."""
    text = FRONT_MATTER.sub("", text)
    text = CODE_CELL.sub("", text)
    # labels and glue names may contain digits that are not numbers of the text
    text = GLUE_ROLE.sub("GLUED", text)
    text = re.sub(r"\{(?:eq|numref|ref|prf:ref|cite:p|cite:t|cite)\}`[^`]*`", "REF", text)
    text = re.sub(r"^\(([^)]+)\)=\s*$", "", text, flags=re.M)
    text = re.sub(r"^:label:.*$", "", text, flags=re.M)
    text = re.sub(r"\$\$\s*\((eq-[^)]+)\)", "$$", text)
    return text


def typed_results(text: str) -> list[str]:
    """Names of the spec's computed results that appear typed in the prose."""
    prose = prose_of(text)
    return [name for name, pat in FORBIDDEN_IN_PROSE.items() if re.search(pat, prose)]


def figures(text: str) -> list[dict]:
    """Figure metadata (name, caption, alt) of every code cell that declares a figure."""
    out = []
    for body in CODE_CELL.findall(text):
        m = CELL_HEADER.match(body)
        if not m:
            continue
        meta = yaml.safe_load(m.group(1)) or {}
        fig = (meta.get("mystnb") or {}).get("figure")
        if fig is None:
            continue
        alt = ((meta.get("mystnb") or {}).get("image") or {}).get("alt", "")
        out.append({"name": fig.get("name", ""), "caption": fig.get("caption", ""), "alt": alt or ""})
    return out


def real_alt(alt: str) -> bool:
    """Alt text that describes: at least eight words, not a file name, mentions an axis."""
    alt = alt.strip()
    return (
        len(alt.split()) >= 8
        and not re.search(r"\.(png|svg|jpe?g|pdf)\b", alt, re.I)
        and re.search(r"\baxis|\baxes|\bplot", alt, re.I) is not None
    )


def exercises_without_solution(text: str) -> list[str]:
    labels = EXERCISE.findall(text)
    solved = set(SOLUTION.findall(text))
    return [lab for lab in labels if lab not in solved]


def glue_names_defined(text: str) -> list[re.Pattern]:
    pats = []
    for body in CODE_CELL.findall(text):
        for is_f, name in GLUE_CALL.findall(body):
            if is_f:
                pats.append(re.compile(re.sub(r"\\\{[^}]*\\\}", r"\\w+", re.escape(name)) + r"\Z"))
            else:
                pats.append(re.compile(re.escape(name) + r"\Z"))
    return pats


# --------------------------------------------------------------------------
# the checks, per chapter
# --------------------------------------------------------------------------
def test_there_are_numbered_chapters():
    assert len(CHAPTERS) >= 2
    for ch in CHAPTERS:
        assert (ROOT / ch).is_file(), ch


@pytest.fixture(params=CHAPTERS, ids=lambda p: Path(p).stem)
def chapter(request):
    return (ROOT / request.param).read_text()


def test_jupytext_front_matter(chapter):
    assert FRONT_MATTER.match(chapter), "full jupytext front matter (jupytext, format_name: myst, kernelspec)"
    assert "display_name: Python 3" in chapter.split("\n---\n", 1)[0]


def test_title_label_objectives_summary_references(chapter):
    body = FRONT_MATTER.sub("", chapter)
    assert re.match(r"\s*\(chapter-[a-z-]+\)=\n# \S", body), "chapter label then title"
    heads = re.findall(r"^## (.+)$", body, re.M)
    assert "Learning objectives" in heads
    assert heads[-2:] == ["Summary", "References"], heads
    assert heads.index("Learning objectives") < 2


def test_at_least_two_figures_with_caption_name_and_real_alt(chapter):
    figs = figures(chapter)
    good = [f for f in figs if f["name"].startswith("fig-") and len(f["caption"].split()) >= 5 and real_alt(f["alt"])]
    assert len(good) >= 2, figs
    assert len(good) == len(figs), [f["name"] for f in figs if f not in good]
    for f in figs:  # every figure is referenced from the text
        assert f"{{numref}}`{f['name']}`" in chapter, f["name"]


def test_three_exercises_each_with_a_solution(chapter):
    assert len(EXERCISE.findall(chapter)) >= 3
    assert exercises_without_solution(chapter) == []


def test_a_computational_solution_checks_its_answer(chapter):
    gated = GATED.findall(chapter)
    assert any(CODE_CELL.search(g) and re.search(r"^\s*assert\b", g, re.M) for g in gated)


def test_bibliography_and_citations(chapter):
    # a label prefix per chapter keeps numeric labels unique across the book's bibliographies
    assert re.search(r"```\{bibliography\}\n:filter: docname in docnames\n(?::labelprefix: \w+\n)?```", chapter)
    assert re.search(r"\{cite:[pt]\}`[^`]+`", chapter)
    bib = (ROOT / "references.bib").read_text()
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, re.M))
    for group in re.findall(r"\{cite:[pt]\}`([^`]+)`", chapter):
        for key in group.split(","):
            assert key.strip() in keys, key


def test_computed_results_are_glued_not_typed(chapter):
    assert typed_results(chapter) == []
    roles = GLUE_ROLE.findall(chapter)
    assert len(roles) >= 10, "numbers in prose come from glue"
    defined = glue_names_defined(chapter)
    for name in roles:
        assert any(p.match(name) for p in defined), f"{name} is used but never glued"


def test_labels_are_namespaced_and_unique():
    seen = {}
    for ch in CHAPTERS:
        text = (ROOT / ch).read_text()
        labels = re.findall(r"^\(([^)]+)\)=\s*$", text, re.M) + re.findall(r"^:label:\s*(\S+)", text, re.M)
        labels += re.findall(r"\$\$\s*\((eq-[^)]+)\)", text) + [f["name"] for f in figures(text)]
        for lab in labels:
            assert lab not in seen, f"{lab} in {ch} and {seen[lab]}"
            seen[lab] = ch


# --------------------------------------------------------------------------
# the checkers catch what they should (tests of the tests)
# --------------------------------------------------------------------------
BAD = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  name: python3
---

(chapter-bad)=
# Bad

Fifteen layers give 1152.92 and $\\sigma'(5) = 0.00665$; 0.6^15 = 4.70e-4 and 0.6^3 = 0.216.
The maxima are 65504, 3.40e38 and $1.8 \\times 10^{308}$, the subnormal 5.96e-8, and
float32 overflows at layer 39 and float64 underflows at layer 538.

```{code-cell} ipython3
---
mystnb:
  figure:
    caption: |
      A caption that is long enough.
    name: fig-bad
  image:
    alt: figure.png
---
glue("bad_value", 1.0)
x = 1152.92  # numbers in code are fine
```

```{exercise} One
:label: ex-bad-one
Text.
```
"""


def test_typed_results_are_caught():
    found = typed_results(BAD)
    assert set(found) == set(FORBIDDEN_IN_PROSE), set(FORBIDDEN_IN_PROSE) - set(found)


def test_glued_and_coded_numbers_are_not_flagged():
    good = BAD.split("(chapter-bad)=")[0] + "Fifteen layers give {glue:text}`depth_pow_16_15:.2f` (eq. {eq}`eq-x-39`).\n"
    good += "```{code-cell} ipython3\nprint(1152.92, 65504, 39)\n```\n"
    good += "Rates like 0.75 or 3.9 and years like 2013 are fine, as is 7.5.\n"
    assert typed_results(good) == []


def test_structure_checkers_fail_on_bad_text():
    figs = figures(BAD)
    assert len(figs) == 1 and not real_alt(figs[0]["alt"])
    assert real_alt("Line plot of the loss on a logarithmic y axis against the step on the x axis.")
    assert exercises_without_solution(BAD) == ["ex-bad-one"]
    assert not any(re.search(r"^\s*assert\b", g, re.M) for g in GATED.findall(BAD))
    assert [p.pattern for p in glue_names_defined(BAD)] == [re.escape("bad_value") + r"\Z"]
    assert any(p.match("depth_float16_max") for p in glue_names_defined('```{code-cell} ipython3\nglue(f"depth_{name}_max", 1)\n```\n'))
