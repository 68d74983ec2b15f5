r"""A residual network as a sum of paths: path counts, and the gradient each path length carries.

A stack of ``L`` residual blocks :math:`h^{(l)} = h^{(l-1)} + \alpha F_l(h^{(l-1)})`
has the Jacobian

.. math:: \frac{\partial h^{(L)}}{\partial h^{(0)}}
          = \prod_{l=L}^{1} \bigl(I + \alpha A_l\bigr)
          = \sum_{S \subseteq \{1..L\}} \alpha^{|S|} \prod_{l \in S}^{\leftarrow} A_l,
          \qquad A_l = \frac{\partial F_l}{\partial h}\Big|_{h^{(l-1)}},

a sum over the :math:`2^L` *paths* that go through the branches of the
blocks in :math:`S` and along the identity elsewhere (the product ordered from
the last block on the left); :math:`\binom{L}{k}` paths go through exactly
``k`` branches (Veit, Wilber & Belongie, 2016, "Residual networks behave like
ensembles of relatively shallow networks", NeurIPS). The expansion is exact
at every input, because the Jacobians :math:`A_l` are evaluated where the
forward pass put them: it is the decomposition of the network *linearised*
around that input.

* :func:`path_counts` and :func:`path_length_distribution`: how many paths
  have each length, and the share of a mean square each length carries when
  the branch of block ``l`` multiplies it by :math:`r_l`;
* :func:`gradient_by_path_length`: the exact split of
  :math:`\partial J/\partial h^{(0)}` by path length;
* :func:`sample_path_gradients`: Veit et al.'s measurement, the gradient
  along single random paths of a given length.

Examples
--------
>>> from gradlab import paths
>>> paths.path_counts(4)
[1, 4, 6, 4, 1]
"""

from __future__ import annotations

import math

import numpy as np

from . import _validate as _v
from . import nn as _nn

__all__ = ["path_counts", "path_length_distribution", "gradient_by_path_length", "sample_path_gradients"]


def path_counts(depth):
    r"""Number of paths through exactly ``k`` residual branches, ``k = 0..depth``.

    Each of the ``L`` blocks is passed either through its branch or along its
    identity, so there are :math:`2^L` paths and :math:`\binom{L}{k}` of them
    use ``k`` branches (Veit et al., 2016, NeurIPS): the path length is
    binomially distributed with mean :math:`L/2` and standard deviation
    :math:`\sqrt{L}/2`.

    Parameters
    ----------
    depth : int
        Number of blocks :math:`L \ge 0`.

    Returns
    -------
    list of int
        Exact counts :math:`\binom{L}{k}` (Python integers, no overflow).

    Examples
    --------
    >>> path_counts(3)
    [1, 3, 3, 1]
    >>> sum(path_counts(54)) == 2 ** 54
    True
    """
    depth = _v.integer(depth, "depth", minimum=0)
    return [math.comb(depth, k) for k in range(depth + 1)]


