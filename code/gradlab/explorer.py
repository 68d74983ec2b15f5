r"""The gradient-flow explorer: every knob of the book, measured and predicted, on one grid.

The book's explorer page lets a reader choose the depth, the activation, the
initialisation of the weights and of the biases, a normalisation layer and
residual connections, and shows, layer by layer, what a network built that
way does at initialisation next to what theory predicts for it. This module
computes everything the page shows; the page's script only selects and draws.

The network (:func:`build`) has ``depth`` = :math:`L` hidden layers of width
:math:`n`. Its *stream* :math:`z^{(l)}` is the input of hidden layer
:math:`l`'s activation: :math:`z^{(1)} = W^{(1)} x + b^{(1)}` and, for
:math:`l = 1, \dots, L-1`,

.. math::
    a^{(l)} = \phi\bigl(N(z^{(l)})\bigr), \qquad
    z^{(l+1)} = [\,z^{(l)} +\,]\; \alpha\,\bigl(W^{(l+1)} a^{(l)} + b^{(l+1)}\bigr),

where :math:`N` is batch normalisation, layer normalisation or nothing, the
bracket is there only with residual connections, and :math:`\alpha` is 1
except for *scaled* residual branches, :math:`\alpha = 1/\sqrt{L-1}`. The
output :math:`W^{(L+1)} a^{(L)} + b^{(L+1)}` is one number, fitted to a
teacher's targets with the mean squared error. Without normalisation and
residual connections this is exactly :func:`gradlab.nn.mlp`; with
normalisation and without residual connections it is the arrangement of
:func:`gradlab.normalisation_tools.normalised_mlp`; with residual connections
every block is a :class:`gradlab.nn.Residual` around ``[Norm], Activation,
Linear``.

:func:`measure` reports, for every hidden layer, the standard deviation of
:math:`a^{(l)}`, the norm of the gradient :math:`\partial J/\partial z^{(l)}`,
and the fraction of saturated (sigmoid, tanh) or dead (ReLU) units;
:func:`predict` gives the mean-field prediction of the same quantities
(Poole et al., 2016; Schoenholz et al., 2017), :func:`diagnose` one line
about what the measurement shows and the label of the section of the book
that explains it, and :func:`grid` all of it for every configuration of
:func:`configurations`, the data of the page (:func:`pack`, :func:`page_data`).

Examples
--------
>>> from gradlab import explorer
>>> cfg = explorer.config(act="relu", init="he", bias="zeros", depth=10)
>>> m, p = explorer.measure(cfg), explorer.predict(cfg)
>>> m.grad_norm.shape, [round(float(f), 6) for f in p.factor[:2]]
((10,), [1.0, 1.0])
"""

from __future__ import annotations

import functools
import html
import json
import math
from typing import NamedTuple

import numpy as np

from . import _validate as _v
from . import data as _data
from . import diagnostics as _diagnostics
from . import init as _init
from . import losses as _losses
from . import meanfield as _meanfield
from . import nn as _nn
from . import normalisation_tools as _normalisation_tools
from . import products as _products

__all__ = [
    "Knob",
    "knobs",
    "Config",
    "config",
    "parse_preset",
    "configurations",
    "weight_scale",
    "bias_variance",
    "build",
    "Measurement",
    "measure",
    "Prediction",
    "predict",
    "Diagnosis",
    "diagnose",
    "grid",
    "pack",
    "unpack",
    "page_data",
]

#: Width of every hidden layer, number of examples in the batch, and the seeds of
#: the weights, the biases and the data.
WIDTH = 32
BATCH = 64
SEED = 0
DATA_SEED = 1
#: The eps of gradlab's BatchNorm (PyTorch's convention) and LayerNorm.
NORM_EPS = 1e-5


class Knob(NamedTuple):
    """One control of the explorer (see :func:`knobs`).

    Attributes
    ----------
    key : str
        The name in a preset and in the page's address (``act``, ``depth``, ...).
    title : str
        What the control is called on the page.
    values : tuple of str
        The values in a preset, in the order of the control.
    labels : tuple of str
        How the page shows each value.
    default : str
        The value the page starts with when the address does not set it.
    explained : tuple of str
        Labels of the chapters and sections of the book that explain the knob.

    Examples
    --------
    >>> k = Knob("depth", "Depth", ("5",), ("5 layers",), "5", ("chapter-depth",))
    >>> k.values[0] == k.default
    True
    """

    key: str
    title: str
    values: tuple
    labels: tuple
    default: str
    explained: tuple


_KNOBS = (
    Knob("depth", "Hidden layers L", ("5", "10", "20", "30", "50"),
         ("5", "10", "20", "30", "50"), "20",
         ("chapter-depth", "sec-depth-matrices", "sec-depth-floating")),
    Knob("act", "Activation", ("sigmoid", "tanh", "relu", "selu"),
         ("sigmoid", "tanh", "ReLU", "SELU"), "sigmoid",
         ("chapter-saturation", "sec-saturation-factor", "sec-saturation-large-weights",
          "sec-init-rules", "chapter-activations", "sec-act-dead", "sec-act-selu", "sec-diag-dead")),
    Knob("init", "Weights", ("normal1", "small", "torch", "xavier", "he"),
         ("N(0, 1)", "N(0, 0.01²)", "PyTorch default U(±1/√n)", "Xavier N(0, 2/(n_in + n_out))",
          "He N(0, 2/n)"), "torch",
         ("chapter-initialisation", "sec-init-variance", "sec-init-rules", "sec-init-meanfield",
          "sec-init-pytorch", "sec-init-chaos")),
    Knob("bias", "Biases", ("zeros", "torch"),
         ("zero", "PyTorch default U(±1/√n)"), "torch",
         ("sec-saturation-factor", "sec-init-chaos")),
    Knob("norm", "Normalisation", ("none", "batch", "layer"),
         ("none", "batch normalisation", "layer normalisation"), "none",
         ("chapter-batchnorm", "sec-bn-deep")),
    Knob("res", "Residual connections", ("none", "identity", "scaled"),
         ("none", "identity, α = 1", "scaled, α = 1/√(L−1)"), "none",
         ("chapter-residual", "sec-res-variance", "sec-res-depth")),
)
_BY_KEY = {k.key: k for k in _KNOBS}
_ORDER = tuple(k.key for k in _KNOBS)

# Saturation thresholds on the pre-activation |u| that match those of
# gradlab.diagnostics on the activation's value: sigma(u) < 0.01 or > 0.99 is
# |u| > ln 99; |tanh(u)| > 0.99 is |u| > atanh(0.99).
_SATURATION_Z = {
    "sigmoid": math.log((1.0 - _diagnostics.SIGMOID_SATURATION) / _diagnostics.SIGMOID_SATURATION),
    "tanh": math.atanh(_diagnostics.TANH_SATURATION),
}
_DEAD = ("relu",)


