r"""A short history as data, and small reproductions of historical results.

The timeline of chapter 9 ("A short history") is generated from the table of
:func:`timeline`: one :class:`Event` per paper, with its year, a short title,
the key of its entry in the book's ``references.bib``, the authors and one
line on why it matters. The tests check every key against the bibliography
and every year against the year of its entry, so the figure cannot drift
from the references.

The second half reproduces, with one recurrent unit, the trade-off that
Bengio, Simard and Frasconi (1994) identified: a unit

.. math:: h_t = \tanh(w\,h_{t-1} + x_t)

with self-weight :math:`w > 1` has two stable states :math:`\pm h^*` and can
store one bit in its sign, robustly against small inputs :math:`x_t`. At a
stable state the factor that back-propagation through time multiplies per step,
:math:`\partial h_t / \partial h_{t-1} = w\,(1 - h_t^2)`, is below one
(:func:`latch_fixed_point`), so the gradient with respect to the distant past
vanishes geometrically (measured by :func:`latch_run`, with the back-propagation
of :class:`gradlab.nn.RNN`). Where the factor is close to one the state is
barely stable and noise erases the bit (:func:`latch_retention` computes how
often).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import matplotlib as mpl
import numpy as np

from . import _validate as _v
from . import activations as _act
from . import init as _init
from . import nn as _nn
from . import plotting as _plotting

__all__ = [
    "Event",
    "timeline",
    "draw_timeline",
    "latch_fixed_point",
    "LatchRun",
    "latch_run",
    "latch_retention",
]


class Event(NamedTuple):
    """One dated event of the timeline.

    Attributes
    ----------
    year : int
        Year of publication (the ``year`` field of the entry in ``references.bib``).
    title : str
        A short title for the figure (at most 30 characters).
    who : str
        The authors as they are cited in the text ("He et al." for four or more).
    key : str
        The citation key in the book's ``references.bib``.
    why : str
        One line on why the event matters for gradients.
    kind : str
        ``"foundation"``, ``"diagnosis"`` (an analysis of the problem) or
        ``"remedy"``.

    Examples
    --------
    >>> e = Event(1943, "Threshold neuron", "McCulloch and Pitts", "mcculloch1943logical",
    ...           "units as logic", "foundation")
    >>> e.year, e.kind
    (1943, 'foundation')
    """

    year: int
    title: str
    who: str
    key: str
    why: str
    kind: str


#: The kinds of event, in the order of the figure's legend.
KINDS = ("foundation", "diagnosis", "remedy")

_EVENTS = (
    Event(1943, "Threshold neuron", "McCulloch and Pitts", "mcculloch1943logical",
          "Neurons as all-or-none threshold units that compute logic; a step has no useful derivative.",
          "foundation"),
    Event(1986, "Back-propagation", "Rumelhart, Hinton and Williams", "rumelhart1986learning",
          "The chain rule trains hidden layers of sigmoid units: the gradient is a product of layer factors.",
          "foundation"),
    Event(1991, "Vanishing gradients analysed", "Hochreiter", "hochreiter1991untersuchungen",
          "Error signals in recurrent nets shrink or grow geometrically with the time lag.",
          "diagnosis"),
    Event(1994, "Latching versus learning", "Bengio, Simard and Frasconi", "bengio1994learning",
          "Storing information robustly makes the gradient from the distant past vanish.",
          "diagnosis"),
    Event(1997, "LSTM", "Hochreiter and Schmidhuber", "hochreiter1997long",
          "A linear self-loop of weight one, the constant error carousel, carries the error unchanged.",
          "remedy"),
    Event(2010, "Saturation and normalised init", "Glorot and Bengio", "glorot2010understanding",
          "Top sigmoid layer saturates; weight variance 2/(fan_in + fan_out) keeps variances level.",
          "diagnosis"),
    Event(2010, "Rectified linear units", "Nair and Hinton", "nair2010rectified",
          "Rectified linear units in restricted Boltzmann machines: derivative 1 where active.",
          "remedy"),
    Event(2011, "Deep rectifier networks", "Glorot, Bordes and Bengio", "glorot2011deep",
          "Deep ReLU networks train well without unsupervised pre-training.",
          "remedy"),
    Event(2013, "Gradient-norm clipping", "Pascanu, Mikolov and Bengio", "pascanu2013difficulty",
          "Rescale a gradient whose norm exceeds a threshold; a sufficient condition for vanishing.",
          "remedy"),
    Event(2015, "Batch normalisation", "Ioffe and Szegedy", "ioffe2015batch",
          "Normalise every unit over the batch: larger learning rates, less dependence on the init.",
          "remedy"),
    Event(2015, "He initialisation", "He et al.", "he2015delving",
          "PReLU, and weight variance 2/fan_in for rectifiers: a 30-layer plain network trains.",
          "remedy"),
    Event(2016, "Residual networks", "He et al.", "he2016deep",
          "Identity shortcuts y = x + F(x): networks of more than a hundred layers train.",
          "remedy"),
    Event(2017, "Self-normalising networks", "Klambauer et al.", "klambauer2017self",
          "SELU drives the mean and variance of activations to a fixed point (0, 1).",
          "remedy"),
)


def timeline(kind=None):
    """The events of the book's timeline, oldest first.

    The table cites, for every event, the paper in the book's
    ``references.bib`` (checked by the tests): McCulloch and Pitts (1943),
    Rumelhart, Hinton and Williams (1986), Hochreiter (1991), Bengio, Simard
    and Frasconi (1994), Hochreiter and Schmidhuber (1997), Glorot and Bengio
    (2010), Nair and Hinton (2010), Glorot, Bordes and Bengio (2011), Pascanu,
    Mikolov and Bengio (2013), Ioffe and Szegedy (2015), He et al. (2015,
    2016) and Klambauer et al. (2017).

    Parameters
    ----------
    kind : str, optional
        Keep only the events of this kind: ``"foundation"``, ``"diagnosis"``
        or ``"remedy"``.

    Returns
    -------
    tuple of Event
        Sorted by year (events of the same year in the order of the table).

    Examples
    --------
    >>> events = timeline()
    >>> events[0].year, events[0].who
    (1943, 'McCulloch and Pitts')
    >>> [e.year for e in timeline("diagnosis")]
    [1991, 1994, 2010]
    """
    if kind is not None:
        _v.choice(kind, "kind", KINDS)
    events = sorted(_EVENTS, key=lambda e: e.year)  # stable: table order within a year
    return tuple(e for e in events if kind is None or e.kind == kind)


_MARKERS = {"foundation": "o", "diagnosis": "^", "remedy": "s"}


def draw_timeline(ax, events=None, first=1940, last=2020):
    """Draw a vertical timeline: a year axis with one labelled marker per event.

    The y axis is the year, increasing downwards, so the axis can be as tall as
    a phone screen while the labels keep the full width. Each event is a
    marker on the axis at its year (shape and colour by kind, so colour is
    never the only cue; markers less than two years apart side by side), joined by a
    thin leader line to its label; labels are
    spaced evenly in event order, so crowded years (2010 to 2017) stay
    readable while the markers keep the true spacing in time. A label is the
    year and the short title, with the authors below in grey.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    events : sequence of Event, optional
        Default :func:`timeline`. Drawn in the order given (sort them by year).
    first, last : int, default 1940 and 2020
        Range of the year axis; every event must lie inside it.

    Returns
    -------
    list of matplotlib.text.Text
        The title labels, one per event.

    Examples
    --------
    >>> fig, ax = _plotting.figure(height=6.0)
    >>> labels = draw_timeline(ax)
    >>> len(labels), ax.get_ylabel(), bool(ax.yaxis_inverted())
    (13, 'year', True)
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    if not isinstance(ax, mpl.axes.Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    events = timeline() if events is None else events
    if isinstance(events, (str, bytes)) or not hasattr(events, "__len__") or len(events) == 0:
        raise ValueError(f"events must be a non-empty sequence of Event, got {events!r}")
    for i, e in enumerate(events):
        if not isinstance(e, Event):
            raise TypeError(f"events[{i}] must be an Event, got {type(e).__name__}")
        _v.choice(e.kind, f"events[{i}].kind", KINDS)
    first = _v.integer(first, "first")
    last = _v.integer(last, "last")
    years = [e.year for e in events]
    if not first <= min(years) <= max(years) <= last or first == last:
        raise ValueError(f"first and last must enclose the years of the events ({min(years)} to "
                         f"{max(years)}), got {first} and {last}")
    colours = dict(zip(KINDS, [_plotting.palette(7)[6], _plotting.palette(2)[1], _plotting.palette(1)[0]]))
    n = len(events)
    pad = 0.02 * (last - first)
    slots = np.linspace(first + pad, last - pad, n) if n > 1 else np.array([0.5 * (first + last)])
    x_axis, x_label = 0.0, 0.16
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(last, first)
    ax.spines[["top", "right", "bottom"]].set_visible(False)
    ax.tick_params(axis="x", bottom=False, labelbottom=False)
    ax.grid(False)
    ax.set_yticks(np.arange(first, last + 1, 10))
    ax.set_ylabel("year")
    seen, labels, columns = set(), [], []
    for e, y in zip(events, slots):
        c = colours[e.kind]
        # markers less than two years apart side by side: the first column free since then
        col = next((i for i, prev in enumerate(columns) if e.year - prev >= 2), len(columns))
        columns[col:col + 1] = [e.year]
        x = x_axis + 0.03 * col
        ax.plot([x, 0.095, x_label - 0.015], [e.year, e.year, y], color="#9a9a9a", linewidth=0.7,
                clip_on=False, zorder=1)
        ax.plot([x], [e.year], marker=_MARKERS[e.kind], color=c, markersize=6, clip_on=False,
                zorder=3, linestyle="none", label=e.kind if e.kind not in seen else None)
        seen.add(e.kind)
        labels.append(ax.annotate(f"{e.year}  {e.title}", (x_label, y), xytext=(0, 1.5),
                                  textcoords="offset points", va="bottom", ha="left", fontsize=11,
                                  color=c if e.kind != "foundation" else None, annotation_clip=False))
        ax.annotate(e.who, (x_label, y), xytext=(0, -1.5), textcoords="offset points", va="top",
                    ha="left", fontsize=9.5, color="#555555", annotation_clip=False)
    handles, names = ax.get_legend_handles_labels()
    order = [names.index(k) for k in KINDS if k in names]
    ax.legend([handles[i] for i in order], [names[i] for i in order], loc="upper center",
              bbox_to_anchor=(0.5, -0.02), ncol=len(order), frameon=False, handletextpad=0.3,
              columnspacing=1.2)
    return labels


# --------------------------------------------------------------------------
# latching one bit: Bengio, Simard and Frasconi (1994) with one unit
# --------------------------------------------------------------------------
def latch_fixed_point(w):
    r"""The stable state of :math:`h \mapsto \tanh(w h)` and the per-step factor there.

    For :math:`0 \le w \le 1` the only fixed point is :math:`h^* = 0`. For
    :math:`w > 1` the origin is unstable and two stable fixed points
    :math:`\pm h^*` appear, the positive root of :math:`h = \tanh(w h)`. Since
    :math:`\tanh(w h) - h` is concave for :math:`h > 0` and vanishes at
    :math:`0` and :math:`h^*`, its slope at :math:`h^*` is negative, so the
    factor back-propagation through time multiplies per step there,

    .. math:: \lambda(w) = w\,\bigl(1 - {h^*}^2\bigr),

    is below one for every :math:`w \ne 1` (it is :math:`w` for :math:`w \le 1`):
    a unit that holds a bit in a stable state passes back a gradient that
    shrinks like :math:`\lambda^k` over :math:`k` steps, the trade-off of
    Bengio, Simard and Frasconi (1994), "Learning long-term dependencies with
    gradient descent is difficult", IEEE Trans. Neural Networks 5(2).

    The root is found by Newton's method from :math:`h = 1` (from the right,
    :math:`\tanh(wh) - h` is concave and decreasing there, so the iterates
    decrease monotonically to :math:`h^*`), to full float64 accuracy.

    Parameters
    ----------
    w : float
        The self-weight, ``w >= 0``.

    Returns
    -------
    h_star : float
        The non-negative stable state (0 for ``w <= 1``).
    factor : float
        :math:`\lambda = w (1 - {h^*}^2)`.

    Examples
    --------
    >>> h, lam = latch_fixed_point(2.0)
    >>> round(h, 4), round(lam, 4)
    (0.9575, 0.1664)
    >>> latch_fixed_point(0.5)
    (0.0, 0.5)
    """
    w = _v.real(w, "w", low=0.0)
    if w <= 1.0:
        return 0.0, w
    h = 1.0
    for _ in range(100):
        t = math.tanh(w * h)
        step = (t - h) / (w * (1.0 - t * t) - 1.0)
        h -= step
        if abs(step) <= 1e-16 * h:
            break
    if w - 1.0 < 1e-6:  # Newton's steps shrink slowly as the two roots merge at w = 1
        lo, hi = 0.0, h
        for _ in range(200):  # bisection on tanh(w h) - h, positive on (0, h*)
            mid = 0.5 * (lo + hi)
            if math.tanh(w * mid) - mid > 0:
                lo = mid
            else:
                hi = mid
        h = 0.5 * (lo + hi)
    return h, w * (1.0 - h * h)


class LatchRun(NamedTuple):
    """Result of :func:`latch_run`.

    Attributes
    ----------
    states : numpy.ndarray
        ``(steps, n_sequences)``: the states :math:`h_1, \\dots, h_T`.
    input_grads : numpy.ndarray
        ``(steps, n_sequences)``: row ``k`` is :math:`\\partial h_T / \\partial x_{T-k}`,
        the gradient of the last state with respect to the input ``k`` steps
        before it (``k = 0`` is the last input), from back-propagation through time.

    Examples
    --------
    >>> r = LatchRun(np.zeros((3, 2)), np.ones((3, 2)))
    >>> r.input_grads.shape
    (3, 2)
    """

    states: np.ndarray
    input_grads: np.ndarray


def latch_run(w, steps, rng, noise=0.1, n_sequences=1):
    r"""Run a one-unit tanh recurrent network from its stable state, and back-propagate.

    Builds a :class:`gradlab.nn.RNN` with one input and one hidden unit, input
    weight 1, recurrent weight ``w`` and zero biases, so that
    :math:`h_t = \tanh(w h_{t-1} + x_t)`; starts every sequence at the stable
    state :math:`h_0 = h^*(w)` of :func:`latch_fixed_point` (a stored bit "+");
    feeds ``steps`` inputs of Gaussian noise :math:`x_t \sim N(0, \text{noise}^2)`
    (drawn from ``rng`` in one call of shape ``(steps, n_sequences, 1)``, the
    only draw);
    and back-propagates :math:`J = \sum_b h_T^{(b)}` through time. Sequences do
    not interact, so the input gradient of sequence ``b`` is
    :math:`\partial h_T^{(b)} / \partial x_t^{(b)}`, which by the chain rule is

    .. math:: \frac{\partial h_T}{\partial x_{T-k}}
              = (1 - h_{T-k}^2) \prod_{t=T-k+1}^{T} w\,(1 - h_t^2),

    close to :math:`(1 - {h^*}^2)\,\lambda^k` while the state stays near
    :math:`h^*` (Bengio, Simard and Frasconi, 1994).

    Parameters
    ----------
    w : float
        Recurrent weight, ``w >= 0``.
    steps : int
        Number of time steps ``T >= 1``.
    rng : numpy.random.Generator
        Source of the noise.
    noise : float, default 0.1
        Standard deviation of the inputs, ``>= 0``.
    n_sequences : int, default 1
        Independent sequences run side by side (a batch).

    Returns
    -------
    LatchRun
        The states and the input gradients (row ``k``: ``k`` steps back).

    Examples
    --------
    >>> run = latch_run(2.0, 30, np.random.default_rng(0), noise=0.05)
    >>> factor = float(np.exp(np.diff(np.log(run.input_grads[:, 0])).mean()))
    >>> round(factor, 2), round(latch_fixed_point(2.0)[1], 2)
    (0.17, 0.17)
    """
    w = _v.real(w, "w", low=0.0)
    steps = _v.positive_int(steps, "steps")
    _v.generator(rng)
    noise = _v.real(noise, "noise", low=0.0)
    n_sequences = _v.positive_int(n_sequences, "n_sequences")
    # constant initialisers draw nothing, so rng supplies the noise alone
    rnn = _nn.RNN(1, 1, rng=rng, init=lambda shape, _: _init.constant(shape, value=1.0),
                  init_hh=lambda shape, _: _init.constant(shape, value=w), bias_init="zeros")
    x = noise * rng.standard_normal((steps, n_sequences, 1))
    h0 = np.full((n_sequences, 1), latch_fixed_point(w)[0])
    h = rnn(x, h0)
    grad = np.zeros_like(h)
    grad[-1] = 1.0
    dx = rnn.backward(grad)
    return LatchRun(h[:, :, 0], dx[::-1, :, 0])


def _normal_cdf(z):
    """Standard normal CDF; beyond 10 standard deviations it is 0 or 1 to float64 accuracy
    relative to the masses that matter here (1 - Phi(10) is about 8e-24)."""
    out = (z > 0).astype(np.float64)
    near = np.abs(z) < 10.0
    out[near] = 0.5 * _act.erfc(-z[near] / math.sqrt(2.0))
    return out


def latch_retention(w, steps, noise, grid=600):
    r"""Probability that the one-unit latch still holds its bit after ``steps`` noisy steps.

    For :math:`h_t = \tanh(w h_{t-1} + x_t)` with :math:`x_t \sim N(0, s^2)`
    (``s = noise``) and :math:`h_0 = h^*(w)` (:func:`latch_fixed_point`),
    returns :math:`P(h_T > 0)`, computed without sampling: the pre-activation
    :math:`u_t = w h_{t-1} + x_t` is a Markov chain with transition density

    .. math:: p(u' \mid u) = \frac{1}{s}\,\varphi\!\left(\frac{u' - w\tanh u}{s}\right),

    and its density is propagated on a grid of ``grid`` cells over
    :math:`[-(w + 10 s), w + 10 s]` (each cell's mass moved by the exact
    Gaussian cell probabilities, so every column of the transition matrix sums
    to one up to the tail mass beyond :math:`10 s`). The sign of :math:`h_T`
    is the sign of :math:`u_T`. For ``w <= 1`` the only stable state is 0 and
    the answer tends to 1/2: nothing is stored. The trade-off of Bengio,
    Simard and Frasconi (1994): a factor :math:`\lambda(w)` near one (a
    gradient that survives) comes with a shallow attractor that noise empties.

    Parameters
    ----------
    w : float
        Recurrent weight, ``w >= 0``.
    steps : int
        Number of steps ``T >= 1``.
    noise : float
        Standard deviation ``s > 0`` of the inputs.
    grid : int, default 600
        Number of cells (even, at least 100); cells must be narrower than
        ``noise / 2`` (the default allows ``w + 10 noise`` up to 150 times ``noise``).

    Returns
    -------
    float
        :math:`P(h_T > 0)`.

    Examples
    --------
    >>> round(latch_retention(2.0, 100, 0.1), 6)
    1.0
    >>> round(latch_retention(0.5, 100, 0.1), 6)
    0.5
    """
    w = _v.real(w, "w", low=0.0)
    steps = _v.positive_int(steps, "steps")
    noise = _v.real(noise, "noise", low=0.0, low_open=True)
    grid = _v.integer(grid, "grid", minimum=100)
    if grid % 2:
        raise ValueError(f"grid must be an even number of cells (so that 0 is a cell edge), got {grid}")
    half = w + 10.0 * noise
    edges = np.linspace(-half, half, grid + 1)
    if edges[1] - edges[0] > 0.5 * noise:
        raise ValueError(f"grid must make the cells narrower than noise/2 ({0.5 * noise:g}); "
                         f"got cells of width {edges[1] - edges[0]:g}: use a larger grid")
    centres = 0.5 * (edges[:-1] + edges[1:])
    means = w * np.tanh(centres)
    cdf = _normal_cdf((edges[:, None] - means[None, :]) / noise)  # (grid + 1, grid)
    kernel = np.diff(cdf, axis=0)  # column j: where the mass of cell j goes
    h0 = latch_fixed_point(w)[0]
    p = np.diff(_normal_cdf((edges - w * h0) / noise))  # u_1 = w h0 + x_1
    for _ in range(steps - 1):
        p = kernel @ p
    return float(p[grid // 2:].sum() / p.sum())
