"""Activation functions phi(z) and their elementwise derivatives phi'(z).

Each activation is a small class with ``forward(z)`` (the value phi(z)),
``derivative(z)`` (the elementwise derivative dphi/dz, what back-propagation
multiplies the incoming gradient by) and a ``name``. Build them by name with
:func:`get`; the valid names are in the module-level tuple ``NAMES``.

All of them accept a floating-point array of any shape, keep its dtype
(float16, float32 or float64 in, the same dtype out) and compute under
``np.errstate`` so that a diverging network never sprays warnings.

Examples
--------
>>> import numpy as np
>>> from gradlab import activations
>>> act = activations.get("tanh")
>>> z = np.array([0.0, 1.0], dtype=np.float32)
>>> act.forward(z).dtype, act.derivative(z)[0]
(dtype('float32'), np.float32(1.0))
>>> "gelu" in activations.NAMES
True
"""

import inspect
import math

import numpy as np

from . import _validate as _v

__all__ = [
    "ActivationFunction",
    "Identity",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "SELU",
    "GELU",
    "SiLU",
    "Softplus",
    "erf",
    "erfc",
    "erfcx",
    "get",
]

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------
# The error function, float64-accurate, vectorised, without scipy.
# --------------------------------------------------------------------------

_ERF_SWITCH = 2.0  # below: power series; above: continued fraction for erfc
_SERIES_TERMS = 32  # enough for |x| < 2 to reach rounding level (checked in tests)
_CF_DEPTH = 60  # enough for x >= 2 to reach rounding level (checked in tests)


def _erf_series(x):
    # Abramowitz & Stegun 7.1.6: erf x = 2/sqrt(pi) e^{-x^2} sum_k 2^k x^{2k+1}/(1*3*...*(2k+1)).
    # Every term is positive (for x > 0), so unlike the alternating Taylor
    # series there is no cancellation and the sum is accurate to a few ulp.
    two_x2 = 2.0 * x * x
    term = x.copy()
    total = x.copy()
    for k in range(1, _SERIES_TERMS):
        term *= two_x2
        term /= 2 * k + 1
        total += term
    return (2.0 / _SQRT_PI) * np.exp(-x * x) * total


def _erfcx_cf(x):
    # Abramowitz & Stegun 7.1.14 (Laplace's continued fraction), for x > 0:
    # erfc x = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))).
    # Evaluated bottom-up at a fixed depth; relative accuracy ~1e-15 for x >= 2.
    # This returns the fraction without its factor e^{-x^2}, that is erfcx(x).
    f = x.copy()
    for k in range(_CF_DEPTH, 0, -1):
        f = x + (0.5 * k) / f
    return 1.0 / (_SQRT_PI * f)


def _erfc_cf(x):
    return np.exp(-x * x) * _erfcx_cf(x)


def erfc(x):
    r"""Complementary error function :math:`\operatorname{erfc}(x) = 1 - \operatorname{erf}(x)`.

    .. math:: \operatorname{erfc}(x) = \frac{2}{\sqrt\pi}\int_x^\infty e^{-t^2}\,dt

    Computed in float64 (and returned in the input dtype) with the power
    series of Abramowitz & Stegun (1964) 7.1.6 for :math:`|x| < 2` and the
    continued fraction 7.1.14 for :math:`|x| \ge 2`: absolute error about
    1e-15, relative error below 1e-12 everywhere and about 1e-15 in the tail
    (``erfc(10)`` ~ 2e-45), so the GELU of a very negative input is accurate too. No scipy needed.

    Parameters
    ----------
    x : array_like of float

    Returns
    -------
    ndarray, same shape and dtype as ``x``.

    Examples
    --------
    >>> import math, numpy as np
    >>> x = np.array([-1.0, 0.0, 3.0])
    >>> bool(np.allclose(erfc(x), [math.erfc(v) for v in x], rtol=1e-14, atol=0))
    True
    """
    x = _v.float_array(np.asarray(x), "x")
    xd = x.astype(np.float64)
    out = np.empty_like(xd)
    with _v.quiet():
        small = np.abs(xd) < _ERF_SWITCH
        out[small] = 1.0 - _erf_series(xd[small])
        pos = xd >= _ERF_SWITCH
        out[pos] = _erfc_cf(xd[pos])
        neg = xd <= -_ERF_SWITCH
        out[neg] = 2.0 - _erfc_cf(-xd[neg])
        nan = np.isnan(xd)
        out[nan] = np.nan
    return out.astype(x.dtype, copy=False)


