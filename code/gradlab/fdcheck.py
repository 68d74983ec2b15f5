r"""Finite differences in floating point: how the step and the dtype set the error of a gradient check.

A gradient check (:func:`gradlab.gradcheck.gradcheck`) compares an analytic
derivative :math:`J'(\theta)` with a difference quotient. The quotient has
two errors (Nocedal and Wright, 2006, sec. 8.1). *Truncation*, from
Taylor's theorem, grows with the step :math:`h`:

.. math:: \frac{J(\theta + h) - J(\theta - h)}{2h} - J'(\theta) = \frac{h^2}{6} J'''(\xi)

for the central difference, and :math:`\frac h2 J''(\xi)` for the forward
difference :math:`(J(\theta + h) - J(\theta))/h`. *Rounding* grows as
:math:`h` shrinks: a computed value of :math:`J` carries a relative error
of about the unit roundoff :math:`u = \varepsilon_{\text{mach}}/2` (with
:math:`\varepsilon_{\text{mach}}` = ``numpy.finfo(dtype).eps``; Higham,
2002), so the difference of two values can be off by :math:`2u|J|` and the
quotient by :math:`u|J|/h` (central) or :math:`2u|J|/h` (forward). Their
sum is smallest at :math:`h^* \propto u^{1/3}` (central), where the error
is of order :math:`u^{2/3}`: about :math:`10^{-11}` relative to :math:`|J|`
in float64 but :math:`10^{-5}` in float32, which is why a gradient check is
done in float64.

* :func:`pick_coordinates`: a few parameter entries to check;
* :func:`derivatives`: :math:`J, J', J'', J'''` along each of them (float64);
* :func:`step_sweep` and :class:`StepSweep`: the measured relative error of
  a difference quotient against the step, in the model's own dtype;
* :func:`difference_error` and :func:`optimal_step`: the error model above.
"""

import copy
import math
from dataclasses import dataclass

import numpy as np

from . import _validate as _v
from . import losses as _losses
from .nn import Layer

__all__ = ["pick_coordinates", "Derivatives", "derivatives", "StepSweep", "step_sweep",
           "difference_error", "optimal_step"]

_SCHEMES = ("central", "forward")


def _check_model(model):
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a gradlab.nn.Layer, got {type(model).__name__}")
    if not model.named_parameters():
        raise ValueError("model has no parameters to check")
    return model


def pick_coordinates(model, n, rng):
    """``n`` distinct parameter entries of ``model``, drawn uniformly over all entries.

    Parameters
    ----------
    model : gradlab.nn layer or container
    n : int
        How many (at most the number of entries).
    rng : numpy.random.Generator

    Returns
    -------
    list of (str, int)
        Parameter name (as in ``model.named_parameters()``) and flat index,
        sorted by name and index.

    Examples
    --------
    >>> from gradlab import nn
    >>> model = nn.Sequential(nn.Linear(2, 3, rng=np.random.default_rng(0)))
    >>> pick_coordinates(model, 9, np.random.default_rng(1))[:2]
    [('0.bias', 0), ('0.bias', 1)]
    """
    named = _check_model(model).named_parameters()
    n = _v.positive_int(n, "n")
    _v.generator(rng)
    total = sum(p.size for _, p in named)
    if n > total:
        raise ValueError(f"n must be at most the number of parameter entries {total}, got {n}")
    flat = np.sort(rng.choice(total, size=n, replace=False))
    offsets = np.cumsum([0] + [p.size for _, p in named])
    out = []
    for f in flat:
        i = int(np.searchsorted(offsets, f, side="right") - 1)
        out.append((named[i][0], int(f - offsets[i])))
    return sorted(out)


def _resolve_coordinates(model, coordinates):
    params = dict(model.named_parameters())
    names = [name for name, _ in model.named_parameters()]
    if not isinstance(coordinates, (list, tuple)) or not coordinates:
        raise ValueError("coordinates must be a non-empty list of (parameter name, flat index) pairs")
    out = []
    for i, c in enumerate(coordinates):
        if not (isinstance(c, (list, tuple)) and len(c) == 2 and c[0] in params):
            raise ValueError(f"coordinates[{i}] must be (parameter name, flat index) with a name of "
                             f"{names}, got {c!r}")
        k = _v.integer(c[1], f"coordinates[{i}][1]", minimum=0)
        if k >= params[c[0]].size:
            raise ValueError(f"coordinates[{i}][1] must be below {params[c[0]].size}, the size of "
                             f"{c[0]!r}, got {k}")
        out.append((names.index(c[0]), c[0], k))
    return out


