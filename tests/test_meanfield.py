"""Tests of gradlab.meanfield: closed forms, independent quadratures, statistical bounds.

Independent references used here:
* closed forms of Gaussian moments, and of the erf activation (Williams, 1997,
  "Computing with infinite networks"): for x ~ N(0, q),
  E[erf(a x)^2] = (2/pi) arcsin(2 a^2 q / (1 + 2 a^2 q)) and
  E[(d/dx erf(a x))^2] = (4 a^2 / pi) / sqrt(1 + 4 a^2 q);
* numpy's Gauss-Hermite rule (Golub-Welsch nodes, a different algorithm from
  gradlab's midpoint rule) and a composite Simpson rule on 400 001 points;
* the ReLU, whose variance map q -> s_w^2 q / 2 + s_b^2 is linear;
* averages over many independently drawn networks, compared with the
  prediction within five standard errors of the sample.
"""

import math

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss

from gradlab import activations, init, meanfield as mf, nn
from gradlab.activations import ActivationFunction, erf

_RNG = np.random.default_rng(0)
A_ERF = math.sqrt(math.pi) / 2  # erf(a x) with slope 1 at 0


class Erf(ActivationFunction):
    """phi(x) = erf(a x): the activation with closed-form mean-field integrals."""

    name = "erf"

    def __init__(self, a=A_ERF):
        self.a = a

    def _forward(self, z):
        return erf(self.a * z)

    def _derivative(self, z):
        return 2 * self.a / math.sqrt(math.pi) * np.exp(-((self.a * z) ** 2))


def erf_map(q, s_w, s_b, a=A_ERF):
    return s_w**2 * (2 / math.pi) * math.asin(2 * a * a * q / (1 + 2 * a * a * q)) + s_b**2


def erf_chi(q, s_w, a=A_ERF):
    return s_w**2 * (4 * a * a / math.pi) / math.sqrt(1 + 4 * a * a * q)


def bisect(f, lo, hi, tol=1e-15):
    """Independent bisection for a root of f with f(lo) > 0 > f(hi) or f(lo) < 0 < f(hi)."""
    flo = f(lo)
    for _ in range(300):
        mid = 0.5 * (lo + hi)
        if (f(mid) > 0) == (flo > 0):
            lo = mid
        else:
            hi = mid
        if hi - lo < tol * max(abs(hi), 1e-300):
            break
    return 0.5 * (lo + hi)


def hermite_expect(f, q, n=200):
    """E f(x), x ~ N(0, q), by numpy's Gauss-Hermite rule for the weight exp(-z^2/2)."""
    z, w = hermegauss(n)
    return float(np.sum(w * f(math.sqrt(q) * z)) / math.sqrt(2 * math.pi))


def simpson_expect(f, q, n=400_001, zmax=14.0):
    z = np.linspace(-zmax, zmax, n)
    h = 2 * zmax / (n - 1)  # not z[1] - z[0], which carries the rounding of z[0]
    g = f(math.sqrt(q) * z) * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return float(h / 3 * (g[0] + g[-1] + 4 * g[1:-1:2].sum() + 2 * g[2:-1:2].sum()))


TANH = activations.get("tanh")
SIGMOID = activations.get("sigmoid")


# --------------------------------------------------------------------------
# gaussian_expectation
# --------------------------------------------------------------------------
@pytest.mark.parametrize("q", [1e-8, 0.01, 1.0, 3.7, 250.0, 1e4])
def test_gaussian_moments_closed_forms(q):
    E = mf.gaussian_expectation
    assert E(lambda x: np.ones_like(x), q) == pytest.approx(1.0, abs=1e-15)
    assert E(lambda x: x * x, q) == pytest.approx(q, rel=1e-13)
    assert E(lambda x: x**4, q) == pytest.approx(3 * q * q, rel=1e-12)
    # the characteristic function E cos(a x) = exp(-a^2 q / 2), at a frequency on the scale of x
    assert E(lambda x: np.cos(1.3 * x / math.sqrt(q)), q) == pytest.approx(math.exp(-1.69 / 2), rel=1e-12)
    assert E(lambda x: x**3 + x, q) == pytest.approx(0.0, abs=1e-12 * max(q, 1) ** 1.5)


