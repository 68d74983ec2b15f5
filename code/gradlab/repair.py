"""Diagnosing and repairing a deep network: predictions to test the instruments against, and the capstone.

The diagnosis chapter measures networks with :mod:`gradlab.diagnostics` and
checks every reading against a prediction made before training. This module
holds those predictions and the chapter's capstone, a failing deep network
repaired one change at a time:

* :func:`backward_factor`: the factor by which one dense layer multiplies the
  norm of the back-propagated error at initialisation,
  :math:`\\sqrt{n \\operatorname{Var}[W] \\operatorname{E}[\\phi'(z)^2]}`;
* :func:`predicted_update_ratios`: the update-to-weight ratio of every layer
  at an optimiser's first step (SGD or Adam), from the gradients alone;
* :class:`Rung`, :func:`ladder`, :func:`build`: the failing network and the
  cumulative repairs (activation, initialisation, batch normalisation,
  residual connections, clipping);
* :func:`run_ladder` and :class:`RungResult`: every rung trained fairly (the
  same data and steps, the best learning rate of a grid, several seeds), and
  :func:`setup_table`, :func:`grid_table`, :func:`outcome_table` to show it.
"""

import functools
import math
from dataclasses import dataclass

import numpy as np

from . import _validate as _v
from . import activations as _activations
from . import diagnostics as _diag
from . import losses as _losses
from . import nn as _nn
from . import optim as _optim
from . import train as _train

__all__ = [
    "backward_factor",
    "predicted_update_ratios",
    "Rung",
    "ladder",
    "build",
    "RungResult",
    "run_ladder",
    "setup_table",
    "grid_table",
    "outcome_table",
]

# Gauss-Legendre nodes per piece of the Gaussian expectation in backward_factor.
_NODES = 200
# The expectation is integrated over mean +- _SPAN std (the tails beyond carry
# a probability below 1e-30).
_SPAN = 12.0


@functools.cache
def _legendre_nodes():
    """Gauss-Legendre nodes and weights on [-1, 1] (an eigenvalue problem: computed once)."""
    return np.polynomial.legendre.leggauss(_NODES)


def _gaussian_expectation(f, mean, std):
    """E[f(z)] for z ~ N(mean, std^2), split at 0 where the rectifiers have their kink."""
    if std == 0.0:
        return float(f(np.array([mean]))[0])
    lo, hi = mean - _SPAN * std, mean + _SPAN * std
    cuts = [lo] + ([0.0] if lo < 0.0 < hi else []) + [hi]
    x, w = _legendre_nodes()
    total = 0.0
    for a, b in zip(cuts[:-1], cuts[1:]):
        z = 0.5 * (b - a) * x + 0.5 * (a + b)
        pdf = np.exp(-0.5 * ((z - mean) / std) ** 2) / (std * math.sqrt(2.0 * math.pi))
        total += 0.5 * (b - a) * float(np.sum(w * f(z) * pdf))
    return total


def backward_factor(activation, scale, mean=0.0, std=1.0, **params):
    r"""Mean-field factor by which a dense layer multiplies the back-propagated error norm.

    With :math:`\delta^{(l)} = \operatorname{diag}(\phi'(z^{(l)}))\, W^{(l+1)\top} \delta^{(l+1)}`,
    weights of variance :math:`\operatorname{Var}[W]` independent of the
    error, and pre-activations :math:`z^{(l)}` distributed as
    :math:`N(\text{mean}, \text{std}^2)`,

    .. math:: \frac{\operatorname{E}\lVert\delta^{(l)}\rVert^2}{\lVert\delta^{(l+1)}\rVert^2}
              = n_l \operatorname{Var}[W^{(l+1)}]\; \operatorname{E}\bigl[\phi'(z)^2\bigr],

    and the function returns the square root of the right-hand side, the
    per-layer factor on the norm (the backward half of the mean-field
    analysis of Poole et al., 2016, and Schoenholz et al., 2017). For square
    layers, ``scale`` :math:`= n \operatorname{Var}[W]` is 1/3 for PyTorch's
    default of ``nn.Linear`` and 2 for He initialisation. The expectation is
    computed by Gauss-Legendre quadrature over mean +- 12 std, split at 0
    (where the rectifiers have their kink); std = 0 gives
    :math:`\sqrt{\text{scale}}\, |\phi'(\text{mean})|`.

    Parameters
    ----------
    activation : str
        A name of :func:`gradlab.activations.get` (``**params`` go to it).
    scale : float
        :math:`n_l \operatorname{Var}[W^{(l+1)}]`, >= 0.
    mean, std : float
        Mean and standard deviation (>= 0) of the pre-activations.

    Returns
    -------
    float

    Examples
    --------
    >>> round(backward_factor("relu", 2.0), 12)          # He and ReLU: the norm is kept
    1.0
    >>> round(backward_factor("sigmoid", 1 / 3, std=0.0), 4)   # 0.25 / sqrt(3)
    0.1443
    """
    act = _activations.get(activation, **params)
    scale = _v.real(scale, "scale", low=0.0)
    mean = _v.real(mean, "mean")
    std = _v.real(std, "std", low=0.0)
    expectation = _gaussian_expectation(lambda z: act.derivative(z) ** 2, mean, std)
    return math.sqrt(scale * expectation)


