"""Layers with a forward pass and a hand-written backward pass.

Every layer follows one interface (PyTorch's vocabulary, numpy's arrays):

- ``forward(x)`` (also ``layer(x)``) computes the output and caches what the
  backward pass needs;
- ``backward(grad_out)`` takes :math:`\\partial J/\\partial y` and returns
  :math:`\\partial J/\\partial x`, storing the parameter gradients (overwriting,
  never accumulating, written in place into the arrays of ``gradients()``);
- ``parameters()`` / ``gradients()`` are matching lists (weight before bias)
  whose arrays optimisers update in place; ``named_parameters()`` gives the
  same arrays with dotted names such as ``"0.weight"``;
- ``train()`` / ``eval()`` set ``training`` (recursively in containers).

A dense layer computes :math:`z = x W^T + b` for a batch ``x`` of shape
``(batch, fan_in)`` and a weight of shape ``(fan_out, fan_in)``: the book's
:math:`z = W x + b` applied to each row.

Layers with parameters hold a dtype (float64 by default, float32 allowed) and
refuse inputs of another dtype rather than silently promoting them; the others
(activations, RReLU, containers) compute in their input's dtype. All
arithmetic runs under ``np.errstate`` so that a diverging network produces
inf/NaN quietly, for :mod:`gradlab.diagnostics` to report.

Examples
--------
>>> import numpy as np
>>> from gradlab import nn
>>> rng = np.random.default_rng(0)
>>> model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.Activation("relu"), nn.Linear(4, 2, rng=rng))
>>> y = model(np.ones((5, 3)))
>>> dx = model.backward(np.ones_like(y))
>>> y.shape, dx.shape, [g.shape for g in model.gradients()]
((5, 2), (5, 3), [(4, 3), (4,), (2, 4), (2,)])
"""

import math
import numbers

import numpy as np

from . import activations as _activations
from . import init as _init

__all__ = [
    "Layer",
    "Linear",
    "Activation",
    "PReLU",
    "RReLU",
    "BatchNorm",
    "LayerNorm",
    "Residual",
    "Sequential",
    "RNN",
    "linear_layers",
    "mlp",
]

_QUIET = dict(over="ignore", invalid="ignore", divide="ignore", under="ignore")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _check_dtype(dtype):
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"dtype must be a floating-point dtype, got {dt}")
    return dt


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _check_rng(rng, name="rng"):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator, got {type(rng).__name__} "
            "(use numpy.random.default_rng(seed))"
        )