@pytest.mark.parametrize("q", [0.0, 1e-12, 0.3, 1.0, 50.0, 1e6, 1e100])
def test_gaussian_expectation_kinks_at_zero_are_exact(q):
    # the grid is symmetric with no node at 0: relu^2 and relu'^2 have even parts x^2/2 and 1/2
    relu = activations.get("relu")
    E = mf.gaussian_expectation
    assert E(lambda x: relu.derivative(x) ** 2, q) == pytest.approx(0.5, abs=1e-15)
    assert E(lambda x: relu.forward(x) ** 2, q) == pytest.approx(q / 2, rel=1e-12, abs=1e-300)
    leaky = activations.get("leaky_relu", slope=0.2)
    assert E(lambda x: leaky.derivative(x) ** 2, q) == pytest.approx(0.52, rel=1e-14)


@pytest.mark.parametrize("q", [0.05, 0.5, 1.0, 2.0, 4.0])
def test_gaussian_expectation_against_gauss_hermite_and_simpson(q):
    for f in (lambda x: TANH.forward(x) ** 2, lambda x: TANH.derivative(x) ** 2,
              lambda x: SIGMOID.forward(x) ** 2, lambda x: SIGMOID.derivative(x) ** 2):
        ours = mf.gaussian_expectation(f, q)
        assert ours == pytest.approx(simpson_expect(f, q), rel=1e-12)
        if q <= 1.0:  # 200 Gauss-Hermite nodes resolve tanh'(sqrt(q) z)^2 to 1e-12 only for q <= 1
            assert ours == pytest.approx(hermite_expect(f, q), rel=1e-12)


@pytest.mark.parametrize("q", [10.0, 100.0, 2000.0])
def test_gaussian_expectation_large_variance_against_simpson(q):
    # Gauss-Hermite with 200 nodes cannot resolve tanh'(x)^2 of width 1 at x-scale sqrt(q);
    # Simpson on 400 001 points over |z| < 14 has a step of 7e-5 sqrt(q) in x.
    for f in (lambda x: TANH.forward(x) ** 2, lambda x: TANH.derivative(x) ** 2):
        assert mf.gaussian_expectation(f, q) == pytest.approx(simpson_expect(f, q), rel=1e-10)


@pytest.mark.parametrize("q", [0.0, 0.01, 1.0, 7.5, 300.0])
def test_erf_closed_forms(q):
    act = Erf()
    assert mf.variance_map(q, 1.3, 0.2, act) == pytest.approx(erf_map(q, 1.3, 0.2), rel=1e-12, abs=1e-15)
    assert mf.chi(q, 1.3, act) == pytest.approx(erf_chi(q, 1.3), rel=1e-12)


# --------------------------------------------------------------------------
# variance_map, chi, fixed_point
# --------------------------------------------------------------------------
def test_variance_map_and_chi_relu_closed_forms():
    for q in [0.0, 0.4, 9.0]:
        for s_w, s_b in [(1.0, 0.0), (2**0.5, 0.3), (3.0, 1.0)]:
            assert mf.variance_map(q, s_w, s_b, "relu") == pytest.approx(s_w**2 * q / 2 + s_b**2, rel=1e-13)
            assert mf.chi(q, s_w, "relu") == pytest.approx(s_w**2 / 2, rel=1e-14)
    assert mf.chi(0.0, 1.7) == pytest.approx(1.7**2, rel=1e-14)  # tanh'(0) = 1
    assert mf.chi(0.0, 1.0, "sigmoid") == pytest.approx(1 / 16, rel=1e-14)  # sigma'(0) = 1/4


