"""tools/figure_optimise.py: smaller figure files that draw the same.

A plot in the book's style is written as SVG and PNG. The PNG on a palette must
be smaller and differ from the original only along anti-aliased edges; the SVG
from SVGO must be smaller and, drawn by Chromium at twice the resolution, differ
from the original in no more than a thousandth of its pixels. Optimising a folder
twice changes nothing the second time and runs SVGO once.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import figure_optimise as fo  # noqa: E402  (tools/ is on the test path, pytest.ini)
from gradlab import plotting  # noqa: E402

needs_svgo = pytest.mark.skipif(not fo.SVGO.exists() or shutil.which("node") is None,
                                reason="Node.js and the npm packages (make node) are needed to run SVGO")


def plot(fmt: str) -> bytes:
    rng = np.random.default_rng(0)
    with plotting.style():
        fig, ax = plotting.figure()
        x = np.linspace(0, 1, 400)
        for k in range(4):
            ax.plot(x, np.cumsum(rng.normal(size=x.size)) / 20 + k, label=f"run {k}")
        ax.scatter(rng.random(300), rng.random(300) * 4, s=6, alpha=0.5)
        ax.set_xlabel("step $t$")
        ax.set_ylabel("loss $J$")
        ax.legend()
        buffer = io.BytesIO()
        plotting.save(fig, buffer, format=fmt)
        matplotlib.pyplot.close(fig)
    return buffer.getvalue()


def pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_a_png_on_a_palette_is_smaller_and_differs_only_along_edges():
    original = plot("png")
    quantised = fo.quantised_png(original)
    with Image.open(io.BytesIO(quantised)) as image:
        assert image.mode == "P"
    assert len(quantised) < 0.7 * len(original)
    difference = np.abs(pixels(quantised) - pixels(original)).max(axis=2)
    assert difference.shape == pixels(original).shape[:2]
    assert np.mean(difference > 24) < 0.01  # shades of anti-aliased edges, not areas
    assert np.mean(difference) < 1.0
    assert fo.quantised_png(quantised) == quantised  # a palette image is left as it is


def test_a_see_through_png_keeps_its_colours():
    image = Image.new("RGBA", (40, 30), (255, 0, 0, 128))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    assert fo.quantised_png(buffer.getvalue()) == buffer.getvalue()


def draw(browser, svg: Path) -> np.ndarray:
    page = browser.new_page(viewport={"width": 800, "height": 700}, device_scale_factor=2)
    page.goto(svg.as_uri())
    shot = page.screenshot()
    page.close()
    return pixels(shot)


@needs_svgo
@pytest.mark.browser
def test_svgo_makes_a_smaller_svg_that_draws_the_same(tmp_path, browser):
    original = plot("svg")
    optimised = fo.optimised_svgs({"figure.svg": original})["figure.svg"]
    assert len(optimised) < 0.8 * len(original)
    (tmp_path / "original.svg").write_bytes(original)
    (tmp_path / "optimised.svg").write_bytes(optimised)
    before, after = draw(browser, tmp_path / "original.svg"), draw(browser, tmp_path / "optimised.svg")
    assert before.std() > 10  # something was drawn
    difference = np.abs(before - after).max(axis=2)
    assert np.mean(difference > 64) < 0.001


@needs_svgo
def test_optimising_twice_changes_nothing_and_runs_svgo_once(tmp_path, monkeypatch):
    images, store = tmp_path / "_images", tmp_path / "store"
    images.mkdir()
    (images / "a.svg").write_bytes(plot("svg"))
    (images / "b.png").write_bytes(plot("png"))
    originals = {p.name: p.read_bytes() for p in images.iterdir()}
    fo.optimise_figures(images, store)
    once = {p.name: p.read_bytes() for p in images.iterdir()}
    assert all(len(once[name]) < len(originals[name]) for name in originals)

    def no_svgo(sources):
        assert sources == {}, "SVGO ran again for a figure it had optimised"
        return {}

    monkeypatch.setattr(fo, "optimised_svgs", no_svgo)
    fo.optimise_figures(images, store)  # every file is an optimised one
    assert {p.name: p.read_bytes() for p in images.iterdir()} == once
    for name, data in originals.items():  # Sphinx copies the originals again
        (images / name).write_bytes(data)
    fo.optimise_figures(images, store)  # taken from the store
    assert {p.name: p.read_bytes() for p in images.iterdir()} == once
