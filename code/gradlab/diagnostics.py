"""Instruments for watching gradients: per-layer statistics, non-finite detection, recorders.

These are the measurements of the book's diagnosis chapter (and the pictures
of every other one):

* :func:`layer_statistics`: one forward and backward pass, layer by layer,
  reporting each layer's activation mean and std, saturation and dead-unit
  fractions, the norm of its weight gradient and of ``dJ/da`` (the gradient
  with respect to its output);
* :func:`gradient_norms_by_layer` and :func:`update_to_weight_ratio`
  (Karpathy's rule of thumb: about ``1e-3`` per step is healthy);
* :func:`first_nonfinite`: the first place (input, parameters, forward,
  loss or backward; which layer) where an ``inf`` or NaN appears;
* :class:`Recorder`: follows these over training steps.

Everything runs under ``numpy.errstate`` so a diverging network is measured
silently, never warned about.
"""

from dataclasses import dataclass, field

import numpy as np

from . import _validate as _v
from . import losses as _losses
from . import nn as _nn

__all__ = [
    "LayerStats",
    "NonFiniteReport",
    "layer_statistics",
    "gradient_norms_by_layer",
    "weight_snapshot",
    "update_to_weight_ratio",
    "first_nonfinite",
    "Recorder",
]


#: Saturation thresholds on the activation value ``a``. sigmoid: a < 0.01 or
#: a > 0.99 (|z| > 4.6, where sigma' < 0.0099, under 4 % of its maximum 1/4);
#: tanh: |a| > 0.99 (|z| > 2.65, where tanh' < 0.02, under 2 % of its maximum 1).
SIGMOID_SATURATION = 0.01
TANH_SATURATION = 0.99
_DEAD_FAMILY = ("relu",)


@dataclass
class LayerStats:
    """Statistics of one layer of a :class:`gradlab.nn.Sequential` for one batch.

    Attributes
    ----------
    index : int
        Position in ``model.layers`` (0-based).
    name : str
        E.g. ``"Linear(2, 8)"`` or ``"Activation(relu)"``.
    mean, std : float
        Mean and (population) standard deviation of the layer's output over all
        entries of the batch.
    saturation : float
        Fraction of output entries near an asymptote, for sigmoid
        (``a < 0.01`` or ``a > 0.99``) and tanh (``|a| > 0.99``) activations;
        NaN for other layers.
    dead_fraction : float
        For ReLU activations: fraction of units whose output is 0 for every
        example of the batch; NaN for other layers.
    weight_grad_norm : float
        Frobenius norm of ``dJ/dW`` for a Linear layer; NaN otherwise.
    output_grad_norm : float
        Frobenius norm of ``dJ/da``, the gradient with respect to this layer's
        output (over the whole batch).
    weight_norm : float
        Frobenius norm of ``W`` for a Linear layer; NaN otherwise.

    Examples
    --------
    >>> s = LayerStats(0, "Activation(relu)", 0.5, 1.0, float("nan"), 0.25, float("nan"), 2.0, float("nan"))
    >>> s.dead_fraction
    0.25
    """

    index: int
    name: str
    mean: float
    std: float
    saturation: float
    dead_fraction: float
    weight_grad_norm: float
    output_grad_norm: float
    weight_norm: float


@dataclass
class NonFiniteReport:
    """Where a non-finite value first appeared.

    Attributes
    ----------
    direction : str
        ``"input"`` (the data), ``"parameters"`` (a layer's parameters are
        already non-finite), ``"forward"`` (a layer's output), ``"loss"``
        (the loss or its gradient) or ``"backward"`` (the gradient a layer
        returns or stores).
    layer_index : int or None
        Position in ``model.layers``; None for input and loss.
    layer_name : str or None
    value : str
        ``"nan"`` if a NaN is present, else ``"inf"``.
    step : int or None
        Training step, when known (set by :class:`Recorder` and
        :func:`gradlab.train.train`).

    Examples
    --------
    >>> print(NonFiniteReport("forward", 3, "Linear(8, 8)", "inf", step=12))
    step 12: first inf in the forward pass at layer 3 (Linear(8, 8))
    """

    direction: str
    layer_index: int | None
    layer_name: str | None
    value: str
    step: int | None = None

    def __str__(self):
        where = {"input": "in the input", "loss": "in the loss",
                 "parameters": "in the parameters",
                 "forward": "in the forward pass", "backward": "in the backward pass"}
        text = f"first {self.value} {where.get(self.direction, self.direction)}"
        if self.layer_index is not None:
            text += f" at layer {self.layer_index} ({self.layer_name})"
        if self.step is not None:
            text = f"step {self.step}: " + text
        return text