def predicted_update_ratios(model, optimizer):
    r"""Update-to-weight ratio of each Linear layer at an optimiser's first step, from the gradients.

    Reads each layer's stored weight gradient :math:`g` (run ``backward``
    first) and predicts the first update :math:`\Delta W` without taking it:

    - :class:`gradlab.optim.SGD`: :math:`\Delta W = -\eta\,(g + \lambda W)`,
      times :math:`1 + \mu` with Nesterov momentum :math:`\mu` (the first step
      copies the gradient into the momentum buffer undamped, as PyTorch does);
    - :class:`gradlab.optim.Adam` (Kingma and Ba, 2015): with bias correction
      the first moments are :math:`g` and :math:`g^2`, so every entry moves by
      :math:`\eta\, g / (|g| + \epsilon)`, that is by :math:`\eta` whatever the
      size of :math:`g`, unless :math:`|g|` is not far above :math:`\epsilon`.

    and returns :math:`\lVert \Delta W \rVert_F / \lVert W \rVert_F` per layer,
    the quantity of :func:`gradlab.diagnostics.update_to_weight_ratio`
    (Karpathy's rule of thumb: about 1e-3).

    Parameters
    ----------
    model : gradlab.nn layer or container
        With gradients from a backward pass.
    optimizer : gradlab.optim.SGD or gradlab.optim.Adam
        Only its hyperparameters are read; it must not have stepped yet.

    Returns
    -------
    numpy.ndarray
        float64, one ratio per Linear layer, in forward order.

    Examples
    --------
    >>> from gradlab import nn, optim
    >>> model = nn.Sequential(nn.Linear(1, 1, init="constant", bias_init="zeros"))
    >>> model.layers[0].weight[...] = 2.0; model.layers[0].grad_weight[...] = 1e-6
    >>> predicted_update_ratios(model, optim.SGD(model, lr=0.1))
    array([5.e-08])
    >>> predicted_update_ratios(model, optim.Adam(model, lr=0.1)).round(3)
    array([0.05])
    """
    lins = _nn.linear_layers(_check_model(model))
    if not isinstance(optimizer, (_optim.SGD, _optim.Adam)):
        raise TypeError(f"optimizer must be a gradlab.optim.SGD or Adam, got {type(optimizer).__name__}")
    if optimizer.step_count != 0:
        raise ValueError(f"optimizer must not have stepped yet (the prediction is for the first step), "
                         f"got step_count {optimizer.step_count}")
    out = np.empty(len(lins))
    with _v.quiet():
        for i, lin in enumerate(lins):
            w = lin.weight.astype(np.float64)
            g = lin.grad_weight.astype(np.float64) + optimizer.weight_decay * w
            if isinstance(optimizer, _optim.Adam):
                step = optimizer.lr * g / (np.abs(g) + optimizer.eps)
            else:
                factor = 1.0 + optimizer.momentum if optimizer.nesterov else 1.0
                step = optimizer.lr * factor * g
            out[i] = np.linalg.norm(step) / np.linalg.norm(w)
    return out


def _check_model(model):
    if not isinstance(model, _nn.Layer):
        raise TypeError(f"model must be a gradlab.nn.Layer, got {type(model).__name__}")
    return model


# --------------------------------------------------------------------------
# the capstone: a failing network and its repairs
# --------------------------------------------------------------------------
# Short names for the tables; the chapter defines them: PyTorch's default draws weights and biases
# from U(-1/sqrt(n_{l-1}), 1/sqrt(n_{l-1})), He's weights from N(0, 2/n_{l-1}).
_INIT_TEXT = {"torch_linear_default": "PyTorch's default", "kaiming_normal": "He"}
_BIAS_TEXT = {"torch_default": "PyTorch's default", "zeros": "0"}