def test_fixed_point_tanh_and_relu_regimes():
    for s_w in [0.3, 0.8, 0.99]:
        assert mf.fixed_point(s_w) == 0.0  # tanh^2(x) < x^2: the signal dies without bias
    # at s_w = 1 the variances decay only like 1/(2 l); the bracket stops where V(q) = q to 1e-13
    assert 0.0 <= mf.fixed_point(1.0) < 1e-12
    assert mf.fixed_point(1.6, 0.0, "relu") == math.inf  # s_w^2 / 2 > 1: grows without bound
    assert mf.fixed_point(1.0, 0.0, "relu") == 0.0
    for s_w, s_b in [(1.0, 0.5), (0.5, 1.0), (1.4, 0.1)]:
        # q* = s_w^2 q*/2 + s_b^2
        assert mf.fixed_point(s_w, s_b, "relu") == pytest.approx(s_b**2 / (1 - s_w**2 / 2), rel=1e-12)
    assert mf.fixed_point(2**0.5, 0.0, "relu", q0=3.0) == pytest.approx(3.0, rel=1e-12)  # every q is fixed


@pytest.mark.parametrize("s_w, s_b", [(1.2, 0.0), (2.0, 0.0), (1.0, 0.3), (2.5, 0.5), (0.5, 0.05)])
def test_fixed_point_tanh_is_a_root_of_the_independent_map(s_w, s_b):
    q = mf.fixed_point(s_w, s_b)
    assert q > 0
    residual = s_w**2 * simpson_expect(lambda x: np.tanh(x) ** 2, q) + s_b**2 - q
    assert abs(residual) < 1e-12 * max(q, 1e-3)
    # and it is the limit of iterating the map from q0 = 1 (monotone, so 2000 steps suffice here)
    r = 1.0
    for _ in range(2000):
        r = mf.variance_map(r, s_w, s_b)
    assert r == pytest.approx(q, rel=1e-9)


@pytest.mark.parametrize("s_w, s_b", [(0.8, 0.4), (1.5, 0.1), (3.0, 1.0)])
def test_fixed_point_erf_against_closed_form_map(s_w, s_b):
    expected = bisect(lambda q: erf_map(q, s_w, s_b) - q, 1e-12, 100.0)
    assert mf.fixed_point(s_w, s_b, Erf()) == pytest.approx(expected, rel=1e-11)


# --------------------------------------------------------------------------
# critical_s_w: the edge of chaos
# --------------------------------------------------------------------------
def test_critical_tanh_without_bias_is_one():
    # chi(q*) - 1 is quadratic in s_w - 1 on the chaotic side, so rounding limits the accuracy
    assert mf.critical_s_w(0.0) == pytest.approx(1.0, abs=1e-7)


@pytest.mark.parametrize("s_b", [0.0, 0.1, 1.0])
def test_critical_relu_is_he_scale(s_b):
    assert mf.critical_s_w(s_b, "relu") == pytest.approx(math.sqrt(2.0), rel=1e-12)


def test_critical_erf_without_bias_closed_form():
    # q* = 0 below the edge and chi(0) = s_w^2 4 a^2 / pi: the edge is s_w = sqrt(pi) / (2 a)
    for a in [0.5, A_ERF, 2.0]:
        assert mf.critical_s_w(0.0, Erf(a)) == pytest.approx(math.sqrt(math.pi) / (2 * a), rel=1e-7)


@pytest.mark.parametrize("s_b", [0.05, 0.3, 1.0])
def test_critical_erf_with_bias_against_closed_forms(s_b):
    def excess(s_w):
        q = bisect(lambda q: erf_map(q, s_w, s_b) - q, 1e-14, 1e3)
        return erf_chi(q, s_w) - 1.0

    expected = bisect(excess, 0.5, 5.0)
    assert mf.critical_s_w(s_b, Erf()) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("s_b", [0.05**0.5, 0.3, 1.0])
def test_critical_tanh_with_bias_against_simpson(s_b):
    # an independent nested solver: Simpson integrals, plain bisections
    def excess(s_w):
        q = bisect(lambda q: s_w**2 * simpson_expect(lambda x: np.tanh(x) ** 2, q, n=40_001) + s_b**2 - q,
                   1e-12, s_w**2 + s_b**2 + 1, tol=1e-14)
        return s_w**2 * simpson_expect(lambda x: 1 / np.cosh(x) ** 4, q, n=40_001) - 1.0

    expected = bisect(excess, 1.0, 4.0, tol=1e-11)
    assert mf.critical_s_w(s_b) == pytest.approx(expected, rel=1e-9)