def erf(x):
    r"""Error function :math:`\operatorname{erf}(x) = \frac{2}{\sqrt\pi}\int_0^x e^{-t^2}\,dt`.

    Vectorised and accurate to about 1e-15 (absolute) in float64, computed as
    in :func:`erfc` (Abramowitz & Stegun 1964, 7.1.6 and 7.1.14). Returns the
    input dtype.

    Parameters
    ----------
    x : array_like of float

    Returns
    -------
    ndarray, same shape and dtype as ``x``.

    Examples
    --------
    >>> import math, numpy as np
    >>> x = np.array([-0.5, 0.0, 1.0, 4.0])
    >>> bool(np.allclose(erf(x), [math.erf(v) for v in x], rtol=0, atol=1e-15))
    True
    """
    x = _v.float_array(np.asarray(x), "x")
    xd = x.astype(np.float64)
    out = np.empty_like(xd)
    with _v.quiet():
        small = np.abs(xd) < _ERF_SWITCH
        out[small] = _erf_series(xd[small])
        big = ~small
        ax = np.abs(xd[big])
        out[big] = np.sign(xd[big]) * (1.0 - _erfc_cf(ax))
    return out.astype(x.dtype, copy=False)


def erfcx(x):
    r"""Scaled complementary error function :math:`\operatorname{erfcx}(x) = e^{x^2}\operatorname{erfc}(x)`.

    For large positive x, :math:`e^{x^2}` overflows and
    :math:`\operatorname{erfc}(x)` underflows while their product, about
    :math:`1/(x\sqrt\pi)`, is of order one. Gaussian integrals of exponentials,
    such as :math:`E[e^{z} 1_{z \le 0}]` for a wide normal z (the moments of ELU
    and SELU units), are products of this kind. For :math:`x \ge 2` the
    continued fraction of :func:`erfc` (Abramowitz & Stegun, 1964, 7.1.14) is
    evaluated without its factor :math:`e^{-x^2}`; below 2,
    :math:`e^{x^2}\operatorname{erfc}(x)` is computed directly (it overflows to
    ``inf`` only where the true value does, below about -26.6). Relative
    accuracy about 1e-15 for :math:`x \ge 2` and, inherited from
    :func:`erfc`, about 1e-13 just below 2; returns the input dtype.

    Parameters
    ----------
    x : array_like of float

    Returns
    -------
    ndarray, same shape and dtype as ``x``.

    Examples
    --------
    >>> import math, numpy as np
    >>> bool(np.isclose(erfcx(np.array(1.5)), math.exp(2.25) * math.erfc(1.5), rtol=1e-14, atol=0))
    True
    >>> x = 1e3  # erfcx(x) x sqrt(pi) = 1 - 1/(2 x^2) + O(x^-4)
    >>> round(float(erfcx(np.array(x))) * x * math.sqrt(math.pi), 9)
    0.9999995
    """
    x = _v.float_array(np.asarray(x), "x")
    xd = x.astype(np.float64)
    out = np.empty_like(xd)
    with _v.quiet():
        big = xd >= _ERF_SWITCH
        out[big] = _erfcx_cf(xd[big])
        rest = ~big
        out[rest] = np.exp(xd[rest] * xd[rest]) * erfc(xd[rest])
    return out.astype(x.dtype, copy=False)


# --------------------------------------------------------------------------
# Activation classes
# --------------------------------------------------------------------------