def knobs():
    """The explorer's knobs, in the order of the page's controls.

    Returns
    -------
    tuple of Knob
        ``depth``, ``act``, ``init``, ``bias``, ``norm`` and ``res``, each with
        its values, the labels the page shows, its default and the labels of
        the sections of the book that explain it.

    Examples
    --------
    >>> [k.key for k in knobs()]
    ['depth', 'act', 'init', 'bias', 'norm', 'res']
    >>> knobs()[1].values
    ('sigmoid', 'tanh', 'relu', 'selu')
    """
    return _KNOBS


class Config(NamedTuple):
    """One configuration of the explorer: a value of every knob (see :func:`config`).

    Attributes
    ----------
    depth : int
        Number of hidden layers :math:`L`.
    act, init, bias, norm, res : str
        Values of the knobs of :func:`knobs`.

    Examples
    --------
    >>> Config(20, "sigmoid", "torch", "torch", "none", "none").key
    'depth=20&act=sigmoid&init=torch&bias=torch&norm=none&res=none'
    """

    depth: int
    act: str
    init: str
    bias: str
    norm: str
    res: str

    @property
    def key(self):
        """The configuration as a preset, ``depth=..&act=..&...`` in the order of :func:`knobs`."""
        return "&".join(f"{k}={getattr(self, k)}" for k in _ORDER)


def config(**values):
    """A :class:`Config` from knob values, the defaults of :func:`knobs` for the others.

    Parameters
    ----------
    **values
        ``depth`` (an int or its string) and ``act``, ``init``, ``bias``,
        ``norm``, ``res`` (strings), each one of its knob's values.

    Returns
    -------
    Config

    Examples
    --------
    >>> config(act="relu", depth=30)
    Config(depth=30, act='relu', init='torch', bias='torch', norm='none', res='none')
    """
    unknown = sorted(set(values) - set(_ORDER))
    if unknown:
        raise ValueError(f"knob must be one of {', '.join(repr(k) for k in _ORDER)}, got {unknown[0]!r}")
    chosen = {}
    for knob in _KNOBS:
        value = values.get(knob.key, knob.default)
        if knob.key == "depth" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise TypeError(f"{knob.key} must be a str (or an int for depth), got {type(value).__name__}")
        chosen[knob.key] = _v.choice(value, knob.key, knob.values)
    chosen["depth"] = int(chosen["depth"])
    return Config(**chosen)


def parse_preset(preset):
    """The knob values a preset sets, checked: ``"act=sigmoid&depth=30"`` -> ``{"act": "sigmoid", "depth": "30"}``.

    A preset is the query of the explorer's address: ``key=value`` pairs joined
    by ``&``, each key a knob of :func:`knobs` at most once and each value one
    of that knob's values. The book's ``{explore}`` role checks its presets
    with this function, so a link with a wrong preset fails the build.

    Parameters
    ----------
    preset : str
        The pairs, without the leading ``?``; empty for the page's defaults.

    Returns
    -------
    dict
        Knob key to value (strings), in the order of :func:`knobs`.

    Examples
    --------
    >>> parse_preset("init=normal1&act=sigmoid&depth=30")
    {'depth': '30', 'act': 'sigmoid', 'init': 'normal1'}
    """
    if not isinstance(preset, str):
        raise TypeError(f"preset must be a str, got {type(preset).__name__}")
    found = {}
    for pair in preset.split("&") if preset else []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"preset must be key=value pairs joined by '&', got {pair!r} in {preset!r}")
        if key not in _BY_KEY:
            raise ValueError(f"knob must be one of {', '.join(repr(k) for k in _ORDER)}, got {key!r} in {preset!r}")
        if key in found:
            raise ValueError(f"preset must set each knob once, got {key!r} twice in {preset!r}")
        found[key] = _v.choice(value, key, _BY_KEY[key].values)
    return {k: found[k] for k in _ORDER if k in found}


def configurations():
    """Every configuration of the grid, in a fixed order (the last knob of :func:`knobs` fastest).

    Returns
    -------
    list of Config

    Examples
    --------
    >>> grid_configs = configurations()
    >>> len(grid_configs), grid_configs[0]
    (1800, Config(depth=5, act='sigmoid', init='normal1', bias='zeros', norm='none', res='none'))
    """
    combos = [[]]
    for knob in _KNOBS:
        combos = [c + [v] for c in combos for v in knob.values]
    return [config(**dict(zip(_ORDER, c))) for c in combos]


def _check_config(cfg):
    if not isinstance(cfg, Config):
        raise TypeError(f"cfg must be a gradlab.explorer.Config (from explorer.config), got {type(cfg).__name__}")
    return config(**cfg._asdict())


# --------------------------------------------------------------------------
# the scales of the initialisers
# --------------------------------------------------------------------------
def weight_scale(init, fan_in, fan_out):
    r"""The forward scale :math:`s_w^2 = n_{\text{in}} \operatorname{Var}[W_{ij}]` of a weight initialiser.

    * ``normal1``, :math:`N(0, 1)`: :math:`s_w^2 = n_{\text{in}}`;
    * ``small``, :math:`N(0, 0.01^2)`: :math:`s_w^2 = 10^{-4}\, n_{\text{in}}`;
    * ``torch``, PyTorch's ``nn.Linear`` default :math:`U(\pm 1/\sqrt{n_{\text{in}}})`:
      :math:`s_w^2 = 1/3`;
    * ``xavier``, :math:`N(0, 2/(n_{\text{in}} + n_{\text{out}}))`:
      :math:`s_w^2 = 2 n_{\text{in}}/(n_{\text{in}} + n_{\text{out}})` (1 for a square layer);
    * ``he``, :math:`N(0, 2/n_{\text{in}})`: :math:`s_w^2 = 2`.

    Xavier is Glorot and Bengio's (2010) compromise between the forward and
    the backward condition; He et al. (2015) keep the ReLU's forward signal.

    Parameters
    ----------
    init : str
        A value of the ``init`` knob.
    fan_in, fan_out : int
        The layer's input and output sizes.

    Returns
    -------
    float

    Examples
    --------
    >>> weight_scale("xavier", 32, 32), weight_scale("normal1", 32, 32)
    (1.0, 32.0)
    """
    init = _v.choice(init, "init", _BY_KEY["init"].values)
    n_in, n_out = _v.positive_int(fan_in, "fan_in"), _v.positive_int(fan_out, "fan_out")
    return {"normal1": float(n_in), "small": 1e-4 * n_in, "torch": 1.0 / 3.0,
            "xavier": 2.0 * n_in / (n_in + n_out), "he": 2.0}[init]


