r"""Self-normalisation: the mean/variance map of a dense layer and its fixed point.

A dense layer computes :math:`z_i = \sum_j W_{ij} a_j` and :math:`a'_i = \phi(z_i)`.
If its inputs :math:`a_j` are independent with mean :math:`\mu` and variance
:math:`\nu`, the central limit theorem makes :math:`z_i` nearly normal, and the
mean and variance of :math:`a'_i` are Gaussian integrals of :math:`\phi`. That
defines a map :math:`g: (\mu, \nu) \mapsto (\mu', \nu')` from one layer to the
next (Klambauer et al., 2017). A point with :math:`g(\mu, \nu) = (\mu, \nu)` is a
*fixed point*; if it attracts, every layer of a deep stack pulls its
activations back towards it. SELU's constants :math:`\alpha` and
:math:`\lambda` are chosen so that :math:`(0, 1)` is such a point.

===============================  ==================================================
function                         what it computes
===============================  ==================================================
:func:`gaussian_moments`         mean and variance of :math:`\phi(z)`, :math:`z \sim N(m, v)`
:func:`layer_map`                one step of the map, for normalised or random weights
:func:`iterate_map`              the map iterated through depth
:func:`map_jacobian`             its Jacobian (how fast a fixed point attracts)
:func:`solve_selu_constants`     :math:`\alpha, \lambda` that make a given point fixed
:func:`forward_moments`          the measured mean and variance of every activation layer of a network
===============================  ==================================================

The moments have closed forms for the rectifier family
:math:`\phi(z) = \lambda\,[z\,1_{z>0} + (a z + \alpha(e^z - 1))\,1_{z \le 0}]`
(identity, ReLU, leaky ReLU, ELU and SELU are members); any other activation
is integrated numerically.

Examples
--------
>>> from gradlab import selfnorm
>>> m, v = selfnorm.gaussian_moments("selu", 0.0, 1.0)
>>> abs(m) < 1e-14, abs(v - 1) < 1e-14  # (0, 1) is a fixed point of SELU
(True, True)
"""

import math

import numpy as np

from . import _validate as _v
from . import activations as _act
from . import nn as _nn

__all__ = [
    "gaussian_moments",
    "layer_map",
    "iterate_map",
    "map_jacobian",
    "solve_selu_constants",
    "forward_moments",
]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2 = math.sqrt(2.0)
_TRUNCATE = 12.0  # standard deviations: the normal density beyond is below 1e-32
_NODES = 128  # Gauss-Legendre nodes per side of the kink


def _activation(activation, params):
    """An ActivationFunction from a name (with params) or an instance."""
    if isinstance(activation, _act.ActivationFunction):
        if params:
            raise TypeError("give params only with an activation name, not with an ActivationFunction")
        return activation
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a name or a gradlab.activations.ActivationFunction, "
                        f"got {type(activation).__name__}")
    return _act.get(activation, **params)


def _family(fn):
    """(slope a, alpha, scale lambda) if fn is in the closed-form family, else None."""
    if isinstance(fn, _act.SELU):
        return 0.0, fn.alpha, fn.scale
    if isinstance(fn, _act.ELU):
        return 0.0, fn.alpha, 1.0
    if isinstance(fn, _act.LeakyReLU):
        return fn.slope, 0.0, 1.0
    if isinstance(fn, _act.ReLU):
        return 0.0, 0.0, 1.0
    if isinstance(fn, _act.Identity):
        return 1.0, 0.0, 1.0
    return None


def _phi_cdf(x):
    """Standard normal CDF, accurate in both tails."""
    return 0.5 * _act.erfc(-x / _SQRT_2)


