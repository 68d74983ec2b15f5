"""Folding a trained batch-normalisation layer into the dense layer before it.

In evaluation mode a :class:`gradlab.nn.BatchNorm` layer is a fixed affine map
of each feature: it subtracts the running mean, divides by
:math:`\\sqrt{\\text{running var} + \\epsilon}`, multiplies by :math:`\\gamma` and
adds :math:`\\beta`. Composed with the :class:`gradlab.nn.Linear` layer before
it, that is again a dense layer, with

.. math:: W' = \\operatorname{diag}\\Bigl(\\frac{\\gamma}{\\sqrt{v + \\epsilon}}\\Bigr) W, \\qquad
          b' = \\frac{\\gamma\\,(b - \\mu)}{\\sqrt{v + \\epsilon}} + \\beta

(:math:`\\mu, v` the running mean and variance, :math:`b = 0` for a layer
without bias). Inference then costs no normalisation at all. This is the
standard deployment step for batch-normalised networks (Jacob et al., 2018,
fold it before quantisation). It is exact only in evaluation mode: in
training mode the layer uses the statistics of each batch, which no fixed
weights can reproduce.
"""

import copy

import numpy as np

from . import _validate as _v
from . import nn as _nn

__all__ = ["fold_batchnorm", "fold_model"]


def fold_batchnorm(linear, bn):
    """A new :class:`gradlab.nn.Linear` equal to ``bn(linear(x))`` with ``bn`` in evaluation mode.

    .. math:: W' = \\operatorname{diag}\\Bigl(\\frac{\\gamma}{\\sqrt{v + \\epsilon}}\\Bigr) W, \\qquad
              b' = \\frac{\\gamma\\,(b - \\mu)}{\\sqrt{v + \\epsilon}} + \\beta

    with the running mean :math:`\\mu` and running variance :math:`v` of
    ``bn`` and its own :math:`\\epsilon` (so both conventions of
    :class:`gradlab.nn.BatchNorm` fold the same way: the convention only
    changes how the running statistics were accumulated). The arguments are
    not changed; the new layer always has a bias.

    Parameters
    ----------
    linear : gradlab.nn.Linear
    bn : gradlab.nn.BatchNorm
        With ``num_features == linear.fan_out`` and the same dtype.

    Returns
    -------
    gradlab.nn.Linear

    Examples
    --------
    >>> import numpy as np
    >>> from gradlab import nn
    >>> rng = np.random.default_rng(0)
    >>> lin, bn = nn.Linear(3, 2, rng=rng), nn.BatchNorm(2)
    >>> _ = bn(lin(rng.standard_normal((8, 3))))  # a training step moves the running statistics
    >>> x = rng.standard_normal((4, 3))
    >>> bool(np.allclose(fold_batchnorm(lin, bn)(x), bn.eval()(lin(x))))
    True
    """
    if not isinstance(linear, _nn.Linear):
        raise TypeError(f"linear must be a gradlab.nn.Linear, got {type(linear).__name__}")
    if not isinstance(bn, _nn.BatchNorm):
        raise TypeError(f"bn must be a gradlab.nn.BatchNorm, got {type(bn).__name__}")
    if bn.num_features != linear.fan_out:
        raise ValueError(
            f"bn must have num_features = linear.fan_out = {linear.fan_out}, got {bn.num_features}"
        )
    if bn.dtype != linear.dtype:
        raise TypeError(f"bn must have the dtype of linear ({linear.dtype}), got {bn.dtype}")
    with _v.quiet():
        scale = bn.gamma / np.sqrt(bn.running_var + bn.eps)
        bias = np.zeros(linear.fan_out, dtype=linear.dtype) if linear.bias is None else linear.bias
        folded = _nn.Linear(linear.fan_in, linear.fan_out, init="zeros", bias_init="zeros", dtype=linear.dtype)
        folded.weight[...] = scale[:, None] * linear.weight
        folded.bias[...] = scale * (bias - bn.running_mean) + bn.beta
    return folded


def fold_model(model):
    """A copy of a :class:`gradlab.nn.Sequential` with every ``Linear -> BatchNorm`` pair folded.

    Each ``BatchNorm`` that directly follows a ``Linear`` in ``model.layers``
    is merged into it with :func:`fold_batchnorm`; every other layer is
    deep-copied. The copy is in evaluation mode and computes what ``model``
    computes in evaluation mode, with fewer layers. ``model`` is not changed.

    Parameters
    ----------
    model : gradlab.nn.Sequential

    Returns
    -------
    gradlab.nn.Sequential

    Examples
    --------
    >>> import numpy as np
    >>> from gradlab import normalisation_tools
    >>> net = normalisation_tools.normalised_mlp([2, 4, 4, 2], "tanh", np.random.default_rng(0))
    >>> folded = fold_model(net)
    >>> len(net.layers), len(folded.layers)
    (7, 5)
    >>> x = np.ones((3, 2))
    >>> bool(np.allclose(folded(x), net.eval()(x)))
    True
    """
    if not isinstance(model, _nn.Sequential):
        raise TypeError(f"model must be a gradlab.nn.Sequential, got {type(model).__name__}")
    layers, i = [], 0
    while i < len(model.layers):
        layer = model.layers[i]
        nxt = model.layers[i + 1] if i + 1 < len(model.layers) else None
        if isinstance(layer, _nn.Linear) and isinstance(nxt, _nn.BatchNorm):
            layers.append(fold_batchnorm(layer, nxt))
            i += 2
        else:
            layers.append(copy.deepcopy(layer))
            i += 1
    return _nn.Sequential(*layers).eval()