def path_length_distribution(ratios):
    r"""Share of a mean square carried by paths of each length, when block ``l``'s branch multiplies it by ``r_l``.

    If the branch of block ``l`` multiplies the mean square of a signal (or
    of a back-propagated gradient) by :math:`r_l` relative to the identity
    path, and different paths are uncorrelated on average, a path through the
    set :math:`S` of branches contributes :math:`\prod_{l \in S} r_l` and the
    total is :math:`\prod_l (1 + r_l)`. The share of paths of length ``k`` is
    the coefficient of :math:`z^k` in

    .. math:: \prod_{l=1}^{L} \frac{1 + r_l z}{1 + r_l},

    the Poisson-binomial distribution with success probabilities
    :math:`p_l = r_l/(1 + r_l)`: mean :math:`\sum_l p_l`, variance
    :math:`\sum_l p_l (1 - p_l)`. With all :math:`r_l = 1` it is the share of
    paths of each length, :math:`\binom{L}{k}/2^L`; with all
    :math:`r_l = r` it is Binomial(:math:`L, r/(1+r)`). The ratios of a
    stack come from :func:`gradlab.residual.mean_field` (``.ratio``).

    Parameters
    ----------
    ratios : array_like
        1-D, one finite :math:`r_l \ge 0` per block (may be empty).

    Returns
    -------
    numpy.ndarray
        float64, shape ``(L + 1,)``, non-negative, summing to 1.

    Examples
    --------
    >>> path_length_distribution([1.0, 1.0]).tolist()
    [0.25, 0.5, 0.25]
    >>> np.round(path_length_distribution([1.0, 3.0]), 4).tolist()
    [0.125, 0.5, 0.375]
    """
    r = _v.real_array(ratios, "ratios")
    if r.ndim != 1:
        raise ValueError(f"ratios must be 1-D (one ratio per block), got shape {r.shape}")
    if np.any(r < 0):
        raise ValueError(f"ratios must be >= 0, got a value {float(r.min())!r}")
    p = r / (1.0 + r)
    pmf = np.zeros(r.size + 1)
    pmf[0] = 1.0
    for l, pl in enumerate(p):
        # multiply by (1 - p_l) + p_l z; every term is non-negative, so no cancellation
        pmf[1:l + 2] = pmf[1:l + 2] * (1.0 - pl) + pmf[:l + 1] * pl
        pmf[0] *= 1.0 - pl
    return pmf


def _blocks(stack):
    if isinstance(stack, _nn.Sequential):
        blocks = list(stack.layers)
    elif isinstance(stack, (list, tuple)):
        blocks = list(stack)
    else:
        raise TypeError(f"stack must be a gradlab.nn.Sequential of Residual blocks, got {type(stack).__name__}")
    for i, block in enumerate(blocks):
        if not isinstance(block, _nn.Residual):
            raise TypeError(f"stack[{i}] must be a gradlab.nn.Residual block, got {type(block).__name__}")
    return blocks


class _KeepGradients:
    """Restore the stack's parameter gradients, which the branches' backward passes overwrite."""

    def __init__(self, blocks):
        self.grads = [g for block in blocks for g in block.gradients()]

    def __enter__(self):
        self.saved = [g.copy() for g in self.grads]
        return self

    def __exit__(self, *exc):
        for g, s in zip(self.grads, self.saved):
            g[...] = s
        return False


def gradient_by_path_length(stack, grad_out):
    r"""Exact split of the gradient at a residual stack's input by the number of branches on the path.

    After a forward pass through ``stack`` (its blocks keep what their
    backward passes need), let :math:`\bar h = \partial J/\partial h^{(L)}`
    be ``grad_out``. Transposing the path expansion of the module docstring,

    .. math:: \frac{\partial J}{\partial h^{(0)}} = \sum_{k=0}^{L} G_k, \qquad
              G_k = \alpha^k \sum_{|S| = k} \Bigl(\prod_{l \in S}^{\leftarrow} A_l\Bigr)^{\!\top} \bar h,

    where :math:`G_k` is the gradient carried by the :math:`\binom{L}{k}`
    paths through exactly ``k`` branches. The sums are accumulated block by
    block, from the top, with the recursion

    .. math:: G_k \leftarrow G_k + \alpha A_l^\top G_{k-1} \qquad (k = \text{high} .. 1),

    one branch backward pass per block and length, :math:`L(L+1)/2` in all,
    instead of one per path. The split is exact for the network linearised
    at this input (Veit et al., 2016, NeurIPS, sample single paths instead;
    see :func:`sample_path_gradients`). The stack's parameter gradients are
    left as they were.

    Parameters
    ----------
    stack : gradlab.nn.Sequential or sequence of gradlab.nn.Residual
        The residual blocks, already run forward on the batch.
    grad_out : numpy.ndarray
        :math:`\partial J/\partial h^{(L)}`, the gradient at the stack's output
        (e.g. ``head.backward(dJ/doutput)``).

    Returns
    -------
    numpy.ndarray
        Shape ``(L + 1,) + grad_out.shape``: ``G[k]`` for ``k = 0..L``.
        ``G.sum(axis=0)`` is ``stack.backward(grad_out)``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradlab import nn
    >>> rng = np.random.default_rng(0)
    >>> stack = nn.Sequential(*[nn.Residual(nn.Linear(3, 3, rng=rng, bias=False), 0.5) for _ in range(4)])
    >>> x = rng.standard_normal((2, 3)); _ = stack(x)
    >>> G = gradient_by_path_length(stack, np.ones((2, 3)))
    >>> G.shape, bool(np.allclose(G.sum(axis=0), stack.backward(np.ones((2, 3)))))
    ((5, 2, 3), True)
    """
    blocks = _blocks(stack)
    _v.float_array(grad_out, "grad_out", nonempty=True)
    L = len(blocks)
    G = np.zeros((L + 1,) + grad_out.shape, dtype=grad_out.dtype)
    G[0] = grad_out
    with _KeepGradients(blocks), _v.quiet():
        for i, block in enumerate(reversed(blocks)):
            # after i blocks from the top, lengths 0..i are filled; block adds length i + 1
            for k in range(i + 1, 0, -1):
                G[k] += block.scale * block.block.backward(G[k - 1])
    return G


