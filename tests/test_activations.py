"""Tests of gradlab.activations: closed forms, finite differences, stability, dtype."""

import math
import warnings

import numpy as np
import pytest

from gradlab import activations, nn
from gradlab.gradcheck import gradcheck, max_relative_error

KINKED = {"relu", "leaky_relu", "elu", "selu"}


def _points(name, rng, n=200):
    """Test points in [-4, 4]; kinked activations keep |z| > 0.05 so +-h never crosses 0."""
    z = rng.uniform(-4.0, 4.0, n)
    if name in KINKED:
        z = z[np.abs(z) > 0.05]
    return z


@pytest.mark.parametrize("name", activations.NAMES)
def test_derivative_matches_central_differences(name):
    rng = np.random.default_rng(1)
    act = activations.get(name)
    z = _points(name, rng)
    h = 1e-6
    numeric = (act.forward(z + h) - act.forward(z - h)) / (2 * h)
    assert max_relative_error(act.derivative(z), numeric) < 1e-6


@pytest.mark.parametrize("name", activations.NAMES)
def test_gradcheck_activation_layer(name):
    rng = np.random.default_rng(2)
    x = _points(name, rng, 40)[:30].reshape(5, 6)
    errors = gradcheck(nn.Activation(name), x)
    assert errors["input"] < 1e-6


@pytest.mark.parametrize("name", activations.NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_no_warnings_and_dtype_kept(name, dtype):
    act = activations.get(name)
    z = np.array([-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, d = act.forward(z), act.derivative(z)
    assert y.dtype == dtype and d.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(d))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_stable_to_1e4(dtype):
    z = np.linspace(-1e4, 1e4, 20001).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            s = activations.get("sigmoid").forward(z)
            d = activations.get("sigmoid").derivative(z)
    assert s.dtype == dtype
    assert s[0] == 0.0 and s[-1] == 1.0 and np.all((s >= 0) & (s <= 1))
    assert np.all(np.diff(s) >= 0)
    # symmetric identity sigma(-z) = 1 - sigma(z) and derivative s(1-s) where both are well conditioned
    mid = np.abs(z) < 10
    assert np.allclose(s[mid] + s[::-1][mid], 1.0, atol=1e-6 if dtype == np.float32 else 1e-15)
    assert np.allclose(d[mid], (s * (1 - s))[mid], atol=1e-6 if dtype == np.float32 else 1e-15)


def test_sigmoid_closed_form():
    z = np.array([-3.0, -0.5, 0.0, 2.0])
    expected = [1 / (1 + math.exp(-v)) for v in z]
    assert np.allclose(activations.get("sigmoid").forward(z), expected, rtol=1e-15)
    assert activations.get("sigmoid").derivative(np.array(0.0)) == 0.25


def test_erf_against_math_erf():
    x = np.linspace(-7, 7, 14001)
    ref = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(activations.erf(x) - ref)) < 2e-15


def test_erfc_relative_accuracy_in_tails():
    x = np.linspace(-6, 26, 16001)
    ref = np.array([math.erfc(v) for v in x])
    ok = ref > 1e-300  # exclude the subnormal range
    rel = np.abs(activations.erfc(x)[ok] - ref[ok]) / ref[ok]
    assert rel.max() < 1e-12
    assert activations.erfc(np.array([np.inf, -np.inf])).tolist() == [0.0, 2.0]
    assert np.isnan(activations.erf(np.array([np.nan]))[0])


def test_erfcx_against_math_and_its_asymptotic_series():
    # moderate x: e^{x^2} erfc(x) through math; below 2 erfcx inherits erfc's 1e-13 (1 - erf cancels)
    x = np.linspace(-6, 6, 2401)
    ref = np.array([math.exp(v * v) * math.erfc(v) for v in x])
    rel = np.abs(activations.erfcx(x) - ref) / ref
    assert rel.max() < 3e-13 and rel[x >= 2].max() < 1e-14
    # large x, where e^{x^2} overflows: erfcx(x) x sqrt(pi) = 1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6) + 105/(16x^8) - ...,
    # an alternating series whose truncation error is below the next term, 945/(32 x^10) < 1e-18 for x >= 100
    x = np.array([100.0, 1e3, 1e4, 1e30])
    series = 1 - 1 / (2 * x**2) + 3 / (4 * x**4) - 15 / (8 * x**6) + 105 / (16 * x**8)
    assert np.allclose(activations.erfcx(x) * x * math.sqrt(math.pi), series, rtol=2e-15, atol=0)
    assert activations.erfcx(np.array([np.inf])).tolist() == [0.0]
    assert activations.erfcx(np.array([1.0], dtype=np.float32)).dtype == np.float32


def test_gelu_exact_form():
    z = np.linspace(-8, 8, 161)
    # Phi via math.erfc: 1 + erf would itself cancel for negative z
    ref = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in z])
    assert np.allclose(activations.get("gelu").forward(z), ref, rtol=1e-13, atol=1e-16)
    # very negative inputs keep relative accuracy (erfc, not 1 + erf)
    v = -10.0
    ref_tail = v * 0.5 * math.erfc(-v / math.sqrt(2))
    got = float(activations.get("gelu").forward(np.array(v)))
    assert abs(got - ref_tail) <= 1e-12 * abs(ref_tail)


