"""Measurements of the loss landscape along a training step, after Santurkar et al. (2018).

Why batch normalisation helps is debated. Ioffe and Szegedy (2015) proposed
that it reduces *internal covariate shift*, the change of a layer's input
distribution caused by the updates of the layers below it. Santurkar, Tsipras,
Ilyas and Madry (2018) measured that shift in the sense that matters for
optimisation and argued instead that normalisation makes the loss and its
gradient change more smoothly along the path of a step. This module makes
both measurements on a :mod:`gradlab.nn` model and one batch:

* :func:`gradient_probe`: step along the negative gradient by several step
  sizes and record the loss, and how much the gradient changes (their "loss
  landscape", "gradient predictiveness" and "effective beta-smoothness");
* :func:`gradient_shift`: their definition of internal covariate shift, the
  change of each layer's gradient when only the layers below it take their
  step.

Both work on a deep copy: the model (parameters, gradients, running
statistics) is left as it was. They evaluate the model in its current mode
(training mode for a network being trained: batch normalisation then uses
the batch statistics, as in a training step).
"""

import copy
from dataclasses import dataclass

import numpy as np

from . import _validate as _v
from . import losses as _losses
from . import nn as _nn

__all__ = ["GradientProbe", "gradient_probe", "GradientShift", "gradient_shift"]


def _loss_and_gradients(model, X, y, fn):
    with _v.quiet():
        value, g = fn(model.forward(X), y)
        if np.isfinite(value):
            model.backward(g)
            grads = [gr.copy() for gr in model.gradients()]
        else:
            grads = [np.full(p.shape, np.nan) for p in model.parameters()]
    return float(value), grads


def _norm(arrays):
    with _v.quiet():
        return float(np.sqrt(sum(float(np.sum(a.astype(np.float64) ** 2)) for a in arrays)))


def _check_batch(model, X, y):
    if not isinstance(model, _nn.Layer):
        raise TypeError(f"model must be a gradlab.nn.Layer, got {type(model).__name__}")
    _v.float_array(X, "X", nonempty=True, finite=True)
    _v.array(y, "y")
    if y.ndim < 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have {X.shape[0]} rows like X, got shape {y.shape}")
    if not model.parameters():
        raise ValueError("model must have parameters, got none")


@dataclass
class GradientProbe:
    """What :func:`gradient_probe` measured along :math:`\\theta - \\eta g`.

    Attributes
    ----------
    etas : numpy.ndarray
        The step sizes :math:`\\eta`.
    loss0 : float
        :math:`J(\\theta)`.
    grad_norm : float
        :math:`\\lVert g \\rVert`, the norm of the full gradient at :math:`\\theta`.
    losses : numpy.ndarray
        :math:`J(\\theta - \\eta g)` for each step size.
    grad_changes : numpy.ndarray
        :math:`\\lVert \\nabla J(\\theta - \\eta g) - g \\rVert` for each step size.

    Examples
    --------
    >>> p = GradientProbe(np.array([0.1, 0.2]), 1.0, 2.0, np.array([0.7, 0.6]), np.array([0.1, 0.4]))
    >>> round(p.loss_range, 6), round(p.smoothness, 6)
    (0.4, 1.0)
    """

    etas: np.ndarray
    loss0: float
    grad_norm: float
    losses: np.ndarray
    grad_changes: np.ndarray

    @property
    def loss_range(self):
        """Largest minus smallest loss over the start and the probed points."""
        values = np.append(self.losses, self.loss0)
        return float(np.max(values) - np.min(values))

    @property
    def smoothness(self):
        """Effective smoothness :math:`\\max_\\eta \\lVert \\nabla J(\\theta - \\eta g) - g \\rVert / (\\eta \\lVert g \\rVert)`.

        A local Lipschitz constant of the gradient along the step: gradient
        descent with a learning rate below about ``2 / smoothness`` cannot
        overshoot along this direction. NaN if the gradient is zero.
        """
        with _v.quiet():
            return float(np.max(self.grad_changes / (self.etas * self.grad_norm)))


def gradient_probe(model, X, y, etas, loss="cross_entropy"):
    """Loss and gradient change along the negative gradient, for several step sizes.

    With :math:`g = \\nabla J(\\theta)` on the batch ``(X, y)``, for each step
    size :math:`\\eta` it evaluates

    .. math:: J(\\theta - \\eta g) \\quad\\text{and}\\quad
              \\lVert \\nabla J(\\theta - \\eta g) - g \\rVert ,

    the two measurements of Santurkar et al. (2018): how much the loss varies
    along the step ("loss landscape") and how well the gradient at the start
    predicts the gradient further along ("gradient predictiveness"). The
    largest ratio :math:`\\lVert \\nabla J(\\theta - \\eta g) - g \\rVert / (\\eta \\lVert g \\rVert)`
    is their "effective beta-smoothness" (:attr:`GradientProbe.smoothness`).
    For a quadratic :math:`J` with Hessian :math:`H` the loss is a parabola in
    :math:`\\eta` and the gradient change is exactly :math:`\\eta \\lVert H g \\rVert`.

    Every parameter of the model moves, including batch-normalisation scales
    and shifts. The model is not changed (a deep copy is probed, in the
    model's current mode).

    Parameters
    ----------
    model : gradlab.nn.Layer
    X : numpy.ndarray
        The batch (floating point, finite).
    y : numpy.ndarray
        Its targets.
    etas : sequence of float
        Step sizes, all > 0.
    loss : str or callable, default "cross_entropy"

    Returns
    -------
    GradientProbe

    Examples
    --------
    >>> from gradlab import nn
    >>> rng = np.random.default_rng(0)
    >>> model = nn.Sequential(nn.Linear(2, 1, rng=rng))
    >>> X, y = rng.standard_normal((16, 2)), rng.standard_normal((16, 1))
    >>> p = gradient_probe(model, X, y, etas=[0.01, 0.02], loss="mse")
    >>> bool(np.isclose(p.grad_changes[1], 2 * p.grad_changes[0]))  # linear in eta for a quadratic
    True
    """
    _check_batch(model, X, y)
    etas = _v.real_array(etas, "etas", positive=True)
    if etas.ndim != 1 or etas.size == 0:
        raise ValueError(f"etas must be a non-empty 1-D sequence of step sizes, got shape {etas.shape}")
    fn = _losses.resolve(loss)
    m = copy.deepcopy(model)
    params = m.parameters()
    start = [p.copy() for p in params]
    loss0, g = _loss_and_gradients(m, X, y, fn)
    losses = np.empty(etas.size)
    changes = np.empty(etas.size)
    with _v.quiet():
        for k, eta in enumerate(etas):
            for p, p0, gi in zip(params, start, g):
                np.subtract(p0, eta * gi, out=p, casting="unsafe")
            losses[k], gk = _loss_and_gradients(m, X, y, fn)
            changes[k] = _norm([a - b for a, b in zip(gk, g)])
    return GradientProbe(etas=etas, loss0=loss0, grad_norm=_norm(g), losses=losses, grad_changes=changes)