def _scaled_exp_tail(m, v, k):
    r""":math:`E[e^{k z} 1_{z \le 0}]` for :math:`z \sim N(m, v)`, k = 1 or 2, without overflow.

    Equals :math:`e^{k m + k^2 v/2}\,\Phi(-(m + k v)/s)`; for :math:`m + k v \ge 0`
    it is rewritten as :math:`\tfrac12 e^{-m^2/(2v)} \operatorname{erfcx}((m + k v)/(s\sqrt2))`.
    """
    s = np.sqrt(v)
    x = (m + k * v) / (s * _SQRT_2)
    out = np.empty(np.broadcast(m, v).shape)
    m, v, x = np.broadcast_arrays(m, v, x)
    pos = x >= 0
    out[pos] = 0.5 * np.exp(-m[pos] ** 2 / (2 * v[pos])) * _act.erfcx(x[pos])
    neg = ~pos
    out[neg] = 0.5 * np.exp(k * m[neg] + 0.5 * k * k * v[neg]) * _act.erfc(x[neg])
    return out


def _closed_moments(m, v, a, alpha, lam):
    """First and second moment of the rectifier family under N(m, v)."""
    s = np.sqrt(v)
    u = m / s
    p_pos, p_neg = _phi_cdf(u), _phi_cdf(-u)
    dens = _INV_SQRT_2PI * np.exp(-0.5 * u * u)
    z_pos = m * p_pos + s * dens  # E[z 1{z>0}]
    z_neg = m * p_neg - s * dens  # E[z 1{z<=0}]
    z2_pos = (m * m + v) * p_pos + m * s * dens
    z2_neg = (m * m + v) * p_neg - m * s * dens
    first = z_pos + a * z_neg
    second = z2_pos + a * a * z2_neg
    if alpha != 0.0:
        e1 = _scaled_exp_tail(m, v, 1)  # E[e^z 1{z<=0}]
        e2 = _scaled_exp_tail(m, v, 2)  # E[e^{2z} 1{z<=0}]
        first = first + alpha * (e1 - p_neg)
        second = second + alpha * alpha * (e2 - 2 * e1 + p_neg)
        if a != 0.0:
            # E[z e^z 1{z<=0}] = (m + v) E[e^z 1{z<=0}] - s phi(u)
            second = second + 2 * a * alpha * ((m + v) * e1 - s * dens - z_neg)
    return lam * first, lam * lam * second