def test_critical_bracket_must_hold_the_edge():
    with pytest.raises(ValueError, match="bracket must hold the edge of chaos"):
        mf.critical_s_w(0.0, "tanh", bracket=(2.0, 5.0))


# --------------------------------------------------------------------------
# propagate
# --------------------------------------------------------------------------
def test_propagate_relu_closed_form_with_layer_scales():
    s_w = np.array([1.0, 1.5, 2**0.5, 0.7])
    s_b = np.array([0.0, 0.2, 0.1, 0.4])
    p = mf.propagate(s_w, s_b, q0=2.5, activation="relu")
    m2, qs = 2.5, []
    for sw, sb in zip(s_w, s_b):
        q = sw**2 * m2 + sb**2
        qs.append(q)
        m2 = q / 2
    qs = np.array(qs)
    np.testing.assert_allclose(p.q, qs, rtol=1e-13)
    np.testing.assert_allclose(p.second_moment, qs / 2, rtol=1e-13)
    np.testing.assert_allclose(p.mean, np.sqrt(qs / (2 * np.pi)), rtol=1e-12)  # E relu = sqrt(q / 2 pi)
    np.testing.assert_allclose(p.derivative_sq, 0.5, rtol=1e-14)
    np.testing.assert_allclose(p.chi, s_w**2 / 2, rtol=1e-14)


def test_propagate_scalars_need_depth_and_broadcast():
    p = mf.propagate(1.0, 0.5, q0=1.0, activation="identity", depth=3)
    np.testing.assert_allclose(p.q, [1.25, 1.5, 1.75], rtol=1e-14)  # q <- q + 1/4
    p2 = mf.propagate([1.0, 1.0, 1.0], 0.5, q0=1.0, activation="identity")
    np.testing.assert_allclose(p2.q, p.q, rtol=0)


# --------------------------------------------------------------------------
# network_scales and predict
# --------------------------------------------------------------------------
def test_network_scales_by_hand():
    w1 = np.arange(6.0).reshape(3, 2)  # fan_in 2, fan_out 3, mean square 55/6
    layers = nn.Sequential(nn.Linear(2, 3, init=lambda s, r: w1.copy(), bias_init=lambda s, r: np.full(s, 2.0)),
                           nn.Activation("tanh"), nn.Linear(3, 1, init=lambda s, r: np.ones(s), bias=False))
    sc = mf.network_scales(layers)
    assert sc.fan_in.tolist() == [2, 3] and sc.fan_out.tolist() == [3, 1]
    np.testing.assert_allclose(sc.forward, [2 * 55 / 6, 3.0], rtol=1e-15)
    np.testing.assert_allclose(sc.backward, [3 * 55 / 6, 1.0], rtol=1e-15)
    np.testing.assert_allclose(sc.bias, [4.0, 0.0], rtol=0)


def _many_networks(act, init_fn, widths, n_nets, seed, bias_init="zeros"):
    """Measured pre-activation mean squares and delta mean squares of many networks (one input batch each)."""
    rng = np.random.default_rng(seed)
    qs, ds, preds = [], [], []
    for _ in range(n_nets):
        net = nn.mlp(widths, act, rng, init=init_fn, bias_init=bias_init)
        x = rng.standard_normal((8, widths[0]))
        h, zs = x, []
        for layer in net.layers:
            h = layer.forward(h)
            if isinstance(layer, nn.Linear):
                zs.append(np.mean(h * h))
        g = rng.standard_normal(h.shape)  # an error at the top independent of the network
        ds_net = []
        for layer in reversed(net.layers):
            if isinstance(layer, nn.Linear):
                ds_net.append(np.sum(g * g))
            g = layer.backward(g)
        qs.append(zs)
        ds.append(ds_net[::-1])
        preds.append(mf.predict(net, q0=1.0))
    return np.array(qs), np.array(ds), preds


