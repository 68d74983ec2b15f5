r"""Are the units of a layer identical? The symmetry of constant initialisation, measured.

If every hidden unit of a layer starts with the same incoming weights, the
same bias and the same outgoing weights, the units compute the same value for
every input, receive the same gradient, and take the same step: gradient
descent keeps them identical, and the layer works as a single unit however
wide it is. Random initialisation is what breaks this symmetry (Goodfellow,
Bengio and Courville, 2016, section 8.4). The functions here measure how far
the units of a layer are from being identical: exactly ``0.0`` when they are.
"""

from __future__ import annotations

import numpy as np

from . import _validate as _v
from . import nn as _nn

__all__ = ["unit_spread", "hidden_unit_spreads"]


def unit_spread(weight, bias=None):
    r"""How far the units (rows) of a layer are from being identical.

    .. math::
        \operatorname{spread}(W, b) = \max_{i,k} \lvert W_{ik} - W_{1k}\rvert
        \ \vee\ \max_i \lvert b_i - b_1 \rvert ,

    the largest difference between a parameter of unit :math:`i` and the same
    parameter of unit 1. It is exactly ``0.0`` if and only if all rows of
    ``weight`` (and all entries of ``bias``) are equal, that is, if the units
    are interchangeable. Give ``weight.T`` to compare outgoing weights (the
    columns of the next layer's weight), or an activation matrix transposed,
    ``a.T``, to compare the units' outputs over a batch.

    Parameters
    ----------
    weight : numpy.ndarray, shape (units, fan_in)
        One row per unit.
    bias : numpy.ndarray, shape (units,), optional

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> unit_spread(np.full((4, 3), 0.2), np.zeros(4))
    0.0
    >>> unit_spread(np.array([[1.0, 2.0], [1.0, 2.5]]))
    0.5
    """
    _v.float_array(weight, "weight", ndim=2, shape="(units, fan_in)", nonempty=True)
    with _v.quiet():
        spread = float(np.max(np.abs(weight - weight[:1])))
        if bias is not None:
            _v.float_array(bias, "bias", ndim=1, shape=f"({weight.shape[0]},)")
            if bias.shape != (weight.shape[0],):
                raise ValueError(f"bias must have shape ({weight.shape[0]},) like weight's rows, got {bias.shape}")
            spread = max(spread, float(np.max(np.abs(bias - bias[:1]))))
    return spread


def hidden_unit_spreads(model):
    r""":func:`unit_spread` of every hidden layer of a dense network, incoming and outgoing weights together.

    Hidden layer :math:`l` (the output of :class:`gradlab.nn.Linear` number
    :math:`l`, for :math:`l = 1, \dots, L-1`) has identical units when the
    rows of :math:`W^{(l)}` and the entries of :math:`b^{(l)}` are equal
    (incoming) *and* the columns of :math:`W^{(l+1)}` are equal (outgoing).
    Entry :math:`l - 1` of the result is the larger of the two spreads:
    ``0.0`` exactly when the units of that layer are interchangeable.

    Parameters
    ----------
    model : gradlab.nn layer or container
        With at least two :class:`gradlab.nn.Linear` layers, read in forward order.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(number of Linear layers - 1,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradlab import nn
    >>> const = lambda shape, rng: np.full(shape, 0.1)
    >>> net = nn.mlp([2, 5, 5, 3], "tanh", np.random.default_rng(0), init=const, bias_init="zeros")
    >>> hidden_unit_spreads(net).tolist()
    [0.0, 0.0]
    """
    lins = _nn.linear_layers(model)
    if len(lins) < 2:
        raise ValueError(f"model must have at least two Linear layers (one hidden layer), got {len(lins)}")
    return np.array([max(unit_spread(a.weight, a.bias), unit_spread(b.weight.T.copy()))
                     for a, b in zip(lins[:-1], lins[1:])], dtype=np.float64)