def _layers(model):
    """The layers measured one by one: a Sequential's own layers, or the model itself."""
    if not isinstance(model, _nn.Layer):
        raise TypeError(f"model must be a gradlab.nn.Layer, got {type(model).__name__}")
    return list(model.layers) if isinstance(model, _nn.Sequential) else [model]


def _fro(a):
    """Frobenius norm accumulated in float64 (a float32 norm can overflow early)."""
    with _v.quiet():
        return float(np.linalg.norm(np.ravel(a).astype(np.float64, copy=False)))


def _finite(a):
    return a is None or bool(np.isfinite(a).all())


def _what(a):
    return "nan" if np.isnan(a).any() else "inf"


def _stats_record(i, layer, a, grad_a):
    with _v.quiet():
        act = layer.name if isinstance(layer, _nn.Activation) else None
        sat = float("nan")
        dead = float("nan")
        if act == "sigmoid":
            sat = float(np.mean((a < SIGMOID_SATURATION) | (a > 1 - SIGMOID_SATURATION)))
        elif act == "tanh":
            sat = float(np.mean(np.abs(a) > TANH_SATURATION))
        elif act in _DEAD_FAMILY:
            units = a.reshape(-1, a.shape[-1])
            dead = float(np.mean(np.all(units == 0, axis=0)))
        lin = isinstance(layer, _nn.Linear)
        return LayerStats(
            index=i,
            name=repr(layer),
            mean=float(np.mean(a, dtype=np.float64)),
            std=float(np.std(a, dtype=np.float64)),
            saturation=sat,
            dead_fraction=dead,
            weight_grad_norm=_fro(layer.grad_weight) if lin else float("nan"),
            output_grad_norm=_fro(grad_a),
            weight_norm=_fro(layer.weight) if lin else float("nan"),
        )


def layer_statistics(model, x, y, loss="cross_entropy", return_loss=False):
    """Per-layer activation and gradient statistics of one forward and backward pass.

    Runs ``model.layers`` one at a time on the batch ``x`` (in the model's
    current train/eval mode), the loss against ``y``, then the backward pass,
    and returns one :class:`LayerStats` per layer. The model's gradients are
    left set, exactly as after ``model.backward``.

    Definitions (for an output ``a`` of shape ``(batch, units)``):
    mean and std over all entries (the std the variance-propagation argument
    of Glorot and Bengio, 2010, predicts); saturation fraction for sigmoid
    (``a < 0.01`` or ``a > 0.99``) and tanh (``|a| > 0.99``); dead-unit
    fraction for ReLU (units with ``a = 0`` for every example; Lu et al.,
    2019, call these dead); gradient norms are Frobenius norms over the batch.

    Parameters
    ----------
    model : gradlab.nn.Sequential (or a single layer)
    x : numpy.ndarray
        Input batch.
    y : numpy.ndarray
        Targets for the loss.
    loss : str or callable, default "cross_entropy"
        A name for :func:`gradlab.losses.get` or ``f(pred, y) -> (loss, grad)``.
    return_loss : bool, default False
        Also return the loss of the batch (what a training step needs).

    Returns
    -------
    list of LayerStats, or (float, list of LayerStats) with ``return_loss``

    Examples
    --------
    >>> from gradlab import nn
    >>> rng = np.random.default_rng(0)
    >>> model = nn.mlp([2, 8, 3], "relu", rng)
    >>> stats = layer_statistics(model, rng.standard_normal((16, 2)), rng.integers(0, 3, 16))
    >>> [s.name for s in stats]
    ['Linear(2, 8)', "Activation('relu')", 'Linear(8, 3)']
    >>> 0.0 <= stats[1].dead_fraction <= 1.0
    True
    """
    _v.boolean(return_loss, "return_loss")
    layers = _layers(model)
    _v.array(x, "x")
    fn = _losses.resolve(loss)
    with _v.quiet():
        outs = []
        h = x
        for layer in layers:
            h = layer.forward(h)
            outs.append(h)
        value, g = fn(h, y)
        grads_out = [None] * len(layers)
        for i in range(len(layers) - 1, -1, -1):
            grads_out[i] = g
            g = layers[i].backward(g)
        stats = [_stats_record(i, layer, outs[i], grads_out[i]) for i, layer in enumerate(layers)]
    return (float(value), stats) if return_loss else stats


