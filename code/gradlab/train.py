"""A deterministic training loop, evaluation, and fair learning-rate comparisons.

:func:`train` runs minibatch gradient descent and returns a :class:`History`
the chapters plot: the loss and the per-layer gradient norms of every step,
the total gradient norm seen by clipping, and, for a run that diverges, the
step and place where a value first became non-finite (the run then stops
cleanly, without warnings). Minibatches come from the ``rng`` argument only,
so the same seed gives bit-identical histories.

:func:`best_learning_rate` implements the book's rule for fair comparisons:
each model at its best learning rate from a small grid, over several seeds,
with the same data and number of steps.
"""

from dataclasses import dataclass

import numpy as np

from . import _validate as _v
from . import clip as _clip
from . import diagnostics as _diag
from . import losses as _losses
from . import nn as _nn
from . import optim as _optim

__all__ = ["History", "train", "evaluate", "LRSearch", "best_learning_rate"]



@dataclass
class History:
    """What happened during :func:`train`.

    Attributes
    ----------
    loss : numpy.ndarray, shape (steps,)
        Training loss of each step's minibatch (before that step's update).
        After a divergence the remaining entries are NaN.
    grad_norms : numpy.ndarray, shape (steps, number of Linear layers), or None
        Frobenius norm of each Linear layer's weight gradient per step
        (before clipping; may be inf at ``diverged_at``); NaN after a
        divergence. None if not recorded.
    clip_norms : numpy.ndarray, shape (steps,), or None
        The total gradient norm returned by clipping by norm (before
        clipping); None when ``clip_norm`` was not used.
    diverged_at : int or None
        First step whose loss or gradient is non-finite; the run stopped there
        without updating the parameters.
    nonfinite : gradlab.diagnostics.NonFiniteReport or None
        Where the first non-finite value appeared at ``diverged_at``.
    steps_run : int
        Steps that completed an update.
    lr : float or None
        The optimiser's learning rate.

    Examples
    --------
    >>> h = History(loss=np.array([1.0, 0.5]))
    >>> h.final_loss(window=2)
    0.75
    """

    loss: np.ndarray
    grad_norms: np.ndarray | None = None
    clip_norms: np.ndarray | None = None
    diverged_at: int | None = None
    nonfinite: object = None
    steps_run: int = 0
    lr: float | None = None

    def final_loss(self, window=10):
        """Mean training loss over the last ``window`` steps; ``inf`` if the run diverged.

        Examples
        --------
        >>> History(loss=np.array([2.0, np.nan]), diverged_at=1).final_loss()
        inf
        """
        _v.positive_int(window, "window")
        if self.diverged_at is not None:
            return float("inf")
        return float(np.mean(self.loss[-window:]))


def _check_data(X, y):
    for name, a in (("X", X), ("y", y)):
        _v.finite_values(_v.array(a, name), name)
    if X.ndim < 2:
        raise ValueError(f"X must have shape (n, features), got {X.shape}")
    if y.ndim < 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have {X.shape[0]} rows like X, got shape {y.shape}")
    if X.shape[0] < 1:
        raise ValueError("X must have at least one example, got shape {X.shape}")


def _batches(n, batch_size, rng):
    """Yield index arrays: shuffled epochs of full minibatches (last partial one dropped)."""
    if batch_size is None or batch_size >= n:
        while True:
            yield None
    per_epoch = n // batch_size
    while True:
        perm = rng.permutation(n)
        for b in range(per_epoch):
            yield perm[b * batch_size:(b + 1) * batch_size]


def _grads_finite(grads):
    return all(bool(np.isfinite(g).all()) for g in grads)


