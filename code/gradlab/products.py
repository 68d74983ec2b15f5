"""Products through depth: powers of a scalar, products of random matrices.

The maths of chapter 1 ("Gradients through depth") and of chapter 2
("Saturating activations") that is not about a particular dtype (for that, see
:mod:`gradlab.floating`): products of factors, the saturation bound, and the
per-layer factor of a network at initialisation, predicted
(:func:`predicted_layer_factor`) and measured (:func:`fitted_layer_factor`).

A deep chain multiplies one factor per layer. For a scalar factor ``w`` the
product after ``L`` layers is ``w**L``; for matrices it is
``W^{(L)} ... W^{(1)}``, whose norm grows or shrinks geometrically at a rate
set by the distribution of the factors. For Gaussian matrices that rate is known
in closed form through the digamma function ``psi``, which this module
implements without scipy.

Everything is computed in float64. Randomness only through an explicit
``numpy.random.Generator``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import _validate as _v
from . import activations as _activations

__all__ = [
    "scalar_power",
    "MatrixProduct",
    "random_matrix_product",
    "log_norm_paths",
    "digamma",
    "trigamma",
    "log_norm_drift",
    "log_norm_variance",
    "saturation_bound",
    "max_sigmoid_gain",
    "predicted_layer_factor",
    "fitted_layer_factor",
]

#: Euler-Mascheroni constant, gamma = -psi(1).
EULER_GAMMA = 0.57721566490153286061

# Below this argument the digamma and trigamma functions are shifted upwards
# with their recurrences before the asymptotic series is used; at x >= 10 the
# truncated series below (Bernoulli-number terms through x**-14 for digamma,
# x**-15 for trigamma) has a truncation error below 1e-16.
_ASYMPTOTIC_FROM = 10.0


# --------------------------------------------------------------------------
# scalar chains
# --------------------------------------------------------------------------
def scalar_power(w, depth):
    r"""Powers ``w**l`` for ``l = 0, 1, ..., depth`` of a per-layer factor.

    A chain of ``L`` identical scalar layers ``u -> w u`` has derivative
    :math:`\prod_{l=1}^{L} w = w^L` (the chain rule multiplies one factor per
    layer), so ``|w| < 1`` vanishes and ``|w| > 1`` explodes geometrically.
    The powers are computed in float64 by cumulative multiplication, the same
    operation a chain performs.

    Parameters
    ----------
    w : float
        The factor each layer contributes (finite real number).
    depth : int
        Largest exponent ``L >= 0``.

    Returns
    -------
    numpy.ndarray
        Shape ``(depth + 1,)``, float64: ``[1, w, w**2, ..., w**depth]``.

    Examples
    --------
    >>> p = scalar_power(0.6, 15)
    >>> round(float(p[3]), 3), p.shape
    (0.216, (16,))
    >>> round(float(scalar_power(1.6, 15)[-1]), 2)
    1152.92
    """
    w = _v.real(w, "w")
    depth = _v.integer(depth, "depth", minimum=0)
    out = np.empty(depth + 1, dtype=np.float64)
    out[0] = 1.0
    if depth:
        with _v.quiet():
            out[1:] = np.cumprod(np.full(depth, w, dtype=np.float64))
    return out


# --------------------------------------------------------------------------
# products of random matrices
# --------------------------------------------------------------------------
class MatrixProduct(NamedTuple):
    """Result of :func:`random_matrix_product`.

    Attributes
    ----------
    log_norms : numpy.ndarray
        ``(depth + 1,)``: natural log of the Frobenius norm of
        ``M_l = W_l ... W_1`` for ``l = 0..depth`` (``M_0 = I``), computed
        with renormalisation so that it never overflows.
    raw_norms : numpy.ndarray or None
        ``(depth + 1,)``: the same norms from the naive float64 product (may
        reach ``inf`` for long products); ``None`` unless ``raw=True``.
    raw_product : numpy.ndarray or None
        ``(n, n)``: the naive float64 product ``M_depth``; ``None`` unless
        ``raw=True``.

    Examples
    --------
    >>> r = MatrixProduct(np.zeros(2), None, None)
    >>> r.log_norms.shape, r.raw_norms is None
    ((2,), True)
    """

    log_norms: np.ndarray
    raw_norms: np.ndarray | None
    raw_product: np.ndarray | None


def random_matrix_product(n, depth, rng, scale=None, raw=False):
    r"""Log-norm of a product of i.i.d. Gaussian matrices, layer by layer.

    Draws ``depth`` matrices :math:`G_l` with i.i.d. :math:`N(0, 1)` entries,
    sets :math:`W_l = c\,G_l` (``c = scale``, 1 if ``None``) and follows
    :math:`M_l = W_l M_{l-1}`, :math:`M_0 = I_n`, the shape of a forward pass
    through ``depth`` linear layers (a backward pass multiplies transposes,
    which have the same distribution).

    The log of the Frobenius norm is accumulated stably: after each step the
    running product is divided by its norm and the log of that norm is added,
    :math:`\ln\|M_l\|_F = \ln\|W_l Q_{l-1}\|_F + \ln\|M_{l-1}\|_F` with
    :math:`Q = M/\|M\|_F`, so it never overflows or underflows however deep.

    With ``scale = 1/sqrt(n)`` each layer preserves the mean square,
    :math:`E\|W h\|^2 = \|h\|^2`, yet the log-norm drifts down at about
    :func:`log_norm_drift` per layer (for a fixed vector exactly; for the
    Frobenius norm of the matrix at large depth), see :func:`log_norm_paths`.

    Parameters
    ----------
    n : int
        Matrix size (``n >= 1``).
    depth : int
        Number of factors (``>= 0``).
    rng : numpy.random.Generator
        Source of randomness.
    scale : float, optional
        Multiplies every matrix (e.g. ``1/sqrt(n)``); positive. Default 1.
    raw : bool, default False
        Also multiply the matrices naively in float64 and return the raw norms
        and product (to show the numbers a real computation would hold).

    Returns
    -------
    MatrixProduct
        ``log_norms`` and, with ``raw=True``, ``raw_norms`` and ``raw_product``.

    Notes
    -----
    For Gaussian factors the growth rate of the product (its top Lyapunov
    exponent) is :math:`\tfrac12[\psi(n/2) + \ln 2] + \ln c`, Newman (1986),
    "The distribution of Lyapunov exponents: exact results for random
    matrices", Comm. Math. Phys. 103. For ``n = 4``, ``c = 1`` that is about
    0.558 per factor, so 100 factors give norms near :math:`e^{55.8}\approx 10^{24}`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = random_matrix_product(4, 100, rng, raw=True)
    >>> r.log_norms.shape, r.raw_product.shape
    ((101,), (4, 4))
    >>> bool(np.allclose(np.log(r.raw_norms), r.log_norms))
    True
    >>> bool(18 < np.log10(np.abs(r.raw_product).max()) < 30)
    True
    """
    n = _v.integer(n, "n", minimum=1)
    depth = _v.integer(depth, "depth", minimum=0)
    _v.generator(rng)
    c = 1.0 if scale is None else _v.real(scale, "scale", low=0.0, low_open=True)
    raw = _v.boolean(raw, "raw")

    log_norms = np.empty(depth + 1, dtype=np.float64)
    log_norms[0] = 0.5 * math.log(n)  # ||I_n||_F = sqrt(n)
    q = np.eye(n) / math.sqrt(n)
    if raw:
        raw_norms = np.empty(depth + 1, dtype=np.float64)
        raw_norms[0] = math.sqrt(n)
        m = np.eye(n)
    with _v.quiet():
        for l in range(1, depth + 1):
            w = c * rng.standard_normal((n, n))
            q = w @ q
            s = np.linalg.norm(q)
            log_norms[l] = log_norms[l - 1] + math.log(s)
            q /= s
            if raw:
                m = w @ m
                raw_norms[l] = np.linalg.norm(m)
    if raw:
        return MatrixProduct(log_norms, raw_norms, m)
    return MatrixProduct(log_norms, None, None)


def log_norm_paths(n, depth, rng, scale=None, n_paths=1):
    r"""Log of the norm growth of vectors pushed through random Gaussian layers.

    For each of ``n_paths`` independent paths, starts from a fixed unit vector
    :math:`h_0` and applies :math:`h_l = c\,G_l h_{l-1}` with fresh
    :math:`G_l` (i.i.d. :math:`N(0,1)`, ``n x n``), returning
    :math:`\ln\|h_l\| - \ln\|h_0\|` for ``l = 0..depth``. The vector is
    renormalised after each step, so nothing overflows.

    Because :math:`G h \sim N(0, \|h\|^2 I_n)` for any fixed ``h``, the
    per-layer increments are independent and distributed as
    :math:`\tfrac12\ln(c^2\chi^2_n)`: their mean is
    :func:`log_norm_drift` (+ ``ln c + ln(n)/2``) and their variance
    :func:`log_norm_variance`.

    Parameters
    ----------
    n : int
        Width (``>= 1``).
    depth : int
        Number of layers (``>= 0``).
    rng : numpy.random.Generator
        Source of randomness.
    scale : float, optional
        Multiplies every matrix; positive. Default 1; ``1/sqrt(n)`` preserves
        the mean square.
    n_paths : int, default 1
        Number of independent paths.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_paths, depth + 1)``, float64; column 0 is zero.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> paths = log_norm_paths(4, 50, rng, scale=0.5, n_paths=3)
    >>> paths.shape, float(paths[:, 0].max())
    ((3, 51), 0.0)
    """
    n = _v.integer(n, "n", minimum=1)
    depth = _v.integer(depth, "depth", minimum=0)
    _v.generator(rng)
    c = 1.0 if scale is None else _v.real(scale, "scale", low=0.0, low_open=True)
    n_paths = _v.integer(n_paths, "n_paths", minimum=1)

    out = np.zeros((n_paths, depth + 1), dtype=np.float64)
    h = np.zeros((n_paths, n), dtype=np.float64)
    h[:, 0] = 1.0
    for l in range(1, depth + 1):
        g = rng.standard_normal((n_paths, n, n))
        h = c * np.einsum("pij,pj->pi", g, h)
        s = np.linalg.norm(h, axis=1)
        out[:, l] = out[:, l - 1] + np.log(s)
        h /= s[:, None]
    return out


# --------------------------------------------------------------------------
# digamma and trigamma without scipy
# --------------------------------------------------------------------------
def digamma(x):
    r"""The digamma function :math:`\psi(x) = \frac{d}{dx}\ln\Gamma(x)` for x > 0.

    Implemented without scipy: the recurrence
    :math:`\psi(x) = \psi(x+1) - 1/x` shifts the argument to ``x >= 10``,
    where the asymptotic series (Abramowitz & Stegun 1964, eq. 6.3.18)

    .. math::
        \psi(x) \sim \ln x - \frac{1}{2x} - \frac{1}{12x^2} + \frac{1}{120x^4}
        - \frac{1}{252x^6} + \frac{1}{240x^8} - \frac{1}{132x^{10}}
        + \frac{691}{32760x^{12}} - \frac{1}{12x^{14}}

    has a truncation error below 1e-16. Closed forms it reproduces:
    :math:`\psi(1) = -\gamma`, :math:`\psi(1/2) = -\gamma - 2\ln 2`,
    :math:`\psi(k) = -\gamma + \sum_{j=1}^{k-1} 1/j`.

    Parameters
    ----------
    x : float or array_like
        Positive, finite argument(s).

    Returns
    -------
    float or numpy.ndarray
        A Python float for a scalar input, else a float64 array.

    Examples
    --------
    >>> round(digamma(1.0), 10) == round(-0.5772156649015329, 10)
    True
    >>> round(digamma(2.0) - digamma(1.0), 12)
    1.0
    """
    scalar = np.ndim(x) == 0
    z = _v.real_array(x, "x", positive=True).copy()
    acc = np.zeros_like(z)
    small = z < _ASYMPTOTIC_FROM
    while np.any(small):
        acc[small] -= 1.0 / z[small]
        z[small] += 1.0
        small = z < _ASYMPTOTIC_FROM
    inv2 = 1.0 / (z * z)
    series = inv2 * (
        -1.0 / 12
        + inv2
        * (
            1.0 / 120
            + inv2
            * (
                -1.0 / 252
                + inv2
                * (1.0 / 240 + inv2 * (-1.0 / 132 + inv2 * (691.0 / 32760 + inv2 * (-1.0 / 12))))
            )
        )
    )
    out = acc + np.log(z) - 0.5 / z + series
    return float(out) if scalar else out


def trigamma(x):
    r"""The trigamma function :math:`\psi'(x) = \frac{d^2}{dx^2}\ln\Gamma(x)` for x > 0.

    Recurrence :math:`\psi'(x) = \psi'(x+1) + 1/x^2` up to ``x >= 10``, then
    the asymptotic series (Abramowitz & Stegun 1964, eq. 6.4.12)

    .. math::
        \psi'(x) \sim \frac1x + \frac{1}{2x^2} + \frac{1}{6x^3} - \frac{1}{30x^5}
        + \frac{1}{42x^7} - \frac{1}{30x^9} + \frac{5}{66x^{11}}
        - \frac{691}{2730x^{13}} + \frac{7}{6x^{15}}.

    Closed forms: :math:`\psi'(1) = \pi^2/6`, :math:`\psi'(1/2) = \pi^2/2`.

    Parameters
    ----------
    x : float or array_like
        Positive, finite argument(s).

    Returns
    -------
    float or numpy.ndarray
        A Python float for a scalar input, else a float64 array.

    Examples
    --------
    >>> abs(trigamma(1.0) - np.pi**2 / 6) < 1e-13
    True
    """
    scalar = np.ndim(x) == 0
    z = _v.real_array(x, "x", positive=True).copy()
    acc = np.zeros_like(z)
    small = z < _ASYMPTOTIC_FROM
    while np.any(small):
        acc[small] += 1.0 / (z[small] * z[small])
        z[small] += 1.0
        small = z < _ASYMPTOTIC_FROM
    inv = 1.0 / z
    inv2 = inv * inv
    series = inv + 0.5 * inv2 + inv * inv2 * (
        1.0 / 6
        + inv2
        * (
            -1.0 / 30
            + inv2
            * (
                1.0 / 42
                + inv2 * (-1.0 / 30 + inv2 * (5.0 / 66 + inv2 * (-691.0 / 2730 + inv2 * (7.0 / 6))))
            )
        )
    )
    out = acc + series
    return float(out) if scalar else out


def log_norm_drift(n):
    r"""Expected change of :math:`\ln\|h\|` per layer of :math:`h \to W h/\sqrt n`.

    With :math:`W` an ``n x n`` matrix of i.i.d. :math:`N(0,1)` entries and
    :math:`h` fixed, :math:`W h \sim N(0, \|h\|^2 I_n)`, so
    :math:`\|W h\|^2/\|h\|^2 \sim \chi^2_n` and, dividing by ``n``,

    .. math::
        E\left[\ln\frac{\|W h/\sqrt n\|}{\|h\|}\right]
        = \tfrac12\left(E\ln\chi^2_n - \ln n\right)
        = \tfrac12\left(\psi(n/2) + \ln\tfrac{2}{n}\right),

    using :math:`E\ln\chi^2_n = \psi(n/2) + \ln 2`. The mean square is
    preserved (:math:`E\,\chi^2_n/n = 1`) but, by Jensen's inequality, the mean
    log is negative: the typical norm shrinks like
    :math:`\exp(L\cdot\text{drift})`, a drift of order :math:`-1/(2n)` that
    vanishes only as the width grows. Compare Newman (1986) and Hanin (2018).

    Parameters
    ----------
    n : int
        Width (``>= 1``).

    Returns
    -------
    float
        The drift (negative for every ``n``).

    Examples
    --------
    >>> round(log_norm_drift(4), 4)
    -0.1352
    >>> log_norm_drift(1000) < 0
    True
    """
    n = _v.integer(n, "n", minimum=1)
    return 0.5 * (digamma(n / 2.0) + math.log(2.0 / n))


def log_norm_variance(n):
    r"""Variance of the per-layer change of :math:`\ln\|h\|` for :math:`h \to W h/\sqrt n`.

    The increment is :math:`\tfrac12\ln(\chi^2_n/n)`, and
    :math:`\operatorname{Var}\ln\chi^2_n = \psi'(n/2)`, so the variance is
    :math:`\psi'(n/2)/4`. Over ``L`` independent layers the spread of
    :math:`\ln\|h_L\|` grows like :math:`\sqrt{L\,\psi'(n/2)/4}`.

    Parameters
    ----------
    n : int
        Width (``>= 1``).

    Returns
    -------
    float

    Examples
    --------
    >>> abs(log_norm_variance(2) - np.pi**2 / 24) < 1e-13
    True
    """
    n = _v.integer(n, "n", minimum=1)
    return 0.25 * trigamma(n / 2.0)


# --------------------------------------------------------------------------
# chapter 2: the saturation bound
# --------------------------------------------------------------------------
def saturation_bound(gamma, W):
    r"""Upper bound :math:`\gamma\,\|W\|_2` on the gain of one back-propagation step.

    For :math:`z^{(l+1)} = W a^{(l)} + b` and :math:`a^{(l)} = \phi(z^{(l)})` with
    :math:`|\phi'| \le \gamma`,
    :math:`\delta^{(l)} = \diag(\phi'(z^{(l)}))\, W^\top \delta^{(l+1)}`, so

    .. math::
        \|\delta^{(l)}\| \le \|\diag(\phi'(z^{(l)}))\|_2\,\|W^\top\|_2\,
        \|\delta^{(l+1)}\| \le \gamma\,\|W\|_2\,\|\delta^{(l+1)}\|.

    If this bound is below 1 at every layer the error signal must shrink
    geometrically: Pascanu, Mikolov & Bengio (2013), "On the difficulty of
    training recurrent neural networks", ICML. ``gamma = 1/4`` for the
    logistic sigmoid, ``1`` for tanh.

    Parameters
    ----------
    gamma : float
        Bound on the activation's derivative (positive).
    W : array_like
        2-D weight matrix, finite.

    Returns
    -------
    float
        :math:`\gamma\,\|W\|_2` (largest singular value times gamma).

    Examples
    --------
    >>> saturation_bound(0.25, np.diag([2.0, 1.0]))
    0.5
    """
    gamma = _v.real(gamma, "gamma", low=0.0, low_open=True)
    W = _v.real_array(W, "W")
    if W.ndim != 2 or W.size == 0:
        raise ValueError(f"W must be a non-empty 2-D array, got shape {W.shape}")
    return gamma * float(np.linalg.norm(W, 2))


def max_sigmoid_gain(a):
    r"""Largest factor :math:`|w\,\sigma'(w a)|` a sigmoid unit can pass back, over all w.

    In a chain of one-unit sigmoid layers :math:`z = w a` (bias 0), the
    back-propagated factor of a layer is :math:`w\,\sigma'(w a)`. A large
    weight does not make it large, because the same weight pushes ``z`` into
    the saturated tails. Writing :math:`u = w a`,

    .. math::
        |w\,\sigma'(w a)| = \frac{|u|\,\sigma'(u)}{|a|}, \qquad
        \frac{d}{du}\bigl[u\,\sigma'(u)\bigr]
        = \sigma'(u)\,\bigl(1 - u \tanh(u/2)\bigr),

    using :math:`\sigma'' = \sigma'(1 - 2\sigma)` and
    :math:`1 - 2\sigma(u) = -\tanh(u/2)`. The maximum is at the positive root
    :math:`u^*` of :math:`u \tanh(u/2) = 1` (:math:`u^* \approx 1.543`), where
    :math:`u^*\sigma'(u^*) \approx 0.224`. So the factor can exceed 1 only if
    :math:`|a| < 0.224`: the weight and the pre-activation are not
    independent, so a bound on :math:`\sigma'` and a bound on ``w`` cannot be
    combined as if they were.

    Parameters
    ----------
    a : float
        The unit's input (non-zero, finite; for a unit fed by another sigmoid,
        ``0 < a < 1``).

    Returns
    -------
    w_star : float
        The weight with the largest factor, :math:`u^*/a`.
    gain : float
        That factor, :math:`u^*\sigma'(u^*)/|a|`.

    Examples
    --------
    >>> w, g = max_sigmoid_gain(1.0)
    >>> round(w, 3), round(g, 3)
    (1.543, 0.224)
    >>> max_sigmoid_gain(0.1)[1] > 1
    True
    """
    a = _v.real(a, "a")
    if a == 0:
        raise ValueError("a must be non-zero (with a = 0 the factor |w|/4 is unbounded)")
    # Newton's method on f(u) = u tanh(u/2) - 1, increasing for u > 0 and convex
    # for u tanh(u/2) < 2 (u < 2.4), an interval that holds the start 1.5 and the root
    u = 1.5
    for _ in range(50):
        t = math.tanh(u / 2)
        f = u * t - 1.0
        df = t + 0.5 * u * (1.0 - t * t)
        step = f / df
        u -= step
        if abs(step) < 1e-16:
            break
    e = math.exp(-u)
    gain = u * e / (1.0 + e) ** 2
    return u / a, gain / abs(a)


# --------------------------------------------------------------------------
# chapters 1 and 2: the per-layer factor of a network at initialisation
# --------------------------------------------------------------------------
# Grid of the Gaussian average in predicted_layer_factor: midpoints of steps of
# min(s, 1)/_STEPS_PER_UNIT over |z| < _HALF_WIDTH * s. The midpoints avoid z = 0,
# where a rectifier's derivative jumps, and are symmetric about it.
_HALF_WIDTH = 12.0
_STEPS_PER_UNIT = 64
_MAX_Z_STD = 1e3


def predicted_layer_factor(activation, fan_out, weight_var, z_std=0.0):
    r"""Predicted factor by which one layer multiplies the back-propagated error at initialisation.

    One step of back-propagation is
    :math:`\delta^{(l)} = \diag(\phi'(z^{(l)}))\, W^{(l+1)\top} \delta^{(l+1)}`.
    If the entries of :math:`W^{(l+1)}` (shape :math:`n_{l+1} \times n_l`)
    are independent with mean 0 and variance :math:`\operatorname{Var}[w]`,
    and independent of :math:`z^{(l)}` and :math:`\delta^{(l+1)}`, then each
    entry of :math:`W^{(l+1)\top}\delta^{(l+1)}` has mean square
    :math:`\operatorname{Var}[w]\,\|\delta^{(l+1)}\|^2
    = n_{l+1}\operatorname{Var}[w]\; \overline{(\delta^{(l+1)})^2}`, so the
    mean square of an entry of the error is multiplied by

    .. math::
        n_{l+1}\,\operatorname{Var}[w]\;\mathbb{E}\bigl[\phi'(z)^2\bigr],
        \qquad z \sim N(0, s^2),

    and this function returns its square root, the factor on the root mean
    square, :math:`\sqrt{n_{l+1}\operatorname{Var}[w]\,\mathbb{E}[\phi'(z)^2]}`.
    With ``z_std = 0`` it is the limit of a vanishing spread, the
    leading-order estimate :math:`|\phi'(0)|\sqrt{n_{l+1}\operatorname{Var}[w]}`
    (for the ReLU, whose derivative jumps from 0 to 1 at 0, the limit has
    :math:`\mathbb{E}[\phi'^2] = 1/2`, as for every spread); for the sigmoid with
    PyTorch's default weights, :math:`\operatorname{Var}[w] = 1/(3 n_l)`, that
    is :math:`\tfrac14\sqrt{n_{l+1}/(3 n_l)}`, which is
    :math:`\tfrac14\sqrt{1/3} \approx 0.144` only because a square layer has
    :math:`n_{l+1} = n_l`. (The squared *norm* of the error sums over
    :math:`n_l` entries, so it is multiplied by
    :math:`n_l \operatorname{Var}[w]\,\mathbb{E}[\phi'^2]`; for square layers
    the two factors agree.)

    The Gaussian average is a midpoint sum on a grid of step
    :math:`\min(s, 1)/64` over :math:`|z| < 12 s`, accurate to about 1e-10
    for the smooth activations and exact, by symmetry, for the ReLU's step
    derivative. This is the backward half of the variance analysis of Glorot &
    Bengio (2010), "Understanding the difficulty of training deep feedforward
    neural networks", AISTATS; the Gaussian average over the pre-activation is
    the mean-field treatment of Poole et al. (2016) and Schoenholz et al.
    (2017), who call the squared factor :math:`\chi_1`.

    Parameters
    ----------
    activation : str
        A name of ``gradlab.activations.NAMES`` (without parameters).
    fan_out : int
        :math:`n_{l+1}`, the number of units the error comes back from.
    weight_var : float
        :math:`\operatorname{Var}[w]` of the entries of :math:`W^{(l+1)}`
        (positive).
    z_std : float, default 0
        Standard deviation :math:`s` of the pre-activations :math:`z^{(l)}`
        (in ``[0, 1000]``), e.g. measured with
        :func:`gradlab.diagnostics.layer_statistics`.

    Returns
    -------
    float
        The predicted factor per layer on the root mean square of the error.

    Examples
    --------
    >>> round(predicted_layer_factor("sigmoid", 64, 1 / (3 * 64)), 4)
    0.1443
    >>> round(predicted_layer_factor("relu", 64, 2 / 64, z_std=1.0), 12)
    1.0
    >>> predicted_layer_factor("sigmoid", 64, 1 / (3 * 64), z_std=0.3) < 0.1443
    True
    """
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a str (a name of gradlab.activations.NAMES), "
                        f"got {type(activation).__name__}")
    fn = _activations.get(activation)
    fan_out = _v.positive_int(fan_out, "fan_out")
    weight_var = _v.real(weight_var, "weight_var", low=0.0, low_open=True)
    s = _v.real(z_std, "z_std", low=0.0, high=_MAX_Z_STD)
    with _v.quiet():
        if s == 0.0:  # the limit s -> 0: the mean of the one-sided limits of phi'^2 at 0
            mean_sq = float(np.mean(fn.derivative(np.array([-1e-300, 1e-300])) ** 2))
        else:
            h = min(s, 1.0) / _STEPS_PER_UNIT
            k = int(math.ceil(_HALF_WIDTH * s / h))
            z = (np.arange(-k, k) + 0.5) * h
            weights = np.exp(-0.5 * (z / s) ** 2) * (h / (s * math.sqrt(2.0 * math.pi)))
            mean_sq = float(np.sum(weights * fn.derivative(z) ** 2))
    return math.sqrt(fan_out * weight_var * mean_sq)


def fitted_layer_factor(norms, layers=None):
    r"""Measured factor per layer of back-propagation: a least-squares fit to per-layer norms.

    Fits :math:`\log_{10} g_l \approx c - l \log_{10} r` over the chosen
    layers :math:`l` (ordinary least squares of the log of the norm against
    the layer index) and returns :math:`r`, the factor by which the norm is
    multiplied per layer going back from the output towards the input: the
    measured counterpart of :func:`predicted_layer_factor`. A vanishing
    gradient (norms in forward order growing towards the output) gives
    :math:`r < 1`, an exploding one :math:`r > 1`. For an exact geometric
    sequence :math:`g_l = c\, r^{-l}` the fit returns :math:`r` itself.

    Parameters
    ----------
    norms : array_like
        Positive, finite per-layer norms in forward order, layer ``l`` at
        position ``l - 1`` (e.g. from
        :func:`gradlab.diagnostics.gradient_norms_by_layer`).
    layers : sequence of int, optional
        The layer indices (1-based) to fit over, at least two different ones;
        default all. E.g. ``range(2, L)`` leaves out the first and the last
        layer, whose shapes differ from the square hidden ones.

    Returns
    -------
    float
        :math:`r`, the fitted factor per layer of back-propagation.

    Examples
    --------
    >>> round(fitted_layer_factor([1e-3, 1e-2, 1e-1, 1.0]), 12)
    0.1
    >>> round(fitted_layer_factor([5.0, 8.0, 4.0, 2.0, 1.0], layers=[2, 3, 4, 5]), 12)
    2.0
    """
    g = _v.real_array(norms, "norms", positive=True)
    if g.ndim != 1 or g.size < 2:
        raise ValueError(f"norms must be a 1-D sequence of at least two norms, got shape {g.shape}")
    if layers is None:
        idx = np.arange(1, g.size + 1)
    else:
        if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
            raise TypeError(f"layers must be a sequence of ints, got {type(layers).__name__}")
        idx = np.array([_v.integer(l, f"layers[{i}]", minimum=1) for i, l in enumerate(layers)],
                       dtype=np.int64)
        if idx.size < 2 or np.unique(idx).size != idx.size:
            raise ValueError(f"layers must hold at least two different layer indices, got {idx.tolist()}")
        if idx.max() > g.size:
            raise ValueError(f"layers must be at most {g.size} (the number of norms), got {int(idx.max())}")
    x = idx.astype(np.float64)
    v = np.log10(g[idx - 1])
    xc = x - x.mean()
    slope = float(np.sum(xc * (v - v.mean())) / np.sum(xc * xc))
    return 10.0 ** (-slope)