def gradient_norms_by_layer(model):
    """Frobenius norms ``||dJ/dW^(l)||_F`` of every Linear layer, in forward order.

    Reads ``grad_weight`` as left by the last ``backward`` (descending into
    containers with :func:`gradlab.nn.linear_layers`).

    Parameters
    ----------
    model : gradlab.nn layer or container

    Returns
    -------
    numpy.ndarray
        float64, shape ``(number of Linear layers,)``.

    Examples
    --------
    >>> from gradlab import nn
    >>> rng = np.random.default_rng(0)
    >>> model = nn.mlp([3, 4, 1], "tanh", rng)
    >>> _ = model.forward(np.ones((5, 3))); _ = model.backward(np.ones((5, 1)))
    >>> gradient_norms_by_layer(model).shape
    (2,)
    """
    _layers(model)
    lins = _nn.linear_layers(model)
    return np.array([_fro(lin.grad_weight) for lin in lins], dtype=np.float64)


def weight_snapshot(model):
    """Copies of the weight matrices of every Linear layer, in forward order.

    Take one before and one after an optimiser step and give both to
    :func:`update_to_weight_ratio`.

    Examples
    --------
    >>> from gradlab import nn
    >>> model = nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(0)))
    >>> [w.shape for w in weight_snapshot(model)]
    [(4, 3)]
    """
    _layers(model)
    return [lin.weight.copy() for lin in _nn.linear_layers(model)]


def update_to_weight_ratio(before, after):
    """Relative size of an update, ``||W_after - W_before||_F / ||W_before||_F``, per layer.

    A rule of thumb (Karpathy, CS231n) says about ``1e-3`` per step is
    healthy: much smaller and the layer barely learns, much larger and it is
    unstable. A zero ``W_before`` gives ``inf`` (or NaN if unchanged).

    Parameters
    ----------
    before, after : list of numpy arrays
        Weights of each layer, e.g. from :func:`weight_snapshot`.

    Returns
    -------
    numpy.ndarray
        float64, one ratio per layer.

    Examples
    --------
    >>> W0 = [np.array([[3.0, 4.0]])]
    >>> W1 = [np.array([[3.0, 4.05]])]
    >>> update_to_weight_ratio(W0, W1).round(6)
    array([0.01])
    """
    for name, lst in (("before", before), ("after", after)):
        if not isinstance(lst, (list, tuple)) or not all(isinstance(w, np.ndarray) for w in lst):
            raise TypeError(f"{name} must be a list of numpy arrays")
    if len(before) != len(after):
        raise ValueError(f"before and after must have the same length, got {len(before)} and {len(after)}")
    out = np.empty(len(before))
    with _v.quiet():
        for i, (b, a) in enumerate(zip(before, after)):
            if a.shape != b.shape:
                raise ValueError(f"before[{i}] and after[{i}] must have the same shape, got {b.shape} and {a.shape}")
            diff = a.astype(np.float64) - b.astype(np.float64)
            out[i] = np.float64(_fro(diff)) / np.float64(_fro(b))
    return out


