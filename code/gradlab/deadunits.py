r"""Dead and inactive rectifier units: measure them, and predict them.

A rectifier unit (ReLU, leaky ReLU, PReLU, RReLU, ELU, SELU) is *inactive* on
a data set when its pre-activation is :math:`z \le 0` for every example. For
a ReLU this means *dead*: its output is 0 and its derivative is 0 on every
example, so back-propagation gives its incoming weights and bias an exactly
zero gradient and gradient descent never changes them (Lu et al., 2020). A
leaky unit in the same state still passes the slope times its error back and
keeps learning.

=============================  ==============================================
function                       what it computes
=============================  ==============================================
:func:`preactivations`         the input of every activation layer of a network
:func:`inactive_units`         which units are inactive on a data set
:func:`inactive_fraction`      the fraction of inactive units per layer
:func:`dead_probability`       the chance that a unit with normal pre-activation is inactive on n examples
:func:`inactive_after_step`    which units of a dense layer one SGD step would make inactive
=============================  ==============================================

Examples
--------
>>> import numpy as np
>>> from gradlab import nn, deadunits
>>> rng = np.random.default_rng(0)
>>> net = nn.mlp([2, 8, 8, 1], "relu", rng, init="kaiming_normal", bias_init="zeros")
>>> net.layers[0].bias[:] = -100.0  # every unit of layer 1 is pushed below zero
>>> deadunits.inactive_fraction(net, rng.standard_normal((64, 2))).tolist()
[1.0, 1.0]
"""

import math

import numpy as np

from . import _validate as _v
from . import activations as _act
from . import nn as _nn

__all__ = [
    "preactivations",
    "inactive_units",
    "inactive_fraction",
    "dead_probability",
    "inactive_after_step",
]

_ACTIVATION_LAYERS = (_nn.Activation, _nn.PReLU, _nn.RReLU)


def _check_model_and_x(model, x):
    if not isinstance(model, _nn.Sequential):
        raise TypeError(f"model must be a gradlab.nn.Sequential, got {type(model).__name__}")
    _v.float_array(x, "x", ndim=2, shape="(examples, features)", nonempty=True)


def preactivations(model, x):
    r"""The input :math:`z^{(l)}` of every activation layer of ``model`` for the examples ``x``.

    Runs ``model.layers`` one at a time in the model's current mode (in
    training mode an RReLU layer draws new slopes, which changes the layers
    above it) and keeps a copy of what enters each ``Activation``, ``PReLU``
    and ``RReLU`` layer.

    Parameters
    ----------
    model : gradlab.nn.Sequential
    x : numpy.ndarray, shape (examples, features)

    Returns
    -------
    list of numpy.ndarray, each of shape (examples, units)

    Examples
    --------
    >>> from gradlab import nn
    >>> net = nn.mlp([3, 4, 2], "relu", np.random.default_rng(0))
    >>> [z.shape for z in preactivations(net, np.ones((5, 3)))]
    [(5, 4)]
    """
    _check_model_and_x(model, x)
    out = []
    h = x
    with _v.quiet():
        for layer in model.layers:
            if isinstance(layer, _ACTIVATION_LAYERS):
                out.append(h.copy())
            h = layer.forward(h)
    return out


def inactive_units(model, x):
    r"""Which units of each activation layer are inactive on the examples ``x``.

    Unit :math:`i` of layer :math:`l` is inactive when
    :math:`z^{(l)}_i \le 0` for every row of ``x``. For a ReLU layer these
    are the dead units of Lu et al. (2020) (the units whose output is 0 on
    every example, as :func:`gradlab.diagnostics.layer_statistics` counts
    them); for a leaky unit they are units that act linearly, with their
    negative slope, on the whole data set.

    Parameters
    ----------
    model : gradlab.nn.Sequential
    x : numpy.ndarray, shape (examples, features)

    Returns
    -------
    list of numpy.ndarray of bool, one of shape (units,) per activation layer

    Examples
    --------
    >>> from gradlab import nn
    >>> net = nn.Sequential(nn.Linear(1, 2, rng=np.random.default_rng(0)), nn.Activation("relu"))
    >>> net.layers[0].weight[:] = [[1.0], [-1.0]]; net.layers[0].bias[:] = 0.0
    >>> [m.tolist() for m in inactive_units(net, np.array([[1.0], [2.0]]))]
    [[False, True]]
    """
    return [np.all(z <= 0, axis=0) for z in preactivations(model, x)]