@dataclass(frozen=True)
class Rung:
    """One network of the repair ladder: an activation, an initialisation and an architecture.

    Attributes
    ----------
    name : str
        Short name (``"baseline"``, ``"relu"``, ...).
    change : str
        What this rung changes relative to the one before, in words.
    activation : str
        A name of :func:`gradlab.activations.get`.
    init : str
        Weight initialiser of every Linear layer, a name of :func:`gradlab.init.get`.
    bias_init : str
        ``"torch_default"`` or ``"zeros"``; with batch normalisation only the
        output layer has a bias (the layers feeding a normalisation have none,
        since it would cancel them).
    batchnorm : bool
        Batch normalisation (PyTorch's conventions) before every activation.
    residual : bool
        A residual connection around every hidden block.
    clip_norm : float or None
        Threshold of clipping by global norm (:func:`gradlab.clip.clip_grad_norm`).

    Examples
    --------
    >>> Rung("x", "a test", "tanh", "torch_linear_default", "zeros").residual
    False
    """

    name: str
    change: str
    activation: str
    init: str
    bias_init: str
    batchnorm: bool = False
    residual: bool = False
    clip_norm: float | None = None

    def __post_init__(self):
        for field in ("name", "change", "activation", "init", "bias_init"):
            if not isinstance(getattr(self, field), str):
                raise TypeError(f"{field} must be a str, got {type(getattr(self, field)).__name__}")
        _activations.get(self.activation)
        _v.choice(self.init, "init", tuple(_INIT_TEXT))
        _v.choice(self.bias_init, "bias_init", tuple(_BIAS_TEXT))
        _v.boolean(self.batchnorm, "batchnorm")
        _v.boolean(self.residual, "residual")
        if self.clip_norm is not None:
            _v.real(self.clip_norm, "clip_norm", low=0.0, low_open=True)


def ladder(clip_norm=1.0):
    """The failing network and its five cumulative repairs, in the order the chapter applies them.

    1. ``baseline``: sigmoid, PyTorch's default initialisation of weights and
       biases (the failing network);
    2. ``relu``: ReLU instead of the sigmoid (Glorot et al., 2011);
    3. ``he``: He initialisation (He et al., 2015) with zero biases;
    4. ``batchnorm``: batch normalisation before every activation (Ioffe and
       Szegedy, 2015), the layers feeding it without bias;
    5. ``residual``: a residual connection around every hidden block
       ``BN -> ReLU -> Linear`` (the pre-activation block of He et al., 2016);
    6. ``clipping``: clipping by global norm at ``clip_norm`` (Pascanu et al., 2013).

    Parameters
    ----------
    clip_norm : float, default 1.0
        The clipping threshold of the last rung (> 0).

    Returns
    -------
    tuple of Rung

    Examples
    --------
    >>> [r.name for r in ladder()]
    ['baseline', 'relu', 'he', 'batchnorm', 'residual', 'clipping']
    """
    c = _v.real(clip_norm, "clip_norm", low=0.0, low_open=True)
    base = Rung("baseline", "the failing network", "sigmoid", "torch_linear_default", "torch_default")
    relu = Rung("relu", "ReLU", "relu", "torch_linear_default", "torch_default")
    he = Rung("he", "He initialisation", "relu", "kaiming_normal", "zeros")
    bn = Rung("batchnorm", "batch normalisation", "relu", "kaiming_normal", "zeros", batchnorm=True)
    res = Rung("residual", "residual connections", "relu", "kaiming_normal", "zeros",
               batchnorm=True, residual=True)
    clip = Rung("clipping", f"clipping, c = {c:g}", "relu", "kaiming_normal", "zeros",
                batchnorm=True, residual=True, clip_norm=c)
    return (base, relu, he, bn, res, clip)


def _check_rung(rung):
    if not isinstance(rung, Rung):
        raise TypeError(f"rung must be a gradlab.repair.Rung, got {type(rung).__name__}")
    return rung