def first_nonfinite(model, x, y=None, loss=None):
    """Find the first place where an ``inf`` or NaN appears in a forward/backward pass.

    Checks, in this order, and returns at the first hit: the input ``x``; the
    parameters of each layer; each layer's output in the forward pass; the
    loss and its gradient (when ``y`` and ``loss`` are given); each layer's
    returned input gradient and stored parameter gradients in the backward
    pass (last layer first).

    The passes run on the model itself, in its current mode: like a training
    step they overwrite the stored gradients and, in training mode, update
    batch-norm running statistics and draw RReLU slopes.

    Parameters
    ----------
    model : gradlab.nn.Sequential (or a single layer)
    x : numpy.ndarray
    y : numpy.ndarray, optional
    loss : str or callable, optional
        Needed, with ``y``, to check the loss and the backward pass.

    Returns
    -------
    NonFiniteReport or None
        None when everything checked is finite.

    Examples
    --------
    >>> from gradlab import nn
    >>> big = lambda shape, rng: np.full(shape, 1e200)
    >>> rng = np.random.default_rng(0)
    >>> model = nn.Sequential(nn.Linear(1, 1, init=big, rng=rng), nn.Linear(1, 1, init=big, rng=rng))
    >>> print(first_nonfinite(model, np.ones((2, 1))))
    first inf in the forward pass at layer 1 (Linear(1, 1))
    """
    layers = _layers(model)
    _v.array(x, "x")
    if (y is None) != (loss is None):
        raise ValueError("y and loss must be given together (or neither, to check only the forward pass)")
    fn = _losses.resolve(loss) if loss is not None else None
    with _v.quiet():
        if not _finite(x):
            return NonFiniteReport("input", None, None, _what(x))
        for i, layer in enumerate(layers):
            for p in layer.parameters():
                if not _finite(p):
                    return NonFiniteReport("parameters", i, repr(layer), _what(p))
        h = x
        for i, layer in enumerate(layers):
            h = layer.forward(h)
            if not _finite(h):
                return NonFiniteReport("forward", i, repr(layer), _what(h))
        if fn is None:
            return None
        value, g = fn(h, y)
        if not np.isfinite(value) or not _finite(g):
            bad = np.asarray(value) if not np.isfinite(value) else g
            return NonFiniteReport("loss", None, None, _what(bad))
        for i in range(len(layers) - 1, -1, -1):
            g = layers[i].backward(g)
            for a in [g] + list(layers[i].gradients()):
                if not _finite(a):
                    return NonFiniteReport("backward", i, repr(layers[i]), _what(a))
    return None