class _Objective:
    """J and its gradient on a private copy of the model, for one batch."""

    def __init__(self, model, x, y, loss):
        self.model = copy.deepcopy(model)
        self.params = self.model.parameters()
        self.x, self.y = x, y
        self.fn = _losses.resolve(loss)

    def value(self):
        with _v.quiet():
            return float(self.fn(self.model.forward(self.x), self.y)[0])

    def gradient(self, index, k):
        with _v.quiet():
            _, g = self.fn(self.model.forward(self.x), self.y)
            self.model.backward(g)
        return float(self.model.gradients()[index].flat[k])

    def at(self, index, k, value, what):
        """``what()`` with parameter ``index`` entry ``k`` set to ``value``; restores it."""
        p = self.params[index]
        old = p.flat[k]
        p.flat[k] = value
        try:
            return what()
        finally:
            p.flat[k] = old


@dataclass
class Derivatives:
    """:math:`J` and its first three derivatives along a few coordinates (see :func:`derivatives`).

    Attributes
    ----------
    value : float
        :math:`J(\\theta)`.
    first, second, third : numpy.ndarray
        :math:`\\partial^k J / \\partial \\theta_c^k` for each coordinate ``c``.

    Examples
    --------
    >>> Derivatives(1.0, np.ones(2), np.zeros(2), np.ones(2)).value
    1.0
    """

    value: float
    first: np.ndarray
    second: np.ndarray
    third: np.ndarray


def derivatives(model, x, y, coordinates, loss="cross_entropy", h=1e-3):
    r"""The cost and its first three derivatives along each coordinate, in float64.

    :math:`J'` is the analytic gradient (``backward``); the higher
    derivatives are central differences of it,

    .. math:: J'' \approx \frac{J'(\theta + h) - J'(\theta - h)}{2h}, \qquad
              J''' \approx \frac{J'(\theta + h) - 2J'(\theta) + J'(\theta - h)}{h^2},

    both with truncation error :math:`O(h^2)`. They feed the error model of
    :func:`difference_error`. The model is copied; the original is untouched.

    Parameters
    ----------
    model : gradlab.nn layer or container, float64
    x, y : numpy.ndarray
        One batch and its targets.
    coordinates : list of (str, int)
        As from :func:`pick_coordinates`.
    loss : str or callable, default "cross_entropy"
    h : float, default 1e-3

    Returns
    -------
    Derivatives

    Examples
    --------
    >>> from gradlab import nn
    >>> model = nn.Sequential(nn.Linear(1, 1, init="constant", bias_init="zeros"))
    >>> d = derivatives(model, np.array([[2.0]]), np.array([[1.0]]), [("0.weight", 0)], loss="mse")
    >>> d.value, d.first.tolist(), np.round(d.second, 9).tolist(), np.round(d.third, 6).tolist()
    (1.0, [-4.0], [8.0], [0.0])
    """
    _check_model(model)
    for name, p in model.named_parameters():
        if p.dtype != np.float64:
            raise TypeError(f"parameter {name!r} is {p.dtype}; derivatives needs a float64 model")
    _v.array(x, "x")
    h = _v.real(h, "h", low=0.0, low_open=True)
    coords = _resolve_coordinates(model, coordinates)
    obj = _Objective(model, x, y, loss)
    first, second, third = (np.empty(len(coords)) for _ in range(3))
    for c, (i, _, k) in enumerate(coords):
        theta = float(obj.params[i].flat[k])
        g0 = obj.gradient(i, k)
        gp = obj.at(i, k, theta + h, lambda: obj.gradient(i, k))
        gm = obj.at(i, k, theta - h, lambda: obj.gradient(i, k))
        first[c], second[c], third[c] = g0, (gp - gm) / (2 * h), (gp - 2 * g0 + gm) / (h * h)
    return Derivatives(obj.value(), first, second, third)