def _quadrature_moments(fn, m, v, nodes):
    """First and second moment of fn under N(m, v) by Gauss-Legendre on each side of z = 0."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    s = np.sqrt(v)
    kink = np.clip(-m / s, -_TRUNCATE, _TRUNCATE)[..., None]  # z = 0 in standard units
    first = np.zeros(np.shape(m))
    second = np.zeros(np.shape(m))
    for lo, hi in ((-_TRUNCATE, kink), (kink, _TRUNCATE)):
        half = 0.5 * (hi - lo)
        u = lo + half * (t + 1.0)  # nodes mapped to [lo, hi]
        weight = half * w * _INV_SQRT_2PI * np.exp(-0.5 * u * u)
        f = fn.forward(m[..., None] + s[..., None] * u)
        first = first + np.sum(weight * f, axis=-1)
        second = second + np.sum(weight * f * f, axis=-1)
    return first, second


def gaussian_moments(activation="selu", mean=0.0, var=1.0, method="auto", nodes=_NODES, **params):
    r"""Mean and variance of :math:`\phi(z)` for :math:`z \sim N(\text{mean}, \text{var})`.

    .. math:: \mu' = \int \phi(z)\, dN(z), \qquad \nu' = \int \phi(z)^2\, dN(z) - \mu'^2

    ``method="closed"`` uses the closed forms of the rectifier family
    :math:`\phi(z) = \lambda[z 1_{z>0} + (a z + \alpha(e^z - 1)) 1_{z \le 0}]`
    (identity, relu, leaky_relu, elu, selu); with :math:`s = \sqrt v`,
    :math:`u = m/s` and :math:`\Phi, \varphi` the standard normal CDF and
    density, e.g. :math:`E[z 1_{z>0}] = m\Phi(u) + s\varphi(u)` and
    :math:`E[e^z 1_{z \le 0}] = e^{m + v/2}\Phi(-(m + v)/s)` (Klambauer et al.,
    2017, appendix), the exponential ones evaluated with
    :func:`gradlab.activations.erfcx` so that no overflow occurs for large
    variances. ``method="quadrature"`` integrates any activation numerically:
    Gauss-Legendre with ``nodes`` points on each side of the kink :math:`z = 0`
    over :math:`\pm 12` standard deviations. Splitting at the kink matters: the
    rectifiers are not smooth there, and plain Gauss-Hermite quadrature would
    converge only slowly; on each side the integrand is smooth and the rule
    converges exponentially (about 1e-14 relative for the rectifiers with
    ``var`` up to about 100). ``"auto"`` takes the closed form when there is one.

    Parameters
    ----------
    activation : str or gradlab.activations.ActivationFunction, default "selu"
    mean, var : float or array_like
        The normal distribution of z (``var > 0``); broadcast together.
    method : {"auto", "closed", "quadrature"}
    nodes : int, default 128
    **params
        Parameters of a named activation (e.g. ``slope=0.1``).

    Returns
    -------
    (mean, var) : floats, or float64 arrays of the broadcast shape

    Examples
    --------
    >>> m, v = gaussian_moments("relu", 0.0, 1.0)  # 1/sqrt(2 pi) and 1/2 - 1/(2 pi)
    >>> round(m, 12), round(v, 12)
    (0.398942280401, 0.340845056908)
    >>> q = gaussian_moments("gelu", 0.0, 1.0, method="quadrature")  # E[z Phi(z)] = 1/(2 sqrt(pi))
    >>> round(q[0] * 2 * math.sqrt(math.pi), 12)
    1.0
    """
    fn = _activation(activation, params)
    method = _v.choice(method, "method", ("auto", "closed", "quadrature"))
    nodes = _v.integer(nodes, "nodes", minimum=2)
    m = _v.real_array(mean, "mean")
    v = _v.real_array(var, "var", positive=True)
    m, v = np.broadcast_arrays(m, v)
    family = _family(fn)
    if method == "closed" and family is None:
        raise ValueError(f"method must be 'quadrature' for {fn.name!r}: closed forms exist only for "
                         "identity, relu, leaky_relu, elu and selu")
    with _v.quiet():
        if family is not None and method != "quadrature":
            first, second = _closed_moments(m, v, *family)
        else:
            first, second = _quadrature_moments(fn, m, v, nodes)
    var_out = second - first * first
    if first.ndim == 0:
        return float(first), float(var_out)
    return first, var_out


_WEIGHTS = ("normalised", "random")


def layer_map(mean, var, activation="selu", omega=0.0, tau=1.0, weights="normalised", **params):
    r"""One step of the mean/variance map :math:`g(\mu, \nu) = (\mu', \nu')` of a dense layer.

    ``weights="normalised"`` is the map of Klambauer et al. (2017), eq. (3):
    a unit whose incoming weights have sum :math:`\omega = \sum_j W_{ij}` and
    squared sum :math:`\tau = \sum_j W_{ij}^2`, fed independent inputs of mean
    :math:`\mu` and variance :math:`\nu`, has
    :math:`z \sim N(\mu\omega, \nu\tau)`, and

    .. math:: \mu' = E[\phi(z)], \qquad \nu' = \operatorname{Var}[\phi(z)].

    ``weights="random"`` is the same layer with i.i.d. weights of variance
    :math:`\tau/n` (LeCun normal: :math:`\tau = 1`; He: 2; :math:`N(0, 1)`:
    :math:`\tau = n`), pooled over its many units, the mean-field map of
    Poole et al. (2016). Each unit's :math:`\omega` is then itself random,
    :math:`N(0, \tau)`, and pooled over units
    :math:`z \sim N(0, \tau(\mu^2 + \nu))`; ``omega`` is not used. This is
    what the mean and variance of all the activations of a wide random layer
    follow. Both maps agree where :math:`\mu = 0`. Its second moment is the
    variance map of the initialisation chapter in other variables:
    :math:`\tau(\mu'^2 + \nu') =` ``gradlab.meanfield.variance_map(``
    :math:`\tau(\mu^2 + \nu)`, :math:`\sqrt\tau` ``)``; this map also
    carries the mean, which SELU's fixed point needs.

    Parameters
    ----------
    mean, var : float or array_like
        :math:`\mu` and :math:`\nu > 0` of the layer's input.
    activation : str or ActivationFunction, default "selu"
    omega, tau : float
        Weight sum and squared sum (``tau > 0``).
    weights : {"normalised", "random"}
    **params
        Parameters of a named activation.

    Returns
    -------
    (mean, var) of the layer's output.

    Examples
    --------
    >>> m, v = layer_map(0.5, 2.0)  # SELU, normalised weights: pulled towards (0, 1)
    >>> bool(abs(m) < 0.5 and abs(v - 1) < 1)
    True
    >>> layer_map(0.0, 1.0, "identity", tau=2.0)
    (0.0, 2.0)
    """
    omega = _v.real(omega, "omega")
    tau = _v.real(tau, "tau", low=0.0, low_open=True)
    weights = _v.choice(weights, "weights", _WEIGHTS)
    m = _v.real_array(mean, "mean")
    v = _v.real_array(var, "var", positive=True)
    with _v.quiet():  # an overflow to inf is refused by gaussian_moments, with a message
        if weights == "normalised":
            z_mean, z_var = omega * m, tau * v
        else:
            z_mean, z_var = np.zeros_like(m + v), tau * (m * m + v)
    return gaussian_moments(activation, z_mean, z_var, **params)


def iterate_map(mean, var, depth, activation="selu", omega=0.0, tau=1.0, weights="normalised", **params):
    r"""The map :func:`layer_map` applied ``depth`` times: the predicted moments of every layer.

    Starting from the input's :math:`(\mu_0, \nu_0)`, returns
    :math:`(\mu_l, \nu_l) = g(\mu_{l-1}, \nu_{l-1})` for :math:`l = 0, \dots,`
    ``depth``. Stops early (the rest NaN) if the variance overflows to ``inf``.

    Parameters
    ----------
    mean, var : float
        Moments of the input (``var > 0``).
    depth : int
        Number of layers (>= 0).
    activation, omega, tau, weights, **params
        As for :func:`layer_map`.

    Returns
    -------
    means, variances : numpy.ndarray, shape (depth + 1,)

    Examples
    --------
    >>> means, variances = iterate_map(1.0, 3.0, 60)
    >>> round(float(means[-1]), 4) + 0.0, round(float(variances[-1]), 4)  # the fixed point (0, 1)
    (0.0, 1.0)
    """
    depth = _v.integer(depth, "depth", minimum=0)
    m = _v.real(mean, "mean")
    v = _v.real(var, "var", low=0.0, low_open=True)
    means = np.full(depth + 1, np.nan)
    variances = np.full(depth + 1, np.nan)
    means[0], variances[0] = m, v
    for l in range(1, depth + 1):
        with _v.quiet():
            z_var = tau * v if weights == "normalised" else tau * (m * m + v)
        if not math.isfinite(z_var):  # the pre-activation's variance overflowed
            break
        m, v = layer_map(m, v, activation, omega=omega, tau=tau, weights=weights, **params)
        if not (math.isfinite(v) and v > 0 and math.isfinite(m)):
            break
        means[l], variances[l] = m, v
    return means, variances


def map_jacobian(mean=0.0, var=1.0, activation="selu", omega=0.0, tau=1.0, weights="normalised",
                 step=1e-5, **params):
    r"""Jacobian of the map :math:`g` at :math:`(\mu, \nu)`, by central differences.

    .. math:: J = \begin{pmatrix} \partial\mu'/\partial\mu & \partial\mu'/\partial\nu \\
                                 \partial\nu'/\partial\mu & \partial\nu'/\partial\nu \end{pmatrix}

    At a fixed point, deviations shrink by the factors of the eigenvalues of
    :math:`J` per layer: the point attracts if its spectral radius is below
    one (Klambauer et al., 2017, Theorem 1 bound its spectral norm). Central
    differences of the float64 closed forms with relative step ``step`` are
    accurate to about 1e-9.

    Parameters
    ----------
    mean, var : float
    activation, omega, tau, weights, **params
        As for :func:`layer_map`.
    step : float, default 1e-5

    Returns
    -------
    numpy.ndarray, shape (2, 2)

    Examples
    --------
    >>> J = map_jacobian()  # SELU at (0, 1), normalised weights with omega = 0
    >>> bool(abs(J[0, 0]) < 1e-9 and 0 < np.max(np.abs(np.linalg.eigvals(J))) < 1)
    True
    """
    m = _v.real(mean, "mean")
    v = _v.real(var, "var", low=0.0, low_open=True)
    step = _v.real(step, "step", low=0.0, low_open=True)
    J = np.empty((2, 2))
    for k, (dm, dv) in enumerate(((step * max(1.0, abs(m)), 0.0), (0.0, step * v))):
        hi = layer_map(m + dm, v + dv, activation, omega=omega, tau=tau, weights=weights, **params)
        lo = layer_map(m - dm, v - dv, activation, omega=omega, tau=tau, weights=weights, **params)
        J[:, k] = (np.array(hi) - np.array(lo)) / (2 * (dm + dv))
    return J


def _selu_integrals(m, v, nodes):
    """A = E[z 1+], B = E[(e^z - 1) 1-], C = E[z^2 1+], D = E[(e^z - 1)^2 1-] by quadrature."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    s = math.sqrt(v)
    kink = min(max(-m / s, -_TRUNCATE), _TRUNCATE)
    out = []
    for lo, hi, f in ((kink, _TRUNCATE, lambda z: z), (-_TRUNCATE, kink, np.expm1)):
        half = 0.5 * (hi - lo)
        u = lo + half * (t + 1.0)
        weight = half * w * _INV_SQRT_2PI * np.exp(-0.5 * u * u)
        g = f(m + s * u)
        out.append((float(np.sum(weight * g)), float(np.sum(weight * g * g))))
    (A, C), (B, D) = out
    return A, B, C, D