def build(rung, sizes, rng, dtype=np.float64):
    """The network of one rung: a dense stack of widths ``sizes`` with the rung's repairs.

    For ``sizes = [n_0, ..., n_L]`` the network has ``L`` Linear layers: an
    input layer ``Linear(n_0, n_1)``, ``L - 2`` hidden blocks
    ``[BatchNorm] -> activation -> Linear(n_l, n_{l+1})`` and an output block
    ``[BatchNorm] -> activation -> Linear(n_{L-1}, n_L)``. Without batch
    normalisation this is exactly :func:`gradlab.nn.mlp` (same layers, same
    draws from ``rng``). With it, every Linear layer except the output one
    has no bias (the normalisation that follows would cancel it, and its
    gradient would be 0). With ``residual`` every hidden block ``F`` becomes
    ``x + F(x)`` (He et al., 2016), which needs equal hidden widths.

    Parameters
    ----------
    rung : Rung
    sizes : sequence of int
        Widths ``n_0, ..., n_L``, at least three.
    rng : numpy.random.Generator
        Draws every weight and bias, layer by layer.
    dtype : float dtype, default float64

    Returns
    -------
    gradlab.nn.Sequential

    Examples
    --------
    >>> rungs = ladder()
    >>> net = build(rungs[4], [2, 8, 8, 8, 3], np.random.default_rng(0))
    >>> [type(layer).__name__ for layer in net.layers]
    ['Linear', 'Residual', 'Residual', 'BatchNorm', 'Activation', 'Linear']
    """
    _check_rung(rung)
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 3:
        raise ValueError(f"sizes must be a sequence of at least three widths, got {sizes!r}")
    widths = [_v.positive_int(n, f"sizes[{i}]") for i, n in enumerate(sizes)]
    if rung.residual and len(set(widths[1:-1])) != 1:
        raise ValueError(f"a residual network needs equal hidden widths, got {widths[1:-1]}")
    _v.generator(rng)
    dtype = _v.float_dtype(dtype)

    def linear(fan_in, fan_out, bias):
        return _nn.Linear(fan_in, fan_out, init=rung.init, rng=rng, dtype=dtype, bias=bias,
                          bias_init=rung.bias_init)

    def block(width, fan_out, bias):
        head = [_nn.BatchNorm(width, dtype=dtype)] if rung.batchnorm else []
        return head + [_nn.Activation(rung.activation), linear(width, fan_out, bias)]

    layers = [linear(widths[0], widths[1], not rung.batchnorm)]
    for fan_in, fan_out in zip(widths[1:-2], widths[2:-1]):
        parts = block(fan_in, fan_out, not rung.batchnorm)
        layers += [_nn.Residual(_nn.Sequential(*parts))] if rung.residual else parts
    layers += block(widths[-2], widths[-1], True)
    return _nn.Sequential(*layers)


@dataclass
class RungResult:
    """What :func:`run_ladder` measured for one rung.

    Attributes
    ----------
    rung : Rung
    search : gradlab.train.LRSearch
        The learning-rate grid: final training loss of every rate and seed,
        the best rate, and the histories at that rate.
    test_accuracy : numpy.ndarray
        Per seed, at the best rate, on the held-out data (empty if no rate trained).
    grad_ratio : numpy.ndarray
        Per seed, at initialisation: :math:`\\lVert \\partial J/\\partial W^{(1)} \\rVert_F
        / \\lVert \\partial J/\\partial W^{(L)} \\rVert_F`.
    rule_lr : numpy.ndarray
        Per seed: the SGD learning rate whose first step has a median (over
        layers) update-to-weight ratio of ``target_ratio`` (1e-3 by default).
    clipped_fraction : numpy.ndarray or None
        Per seed, at the best rate: fraction of steps whose gradient norm
        exceeded the clipping threshold (None without clipping).

    Examples
    --------
    >>> r = RungResult(ladder()[0], None, np.array([]), np.array([1e-3]), np.array([0.1]), None)
    >>> r.rung.name
    'baseline'
    """

    rung: Rung
    search: object
    test_accuracy: np.ndarray
    grad_ratio: np.ndarray
    rule_lr: np.ndarray
    clipped_fraction: np.ndarray | None


def _probe(model, x, y, loss, target_ratio):
    """Gradient ratio first/last layer and rule-of-thumb learning rate at initialisation."""
    with _v.quiet():
        _, g = loss(model.forward(x), y)
        model.backward(g)
    norms = _diag.gradient_norms_by_layer(model)
    per_unit_lr = predicted_update_ratios(model, _optim.SGD(model, lr=1.0))
    with _v.quiet():
        return norms[0] / norms[-1], target_ratio / float(np.median(per_unit_lr))


