"""Tests for gradlab.selfnorm: closed forms, independent integrals, Monte-Carlo bounds, the SELU constants."""

import math

import numpy as np
import pytest

from gradlab import activations, init, meanfield, nn
from gradlab.selfnorm import (
    forward_moments,
    gaussian_moments,
    iterate_map,
    layer_map,
    map_jacobian,
    solve_selu_constants,
)

SELU = activations.SELU()


def phi_cdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def trapezoid_moments(fn, m, v, points=400_001):
    """E[phi(z)], E[phi(z)^2] for z ~ N(m, v) by the trapezoid rule on a fine grid with a node at z = 0.

    An integration method independent of the module's (no Gauss-Legendre, no
    closed forms). The grid spans m +- 14 s, padded so that 0 is a node; the
    error is O(h^2) on each side of the kink, below 1e-9 here.
    """
    s = math.sqrt(v)
    lo, hi = m - 14 * s, m + 14 * s
    h = (hi - lo) / (points - 1)
    lo = math.floor(lo / h) * h  # shift the grid so that z = 0 is a node
    z = lo + h * np.arange(points + 2)
    dens = np.exp(-0.5 * ((z - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
    f = fn.forward(z)
    return np.trapezoid(f * dens, z), np.trapezoid(f * f * dens, z)


# --------------------------------------------------------------------------
# the SELU constants
# --------------------------------------------------------------------------
def test_solved_selu_constants_agree_with_the_activation_to_1e_10():
    alpha, scale = solve_selu_constants()
    assert abs(alpha - SELU.alpha) < 1e-10
    assert abs(scale - SELU.scale) < 1e-10


def test_solved_selu_constants_agree_with_the_closed_form():
    # With omega = 0 and z ~ N(0, 1): E[z 1+] = 1/sqrt(2 pi), E[(e^z - 1) 1-] = e^{1/2} Phi(-1) - 1/2,
    # so alpha = 1/sqrt(2 pi) / (1/2 - e^{1/2} Phi(-1)); then lambda^2 (1/2 + alpha^2 D) = 1 with
    # D = e^2 Phi(-2) - 2 e^{1/2} Phi(-1) + 1/2 (Klambauer et al., 2017, eq. 14), all through math.erfc.
    a = 1 / math.sqrt(2 * math.pi)
    b = math.exp(0.5) * phi_cdf(-1.0) - 0.5
    d = math.exp(2.0) * phi_cdf(-2.0) - 2 * math.exp(0.5) * phi_cdf(-1.0) + 0.5
    alpha = -a / b
    scale = 1 / math.sqrt(0.5 + alpha**2 * d)
    got = solve_selu_constants()
    assert got[0] == pytest.approx(alpha, rel=1e-13)
    assert got[1] == pytest.approx(scale, rel=1e-13)


@pytest.mark.parametrize("mean, var, omega, tau", [(0.0, 1.0, 0.0, 1.1), (0.1, 1.2, 0.0, 1.0),
                                                   (-0.05, 0.9, 0.1, 0.95), (0.2, 2.0, 0.0, 1.0)])
def test_solved_constants_make_the_point_fixed(mean, var, omega, tau):
    alpha, scale = solve_selu_constants(mean, var, omega=omega, tau=tau)
    act = activations.SELU(alpha=alpha, scale=scale)
    m, v = gaussian_moments(act, mean * omega, var * tau, method="closed")
    assert m == pytest.approx(mean, abs=1e-12)
    assert v == pytest.approx(var, rel=1e-12)


def test_the_constants_depend_on_the_fixed_point():
    # a larger target variance needs a larger scale
    assert solve_selu_constants(0.0, 2.0)[1] > solve_selu_constants(0.0, 1.0)[1]


# --------------------------------------------------------------------------
# moments
# --------------------------------------------------------------------------
CASES = [(0.0, 1.0), (0.5, 2.0), (-1.0, 0.3), (2.0, 50.0), (-3.0, 10.0), (0.1, 100.0), (1e-3, 1e-4)]
FAMILY = [("selu", {}), ("elu", {}), ("elu", {"alpha": 0.5}), ("relu", {}),
          ("leaky_relu", {"slope": 0.1}), ("identity", {})]


@pytest.mark.parametrize("name, params", FAMILY)
@pytest.mark.parametrize("m, v", CASES)
def test_closed_forms_agree_with_quadrature(name, params, m, v):
    c = gaussian_moments(name, m, v, method="closed", **params)
    q = gaussian_moments(name, m, v, method="quadrature", **params)
    assert c[0] == pytest.approx(q[0], rel=1e-11, abs=1e-13 * math.sqrt(v))
    assert c[1] == pytest.approx(q[1], rel=1e-11)


@pytest.mark.parametrize("name, params", FAMILY + [("gelu", {}), ("silu", {}), ("tanh", {})])
@pytest.mark.parametrize("m, v", [(0.0, 1.0), (0.7, 3.0), (-2.0, 0.5)])
def test_moments_against_a_fine_trapezoid_integral(name, params, m, v):
    act = activations.get(name, **params)
    first, second = trapezoid_moments(act, m, v)
    got = gaussian_moments(act, m, v)
    assert got[0] == pytest.approx(first, abs=1e-8)
    assert got[1] == pytest.approx(second - first**2, abs=1e-8)


def test_moments_closed_forms_of_simple_activations():
    for v in [0.25, 1.0, 7.0]:
        s = math.sqrt(v)
        m, var = gaussian_moments("relu", 0.0, v)
        assert m == pytest.approx(s / math.sqrt(2 * math.pi), rel=1e-14)
        assert var == pytest.approx(v / 2 - v / (2 * math.pi), rel=1e-14)
        # leaky ReLU is relu(z) - slope * relu(-z): mean (1 - slope) s / sqrt(2 pi)
        m, _ = gaussian_moments("leaky_relu", 0.0, v, slope=0.2)
        assert m == pytest.approx(0.8 * s / math.sqrt(2 * math.pi), rel=1e-14)
        # GELU: E[z Phi(z)] = v E[Phi'(z)] (Stein) = v / sqrt(2 pi (1 + v))
        m, _ = gaussian_moments("gelu", 0.0, v)
        assert m == pytest.approx(v / math.sqrt(2 * math.pi * (1 + v)), rel=1e-12)
        # odd activations have mean 0 under a centred normal
        assert abs(gaussian_moments("tanh", 0.0, v)[0]) < 1e-15
    assert gaussian_moments("identity", 1.5, 2.5) == pytest.approx((1.5, 2.5), rel=1e-14)
    # ELU with z ~ N(0, 1): 1/sqrt(2 pi) + alpha (e^{1/2} Phi(-1) - 1/2)
    m, _ = gaussian_moments("elu", 0.0, 1.0)
    assert m == pytest.approx(1 / math.sqrt(2 * math.pi) + math.exp(0.5) * phi_cdf(-1.0) - 0.5, rel=1e-13)


def test_moments_against_monte_carlo_within_five_standard_errors():
    rng = np.random.default_rng(0)
    n = 400_000
    for name, m, v in [("selu", 0.3, 1.7), ("sigmoid", 1.0, 4.0), ("softplus", -0.5, 2.0)]:
        act = activations.get(name)
        f = act.forward(m + math.sqrt(v) * rng.standard_normal(n))
        mean, var = gaussian_moments(act, m, v)
        se_mean = f.std() / math.sqrt(n)
        # the sample variance has standard error sqrt((mu4 - var^2) / n)
        se_var = math.sqrt(np.mean((f - f.mean()) ** 4) - f.var() ** 2) / math.sqrt(n)
        assert abs(f.mean() - mean) < 5 * se_mean
        assert abs(f.var() - var) < 5 * se_var


def test_closed_form_has_no_overflow_for_huge_variances():
    # SELU for a very wide normal: the positive half dominates, E[selu] ~ lambda s / sqrt(2 pi)
    for v in [1e4, 1e100, 1e200]:
        m, var = gaussian_moments("selu", 0.0, v)
        s = math.sqrt(v)
        assert np.isfinite(m) and np.isfinite(var)
        assert m == pytest.approx(SELU.scale * s / math.sqrt(2 * math.pi), rel=1e-1 if v < 1e10 else 1e-9)
        assert var == pytest.approx(SELU.scale**2 * v * (0.5 - 0.5 / math.pi), rel=1e-1 if v < 1e10 else 1e-9)


def test_vectorised_moments_match_scalar_ones():
    ms = np.array([[0.0, 0.5], [-1.0, 2.0]])
    vs = np.array([1.0, 3.0])
    m, v = gaussian_moments("selu", ms, vs)
    assert m.shape == v.shape == (2, 2)
    for i in range(2):
        for j in range(2):
            assert (m[i, j], v[i, j]) == pytest.approx(gaussian_moments("selu", ms[i, j], vs[j]), rel=1e-15)


# --------------------------------------------------------------------------
# the map, its iteration and its Jacobian
# --------------------------------------------------------------------------
def test_layer_map_of_the_identity():
    assert layer_map(0.5, 2.0, "identity", omega=0.3, tau=1.5) == pytest.approx((0.15, 3.0), rel=1e-14)
    # random weights: the pooled pre-activation is N(0, tau (mu^2 + nu))
    assert layer_map(0.5, 2.0, "identity", tau=1.5, weights="random") == pytest.approx((0.0, 3.375), abs=1e-14)


@pytest.mark.parametrize("name", ["selu", "elu", "relu", "tanh", "gelu"])
@pytest.mark.parametrize("m, v, tau", [(0.0, 1.0, 1.0), (0.5, 2.0, 2.0), (-0.3, 0.4, 9 / 16)])
def test_random_map_second_moment_is_the_meanfield_variance_map(name, m, v, tau):
    # an independent implementation (a midpoint rule in t with z = t^5, zero-mean Gaussians only)
    mean, var = layer_map(m, v, name, tau=tau, weights="random")
    q_next = meanfield.variance_map(tau * (m * m + v), math.sqrt(tau), activation=name)
    assert tau * (mean * mean + var) == pytest.approx(q_next, rel=1e-13)


def test_he_keeps_the_second_moment_of_a_relu_stack():
    # z ~ N(0, 2 q) gives E[relu(z)^2] = q: the second moment q = mean^2 + var is preserved exactly,
    # and the mean is sqrt(2 q) / sqrt(2 pi) = sqrt(q / pi)
    means, variances = iterate_map(0.0, 1.0, 10, "relu", tau=2.0, weights="random")
    q = means[1:] ** 2 + variances[1:]
    assert np.allclose(q, 1.0, rtol=1e-13)
    assert np.allclose(means[1:], math.sqrt(1 / math.pi), rtol=1e-13)


def test_iterate_map_converges_to_the_selu_fixed_point_and_stops_on_overflow():
    means, variances = iterate_map(1.0, 3.0, 120)
    assert abs(means[-1]) < 1e-10 and abs(variances[-1] - 1) < 1e-10
    means, variances = iterate_map(0.0, 1.0, 300, "relu", tau=1e4, weights="random")
    assert np.isnan(variances[-1]) and np.isfinite(variances[1])


def test_map_jacobian_closed_forms():
    J = map_jacobian(0.5, 2.0, "identity", omega=0.3, tau=1.5)
    assert np.allclose(J, [[0.3, 0.0], [0.0, 1.5]], atol=1e-9)
    J = map_jacobian(0.5, 2.0, "identity", tau=1.5, weights="random")
    assert np.allclose(J, [[0.0, 0.0], [2 * 1.5 * 0.5, 1.5]], atol=1e-9)


def test_map_jacobian_predicts_the_rate_of_convergence():
    # at the fixed point (0, 1) the variance's deviation shrinks by the Jacobian's nonzero eigenvalue per layer
    rate = max(abs(np.linalg.eigvals(map_jacobian())))
    _, variances = iterate_map(0.0, 1.0 + 1e-6, 8)
    ratios = (variances[1:] - 1) / (variances[:-1] - 1)
    assert ratios[-1] == pytest.approx(rate, rel=1e-4)
    assert 0 < rate < 1


# --------------------------------------------------------------------------
# forward_moments
# --------------------------------------------------------------------------
def test_forward_moments_match_a_hand_written_forward_pass():
    rng = np.random.default_rng(3)
    net = nn.mlp([5, 7, 7, 2], "elu", rng, init="lecun_normal")
    x = rng.standard_normal((11, 5))
    means, variances = forward_moments(net, x)
    h, want = x, []
    lins = nn.linear_layers(net)
    for lin in lins[:-1]:
        h = h @ lin.weight.T + lin.bias
        h = np.where(h > 0, h, np.expm1(np.minimum(h, 0)))
        want.append((h.mean(), h.var()))
    assert np.allclose(np.c_[means, variances], want, rtol=1e-14, atol=1e-15)


def test_forward_moments_after_residual_blocks():
    rng = np.random.default_rng(0)
    blocks = [nn.Residual(nn.Sequential(nn.Linear(3, 3, rng=rng), nn.Activation("tanh"))) for _ in range(2)]
    net = nn.Sequential(*blocks)
    x = rng.standard_normal((6, 3))
    means, variances = forward_moments(net, x, after=nn.Residual)
    h1 = blocks[0](x)
    h2 = blocks[1](h1)
    assert np.allclose(means, [h1.mean(), h2.mean()], rtol=1e-15)
    assert np.allclose(variances, [h1.var(), h2.var()], rtol=1e-15)
    assert forward_moments(net, x)[0].size == 0  # no activation layer at the top level


def test_forward_moments_of_a_wide_selu_layer_follow_the_map():
    # one LeCun-normal layer of width 4000 on standard inputs: the pooled moments are those of
    # SELU(z), z ~ N(0, q) with q the inputs' mean square, up to sampling error of order 1/sqrt(n)
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Linear(400, 4000, init="lecun_normal", rng=rng, bias=False), nn.Activation("selu"))
    x = rng.standard_normal((64, 400))
    (m,), (v,) = forward_moments(net, x)
    pm, pv = layer_map(float(x.mean()), float(x.var()), weights="random")
    assert abs(m - pm) < 0.05 and abs(v - pv) < 0.05
    assert np.isnan(forward_moments(nn.Sequential(nn.Linear(2, 2, init=init.get("constant", value=1e308),
                                                            bias_init="zeros"), nn.Activation("relu")),
                                    np.full((1, 2), 1e308))[1][0])


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
NET = nn.mlp([2, 3, 1], "selu", np.random.default_rng(0))

BAD_INPUT_CASES = [
    ("gradlab.selfnorm.gaussian_moments", lambda: gaussian_moments("selu", 0.0, 0.0), ValueError, "var must be positive"),
    ("gradlab.selfnorm.gaussian_moments", lambda: gaussian_moments("selu", float("nan"), 1.0), ValueError, "mean must be finite"),
    ("gradlab.selfnorm.gaussian_moments", lambda: gaussian_moments("gelu", method="closed"), ValueError, "method must be 'quadrature'"),
    ("gradlab.selfnorm.gaussian_moments", lambda: gaussian_moments("selu", method="exact"), ValueError, "method must be one of"),
    ("gradlab.selfnorm.gaussian_moments", lambda: gaussian_moments(3), TypeError, "activation must be a name"),
    ("gradlab.selfnorm.gaussian_moments", lambda: gaussian_moments("prelu"), ValueError, "learns its negative slope"),
    ("gradlab.selfnorm.gaussian_moments", lambda: gaussian_moments(SELU, alpha=1.0), TypeError, "give params only"),
    ("gradlab.selfnorm.layer_map", lambda: layer_map(0.0, 1.0, tau=0.0), ValueError, "tau must be a finite number > 0"),
    ("gradlab.selfnorm.layer_map", lambda: layer_map(0.0, 1.0, weights="lecun"), ValueError, "weights must be one of"),
    ("gradlab.selfnorm.layer_map", lambda: layer_map(0.0, -1.0), ValueError, "var must be positive"),
    ("gradlab.selfnorm.iterate_map", lambda: iterate_map(0.0, 1.0, -1), ValueError, "depth must be an int >= 0"),
    ("gradlab.selfnorm.iterate_map", lambda: iterate_map(0.0, 1.0, 2.0), TypeError, "depth must be an int"),
    ("gradlab.selfnorm.map_jacobian", lambda: map_jacobian(step=0.0), ValueError, "step must be a finite number > 0"),
    ("gradlab.selfnorm.map_jacobian", lambda: map_jacobian(var=0.0), ValueError, "var must be a finite number > 0"),
    ("gradlab.selfnorm.solve_selu_constants", lambda: solve_selu_constants(var=-1.0), ValueError, "var must be a finite number > 0"),
    ("gradlab.selfnorm.solve_selu_constants", lambda: solve_selu_constants(max_iter=0), ValueError, "max_iter must be a positive int"),
    ("gradlab.selfnorm.solve_selu_constants", lambda: solve_selu_constants(mean=5.0, max_iter=3), ValueError, "did not converge|no SELU constants"),
    ("gradlab.selfnorm.forward_moments", lambda: forward_moments(NET.layers[0], np.ones((2, 2))), TypeError, "model must be a gradlab.nn.Sequential"),
    ("gradlab.selfnorm.forward_moments", lambda: forward_moments(NET, np.ones(2)), ValueError, r"x must have shape \(batch, features\)"),
    ("gradlab.selfnorm.forward_moments", lambda: forward_moments(NET, np.ones((2, 2), dtype=int)), TypeError, "x must be a floating-point array"),
    ("gradlab.selfnorm.forward_moments", lambda: forward_moments(NET, np.ones((2, 2)), after="Residual"), TypeError, "after must be a gradlab.nn layer class"),
    ("gradlab.selfnorm.forward_moments", lambda: forward_moments(NET, np.ones((2, 2)), after=()), TypeError, "after must be a gradlab.nn layer class"),
]


@pytest.mark.parametrize(
    "name, call, exc, match", BAD_INPUT_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUT_CASES)]
)
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