@dataclass
class Recorder:
    """Follow gradient norms, update ratios and layer statistics over training steps.

    Call :meth:`record` once per step, after ``backward`` and before the
    optimiser step (:func:`gradlab.train.train` does this when given
    ``recorder=``). Each call stores the loss, the Linear layers' gradient
    norms, and the update-to-weight ratio of the update made since the
    previous call; per-layer :class:`LayerStats` are stored when given (train
    computes them every ``stats_every`` steps from the training batch itself).
    The first step whose loss or gradients are non-finite is kept in
    ``first_nonfinite_step`` (and a :class:`NonFiniteReport` in ``report``
    when ``x`` is passed).

    With ``per_step=False`` a call without layer statistics records nothing
    (only a non-finite loss is still noticed): the lists then hold the steps
    with statistics alone, and each update ratio covers the updates since the
    previous of those steps. This makes following many runs (a learning-rate
    grid) much cheaper when only the statistics are wanted.

    Attributes
    ----------
    model : the model followed
    stats_every : int or None
        Steps between layer statistics (None: never).
    per_step : bool, default True
        Record every step, or only the steps with layer statistics.
    steps, losses : lists
    grad_norms, update_ratios : lists of arrays (one entry per Linear layer);
        the first update ratio is NaN (no previous weights).
    stats : dict[int, list[LayerStats]]
    first_nonfinite_step : int or None
    report : NonFiniteReport or None

    Examples
    --------
    >>> from gradlab import nn
    >>> rng = np.random.default_rng(0)
    >>> model = nn.mlp([2, 4, 1], "tanh", rng)
    >>> rec = Recorder(model)
    >>> for step in range(3):
    ...     _ = model.forward(np.ones((5, 2))); _ = model.backward(np.ones((5, 1)))
    ...     rec.record(step, 1.0)
    ...     for p, g in zip(model.parameters(), model.gradients()): p -= 0.01 * g
    >>> rec.grad_norm_array().shape, rec.first_nonfinite_step is None
    ((3, 2), True)
    """

    model: object
    stats_every: int | None = None
    per_step: bool = True
    steps: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    grad_norms: list = field(default_factory=list)
    update_ratios: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    first_nonfinite_step: int | None = None
    report: NonFiniteReport | None = None

    def __post_init__(self):
        _layers(self.model)
        if self.stats_every is not None:
            self.stats_every = _v.positive_int(self.stats_every, "stats_every")
        self.per_step = _v.boolean(self.per_step, "per_step")
        self._previous = None

    def wants_stats(self, step):
        """True when layer statistics should be recorded at ``step``.

        Examples
        --------
        >>> from gradlab import nn
        >>> Recorder(nn.Sequential(nn.Activation("relu")), stats_every=10).wants_stats(20)
        True
        """
        return self.stats_every is not None and step % self.stats_every == 0

    def record(self, step, loss_value, stats=None, x=None, y=None, loss=None):
        """Record one training step (after ``backward``, before the update).

        Parameters
        ----------
        step : int
        loss_value : float
        stats : list of LayerStats, optional
        x, y, loss : optional
            The batch and loss, used only to locate a non-finite value with
            :func:`first_nonfinite` (this re-runs the model on the batch).

        Examples
        --------
        >>> from gradlab import nn
        >>> rec = Recorder(nn.Sequential(nn.Activation("relu")))
        >>> rec.record(0, float("inf")); rec.first_nonfinite_step
        0
        """
        _v.integer(step, "step")
        if not self.per_step and stats is None:
            if self.first_nonfinite_step is None and not np.isfinite(loss_value):
                self.first_nonfinite_step = int(step)
            return
        norms = gradient_norms_by_layer(self.model)
        weights = weight_snapshot(self.model)
        if self._previous is None:
            ratios = np.full(len(weights), np.nan)
        else:
            ratios = update_to_weight_ratio(self._previous, weights)
        self._previous = weights
        self.steps.append(int(step))
        self.losses.append(float(loss_value))
        self.grad_norms.append(norms)
        self.update_ratios.append(ratios)
        if stats is not None:
            self.stats[int(step)] = stats
        if self.first_nonfinite_step is None:
            grads_ok = all(_finite(g) for g in self.model.gradients())
            if not (np.isfinite(loss_value) and grads_ok):
                self.first_nonfinite_step = int(step)
                if x is not None:
                    self.report = first_nonfinite(self.model, x, y, loss)
                    if self.report is not None:
                        self.report.step = int(step)

    def grad_norm_array(self):
        """Gradient norms as an array of shape (recorded steps, Linear layers).

        Examples
        --------
        >>> from gradlab import nn
        >>> Recorder(nn.Sequential(nn.Activation("relu"))).grad_norm_array().shape
        (0, 0)
        """
        return np.array(self.grad_norms) if self.grad_norms else np.empty((0, 0))

    def stat_series(self, name):
        """One :class:`LayerStats` field over the recorded steps: (steps, layers) array.

        Examples
        --------
        >>> from gradlab import nn
        >>> Recorder(nn.Sequential(nn.Activation("relu"))).stat_series("std").shape
        (0, 0)
        """
        if name not in LayerStats.__dataclass_fields__ or name in ("name", "index"):
            raise ValueError(f"unknown statistic {name!r}; expected one of: "
                             + ", ".join(f for f in LayerStats.__dataclass_fields__
                                         if f not in ("name", "index")))
        if not self.stats:
            return np.empty((0, 0))
        return np.array([[getattr(s, name) for s in self.stats[k]] for k in sorted(self.stats)])