def bias_variance(bias, fan_in):
    r"""The variance :math:`s_b^2` of a bias initialiser: 0, or :math:`1/(3 n_{\text{in}})` for PyTorch's :math:`U(\pm 1/\sqrt{n_{\text{in}}})`.

    Parameters
    ----------
    bias : str
        A value of the ``bias`` knob.
    fan_in : int

    Returns
    -------
    float

    Examples
    --------
    >>> bias_variance("zeros", 32), round(bias_variance("torch", 32) * 96, 12)
    (0.0, 1.0)
    """
    bias = _v.choice(bias, "bias", _BY_KEY["bias"].values)
    n_in = _v.positive_int(fan_in, "fan_in")
    return 0.0 if bias == "zeros" else 1.0 / (3.0 * n_in)


def _weight_initialiser(init):
    if init == "normal1":
        return lambda shape, rng: _init.normal(shape, rng, std=1.0)
    if init == "small":
        return lambda shape, rng: _init.normal(shape, rng, std=0.01)
    if init == "he":
        return _init.get("kaiming_normal", nonlinearity="relu")
    return {"torch": "torch_linear_default", "xavier": "xavier_normal"}[init]


@functools.lru_cache(maxsize=64)
def _draws(kind, name, depth, width, n_in, seed):
    """The weights (kind "w") or biases ("b") of the depth + 1 Linear layers of build, in forward order.

    The weights come from default_rng(seed) and the biases from default_rng([seed, 1]),
    drawn as gradlab.nn.Linear draws them; the networks of the grid that share a
    depth and an initialiser share these arrays (Linear copies them), so they are
    drawn once.
    """
    rng = np.random.default_rng(seed if kind == "w" else [seed, 1])
    shapes = [(width, n_in)] + [(width, width)] * (depth - 1) + [(1, width)]
    if kind == "w":
        fn = _init.resolve(_weight_initialiser(name))
        arrays = [_init.draw(fn, shape, rng) for shape in shapes]
    else:
        arrays = [np.zeros(shape[0]) if name == "zeros" else
                  _init.draw(_init.resolve_bias("torch_default", shape[1]), (shape[0],), rng) for shape in shapes]
    for a in arrays:
        a.flags.writeable = False
    return tuple(arrays)


def _alpha(cfg):
    return 1.0 / math.sqrt(cfg.depth - 1) if cfg.res == "scaled" else 1.0


# --------------------------------------------------------------------------
# the network and its measurement
# --------------------------------------------------------------------------
def build(cfg, width=WIDTH, n_in=None, seed=SEED):
    """The network of a configuration, at initialisation.

    ``Sequential(stem, block_1, ..., block_{L-1}, head)``: ``stem`` is
    ``Linear(n_in, width)``; block ``l`` is ``[Norm], Activation, Linear(width,
    width)``, inside :class:`gradlab.nn.Residual` (scale :math:`\\alpha`) when
    ``cfg.res`` is not ``"none"``; ``head`` is ``[Norm], Activation,
    Linear(width, 1)``. Norm is :class:`gradlab.nn.BatchNorm` or
    :class:`gradlab.nn.LayerNorm` (``gamma = 1``, ``beta = 0``, eps 1e-5).
    The weights are drawn in forward order from ``numpy.random.default_rng(seed)``
    and the biases from a generator of their own (``default_rng([seed, 1])``),
    so networks that differ only in their biases have the same weights, and
    the Gaussian initialisers (``normal1``, ``small``, ``xavier``, ``he``)
    draw the same numbers, scaled. Without normalisation and residual
    connections the network equals ``nn.mlp([n_in] + [width] * L + [1], act,
    default_rng(seed), init, bias_init="zeros")`` when the biases are zero.

    Parameters
    ----------
    cfg : Config
    width : int, default WIDTH (32)
    n_in : int, optional
        Input size; default ``width`` (so the first layer is square too).
    seed : int, default SEED (0)

    Returns
    -------
    gradlab.nn.Sequential

    Examples
    --------
    >>> net = build(config(depth=5, norm="batch", res="identity"), width=4)
    >>> [type(layer).__name__ for layer in net.layers]
    ['Linear', 'Residual', 'Residual', 'Residual', 'Residual', 'Sequential']
    >>> [type(layer).__name__ for layer in net.layers[1].block.layers]
    ['BatchNorm', 'Activation', 'Linear']
    """
    cfg = _check_config(cfg)
    width = _v.positive_int(width, "width")
    n_in = width if n_in is None else _v.positive_int(n_in, "n_in")
    seed = _v.integer(seed, "seed", minimum=0)
    weights = iter(_draws("w", cfg.init, cfg.depth, width, n_in, seed))
    biases = iter(_draws("b", cfg.bias, cfg.depth, width, n_in, seed))

    def linear(fan_in, fan_out):
        w, b = next(weights), next(biases)
        return _nn.Linear(fan_in, fan_out, init=lambda shape, rng: w, bias_init=lambda shape, rng: b)

    def branch(fan_out):
        norm = {"none": [], "batch": [_nn.BatchNorm(width, eps=NORM_EPS)],
                "layer": [_nn.LayerNorm(width, eps=NORM_EPS)]}[cfg.norm]
        return _nn.Sequential(*norm, _nn.Activation(cfg.act), linear(width, fan_out))

    layers = [linear(n_in, width)]
    for _ in range(cfg.depth - 1):
        block = branch(width)
        layers.append(block if cfg.res == "none" else _nn.Residual(block, _alpha(cfg)))
    layers.append(branch(1))
    return _nn.Sequential(*layers)


@functools.lru_cache(maxsize=4)
def _batch(width, batch):
    X, y = _data.teacher_regression(batch, width, np.random.default_rng(DATA_SEED))
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


class Measurement(NamedTuple):
    """What :func:`measure` found in every hidden layer ``l = 1..L`` (arrays of shape ``(L,)``).

    Attributes
    ----------
    act_std : numpy.ndarray
        Standard deviation of :math:`a^{(l)}` over all units and examples.
    grad_norm : numpy.ndarray
        :math:`\\lVert \\partial J/\\partial z^{(l)} \\rVert_F` over the batch.
    saturated : numpy.ndarray
        Fraction of the entries of :math:`a^{(l)}` that are saturated by the
        thresholds of :mod:`gradlab.diagnostics` (sigmoid and tanh; NaN for
        the other activations).
    dead : numpy.ndarray
        Fraction of the units of :math:`a^{(l)}` that are zero for every
        example of the batch (ReLU; NaN for the other activations).
    loss : float
        The loss of the batch.

    Examples
    --------
    >>> m = Measurement(np.ones(2), np.ones(2), np.zeros(2), np.full(2, np.nan), 1.0)
    >>> m.grad_norm.shape
    (2,)
    """

    act_std: np.ndarray
    grad_norm: np.ndarray
    saturated: np.ndarray
    dead: np.ndarray
    loss: float


