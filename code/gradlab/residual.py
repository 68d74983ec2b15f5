r"""Residual networks: the plain and residual stacks of the residual chapter, and their moments.

A residual block computes :math:`h^{(l)} = h^{(l-1)} + \alpha F_l(h^{(l-1)})`
(He et al., 2016, "Deep residual learning for image recognition", CVPR); its
Jacobian is :math:`I + \alpha\, \partial F_l/\partial h`. The branch used
here is the *pre-activation* branch of He et al. (2016, "Identity mappings in
deep residual networks", ECCV),

.. math:: F(h) = W_2\, \mathrm{ReLU}\bigl(N_2(W_1\, \mathrm{ReLU}(N_1(h)))\bigr),

with optional normalisation layers :math:`N_1, N_2` (layer or batch
normalisation; the identity without them). The *plain* stack of the same
size drops the identity path: :math:`h^{(l)} = F_l(h^{(l-1)})`.

:func:`mean_field` predicts the mean square of the signal and of the
back-propagated gradient block by block, at infinite width (the mean-field
argument), and :func:`stream_mean_squares` measures the first of them.

Examples
--------
>>> import numpy as np
>>> from gradlab import residual
>>> model = residual.residual_mlp(2, 8, 3, 4, np.random.default_rng(0))
>>> stem, stack, head = model.layers
>>> len(stack), model(np.zeros((5, 2))).shape
(3, (5, 4))
>>> residual.mean_field(3, gain=1.0).mean_square.tolist()
[1.0, 2.0, 4.0, 8.0]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate as _v
from . import nn as _nn

__all__ = ["residual_mlp", "preact_gain", "MeanField", "mean_field", "stream_mean_squares"]

_NORMS = ("layer", "batch")


def _norm_layer(norm, width, dtype):
    if norm == "layer":
        return _nn.LayerNorm(width, dtype=dtype)
    return _nn.BatchNorm(width, dtype=dtype)


def residual_mlp(n_in, width, depth, n_out, rng, skip=True, scale=1.0, norm=None,
                 init="torch_linear_default", bias_init="torch_default", bias=True,
                 dtype=np.float64):
    r"""A dense network of ``depth`` pre-activation blocks, with or without identity paths.

    The network is ``Sequential(stem, stack, head)``:

    * ``stem``: ``Linear(n_in, width)``, followed by a normalisation layer
      when ``norm`` is given (so that the stack's input has unit mean square
      whatever the scale of the data);
    * ``stack``: ``depth`` blocks. Each has the branch
      :math:`F(h) = W_2\,\mathrm{ReLU}(N_2(W_1\,\mathrm{ReLU}(N_1(h))))`
      (He et al., 2016, "Identity mappings in deep residual networks", ECCV),
      where :math:`N_1, N_2` are normalisation layers (absent when
      ``norm=None``). With ``skip=True`` a block is
      ``Residual(branch, scale)``, :math:`h \mapsto h + \alpha F(h)` (He et
      al., 2016, CVPR); with ``skip=False`` it is the branch alone,
      :math:`h \mapsto F(h)`, the *plain* network of the same size;
    * ``head``: ``Linear(width, n_out)``.

    The weights and biases are drawn from ``rng`` in forward order (stem,
    then :math:`W_1, W_2` of each block, then head), and normalisation layers
    draw nothing, so a plain and a residual network built from the same seed
    start from the same parameters.

    Parameters
    ----------
    n_in, width, n_out : int
        Input size, width of every hidden layer, number of outputs.
    depth : int
        Number of blocks :math:`L \ge 0` (each holds two Linear layers).
    rng : numpy.random.Generator
    skip : bool, default True
        Residual blocks (True) or plain blocks (False).
    scale : float, default 1.0
        The branch multiplier :math:`\alpha` of every residual block (for
        instance ``1/sqrt(depth)``); must be 1 for a plain network, which has
        no branch to scale.
    norm : {None, "layer", "batch"}, default None
        Normalisation in the stem and inside every branch:
        :class:`gradlab.nn.LayerNorm` or :class:`gradlab.nn.BatchNorm`.
    init, bias_init : str or callable
        Initialisers of every weight and bias, as for :class:`gradlab.nn.Linear`
        (defaults: PyTorch's, for both).
    bias : bool, default True
        Whether the Linear layers have biases (a bias just before batch
        normalisation has no effect; PyTorch users drop it).
    dtype : float dtype, default float64

    Returns
    -------
    gradlab.nn.Sequential
        ``Sequential(stem, stack, head)``; ``stack.layers`` are the blocks.

    Examples
    --------
    >>> import numpy as np
    >>> res = residual_mlp(2, 4, 2, 3, np.random.default_rng(0), init="kaiming_normal", bias_init="zeros")
    >>> plain = residual_mlp(2, 4, 2, 3, np.random.default_rng(0), skip=False, init="kaiming_normal", bias_init="zeros")
    >>> type(res.layers[1][0]).__name__, type(plain.layers[1][0]).__name__
    ('Residual', 'Sequential')
    >>> all(np.array_equal(a, b) for a, b in zip(res.parameters(), plain.parameters()))
    True
    >>> [type(layer).__name__ for layer in residual_mlp(2, 4, 1, 3, np.random.default_rng(0), norm="layer").layers[1][0].block.layers]
    ['LayerNorm', 'Activation', 'Linear', 'LayerNorm', 'Activation', 'Linear']
    """
    n_in = _v.positive_int(n_in, "n_in")
    width = _v.positive_int(width, "width")
    depth = _v.integer(depth, "depth", minimum=0)
    n_out = _v.positive_int(n_out, "n_out")
    _v.generator(rng)
    skip = _v.boolean(skip, "skip")
    scale = _v.real(scale, "scale")
    if not skip and scale != 1.0:
        raise ValueError(f"scale must be 1 for a plain network (skip=False), which has no branch to scale, got {scale!r}")
    if norm is not None:
        _v.choice(norm, "norm", _NORMS)
    bias = _v.boolean(bias, "bias")
    dtype = _v.float_dtype(dtype)

    def linear(fan_in, fan_out):
        return _nn.Linear(fan_in, fan_out, init=init, rng=rng, dtype=dtype, bias=bias, bias_init=bias_init)

    stem = [linear(n_in, width)]
    if norm is not None:
        stem.append(_norm_layer(norm, width, dtype))
    blocks = []
    for _ in range(depth):
        branch = []
        for _ in range(2):
            if norm is not None:
                branch.append(_norm_layer(norm, width, dtype))
            branch += [_nn.Activation("relu"), linear(width, width)]
        branch = _nn.Sequential(*branch)
        blocks.append(_nn.Residual(branch, scale) if skip else branch)
    head = linear(width, n_out)
    return _nn.Sequential(_nn.Sequential(*stem), _nn.Sequential(*blocks), head)


def preact_gain(weight_gain, normalised=False):
    r"""The mean-square gain of the pre-activation branch, :math:`\kappa` or :math:`\nu`.

    For the branch :math:`F(h) = W_2\,\mathrm{ReLU}(W_1\,\mathrm{ReLU}(h))`
    of :func:`residual_mlp` with zero biases and weights of variance
    :math:`v/n` (``weight_gain`` :math:`= v`: 2 for He, 1 for LeCun, 1/3 for
    PyTorch's default), each ReLU halves the mean square of a
    zero-mean symmetric input and each Linear multiplies it by :math:`v`, so

    .. math:: \E\|F(h)\|^2 = \kappa\, \E\|h\|^2, \qquad \kappa = (v/2)^2,

    exactly for Gaussian :math:`h` (He et al., 2015, "Delving deep into
    rectifiers", ICCV, for the factor 1/2). The back-propagated gradient is
    multiplied by the same :math:`\kappa` on average. With normalisation
    layers before the ReLUs (``normalised=True``) the branch output no longer
    depends on the scale of :math:`h`: its mean square per entry is
    :math:`\nu = v/2`, and its gradient factor is :math:`\nu` divided by the
    mean square of :math:`h` (see :func:`mean_field`).

    Parameters
    ----------
    weight_gain : float
        :math:`v = n\,\Var[W_{ij}] > 0`.
    normalised : bool, default False

    Returns
    -------
    float
        :math:`\kappa = (v/2)^2`, or :math:`\nu = v/2` when ``normalised``.

    Examples
    --------
    >>> preact_gain(2.0), preact_gain(1 / 3) * 36, preact_gain(2.0, normalised=True)
    (1.0, 1.0, 1.0)
    """
    v = _v.real(weight_gain, "weight_gain", low=0.0, low_open=True)
    return v / 2.0 if _v.boolean(normalised, "normalised") else (v / 2.0) ** 2


class MeanField(NamedTuple):
    """Result of :func:`mean_field` for a stack of ``L`` blocks.

    Attributes
    ----------
    mean_square : numpy.ndarray, shape (L + 1,)
        :math:`q^{(l)}`, the mean square of an entry of :math:`h^{(l)}`,
        for ``l = 0..L``.
    ratio : numpy.ndarray, shape (L,)
        :math:`r_l`, the mean-square factor of block ``l``'s (scaled) branch,
        relative to the identity path: its output's mean square over
        :math:`q^{(l-1)}`, which is also the factor by which it multiplies a
        back-propagated gradient.
    block_gain : numpy.ndarray, shape (L,)
        The factor by which block ``l`` multiplies the mean square of a
        back-propagated gradient: :math:`1 + r_l` with an identity path,
        :math:`r_l` without.
    gradient_gain : numpy.ndarray, shape (L + 1,)
        :math:`\\prod_{k \\le l} b_k`: the predicted
        :math:`\\E\\|\\partial J/\\partial h^{(0)}\\|^2 / \\E\\|\\partial J/\\partial h^{(l)}\\|^2`
        of a stack of ``l`` blocks (1 for ``l = 0``).

    Examples
    --------
    >>> m = MeanField(np.ones(2), np.ones(1), np.full(1, 2.0), np.array([1.0, 2.0]))
    >>> m.gradient_gain[-1]
    np.float64(2.0)
    """

    mean_square: np.ndarray
    ratio: np.ndarray
    block_gain: np.ndarray
    gradient_gain: np.ndarray


def mean_field(depth, gain, skip=True, scale=1.0, normalised=False, q0=1.0):
    r"""Mean-field moments of a plain or residual stack, block by block.

    Each block is :math:`h^{(l)} = [h^{(l-1)} +]\ \alpha F_l(h^{(l-1)})`
    (the bracket only with ``skip``). The weights of :math:`F_l` are
    independent of everything before it and the last layer of the branch has
    zero-mean weights, so :math:`\E[h^{(l-1)} \cdot F_l] = 0` and the mean
    squares add:

    * unnormalised branch with gain :math:`\kappa` (``gain``,
      :math:`\E\|F(h)\|^2 = \kappa \E\|h\|^2`):
      :math:`r_l = \alpha^2\kappa` and
      :math:`q^{(l)} = (1 + \alpha^2\kappa)\, q^{(l-1)}` with the skip, so
      :math:`q^{(L)} = (1 + \alpha^2\kappa)^L q^{(0)}`: exponential unless
      :math:`\alpha^2 \kappa` shrinks like :math:`1/L` (with
      :math:`\alpha^2\kappa = 1/L`, at most :math:`e\, q^{(0)}`; Hanin &
      Rolnick, 2018, "How to start training", NeurIPS; Zhang et al., 2019,
      "Fixup initialization", ICLR);
    * normalised branch whose output has mean square :math:`\nu` (``gain``)
      whatever its input: :math:`q^{(l)} = q^{(l-1)} + \alpha^2\nu` with the
      skip, linear growth; the normalisation divides the branch's Jacobian
      by the scale of its input, so :math:`r_l = \alpha^2\nu/q^{(l-1)}`.

    Back-propagation multiplies the mean square of the gradient by
    :math:`b_l = 1 + r_l` per residual block (the identity plus the branch,
    whose cross term also vanishes on average) and by :math:`b_l = r_l` per
    plain block. These are infinite-width, leading-order predictions for
    mean squares; at finite width the typical (log-average) value drifts
    below them.

    Parameters
    ----------
    depth : int
        Number of blocks :math:`L \ge 0`.
    gain : float
        :math:`\kappa` (unnormalised) or :math:`\nu` (normalised), > 0; see
        :func:`preact_gain`.
    skip : bool, default True
    scale : float, default 1.0
        The branch multiplier :math:`\alpha`.
    normalised : bool, default False
    q0 : float, default 1.0
        :math:`q^{(0)} > 0`, the mean square of the stack's input.

    Returns
    -------
    MeanField

    Examples
    --------
    >>> mf = mean_field(4, gain=1.0, scale=0.5)
    >>> bool(mf.mean_square[-1] == 1.25 ** 4), mf.block_gain.tolist()
    (True, [1.25, 1.25, 1.25, 1.25])
    >>> mean_field(3, gain=1.0, normalised=True).mean_square.tolist()
    [1.0, 2.0, 3.0, 4.0]
    """
    depth = _v.integer(depth, "depth", minimum=0)
    gain = _v.real(gain, "gain", low=0.0, low_open=True)
    skip = _v.boolean(skip, "skip")
    scale = _v.real(scale, "scale")
    normalised = _v.boolean(normalised, "normalised")
    q0 = _v.real(q0, "q0", low=0.0, low_open=True)
    a2 = scale * scale
    q = np.empty(depth + 1)
    r = np.empty(depth)
    q[0] = q0
    for l in range(depth):
        branch = a2 * gain if normalised else a2 * gain * q[l]  # mean square of alpha F
        r[l] = branch / q[l]
        q[l + 1] = q[l] + branch if skip else branch
    b = 1.0 + r if skip else r.copy()
    return MeanField(mean_square=q, ratio=r, block_gain=b,
                     gradient_gain=np.concatenate([[1.0], np.cumprod(b)]))


def stream_mean_squares(stack, h0, split=False):
    r"""Measured mean square of the signal entering and leaving every block of ``stack``.

    Runs ``h0`` through ``stack.layers`` one at a time (in the stack's current
    train/eval mode) and returns :math:`q^{(l)} = \mathrm{mean}(h^{(l)} \odot h^{(l)})`
    over all entries, for ``l = 0..L``: the quantity :func:`mean_field`
    predicts.

    With ``split=True`` it also returns the two parts of every block's
    increment. Writing :math:`\Delta_l = h^{(l)} - h^{(l-1)}` (the scaled
    branch :math:`\alpha F_l` of a residual block),

    .. math:: q^{(l)} = q^{(l-1)} + \mathrm{mean}(\Delta_l \odot \Delta_l)
              + 2\,\mathrm{mean}(h^{(l-1)} \odot \Delta_l),

    the branch's own mean square and the cross term. In
    :func:`mean_field` the cross term has expectation zero and the first
    part is :math:`r_l q^{(l-1)}` (He et al., 2016, "Identity mappings in
    deep residual networks", ECCV, for the additive form).

    Parameters
    ----------
    stack : gradlab.nn.Sequential
        The blocks, e.g. ``residual_mlp(...).layers[1]``.
    h0 : numpy.ndarray, floating
        The stack's input, e.g. ``stem(x)``.
    split : bool, default False
        Also return the branch and cross parts of every increment.

    Returns
    -------
    numpy.ndarray or tuple of numpy.ndarray
        float64, shape ``(len(stack) + 1,)``: :math:`q^{(0)}, \dots, q^{(L)}`.
        With ``split=True``, ``(q, branch, cross)``, the last two of shape
        ``(len(stack),)``, with ``q[1:] == q[:-1] + branch + cross`` up to
        rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from gradlab import nn
    >>> stack = nn.Sequential(nn.Residual(nn.Activation("identity")), nn.Residual(nn.Activation("identity")))
    >>> stream_mean_squares(stack, np.ones((2, 3))).tolist()
    [1.0, 4.0, 16.0]
    >>> q, branch, cross = stream_mean_squares(stack, np.ones((2, 3)), split=True)
    >>> branch.tolist(), cross.tolist()
    ([1.0, 4.0], [2.0, 8.0])
    """
    if not isinstance(stack, _nn.Sequential):
        raise TypeError(f"stack must be a gradlab.nn.Sequential of blocks, got {type(stack).__name__}")
    _v.float_array(h0, "h0", nonempty=True)
    split = _v.boolean(split, "split")
    L = len(stack)
    out = np.empty(L + 1)
    branch = np.empty(L)
    cross = np.empty(L)
    h = h0
    with _v.quiet():
        out[0] = np.mean(np.square(h, dtype=np.float64))
        for l, block in enumerate(stack.layers):
            new = block.forward(h)
            out[l + 1] = np.mean(np.square(new, dtype=np.float64))
            if split:
                delta = new.astype(np.float64) - h
                branch[l] = np.mean(np.square(delta))
                cross[l] = 2.0 * np.mean(h * delta)
            h = new
    return (out, branch, cross) if split else out