def test_predict_relu_forward_is_exact_in_expectation():
    # For ReLU and Gaussian weights, z given the layer below is N(0, Q) with a random Q, and
    # E relu(z)^2 = E[Q]/2 is linear in Q: the variance map holds exactly in expectation at any
    # width. Compare the mean over 400 networks with the prediction within 5 standard errors
    # (plus the prediction's own spread from the realised weight scales, averaged the same way).
    he = init.get("kaiming_normal", nonlinearity="relu")
    qs, _, preds = _many_networks("relu", he, [16, 16, 16, 16, 4], 400, seed=1)
    predicted = np.array([p.q for p in preds])
    diff = qs - predicted
    se = diff.std(axis=0, ddof=1) / math.sqrt(len(diff))
    assert np.all(np.abs(diff.mean(axis=0)) < 5 * se), (diff.mean(axis=0), se)
    # and the He prediction itself is q = 2 per layer for unit inputs
    assert np.all(np.abs(predicted.mean(axis=0) - 2.0) < 5 * predicted.std(axis=0, ddof=1) / math.sqrt(400) + 1e-12)


def test_predict_linear_backward_is_exact_in_expectation():
    # Identity activation: delta^(l) = W^(l+1)T delta^(l+1) with W^(l+1) independent of delta^(l+1),
    # so E||delta^(l)||^2 = n_l Var W^(l+1) E||delta^(l+1)||^2 exactly; widths differ per layer.
    widths = [20, 40, 10, 30, 5]
    _, ds, preds = _many_networks("identity", "xavier_normal", widths, 600, seed=2)
    ratio = ds / ds[:, -1:]
    predicted = np.array([p.delta_sq for p in preds])
    diff = ratio - predicted
    se = diff.std(axis=0, ddof=1) / math.sqrt(len(diff))
    assert np.all(np.abs(diff.mean(axis=0)) <= 5 * se + 1e-12), (diff.mean(axis=0), se)


def test_predict_tanh_wide_network():
    # tanh: the mean-field map replaces E g(Q) by g(E Q), a Jensen error of at most
    # (1/2) sup|g''| Var Q with g(Q) = E tanh(sqrt(Q) z)^2, |g''| <= sup|(tanh^2)''''| / 4 = 4 and
    # Var Q <= s_w^4 / n: here 2 * 1.5^4 / 400 = 0.025 per layer; 5 standard errors on top.
    gain = lambda shape, r: init.normal(shape, r, std=1.5 / math.sqrt(shape[1]))
    qs, _, preds = _many_networks("tanh", gain, [400, 400, 400, 400, 2], 20, seed=3)
    predicted = np.array([p.q for p in preds])
    diff = qs - predicted
    se = diff.std(axis=0, ddof=1) / math.sqrt(len(diff))
    assert np.all(np.abs(diff.mean(axis=0)) < 5 * se + 0.025 * np.arange(1, 5)), (diff.mean(axis=0), se)


def test_predict_act_std_and_shapes():
    net = nn.mlp([3, 7, 7, 2], "sigmoid", np.random.default_rng(0), bias_init="zeros")
    p = mf.predict(net, q0=0.5)
    assert p.q.shape == (3,) and p.act_std.shape == (2,) and p.delta_sq[-1] == 1.0
    sc = mf.network_scales(net)
    assert p.q[0] == pytest.approx(sc.forward[0] * 0.5, rel=1e-14)
    m = mf.propagate(np.sqrt(sc.forward), 0.0, q0=0.5, activation="sigmoid")
    np.testing.assert_allclose(p.act_std, np.sqrt(m.second_moment - m.mean**2)[:2], rtol=1e-12)


# --------------------------------------------------------------------------
# jacobian_gain and phase_diagram
# --------------------------------------------------------------------------
def test_jacobian_gain_is_a_directional_derivative():
    # rebuild the same network from the same seed and compare ||J u||^2 with central differences
    s_w, s_b, depth, width, n = 1.7, 0.3, 6, 12, 3
    got = mf.jacobian_gain(s_w, s_b, depth, width, np.random.default_rng(5), n_inputs=n, q0=0.8)
    rng = np.random.default_rng(5)
    x = math.sqrt(0.8) * rng.standard_normal((n, width))
    u = rng.standard_normal((n, width))
    layers = [((s_w / math.sqrt(width)) * rng.standard_normal((width, width)), s_b * rng.standard_normal(width))
              for _ in range(depth)]

    def outputs(inp):
        outs = []
        for W, b in layers:
            inp = np.tanh(inp @ W.T + b)
            outs.append(inp)
        return outs

    eps = 1e-5
    plus, minus = outputs(x + eps * u), outputs(x - eps * u)
    fd = np.array([np.sum(((p - m) / (2 * eps)) ** 2) for p, m in zip(plus, minus)]) / np.sum(u * u)
    np.testing.assert_allclose(got.gain, fd, rtol=1e-8)
    z_last = outputs(x)[-2] @ layers[-1][0].T + layers[-1][1]
    assert got.q[-1] == pytest.approx(np.mean(z_last**2), rel=1e-12)


