"""The book's figure style and its recurring plots.

Style choices, and why:

* the Okabe and Ito (2008) colour-blind-safe palette, reordered so the first
  colours have good contrast on white (yellow last);
* opaque white figure and axes backgrounds with dark text, so a figure reads
  the same on the light and the dark page theme (a transparent figure would
  put black text on a dark page);
* a narrow default figure (4.8 x 3.3 in) with 11 pt text, so labels stay
  about 10 px tall when the figure is shrunk to a 360 px phone screen;
* reproducible SVG: a fixed ``svg.hashsalt``, text as paths
  (``svg.fonttype = "path"``) and, in :func:`save`, no date in the metadata,
  so two builds write byte-identical files.

This module never selects a backend (``matplotlib.use``): the book's build
and Jupyter choose it (Agg is matplotlib's own fallback without a display).
"""

import contextlib
import os

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from . import _validate as _v

__all__ = ["palette", "rc", "style", "apply_style", "figure", "save",
           "per_layer_curves", "histograms_by_layer"]

_OKABE_ITO = [
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow (low contrast on white: last)
]
_TEXT = "#1a1a1a"
_GRID = "#d9d9d9"


def palette(n=None):
    """The Okabe-Ito colour-blind-safe palette (Okabe and Ito, 2008) as hex strings.

    Parameters
    ----------
    n : int, optional
        Number of colours (cycled when more than 8); all 8 by default.

    Examples
    --------
    >>> palette(2)
    ['#0072B2', '#D55E00']
    """
    if n is None:
        return list(_OKABE_ITO)
    n = _v.integer(n, "n", minimum=0)
    return [_OKABE_ITO[i % len(_OKABE_ITO)] for i in range(n)]


def rc():
    """The book's matplotlib rc settings (a fresh dict each call).

    Examples
    --------
    >>> r = rc()
    >>> r["figure.facecolor"], r["svg.fonttype"]
    ('white', 'path')
    """
    return {
        "axes.prop_cycle": mpl.cycler(color=_OKABE_ITO),
        "figure.facecolor": "white",
        "figure.edgecolor": "white",
        "axes.facecolor": "white",
        "savefig.facecolor": "white",
        "savefig.edgecolor": "white",
        "savefig.transparent": False,
        "savefig.bbox": "tight",
        "savefig.dpi": 150,
        "figure.dpi": 100,
        "figure.figsize": (4.8, 3.3),
        "figure.constrained_layout.use": True,
        "font.size": 11,
        "axes.titlesize": 11.5,
        "axes.labelsize": 11,
        "xtick.labelsize": 10,
        "ytick.labelsize": 10,
        "legend.fontsize": 9.5,
        "legend.framealpha": 1.0,
        "legend.facecolor": "white",
        "legend.edgecolor": _GRID,
        "text.color": _TEXT,
        "axes.labelcolor": _TEXT,
        "axes.edgecolor": _TEXT,
        "axes.titlecolor": _TEXT,
        "xtick.color": _TEXT,
        "ytick.color": _TEXT,
        "axes.grid": True,
        "grid.color": _GRID,
        "grid.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "lines.linewidth": 1.8,
        "lines.markersize": 5,
        "svg.fonttype": "path",
        "svg.hashsalt": "gradlab",
        "path.simplify": True,
    }


@contextlib.contextmanager
def style():
    """Context manager: matplotlib's rc set to :func:`rc` inside the block.

    Create (and save) figures inside the block; most settings are read when
    an artist is created, the ``savefig.*`` and ``svg.*`` ones when saving.

    Examples
    --------
    >>> with style():
    ...     fig, ax = figure()
    ...     print(fig.get_facecolor())
    (1.0, 1.0, 1.0, 1.0)
    >>> plt.close(fig)
    """
    with mpl.rc_context(rc()):
        yield


def apply_style():
    """Set the book's style globally, and make Jupyter show figures as SVG.

    For the first cell of a chapter, so that figures drawn later by the
    notebook's inline backend also use it: ``matplotlib.rcParams.update(rc())``
    and, when running under IPython, SVG output from the inline backend. SVG
    stays sharp on a phone and on a high-resolution screen, and with the fixed
    ``svg.hashsalt`` and ``SOURCE_DATE_EPOCH`` set by the build it is
    byte-identical between builds.

    Examples
    --------
    >>> with mpl.rc_context():
    ...     apply_style(); mpl.rcParams["svg.hashsalt"]
    'gradlab'
    """
    mpl.rcParams.update(rc())
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to configure
        return
    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg")