def _check_input(x, dtype, ndim, shape_desc, last=None, name="x"):
    """Validate an input array: ndarray, dtype, number of dims, last dimension."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.ndim != ndim or (last is not None and x.shape[-1] != last):
        raise ValueError(f"{name} must have shape {shape_desc}, got {x.shape}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(
            f"{name} has dtype {x.dtype} but the layer computes in {dtype}; build the layer "
            f"with dtype=np.{x.dtype} or convert {name} explicitly (no silent promotion)"
        )
    if dtype is None and x.dtype.kind != "f":
        raise TypeError(f"{name} must be a floating-point array, got dtype {x.dtype}")
    return x


def _check_grad(grad_out, out_shape, dtype):
    if not isinstance(grad_out, np.ndarray):
        raise TypeError(f"grad_out must be a numpy.ndarray, got {type(grad_out).__name__}")
    if grad_out.shape != out_shape:
        raise ValueError(f"grad_out must have shape {out_shape} (the output's), got {grad_out.shape}")
    if grad_out.dtype != dtype:
        raise TypeError(f"grad_out has dtype {grad_out.dtype}, expected the output's {dtype}")
    return grad_out


def _make_init(init, name="init"):
    if callable(init):
        return init
    if isinstance(init, str):
        return _init.get(init)
    raise TypeError(f"{name} must be an initialiser name or a callable (shape, rng), got {init!r}")


def _draw(init_fn, shape, rng, dtype, name="init"):
    w = np.asarray(init_fn(shape, rng))
    if w.shape != shape:
        raise ValueError(f"{name} returned shape {w.shape}, expected {shape}")
    return w.astype(dtype)  # a fresh array owned by the layer


# --------------------------------------------------------------------------
# base class and containers
# --------------------------------------------------------------------------


class Layer:
    """Base class of all layers: the interface the rest of gradlab relies on.

    Subclasses implement ``forward`` and ``backward`` and, if they have
    parameters, ``named_parameters`` (names and arrays) and ``gradients``.

    Examples
    --------
    >>> import numpy as np
    >>> class Double(Layer):
    ...     def forward(self, x):
    ...         return 2 * x
    ...     def backward(self, grad_out):
    ...         return 2 * grad_out
    >>> Double()(np.ones(2)).tolist(), Double().eval().training
    ([2.0, 2.0], False)
    """

    training = True

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        """Compute the output for input ``x`` and cache what backward needs."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def backward(self, grad_out):
        """Return dJ/dx given ``grad_out`` = dJ/dy; store parameter gradients."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward")

    def named_parameters(self):
        """List of ``(name, array)`` pairs, in the order of ``parameters()``."""
        return []

    def parameters(self):
        """The parameter arrays (updated in place by optimisers), weight before bias."""
        return [p for _, p in self.named_parameters()]

    def gradients(self):
        """The gradient arrays, same order and shapes as ``parameters()``."""
        return []

    def children(self):
        """Direct sub-layers (empty for a leaf layer)."""
        return []

    def train(self):
        """Set training mode here and in all sub-layers; returns self."""
        self.training = True
        for child in self.children():
            child.train()
        return self

    def eval(self):
        """Set evaluation mode here and in all sub-layers; returns self."""
        self.training = False
        for child in self.children():
            child.eval()
        return self

    def _cached(self, attr):
        value = getattr(self, attr, None)
        if value is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward called before forward: run forward first"
            )
        return value


class Sequential(Layer):
    """A chain of layers: ``y = layers[-1](... layers[0](x))``.

    Back-propagation runs the chain in reverse, the chain rule
    :math:`\\partial J/\\partial x = J_1^T \\cdots J_L^T\\, \\partial J/\\partial y`.
    Parameter names are prefixed with the layer index, as in PyTorch
    (``"0.weight"``, ``"0.bias"``, ``"2.weight"``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> m = Sequential(Linear(2, 3, rng=rng), Activation("tanh"))
    >>> [name for name, _ in m.named_parameters()]
    ['0.weight', '0.bias']
    """

    def __init__(self, *layers):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] must be a gradlab.nn.Layer, got {type(layer).__name__}")
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out):
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def named_parameters(self):
        return [(f"{i}.{n}", p) for i, layer in enumerate(self.layers) for n, p in layer.named_parameters()]

    def gradients(self):
        return [g for layer in self.layers for g in layer.gradients()]

    def children(self):
        return list(self.layers)

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]


class Residual(Layer):
    """Residual connection (He et al., 2016): ``y = x + scale * block(x)``.

    .. math:: \\frac{\\partial J}{\\partial x} = \\frac{\\partial J}{\\partial y}
              + \\text{scale}\\; J_{\\text{block}}^T \\frac{\\partial J}{\\partial y}

    The identity path carries the gradient past the block unattenuated, which
    is why residual networks train at depths where plain ones do not.
    Parameter names are prefixed with ``"block."``.

    Parameters
    ----------
    block : Layer
        Must map its input to an output of the same shape.
    scale : float, default 1.0
        Multiplies the residual branch (e.g. 1/sqrt(depth) to keep variance).

    Examples
    --------
    >>> import numpy as np
    >>> r = Residual(Activation("relu"), scale=0.5)
    >>> r(np.array([[-2.0, 2.0]])).tolist()
    [[-2.0, 3.0]]
    """

    def __init__(self, block, scale=1.0):
        if not isinstance(block, Layer):
            raise TypeError(f"block must be a gradlab.nn.Layer, got {type(block).__name__}")
        self.block = block
        self.scale = _real(scale, "scale")  # a Python float keeps float32 float32

    def forward(self, x):
        fx = self.block.forward(x)
        if fx.shape != x.shape:
            raise ValueError(
                f"block output must have the input's shape {x.shape} for a residual sum, got {fx.shape}"
            )
        with np.errstate(**_QUIET):
            # not in place: fx may be an array the block still holds
            return x + fx if self.scale == 1.0 else x + self.scale * fx

    def backward(self, grad_out):
        with np.errstate(**_QUIET):
            # the block's output was multiplied by scale, so is its upstream gradient
            g_branch = grad_out if self.scale == 1.0 else self.scale * grad_out
        g_block = self.block.backward(g_branch)
        with np.errstate(**_QUIET):
            return grad_out + g_block

    def named_parameters(self):
        return [(f"block.{n}", p) for n, p in self.block.named_parameters()]

    def gradients(self):
        return self.block.gradients()

    def children(self):
        return [self.block]


def linear_layers(model):
    """The :class:`Linear` layers of ``model`` in forward order.

    Descends into every container (``Sequential``, ``Residual``, and any layer
    whose ``children()`` is non-empty).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> m = Sequential(Linear(2, 2, rng=rng), Residual(Linear(2, 2, rng=rng)))
    >>> len(linear_layers(m))
    2
    """
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a gradlab.nn.Layer, got {type(model).__name__}")
    found = []

    def visit(layer):
        if isinstance(layer, Linear):
            found.append(layer)
        for child in layer.children():
            visit(child)

    visit(model)
    return found


def mlp(sizes, activation, rng, init="torch_linear_default", dtype=np.float64, bias=True, **params):
    """A plain dense network: ``Linear`` layers of the given widths with ``activation`` between them.

    For ``sizes = [n_0, n_1, ..., n_L]`` the network computes
    :math:`z^{(l)} = W^{(l)} a^{(l-1)} + b^{(l)}` and :math:`a^{(l)} = \\phi(z^{(l)})`
    for :math:`l < L`; the last layer is linear (its output feeds a loss such as
    :func:`gradlab.losses.softmax_cross_entropy`). The experiments of the book
    build their deep networks with this function.

    Parameters
    ----------
    sizes : sequence of int
        Widths :math:`n_0, \\dots, n_L`, at least two, all positive.
    activation : str
        A name of ``gradlab.activations.NAMES``; ``**params`` go to it.
    rng : numpy.random.Generator
        Draws every layer's weights, in order.
    init : str or callable, default "torch_linear_default"
        Initialiser of every weight, as for :class:`Linear`.
    dtype : float dtype, default float64
    bias : bool, default True

    Returns
    -------
    Sequential
        ``Linear, Activation, Linear, ..., Linear`` (``2 L - 1`` layers).

    Examples
    --------
    >>> import numpy as np
    >>> net = mlp([2, 8, 8, 3], "tanh", np.random.default_rng(0))
    >>> [type(layer).__name__ for layer in net.layers]
    ['Linear', 'Activation', 'Linear', 'Activation', 'Linear']
    >>> net(np.zeros((5, 2))).shape
    (5, 3)
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 2:
        raise ValueError(f"sizes must be a sequence of at least two widths, got {sizes!r}")
    widths = [_positive_int(n, f"sizes[{i}]") for i, n in enumerate(sizes)]
    _check_rng(rng)
    act = _activations.get(activation, **params)  # fail early on an unknown name
    layers = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        layers.append(Linear(fan_in, fan_out, init=init, rng=rng, dtype=dtype, bias=bias))
        layers.append(Activation(act.name, **params))
    return Sequential(*layers[:-1])


# --------------------------------------------------------------------------
# dense layer and activations
# --------------------------------------------------------------------------


class Linear(Layer):
    """Dense layer :math:`z = x W^T + b`, as PyTorch's ``nn.Linear``.

    Backward, for upstream gradient :math:`G = \\partial J/\\partial z` of shape
    ``(batch, fan_out)``:

    .. math:: \\frac{\\partial J}{\\partial W} = G^T x, \\qquad
              \\frac{\\partial J}{\\partial b} = \\textstyle\\sum_{\\text{batch}} G, \\qquad
              \\frac{\\partial J}{\\partial x} = G W

    Parameters
    ----------
    fan_in, fan_out : int
    init : str or callable, default "torch_linear_default"
        A name known to :func:`gradlab.init.get` or a callable ``(shape, rng)``.
        The default draws from PyTorch's default distribution,
        :math:`U(\\pm 1/\\sqrt{\\text{fan\\_in}})`.
    rng : numpy.random.Generator
        Required unless ``init`` is ``"zeros"`` or ``"constant"``.
    dtype : float dtype, default float64
    bias : bool, default True
        The bias starts at zero, unlike PyTorch (which draws it like the weight),
        so that the book's variance arguments hold exactly at initialisation.

    Attributes
    ----------
    weight : ndarray (fan_out, fan_in)
    bias : ndarray (fan_out,) or None
    grad_weight, grad_bias : ndarrays of the same shapes

    Examples
    --------
    >>> import numpy as np
    >>> layer = Linear(3, 2, rng=np.random.default_rng(0), dtype=np.float32)
    >>> z = layer(np.ones((4, 3), dtype=np.float32))
    >>> z.shape, z.dtype, layer.backward(np.ones_like(z)).dtype
    ((4, 2), dtype('float32'), dtype('float32'))
    """

    def __init__(self, fan_in, fan_out, init="torch_linear_default", rng=None, dtype=np.float64, bias=True):
        self.fan_in = _positive_int(fan_in, "fan_in")
        self.fan_out = _positive_int(fan_out, "fan_out")
        self.dtype = _check_dtype(dtype)
        init_fn = _make_init(init)
        # random initialisers need a Generator; a callable gets whatever rng is given
        if rng is not None or (isinstance(init, str) and init not in ("zeros", "constant")):
            _check_rng(rng)
        shape = (self.fan_out, self.fan_in)
        self.weight = _draw(init_fn, shape, rng, self.dtype)
        self.grad_weight = np.zeros(shape, dtype=self.dtype)
        if bias:
            self.bias = np.zeros(self.fan_out, dtype=self.dtype)
            self.grad_bias = np.zeros(self.fan_out, dtype=self.dtype)
        else:
            self.bias = self.grad_bias = None
        self._x = None

    def forward(self, x):
        _check_input(x, self.dtype, 2, f"(batch, {self.fan_in})", last=self.fan_in)
        self._x = x
        with np.errstate(**_QUIET):
            z = x @ self.weight.T
            if self.bias is not None:
                z += self.bias
        return z

    def backward(self, grad_out):
        x = self._cached("_x")
        _check_grad(grad_out, (x.shape[0], self.fan_out), self.dtype)
        with np.errstate(**_QUIET):
            np.matmul(grad_out.T, x, out=self.grad_weight)
            if self.bias is not None:
                np.sum(grad_out, axis=0, out=self.grad_bias)
            return grad_out @ self.weight

    def named_parameters(self):
        if self.bias is None:
            return [("weight", self.weight)]
        return [("weight", self.weight), ("bias", self.bias)]

    def gradients(self):
        if self.bias is None:
            return [self.grad_weight]
        return [self.grad_weight, self.grad_bias]

    def __repr__(self):
        return f"Linear({self.fan_in}, {self.fan_out}, dtype={self.dtype})"


class Activation(Layer):
    """Elementwise activation layer: ``y = fn.forward(z)``, ``dJ/dz = dJ/dy * fn.derivative(z)``.

    Parameters
    ----------
    name : str
        A name of ``gradlab.activations.NAMES``.
    **params
        Passed to :func:`gradlab.activations.get` (e.g. ``slope=0.1``).

    Attributes
    ----------
    fn : the activation object; ``name`` its name.

    Examples
    --------
    >>> import numpy as np
    >>> act = Activation("leaky_relu", slope=0.1)
    >>> y = act(np.array([[-1.0, 2.0]]))
    >>> act.backward(np.ones_like(y)).tolist()
    [[0.1, 1.0]]
    """

    def __init__(self, name, **params):
        self.fn = _activations.get(name, **params)
        self.name = self.fn.name
        self._z = None

    def forward(self, x):
        _check_input(x, None, x.ndim if isinstance(x, np.ndarray) else 0, "any")
        self._z = x
        return self.fn.forward(x)

    def backward(self, grad_out):
        z = self._cached("_z")
        _check_grad(grad_out, z.shape, z.dtype)
        d = self.fn.derivative(z)
        with np.errstate(**_QUIET):
            np.multiply(d, grad_out, out=d)
        return d

    def __repr__(self):
        return f"Activation({self.fn!r})"


class PReLU(Layer):
    """Learnable-slope ReLU (He et al., 2015), as PyTorch's ``nn.PReLU``.

    .. math:: y = \\max(x, 0) + a \\min(x, 0), \\qquad
              \\frac{\\partial J}{\\partial x} = G \\odot (1_{x>0} + a\\,1_{x\\le 0}), \\qquad
              \\frac{\\partial J}{\\partial a} = \\sum G \\odot \\min(x, 0)

    (summed over the batch, and over features when one slope is shared).

    Parameters
    ----------
    num_parameters : int, default 1
        1 (one shared slope) or the number of features (one slope each).
    init : float, default 0.25
    dtype : float dtype, default float64

    Attributes
    ----------
    weight : ndarray (num_parameters,)
        The slope(s) a (PyTorch's name); ``grad_weight`` its gradient.

    Examples
    --------
    >>> import numpy as np
    >>> p = PReLU()
    >>> y = p(np.array([[-2.0, 3.0]]))
    >>> _ = p.backward(np.ones_like(y))
    >>> y.tolist(), p.grad_weight.tolist()
    ([[-0.5, 3.0]], [-2.0])
    """

    def __init__(self, num_parameters=1, init=0.25, dtype=np.float64):
        self.num_parameters = _positive_int(num_parameters, "num_parameters")
        self.dtype = _check_dtype(dtype)
        self.weight = np.full(self.num_parameters, _real(init, "init"), dtype=self.dtype)
        self.grad_weight = np.zeros_like(self.weight)
        self._x = None

    def forward(self, x):
        last = None if self.num_parameters == 1 else self.num_parameters
        desc = "(batch, features)" if last is None else f"(batch, {last})"
        _check_input(x, self.dtype, 2, desc, last=last)
        self._x = x
        with np.errstate(**_QUIET):
            return np.where(x > 0, x, self.weight * x)

    def backward(self, grad_out):
        x = self._cached("_x")
        _check_grad(grad_out, x.shape, self.dtype)
        with np.errstate(**_QUIET):
            neg = x <= 0
            slope_grad = np.where(neg, grad_out * x, 0).sum(axis=0)
            if self.num_parameters == 1:
                self.grad_weight[0] = slope_grad.sum()
            else:
                self.grad_weight[:] = slope_grad
            return np.where(neg, self.weight * grad_out, grad_out)

    def named_parameters(self):
        return [("weight", self.weight)]

    def gradients(self):
        return [self.grad_weight]


class RReLU(Layer):
    """Randomised leaky ReLU (Xu et al., 2015), as PyTorch's ``nn.RReLU``.

    Training: every non-positive input gets its own slope
    :math:`a \\sim U(\\text{lower}, \\text{upper})`, drawn from ``rng`` at each
    forward pass; evaluation: the fixed slope :math:`(\\text{lower}+\\text{upper})/2`
    (see :class:`gradlab.activations.RReLU` for Xu et al.'s reciprocal form).
    Backward multiplies by the same slopes used in forward.

    Parameters
    ----------
    lower, upper : float, default 1/8 and 1/3 (PyTorch's)
    rng : numpy.random.Generator
        Source of the random slopes; required.

    Examples
    --------
    >>> import numpy as np
    >>> r = RReLU(rng=np.random.default_rng(0))
    >>> y = r(np.full((2, 3), -1.0))
    >>> bool(np.all((-1/3 <= y) & (y <= -1/8))), float(r.eval()(np.array([[-48.0]]))[0, 0])
    (True, -11.0)
    """

    def __init__(self, lower=1.0 / 8.0, upper=1.0 / 3.0, rng=None):
        self._eval_fn = _activations.RReLU(lower, upper)
        self.lower, self.upper = self._eval_fn.lower, self._eval_fn.upper
        _check_rng(rng)
        self.rng = rng
        self._x = None
        self._slope = None

    def forward(self, x):
        _check_input(x, None, x.ndim if isinstance(x, np.ndarray) else 0, "any")
        self._x = x
        with np.errstate(**_QUIET):
            if self.training:
                a = self.rng.uniform(self.lower, self.upper, size=x.shape).astype(x.dtype, copy=False)
                a[x > 0] = 1
            else:
                a = np.where(x > 0, x.dtype.type(1), x.dtype.type(self._eval_fn.slope))
            self._slope = a
            return a * x

    def backward(self, grad_out):
        x = self._cached("_x")
        _check_grad(grad_out, x.shape, x.dtype)
        with np.errstate(**_QUIET):
            return self._slope * grad_out


# --------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------


def _normalise_backward(grad_xhat, xhat, inv_std, axis):
    """dJ/dx for xhat = (x - mean) * inv_std with mean and (biased) variance over ``axis``.

    .. math:: \\frac{\\partial J}{\\partial x} = \\frac{\\sigma^{-1}}{n}\\Bigl(n\\,\\hat g
              - \\textstyle\\sum \\hat g - \\hat x \\sum \\hat g \\odot \\hat x\\Bigr)
    """
    n = xhat.shape[axis]
    s1 = grad_xhat.sum(axis=axis, keepdims=True)
    s2 = (grad_xhat * xhat).sum(axis=axis, keepdims=True)
    return (inv_std / n) * (n * grad_xhat - s1 - xhat * s2)


class _AffineNormalisation(Layer):
    """Shared part of the normalisation layers: :math:`y = \\gamma \\odot \\hat x + \\beta`.

    Holds one scale and one shift per feature (initialised to 1 and 0) and their
    gradients; subclasses compute :math:`\\hat x` and its backward pass.
    """

    def _init_affine(self, num_features, eps, dtype):
        self.num_features = _positive_int(num_features, "num_features")
        self.eps = _real(eps, "eps")
        if self.eps <= 0:
            raise ValueError(f"eps must be positive, got {self.eps}")
        self.dtype = _check_dtype(dtype)
        d = self.num_features
        self.gamma = np.ones(d, dtype=self.dtype)
        self.beta = np.zeros(d, dtype=self.dtype)
        self.grad_gamma = np.zeros(d, dtype=self.dtype)
        self.grad_beta = np.zeros(d, dtype=self.dtype)
        self._xhat = None

    def _affine_backward(self, grad_out, xhat):
        """Store dJ/dgamma and dJ/dbeta; return dJ/dxhat."""
        np.sum(grad_out * xhat, axis=0, out=self.grad_gamma)
        np.sum(grad_out, axis=0, out=self.grad_beta)
        return grad_out * self.gamma

    def named_parameters(self):
        return [("gamma", self.gamma), ("beta", self.beta)]

    def gradients(self):
        return [self.grad_gamma, self.grad_beta]


class BatchNorm(_AffineNormalisation):
    """Batch normalisation over the batch axis (Ioffe & Szegedy, 2015), PyTorch or Keras conventions.

    Training, per feature over the batch of size n:

    .. math:: \\mu = \\tfrac1n \\sum_i x_i, \\quad \\sigma^2 = \\tfrac1n \\sum_i (x_i-\\mu)^2, \\quad
              \\hat x = \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}}, \\quad y = \\gamma \\hat x + \\beta

    (biased variance, both conventions). Running statistics, with momentum m:

    - ``convention="pytorch"``: ``running = (1 - m) running + m batch`` with the
      *unbiased* variance :math:`\\sigma^2 n/(n-1)` for ``running_var``;
      defaults m = 0.1, eps = 1e-5 (``nn.BatchNorm1d``).
    - ``convention="keras"``: ``moving = m moving + (1 - m) batch`` with the
      biased variance; defaults m = 0.99, eps = 1e-3 (``BatchNormalization``).
      Keras' 0.99 is PyTorch's 0.01.

    Evaluation mode normalises with the running statistics instead (and does
    not update them). A training batch of one sample is refused, as PyTorch
    does: its variance is zero and the output carries no information.

    Parameters
    ----------
    num_features : int
    momentum : float, optional
        In [0, 1]; default 0.1 for pytorch, 0.99 for keras.
    eps : float, optional
        Positive; default 1e-5 for pytorch, 1e-3 for keras.
    convention : {"pytorch", "keras"}
    dtype : float dtype, default float64

    Attributes
    ----------
    gamma, beta : ndarray (num_features,), initialised to 1 and 0
    running_mean, running_var : ndarray (num_features,), initialised to 0 and 1
    grad_gamma, grad_beta : ndarray (num_features,)

    Examples
    --------
    >>> import numpy as np
    >>> bn = BatchNorm(2)
    >>> y = bn(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> np.round(y, 3).tolist(), bn.running_mean.tolist()
    ([[-1.0, -1.0], [1.0, 1.0]], [0.2, 2.0])
    """

    _DEFAULTS = {"pytorch": (0.1, 1e-5), "keras": (0.99, 1e-3)}

    def __init__(self, num_features, momentum=None, eps=None, convention="pytorch", dtype=np.float64):
        if convention not in self._DEFAULTS:
            raise ValueError(f"convention must be 'pytorch' or 'keras', got {convention!r}")
        self.convention = convention
        default_m, default_eps = self._DEFAULTS[convention]
        self._init_affine(num_features, default_eps if eps is None else eps, dtype)
        self.momentum = default_m if momentum is None else _real(momentum, "momentum")
        if not 0.0 <= self.momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {self.momentum}")
        self.running_mean = np.zeros(self.num_features, dtype=self.dtype)
        self.running_var = np.ones(self.num_features, dtype=self.dtype)

    def forward(self, x):
        _check_input(x, self.dtype, 2, f"(batch, {self.num_features})", last=self.num_features)
        n = x.shape[0]
        with np.errstate(**_QUIET):
            if self.training:
                if n < 2:
                    raise ValueError(
                        "Expected more than 1 value per channel when training, got input of "
                        f"shape {x.shape}: the batch variance of one sample is zero"
                    )
                mean = x.mean(axis=0)
                centred = x - mean
                var = np.mean(centred * centred, axis=0)
                self._update_running(mean, var, n)
            else:
                mean, var = self.running_mean, self.running_var
                centred = x - mean
            inv_std = 1.0 / np.sqrt(var + self.eps)
            xhat = centred
            xhat *= inv_std
            self._xhat, self._inv_std, self._mode = xhat, inv_std, self.training
            return self.gamma * xhat + self.beta

    def _update_running(self, mean, var, n):
        m = self.momentum
        if self.convention == "pytorch":
            unbiased = var * (n / (n - 1))
            self.running_mean *= 1.0 - m
            self.running_mean += m * mean
            self.running_var *= 1.0 - m
            self.running_var += m * unbiased
        else:
            self.running_mean *= m
            self.running_mean += (1.0 - m) * mean
            self.running_var *= m
            self.running_var += (1.0 - m) * var

    def backward(self, grad_out):
        xhat = self._cached("_xhat")
        _check_grad(grad_out, xhat.shape, self.dtype)
        with np.errstate(**_QUIET):
            grad_xhat = self._affine_backward(grad_out, xhat)
            if self._mode:
                return _normalise_backward(grad_xhat, xhat, self._inv_std, axis=0)
            # eval mode: the running statistics are constants
            return grad_xhat * self._inv_std

    def __repr__(self):
        return (f"BatchNorm({self.num_features}, momentum={self.momentum}, eps={self.eps}, "
                f"convention={self.convention!r})")


class LayerNorm(_AffineNormalisation):
    """Layer normalisation over the feature (last) axis (Ba et al., 2016), as PyTorch's ``nn.LayerNorm``.

    .. math:: \\hat x = \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}}, \\quad
              y = \\gamma \\odot \\hat x + \\beta

    with mean and biased variance over the features of each sample, so it
    behaves the same in training and evaluation and for a batch of one.

    Parameters
    ----------
    num_features : int
    eps : float, default 1e-5
    dtype : float dtype, default float64

    Examples
    --------
    >>> import numpy as np
    >>> ln = LayerNorm(2)
    >>> np.round(ln(np.array([[1.0, 3.0]])), 3).tolist()
    [[-1.0, 1.0]]
    """

    def __init__(self, num_features, eps=1e-5, dtype=np.float64):
        self._init_affine(num_features, eps, dtype)

    def forward(self, x):
        _check_input(x, self.dtype, 2, f"(batch, {self.num_features})", last=self.num_features)
        with np.errstate(**_QUIET):
            mean = x.mean(axis=-1, keepdims=True)
            xhat = x - mean
            var = np.mean(xhat * xhat, axis=-1, keepdims=True)
            inv_std = 1.0 / np.sqrt(var + self.eps)
            xhat *= inv_std
            self._xhat, self._inv_std = xhat, inv_std
            return self.gamma * xhat + self.beta

    def backward(self, grad_out):
        xhat = self._cached("_xhat")
        _check_grad(grad_out, xhat.shape, self.dtype)
        with np.errstate(**_QUIET):
            return _normalise_backward(self._affine_backward(grad_out, xhat), xhat, self._inv_std, axis=-1)


# --------------------------------------------------------------------------
# recurrent layer
# --------------------------------------------------------------------------


class RNN(Layer):
    """Vanilla tanh recurrent layer (Elman, 1990), as PyTorch's ``nn.RNN`` (one layer).

    .. math:: h_t = \\tanh\\bigl(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh}\\bigr),
              \\quad h_0 = 0 \\text{ unless given}

    Back-propagation through time (Werbos, 1990): with :math:`G_t` the gradient
    arriving at :math:`h_t` from the loss,

    .. math:: \\delta_t = \\frac{\\partial J}{\\partial h_t} = G_t + \\bigl(\\delta_{t+1}
              \\odot (1 - h_{t+1}^2)\\bigr) W_{hh}

    so :math:`\\delta_t` is multiplied by :math:`\\operatorname{diag}(1-h^2) W_{hh}`
    once per step back in time, the product that vanishes or explodes
    (Bengio et al., 1994; Pascanu et al., 2013). After ``backward``,
    ``step_grad_norms[t]`` is :math:`\\lVert \\delta_t \\rVert` (Frobenius norm
    over batch and hidden units).

    Parameters
    ----------
    input_size, hidden_size : int
    rng : numpy.random.Generator
    init : str, callable or None
        Initialiser for ``weight_ih``. None (default) is PyTorch's
        :math:`U(\\pm 1/\\sqrt{\\text{hidden\\_size}})`.
    init_hh : str, callable or None
        Initialiser for ``weight_hh``; None means the same as ``init``.
    dtype : float dtype, default float64

    Biases start at zero (PyTorch draws them like the weights), as in :class:`Linear`.
    Parameters, in order: ``weight_ih`` (hidden, input), ``weight_hh``
    (hidden, hidden), ``bias_ih``, ``bias_hh`` (PyTorch's order), gradients
    ``grad_weight_ih`` and so on.

    Examples
    --------
    >>> import numpy as np
    >>> rnn = RNN(3, 4, rng=np.random.default_rng(0))
    >>> h = rnn(np.ones((5, 2, 3)))          # (time, batch, features)
    >>> dx = rnn.backward(np.ones_like(h))
    >>> h.shape, dx.shape, rnn.step_grad_norms.shape
    ((5, 2, 4), (5, 2, 3), (5,))
    """

    def __init__(self, input_size, hidden_size, rng=None, init=None, init_hh=None, dtype=np.float64):
        self.input_size = _positive_int(input_size, "input_size")
        self.hidden_size = _positive_int(hidden_size, "hidden_size")
        self.dtype = _check_dtype(dtype)
        _check_rng(rng)
        k = 1.0 / math.sqrt(self.hidden_size)
        default = lambda shape, rng: _init.uniform(shape, rng, -k, k)  # noqa: E731
        init_fn = default if init is None else _make_init(init)
        init_hh_fn = init_fn if init_hh is None else _make_init(init_hh, "init_hh")
        H, I = self.hidden_size, self.input_size
        self.weight_ih = _draw(init_fn, (H, I), rng, self.dtype)
        self.weight_hh = _draw(init_hh_fn, (H, H), rng, self.dtype, "init_hh")
        self.bias_ih = np.zeros(H, dtype=self.dtype)
        self.bias_hh = np.zeros(H, dtype=self.dtype)
        self.grad_weight_ih = np.zeros_like(self.weight_ih)
        self.grad_weight_hh = np.zeros_like(self.weight_hh)
        self.grad_bias_ih = np.zeros_like(self.bias_ih)
        self.grad_bias_hh = np.zeros_like(self.bias_hh)
        self.grad_h0 = None
        self.step_grad_norms = None
        self._x = None

    def forward(self, x, h0=None):
        """Hidden states of shape (time, batch, hidden) for ``x`` of shape (time, batch, input_size)."""
        _check_input(x, self.dtype, 3, f"(time, batch, {self.input_size})", last=self.input_size)
        T, B, _ = x.shape
        H = self.hidden_size
        if h0 is None:
            h0 = np.zeros((B, H), dtype=self.dtype)
        else:
            _check_input(h0, self.dtype, 2, f"(batch={B}, {H})", last=H, name="h0")
            if h0.shape[0] != B:
                raise ValueError(f"h0 must have shape ({B}, {H}), got {h0.shape}")
        with np.errstate(**_QUIET):
            # the input projections of all steps in one matrix product
            h = (x.reshape(T * B, -1) @ self.weight_ih.T).reshape(T, B, H)
            h += self.bias_ih + self.bias_hh
            w_hh_t = self.weight_hh.T
            prev = h0
            for t in range(T):
                h[t] += prev @ w_hh_t
                np.tanh(h[t], out=h[t])
                prev = h[t]
        self._x, self._h0, self._h = x, h0, h
        return h.copy()

    def backward(self, grad_out):
        x = self._cached("_x")
        h, h0 = self._h, self._h0
        _check_grad(grad_out, h.shape, self.dtype)
        T, B, H = h.shape
        grad_a = np.empty_like(h)  # dJ/d(pre-activation) at every step
        norms = np.empty(T, dtype=self.dtype)
        with np.errstate(**_QUIET):
            delta_next = np.zeros((B, H), dtype=self.dtype)
            for t in range(T - 1, -1, -1):
                delta = grad_out[t] + delta_next
                norms[t] = np.sqrt(np.sum(delta * delta))
                grad_a[t] = delta * (1.0 - h[t] * h[t])
                delta_next = grad_a[t] @ self.weight_hh
            self.grad_h0 = delta_next
            ga = grad_a.reshape(T * B, H)
            h_prev = np.concatenate([h0[None], h[:-1]], axis=0).reshape(T * B, H)
            np.matmul(ga.T, x.reshape(T * B, -1), out=self.grad_weight_ih)
            np.matmul(ga.T, h_prev, out=self.grad_weight_hh)
            np.sum(ga, axis=0, out=self.grad_bias_ih)
            self.grad_bias_hh[:] = self.grad_bias_ih
            self.step_grad_norms = norms
            return (ga @ self.weight_ih).reshape(x.shape)

    def named_parameters(self):
        return [("weight_ih", self.weight_ih), ("weight_hh", self.weight_hh),
                ("bias_ih", self.bias_ih), ("bias_hh", self.bias_hh)]

    def gradients(self):
        return [self.grad_weight_ih, self.grad_weight_hh, self.grad_bias_ih, self.grad_bias_hh]