def sample_path_gradients(stack, grad_out, length, n_samples, rng):
    r"""Norms of the gradient back-propagated along single random paths of one length.

    The measurement of Veit et al. (2016, NeurIPS, Sec. 5): for each sample,
    draw a set :math:`S` of ``length`` blocks uniformly at random; going down
    the stack, pass the gradient through the (scaled) branch of the blocks in
    :math:`S` and along the identity of the others,

    .. math:: g \leftarrow \alpha A_l^\top g \ (l \in S), \qquad g \leftarrow g \ (l \notin S),

    starting from ``grad_out`` at the top, and record :math:`\|g\|_F`, the
    gradient that single path delivers to the stack's input. Multiplying the
    mean of :math:`\|g\|^2` by :math:`\binom{L}{k}` estimates
    :math:`\sum_{|S|=k}\|g_S\|^2`, which equals :math:`\|G_k\|^2` of
    :func:`gradient_by_path_length` when the paths of a length are mutually
    orthogonal. The stack's parameter gradients are left as they were.

    Parameters
    ----------
    stack : gradlab.nn.Sequential or sequence of gradlab.nn.Residual
        The residual blocks, already run forward on the batch.
    grad_out : numpy.ndarray
        :math:`\partial J/\partial h^{(L)}`.
    length : int
        Number of branches on each path, ``0 <= length <= L``.
    n_samples : int
        Paths to draw (>= 1), independently (with replacement).
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        float64, shape ``(n_samples,)``: the Frobenius norm of each path's gradient.

    Examples
    --------
    >>> import numpy as np
    >>> from gradlab import nn
    >>> rng = np.random.default_rng(0)
    >>> stack = nn.Sequential(*[nn.Residual(nn.Linear(3, 3, rng=rng, bias=False)) for _ in range(3)])
    >>> _ = stack(rng.standard_normal((2, 3)))
    >>> sample_path_gradients(stack, np.ones((2, 3)), 0, 2, rng).round(4).tolist()
    [2.4495, 2.4495]
    """
    blocks = _blocks(stack)
    _v.float_array(grad_out, "grad_out", nonempty=True)
    L = len(blocks)
    length = _v.integer(length, "length", minimum=0)
    if length > L:
        raise ValueError(f"length must be at most the number of blocks {L}, got {length}")
    n_samples = _v.positive_int(n_samples, "n_samples")
    _v.generator(rng)
    out = np.empty(n_samples)
    with _KeepGradients(blocks), _v.quiet():
        for s in range(n_samples):
            on = np.zeros(L, dtype=bool)
            on[rng.choice(L, size=length, replace=False)] = True
            g = grad_out
            for l in range(L - 1, -1, -1):
                if on[l]:
                    g = blocks[l].scale * blocks[l].block.backward(g)
            out[s] = float(np.linalg.norm(np.ravel(g).astype(np.float64, copy=False)))
    return out