def measure(cfg, width=WIDTH, batch=BATCH, seed=SEED):
    """One forward and backward pass of the network of ``cfg`` at initialisation, layer by layer.

    The network is :func:`build`'s; the batch is ``batch`` examples of
    ``data.teacher_regression(batch, width, default_rng(DATA_SEED))``
    (standard normal inputs of dimension ``width``, a tanh teacher's
    targets), the loss the mean squared error, normalisation layers in
    training mode (batch statistics). The statistics are those of
    :func:`gradlab.diagnostics.layer_statistics` (standard deviation over all
    entries; saturated: sigmoid output below 0.01 or above 0.99, tanh output
    beyond 0.99 in absolute value; dead: a ReLU unit that is zero for every
    example), and the gradient is the one with respect to the stream
    :math:`z^{(l)}` that each hidden activation reads, the error
    :math:`\\delta^{(l)}` of a plain network.

    Parameters
    ----------
    cfg : Config
    width : int, default WIDTH (32)
    batch : int, default BATCH (64)
        At least 2 (batch normalisation needs two examples).
    seed : int, default SEED (0)

    Returns
    -------
    Measurement

    Examples
    --------
    >>> m = measure(config(act="tanh", init="normal1", depth=5))
    >>> bool(m.saturated.min() > 0.5), bool(np.isnan(m.dead).all())
    (True, True)
    """
    cfg = _check_config(cfg)
    width = _v.positive_int(width, "width")
    batch = _v.integer(batch, "batch", minimum=2)
    X, y = _batch(width, batch)
    model = build(cfg, width=width, seed=seed)
    stem, *blocks, head = model.layers
    acts, zs = [], []
    with _v.quiet():
        z = stem.forward(X)
        for block in blocks + [head]:
            zs.append(z)
            branch = block.block if isinstance(block, _nn.Residual) else block
            h = z
            for layer in branch.layers:
                h = layer.forward(h)
                if isinstance(layer, _nn.Activation):
                    acts.append(h)
            if block is head:
                out = h
            elif isinstance(block, _nn.Residual):  # as Residual.forward adds
                z = z + h if block.scale == 1.0 else z + block.scale * h
            else:
                z = h
        loss, g = _losses.mse_loss(out, y)
        grads = [head.backward(g)]
        for block in reversed(blocks):
            grads.append(block.backward(grads[-1]))
        grads.reverse()
        std = np.array([np.std(a, dtype=np.float64) for a in acts])
        norm = np.array([np.linalg.norm(g) for g in grads])
        nan = np.full(cfg.depth, np.nan)
        saturated, dead = nan.copy(), nan.copy()
        if cfg.act == "sigmoid":
            t = _diagnostics.SIGMOID_SATURATION
            saturated = np.array([np.mean((a < t) | (a > 1 - t)) for a in acts])
        elif cfg.act == "tanh":
            saturated = np.array([np.mean(np.abs(a) > _diagnostics.TANH_SATURATION) for a in acts])
        elif cfg.act in _DEAD:
            dead = np.array([np.mean(np.all(a == 0, axis=0)) for a in acts])
    return Measurement(std, norm, saturated, dead, float(loss))


# --------------------------------------------------------------------------
# the prediction
# --------------------------------------------------------------------------
class Prediction(NamedTuple):
    """The mean-field prediction for a configuration (result of :func:`predict`).

    Attributes
    ----------
    q : numpy.ndarray (L,)
        Mean square :math:`q_l` of the stream :math:`z^{(l)}` (over units and examples).
    act_std : numpy.ndarray (L,)
        Standard deviation of :math:`a^{(l)}`.
    saturated : numpy.ndarray (L,)
        Fraction of saturated entries of :math:`a^{(l)}` (sigmoid and tanh; NaN otherwise).
    factor : numpy.ndarray (L-1,)
        :math:`\\sqrt{b_l}`, the factor by which block ``l`` multiplies the
        norm of the gradient on its way back from :math:`z^{(l+1)}` to :math:`z^{(l)}`.
    grad_ratio : numpy.ndarray (L,)
        :math:`\\lVert \\partial J/\\partial z^{(l)} \\rVert / \\lVert \\partial J/\\partial z^{(L)} \\rVert
        = \\prod_{k=l}^{L-1} \\sqrt{b_k}`.

    Examples
    --------
    >>> p = Prediction(np.ones(2), np.ones(2), np.zeros(2), np.full(1, 0.5), np.array([0.5, 1.0]))
    >>> p.grad_ratio[0]
    np.float64(0.5)
    """

    q: np.ndarray
    act_std: np.ndarray
    saturated: np.ndarray
    factor: np.ndarray
    grad_ratio: np.ndarray


@functools.lru_cache(maxsize=None)
def _moments(act, p):
    """E[phi], E[phi^2], E[phi'^2] and the saturated fraction for u ~ N(0, p)."""
    # one layer of the variance map with s_w = 1, s_b = 0 from q0 = p: its pre-activation
    # variance is p, and it returns the three moments at p
    one = _meanfield.propagate(1.0, 0.0, q0=p, activation=act, depth=1)
    m1, m2, d2 = float(one.mean[0]), float(one.second_moment[0]), float(one.derivative_sq[0])
    sat = math.erfc(_SATURATION_Z[act] / math.sqrt(2.0 * p)) \
        if act in _SATURATION_Z and p > 0 else math.nan
    return m1, m2, d2, sat