def run_ladder(rungs, sizes, X, y, X_test, y_test, lrs, seeds, steps, batch_size=32,
               loss="cross_entropy", target_ratio=1e-3, probe=None):
    """Train every rung fairly and measure it: the capstone experiment of the diagnosis chapter.

    For each rung, :func:`gradlab.train.best_learning_rate` trains the
    network of :func:`build` on ``(X, y)`` with plain SGD for ``steps`` steps
    at every rate of ``lrs`` and every seed (the seed builds the network and
    draws its minibatches), with the rung's clipping, and keeps the rate with
    the lowest mean final training loss. The networks trained at that rate
    are then evaluated on ``(X_test, y_test)``. Before training, each seed's
    network is probed on ``probe`` (the training set by default): the ratio
    of the first to the last layer's weight-gradient norm, and the learning
    rate that the
    update-to-weight rule of thumb (Karpathy, CS231n: about 1e-3 per step)
    would pick, ``target_ratio`` over the median of
    :func:`predicted_update_ratios` at unit rate.

    Parameters
    ----------
    rungs : sequence of Rung
    sizes : sequence of int
        Widths for :func:`build`.
    X, y, X_test, y_test : numpy.ndarray
        Training and held-out data.
    lrs : sequence of float
        The learning-rate grid, the same for every rung.
    seeds : sequence of int
    steps : int
    batch_size : int, default 32
    loss : str or callable, default "cross_entropy"
    target_ratio : float, default 1e-3
    probe : (numpy.ndarray, numpy.ndarray), optional
        Examples and targets of the probe at initialisation; default ``(X, y)``.

    Returns
    -------
    list of RungResult

    Examples
    --------
    >>> from gradlab import data
    >>> X, y = data.spirals(20, 2, np.random.default_rng(0))
    >>> res = run_ladder(ladder()[2:3], [2, 8, 8, 2], X, y, X, y, lrs=[0.01, 0.1], seeds=[0, 1], steps=5)
    >>> res[0].search.scores.shape, res[0].test_accuracy.shape
    ((2, 2), (2,))
    """
    rungs = [_check_rung(r) for r in rungs]
    if not rungs:
        raise ValueError("rungs must not be empty")
    fn = _losses.resolve(loss)
    target_ratio = _v.real(target_ratio, "target_ratio", low=0.0, low_open=True)
    seeds = [_v.integer(s, f"seeds[{i}]") for i, s in enumerate(seeds)]
    if not seeds:
        raise ValueError("seeds must be a non-empty sequence of ints, got none")
    for name, a in (("X_test", X_test), ("y_test", y_test)):
        _v.array(a, name)
    if probe is None:
        probe = (X, y)
    if not (isinstance(probe, (tuple, list)) and len(probe) == 2):
        raise TypeError(f"probe must be a pair (examples, targets), got {type(probe).__name__}")
    X_probe, y_probe = (_v.array(a, f"probe[{i}]") for i, a in enumerate(probe))
    results = []
    for rung in rungs:
        probes = np.array([_probe(build(rung, sizes, np.random.default_rng(s)), X_probe, y_probe, fn,
                                  target_ratio) for s in seeds])
        built = []

        def make(rng, rung=rung, built=built):
            model = build(rung, sizes, rng)
            built.append(model)
            return model

        search = _train.best_learning_rate(make, X, y, lrs=lrs, seeds=seeds, steps=steps,
                                           batch_size=batch_size, loss=fn, clip_norm=rung.clip_norm,
                                           record_grad_norms=False)
        accuracy = np.array([])
        clipped = None
        if search.trained:
            # best_learning_rate builds one model per (rate, seed), rate by rate
            best = int(np.flatnonzero(search.lrs == search.best_lr)[0])
            models = built[best * len(seeds):(best + 1) * len(seeds)]
            accuracy = np.array([_train.evaluate(m, X_test, y_test, loss=loss)["accuracy"] for m in models])
            if rung.clip_norm is not None:
                clipped = np.array([np.mean(h.clip_norms[:h.steps_run] > rung.clip_norm)
                                    for h in search.histories])
        results.append(RungResult(rung, search, accuracy, probes[:, 0], probes[:, 1], clipped))
    return results


# --------------------------------------------------------------------------
# tables (Markdown, for IPython.display.Markdown)
# --------------------------------------------------------------------------
def _check_results(results):
    if not isinstance(results, (list, tuple)) or not results \
            or not all(isinstance(r, RungResult) for r in results):
        raise TypeError("results must be a non-empty list of RungResult (from run_ladder)")
    return results