def train(model, X, y, loss="cross_entropy", optimizer=None, lr=None, steps=100,
          batch_size=32, rng=None, clip_norm=None, clip_value=None,
          record_grad_norms=True, recorder=None):
    """Train ``model`` by minibatch gradient descent; return a :class:`History`.

    Each step: draw a minibatch, forward, loss, backward; stop if the loss or
    a gradient is non-finite (recording ``diverged_at`` and a
    :class:`~gradlab.diagnostics.NonFiniteReport`); record per-layer gradient
    norms; clip by value (``clip_value``) and then by global norm
    (``clip_norm``) as :mod:`gradlab.clip` does; take an optimiser step.

    Minibatches are the consecutive slices of a fresh ``rng.permutation`` each
    epoch (the last partial batch of an epoch is dropped); with
    ``batch_size=None`` or ``>= n`` every step uses the whole data set in
    order and ``rng`` is not consumed. The model is put in training mode.

    When a step diverges, the model is run once more on that minibatch by
    :func:`gradlab.diagnostics.first_nonfinite` to locate the first
    non-finite value (so batch-norm running statistics see that batch twice;
    they are meaningless after a divergence anyway).

    Parameters
    ----------
    model : gradlab.nn.Sequential (or any layer)
    X : numpy.ndarray, shape (n, ...)
    y : numpy.ndarray
        Integer labels ``(n,)`` for ``"cross_entropy"``, targets for ``"mse"``.
    loss : str or callable, default "cross_entropy"
    optimizer : gradlab.optim optimiser, optional
        Built on ``model``. Default: plain :class:`gradlab.optim.SGD` with ``lr``.
    lr : float, optional
        Learning rate of the default SGD (required when ``optimizer`` is None;
        must not be given with ``optimizer``).
    steps : int, default 100
    batch_size : int or None, default 32
    rng : numpy.random.Generator
        Required: draws the minibatches.
    clip_norm, clip_value : float, optional
        Thresholds for :func:`gradlab.clip.clip_grad_norm` /
        :func:`gradlab.clip.clip_grad_value`.
    record_grad_norms : bool, default True
    recorder : gradlab.diagnostics.Recorder, optional
        Given every step (with layer statistics when it asks for them).

    Returns
    -------
    History

    Examples
    --------
    >>> from gradlab import nn, data
    >>> rng = np.random.default_rng(0)
    >>> X, y = data.circles(200, rng, noise=0.05)
    >>> model = nn.mlp([2, 16, 2], "tanh", rng)
    >>> h = train(model, X, y, lr=0.5, steps=200, batch_size=50, rng=rng)
    >>> h.loss.shape, h.grad_norms.shape, h.diverged_at
    ((200,), (200, 2), None)
    >>> bool(h.final_loss() < h.loss[0])
    True
    """
    _check_data(X, y)
    _v.generator(rng)
    steps = _v.positive_int(steps, "steps")
    batch_size = None if batch_size is None else _v.positive_int(batch_size, "batch_size")
    fn = _losses.resolve(loss)
    if optimizer is None:
        if lr is None:
            raise ValueError("lr is required when no optimizer is given")
        optimizer = _optim.SGD(model, lr=lr)
    else:
        if lr is not None:
            raise ValueError("give either optimizer or lr, not both (the optimizer has its own lr)")
        if not hasattr(optimizer, "step"):
            raise TypeError(f"optimizer must have a step() method, got {type(optimizer).__name__}")
    for name, v in (("clip_norm", clip_norm), ("clip_value", clip_value)):
        if v is not None:
            _v.real(v, name, low=0.0)
    _v.boolean(record_grad_norms, "record_grad_norms")
    if recorder is not None and not isinstance(recorder, _diag.Recorder):
        raise TypeError(f"recorder must be a gradlab.diagnostics.Recorder, got {type(recorder).__name__}")

    n_lin = len(_nn.linear_layers(model))
    hist = History(
        loss=np.full(steps, np.nan),
        grad_norms=np.full((steps, n_lin), np.nan) if record_grad_norms else None,
        clip_norms=np.full(steps, np.nan) if clip_norm is not None else None,
        lr=getattr(optimizer, "lr", None),
    )
    model.train()
    batches = _batches(X.shape[0], batch_size, rng)
    with _v.quiet():
        for step in range(steps):
            idx = next(batches)
            xb, yb = (X, y) if idx is None else (X[idx], y[idx])
            want_stats = recorder is not None and recorder.wants_stats(step)
            if want_stats:
                value, stats = _diag.layer_statistics(model, xb, yb, fn, return_loss=True)
            else:
                stats = None
                value, g = fn(model.forward(xb), yb)
                value = float(value)
                if np.isfinite(value):
                    model.backward(g)
            hist.loss[step] = value
            grads = model.gradients()
            finite = np.isfinite(value) and _grads_finite(grads)
            if np.isfinite(value) and record_grad_norms and n_lin:
                hist.grad_norms[step] = _diag.gradient_norms_by_layer(model)
            if recorder is not None:
                recorder.record(step, value, stats=stats)
            if not finite:
                hist.diverged_at = step
                # the parameters are still those that produced the non-finite value
                report = _diag.first_nonfinite(model, xb, yb, fn)
                if report is not None:
                    report.step = step
                hist.nonfinite = report
                if recorder is not None and recorder.report is None:
                    recorder.report = report
                break
            if clip_value is not None:
                _clip.clip_grad_value(grads, clip_value)
            if clip_norm is not None:
                hist.clip_norms[step] = _clip.clip_grad_norm(grads, clip_norm)
            optimizer.step()
            hist.steps_run = step + 1
    return hist