def predict(cfg, width=WIDTH, q0=1.0, v0=None):
    r"""Mean-field prediction of the activations and gradients of every hidden layer.

    For wide layers whose weights have mean zero and variance
    :math:`s_w^2/n` (:func:`weight_scale`) and biases of variance
    :math:`s_b^2` (:func:`bias_variance`), every pre-activation is Gaussian
    over units and examples (Poole et al., 2016). Track the mean square
    :math:`q_l` of the stream and its part :math:`v_l` that varies over the
    batch (:math:`q_1 = s_w^2 q_0 + s_b^2`, :math:`v_1 = s_w^2 v_0`). The
    activation reads :math:`u = N(z^{(l)})`, Gaussian with variance
    :math:`p_l = q_l` without normalisation, :math:`v_l/(v_l + \epsilon)`
    after batch normalisation and :math:`q_l/(q_l + \epsilon)` after layer
    normalisation, which divide by :math:`\sigma_l^2 + \epsilon` with
    :math:`\sigma_l^2 = v_l` (a unit's spread over the batch) or :math:`q_l`
    (an example's spread over the units; the random weights mix the units'
    means into it). With :math:`m_k = \mathbb E[\phi(u)^k]` and
    :math:`d = \mathbb E[\phi'(u)^2]`, block :math:`l` adds (residual) or
    sets (plain)

    .. math::
        q_{l+1} = [q_l +]\ \alpha^2 (s_w^2 m_2 + s_b^2), \qquad
        v_{l+1} = [v_l +]\ \alpha^2 s_w^2 (m_2 - m_1^2)

    (the last with batch normalisation, which makes every unit's mean over
    the batch :math:`m_1`), and back-propagation multiplies the mean square of
    :math:`\partial J/\partial z` by

    .. math:: b_l = [1 +]\ \alpha^2\, \frac{s_w^2\, d}{\sigma_l^2 + \epsilon}

    (without normalisation the denominator is 1): the identity path and the
    branch :math:`\operatorname{diag}(\phi')\, W^\top` add up because the
    weights have mean zero (He et al., 2016, for the identity path). Plain
    and unnormalised, :math:`b_l` is :math:`\chi(q_l)` of
    :func:`gradlab.meanfield.chi` (Schoenholz et al., 2017), the square of
    :func:`gradlab.products.predicted_layer_factor`; plain and normalised,
    with zero biases, :math:`\sqrt{b_l}` is
    :func:`gradlab.normalisation_tools.normalised_gain` (up to
    :math:`\epsilon`); residual with the ReLU, it is
    :func:`gradlab.residual.mean_field`'s ``block_gain``. The standard
    deviation of :math:`a^{(l)}` is :math:`\sqrt{m_2 - m_1^2}` and the
    saturated fraction :math:`P(|u| > t)` for the thresholds ``t`` of
    :func:`measure`. The projections of the normalisations' backward passes
    and finite-width fluctuations are neglected.

    Parameters
    ----------
    cfg : Config
    width : int, default WIDTH (32)
    q0 : float, default 1
        Mean square of the input's coordinates (>= 0).
    v0 : float, optional
        Their mean variance over the batch; default ``q0``.

    Returns
    -------
    Prediction

    Examples
    --------
    >>> p = predict(config(act="relu", init="he", bias="zeros", depth=5))
    >>> p.q.round(12).tolist(), p.factor.round(12).tolist()
    ([2.0, 2.0, 2.0, 2.0, 2.0], [1.0, 1.0, 1.0, 1.0])
    """
    cfg = _check_config(cfg)
    width = _v.positive_int(width, "width")
    q0 = _v.real(q0, "q0", low=0.0)
    v0 = q0 if v0 is None else _v.real(v0, "v0", low=0.0)
    sw2 = weight_scale(cfg.init, width, width)
    sb2 = bias_variance(cfg.bias, width)
    a2 = _alpha(cfg) ** 2
    skip = cfg.res != "none"
    L = cfg.depth
    q, std, sat, b = np.empty(L), np.empty(L), np.empty(L), np.empty(L - 1)
    q_l, v_l = sw2 * q0 + sb2, sw2 * v0
    for l in range(L):
        if cfg.norm == "none":
            p, spread = q_l, 1.0
        else:
            var = v_l if cfg.norm == "batch" else q_l
            p, spread = var / (var + NORM_EPS), var + NORM_EPS
        m1, m2, d2, s = _moments(cfg.act, p)
        q[l], std[l], sat[l] = q_l, math.sqrt(max(m2 - m1 * m1, 0.0)), s
        if l == L - 1:
            break
        b[l] = (1.0 if skip else 0.0) + a2 * sw2 * d2 / spread
        q_l = (q_l if skip else 0.0) + a2 * (sw2 * m2 + sb2)
        v_l = (v_l if skip else 0.0) + a2 * sw2 * (m2 - m1 * m1)
    factor = np.sqrt(b)
    ratio = np.append(np.cumprod(factor[::-1])[::-1], 1.0)
    return Prediction(q, std, sat, factor, ratio)


# --------------------------------------------------------------------------
# the diagnosis
# --------------------------------------------------------------------------
class Diagnosis(NamedTuple):
    """What :func:`diagnose` says about a configuration.

    Attributes
    ----------
    kind : str
        ``"vanishing"``, ``"exploding"`` or ``"stable"`` (the measured gradient's
        change from the last hidden layer to the first), or ``"nonfinite"``.
    text : str
        One line about what the measurement shows.
    label : str
        The label of the section of the book that explains it.
    theory : str
        One line about what theory predicts for the configuration.

    Examples
    --------
    >>> Diagnosis("stable", "The gradient keeps its size.", "sec-init-rules", "chi = 1").label
    'sec-init-rules'
    """

    kind: str
    text: str
    label: str
    theory: str


#: Every label :func:`diagnose` can return (each is among the knobs' ``explained``).
DIAGNOSIS_LABELS = (
    "sec-depth-floating", "sec-diag-dead", "sec-saturation-large-weights", "sec-saturation-factor",
    "sec-res-variance", "sec-res-depth", "sec-bn-deep", "sec-init-pytorch", "sec-init-variance",
    "sec-init-chaos", "sec-init-rules", "sec-init-meanfield",
)
#: A gradient that changes by more than this many decades between the last and the
#: first hidden layer vanishes or explodes; less is stable.
DECADES = 2.0
#: More dead (saturated) units than this fraction, on average over the layers, is
#: named in the diagnosis.
DEAD_FRACTION = 0.25
SATURATED_FRACTION = 0.5
#: A factor per layer (or block) on the gradient's mean square within
#: :math:`e^{\pm 0.1}` of one (about 10 %) is called close to one.
CLOSE_TO_ONE = 0.1


def _fmt(x):
    """A positive number for a sentence: 0.39, 2.1, 17, 1e-12, 3e+05."""
    if not math.isfinite(x):
        return "∞" if x > 0 else "not finite"
    if x == 0:
        return "0"
    if 0.01 <= x < 1000:
        return f"{x:.2g}" if x < 10 else f"{x:.0f}"
    return f"{x:.0e}".replace("e-0", "e-").replace("e+0", "e+")


@functools.lru_cache(maxsize=None)
def _fixed_point_chi(act, sw2, sb2):
    """(q*, chi(q*)) of the plain network's variance map, or (q*, nan) when q* is 0 or infinite."""
    qs = _meanfield.fixed_point(math.sqrt(sw2), math.sqrt(sb2), act)
    if not (math.isfinite(qs) and qs > 0):
        return qs, math.nan
    return qs, _meanfield.chi(qs, math.sqrt(sw2), act)


def _phase(chi):
    if chi < 0.9:
        return "below one: the ordered phase, where gradients vanish"
    if chi > 1.1:
        return "above one: the chaotic phase, where gradients explode"
    return "close to one: the edge of chaos"