@dataclass
class StepSweep:
    """Measured errors of a difference quotient over a range of steps (see :func:`step_sweep`).

    Attributes
    ----------
    steps : numpy.ndarray, shape (n_steps,)
        The requested steps :math:`h`.
    coordinates : list of (str, int)
    scheme : str
        ``"central"`` or ``"forward"``.
    dtype : numpy.dtype
        The model's dtype, in which everything was computed.
    value : float
        :math:`J(\\theta)` computed in that dtype.
    analytic : numpy.ndarray, shape (n_coordinates,)
        The model's own backward pass, in that dtype.
    numeric : numpy.ndarray, shape (n_steps, n_coordinates)
        The difference quotients.
    relative_error : numpy.ndarray, shape (n_steps, n_coordinates)
        :func:`gradlab.gradcheck.max_relative_error` of each pair, elementwise:
        :math:`|a - n| / (|a| + |n|)`.

    Examples
    --------
    >>> s = StepSweep(np.array([1e-3]), [("0.weight", 0)], "central", np.dtype("float64"), 1.0,
    ...               np.array([2.0]), np.array([[2.0]]), np.array([[0.0]]))
    >>> s.median_error().tolist()
    [0.0]
    """

    steps: np.ndarray
    coordinates: list
    scheme: str
    dtype: np.dtype
    value: float
    analytic: np.ndarray
    numeric: np.ndarray
    relative_error: np.ndarray

    def median_error(self):
        """Median relative error over the coordinates, one value per step.

        Examples
        --------
        >>> s = StepSweep(np.array([1.0]), [], "central", np.dtype("float32"), 0.0, np.ones(3),
        ...               np.ones((1, 3)), np.array([[0.1, 0.2, 0.9]]))
        >>> s.median_error().round(3).tolist()
        [0.2]
        """
        return np.median(self.relative_error, axis=1)


def step_sweep(model, x, y, coordinates, steps, loss="cross_entropy", scheme="central"):
    r"""Relative error of a difference quotient against its step, computed in the model's dtype.

    For each coordinate :math:`\theta_c` and step :math:`h`, evaluates the
    cost at :math:`\theta_c \pm h` (central) or :math:`\theta_c + h` and
    :math:`\theta_c` (forward) in the model's dtype, divides the difference
    by the step *actually taken* (the difference of the two rounded
    parameter values, so that rounding :math:`\theta_c + h` to the dtype
    does not count as an error of the method; a step too small to change
    the rounded parameter gives the quotient 0), and compares the quotient
    with the model's own analytic derivative by the relative error
    :math:`|a - n| / (|a| + |n|)`. This is what
    :func:`gradlab.gradcheck.gradcheck` does at one step in float64, over a
    range of steps and in any dtype. The model is copied; the original is
    untouched.

    Parameters
    ----------
    model : gradlab.nn layer or container (float32 or float64)
    x, y : numpy.ndarray
        One batch (in the model's dtype) and its targets.
    coordinates : list of (str, int)
    steps : sequence of float
        Steps :math:`h > 0`.
    loss : str or callable, default "cross_entropy"
    scheme : {"central", "forward"}

    Returns
    -------
    StepSweep

    Examples
    --------
    >>> from gradlab import nn
    >>> model = nn.mlp([2, 4, 2], "tanh", np.random.default_rng(0))
    >>> x, y = np.ones((3, 2)), np.array([0, 1, 1])
    >>> s = step_sweep(model, x, y, [("0.weight", 0), ("2.bias", 1)], steps=[1e-1, 1e-5])
    >>> bool(s.median_error()[1] < 1e-8 < s.median_error()[0])
    True
    """
    _check_model(model)
    _v.array(x, "x")
    scheme = _v.choice(scheme, "scheme", _SCHEMES)
    steps = _v.real_array(steps, "steps", positive=True)
    if steps.ndim != 1 or steps.size == 0:
        raise ValueError(f"steps must be a non-empty 1-D sequence of positive steps, got {steps!r}")
    coords = _resolve_coordinates(model, coordinates)
    obj = _Objective(model, x, y, loss)
    dtype = obj.params[coords[0][0]].dtype
    value = obj.value()
    analytic = np.array([obj.gradient(i, k) for i, _, k in coords])
    numeric = np.empty((steps.size, len(coords)))
    for c, (i, _, k) in enumerate(coords):
        theta = obj.params[i].flat[k]
        for s, h in enumerate(steps):
            up = dtype.type(theta + dtype.type(h))  # rounded to the dtype, as the model stores it
            if scheme == "central":
                down = dtype.type(theta - dtype.type(h))
                j_down = obj.at(i, k, down, obj.value)
            else:
                down, j_down = theta, value
            j_up = obj.at(i, k, up, obj.value)
            taken = float(up) - float(down)
            # a step lost in rounding leaves J unchanged: the quotient is then 0, as in gradcheck
            numeric[s, c] = (j_up - j_down) / taken if taken != 0.0 else 0.0
    with _v.quiet():
        err = np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-300)
    return StepSweep(steps, [(name, k) for _, name, k in coords], scheme, np.dtype(dtype), value,
                     analytic, numeric, err)


