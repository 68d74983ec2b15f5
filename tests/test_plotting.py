"""Tests for gradlab.plotting: style and reproducible output."""

import io

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from gradlab import plotting


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _ax():
    fig, ax = plt.subplots()
    return ax


BAD_INPUT_CASES = [
    ("gradlab.plotting.palette", lambda: plotting.palette(-1), ValueError, "n must be"),
    ("gradlab.plotting.rc", lambda: plotting.rc(1), TypeError, "positional"),
    ("gradlab.plotting.style", lambda: plotting.style(1).__enter__(), TypeError, "positional"),
    ("gradlab.plotting.apply_style", lambda: plotting.apply_style("dark"), TypeError, "positional"),
    ("gradlab.plotting.figure", lambda: plotting.figure(ncols=0), ValueError, "ncols must be a positive int"),
    ("gradlab.plotting.figure", lambda: plotting.figure(width=-2.0), ValueError, "width"),
    ("gradlab.plotting.save", lambda: plotting.save("fig", io.BytesIO()), TypeError, "fig must be"),
    ("gradlab.plotting.per_layer_curves", lambda: plotting.per_layer_curves("ax", {"a": [1]}, "y"), TypeError, "ax must be"),
    ("gradlab.plotting.per_layer_curves", lambda: plotting.per_layer_curves(_ax(), {}, "y"), ValueError, "series"),
    ("gradlab.plotting.per_layer_curves", lambda: plotting.per_layer_curves(_ax(), {"a": [[1, 2]]}, "y"), ValueError, "1-D"),
    ("gradlab.plotting.per_layer_curves", lambda: plotting.per_layer_curves(_ax(), {"a": [1, 2]}, ""), ValueError, "ylabel"),
    ("gradlab.plotting.histograms_by_layer", lambda: plotting.histograms_by_layer(_ax(), {}), ValueError, "arrays_by_layer"),
    ("gradlab.plotting.histograms_by_layer", lambda: plotting.histograms_by_layer([_ax()], {"a": [1], "b": [2]}), ValueError, "one Axes per layer"),
    ("gradlab.plotting.histograms_by_layer", lambda: plotting.histograms_by_layer(_ax(), {"a": [1.0]}, range=(1, 0)), ValueError, "range"),
]


@pytest.mark.parametrize("name,call,exc,match", BAD_INPUT_CASES, ids=[c[0] for c in BAD_INPUT_CASES])
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def _draw():
    rng = np.random.default_rng(0)
    fig, axes = plotting.figure(ncols=2)
    plotting.per_layer_curves(axes[0], {"sigmoid": 0.25 ** np.arange(10), "relu": np.ones(10)},
                              "gradient norm $\\|\\partial J/\\partial W^{(l)}\\|_F$")
    plotting.histograms_by_layer(axes[1], {f"layer {k}": rng.standard_normal(300) / k for k in (1, 2, 3)})
    return fig


def test_opaque_white_background_in_png():
    with plotting.style():
        fig = _draw()
        buf = io.BytesIO()
        plotting.save(fig, buf, format="png", dpi=40)
    img = plt.imread(io.BytesIO(buf.getvalue()))
    assert img.shape[2] == 4 and np.all(img[..., 3] == 1.0)  # no transparent pixel
    assert np.all(img[2, 2, :3] == 1.0)  # white corner
    assert fig.get_facecolor() == (1.0, 1.0, 1.0, 1.0)
    assert all(ax.get_facecolor() == (1.0, 1.0, 1.0, 1.0) for ax in fig.axes)


def test_style_is_scoped_and_colour_blind_palette():
    before = matplotlib.rcParams["svg.hashsalt"]
    with plotting.style():
        assert matplotlib.rcParams["svg.hashsalt"] == "gradlab"
        colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        assert colors[:3] == ["#0072B2", "#D55E00", "#009E73"]
        assert matplotlib.rcParams["font.size"] >= 10
        # dark text: relative luminance of the text colour well below the white background
        r, g, b = matplotlib.colors.to_rgb(matplotlib.rcParams["text.color"])
        assert 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.2
    assert matplotlib.rcParams["svg.hashsalt"] == before


def test_svg_byte_identical_across_renders():
    outs = []
    for _ in range(2):
        with plotting.style():
            fig = _draw()
            buf = io.BytesIO()
            plotting.save(fig, buf, format="svg")
            plt.close(fig)
        outs.append(buf.getvalue())
    assert outs[0] == outs[1]
    assert b"<dc:date>" not in outs[0]
    assert b"<text" not in outs[0]  # text drawn as paths, no font dependence


def test_svg_to_path_on_disk(tmp_path):
    with plotting.style():
        fig = _draw()
        plotting.save(fig, tmp_path / "a.svg")
        plotting.save(fig, str(tmp_path / "b.svg"))
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


def test_curves_and_histograms_content():
    ax = _ax()
    lines = plotting.per_layer_curves(ax, {"a": [1.0, 0.0, -1.0, 4.0]}, "norm")
    y = lines[0].get_ydata()
    assert np.isnan(y[1]) and np.isnan(y[2]) and y[3] == 4.0  # non-positive dropped on log axis
    assert list(lines[0].get_xdata()) == [1, 2, 3, 4]
    ax.figure.canvas.draw()
    assert all(float(t).is_integer() for t in ax.get_xticks())  # layer axes tick at whole layers
    fig, axes = plotting.figure(ncols=2)
    edges = plotting.histograms_by_layer(axes, {"l1": [0.0, 1.0], "l2": [2.0, np.inf]}, bins=4)
    np.testing.assert_allclose(edges, [0, 0.5, 1, 1.5, 2])
    assert axes[0].get_title() == "l1" and axes[1].get_xlabel() == "activation value"
    # a diverged layer (no finite value) is drawn empty, without a 0/0 warning (warnings are errors)
    plotting.histograms_by_layer(_ax(), {"ok": [0.0, 1.0], "diverged": [np.nan, np.inf]}, bins=4)