class ActivationFunction:
    """Base class: an elementwise function phi with its derivative.

    Subclasses implement ``_forward(z)`` and ``_derivative(z)`` for a validated
    floating ndarray; the public ``forward``/``derivative`` check the input,
    keep its dtype and silence floating-point warnings.

    Examples
    --------
    >>> import numpy as np
    >>> act = get("relu")
    >>> isinstance(act, ActivationFunction), act(np.array([-1.0, 2.0])).tolist()
    (True, [0.0, 2.0])
    """

    name = "base"

    def forward(self, z):
        """phi(z), elementwise; same shape and dtype as ``z``."""
        z = _v.float_array(np.asarray(z), "z")
        with _v.quiet():
            # 1-d view so the in-place arithmetic below also works for 0-d input
            return self._forward(z.reshape(-1) if z.ndim == 0 else z).reshape(z.shape)

    def derivative(self, z):
        """dphi/dz evaluated elementwise at ``z``; same shape and dtype as ``z``."""
        z = _v.float_array(np.asarray(z), "z")
        with _v.quiet():
            return self._derivative(z.reshape(-1) if z.ndim == 0 else z).reshape(z.shape)

    __call__ = forward

    def params(self):
        """The activation's parameters as a dict (empty for most)."""
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    def _forward(self, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def _derivative(self, z):  # pragma: no cover - abstract
        raise NotImplementedError


def _where_positive(z, pos, neg):
    """Array of z's dtype holding ``pos`` where z > 0 and ``neg`` elsewhere."""
    # A boolean mask cast to z's dtype is several times faster than np.where with
    # scalars, and this derivative sits on the hot path of every ReLU layer.
    if pos == 1 and neg == 0:
        return (z > 0).astype(z.dtype)
    t = z.dtype.type  # typed scalars, so the result keeps z's dtype
    return np.where(z > 0, t(pos), t(neg))


class Identity(ActivationFunction):
    r"""Identity (linear) activation.

    .. math:: \phi(z) = z, \qquad \phi'(z) = 1

    Examples
    --------
    >>> import numpy as np
    >>> Identity().derivative(np.array([-3.0, 5.0])).tolist()
    [1.0, 1.0]
    """

    name = "identity"

    def _forward(self, z):
        return z.copy()

    def _derivative(self, z):
        return np.ones_like(z)


class Sigmoid(ActivationFunction):
    r"""Logistic sigmoid, computed without overflow.

    .. math:: \sigma(z) = \frac{1}{1 + e^{-z}}, \qquad
              \sigma'(z) = \sigma(z)\,(1 - \sigma(z)) = \frac{e^{-|z|}}{(1 + e^{-|z|})^2}

    With :math:`e = e^{-|z|} \le 1` (never overflows), :math:`\sigma(z) = 1/(1+e)`
    for :math:`z \ge 0` and :math:`e/(1+e)` for :math:`z < 0`. The derivative
    uses the symmetric form so it keeps full relative precision in both tails
    (``s * (1 - s)`` would round to 0 for large positive z). Its maximum 1/4
    at z = 0 is why deep sigmoid networks lose gradient (Hochreiter, 1991;
    Glorot & Bengio, 2010).

    Examples
    --------
    >>> import numpy as np
    >>> s = Sigmoid()
    >>> s.forward(np.array([-1e4, 0.0, 1e4], dtype=np.float32)).tolist()
    [0.0, 0.5, 1.0]
    >>> float(s.derivative(np.array(0.0)))
    0.25
    """

    name = "sigmoid"

    def _forward(self, z):
        e = np.exp(-np.abs(z))
        out = 1.0 / (1.0 + e)
        neg = z < 0
        out[neg] = e[neg] * out[neg]
        return out

    def _derivative(self, z):
        e = np.exp(-np.abs(z))
        return e / ((1.0 + e) * (1.0 + e))


class Tanh(ActivationFunction):
    r"""Hyperbolic tangent.

    .. math:: \phi(z) = \tanh z, \qquad \phi'(z) = 1 - \tanh^2 z

    Examples
    --------
    >>> import numpy as np
    >>> Tanh().derivative(np.array([0.0])).tolist()
    [1.0]
    """

    name = "tanh"

    def _forward(self, z):
        return np.tanh(z)

    def _derivative(self, z):
        t = np.tanh(z)
        return 1.0 - t * t


class ReLU(ActivationFunction):
    r"""Rectified linear unit (Nair & Hinton, 2010; Glorot et al., 2011).

    .. math:: \phi(z) = \max(z, 0), \qquad
              \phi'(z) = \begin{cases} 1 & z > 0 \\ 0 & z \le 0 \end{cases}

    The derivative at the kink z = 0 is a convention; like PyTorch we use 0.

    Examples
    --------
    >>> import numpy as np
    >>> ReLU().derivative(np.array([-1.0, 0.0, 2.0])).tolist()
    [0.0, 0.0, 1.0]
    """

    name = "relu"

    def _forward(self, z):
        return np.maximum(z, 0)

    def _derivative(self, z):
        return _where_positive(z, 1, 0)


class LeakyReLU(ActivationFunction):
    r"""Leaky ReLU (Maas et al., 2013) with a fixed negative slope a.

    .. math:: \phi(z) = \begin{cases} z & z > 0 \\ a z & z \le 0 \end{cases}, \qquad
              \phi'(z) = \begin{cases} 1 & z > 0 \\ a & z \le 0 \end{cases}

    Parameters
    ----------
    slope : float, default 0.01
        The negative slope a (PyTorch's ``negative_slope`` default). The
        derivative at 0 is a, as in PyTorch.

    Examples
    --------
    >>> import numpy as np
    >>> LeakyReLU(slope=0.1).forward(np.array([-2.0, 3.0])).tolist()
    [-0.2, 3.0]
    """

    name = "leaky_relu"

    def __init__(self, slope=0.01):
        self.slope = _v.real(slope, "slope")

    def params(self):
        return {"slope": self.slope}

    def _forward(self, z):
        out = z.copy()
        neg = z <= 0
        out[neg] *= self.slope
        return out

    def _derivative(self, z):
        return _where_positive(z, 1, self.slope)


class ELU(ActivationFunction):
    r"""Exponential linear unit (Clevert et al., 2016).

    .. math:: \phi(z) = \begin{cases} z & z > 0 \\ \alpha (e^z - 1) & z \le 0 \end{cases},
              \qquad
              \phi'(z) = \begin{cases} 1 & z > 0 \\ \alpha e^z & z \le 0 \end{cases}

    ``expm1`` keeps :math:`e^z - 1` accurate for small negative z, and the
    exponential is only evaluated on :math:`\min(z, 0)` so it cannot overflow.

    Parameters
    ----------
    alpha : float, default 1.0

    Examples
    --------
    >>> import numpy as np
    >>> ELU().derivative(np.array([0.0, 1.0])).tolist()
    [1.0, 1.0]
    """

    name = "elu"

    def __init__(self, alpha=1.0):
        self.alpha = _v.real(alpha, "alpha")

    def params(self):
        return {"alpha": self.alpha}

    def _forward(self, z):
        neg = self.alpha * np.expm1(np.minimum(z, 0))
        return np.where(z > 0, z, neg)

    def _derivative(self, z):
        neg = self.alpha * np.exp(np.minimum(z, 0))
        return np.where(z > 0, z.dtype.type(1), neg)


class SELU(ELU):
    r"""Scaled ELU (Klambauer et al., 2017), self-normalising.

    .. math:: \phi(z) = \lambda \begin{cases} z & z > 0 \\ \alpha (e^z - 1) & z \le 0 \end{cases}

    with :math:`\alpha = 1.6732632423543772` and :math:`\lambda = 1.0507009873554805`
    (PyTorch's constants), chosen so that mean 0 / variance 1 is a stable
    fixed point of a dense layer with LeCun-normal weights (variance 1/fan_in).

    Parameters
    ----------
    alpha, scale : float
        Defaults are the paper's constants; other values lose self-normalisation.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(SELU().derivative(np.array(1.0))), 6)
    1.050701
    """

    name = "selu"

    def __init__(self, alpha=1.6732632423543772, scale=1.0507009873554805):
        super().__init__(alpha)
        self.scale = _v.real(scale, "scale")

    def params(self):
        return {"alpha": self.alpha, "scale": self.scale}

    def _forward(self, z):
        out = super()._forward(z)
        out *= self.scale
        return out

    def _derivative(self, z):
        out = super()._derivative(z)
        out *= self.scale
        return out


class GELU(ActivationFunction):
    r"""Gaussian error linear unit, exact form (Hendrycks & Gimpel, 2016).

    .. math:: \phi(z) = z\,\Phi(z), \quad \Phi(z) = \tfrac12 \operatorname{erfc}(-z/\sqrt2),
              \qquad \phi'(z) = \Phi(z) + z\,\varphi(z), \quad
              \varphi(z) = \frac{e^{-z^2/2}}{\sqrt{2\pi}}

    This is PyTorch's default ``approximate='none'``, not the tanh
    approximation. The normal CDF uses the float64 :func:`erfc` of this
    module (no scipy); ``erfc`` rather than ``1 + erf`` keeps relative
    accuracy for very negative z.

    Examples
    --------
    >>> import numpy as np
    >>> g = GELU()
    >>> float(g.forward(np.array(0.0))), float(g.derivative(np.array(0.0)))
    (0.0, 0.5)
    """

    name = "gelu"

    def _cdf(self, z):
        return 0.5 * erfc(-z / _SQRT_2)

    def _forward(self, z):
        return z * self._cdf(z)

    def _derivative(self, z):
        return self._cdf(z) + z * (_INV_SQRT_2PI * np.exp(-0.5 * z * z))


class SiLU(ActivationFunction):
    r"""Sigmoid-weighted linear unit, a.k.a. swish (Elfwing et al., 2018; Ramachandran et al., 2017).

    .. math:: \phi(z) = z\,\sigma(z), \qquad
              \phi'(z) = \sigma(z)\,\bigl(1 + z\,\sigma(-z)\bigr)

    using :math:`1 - \sigma(z) = \sigma(-z)` to avoid cancellation.

    Examples
    --------
    >>> import numpy as np
    >>> float(SiLU().derivative(np.array(0.0)))
    0.5
    """

    name = "silu"

    _sigmoid = Sigmoid()

    def _forward(self, z):
        return z * self._sigmoid._forward(z)

    def _derivative(self, z):
        s = self._sigmoid._forward(z)
        return s * (1.0 + z * self._sigmoid._forward(-z))


class Softplus(ActivationFunction):
    r"""Softplus, a smooth ReLU (Dugas et al., 2001), computed stably.

    .. math:: \phi(z) = \frac{1}{\beta}\log\bigl(1 + e^{\beta z}\bigr)
              = \max(z, 0) + \frac{1}{\beta}\log\bigl(1 + e^{-\beta |z|}\bigr),
              \qquad \phi'(z) = \sigma(\beta z)

    The right-hand form never overflows. PyTorch additionally switches to the
    identity above ``threshold=20``; we use the exact stable form everywhere.

    Parameters
    ----------
    beta : float, default 1.0
        Must be positive.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(Softplus().forward(np.array(0.0))), 6)
    0.693147
    >>> float(Softplus().forward(np.array(1e4)))
    10000.0
    """

    name = "softplus"

    _sigmoid = Sigmoid()

    def __init__(self, beta=1.0):
        self.beta = _v.real(beta, "beta", low=0.0, low_open=True)

    def params(self):
        return {"beta": self.beta}

    def _forward(self, z):
        bz = self.beta * z if self.beta != 1.0 else z
        out = np.maximum(bz, 0) + np.log1p(np.exp(-np.abs(bz)))
        if self.beta != 1.0:
            out /= self.beta
        return out

    def _derivative(self, z):
        bz = self.beta * z if self.beta != 1.0 else z
        return self._sigmoid._forward(bz)


_REGISTRY = {
    cls.name: cls
    for cls in (
        Identity, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, SELU, GELU, SiLU, Softplus
    )
}

#: The valid activation names, in the order of the book's table.
NAMES = tuple(_REGISTRY)

# Rectifiers whose slope is not a fixed number: a fixed-slope stand-in under
# their name would let a reader train a "PReLU network" that learns no slope.
_LAYERS_NOT_FUNCTIONS = {
    "prelu": (
        "'prelu' learns its negative slope, so it is a layer, not a fixed function: use "
        "gradlab.nn.PReLU() (or nn.mlp(sizes, 'prelu', rng)); for a fixed slope a use "
        "get('leaky_relu', slope=a)"
    ),
    "rrelu": (
        "'rrelu' draws random negative slopes in training, so it is a layer, not a fixed "
        "function: use gradlab.nn.RReLU(rng=rng) (or nn.mlp(sizes, 'rrelu', rng)); its "
        "evaluation-mode slope (lower + upper)/2 = 11/48 is get('leaky_relu', slope=11/48)"
    ),
}


def get(name, **params):
    """Return the activation called ``name``, built with ``params``.

    Parameters
    ----------
    name : str
        One of ``NAMES``: identity, sigmoid, tanh, relu, leaky_relu (``slope``),
        elu (``alpha``), selu (``alpha``, ``scale``), gelu, silu, softplus
        (``beta``). The rectifiers with a learned slope (PReLU) or random
        slopes (RReLU) are not fixed functions; they are the layers
        :class:`gradlab.nn.PReLU` and :class:`gradlab.nn.RReLU`, and asking
        for them here raises an error that says so.
    **params
        Keyword parameters of that activation.

    Returns
    -------
    ActivationFunction

    Raises
    ------
    ValueError
        For an unknown name, listing the valid ones.
    TypeError
        For a parameter the activation does not take.

    Examples
    --------
    >>> import numpy as np
    >>> act = get("leaky_relu", slope=0.2)
    >>> act.name, act.forward(np.array([-1.0])).tolist()
    ('leaky_relu', [-0.2])
    """
    if isinstance(name, str) and name in _LAYERS_NOT_FUNCTIONS:
        raise ValueError(_LAYERS_NOT_FUNCTIONS[name])
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown activation {name!r}; expected one of: {', '.join(sorted(NAMES))}")
    cls = _REGISTRY[name]
    try:
        return cls(**params)
    except TypeError as err:
        if "unexpected keyword" not in str(err) and "takes no arguments" not in str(err):
            raise
        accepted = [p for p in inspect.signature(cls).parameters]
        raise TypeError(
            f"activation {name!r} got unexpected parameter(s) {sorted(params)}; "
            f"it accepts: {', '.join(accepted) or 'no parameters'}"
        ) from None