def test_relu_family_conventions():
    z = np.array([-2.0, 0.0, 3.0])
    assert activations.get("relu").derivative(z).tolist() == [0.0, 0.0, 1.0]
    assert activations.get("leaky_relu").slope == 0.01
    assert activations.get("leaky_relu", slope=0.2).forward(z).tolist() == [-0.4, 0.0, 3.0]


@pytest.mark.parametrize("name, layer", [("prelu", "nn.PReLU"), ("rrelu", "nn.RReLU")])
def test_learned_and_random_slopes_are_layers_not_fixed_functions(name, layer):
    # a fixed slope under these names would let a "PReLU network" learn no slope
    with pytest.raises(ValueError, match=layer):
        activations.get(name)
    with pytest.raises(ValueError, match=layer):
        nn.Activation(name)
    assert name not in activations.NAMES


def test_selu_elu_constants():
    selu = activations.get("selu")
    assert selu.alpha == 1.6732632423543772 and selu.scale == 1.0507009873554805
    z = np.array([-1.0, 2.0])
    expected = [1.0507009873554805 * 1.6732632423543772 * (math.exp(-1) - 1), 1.0507009873554805 * 2]
    assert np.allclose(selu.forward(z), expected, rtol=1e-15)
    assert np.allclose(activations.get("elu", alpha=2.0).forward(z), [2 * (math.exp(-1) - 1), 2.0])


def test_silu_softplus_closed_forms():
    z = np.array([-30.0, -2.0, 0.0, 1.5, 30.0])
    sig = np.array([1 / (1 + math.exp(-v)) for v in z])
    assert np.allclose(activations.get("silu").forward(z), z * sig, rtol=1e-14)
    ref = np.array([math.log1p(math.exp(v)) for v in z])
    assert np.allclose(activations.get("softplus").forward(z), ref, rtol=1e-14)
    assert np.allclose(activations.get("softplus").derivative(z), sig, rtol=1e-14)
    sp2 = activations.get("softplus", beta=2.0)
    assert np.allclose(sp2.forward(z), [math.log1p(math.exp(2 * v)) / 2 for v in z], rtol=1e-14)


def test_names_and_scalar_input():
    assert set(activations.NAMES) == {
        "identity", "sigmoid", "tanh", "relu", "leaky_relu",
        "elu", "selu", "gelu", "silu", "softplus",
    }
    for name in activations.NAMES:
        assert activations.get(name).name == name
        assert np.shape(activations.get(name).forward(0.5)) == ()


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        activations.get("relux")
    for name in activations.NAMES:
        assert name in str(info.value)


INT = np.array([1, 2])

BAD_INPUT_CASES = [
    ("gradlab.activations.get", lambda: activations.get("relux"), ValueError, "unknown activation 'relux'.*relu"),
    ("gradlab.activations.get", lambda: activations.get("relu", slope=0.1), TypeError, "unexpected parameter"),
    ("gradlab.activations.ActivationFunction", lambda: activations.Tanh().derivative(INT), TypeError, "z must be a floating"),
    ("gradlab.activations.Identity", lambda: activations.Identity().forward(INT), TypeError, "floating"),
    ("gradlab.activations.Sigmoid", lambda: activations.Sigmoid().forward([1, 2]), TypeError, "floating"),
    ("gradlab.activations.Tanh", lambda: activations.Tanh().forward(INT), TypeError, "floating"),
    ("gradlab.activations.ReLU", lambda: activations.ReLU().derivative(INT), TypeError, "floating"),
    ("gradlab.activations.LeakyReLU", lambda: activations.LeakyReLU(slope="a"), TypeError, "slope must be a real"),
    ("gradlab.activations.LeakyReLU", lambda: activations.LeakyReLU(slope=float("nan")), ValueError, "slope must be a finite number"),
    ("gradlab.activations.ELU", lambda: activations.ELU(alpha=float("inf")), ValueError, "alpha must be a finite number"),
    ("gradlab.activations.SELU", lambda: activations.SELU(scale="x"), TypeError, "scale must be a real"),
    ("gradlab.activations.GELU", lambda: activations.GELU().forward(INT), TypeError, "floating"),
    ("gradlab.activations.SiLU", lambda: activations.SiLU().forward(INT), TypeError, "floating"),
    ("gradlab.activations.Softplus", lambda: activations.Softplus(beta=0.0), ValueError, "beta must be a finite number > 0"),
    ("gradlab.activations.erf", lambda: activations.erf(INT), TypeError, "x must be a floating"),
    ("gradlab.activations.erfc", lambda: activations.erfc(INT), TypeError, "x must be a floating"),
    ("gradlab.activations.erfcx", lambda: activations.erfcx(INT), TypeError, "x must be a floating"),
    ("gradlab.activations.erfcx", lambda: activations.erfcx(np.array(["a"])), TypeError, "x must be a floating"),
]


@pytest.mark.parametrize("name, call, exc, match", BAD_INPUT_CASES, ids=[c[0] for c in BAD_INPUT_CASES])
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()