def evaluate(model, X, y, loss="cross_entropy"):
    """Loss (and accuracy for classification) of ``model`` on ``(X, y)`` in eval mode.

    The model is switched to evaluation mode (batch-norm running statistics,
    RReLU's fixed slope) for the pass and restored to its previous mode.

    Parameters
    ----------
    model : gradlab.nn layer or container
    X, y : numpy.ndarray
    loss : str or callable, default "cross_entropy"

    Returns
    -------
    dict
        ``{"loss": float, "accuracy": float or None}``; accuracy (fraction of
        argmax predictions equal to the integer label) only for
        ``"cross_entropy"``.

    Examples
    --------
    >>> from gradlab import nn
    >>> model = nn.Sequential(nn.Linear(2, 2, rng=np.random.default_rng(0)))
    >>> r = evaluate(model, np.ones((4, 2)), np.array([0, 1, 0, 1]))
    >>> r["accuracy"]
    0.5
    """
    _check_data(X, y)
    fn = _losses.resolve(loss)
    was_training = getattr(model, "training", True)
    model.eval()
    try:
        with _v.quiet():
            pred = model.forward(X)
            value, _ = fn(pred, y)
    finally:
        if was_training:
            model.train()
    acc = None
    if loss == "cross_entropy":
        acc = float(np.mean(np.argmax(pred, axis=1) == y))
    return {"loss": float(value), "accuracy": acc}


@dataclass
class LRSearch:
    """Result of :func:`best_learning_rate`.

    Attributes
    ----------
    lrs : numpy.ndarray, shape (n_lrs,)
    seeds : list of int
    scores : numpy.ndarray, shape (n_lrs, n_seeds)
        Final training loss (mean of the last ``window`` steps; ``inf`` for a
        diverged run) of each learning rate and seed.
    best_lr : float or None
        The learning rate with the lowest mean score; None when no rate of the
        grid trained (every rate had a diverged run, so every mean is inf).
    mean, std : float
        Mean and standard deviation (ddof=1 when several seeds, else 0) of
        the score over seeds at ``best_lr``; inf and NaN when no rate trained.
    histories : list of History
        One per seed, at ``best_lr``: the curves a chapter plots (empty when
        no rate trained).
    recorders : list of lists of gradlab.diagnostics.Recorder, or None
        With ``make_recorder``: ``recorders[i][j]`` followed the run at
        ``lrs[i]`` with ``seeds[j]`` (its ``model`` is that run's trained
        model); None otherwise.

    Examples
    --------
    >>> r = LRSearch(np.array([0.1]), [0], np.array([[0.5]]), 0.1, 0.5, 0.0, [])
    >>> r.best_lr, r.trained
    (0.1, True)
    >>> print(LRSearch(np.array([1.0, 2.0]), [0], np.array([[np.inf], [np.inf]]), None, np.inf, np.nan, []))
    no learning rate of the grid [1, 2] trained: a run diverged at every rate
    """

    lrs: np.ndarray
    seeds: list
    scores: np.ndarray
    best_lr: float
    mean: float
    std: float
    histories: list
    recorders: list | None = None

    @property
    def trained(self):
        """Whether some learning rate of the grid trained without any run diverging."""
        return self.best_lr is not None

    def __str__(self):
        grid = "[" + ", ".join(f"{lr:g}" for lr in self.lrs) + "]"
        if not self.trained:
            return f"no learning rate of the grid {grid} trained: a run diverged at every rate"
        return (f"best learning rate {self.best_lr:g} of the grid {grid}: final loss "
                f"{self.mean:.4g} +- {self.std:.2g} over {len(self.seeds)} seed(s)")