@dataclass
class GradientShift:
    """Internal covariate shift per dense layer, as :func:`gradient_shift` measures it.

    Attributes
    ----------
    layers : list of int
        Positions of the :class:`gradlab.nn.Linear` layers in ``model.layers``.
    l2 : numpy.ndarray
        :math:`\\lVert G_l - G'_l \\rVert_F` per dense layer.
    cosine : numpy.ndarray
        Cosine between :math:`G_l` and :math:`G'_l` (NaN if either is zero).
    grad_norms : numpy.ndarray
        :math:`\\lVert G_l \\rVert_F`.

    Examples
    --------
    >>> s = GradientShift([0, 2], np.array([0.0, 0.5]), np.array([1.0, 0.9]), np.array([1.0, 2.0]))
    >>> s.relative.tolist()
    [0.0, 0.25]
    """

    layers: list
    l2: np.ndarray
    cosine: np.ndarray
    grad_norms: np.ndarray

    @property
    def relative(self):
        """:math:`\\lVert G_l - G'_l \\rVert_F / \\lVert G_l \\rVert_F` per dense layer."""
        with _v.quiet():
            return self.l2 / self.grad_norms


def gradient_shift(model, X, y, lr, loss="cross_entropy"):
    """Internal covariate shift in the sense of Santurkar et al. (2018), Definition 2.1.

    For dense layer :math:`l` (weight :math:`W_l`) it compares the gradient
    :math:`G_l = \\nabla_{W_l} J(\\theta)` with the gradient
    :math:`G'_l` that the same layer sees after every layer *below* it (all
    parameters of ``model.layers[:position]``, normalisation scales and
    shifts included) has taken its SGD step :math:`-\\,\\text{lr}\\; g`, while
    the layer itself and those above keep their values. The distance
    :math:`\\lVert G_l - G'_l \\rVert_F` measures how much the change of the
    layer's input distribution, caused by the updates below it, changes what
    the layer should learn. Zero for the first dense layer.

    Parameters
    ----------
    model : gradlab.nn.Sequential
        Its top-level :class:`gradlab.nn.Linear` layers are measured.
    X, y : numpy.ndarray
        One batch and its targets.
    lr : float
        Learning rate of the step (> 0).
    loss : str or callable, default "cross_entropy"

    Returns
    -------
    GradientShift

    Examples
    --------
    >>> from gradlab import nn
    >>> rng = np.random.default_rng(0)
    >>> model = nn.mlp([2, 8, 8, 3], "tanh", rng)
    >>> s = gradient_shift(model, rng.standard_normal((16, 2)), rng.integers(0, 3, 16), lr=0.1)
    >>> s.layers, float(s.l2[0]), bool(s.l2[2] > 0)
    ([0, 2, 4], 0.0, True)
    """
    if not isinstance(model, _nn.Sequential):
        raise TypeError(f"model must be a gradlab.nn.Sequential, got {type(model).__name__}")
    _check_batch(model, X, y)
    lr = _v.real(lr, "lr", low=0.0, low_open=True)
    fn = _losses.resolve(loss)
    m = copy.deepcopy(model)
    positions = [i for i, layer in enumerate(m.layers) if isinstance(layer, _nn.Linear)]
    _, _ = _loss_and_gradients(m, X, y, fn)
    grads = [[g.copy() for g in layer.gradients()] for layer in m.layers]
    start = [[p.copy() for p in layer.parameters()] for layer in m.layers]
    l2, cos, norms = [], [], []
    with _v.quiet():
        for pos in positions:
            for layer, p0s, gs in zip(m.layers[:pos], start[:pos], grads[:pos]):
                for p, p0, g in zip(layer.parameters(), p0s, gs):
                    np.subtract(p0, lr * g, out=p, casting="unsafe")
            _loss_and_gradients(m, X, y, fn)
            G, G2 = grads[pos][0], m.layers[pos].grad_weight
            l2.append(_norm([G2 - G]))
            norms.append(_norm([G]))
            cos.append(float(np.sum(G * G2)) / (norms[-1] * _norm([G2])) if norms[-1] > 0 and _norm([G2]) > 0
                       else float("nan"))
            for layer, p0s in zip(m.layers[:pos], start[:pos]):
                for p, p0 in zip(layer.parameters(), p0s):
                    p[...] = p0
    return GradientShift(layers=positions, l2=np.array(l2), cosine=np.array(cos), grad_norms=np.array(norms))