def difference_error(h, value, first, second, third, machine_eps, scheme="central"):
    r"""Predicted relative error of a difference quotient: truncation plus rounding.

    With the unit roundoff :math:`u = \varepsilon_{\text{mach}}/2`, the
    absolute error of the quotient is at most about
    :math:`E = \frac{h^2}{6}|J'''| + \frac{u|J|}{h}` (central) or
    :math:`E = \frac h2 |J''| + \frac{2u|J|}{h}` (forward): truncation plus
    rounding, each evaluation of :math:`J` taken to be off by :math:`u|J|`
    (a long computation can accumulate more, and errors of the two
    evaluations can partly cancel). For :math:`a = J'` and
    :math:`n = J' \pm E` the relative error :math:`|a - n|/(|a| + |n|)` is
    at least :math:`E/(2|J'| + E)`, which the function returns; like the
    measured error it never exceeds 1.

    Parameters
    ----------
    h : float or array
        Steps (> 0).
    value, first, second, third : float or array
        :math:`J, J', J'', J'''` (broadcast against ``h``), e.g. from :func:`derivatives`.
    machine_eps : float
        ``numpy.finfo(dtype).eps`` of the dtype the cost is computed in
        (twice the unit roundoff).
    scheme : {"central", "forward"}

    Returns
    -------
    numpy.ndarray
        Broadcast shape of the inputs.

    Examples
    --------
    >>> e = difference_error(np.array([1e-6, 1e-2]), 1.0, 0.5, 0.0, 1.0, np.finfo(np.float32).eps)
    >>> e.round(3).tolist()          # float32: rounding ruins the small step
    [0.056, 0.0]
    """
    scheme = _v.choice(scheme, "scheme", _SCHEMES)
    h = _v.real_array(h, "h", positive=True)
    value, first, second, third = (_v.real_array(v, n) for v, n in
                                   ((value, "value"), (first, "first"), (second, "second"),
                                    (third, "third")))
    machine_eps = _v.real(machine_eps, "machine_eps", low=0.0, low_open=True)
    r = 0.5 * machine_eps * np.abs(value)  # u |J|
    if scheme == "central":
        e = h * h * np.abs(third) / 6.0 + r / h
    else:
        e = h * np.abs(second) / 2.0 + 2.0 * r / h
    with _v.quiet():
        return e / (2.0 * np.abs(first) + e)


def optimal_step(value, derivative, machine_eps, scheme="central"):
    r"""The step that minimises the error model of :func:`difference_error`, and that error.

    With :math:`R = u|J|` (:math:`u = \varepsilon_{\text{mach}}/2`).
    Central: :math:`E(h) = \frac{h^2}{6}M + \frac{R}{h}` with
    :math:`M = |J'''|` is smallest at :math:`h^* = (3R/M)^{1/3}`, where
    :math:`E(h^*) = \frac{3^{2/3}}{2} R^{2/3} M^{1/3}`.
    Forward: :math:`E(h) = \frac h2 M + \frac{2R}{h}` with :math:`M = |J''|`
    is smallest at :math:`h^* = 2\sqrt{R/M}`, where
    :math:`E(h^*) = 2\sqrt{R M}`. (Set the derivative of :math:`E` in
    :math:`h` to zero.) The error falls like :math:`u^{2/3}` for central and
    only like :math:`u^{1/2}` for forward differences.

    Parameters
    ----------
    value : float or array
        :math:`|J|`.
    derivative : float or array
        :math:`|J'''|` (central) or :math:`|J''|` (forward), > 0.
    machine_eps : float
        ``numpy.finfo(dtype).eps``.
    scheme : {"central", "forward"}

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        :math:`h^*` and the absolute error :math:`E(h^*)`.

    Examples
    --------
    >>> h, e = optimal_step(1.0, 1.0, np.finfo(np.float64).eps)
    >>> f"{float(h):.1e}", f"{float(e):.1e}"
    ('6.9e-06', '2.4e-11')
    """
    scheme = _v.choice(scheme, "scheme", _SCHEMES)
    value = _v.real_array(value, "value")
    derivative = _v.real_array(derivative, "derivative", positive=True)
    eps = _v.real(machine_eps, "machine_eps", low=0.0, low_open=True)
    r = 0.5 * eps * np.abs(value)  # u |J|
    if scheme == "central":
        return np.cbrt(3.0 * r / derivative), 3.0 ** (2.0 / 3.0) / 2.0 * np.cbrt(r * r * derivative)
    return 2.0 * np.sqrt(r / derivative), 2.0 * np.sqrt(r * derivative)
