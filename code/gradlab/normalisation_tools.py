"""Normalised networks and the statistics of batch normalisation.

The layers themselves are :class:`gradlab.nn.BatchNorm` and
:class:`gradlab.nn.LayerNorm`; this module holds what the batch-normalisation
chapter computes about them:

* :func:`normalised_mlp`: the dense network with a normalisation layer before
  every hidden activation (``Linear -> BatchNorm/LayerNorm -> activation``);
* :func:`recompute_statistics`: running statistics recomputed for the
  trained weights, instead of averaged over the steps of training;
* :func:`ema_moments` and :func:`batch_variance_moments`: the mean and spread
  of a running average (a BatchNorm layer's running mean and variance) after
  ``k`` updates, in PyTorch's or Keras' convention;
* :func:`batch_noise`: how far a training-mode normalised value, computed
  with the statistics of a batch of ``N`` examples, lies from the value the
  population statistics give;
* :func:`normalised_gain`: the factor by which the back-propagated error
  changes per layer in a deep normalised network at initialisation.
"""

import copy
import math

import numpy as np

from . import _validate as _v
from . import activations as _activations
from . import nn as _nn

__all__ = ["normalised_mlp", "recompute_statistics", "ema_moments", "batch_variance_moments", "batch_noise",
           "normalised_gain"]

_NORMS = ("batch", "layer")
_CONVENTIONS = ("pytorch", "keras")