def inactive_fraction(model, x):
    """Fraction of inactive units (see :func:`inactive_units`) in each activation layer.

    Parameters
    ----------
    model : gradlab.nn.Sequential
    x : numpy.ndarray, shape (examples, features)

    Returns
    -------
    numpy.ndarray, float64, one entry per activation layer

    Examples
    --------
    >>> from gradlab import nn
    >>> net = nn.mlp([2, 16, 1], "relu", np.random.default_rng(0), init="kaiming_normal", bias_init="zeros")
    >>> float(inactive_fraction(net, np.random.default_rng(1).standard_normal((100, 2)))[0])
    0.0
    """
    return np.array([float(np.mean(m)) for m in inactive_units(model, x)], dtype=np.float64)


def dead_probability(mean, std, n):
    r"""Probability that a unit whose pre-activation is :math:`N(m, s^2)` is :math:`\le 0` on all n examples.

    For n independent examples,

    .. math:: P(\text{inactive}) = \Phi(-m/s)^n, \qquad
              \Phi(x) = \tfrac12 \operatorname{erfc}(-x/\sqrt2).

    For a unit of the first layer, :math:`z = w \cdot x + b`, and standard
    normal inputs :math:`x \sim N(0, I)`, the pre-activation is exactly
    :math:`N(b, \lVert w \rVert^2)` over the data. Computed as
    :math:`\exp(n \log \Phi(-m/s))` with :math:`\log\Phi(-u) =
    \operatorname{log1p}(-\Phi(u))`, accurate when the unit is almost never
    active. The probability grows with the bias's distance below zero in
    units of s and *falls* with n: a unit dead on a small data set can be
    alive on a larger one.

    Parameters
    ----------
    mean : float or array_like
        :math:`m`.
    std : float or array_like
        :math:`s > 0`; broadcast with ``mean``.
    n : int
        Number of examples (>= 1).

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> round(dead_probability(0.0, 1.0, 3), 12)  # a fair coin, three times tails
    0.125
    >>> round(float(dead_probability(-3.0, 1.0, 512)), 4)  # Phi(3)^512
    0.5008
    """
    m = _v.real_array(mean, "mean")
    s = _v.real_array(std, "std", positive=True)
    n = _v.positive_int(n, "n")
    with _v.quiet():
        active = 0.5 * _act.erfc(-m / s / math.sqrt(2.0))  # P(z > 0) = Phi(m/s)
        out = np.exp(n * np.log1p(-active))
    return float(out) if out.ndim == 0 else out


def inactive_after_step(layer, x, lrs):
    r"""Fraction of a dense layer's units that one SGD step of each size would make inactive on ``x``.

    With the gradients ``grad_weight`` :math:`G` and ``grad_bias`` :math:`g`
    stored in the layer by a backward pass, a step of size :math:`\eta`
    changes the pre-activations of the inputs ``x`` (one row each) linearly,

    .. math:: z_{ni}(\eta) = (W x_n + b)_i - \eta\, (G x_n + g)_i ,

    and unit :math:`i` is inactive after the step when
    :math:`\max_n z_{ni}(\eta) \le 0`. This is a prediction made before the
    step. For the first layer of a network, whose input is the fixed data, it
    is exact; for a later layer the step also changes its input, and the
    formula holds only to first order.

    Parameters
    ----------
    layer : gradlab.nn.Linear
        After a backward pass (its gradients set).
    x : numpy.ndarray, shape (examples, fan_in)
        The layer's input.
    lrs : float or sequence of float
        Step sizes :math:`\eta \ge 0`.

    Returns
    -------
    numpy.ndarray, float64, one fraction per step size

    Examples
    --------
    >>> from gradlab import nn
    >>> lin = nn.Linear(1, 2, init="zeros", bias_init="zeros")
    >>> lin.bias[:] = [1.0, 1.0]; lin.grad_bias[:] = [1.0, 0.5]  # the step lowers both biases
    >>> inactive_after_step(lin, np.zeros((3, 1)), [0.5, 1.0, 2.0]).tolist()
    [0.0, 0.5, 1.0]
    """
    if not isinstance(layer, _nn.Linear):
        raise TypeError(f"layer must be a gradlab.nn.Linear, got {type(layer).__name__}")
    _v.float_array(x, "x", ndim=2, shape=f"(examples, {layer.fan_in})", last=layer.fan_in, nonempty=True)
    lrs = _v.real_array(lrs, "lrs")
    if lrs.ndim > 1 or np.any(lrs < 0):
        raise ValueError(f"lrs must be a step size >= 0 or a 1-D sequence of them, got {lrs!r}")
    lrs = np.atleast_1d(lrs)
    xd = x.astype(np.float64, copy=False)
    with _v.quiet():
        z = xd @ layer.weight.T.astype(np.float64)
        dz = xd @ layer.grad_weight.T.astype(np.float64)
        if layer.bias is not None:
            z += layer.bias
            dz += layer.grad_bias
        after = z[None] - lrs[:, None, None] * dz[None]  # (lrs, examples, units)
        return np.mean(np.all(after <= 0, axis=1), axis=1)