def test_jacobian_gain_linear_expectation():
    # identity activation: E||W_l ... W_1 u||^2 = s_w^(2l) ||u||^2 exactly; 300 networks, 5 SE
    s_w, depth = 1.2, 4
    rng = np.random.default_rng(6)
    gains = np.array([mf.jacobian_gain(s_w, 0.0, depth, 10, rng, activation="identity", n_inputs=2).gain
                      for _ in range(300)])
    se = gains.std(axis=0, ddof=1) / math.sqrt(len(gains))
    assert np.all(np.abs(gains.mean(axis=0) - s_w ** (2 * np.arange(1, depth + 1))) < 5 * se)


def test_jacobian_gain_tanh_follows_chi_product():
    # wide tanh networks: the mean over 10 networks of width 400 lies within 5 SE plus a 2 % Jensen
    # allowance per layer of the product of chi along the variance map
    s_w, s_b, depth = 1.5, 0.2, 5
    rng = np.random.default_rng(7)
    logs = np.log(np.array([mf.jacobian_gain(s_w, s_b, depth, 400, rng, n_inputs=8).gain for _ in range(10)]))
    predicted = np.cumsum(np.log(mf.propagate(s_w, s_b, q0=1.0, depth=depth).chi))
    se = logs.std(axis=0, ddof=1) / math.sqrt(len(logs))
    assert np.all(np.abs(logs.mean(axis=0) - predicted) < 5 * se + 0.02 * np.arange(1, depth + 1))


def test_phase_diagram_consistency():
    d = mf.phase_diagram([0.6, 1.0, 2.5], 15, np.random.default_rng(8), s_b=0.3, width=60, n_networks=2)
    assert d.measured.shape == d.predicted.shape == (3, 15)
    assert d.depth.tolist() == list(range(1, 16))
    assert d.critical == pytest.approx(mf.critical_s_w(0.3), rel=1e-9)
    p = mf.propagate(2.5, 0.3, q0=1.0, depth=15)
    np.testing.assert_allclose(d.predicted[2], np.cumsum(np.log10(p.chi)), rtol=1e-12)
    assert d.measured[0, -1] < -3 and d.measured[2, -1] > 2  # ordered and chaotic, far from the edge
    # no edge inside a grid that lies entirely on one side
    assert math.isnan(mf.phase_diagram([0.1, 0.2], 3, np.random.default_rng(0), width=5).critical)