def _theory(cfg, prediction, width):
    """The line about what theory predicts (see diagnose)."""
    sw2, sb2 = weight_scale(cfg.init, width, width), bias_variance(cfg.bias, width)
    L, f = cfg.depth, prediction.factor
    if cfg.res == "none" and cfg.norm == "none":
        # f[l] is products.predicted_layer_factor at z_std = sqrt(q_l) (tested)
        text = (f"With s_w² = n Var[w] = {sw2:.3g} the factor per layer √(s_w² E[φ′(z)²]) is "
                f"{_fmt(float(f[0]))} in layer 1 and {_fmt(float(f[-1]))} in layer {L - 1}. ")
        qs, chi = _fixed_point_chi(cfg.act, sw2, sb2)
        if math.isfinite(chi) and qs > 1e-8:
            return text + (f"At the fixed point q* = {qs:.3g} of the variance map the mean-field factor "
                           f"χ = s_w² E[φ′(z)²] = {chi:.3g} is {_phase(chi)}.")
        drift = "zero" if qs <= 1e-8 else "infinity"
        chi_last = float(f[-1] ** 2)
        return text + (f"The variance map drifts to {drift}; in the last layers "
                       f"χ = s_w² E[φ′(z)²] = {chi_last:.3g} is {_phase(chi_last)}.")
    if cfg.res == "none":
        formula = "E[φ′(Z)²]/Var[φ(Z)]" if cfg.norm == "batch" else "E[φ′(Z)²]/E[φ(Z)²]"
        gain = _normalisation_tools.normalised_gain(cfg.act, cfg.norm)
        return (f"The normalisation hands every activation u ≈ N(0, 1) whatever the weights, and the factor "
                f"per layer is √({formula}) = {_fmt(gain)} (zero biases; predicted here "
                f"{_fmt(float(f[1]))} in layer 2 and {_fmt(float(f[-1]))} in layer {L - 1}).")
    alpha = "α = 1" if cfg.res == "identity" else f"α = 1/√{L - 1}"
    branch = "α²χ" if cfg.norm == "none" else "α² s_w² E[φ′(Z)²]/σ²"
    return (f"Each block multiplies the gradient's mean square by 1 + {branch} ({alpha}), at least one: "
            f"a factor of {_fmt(float(f[0]))} on the norm in the first block and {_fmt(float(f[-1]))} in "
            f"the last.")