def solve_selu_constants(mean=0.0, var=1.0, omega=0.0, tau=1.0, tol=1e-15, max_iter=50, nodes=_NODES):
    r"""The SELU constants :math:`(\alpha, \lambda)` for which :math:`(\mu, \nu)` is a fixed point.

    Solves the two fixed-point conditions of the map :func:`layer_map`
    (normalised weights) by Newton's method,

    .. math:: \mu' = \lambda (A + \alpha B) = \mu, \qquad
              \nu' = \lambda^2 (C + \alpha^2 D) - \lambda^2 (A + \alpha B)^2 = \nu,

    where, for :math:`z \sim N(\mu\omega, \nu\tau)`, :math:`A = E[z 1_{z>0}]`,
    :math:`B = E[(e^z - 1) 1_{z \le 0}]`, :math:`C = E[z^2 1_{z>0}]` and
    :math:`D = E[(e^z - 1)^2 1_{z \le 0}]` do not depend on
    :math:`\alpha, \lambda`; they are computed by Gauss-Legendre quadrature on
    each side of the kink (not from the closed forms). For
    :math:`(\mu, \nu) = (0, 1)`, :math:`\omega = 0`, :math:`\tau = 1` the
    solution is Klambauer et al.'s (2017) :math:`\alpha_{01} \approx 1.6733`,
    :math:`\lambda_{01} \approx 1.0507`. Newton starts from ELU's
    :math:`(1, 1)` and stops when a step changes both by less than ``tol``
    (relative).

    Parameters
    ----------
    mean, var : float
        The fixed point wanted (``var > 0``).
    omega, tau : float
        Weight sum and squared sum of the layer (``tau > 0``).
    tol : float, default 1e-15
    max_iter : int, default 50
    nodes : int, default 128
        Quadrature nodes per side of the kink.

    Returns
    -------
    (alpha, scale) : floats

    Raises
    ------
    ValueError
        If Newton's method does not converge (no positive solution near ELU).

    Examples
    --------
    >>> alpha, scale = solve_selu_constants()
    >>> round(alpha, 10), round(scale, 10)
    (1.6732632424, 1.0507009874)
    """
    mu = _v.real(mean, "mean")
    nu = _v.real(var, "var", low=0.0, low_open=True)
    omega = _v.real(omega, "omega")
    tau = _v.real(tau, "tau", low=0.0, low_open=True)
    tol = _v.real(tol, "tol", low=0.0, low_open=True)
    max_iter = _v.positive_int(max_iter, "max_iter")
    nodes = _v.integer(nodes, "nodes", minimum=2)
    A, B, C, D = _selu_integrals(mu * omega, nu * tau, nodes)
    alpha, lam = 1.0, 1.0
    for _ in range(max_iter):
        mean_out = A + alpha * B
        second = C + alpha * alpha * D
        F = np.array([lam * mean_out - mu, lam * lam * (second - mean_out * mean_out) - nu])
        J = np.array([
            [lam * B, mean_out],
            [2 * lam * lam * (alpha * D - mean_out * B), 2 * lam * (second - mean_out * mean_out)],
        ])
        d_alpha, d_lam = np.linalg.solve(J, -F)
        alpha, lam = alpha + d_alpha, lam + d_lam
        if abs(d_alpha) <= tol * abs(alpha) and abs(d_lam) <= tol * abs(lam):
            break
    else:
        if not (abs(d_alpha) <= 1e3 * tol * abs(alpha) and abs(d_lam) <= 1e3 * tol * abs(lam)):
            raise ValueError(f"Newton's method did not converge for mean={mu!r}, var={nu!r}, "
                             f"omega={omega!r}, tau={tau!r} (last alpha={alpha!r}, lambda={lam!r})")
    if not (math.isfinite(alpha) and math.isfinite(lam) and lam > 0):
        raise ValueError(f"no SELU constants make (mean={mu!r}, var={nu!r}) a fixed point "
                         f"(Newton's method ended at alpha={alpha!r}, lambda={lam!r})")
    return float(alpha), float(lam)