def normalised_mlp(sizes, activation, rng, norm="batch", init="torch_linear_default",
                   bias_init="torch_default", hidden_bias=False, dtype=np.float64, **norm_params):
    """A dense network with a normalisation layer before every hidden activation.

    For ``sizes = [n_0, ..., n_L]`` each hidden layer ``l < L`` computes
    :math:`a^{(l)} = \\phi(\\operatorname{Norm}(W^{(l)} a^{(l-1)} [+ b^{(l)}]))`,
    the arrangement of Ioffe and Szegedy (2015): ``Linear``, then
    ``BatchNorm`` (or ``LayerNorm``, Ba et al., 2016), then the activation.
    The last layer is a plain ``Linear`` with a bias (its output feeds the loss).

    By default the hidden ``Linear`` layers have no bias, as is usual before
    a normalisation layer: batch normalisation subtracts the batch mean of
    every unit, so a bias there has no effect on the output and receives a
    gradient of exactly zero; the shift :math:`\\beta` of the normalisation
    layer takes its place. Weights (and the last bias) are drawn as
    :class:`gradlab.nn.Linear` draws them, from ``rng``, layer by layer.

    Parameters
    ----------
    sizes : sequence of int
        Widths :math:`n_0, \\dots, n_L`, at least two, all positive.
    activation : str
        A name of ``gradlab.activations.NAMES``.
    rng : numpy.random.Generator
    norm : {"batch", "layer"}, default "batch"
    init : str or callable, default "torch_linear_default"
        Initialiser of every weight, as for :class:`gradlab.nn.Linear`.
    bias_init : str or callable, default "torch_default"
        Initialiser of the biases (the last layer's, and the hidden ones' when
        ``hidden_bias`` is True).
    hidden_bias : bool, default False
        Give the hidden ``Linear`` layers a bias.
    dtype : float dtype, default float64
    **norm_params
        Passed to every normalisation layer (e.g. ``momentum``, ``eps``,
        ``convention="keras"`` for batch normalisation).

    Returns
    -------
    gradlab.nn.Sequential
        ``Linear, Norm, Activation, ..., Linear`` (``3 L - 2`` layers).

    Examples
    --------
    >>> import numpy as np
    >>> net = normalised_mlp([2, 8, 8, 3], "sigmoid", np.random.default_rng(0))
    >>> [type(layer).__name__ for layer in net.layers]
    ['Linear', 'BatchNorm', 'Activation', 'Linear', 'BatchNorm', 'Activation', 'Linear']
    >>> net.layers[0].bias is None, net.layers[-1].bias is None
    (True, False)
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 2:
        raise ValueError(f"sizes must be a sequence of at least two widths, got {sizes!r}")
    widths = [_v.positive_int(n, f"sizes[{i}]") for i, n in enumerate(sizes)]
    _v.generator(rng)
    norm = _v.choice(norm, "norm", _NORMS)
    hidden_bias = _v.boolean(hidden_bias, "hidden_bias")
    dtype = _v.float_dtype(dtype)
    _activations.get(activation)  # fail early on an unknown name
    make_norm = _nn.BatchNorm if norm == "batch" else _nn.LayerNorm
    layers = []
    for fan_in, fan_out in zip(widths[:-2], widths[1:-1]):
        layers.append(_nn.Linear(fan_in, fan_out, init=init, rng=rng, dtype=dtype, bias=hidden_bias,
                                 bias_init=bias_init))
        layers.append(make_norm(fan_out, dtype=dtype, **norm_params))
        layers.append(_nn.Activation(activation))
    layers.append(_nn.Linear(widths[-2], widths[-1], init=init, rng=rng, dtype=dtype, bias_init=bias_init))
    return _nn.Sequential(*layers)


def recompute_statistics(model, X):
    """A copy of ``model`` whose batch-normalisation statistics are those of ``X`` under its current weights.

    During training the running mean and variance average the batch
    statistics of the last :math:`\\approx 1/m` steps, each computed with the
    weights of its own step; when the weights move fast they lag behind the
    network that is finally evaluated. Recomputing them with the weights
    frozen (Wu and Johnson, 2021, call this "precise BatchNorm") removes the
    lag: the copy runs once over all of ``X`` in training mode with every
    :class:`gradlab.nn.BatchNorm` set to keep only the new statistics
    (momentum 1 in PyTorch's convention, 0 in Keras'), so each layer stores
    the mean and variance (unbiased for PyTorch's convention, biased for
    Keras') of its input over ``X``, as produced by the layers below it.
    ``model`` is not changed; the copy is returned in evaluation mode, with
    its layers' momenta restored.

    Parameters
    ----------
    model : gradlab.nn.Layer
    X : numpy.ndarray
        The inputs (at least two rows), e.g. the training set.

    Returns
    -------
    gradlab.nn.Layer

    Examples
    --------
    >>> import numpy as np
    >>> from gradlab import nn
    >>> X = np.arange(8.0).reshape(4, 2)
    >>> fresh = recompute_statistics(nn.Sequential(nn.BatchNorm(2, convention="keras")), X)
    >>> fresh.layers[0].running_mean.tolist(), fresh.layers[0].running_var.tolist(), fresh.training
    ([3.0, 4.0], [5.0, 5.0], False)
    """
    if not isinstance(model, _nn.Layer):
        raise TypeError(f"model must be a gradlab.nn.Layer, got {type(model).__name__}")
    _v.float_array(X, "X", finite=True)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X must have shape (n, features) with n >= 2, got {X.shape}")
    fresh = copy.deepcopy(model)
    norms = [layer for layer in _nn.walk(fresh) if isinstance(layer, _nn.BatchNorm)]
    saved = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 1.0 if layer.convention == "pytorch" else 0.0
    fresh.train()
    fresh.forward(X)
    for layer, m in zip(norms, saved):
        layer.momentum = m
    return fresh.eval()


def _pytorch_momentum(momentum, convention):
    """The weight of the new value, whatever the convention."""
    convention = _v.choice(convention, "convention", _CONVENTIONS)
    momentum = _v.real(momentum, "momentum", low=0.0, high=1.0)
    return momentum if convention == "pytorch" else 1.0 - momentum


def ema_moments(steps, momentum, initial, mean, var, convention="pytorch"):
    """Expected value and standard deviation of a running average after each update.

    A running average starts at ``initial`` and is updated with independent
    values :math:`x_1, x_2, \\dots` of mean :math:`\\mu` and variance :math:`v`:

    - PyTorch: :math:`r_k = (1 - m)\\, r_{k-1} + m\\, x_k` (``m`` weights the new value);
    - Keras: :math:`r_k = m'\\, r_{k-1} + (1 - m')\\, x_k` (``m'`` weights the old one),
      the same average when :math:`m' = 1 - m`.

    Unrolling the PyTorch form, :math:`r_k = (1-m)^k r_0 + m \\sum_{j=1}^{k} (1-m)^{k-j} x_j`, so

    .. math:: \\E[r_k] = \\mu + (r_0 - \\mu)(1 - m)^k, \\qquad
              \\operatorname{Var}[r_k] = v\\, \\frac{m}{2 - m}\\,\\bigl(1 - (1 - m)^{2k}\\bigr).

    The start is forgotten geometrically, by a factor :math:`e` every
    :math:`-1/\\ln(1 - m) \\approx 1/m` updates, and the spread settles at
    :math:`\\sqrt{v\\, m/(2 - m)}`: a smaller momentum averages over more
    batches, so it is less noisy and slower. This is the exponential moving
    average that batch normalisation keeps of the batch means and variances
    (Ioffe and Szegedy, 2015).

    Parameters
    ----------
    steps : int
        Number of updates k (>= 0); the arrays have ``steps + 1`` entries.
    momentum : float
        In [0, 1], in the given ``convention``.
    initial : float
        The starting value :math:`r_0` (0 for a running mean, 1 for a running variance).
    mean, var : float
        Mean and variance (>= 0) of each new value.
    convention : {"pytorch", "keras"}, default "pytorch"

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        :math:`\\E[r_k]` and :math:`\\sqrt{\\operatorname{Var}[r_k]}` for ``k = 0..steps``.

    Examples
    --------
    >>> e, s = ema_moments(3, 0.5, initial=0.0, mean=1.0, var=0.0)
    >>> e.tolist(), s.tolist()
    ([0.0, 0.5, 0.75, 0.875], [0.0, 0.0, 0.0, 0.0])
    >>> e_keras, _ = ema_moments(3, 0.5, initial=0.0, mean=1.0, var=0.0, convention="keras")
    >>> bool(np.allclose(e, e_keras))
    True
    """
    steps = _v.integer(steps, "steps", minimum=0)
    m = _pytorch_momentum(momentum, convention)
    initial = _v.real(initial, "initial")
    mean = _v.real(mean, "mean")
    var = _v.real(var, "var", low=0.0)
    k = np.arange(steps + 1, dtype=np.float64)
    keep = (1.0 - m) ** k
    expected = mean + (initial - mean) * keep
    if m == 0.0:
        std = np.zeros_like(k)
    else:
        std = np.sqrt(var * m / (2.0 - m) * (1.0 - keep * keep))
    return expected, std


def batch_variance_moments(var, batch_size, convention="pytorch"):
    """Mean and variance of the batch variance a BatchNorm layer adds to its running variance.

    For a batch of :math:`N` independent Gaussian values of variance
    :math:`v`, the biased batch variance :math:`s_B^2 = \\frac1N \\sum_i (x_i - \\mu_B)^2`
    satisfies :math:`N s_B^2 / v \\sim \\chi^2_{N-1}` (mean :math:`N-1`,
    variance :math:`2(N-1)`). PyTorch adds the unbiased
    :math:`\\frac{N}{N-1} s_B^2` to its running variance, Keras the biased
    :math:`s_B^2`:

    .. math:: \\text{pytorch: } \\Bigl(v,\\ \\frac{2 v^2}{N-1}\\Bigr), \\qquad
              \\text{keras: } \\Bigl(\\frac{N-1}{N}\\, v,\\ \\frac{2 (N-1)\\, v^2}{N^2}\\Bigr).

    With :func:`ema_moments` this predicts the running variance: PyTorch's
    converges to :math:`v`, Keras' to :math:`v (N-1)/N`.

    Parameters
    ----------
    var : float
        The population variance v (>= 0).
    batch_size : int
        N >= 2.
    convention : {"pytorch", "keras"}, default "pytorch"

    Returns
    -------
    (float, float)
        Mean and variance of the stored batch variance.

    Examples
    --------
    >>> batch_variance_moments(1.0, 5)
    (1.0, 0.5)
    >>> batch_variance_moments(1.0, 5, convention="keras")
    (0.8, 0.32)
    """
    var = _v.real(var, "var", low=0.0)
    n = _v.integer(batch_size, "batch_size", minimum=2)
    convention = _v.choice(convention, "convention", _CONVENTIONS)
    if convention == "pytorch":
        return var, 2.0 * var * var / (n - 1)
    return var * (n - 1) / n, 2.0 * (n - 1) * var * var / (n * n)


def batch_noise(batch_size):
    """Mean squared difference between batch-normalised and population-standardised values.

    For a batch of :math:`N` independent Gaussian values :math:`x_i` with
    population mean :math:`\\mu` and variance :math:`v`, training-mode batch
    normalisation (with :math:`\\epsilon = 0`) computes
    :math:`\\hat x_i = (x_i - \\mu_B)/s_B`, while the population statistics
    give :math:`z_i = (x_i - \\mu)/\\sqrt v`. Then

    .. math:: \\E\\bigl[(\\hat x_i - z_i)^2\\bigr] = 2 - 2\\,\\E[s] =
              2 - 2 \\sqrt{\\frac 2N}\\, \\frac{\\Gamma(N/2)}{\\Gamma((N-1)/2)}
              = \\frac{3}{2N} + O(N^{-2}),

    with :math:`s = s_B/\\sqrt v`. Proof: :math:`\\E[\\hat x_i^2] = \\E[z_i^2] = 1`
    and, by symmetry over i and because :math:`\\sum_i \\hat x_i = 0`,
    :math:`\\E[\\hat x_i z_i] = \\frac1N \\E[\\sum_i \\hat x_i (z_i - \\bar z)] = \\E[s]`;
    :math:`N s^2 \\sim \\chi^2_{N-1}` gives :math:`\\E[s]`. For :math:`N = 2`
    the value is :math:`2 - 2/\\sqrt\\pi`: each normalised value is :math:`\\pm 1`
    whatever the inputs.

    Parameters
    ----------
    batch_size : int
        N >= 2.

    Returns
    -------
    float

    Examples
    --------
    >>> round(batch_noise(2), 6), round(2 - 2 / float(np.sqrt(np.pi)), 6)
    (0.871621, 0.871621)
    >>> round(batch_noise(1000) * 1000, 2)
    1.5
    """
    n = _v.integer(batch_size, "batch_size", minimum=2)
    mean_s = math.sqrt(2.0 / n) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))
    return 2.0 - 2.0 * mean_s


def _gaussian_mean(f, h=1e-3, half_width=12.0):
    """E[f(Z)] for Z ~ N(0, 1) by Simpson's rule on [-12, 0] and [0, 12] separately.

    The two halves meet at 0, where many activations have a kink or a jump in
    their derivative (ReLU's); each half evaluates f just inside its own side
    (at -1e-300 and +1e-300), so such a jump costs no accuracy.
    """
    k = int(round(half_width / h))
    k += k % 2  # Simpson needs an even number of intervals
    z = np.arange(k + 1) * h
    w = np.ones(k + 1)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    w *= np.exp(-0.5 * z * z) * h / 3.0 / math.sqrt(2.0 * math.pi)
    z[0] = 1e-300
    with _v.quiet():
        return float(np.sum(w * f(z)) + np.sum(w * f(-z)))


def normalised_gain(activation, norm="batch", **params):
    """Per-layer factor of the back-propagated error in a deep normalised network at initialisation.

    In a block ``Linear -> Norm -> phi`` with independent zero-mean weights
    of variance :math:`v_w`, square layers of width :math:`n`, and
    :math:`\\gamma = 1, \\beta = 0`, the normalised pre-activations are about
    :math:`N(0, 1)`. Back-propagation multiplies the error by
    :math:`\\phi'` (mean square :math:`\\E[\\phi'(Z)^2]`), by :math:`W^\\top`
    (mean square :math:`n v_w`) and, in the normalisation, by one over the
    standard deviation it divided by. Batch normalisation divides by the
    spread of a unit *over the batch*, :math:`\\sqrt{n v_w \\operatorname{Var}[\\phi(Z)]}`;
    layer normalisation by the spread of an example *over the units*,
    :math:`\\sqrt{n v_w \\E[\\phi(Z)^2]}` (the weights are random, so a common
    mean of the activations counts too). The weight scale cancels and the
    error changes by

    .. math:: \\text{batch: } \\sqrt{\\frac{\\E[\\phi'(Z)^2]}{\\operatorname{Var}[\\phi(Z)]}},
              \\qquad
              \\text{layer: } \\sqrt{\\frac{\\E[\\phi'(Z)^2]}{\\E[\\phi(Z)^2]}},
              \\qquad Z \\sim N(0, 1)

    per layer. By the Gaussian Poincare inequality
    :math:`\\operatorname{Var}[\\phi(Z)] \\le \\E[\\phi'(Z)^2]`, so the batch
    factor is at least 1: deep batch-normalised networks do not lose their
    gradient at initialisation, and grow it slowly (for ReLU
    :math:`\\sqrt{\\pi/(\\pi - 1)}`, the rate of Yang et al., 2019). The
    estimate neglects the projections of the normalisation's backward pass
    (two directions out of N or n) and finite-width fluctuations.

    The expectations are computed with Simpson's rule on
    :math:`[-12, 0]` and :math:`[0, 12]` (step 1e-3), so a jump of
    :math:`\\phi'` at 0 (ReLU's) costs no accuracy.

    Parameters
    ----------
    activation : str
        A name of ``gradlab.activations.NAMES`` (``**params`` go to it).
    norm : {"batch", "layer"}, default "batch"

    Returns
    -------
    float

    Examples
    --------
    >>> round(normalised_gain("relu"), 4), round(float(np.sqrt(np.pi / (np.pi - 1))), 4)
    (1.2112, 1.2112)
    >>> round(normalised_gain("identity", "layer"), 6)
    1.0
    """
    norm = _v.choice(norm, "norm", _NORMS)
    act = _activations.get(activation, **params)
    e_d2 = _gaussian_mean(lambda z: act.derivative(z) ** 2)
    e_2 = _gaussian_mean(lambda z: act.forward(z) ** 2)
    spread = e_2 - _gaussian_mean(act.forward) ** 2 if norm == "batch" else e_2
    if spread <= 0.0:
        raise ValueError(f"activation {activation!r} has zero spread on N(0, 1): the gain is undefined")
    return math.sqrt(e_d2 / spread)