def diagnose(cfg, measurement, prediction, width=WIDTH):
    """What the measurement of ``cfg`` shows, which section of the book explains it, and what theory predicts.

    The gradient's change over the hidden layers is
    :math:`D = \\log_{10}(\\lVert\\partial J/\\partial z^{(1)}\\rVert / \\lVert\\partial J/\\partial z^{(L)}\\rVert)`
    decades; :math:`D < -2` is vanishing, :math:`D > 2` exploding and anything
    between stable (``DECADES``). The line gives the change, the measured
    factor per layer (the least-squares fit of
    :func:`gradlab.products.fitted_layer_factor`) and the predicted one (the
    geometric mean of ``prediction.factor``), then names what the
    measurement shows, checked in this order: non-finite values; a layer
    whose units are all dead; dead ReLU units (more than a quarter on
    average, ``DEAD_FRACTION``) when the gradient is stable; saturated units
    (more than half, ``SATURATED_FRACTION``, in a plain network); residual
    connections (the branches' predicted share
    :math:`\\overline{b_l} - 1` of the mean square, small when
    :math:`\\ln \\overline{b_l} \\le` ``CLOSE_TO_ONE``); normalisation (the
    measured factor :math:`r` close to one when :math:`|\\ln r^2| \\le`
    ``CLOSE_TO_ONE``); for a plain network the mean-field factor
    :math:`\\chi = s_w^2\\,\\mathbb E[\\phi'(z)^2]` (Poole et al., 2016;
    Schoenholz et al., 2017), whose geometric mean over the layers is the
    square of the predicted factor, and why it is below one (the sigmoid's
    ceiling :math:`\\chi \\le s_w^2/16` when :math:`s_w^2 < 16`, its flat
    tails otherwise, the ReLU's half with Xavier's :math:`s_w^2 = 1`, small
    weights), above one, or close to one (:math:`|\\ln \\chi| \\le`
    ``CLOSE_TO_ONE``). More than a quarter of dead units is mentioned in
    every case.

    The theory line gives, for a plain network,
    :func:`gradlab.products.predicted_layer_factor` in the first and the
    last layer and :math:`\\chi` at the fixed point of the variance map
    (:func:`gradlab.meanfield.fixed_point`, :func:`gradlab.meanfield.chi`);
    for a normalised one :func:`gradlab.normalisation_tools.normalised_gain`;
    for a residual one the factor of the first and the last block.

    Parameters
    ----------
    cfg : Config
    measurement : Measurement
        From :func:`measure` for ``cfg``.
    prediction : Prediction
        From :func:`predict` for ``cfg`` (and ``width``).
    width : int, default WIDTH (32)

    Returns
    -------
    Diagnosis

    Examples
    --------
    >>> cfg = config(act="relu", init="he", bias="zeros", depth=20)
    >>> d = diagnose(cfg, measure(cfg), predict(cfg))
    >>> d.kind, d.label
    ('stable', 'sec-init-rules')
    """
    cfg = _check_config(cfg)
    width = _v.positive_int(width, "width")
    if not isinstance(measurement, Measurement):
        raise TypeError(f"measurement must be a gradlab.explorer.Measurement, got {type(measurement).__name__}")
    if not isinstance(prediction, Prediction):
        raise TypeError(f"prediction must be a gradlab.explorer.Prediction, got {type(prediction).__name__}")
    L = cfg.depth
    if np.shape(measurement.grad_norm) != (L,) or np.shape(prediction.factor) != (L - 1,):
        raise ValueError(f"measurement and prediction must be those of a network of depth {L}, got "
                         f"{np.shape(measurement.grad_norm)[0]} and {np.shape(prediction.factor)[0] + 1} layers")
    theory = _theory(cfg, prediction, width)
    g = measurement.grad_norm
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(measurement.act_std))):
        return Diagnosis("nonfinite", "The forward or backward pass overflowed: some values are not finite.",
                         "sec-depth-floating", theory)
    if np.any(g == 0):
        return Diagnosis("vanishing", "No gradient reaches the lower layers: every unit of a layer is dead.",
                         "sec-diag-dead", theory)
    D = float(np.log10(g[0] / g[-1]))
    r = _products.fitted_layer_factor(g)
    r_pred = float(np.exp(np.mean(np.log(prediction.factor))))
    kind = "vanishing" if D < -DECADES else "exploding" if D > DECADES else "stable"
    change = (f"falls to {_fmt(10 ** D)} of its size" if kind == "vanishing" else
              f"grows {_fmt(10 ** D)}-fold" if kind == "exploding" else
              f"changes by a factor of {_fmt(10 ** D)}")
    head = (f"From layer {L} back to layer 1 the gradient {change}: {_fmt(r)} per layer, "
            f"predicted {_fmt(r_pred)}. ")
    dead = float(np.mean(measurement.dead)) if cfg.act in _DEAD else 0.0
    sat = float(np.mean(measurement.saturated)) if cfg.act in _SATURATION_Z else 0.0
    also = (f" Besides, {dead:.0%} of the ReLU units are dead for the whole batch." if dead > DEAD_FRACTION
            else "")
    if dead > DEAD_FRACTION and kind == "stable":
        return Diagnosis(kind, head + f"{dead:.0%} of the ReLU units are dead for the whole batch and pass no "
                         "gradient back; the mean-field prediction does not see them.", "sec-diag-dead", theory)
    sw2 = weight_scale(cfg.init, width, width)
    if sat > SATURATED_FRACTION and cfg.norm == "none" and cfg.res == "none":
        why = ("and their derivatives are nearly zero" if kind == "vanishing" else
               f"yet the {'large ' if sw2 > 1 else ''}weights (s_w² = {sw2:.2g}) carry the error back through "
               "the units that are not")
        return Diagnosis(kind, head + f"{sat:.0%} of the units are saturated, {why}.",
                         "sec-saturation-large-weights", theory)
    if cfg.res != "none":
        branch = "α²χ" if cfg.norm == "none" else "α² s_w² E[φ′(Z)²]/σ²"
        if kind == "exploding":
            return Diagnosis(kind, head + "Every block adds its branch to the identity path, so the gradient's "
                             f"mean square grows by 1 + {branch} per block: the branches are too strong for "
                             "this depth." + also, "sec-res-variance", theory)
        if kind == "vanishing":
            return Diagnosis(kind, head + "In theory the identity path keeps every block's factor at least one; "
                             "this network falls below the prediction." + also, "sec-res-depth", theory)
        # the branches' predicted share of the mean square, 1 + branch = mean over the blocks of b_l
        added = float(np.mean(prediction.factor ** 2)) - 1.0
        if math.log1p(added) <= CLOSE_TO_ONE:
            return Diagnosis(kind, head + "The identity path carries the gradient past every block, and the "
                             f"branches add only a little to it: {branch} averages {added:.2g} per block."
                             + also, "sec-res-depth", theory)
        return Diagnosis(kind, head + "The identity path carries the gradient past every block, and the "
                         f"branches add {branch} = {added:.2g} per block on average to its mean square, but "
                         f"{L} blocks change it by less than a factor of {10 ** DECADES:.0f}." + also,
                         "sec-res-depth", theory)
    if cfg.norm != "none":
        which = "Batch" if cfg.norm == "batch" else "Layer"
        if kind != "stable":
            tail = f"but for this activation the factor per layer is {'below' if kind == 'vanishing' else 'above'} one."
        elif abs(2.0 * math.log(r)) <= CLOSE_TO_ONE:
            tail = "and the factor per layer stays close to one."
        else:
            tail = (f"and the factor per layer is {'below' if r < 1 else 'above'} one, but {L} layers change "
                    f"the gradient by less than a factor of {10 ** DECADES:.0f}.")
        return Diagnosis(kind, head + f"{which} normalisation sets the scale of every layer's input whatever "
                         f"the weights, {tail}" + also, "sec-bn-deep", theory)
    chi = r_pred ** 2
    where = f"The mean-field factor χ = s_w² E[φ′(z)²] averages {chi:.2g} per layer"
    if kind == "vanishing":
        if cfg.act == "sigmoid" and sw2 / 16 < 1:
            return Diagnosis(kind, head + where + f", at most s_w²/16 = {sw2 / 16:.2g} because the sigmoid's "
                             "derivative is at most 1/4." + also, "sec-saturation-factor", theory)
        if cfg.act == "sigmoid":
            return Diagnosis(kind, head + where + ": the pre-activations spread into the flat tails, where "
                             "the derivative is small." + also, "sec-saturation-large-weights", theory)
        if cfg.act == "relu" and cfg.init == "xavier":
            return Diagnosis(kind, head + where + ": the ReLU passes half of the signal, so Xavier's s_w² = 1 "
                             "halves the mean square per layer." + also, "sec-init-rules", theory)
        label = "sec-init-pytorch" if cfg.init == "torch" else "sec-init-variance"
        return Diagnosis(kind, head + where + ": the weights are too small for this activation." + also,
                         label, theory)
    if kind == "exploding":
        return Diagnosis(kind, head + where + ": the weights are too large for this activation." + also,
                         "sec-init-chaos", theory)
    label = "sec-init-rules" if cfg.act == "relu" and cfg.init == "he" else "sec-init-meanfield"
    if abs(math.log(chi)) > CLOSE_TO_ONE:
        side = "below" if chi < 1 else "above"
        return Diagnosis(kind, head + where + f", {side} one, but {L} layers change the gradient by less "
                         "than a factor of 100." + also, label, theory)
    return Diagnosis(kind, head + where + ", close to one: the edge of chaos." + also, label, theory)


# --------------------------------------------------------------------------
# the grid and the page's data
# --------------------------------------------------------------------------
def _log100(x):
    """round(100 log10 x) as ints; None where x is not positive and finite (JSON null)."""
    with _v.quiet():
        out = []
        for v in np.asarray(x, dtype=np.float64):
            out.append(int(round(100 * math.log10(v))) if math.isfinite(v) and v > 0 else None)
    return out


def _permille(x):
    return None if np.all(np.isnan(x)) else [int(round(1000 * v)) for v in np.asarray(x)]


def _record(cfg):
    X, _ = _batch(WIDTH, BATCH)
    m = measure(cfg)
    p = predict(cfg, q0=float(np.mean(X * X)), v0=float(np.mean(np.var(X, axis=0))))
    d = diagnose(cfg, m, p)
    with _v.quiet():
        pred_grad = m.grad_norm[-1] * p.grad_ratio
    frac = m.dead if cfg.act in _DEAD else m.saturated
    return {
        "s": _log100(m.act_std), "g": _log100(m.grad_norm), "f": _permille(frac),
        "ps": _log100(p.act_std), "pg": _log100(pred_grad), "pf": _permille(p.saturated),
        "d": [d.kind, d.text, d.label, d.theory],
    }