BAD_INPUT_CASES = [
    ("gradlab.meanfield.gaussian_expectation", lambda: mf.gaussian_expectation(np.tanh, -1.0), ValueError, "q must be a finite number >= 0"),
    ("gradlab.meanfield.gaussian_expectation", lambda: mf.gaussian_expectation("tanh", 1.0), TypeError, "f must be a callable"),
    ("gradlab.meanfield.gaussian_expectation", lambda: mf.gaussian_expectation(lambda x: 1.0, 1.0), ValueError, "f must return an array"),
    ("gradlab.meanfield.variance_map", lambda: mf.variance_map(1.0, -1.0), ValueError, "s_w must be a finite number >= 0"),
    ("gradlab.meanfield.variance_map", lambda: mf.variance_map(1.0, 1.0, activation="swish"), ValueError, "unknown activation"),
    ("gradlab.meanfield.variance_map", lambda: mf.variance_map(1.0, 1.0, activation=np.tanh), TypeError, "activation must be"),
    ("gradlab.meanfield.chi", lambda: mf.chi(float("nan"), 1.0), ValueError, "q must be a finite number"),
    ("gradlab.meanfield.chi", lambda: mf.chi(1.0, "1"), TypeError, "s_w must be a real number"),
    ("gradlab.meanfield.fixed_point", lambda: mf.fixed_point(1.0, q0=0.0), ValueError, "q0 must be a finite number > 0"),
    ("gradlab.meanfield.fixed_point", lambda: mf.fixed_point(1.0, s_b=-0.1), ValueError, "s_b must be"),
    ("gradlab.meanfield.critical_s_w", lambda: mf.critical_s_w(0.0, bracket=(1.5,)), TypeError, "bracket must be a pair"),
    ("gradlab.meanfield.critical_s_w", lambda: mf.critical_s_w(0.0, bracket=(2.0, 1.0)), ValueError, "bracket\\[1\\] must be"),
    ("gradlab.meanfield.critical_s_w", lambda: mf.critical_s_w(-1.0), ValueError, "s_b must be"),
    ("gradlab.meanfield.Propagation", lambda: mf.Propagation(np.ones(1)), TypeError, "missing"),
    ("gradlab.meanfield.propagate", lambda: mf.propagate(1.0, 0.0), ValueError, "depth is required"),
    ("gradlab.meanfield.propagate", lambda: mf.propagate([1.0, 1.0], [0.1, 0.1, 0.1]), ValueError, "must be a number or have depth"),
    ("gradlab.meanfield.propagate", lambda: mf.propagate([1.0, -1.0], 0.0), ValueError, "s_w must be >= 0"),
    ("gradlab.meanfield.propagate", lambda: mf.propagate(1.0, 0.0, depth=0), ValueError, "depth must be a positive int"),
    ("gradlab.meanfield.LayerScales", lambda: mf.LayerScales(np.ones(1)), TypeError, "missing"),
    ("gradlab.meanfield.network_scales", lambda: mf.network_scales(nn.Sequential(nn.Activation("relu"))), ValueError, "no Linear layer"),
    ("gradlab.meanfield.network_scales", lambda: mf.network_scales("net"), TypeError, "model must be a gradlab.nn.Layer"),
    ("gradlab.meanfield.Prediction", lambda: mf.Prediction(np.ones(1)), TypeError, "missing"),
    ("gradlab.meanfield.predict", lambda: mf.predict(nn.Linear(2, 2, rng=_RNG)), TypeError, "model must be a gradlab.nn.Sequential"),
    ("gradlab.meanfield.predict", lambda: mf.predict(nn.Sequential(nn.Linear(2, 2, rng=_RNG), nn.Linear(2, 2, rng=_RNG))), ValueError, "plain dense network"),
    ("gradlab.meanfield.predict", lambda: mf.predict(nn.mlp([2, 2, 2], "tanh", _RNG), q0=-1.0), ValueError, "q0 must be"),
    ("gradlab.meanfield.JacobianGain", lambda: mf.JacobianGain(np.ones(1)), TypeError, "missing"),
    ("gradlab.meanfield.jacobian_gain", lambda: mf.jacobian_gain(1.0, 0.0, 3, 4, 0), TypeError, "rng must be a numpy.random.Generator"),
    ("gradlab.meanfield.jacobian_gain", lambda: mf.jacobian_gain(1.0, 0.0, 0, 4, _RNG), ValueError, "depth must be a positive int"),
    ("gradlab.meanfield.jacobian_gain", lambda: mf.jacobian_gain(1.0, 0.0, 3, 4, _RNG, q0=0.0), ValueError, "q0 must be"),
    ("gradlab.meanfield.PhaseDiagram", lambda: mf.PhaseDiagram(np.ones(1)), TypeError, "missing"),
    ("gradlab.meanfield.phase_diagram", lambda: mf.phase_diagram([], 3, _RNG), ValueError, "s_ws must be a non-empty"),
    ("gradlab.meanfield.phase_diagram", lambda: mf.phase_diagram([0.0, 1.0], 3, _RNG), ValueError, "s_ws must be positive"),
    ("gradlab.meanfield.phase_diagram", lambda: mf.phase_diagram([1.0], 3, _RNG, n_networks=0), ValueError, "n_networks must be"),
]


@pytest.mark.parametrize("name, call, exc, match", BAD_INPUT_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUT_CASES)])
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