def forward_moments(model, x, after=None):
    r"""Measured mean and variance after every activation layer of a network, pooled over units and examples.

    Runs ``model.layers`` one at a time on ``x`` (in the model's current
    mode) and, after each activation layer (``Activation``, ``PReLU``,
    ``RReLU``), records the mean and (population) variance of all entries of
    its output, the quantities :func:`iterate_map` predicts with
    ``weights="random"``. Non-finite outputs give NaN.

    Parameters
    ----------
    model : gradlab.nn.Sequential
    x : numpy.ndarray, shape (batch, features)
    after : type or tuple of types, optional
        Record after the top-level layers of these types instead (e.g.
        ``gradlab.nn.Residual`` for a stack of residual blocks).

    Returns
    -------
    means, variances : numpy.ndarray, one entry per recorded layer

    Examples
    --------
    >>> from gradlab import nn
    >>> rng = np.random.default_rng(0)
    >>> net = nn.mlp([64] * 11, "selu", rng, init="lecun_normal", bias_init="zeros")
    >>> means, variances = forward_moments(net, rng.standard_normal((256, 64)))
    >>> means.shape, bool(np.all(np.abs(variances - 1) < 0.3))
    ((9,), True)
    """
    if not isinstance(model, _nn.Sequential):
        raise TypeError(f"model must be a gradlab.nn.Sequential, got {type(model).__name__}")
    _v.float_array(x, "x", ndim=2, shape="(batch, features)", nonempty=True)
    if after is None:
        after = (_nn.Activation, _nn.PReLU, _nn.RReLU)
    kinds = after if isinstance(after, tuple) else (after,)
    if not kinds or not all(isinstance(k, type) and issubclass(k, _nn.Layer) for k in kinds):
        raise TypeError(f"after must be a gradlab.nn layer class or a tuple of them, got {after!r}")
    means, variances = [], []
    h = x
    with _v.quiet():
        for layer in model.layers:
            h = layer.forward(h)
            if isinstance(layer, kinds):
                hd = h.astype(np.float64, copy=False)
                means.append(float(np.mean(hd)))
                variances.append(float(np.var(hd)))
    out_m, out_v = np.array(means), np.array(variances)
    bad = ~(np.isfinite(out_m) & np.isfinite(out_v))
    out_m[bad] = np.nan
    out_v[bad] = np.nan
    return out_m, out_v