def figure(ncols=1, nrows=1, width=None, height=None, **subplots_kw):
    """A figure with ``nrows x ncols`` axes sized for the page (and a phone).

    Default width 4.8 in for one column, then 3.6 in per extra column up to
    10 in; height 3.3 in per row. Use inside :func:`style` (or after
    :func:`apply_style`).

    Parameters
    ----------
    ncols, nrows : int, default 1
    width, height : float, optional
        Inches; override the defaults.
    **subplots_kw
        Passed to ``matplotlib.pyplot.subplots`` (e.g. ``sharey=True``).

    Returns
    -------
    fig, axes
        ``axes`` is a single Axes for 1 x 1, else an array as from ``subplots``.

    Examples
    --------
    >>> fig, axes = figure(ncols=2)
    >>> len(axes), [round(float(v), 1) for v in fig.get_size_inches()]
    (2, [8.4, 3.3])
    >>> plt.close(fig)
    """
    ncols = _v.positive_int(ncols, "ncols")
    nrows = _v.positive_int(nrows, "nrows")
    for name, v in (("width", width), ("height", height)):
        if v is not None:
            _v.real(v, f"{name} (inches)", low=0.0, low_open=True)
    if width is None:
        width = min(4.8 + 3.6 * (ncols - 1), 10.0)
    if height is None:
        height = 3.3 * nrows
    return plt.subplots(nrows, ncols, figsize=(width, height), squeeze=True, **subplots_kw)


def save(fig, path, **savefig_kw):
    """Save ``fig`` reproducibly: no creation date or software version in the metadata.

    With :func:`style`'s fixed ``svg.hashsalt`` and text as paths, two runs
    write byte-identical SVG files (and PNGs without a timestamp).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like or binary file object
    **savefig_kw
        Passed to ``Figure.savefig`` (``format=`` for file objects).

    Examples
    --------
    >>> import io
    >>> with style():
    ...     fig, ax = figure(); _ = ax.plot([0, 1]); buf = io.BytesIO()
    ...     save(fig, buf, format="svg")
    >>> b"<dc:date>" in buf.getvalue()
    False
    >>> plt.close(fig)
    """
    if not hasattr(fig, "savefig"):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    fmt = savefig_kw.get("format")
    if fmt is None and (isinstance(path, (str, bytes)) or hasattr(path, "__fspath__")):
        name = os.fsdecode(path)
        fmt = name.rsplit(".", 1)[-1].lower() if "." in name else None
    if fmt is None:
        fmt = mpl.rcParams["savefig.format"]
    if fmt == "svg":
        meta = {"Date": None, "Creator": None}
    elif fmt == "png":
        meta = {"Software": None}
    elif fmt == "pdf":
        meta = {"CreationDate": None, "Creator": None, "Producer": None}
    else:
        meta = {}
    meta.update(savefig_kw.pop("metadata", {}))
    fig.savefig(path, metadata=meta, **savefig_kw)