def best_learning_rate(make_model, X, y, lrs, seeds, steps, batch_size=32,
                       loss="cross_entropy", make_optimizer=None, window=10, make_recorder=None,
                       **train_kwargs):
    """Pick the best learning rate from a grid, over several seeds (a fair comparison).

    For each learning rate and seed, ``rng = np.random.default_rng(seed)``
    builds the model (``make_model(rng)``) and then draws its minibatches in
    :func:`train`; so every learning rate sees the same initial weights and
    the same minibatches for a given seed. A run's score is its final
    training loss (:meth:`History.final_loss`, ``inf`` if it diverged); the
    best learning rate minimises the mean score over seeds.

    Parameters
    ----------
    make_model : callable
        ``make_model(rng) -> model``.
    X, y : numpy.ndarray
        The same data for every run.
    lrs : sequence of float
        The grid (shown in the chapter).
    seeds : sequence of int
    steps : int
    batch_size : int or None, default 32
    loss : str or callable, default "cross_entropy"
    make_optimizer : callable, optional
        ``make_optimizer(model, lr) -> optimiser``; default plain SGD.
    window : int, default 10
        Steps averaged for the final loss.
    make_recorder : callable, optional
        ``make_recorder(model) -> gradlab.diagnostics.Recorder``, called for
        every run and given to :func:`train`, so that the statistics of every
        run of the grid are kept (``LRSearch.recorders``) without training
        any run twice. Recording does not change the training.
    **train_kwargs
        Passed to :func:`train` (e.g. ``clip_norm``).

    Returns
    -------
    LRSearch
        With ``best_lr = None`` (and ``trained`` False) when a run diverged
        at every rate of the grid: no rate is named the winner.

    Examples
    --------
    >>> from gradlab import nn, data
    >>> X, y = data.circles(100, np.random.default_rng(1), noise=0.05)
    >>> make = lambda rng: nn.mlp([2, 8, 2], "tanh", rng)
    >>> r = best_learning_rate(make, X, y, lrs=[0.01, 0.3], seeds=[0, 1], steps=50)
    >>> r.best_lr, r.scores.shape
    (0.3, (2, 2))
    >>> from gradlab import diagnostics
    >>> r = best_learning_rate(make, X, y, lrs=[0.3], seeds=[0], steps=20,
    ...                        make_recorder=lambda m: diagnostics.Recorder(m, stats_every=10))
    >>> sorted(r.recorders[0][0].stats)
    [0, 10]
    """
    if not callable(make_model):
        raise TypeError("make_model must be a callable rng -> model")
    lrs = _v.real_array(lrs, "lrs")
    if lrs.ndim != 1 or lrs.size == 0 or np.any(lrs < 0):
        raise ValueError(f"lrs must be a non-empty 1-D sequence of learning rates >= 0, got {lrs!r}")
    seeds = [_v.integer(s, f"seeds[{i}]") for i, s in enumerate(seeds)]
    if not seeds:
        raise ValueError("seeds must be a non-empty sequence of ints, got none")
    if make_optimizer is not None and not callable(make_optimizer):
        raise TypeError("make_optimizer must be a callable (model, lr) -> optimiser")
    if make_recorder is not None and not callable(make_recorder):
        raise TypeError("make_recorder must be a callable model -> gradlab.diagnostics.Recorder")
    if make_recorder is not None and "recorder" in train_kwargs:
        raise ValueError("give either make_recorder or recorder, not both (make_recorder makes one per run)")
    scores = np.empty((lrs.size, len(seeds)))
    all_hist = []
    recorders = None if make_recorder is None else []
    for i, lr in enumerate(lrs):
        row = []
        if recorders is not None:
            recorders.append([])
        for j, seed in enumerate(seeds):
            rng = np.random.default_rng(seed)
            model = make_model(rng)
            if recorders is not None:
                train_kwargs["recorder"] = make_recorder(model)
                recorders[i].append(train_kwargs["recorder"])
            if make_optimizer is None:
                h = train(model, X, y, loss=loss, lr=float(lr), steps=steps,
                          batch_size=batch_size, rng=rng, **train_kwargs)
            else:
                h = train(model, X, y, loss=loss, optimizer=make_optimizer(model, float(lr)),
                          steps=steps, batch_size=batch_size, rng=rng, **train_kwargs)
            h.lr = float(lr)
            scores[i, j] = h.final_loss(window)
            row.append(h)
        all_hist.append(row)
    with _v.quiet():
        means = scores.mean(axis=1)
    means = np.where(np.isnan(means), np.inf, means)
    if not np.isfinite(means).any():
        # argmin would name the first rate; no rate trained, and the result says so
        return LRSearch(lrs=lrs, seeds=seeds, scores=scores, best_lr=None, mean=float("inf"),
                        std=float("nan"), histories=[], recorders=recorders)
    best = int(np.argmin(means))
    s = scores[best]
    std = float(np.std(s, ddof=1)) if len(seeds) > 1 and np.all(np.isfinite(s)) else 0.0
    return LRSearch(lrs=lrs, seeds=seeds, scores=scores, best_lr=float(lrs[best]),
                    mean=float(means[best]), std=std, histories=all_hist[best], recorders=recorders)