def _mean_std(values, fmt):
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return "—"
    std = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return f"{format(float(np.mean(values)), fmt)} ± {format(std, fmt)}"


def setup_table(rungs):
    """Markdown table of what each rung runs: activation, weights, biases, batch norm, residual, clipping.

    Weights and biases are named briefly: "PyTorch's default" (weights and
    biases from :math:`U(\\pm 1/\\sqrt{n_{l-1}})`), "He" (weights from
    :math:`N(0, 2/n_{l-1})`), "0"; with batch normalisation only the output
    layer has a bias.

    Examples
    --------
    >>> print(setup_table(ladder()[:1]).splitlines()[2])
    | 1 | sigmoid | PyTorch's default | PyTorch's default | no | no | no |
    """
    rungs = [_check_rung(r) for r in rungs]
    rows = ["| step | activation | weights | biases | batch norm | residual | clipping |",
            "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(rungs, 1):
        bias = _BIAS_TEXT[r.bias_init]
        if r.batchnorm:
            bias = f"output layer only, {bias}"
        clip = f"by norm, c = {r.clip_norm:g}" if r.clip_norm else "no"
        rows.append(f"| {i} | {r.activation} | {_INIT_TEXT[r.init]} | {bias} | "
                    f"{'yes' if r.batchnorm else 'no'} | {'yes' if r.residual else 'no'} | {clip} |")
    return "\n".join(rows)


def grid_table(results):
    """Markdown table of the learning-rate grid: final training loss (mean ± std over seeds) per rate.

    A rate at which some seed diverged shows how many did.

    Examples
    --------
    >>> from gradlab.train import LRSearch
    >>> s = LRSearch(np.array([0.1, 1.0]), [0, 1], np.array([[0.5, 0.7], [np.inf, 0.2]]), 0.1, 0.6, 0.14, [])
    >>> print(grid_table([RungResult(ladder()[0], s, np.array([]), np.ones(2), np.ones(2), None)]).splitlines()[2])
    | 1 | 0.600 ± 0.141 | diverged (1 of 2) |
    """
    results = _check_results(results)
    lrs = results[0].search.lrs
    rows = ["| step | " + " | ".join(f"rate $\\eta = {lr:g}$" for lr in lrs) + " |",
            "|---" * (len(lrs) + 1) + "|"]
    for i, r in enumerate(results, 1):
        cells = []
        for row in r.search.scores:
            bad = int(np.sum(~np.isfinite(row)))
            cells.append(f"diverged ({bad} of {row.size})" if bad else _mean_std(row, ".3f"))
        rows.append(f"| {i} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def outcome_table(results):
    """Markdown table of the outcome of each rung: the book's capstone table.

    Columns: the change; the best learning rate of the grid; the final
    training loss and the held-out accuracy at that rate (mean ± std over
    seeds); the gradient ratio, first-to-last-layer weight-gradient norm at
    initialisation (geometric mean over seeds); the learning rate the 1e-3
    rule of thumb picks (geometric mean over seeds).

    Examples
    --------
    >>> from gradlab.train import LRSearch
    >>> s = LRSearch(np.array([0.1]), [0, 1], np.array([[0.5, 0.7]]), 0.1, 0.6, 0.14, [])
    >>> r = RungResult(ladder()[0], s, np.array([0.5, 0.7]), np.array([1e-10, 1e-12]), np.array([0.1, 0.1]), None)
    >>> print(outcome_table([r]).splitlines()[2])
    | 1 | the failing network | 0.1 | 0.600 ± 0.141 | 60.0 ± 14.1 % | 1.0e-11 | 0.1 |
    """
    results = _check_results(results)
    rows = ["| step | change | best $\\eta$ | training loss | held-out accuracy | "
            "gradient ratio | rule's $\\eta$ |",
            "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(results, 1):
        s = r.search
        if s.trained:
            best = int(np.flatnonzero(s.lrs == s.best_lr)[0])
            lr, loss = f"{s.best_lr:g}", _mean_std(s.scores[best], ".3f")
            acc = _mean_std(100 * r.test_accuracy, ".1f") + " %"
        else:
            lr, loss, acc = "none trained", "—", "—"
        with _v.quiet():
            ratio = float(np.exp(np.mean(np.log(r.grad_ratio))))
            rule = float(np.exp(np.mean(np.log(r.rule_lr))))
        rows.append(f"| {i} | {r.rung.change} | {lr} | {loss} | {acc} | {ratio:.1e} | {rule:.2g} |")
    return "\n".join(rows)