def grid(configs=None):
    """The explorer's data: every configuration measured, predicted and diagnosed.

    Per configuration (keyed by :attr:`Config.key`), in the units the page
    draws: ``s``, ``g`` the measured standard deviation of :math:`a^{(l)}`
    and gradient norm of :func:`measure` as ``round(100 log10(x))``, ``ps``,
    ``pg`` the predicted ones of :func:`predict` (the gradient anchored at
    the measured norm of the last hidden layer), ``f`` and ``pf`` the measured
    and predicted fraction of saturated (sigmoid, tanh) or dead (ReLU; no
    prediction) units in thousandths, or ``None``, and ``d`` the
    :func:`diagnose` line as ``[kind, text, label]``. The input's mean square
    and batch variance come from the batch itself.

    Parameters
    ----------
    configs : sequence of Config, optional
        Default: all of :func:`configurations`.

    Returns
    -------
    dict
        ``knobs`` (the page's controls), ``setup`` (width, batch, seeds) and
        ``configs``.

    Examples
    --------
    >>> g = grid([config(depth=5)])
    >>> sorted(g["configs"]["depth=5&act=sigmoid&init=torch&bias=torch&norm=none&res=none"])
    ['d', 'f', 'g', 'pf', 'pg', 'ps', 's']
    """
    configs = configurations() if configs is None else list(configs)
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, Config):
            raise TypeError(f"configs[{i}] must be a gradlab.explorer.Config, got {type(cfg).__name__}")
    return {
        "knobs": [k._asdict() for k in _KNOBS],
        "setup": {"width": WIDTH, "batch": BATCH, "seed": SEED, "data_seed": DATA_SEED},
        "configs": {cfg.key: _record(cfg) for cfg in configs},
    }


#: The order of a packed record's items (see :func:`pack`).
PACKED_FIELDS = ("s", "g", "f", "ps", "pg", "pf", "d")
_SERIES = ("s", "g", "f", "ps", "pg", "pf")


def _differences(values):
    """``[v0, v1 - v0, v2 - v1, ...]``, skipping ``None`` (JSON null) entries."""
    if values is None:
        return None
    out, last = [], 0
    for v in values:
        if v is None:
            out.append(None)
        else:
            out.append(v - last)
            last = v
    return out


def _sums(steps):
    """The inverse of :func:`_differences`."""
    if steps is None:
        return None
    out, last = [], 0
    for s in steps:
        if s is None:
            out.append(None)
        else:
            last += s
            out.append(last)
    return out


def pack(data):
    """The grid as the page carries it: about half the size, nothing lost.

    Three changes, each undone by :func:`unpack`: each diagnosis sentence is
    stored once, in a list ``texts`` (many settings share a sentence: the theory
    line of 1800 settings has about 300 distinct texts), and ``d`` holds its
    position, ``[kind, text index, label, theory index]``; a record is a list in
    the order of ``fields`` (``PACKED_FIELDS``) instead of a dict; and each
    series is stored as its first value followed by the differences between
    neighbours (``null`` entries are kept and skipped), which are short numbers
    because the curves are smooth.

    Parameters
    ----------
    data : dict
        From :func:`grid`.

    Returns
    -------
    dict
        ``knobs``, ``setup``, ``fields``, ``texts`` and ``configs``.

    Examples
    --------
    >>> data = {"configs": {
    ...     "a": {"s": [10, 12, 15], "g": [0, -1, -3], "f": None, "ps": [10, 10, 10],
    ...           "pg": [0, None, -2], "pf": None, "d": ["stable", "Fine.", "sec-x", "Why."]},
    ...     "b": {"s": [5], "g": [1], "f": [0], "ps": [5], "pg": [1], "pf": [0],
    ...           "d": ["vanishing", "Small.", "sec-y", "Why."]}}}
    >>> packed = pack(data)
    >>> packed["texts"], packed["configs"]["a"][:5], packed["configs"]["b"][6]
    (['Fine.', 'Why.', 'Small.'], [[10, 2, 3], [0, -1, -2], None, [10, 0, 0], [0, None, -2]], ['vanishing', 2, 'sec-y', 1])
    >>> unpack(packed) == data
    True
    """
    if not isinstance(data, dict) or not isinstance(data.get("configs"), dict):
        raise TypeError("data must be a dict with 'configs' (from explorer.grid)")
    if "texts" in data:
        raise ValueError("data is packed already (it has 'texts')")
    texts, index = [], {}

    def at(text):
        if text not in index:
            index[text] = len(texts)
            texts.append(text)
        return index[text]

    configs = {}
    for key, record in data["configs"].items():
        kind, text, label, theory = record["d"]
        configs[key] = [_differences(record[f]) for f in _SERIES] + [[kind, at(text), label, at(theory)]]
    return {**data, "fields": list(PACKED_FIELDS), "texts": texts, "configs": configs}


def unpack(data):
    """The grid that :func:`pack` packed (the inverse of :func:`pack`).

    Parameters
    ----------
    data : dict
        From :func:`pack`.

    Returns
    -------
    dict
        The grid, as :func:`grid` gave it.

    Examples
    --------
    >>> packed = {"fields": list(PACKED_FIELDS), "texts": ["Fine.", "Why."],
    ...           "configs": {"a": [[10, 2, 3], [0, -1], None, [10, 0, 0], [0, None, -2], None,
    ...                             ["stable", 0, "sec-x", 1]]}}
    >>> record = unpack(packed)["configs"]["a"]
    >>> record["s"], record["g"], record["pg"], record["d"]
    ([10, 12, 15], [0, -1], [0, None, -2], ['stable', 'Fine.', 'sec-x', 'Why.'])
    """
    if not isinstance(data, dict) or not isinstance(data.get("texts"), list):
        raise TypeError("data must be a dict with 'texts' (from explorer.pack)")
    if data.get("fields") != list(PACKED_FIELDS):
        raise ValueError(f"data['fields'] must be {list(PACKED_FIELDS)}, got {data.get('fields')!r}")
    texts = data["texts"]
    configs = {}
    for key, items in data["configs"].items():
        record = {f: _sums(v) for f, v in zip(_SERIES, items)}
        kind, text, label, theory = items[6]
        record["d"] = [kind, texts[text], label, texts[theory]]
        configs[key] = record
    rest = {k: v for k, v in data.items() if k not in ("texts", "fields")}
    return {**rest, "configs": configs}


def page_data(data, element_id="explorer-data"):
    """The explorer's data as an HTML ``<script type="application/json">`` element.

    The JSON is compact, and ``<``, ``>`` and ``&`` are written as ``\\u003c``,
    ``\\u003e`` and ``\\u0026``, so the text can never close the element; a
    script reads it with ``JSON.parse(element.textContent)``. The page needs
    no request for its data, so it also works opened from disk.

    Parameters
    ----------
    data : dict
        From :func:`grid`.
    element_id : str, default "explorer-data"

    Returns
    -------
    str

    Examples
    --------
    >>> page_data({"a": "</script>"})
    '<script type="application/json" id="explorer-data">{"a":"\\\\u003c/script\\\\u003e"}</script>'
    """
    if not isinstance(data, dict):
        raise TypeError(f"data must be a dict (from explorer.grid), got {type(data).__name__}")
    if not isinstance(element_id, str) or not element_id:
        raise TypeError(f"element_id must be a non-empty str, got {element_id!r}")
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{html.escape(element_id)}">{text}</script>'
