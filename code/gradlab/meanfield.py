r"""Mean-field theory of signals in deep random networks: variance map, chi, order and chaos.

The maths of the initialisation chapter. Take a dense network at
initialisation whose weights have mean zero and variance
:math:`\operatorname{Var} W^{(l)}_{ij} = s_w^2 / n_{l-1}` and whose biases have
variance :math:`s_b^2`. (Poole et al., 2016, and Schoenholz et al., 2017, write
:math:`\sigma_w, \sigma_b`; the book keeps :math:`\sigma` for the sigmoid.) When
the layers are wide, every pre-activation :math:`z^{(l)}_i` is approximately
Gaussian with mean zero and variance :math:`q^{(l)}`, and the variances obey the
*variance map*

.. math::
    q^{(l)} = V(q^{(l-1)}) = s_w^2\, \mathbb E\bigl[\phi(z)^2\bigr] + s_b^2,
    \qquad z \sim N(0, q^{(l-1)}),

whose fixed point :math:`q^* = V(q^*)` the signal settles at. The factor

.. math:: \chi(q) = s_w^2\, \mathbb E\bigl[\phi'(z)^2\bigr], \qquad z \sim N(0, q),

is what one layer multiplies the mean square of a small perturbation of its
input by, and (transposed) the mean square of the back-propagated error. At
:math:`q^*`, :math:`\chi < 1` is the *ordered* phase (perturbations and
gradients shrink geometrically with depth), :math:`\chi > 1` the *chaotic* one
(they grow), and :math:`\chi(q^*) = 1` the *edge of chaos* between them
(Poole et al., 2016; Schoenholz et al., 2017).

Expectations over the Gaussian are computed by :func:`gaussian_expectation`, a
midpoint rule on a symmetric grid (no scipy). Everything is float64;
randomness only through an explicit ``numpy.random.Generator``.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from . import _validate as _v
from . import activations as _activations
from . import nn as _nn

__all__ = [
    "gaussian_expectation",
    "variance_map",
    "chi",
    "fixed_point",
    "critical_s_w",
    "Propagation",
    "propagate",
    "LayerScales",
    "network_scales",
    "Prediction",
    "predict",
    "JacobianGain",
    "jacobian_gain",
    "PhaseDiagram",
    "phase_diagram",
]

# The quadrature of gaussian_expectation: z = t**5, midpoint rule in t with step
# _H on |t| < _Z_MAX**(1/5) (the normal density at _Z_MAX is 5e-32 of its peak).
_Z_MAX = 12.0
_H = 0.01
# q = 0 is the limit q -> 0+, evaluated at this variance (x = 1e-150 z), so that
# the two sides of a kink at 0 (ReLU's derivative) are both seen.
_Q_TINY = 1e-300
# fixed_point gives up (returns 0.0 or inf) beyond these variances.
_Q_FLOOR = 1e-200
_Q_CEIL = 1e200


# --------------------------------------------------------------------------
# Gaussian expectations
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _grid():
    n_half = math.ceil(_Z_MAX ** 0.2 / _H)
    t = (np.arange(n_half) + 0.5) * _H
    t = np.concatenate([-t[::-1], t])
    z = t**5
    w = np.exp(-0.5 * z * z) * 5 * t**4
    w /= w.sum()
    z.flags.writeable = False
    w.flags.writeable = False
    return z, w


def _nodes(q):
    z, w = _grid()
    return math.sqrt(max(q, _Q_TINY)) * z, w


def _expect(f, q):
    x, w = _nodes(q)
    with _v.quiet():
        vals = np.asarray(f(x), dtype=np.float64)
    if vals.shape != x.shape:
        raise ValueError(f"f must return an array of its input's shape {x.shape}, got {vals.shape}")
    return float(w @ vals)


def gaussian_expectation(f, q):
    r"""The expectation :math:`\mathbb E[f(x)]` for :math:`x \sim N(0, q)`.

    With :math:`x = \sqrt q\, z`, :math:`z \sim N(0, 1)`, and the substitution
    :math:`z = t^5`, the integral
    :math:`\int f(\sqrt q\, t^5)\, e^{-t^{10}/2}\, 5 t^4\, dt / \sqrt{2\pi}` is
    computed by the midpoint rule on the symmetric grid
    :math:`t_k = \pm(k + \tfrac12)/100`, :math:`|z_k| < 12` (330 nodes), with
    the weights normalised to sum to one (so constants are exact).

    The map :math:`t \mapsto t^5` is analytic, so an integrand analytic in a
    strip around the real axis stays analytic, and the midpoint rule converges
    geometrically in the number of nodes (Trefethen and Weideman, 2014, "The
    exponentially convergent trapezoidal rule", SIAM Review 56): for tanh and
    the sigmoid the error is below :math:`10^{-13}` up to
    :math:`q \approx 10^8`. The grid is symmetric without a node at 0, so only
    the even part :math:`(f(x) + f(-x))/2` matters, and the map is flat at 0:
    a kink there (:math:`|x|`, the ReLU) becomes :math:`|t|^9`, for which the
    rule is accurate to about :math:`10^{-15}`; a jump (the ReLU's derivative)
    has a constant even part and is exact. ``q = 0`` is the limit
    :math:`q \to 0^+` (the two sides of a kink at 0 averaged).

    Parameters
    ----------
    f : callable
        Vectorised: takes a float64 array and returns an array of its shape.
    q : float
        Variance, ``>= 0``.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> round(gaussian_expectation(lambda x: x**4, 2.0), 12)  # 3 q^2
    12.0
    >>> gaussian_expectation(lambda x: (x > 0).astype(float), 1.0)
    0.5
    """
    if not callable(f):
        raise TypeError(f"f must be a callable taking an array, got {type(f).__name__}")
    q = _v.real(q, "q", low=0.0)
    return _expect(f, q)


def _activation(activation):
    if isinstance(activation, _activations.ActivationFunction):
        return activation
    if isinstance(activation, str):
        return _activations.get(activation)
    raise TypeError(
        "activation must be a name of gradlab.activations.NAMES or an ActivationFunction, "
        f"got {type(activation).__name__}"
    )


def _second_moment(act, q):
    return _expect(lambda x: np.square(act.forward(x)), q)


def _derivative_sq(act, q):
    return _expect(lambda x: np.square(act.derivative(x)), q)


# --------------------------------------------------------------------------
# the variance map, chi and the fixed point
# --------------------------------------------------------------------------
def variance_map(q, s_w, s_b=0.0, activation="tanh"):
    r"""The variance map :math:`V(q) = s_w^2\, \mathbb E[\phi(z)^2] + s_b^2`, :math:`z \sim N(0, q)`.

    If the pre-activations of layer :math:`l-1` have variance :math:`q`, those
    of layer :math:`l`, :math:`z_i = \sum_j W_{ij}\, \phi(z_j) + b_i` with
    :math:`\operatorname{Var} W_{ij} = s_w^2 / n_{l-1}` and
    :math:`\operatorname{Var} b_i = s_b^2`, have variance :math:`V(q)`: a sum of
    :math:`n_{l-1}` independent zero-mean terms of variance
    :math:`(s_w^2/n_{l-1})\, \mathbb E[\phi(z)^2]`, plus the bias. Only the second
    moment of :math:`\phi` enters, not its variance, because the weights have
    mean zero (Poole et al., 2016, eq. 3; He et al., 2015, eq. 7).

    Parameters
    ----------
    q : float
        Variance of the incoming pre-activations, ``>= 0``.
    s_w : float
        Weight scale, ``>= 0`` (:math:`\operatorname{Var} W = s_w^2/\text{fan\_in}`).
    s_b : float, default 0
        Bias standard deviation, ``>= 0``.
    activation : str or gradlab.activations.ActivationFunction, default "tanh"

    Returns
    -------
    float

    Examples
    --------
    >>> round(variance_map(3.0, 2 ** 0.5, activation="relu"), 12)  # He: 2 * (q/2)
    3.0
    >>> variance_map(0.0, 1.0, 0.5)  # tanh(0) = 0: only the bias is left
    0.25
    """
    q = _v.real(q, "q", low=0.0)
    s_w = _v.real(s_w, "s_w", low=0.0)
    s_b = _v.real(s_b, "s_b", low=0.0)
    act = _activation(activation)
    return s_w * s_w * _second_moment(act, q) + s_b * s_b


def chi(q, s_w, activation="tanh"):
    r"""The per-layer factor :math:`\chi(q) = s_w^2\, \mathbb E[\phi'(z)^2]`, :math:`z \sim N(0, q)`.

    A small change :math:`u` of a layer's input changes its output by
    :math:`\operatorname{diag}(\phi'(z))\, W u`; averaged over the weights, its
    mean square is multiplied by :math:`\chi` (for layers of equal width). The
    back-propagated error :math:`\delta^{(l)} = \operatorname{diag}(\phi'(z^{(l)}))
    W^{(l+1)\top} \delta^{(l+1)}` is multiplied by the same factor. Poole et
    al. (2016) call it :math:`\chi_1`; at the fixed point :math:`q^*`,
    :math:`\chi < 1` is the ordered phase, :math:`\chi > 1` the chaotic one.

    Parameters
    ----------
    q : float
        Variance of the pre-activations, ``>= 0`` (``0`` means the limit ``q -> 0+``).
    s_w : float
        Weight scale, ``>= 0``.
    activation : str or gradlab.activations.ActivationFunction, default "tanh"

    Returns
    -------
    float

    Examples
    --------
    >>> chi(0.0, 1.0)  # tanh'(0) = 1: at q = 0 the factor is s_w^2
    1.0
    >>> round(chi(5.0, 2 ** 0.5, activation="relu"), 12)  # half the units pass: 2/2
    1.0
    """
    q = _v.real(q, "q", low=0.0)
    s_w = _v.real(s_w, "s_w", low=0.0)
    act = _activation(activation)
    return s_w * s_w * _derivative_sq(act, q)


def _fixed_point(act, s_w, s_b, q0, rtol=1e-14):
    sw2, sb2 = s_w * s_w, s_b * s_b

    def gap(q):  # V(q) - q
        return sw2 * _second_moment(act, q) + sb2 - q

    def root(q, g):
        return abs(g) <= 1e-13 * max(q, 1e-300)

    g0 = gap(q0)
    if root(q0, g0):
        return q0
    step = 2.0  # the bracket widens by step, then step**2, ...: few evaluations even to 1e200
    if g0 > 0:  # the variances grow towards the fixed point above q0
        lo, hi = q0, max(2.0 * q0, q0 + g0)
        g = gap(hi)
        while g > 0 and not root(hi, g):
            lo, hi, step = hi, hi * step, step * step
            if hi > _Q_CEIL:
                return math.inf
            g = gap(hi)
        if root(hi, g):
            return hi
    else:  # they shrink towards the fixed point below q0
        hi = q0 + g0  # V(q0) >= s_b^2 >= 0
        if hi <= 0.0:
            return 0.0
        lo = hi
        g = gap(lo)
        while g < 0 and not root(lo, g):
            hi, lo, step = lo, lo / step, step * step
            if lo < _Q_FLOOR:
                return 0.0
            g = gap(lo)
        if root(lo, g):
            return lo
    # bisection on [lo, hi] with gap(lo) > 0 > gap(hi); geometric while the bracket is wide
    for _ in range(400):
        if hi - lo <= rtol * hi:
            break
        mid = math.sqrt(lo * hi) if hi > 4.0 * lo and lo > 0 else 0.5 * (lo + hi)
        if gap(mid) > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def fixed_point(s_w, s_b=0.0, activation="tanh", q0=1.0):
    r"""The fixed point :math:`q^* = V(q^*)` that the variance map reaches from :math:`q_0`.

    The variances of successive layers, :math:`q^{(l)} = V(q^{(l-1)})`, move
    monotonically towards a fixed point of :func:`variance_map` (for an
    increasing map, as for tanh, the sigmoid and the ReLU family). This
    function brackets the first fixed point in the direction of motion by
    doubling or halving and refines it by bisection to a relative accuracy of
    about :math:`10^{-14}`. For tanh with :math:`s_b = 0` and :math:`s_w \le 1`
    the signal dies out: :math:`q^* = 0`. For the ReLU with
    :math:`s_w^2 > 2` it grows without bound: :math:`q^* = \infty`. (Poole et
    al., 2016, Fig. 1.)

    Parameters
    ----------
    s_w : float
        Weight scale, ``>= 0``.
    s_b : float, default 0
        Bias standard deviation, ``>= 0``.
    activation : str or gradlab.activations.ActivationFunction, default "tanh"
    q0 : float, default 1
        Starting variance, ``> 0``.

    Returns
    -------
    float
        :math:`q^*`; ``0.0`` when the variances fall below 1e-200 and ``inf``
        when they grow beyond 1e200.

    Examples
    --------
    >>> fixed_point(0.9)  # tanh, no bias: ordered, the signal dies
    0.0
    >>> round(fixed_point(1.0, 0.5, "relu"), 10)  # q* = q*/2 + 1/4
    0.5
    """
    s_w = _v.real(s_w, "s_w", low=0.0)
    s_b = _v.real(s_b, "s_b", low=0.0)
    q0 = _v.real(q0, "q0", low=0.0, low_open=True)
    return _fixed_point(_activation(activation), s_w, s_b, q0)


def _chi_at(act, q, s_w):
    # a variance that grows without bound: chi in that limit (exact for the ReLU family)
    return s_w * s_w * _derivative_sq(act, q if math.isfinite(q) else _Q_CEIL)


def critical_s_w(s_b=0.0, activation="tanh", q0=1.0, bracket=(0.1, 10.0)):
    r"""The weight scale of the edge of chaos: :math:`\chi(q^*) = 1` at bias scale :math:`s_b`.

    Solves :math:`s_w^2\, \mathbb E[\phi'(z)^2] = 1`, :math:`z \sim N(0, q^*(s_w, s_b))`,
    for :math:`s_w` by bisection, with :math:`q^*` from :func:`fixed_point`
    (Poole et al., 2016; Schoenholz et al., 2017). Below the returned value the
    network is ordered (:math:`\chi(q^*) < 1`), above it chaotic. For tanh
    with :math:`s_b = 0` the answer is 1 (:math:`q^* = 0` and
    :math:`\tanh'(0) = 1`); for the ReLU it is :math:`\sqrt 2` whatever
    :math:`s_b`, He et al.'s (2015) scale.

    Parameters
    ----------
    s_b : float, default 0
        Bias standard deviation, ``>= 0``.
    activation : str or gradlab.activations.ActivationFunction, default "tanh"
    q0 : float, default 1
        Starting variance for :func:`fixed_point`.
    bracket : (float, float), default (0.1, 10)
        Interval of :math:`s_w` whose ends lie on opposite sides of the edge.

    Returns
    -------
    float

    Examples
    --------
    >>> round(critical_s_w(), 6)
    1.0
    >>> round(critical_s_w(0.3, "relu"), 9) == round(2 ** 0.5, 9)
    True
    """
    s_b = _v.real(s_b, "s_b", low=0.0)
    q0 = _v.real(q0, "q0", low=0.0, low_open=True)
    act = _activation(activation)
    if not isinstance(bracket, (tuple, list)) or len(bracket) != 2:
        raise TypeError(f"bracket must be a pair (low, high), got {bracket!r}")
    lo = _v.real(bracket[0], "bracket[0]", low=0.0, low_open=True)
    hi = _v.real(bracket[1], "bracket[1]", low=lo, low_open=True)

    def excess(s):
        return _chi_at(act, _fixed_point(act, s, s_b, q0), s) - 1.0

    e_lo, e_hi = excess(lo), excess(hi)
    if not (e_lo < 0 < e_hi):
        raise ValueError(
            f"bracket must hold the edge of chaos, chi(q*) - 1 < 0 at its low end and > 0 at its "
            f"high end, got {e_lo:+.3g} at {lo:g} and {e_hi:+.3g} at {hi:g}"
        )
    for _ in range(200):
        if hi - lo <= 1e-13 * hi:
            break
        mid = 0.5 * (lo + hi)
        if excess(mid) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------
# layer by layer
# --------------------------------------------------------------------------
class Propagation(NamedTuple):
    r"""Mean-field statistics of layers :math:`l = 1, \dots, L` (result of :func:`propagate`).

    Attributes
    ----------
    q : numpy.ndarray (L,)
        Variance :math:`q^{(l)}` of the pre-activations :math:`z^{(l)}`.
    mean : numpy.ndarray (L,)
        :math:`\mathbb E[\phi(z^{(l)})]`, the mean activation.
    second_moment : numpy.ndarray (L,)
        :math:`\mathbb E[\phi(z^{(l)})^2]`.
    derivative_sq : numpy.ndarray (L,)
        :math:`\mathbb E[\phi'(z^{(l)})^2]`.
    chi : numpy.ndarray (L,)
        :math:`s_{w,l}^2\, \mathbb E[\phi'(z^{(l)})^2]`: layer :math:`l`'s factor
        on the mean square of a perturbation (layers of equal width).

    Examples
    --------
    >>> p = Propagation(*[np.ones(2)] * 5)
    >>> p.chi.shape
    (2,)
    """

    q: np.ndarray
    mean: np.ndarray
    second_moment: np.ndarray
    derivative_sq: np.ndarray
    chi: np.ndarray


def _per_layer(value, name):
    """``value`` (a number or a 1-D sequence) as a 1-D float64 array of entries >= 0."""
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = _v.real_array(value, name)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{name} must be a number or a non-empty 1-D sequence, got shape {arr.shape}")
        if np.any(arr < 0):
            raise ValueError(f"{name} must be >= 0, got a value {float(arr.min())!r}")
        return arr
    return np.array([_v.real(value, name, low=0.0)])


def _propagate(act, sw2, sb2, q0):
    depth = sw2.size
    out = np.empty((5, depth))
    m2 = q0  # the input's mean square per coordinate
    for l in range(depth):
        q = sw2[l] * m2 + sb2[l]
        x, w = _nodes(q)
        with _v.quiet():
            phi = act.forward(x)
            dphi = act.derivative(x)
        mean, m2, d2 = float(w @ phi), float(w @ (phi * phi)), float(w @ (dphi * dphi))
        out[:, l] = q, mean, m2, d2, sw2[l] * d2
    return Propagation(*out)


def propagate(s_w, s_b=0.0, q0=1.0, activation="tanh", depth=None):
    r"""Mean-field statistics of every layer of a deep network, from the input's mean square.

    Layer :math:`l` has :math:`q^{(l)} = s_{w,l}^2\, m^{(l-1)} + s_{b,l}^2`, where
    :math:`m^{(0)} = q_0` is the input's mean square per coordinate and
    :math:`m^{(l)} = \mathbb E[\phi(z^{(l)})^2]`, :math:`z^{(l)} \sim N(0, q^{(l)})`
    (the variance map of :func:`variance_map`, layer by layer, with scales
    that may change from layer to layer; Poole et al., 2016).

    Parameters
    ----------
    s_w : float or sequence of float
        Weight scale of every layer, or one per layer (``fan_in * Var W``
        is :math:`s_{w,l}^2`).
    s_b : float or sequence of float, default 0
        Bias standard deviation, one for all layers or one per layer.
    q0 : float, default 1
        Mean square of the input's coordinates, ``>= 0``.
    activation : str or gradlab.activations.ActivationFunction, default "tanh"
    depth : int, optional
        Number of layers; required when ``s_w`` and ``s_b`` are both numbers.

    Returns
    -------
    Propagation

    Examples
    --------
    >>> p = propagate(2 ** 0.5, 0.0, q0=1.0, activation="relu", depth=3)
    >>> p.q.round(12).tolist(), p.chi.round(12).tolist()  # He: every layer keeps q = 1
    ([2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
    """
    act = _activation(activation)
    sw, sb = _per_layer(s_w, "s_w"), _per_layer(s_b, "s_b")
    if depth is None:
        if not any(isinstance(v, (list, tuple, np.ndarray)) for v in (s_w, s_b)):
            raise ValueError("depth is required when s_w and s_b are both numbers")
        depth = max(sw.size, sb.size)
    depth = _v.positive_int(depth, "depth")
    for name, arr in (("s_w", sw), ("s_b", sb)):
        if arr.size not in (1, depth):
            raise ValueError(f"{name} must be a number or have depth = {depth} entries, got {arr.size}")
    sw, sb = np.broadcast_to(sw, depth), np.broadcast_to(sb, depth)
    q0 = _v.real(q0, "q0", low=0.0)
    return _propagate(act, sw * sw, sb * sb, q0)


class LayerScales(NamedTuple):
    r"""The scales of the dense layers of a network (result of :func:`network_scales`).

    Attributes
    ----------
    fan_in, fan_out : numpy.ndarray of int (L,)
    forward : numpy.ndarray (L,)
        :math:`n_{l-1} \operatorname{Var} W^{(l)}` (the forward condition asks for 1;
        this is :math:`s_{w,l}^2`).
    backward : numpy.ndarray (L,)
        :math:`n_l \operatorname{Var} W^{(l)}` (the backward condition asks for 1).
    bias : numpy.ndarray (L,)
        :math:`\operatorname{Var} b^{(l)}` (:math:`s_{b,l}^2`; 0 without a bias).

    Examples
    --------
    >>> LayerScales(*[np.ones(1)] * 5).forward.tolist()
    [1.0]
    """

    fan_in: np.ndarray
    fan_out: np.ndarray
    forward: np.ndarray
    backward: np.ndarray
    bias: np.ndarray


def network_scales(model):
    r"""The forward and backward gains :math:`n_{l-1}\operatorname{Var}W^{(l)}`, :math:`n_l\operatorname{Var}W^{(l)}` of every dense layer.

    The variance of a layer's weights is estimated by their mean square
    :math:`\overline{W^2}` (the initialisers of :mod:`gradlab.init` have mean
    zero), so for a network as it was drawn these are the quantities that the
    forward condition :math:`n_{\text{in}} \operatorname{Var}[w] = 1` and the
    backward condition :math:`n_{\text{out}} \operatorname{Var}[w] = 1` of
    Glorot and Bengio (2010) speak about.

    Parameters
    ----------
    model : gradlab.nn layer or container
        Its :class:`gradlab.nn.Linear` layers, in forward order, are read.

    Returns
    -------
    LayerScales

    Examples
    --------
    >>> from gradlab import nn
    >>> m = nn.Sequential(nn.Linear(4, 2, init=lambda s, r: np.full(s, 0.5), bias_init="zeros"))
    >>> s = network_scales(m)
    >>> s.forward.tolist(), s.backward.tolist(), s.bias.tolist()
    ([1.0], [0.5], [0.0])
    """
    lins = _nn.linear_layers(model)
    if not lins:
        raise ValueError("model has no Linear layer")
    rows = []
    for lin in lins:
        w2 = float(np.mean(np.square(lin.weight, dtype=np.float64)))
        b2 = 0.0 if lin.bias is None else float(np.mean(np.square(lin.bias, dtype=np.float64)))
        rows.append((lin.fan_in, lin.fan_out, lin.fan_in * w2, lin.fan_out * w2, b2))
    cols = list(zip(*rows))
    return LayerScales(np.array(cols[0]), np.array(cols[1]), *(np.array(c, dtype=np.float64) for c in cols[2:]))


class Prediction(NamedTuple):
    r"""Mean-field prediction for a plain dense network (result of :func:`predict`).

    Attributes
    ----------
    q : numpy.ndarray (L,)
        Variance of the pre-activations :math:`z^{(l)}` of the dense layers.
    act_mean, act_std : numpy.ndarray (L-1,)
        Mean and standard deviation of the hidden activations :math:`a^{(l)}`,
        pooled over units and examples.
    delta_sq : numpy.ndarray (L,)
        :math:`\mathbb E\lVert\delta^{(l)}\rVert^2 / \mathbb E\lVert\delta^{(L)}\rVert^2`,
        the squared norm of the back-propagated error relative to the last layer's.

    Examples
    --------
    >>> Prediction(np.ones(2), np.zeros(1), np.ones(1), np.ones(2)).delta_sq.tolist()
    [1.0, 1.0]
    """

    q: np.ndarray
    act_mean: np.ndarray
    act_std: np.ndarray
    delta_sq: np.ndarray


def _mlp_activation(model):
    if not isinstance(model, _nn.Sequential):
        raise TypeError(f"model must be a gradlab.nn.Sequential, got {type(model).__name__}")
    layers = model.layers
    ok = (len(layers) % 2 == 1 and all(isinstance(x, _nn.Linear) for x in layers[::2])
          and all(isinstance(x, _nn.Activation) for x in layers[1::2]))
    names = {repr(x) for x in layers[1::2]}
    if not ok or len(names) > 1:
        raise ValueError(
            "model must be a plain dense network Linear, Activation, ..., Linear with one "
            "activation function (as gradlab.nn.mlp builds)"
        )
    return layers[1].fn if len(layers) > 1 else _activations.get("identity")


def predict(model, q0=1.0):
    r"""Mean-field prediction of the activations and errors of every layer of a plain network.

    For a network built by :func:`gradlab.nn.mlp`, with the scales of the
    weights and biases as drawn (:func:`network_scales`), the forward pass
    follows :func:`propagate` and the backward pass

    .. math::
        \mathbb E\lVert\delta^{(l)}\rVert^2
        = \mathbb E\bigl[\phi'(z^{(l)})^2\bigr]\; n_l \operatorname{Var} W^{(l+1)}\;
          \mathbb E\lVert\delta^{(l+1)}\rVert^2,

    because entry :math:`i` of :math:`W^{(l+1)\top}\delta^{(l+1)}` is a sum of
    :math:`n_{l+1}` zero-mean terms and there are :math:`n_l` entries; the
    errors are treated as independent of the weights they pass through, the
    assumption of Schoenholz et al. (2017). The prediction holds in
    expectation, for wide layers and zero-mean weights.

    Parameters
    ----------
    model : gradlab.nn.Sequential
        ``Linear, Activation, Linear, ..., Linear`` with one activation function.
    q0 : float, default 1
        Mean square of the input's coordinates (e.g. ``np.mean(X**2)``).

    Returns
    -------
    Prediction

    Examples
    --------
    >>> from gradlab import init, nn
    >>> he = init.get("kaiming_normal", nonlinearity="relu")
    >>> net = nn.mlp([500, 500, 500, 10], "relu", np.random.default_rng(0), he, bias_init="zeros")
    >>> p = predict(net)
    >>> bool(np.allclose(p.q[:3], 2.0, rtol=0.02)), p.delta_sq.shape
    (True, (3,))
    """
    act = _mlp_activation(model)
    q0 = _v.real(q0, "q0", low=0.0)
    sc = network_scales(model)
    prop = _propagate(act, sc.forward, sc.bias, q0)
    std = np.sqrt(np.maximum(prop.second_moment - prop.mean**2, 0.0))
    factors = prop.derivative_sq[:-1] * sc.forward[1:]  # ||delta^(l)||^2 / ||delta^(l+1)||^2
    delta_sq = np.append(np.cumprod(factors[::-1])[::-1], 1.0)
    return Prediction(prop.q, prop.mean[:-1], std[:-1], delta_sq)


# --------------------------------------------------------------------------
# the measurement of the phase diagram
# --------------------------------------------------------------------------
class JacobianGain(NamedTuple):
    r"""Measured growth of small input perturbations (result of :func:`jacobian_gain`).

    Attributes
    ----------
    gain : numpy.ndarray (depth,)
        :math:`\sum_b \lVert J^{(l)}_b u_b \rVert^2 / \sum_b \lVert u_b\rVert^2` for
        :math:`l = 1, \dots, \text{depth}`, where :math:`J^{(l)}_b` is the
        Jacobian of :math:`a^{(l)}` with respect to the input at example
        :math:`b` and :math:`u_b` a random direction.
    q : numpy.ndarray (depth,)
        Measured mean square of the pre-activations :math:`z^{(l)}`.

    Examples
    --------
    >>> JacobianGain(np.ones(3), np.ones(3)).gain.shape
    (3,)
    """

    gain: np.ndarray
    q: np.ndarray


def _jacobian_gain(act, s_w, s_b, depth, width, rng, n_inputs, q0):
    x = math.sqrt(q0) * rng.standard_normal((n_inputs, width))
    u = rng.standard_normal((n_inputs, width))
    u0 = float(np.sum(u * u))
    gain, q = np.empty(depth), np.empty(depth)
    with _v.quiet():
        for l in range(depth):
            W = (s_w / math.sqrt(width)) * rng.standard_normal((width, width))
            b = s_b * rng.standard_normal(width)
            z = x @ W.T + b
            u = (u @ W.T) * act.derivative(z)
            x = act.forward(z)
            gain[l] = float(np.sum(u * u)) / u0
            q[l] = float(np.mean(z * z))
    return gain, q


def jacobian_gain(s_w, s_b, depth, width, rng, activation="tanh", n_inputs=16, q0=1.0):
    r"""Measure how much a random network of equal widths amplifies small input perturbations, layer by layer.

    Draws ``depth`` layers of ``width`` units with
    :math:`W_{ij} \sim N(0, s_w^2/\text{width})`, :math:`b_i \sim N(0, s_b^2)`,
    inputs :math:`x \sim N(0, q_0 I)` and directions :math:`u \sim N(0, I)`,
    and pushes both through the network in forward mode,
    :math:`u \leftarrow \operatorname{diag}(\phi'(z))\, W u`. The squared norm
    of :math:`u` after layer :math:`l` relative to its start is the measured
    counterpart of :math:`\prod_{k \le l} \chi(q^{(k)})` (:func:`propagate`):
    the mean squared singular value of the input-output Jacobian, the same
    for its transpose, which carries the gradient back (Poole et al., 2016;
    Schoenholz et al., 2017).

    Parameters
    ----------
    s_w : float
        Weight scale, ``>= 0``.
    s_b : float
        Bias standard deviation, ``>= 0``.
    depth, width : int
    rng : numpy.random.Generator
        Draws inputs, directions and then each layer's weights and biases.
    activation : str or gradlab.activations.ActivationFunction, default "tanh"
    n_inputs : int, default 16
        Number of inputs (each with its own direction).
    q0 : float, default 1
        Variance of the inputs' coordinates, ``> 0``.

    Returns
    -------
    JacobianGain

    Examples
    --------
    >>> r = jacobian_gain(1.0, 0.0, 10, 200, np.random.default_rng(0), activation="identity")
    >>> bool(0.8 < r.gain[-1] < 1.25)  # linear, s_w = 1: chi = 1 in every layer
    True
    """
    s_w = _v.real(s_w, "s_w", low=0.0)
    s_b = _v.real(s_b, "s_b", low=0.0)
    depth = _v.positive_int(depth, "depth")
    width = _v.positive_int(width, "width")
    _v.generator(rng)
    act = _activation(activation)
    n_inputs = _v.positive_int(n_inputs, "n_inputs")
    q0 = _v.real(q0, "q0", low=0.0, low_open=True)
    return JacobianGain(*_jacobian_gain(act, s_w, s_b, depth, width, rng, n_inputs, q0))


class PhaseDiagram(NamedTuple):
    r"""Measured and predicted perturbation growth over weight scale and depth (result of :func:`phase_diagram`).

    Attributes
    ----------
    s_w : numpy.ndarray (k,)
        The weight scales.
    depth : numpy.ndarray of int (L,)
        ``1, ..., L``.
    measured, predicted : numpy.ndarray (k, L)
        :math:`\log_{10}` of the mean squared gain of :func:`jacobian_gain`
        (averaged over networks) and of its mean-field prediction
        :math:`\prod_{k \le l} \chi(q^{(k)})`.
    critical : float
        The edge of chaos :func:`critical_s_w`.

    Examples
    --------
    >>> PhaseDiagram(np.ones(2), np.arange(1, 4), np.zeros((2, 3)), np.zeros((2, 3)), 1.0).measured.shape
    (2, 3)
    """

    s_w: np.ndarray
    depth: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray
    critical: float


def phase_diagram(s_ws, depth, rng, s_b=0.0, activation="tanh", width=100, n_inputs=16,
                  n_networks=1, q0=1.0):
    r"""Order and chaos over weight scale and depth: measured gains, their prediction and the edge.

    For each weight scale in ``s_ws`` this measures :func:`jacobian_gain` on
    ``n_networks`` random networks of ``depth`` layers, averages the gains,
    and sets them next to the mean-field prediction
    :math:`\prod_{k \le l} \chi(q^{(k)})` from :func:`propagate` (which follows
    the variances from :math:`q_0` to :math:`q^*`) and the critical scale
    :func:`critical_s_w` where :math:`\chi(q^*) = 1` (Poole et al., 2016;
    Schoenholz et al., 2017). Gains below one (ordered phase) mean that
    nearby inputs merge and gradients vanish with depth; above one (chaotic
    phase) nearby inputs fly apart and gradients explode.

    Parameters
    ----------
    s_ws : sequence of float
        Weight scales, each ``> 0``.
    depth : int
    rng : numpy.random.Generator
    s_b : float, default 0
    activation : str or gradlab.activations.ActivationFunction, default "tanh"
    width, n_inputs, n_networks : int
    q0 : float, default 1

    Returns
    -------
    PhaseDiagram

    Examples
    --------
    >>> d = phase_diagram([0.5, 2.0], 20, np.random.default_rng(0), width=50)
    >>> bool(d.measured[0, -1] < 0 < d.measured[1, -1]), round(d.critical, 6)
    (True, 1.0)
    """
    s_ws = _v.real_array(s_ws, "s_ws", positive=True)
    if s_ws.ndim != 1 or s_ws.size == 0:
        raise ValueError(f"s_ws must be a non-empty 1-D sequence, got shape {s_ws.shape}")
    depth = _v.positive_int(depth, "depth")
    _v.generator(rng)
    s_b = _v.real(s_b, "s_b", low=0.0)
    act = _activation(activation)
    width = _v.positive_int(width, "width")
    n_inputs = _v.positive_int(n_inputs, "n_inputs")
    n_networks = _v.positive_int(n_networks, "n_networks")
    q0 = _v.real(q0, "q0", low=0.0, low_open=True)
    measured = np.empty((s_ws.size, depth))
    predicted = np.empty((s_ws.size, depth))
    with _v.quiet():
        for i, s in enumerate(s_ws):
            gains = [_jacobian_gain(act, float(s), s_b, depth, width, rng, n_inputs, q0)[0]
                     for _ in range(n_networks)]
            measured[i] = np.log10(np.mean(gains, axis=0))
            chis = _propagate(act, np.full(depth, s * s), np.full(depth, s_b * s_b), q0).chi
            predicted[i] = np.cumsum(np.log10(chis))
    try:
        critical = critical_s_w(s_b, act, q0, bracket=(float(s_ws.min()) / 4, float(s_ws.max()) * 4))
    except ValueError:
        critical = math.nan
    return PhaseDiagram(s_ws, np.arange(1, depth + 1), measured, predicted, critical)