def _check_ax(ax):
    if not isinstance(ax, mpl.axes.Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")


def per_layer_curves(ax, series, ylabel, logy=True, xlabel="layer $l$", x=None,
                     markers=True):
    """One curve per series of per-layer values (e.g. gradient norm vs layer).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    series : dict[str, array-like]
        Label -> values; values of series ``k`` are plotted at ``x`` (default
        ``1..len(values)``, the book's layer index ``l``, with integer ticks).
    ylabel : str
        Axis label, with units where there are any.
    logy : bool, default True
        Logarithmic y axis (non-positive and non-finite values are left out).
    xlabel : str, default "layer $l$"
    x : array-like, optional
        Common x values (e.g. training steps with ``xlabel="step"``).
    markers : bool, default True

    Returns
    -------
    list of matplotlib.lines.Line2D

    Examples
    --------
    >>> fig, ax = figure()
    >>> lines = per_layer_curves(ax, {"sigmoid": [1e-1, 1e-2, 1e-3], "relu": [1, 1, 1]}, "gradient norm")
    >>> len(lines), ax.get_yscale(), ax.get_xlabel()
    (2, 'log', 'layer $l$')
    >>> plt.close(fig)
    """
    _check_ax(ax)
    if not isinstance(series, dict) or not series:
        raise ValueError("series must be a non-empty dict of label -> values")
    if not isinstance(ylabel, str) or not ylabel:
        raise ValueError("ylabel must be a non-empty string")
    logy = _v.boolean(logy, "logy")
    markers = _v.boolean(markers, "markers")
    marks = ["o", "s", "^", "D", "v", "P", "X", "*"]
    lines = []
    for k, (label, values) in enumerate(series.items()):
        v = np.asarray(values, dtype=np.float64)
        if v.ndim != 1:
            raise ValueError(f"series[{label!r}] must be 1-D, got shape {v.shape}")
        xs = np.arange(1, v.size + 1) if x is None else np.asarray(x)
        if xs.shape != v.shape:
            raise ValueError(f"x must have shape {v.shape} like series[{label!r}], got {xs.shape}")
        if logy:
            v = np.where(np.isfinite(v) & (v > 0), v, np.nan)
        kw = {"marker": marks[k % len(marks)], "markersize": 4} if markers and v.size <= 60 else {}
        lines += ax.plot(xs, v, label=str(label), **kw)
    if logy:
        ax.set_yscale("log")
    if x is None:  # layer indices are integers: no tick at layer 2.5
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend()
    return lines


def histograms_by_layer(axes, arrays_by_layer, bins=50, range=None,
                        xlabel="activation value", density=True):
    """Histograms of a quantity in each layer (Glorot and Bengio, 2010, Fig. 6 style).

    With a single Axes the layers are overlaid as outlined step histograms
    (one colour per layer); with a sequence of Axes, one layer per Axes
    (small multiples sharing ``bins`` and ``range``).

    Parameters
    ----------
    axes : matplotlib.axes.Axes or sequence of Axes
    arrays_by_layer : dict[str, array-like]
        Label (e.g. ``"layer 1"``) -> values (flattened; non-finite ones dropped).
    bins : int, default 50
    range : (float, float), optional
        Common range; default the min and max over all layers.
    xlabel : str, default "activation value"
    density : bool, default True
        Normalise each histogram to unit area (y label "density").

    Returns
    -------
    numpy.ndarray
        The common bin edges.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> fig, ax = figure()
    >>> edges = histograms_by_layer(ax, {"layer 1": rng.standard_normal(500), "layer 2": rng.standard_normal(500) / 2}, bins=20)
    >>> edges.shape, ax.get_ylabel()
    ((21,), 'density')
    >>> plt.close(fig)
    """
    if isinstance(axes, mpl.axes.Axes):
        ax_list = None
    else:
        ax_list = list(np.ravel(np.asarray(axes, dtype=object)))
        for a in ax_list:
            _check_ax(a)
    if not isinstance(arrays_by_layer, dict) or not arrays_by_layer:
        raise ValueError("arrays_by_layer must be a non-empty dict of label -> values")
    if ax_list is not None and len(ax_list) != len(arrays_by_layer):
        raise ValueError(f"axes must have one Axes per layer ({len(arrays_by_layer)}), got {len(ax_list)}")
    bins = _v.positive_int(bins, "bins")
    density = _v.boolean(density, "density")
    data = {}
    for label, values in arrays_by_layer.items():
        v = np.asarray(values, dtype=np.float64).ravel()
        data[label] = v[np.isfinite(v)]
    if range is None:
        allv = np.concatenate(list(data.values()))
        if allv.size == 0:
            raise ValueError("arrays_by_layer has no finite values")
        lo, hi = float(allv.min()), float(allv.max())
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
    else:
        lo, hi = map(float, range)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"range must be (low, high) with low < high, got {range!r}")
    edges = np.linspace(lo, hi, bins + 1)
    colors = palette(len(data))
    ylabel = "density" if density else "count"
    for k, (label, v) in enumerate(data.items()):
        ax = axes if ax_list is None else ax_list[k]
        # a layer with no finite value (a diverged network) has an empty histogram,
        # whose density is 0/0: draw it empty, quietly
        with _v.quiet():
            if ax_list is None:
                ax.hist(v, bins=edges, density=density, histtype="step", linewidth=1.6,
                        color=colors[k], label=str(label))
            else:
                ax.hist(v, bins=edges, density=density, color=colors[0], alpha=0.85)
        if ax_list is not None:
            ax.set_title(str(label))
        ax.set_xlabel(xlabel)
        if ax_list is None or k == 0:
            ax.set_ylabel(ylabel)
    if ax_list is None and len(data) > 1:
        axes.legend()
    return edges
