"""The build-time maths (``tools/mathml_prerender.py``): MathML spaced as TeX spaces it,
and a font subset that holds every character the browser draws.

The character rules are checked against Unicode's own names and code points; the
subset against STIX Two Math itself (fontTools reads both); the spacing against
Temml's output for the constructs the book uses. That every glyph of every page is
really drawn from the subset is checked in Chromium (``test_browser.py``).
"""

from __future__ import annotations

import re
import shutil
import unicodedata

import pytest
from fontTools.ttLib import TTFont

import mathml_prerender as mp  # tools/ is on the test path (pytest.ini)

needs_temml = pytest.mark.skipif(
    shutil.which("node") is None or not (mp.TEMML / "package.json").exists(),
    reason="Node.js and the npm packages (make node) are needed to run Temml")


@pytest.mark.parametrize("letter, code_point", [
    ("a", 0x1D44E), ("d", 0x1D451), ("z", 0x1D467), ("A", 0x1D434), ("W", 0x1D44A),
    ("h", 0x210E),  # Unicode's italic h is the Planck constant
    ("\u03b1", 0x1D6FC), ("\u03c3", 0x1D70E), ("\u03d5", 0x1D719), ("\u03c6", 0x1D711),
    ("\u03f5", 0x1D716), ("\u03b5", 0x1D700), ("\u03a6", 0x1D6F7),
    ("\u2202", 0x1D715), ("\u2207", 0x1D6FB), ("\u0131", 0x1D6A4),
])
def test_a_one_letter_identifier_is_drawn_as_its_mathematical_italic(letter, code_point):
    assert mp.math_italic(letter) == chr(code_point)
    assert unicodedata.name(chr(code_point)).startswith(("MATHEMATICAL ITALIC", "PLANCK"))


@pytest.mark.parametrize("char", ["1", "+", "=", "\u2211", "\U0001d53c"])  # digits, operators, 𝔼
def test_other_characters_are_drawn_as_written(char):
    assert mp.math_italic(char) == char


def test_the_characters_of_a_formula_include_what_the_browser_adds():
    markup = ('<math><mi>d</mi><mi>Var</mi><mi mathvariant="normal">\u03a6</mi>'
              '<msqrt><mn>2</mn></msqrt><mo>&lt;</mo></math>')
    chars = mp.math_characters([markup])
    assert "\U0001d451" in chars  # the italic d the browser draws
    assert "\u221a" in chars  # the radical sign of \sqrt
    assert set("Var2<\u03a6") <= set(chars)
    assert "\U0001d6f7" not in chars  # an upright capital (mathvariant) stays upright
    assert mp.math_characters(["<math><mi>x</mi></math>"]).count("\u221a") == 0


def test_the_font_subset_keeps_the_stretched_forms_of_its_characters(tmp_path):
    """Brackets grow through size variants and parts that only the MATH table names."""
    target = tmp_path / "subset.woff2"
    mp.subset_font("x(\u2211\u221a", target)
    with TTFont(mp.FONT) as full, TTFont(target) as subset:
        check_subset(full, subset)


def size_variants(font, char):
    """The heights of the glyphs the font's MATH table offers for ``char``, smallest first."""
    math = font["MATH"].table.MathVariants
    glyph = font.getBestCmap()[ord(char)]
    coverage = math.VertGlyphCoverage.glyphs
    if glyph not in coverage:
        return []
    construction = math.VertGlyphConstruction[coverage.index(glyph)]
    glyf = font["glyf"]
    heights = []
    for record in construction.MathGlyphVariantRecord:
        outline = glyf[record.VariantGlyph]
        outline.recalcBounds(glyf)
        heights.append(outline.yMax - outline.yMin if outline.numberOfContours else 0)
    return heights


def check_subset(full, subset):
    assert "MATH" in subset and "GSUB" in subset
    cmap = subset.getBestCmap()
    assert {ord(c) for c in "x(\u2211\u221a"} <= set(cmap)
    assert ord("y") not in cmap
    for char in "(\u2211\u221a":
        assert len(size_variants(full, char)) > 1, f"STIX Two Math has size variants of {char}"
        assert size_variants(subset, char) == size_variants(full, char), f"size variants of {char}"
    assert len(subset.getGlyphOrder()) < len(full.getGlyphOrder()) / 10


def test_the_stylesheet_loads_only_the_subset_font():
    css = mp.stylesheet()
    assert css.count("@font-face") == 1
    rules = re.sub(r"/\*.*?\*/", "", css, flags=re.S)  # the licence comment names its web page
    assert "local(" not in rules and "@import" not in rules
    rules = re.sub(r'url\("data:[^"]*"\)', "", rules)  # images drawn inside the sheet itself
    assert re.findall(r"url\(([^)]*)\)", rules) == [f"'./{mp.FONT_FILE}'"]


@pytest.fixture(scope="module")
def temml():
    converter = mp.Temml({r"\Var": r"\operatorname{Var}"})
    yield converter
    converter.close()


@needs_temml
def test_sized_delimiters_take_no_space_of_their_own(temml):
    raw = r"\phi\bigl(z\bigr)\Bigl[x\Bigr]"
    mathml = temml.render(raw, display=False)
    sized = re.findall(r'<mo fence="true"[^>]*minsize[^>]*>', mathml)
    assert len(sized) == 4
    assert all('lspace="0em" rspace="0em"' in mo for mo in sized)


@needs_temml
def test_an_operator_name_after_a_subscript_keeps_its_thin_space(temml):
    mathml = temml.render(r"n_{\text{in}}\Var[w]", display=False)
    assert re.search(r'</msub><mspace width="0.1667em"></mspace><mi>Var</mi>', mathml)
    # after a plain letter Temml writes the space itself, and only once
    assert temml.render(r"n\Var[w]", display=False).count("<mspace") == 1


@needs_temml
@pytest.mark.parametrize("tex", [r"\left(\frac{a}{b}\right) + (c)", r"\ln x + \max_i y_i", r"x^2 \cdot y"])
def test_everything_else_is_left_as_temml_writes_it(temml, tex):
    assert temml.render(tex, display=False) == temml.convert(tex, display=False)


@needs_temml
def test_a_formula_temml_cannot_parse_is_an_error(temml):
    with pytest.raises(ValueError, match="Unsupported function name"):
        temml.render(r"\notamacro{x}", display=False)


def test_the_characters_of_pages_an_incremental_build_did_not_write_are_kept():
    stored = {"chapters/one": "ab", "chapters/two": "cd", "chapters/gone": "ef"}
    written = {"chapters/one": {"x"}, "chapters/new": {"y", "z"}}
    pages = {"chapters/one", "chapters/two", "chapters/new"}
    assert mp.characters_by_page(stored, written, pages) == {
        "chapters/new": "yz",  # a new page
        "chapters/one": "x",  # written again: its old formulas are gone
        "chapters/two": "cd",  # not written: kept
    }  # and chapters/gone, no longer in the book, is dropped
