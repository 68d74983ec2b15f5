"""Tests for gradlab.products: closed forms, recurrences, Monte-Carlo bounds."""

import math

import numpy as np
import pytest

from gradlab.products import (
    EULER_GAMMA,
    MatrixProduct,
    digamma,
    fitted_layer_factor,
    log_norm_drift,
    log_norm_paths,
    log_norm_variance,
    max_sigmoid_gain,
    predicted_layer_factor,
    random_matrix_product,
    saturation_bound,
    scalar_power,
    trigamma,
)


# --------------------------------------------------------------------------
# scalar_power
# --------------------------------------------------------------------------
def test_scalar_power_matches_hand_values():
    # 0.6**3 = 0.216 in decimal; 1.6**15 = 16**15 / 10**15 = 2**60 / 10**15 = 1152.921504606846976;
    # 0.6**15 = 470184984576 / 10**15 = 4.70e-4.
    p = scalar_power(0.6, 15)
    assert p[0] == 1.0
    assert p[3] == pytest.approx(0.216, rel=1e-14)
    assert p[15] == pytest.approx(0.6**15, rel=1e-13)
    assert scalar_power(1.6, 15)[15] == pytest.approx(2.0**60 / 10.0**15, rel=1e-13)
    assert round(scalar_power(1.6, 15)[15], 2) == 1152.92
    assert f"{scalar_power(0.6, 15)[15]:.2e}" == "4.70e-04"


def test_scalar_power_depth_zero_and_negative_factor():
    assert scalar_power(3.0, 0).tolist() == [1.0]
    assert scalar_power(-2.0, 3).tolist() == [1.0, -2.0, 4.0, -8.0]


def test_scalar_power_overflows_quietly_in_float64():
    p = scalar_power(10.0, 320)
    assert np.isfinite(p[308]) and np.isinf(p[309])


# --------------------------------------------------------------------------
# digamma and trigamma
# --------------------------------------------------------------------------
def test_digamma_closed_forms():
    assert digamma(1.0) == pytest.approx(-EULER_GAMMA, abs=1e-14)
    assert digamma(0.5) == pytest.approx(-EULER_GAMMA - 2 * math.log(2), abs=1e-14)
    for k in range(1, 30):
        harmonic = sum(1.0 / j for j in range(1, k))
        assert digamma(float(k)) == pytest.approx(-EULER_GAMMA + harmonic, abs=1e-13)
        half = sum(2.0 / (2 * j - 1) for j in range(1, k + 1))
        assert digamma(k + 0.5) == pytest.approx(
            -EULER_GAMMA - 2 * math.log(2) + half, abs=1e-13
        )


def test_digamma_recurrence():
    for x in [0.01, 0.3, 1.7, 9.5, 9.99, 10.0, 10.01, 123.4]:
        assert digamma(x + 1) - digamma(x) == pytest.approx(1.0 / x, rel=1e-12)


def test_digamma_is_derivative_of_lgamma():
    # central difference: truncation h^2/6 |psi'''| <= 1e-10 * 100 / 6 for x >= 0.5,
    # rounding about 1e-16 * |lgamma| / h <= 1e-9 for x <= 60.
    h = 1e-5
    for x in np.linspace(0.5, 60.0, 37):
        fd = (math.lgamma(x + h) - math.lgamma(x - h)) / (2 * h)
        assert digamma(float(x)) == pytest.approx(fd, abs=1e-8)


def test_digamma_vectorised_closed_forms():
    # Gauss's digamma theorem: psi(1/4) = -gamma - pi/2 - 3 ln 2; psi(7/2) and psi(20) from
    # the half-integer and integer closed forms above.
    xs = np.array([0.25, 1.0, 3.5, 20.0])
    out = digamma(xs)
    assert isinstance(out, np.ndarray) and out.shape == (4,)
    expected = [
        -EULER_GAMMA - math.pi / 2 - 3 * math.log(2),
        -EULER_GAMMA,
        -EULER_GAMMA - 2 * math.log(2) + 2 * (1 + 1 / 3 + 1 / 5),
        -EULER_GAMMA + sum(1.0 / j for j in range(1, 20)),
    ]
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-14)


def test_trigamma_closed_forms_and_recurrence():
    assert trigamma(1.0) == pytest.approx(math.pi**2 / 6, abs=1e-14)
    assert trigamma(0.5) == pytest.approx(math.pi**2 / 2, abs=1e-13)
    for x in [0.2, 2.5, 9.9, 44.0]:
        assert trigamma(x) - trigamma(x + 1) == pytest.approx(1.0 / x**2, rel=1e-12)
    h = 1e-4
    for x in [0.7, 3.0, 15.0]:
        fd = (digamma(x + h) - digamma(x - h)) / (2 * h)
        assert trigamma(x) == pytest.approx(fd, rel=1e-7)


# --------------------------------------------------------------------------
# log-norm drift and variance
# --------------------------------------------------------------------------
def test_log_norm_drift_closed_forms():
    # n = 2: psi(1) + ln(1) = -gamma; n = 1: psi(1/2) + ln 2 = -gamma - ln 2.
    assert log_norm_drift(2) == pytest.approx(-EULER_GAMMA / 2, abs=1e-14)
    assert log_norm_drift(1) == pytest.approx((-EULER_GAMMA - math.log(2)) / 2, abs=1e-14)
    # n = 4: psi(2) = 1 - gamma.
    assert log_norm_drift(4) == pytest.approx((1 - EULER_GAMMA + math.log(0.5)) / 2, abs=1e-14)


def test_log_norm_drift_negative_and_like_minus_one_over_2n():
    for n in [1, 2, 3, 8, 64, 1024]:
        d = log_norm_drift(n)
        assert d < 0
    # psi(x) = ln x - 1/(2x) + O(x^-2), so drift = -1/(2n) + O(n^-2)
    for n in [256, 1024, 4096]:
        assert log_norm_drift(n) == pytest.approx(-1.0 / (2 * n), rel=3.0 / n)


def test_log_norm_variance_closed_form():
    assert log_norm_variance(2) == pytest.approx(math.pi**2 / 24, abs=1e-14)
    assert log_norm_variance(1) == pytest.approx(math.pi**2 / 8, abs=1e-14)


@pytest.mark.parametrize("n", [1, 4, 16])
def test_drift_against_monte_carlo(n):
    # Each path is a sum of `depth` i.i.d. increments of variance v = psi'(n/2)/4,
    # so the mean over P paths of (final / depth) has standard error sqrt(v/(P depth)).
    rng = np.random.default_rng(20240601 + n)
    depth, n_paths = 50, 400
    paths = log_norm_paths(n, depth, rng, scale=1 / math.sqrt(n), n_paths=n_paths)
    estimate = paths[:, -1].mean() / depth
    se = math.sqrt(log_norm_variance(n) / (n_paths * depth))
    assert abs(estimate - log_norm_drift(n)) < 5 * se
    # and the spread of the final log-norm matches the variance formula
    sample_var = paths[:, -1].var(ddof=1) / depth
    # the sample variance of P normal-ish draws has relative s.e. about sqrt(2/(P-1))
    assert sample_var == pytest.approx(log_norm_variance(n), rel=5 * math.sqrt(2 / (n_paths - 1)) + 0.05)


def test_drift_would_catch_a_wrong_formula():
    # Forgetting the 1/2 (the norm, not its square) is more than 20 standard errors off.
    n = 4
    rng = np.random.default_rng(7)
    paths = log_norm_paths(n, 50, rng, scale=0.5, n_paths=400)
    estimate = paths[:, -1].mean() / 50
    se = math.sqrt(log_norm_variance(n) / (400 * 50))
    assert abs(estimate - 2 * log_norm_drift(n)) > 20 * se


# --------------------------------------------------------------------------
# random matrix products
# --------------------------------------------------------------------------
def test_random_matrix_product_stable_log_matches_raw():
    rng = np.random.default_rng(0)
    r = random_matrix_product(4, 100, rng, raw=True)
    assert isinstance(r, MatrixProduct)
    assert r.log_norms[0] == pytest.approx(0.5 * math.log(4))
    assert np.allclose(np.log(r.raw_norms), r.log_norms, rtol=1e-10, atol=1e-10)
    assert r.raw_norms[-1] == pytest.approx(np.linalg.norm(r.raw_product), rel=1e-12)


def test_random_matrix_product_same_matrices_as_direct_product():
    # Same generator stream: the renormalised log-norm equals the log of the direct product.
    rng = np.random.default_rng(3)
    r = random_matrix_product(3, 5, rng, scale=0.7)
    rng = np.random.default_rng(3)
    m = np.eye(3)
    for _ in range(5):
        m = 0.7 * rng.standard_normal((3, 3)) @ m
    assert r.log_norms[-1] == pytest.approx(math.log(np.linalg.norm(m)), rel=1e-12)
    assert r.raw_norms is None and r.raw_product is None


def test_random_matrix_product_growth_rate():
    # Top Lyapunov exponent of Gaussian products (Newman 1986): (psi(n/2) + ln 2)/2 + ln c.
    # ln ||M_L h|| for a fixed h has exactly that mean per step and variance psi'(n/2)/4;
    # the Frobenius norm differs from it by at most ln sqrt(n) (||M h|| <= ||M||_F <= sqrt(n) ||M||_2
    # and ||M||_2 is within a bounded factor of ||M h|| for generic h), so over many long
    # products the rate agrees within a few standard errors plus ln(n)/depth.
    n, depth, reps = 4, 200, 30
    rates = []
    for seed in range(reps):
        r = random_matrix_product(n, depth, np.random.default_rng(seed))
        rates.append((r.log_norms[-1] - r.log_norms[0]) / depth)
    theory = 0.5 * (digamma(n / 2) + math.log(2))
    se = math.sqrt(log_norm_variance(n) / (reps * depth))
    assert abs(np.mean(rates) - theory) < 5 * se + 2 * math.log(n) / depth


def test_random_matrix_product_unscaled_explodes_to_about_1e24():
    logs = [
        math.log10(np.abs(random_matrix_product(4, 100, np.random.default_rng(s), raw=True).raw_product).max())
        for s in range(10)
    ]
    # expected log10 of the norm: 100 * 0.558 / ln 10 = 24.2, spread about sqrt(100 * 0.12)/ln 10 = 1.5
    assert 21 < np.median(logs) < 27


def test_random_matrix_product_deterministic():
    a = random_matrix_product(5, 20, np.random.default_rng(11), scale=0.3).log_norms
    b = random_matrix_product(5, 20, np.random.default_rng(11), scale=0.3).log_norms
    assert np.array_equal(a, b)


def test_log_norm_paths_scale_shifts_by_log_c():
    a = log_norm_paths(3, 10, np.random.default_rng(5), scale=1.0, n_paths=4)
    b = log_norm_paths(3, 10, np.random.default_rng(5), scale=0.5, n_paths=4)
    assert np.allclose(b - a, np.arange(11) * math.log(0.5))


# --------------------------------------------------------------------------
# saturation bound
# --------------------------------------------------------------------------
def test_saturation_bound_is_gamma_times_largest_singular_value():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((5, 3))
    s = np.linalg.svd(w, compute_uv=False)
    assert saturation_bound(0.25, w) == pytest.approx(0.25 * s[0], rel=1e-12)
    assert saturation_bound(1.0, np.diag([3.0, -4.0])) == pytest.approx(4.0)


def test_saturation_bound_bounds_one_backward_step():
    # ||diag(sigma'(z)) W^T delta|| <= bound * ||delta|| for random z, delta
    rng = np.random.default_rng(4)
    w = rng.standard_normal((6, 6))
    bound = saturation_bound(0.25, w)
    for _ in range(100):
        z = rng.standard_normal(6) * 3
        s = 1 / (1 + np.exp(-z))
        delta = rng.standard_normal(6)
        back = (s * (1 - s)) * (w.T @ delta)
        assert np.linalg.norm(back) <= bound * np.linalg.norm(delta) * (1 + 1e-12)


def test_max_sigmoid_gain_against_a_grid():
    # brute force over w on a fine grid, sigma' written independently
    for a in [1.0, 0.5, 0.2, -0.7]:
        w_star, gain = max_sigmoid_gain(a)
        w = np.linspace(-40, 40, 800_001) / abs(a)
        z = w * a
        grid = np.abs(w) * np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))) ** 2
        assert gain == pytest.approx(grid.max(), rel=1e-8)
        assert abs(w_star) == pytest.approx(abs(w[np.argmax(grid)]), abs=2e-4 / abs(a))


def test_max_sigmoid_gain_root_and_threshold():
    u, g = max_sigmoid_gain(1.0)
    assert u * math.tanh(u / 2) == pytest.approx(1.0, abs=1e-14)
    # gain scales like 1/|a|: above 1 exactly when |a| < g(1)
    assert max_sigmoid_gain(g * 1.01)[1] < 1 < max_sigmoid_gain(g * 0.99)[1]


# --------------------------------------------------------------------------
# the per-layer factor at initialisation: predicted and fitted
# --------------------------------------------------------------------------
def _sigmoid_prime(z):
    e = np.exp(-np.abs(z))
    return e / (1 + e) ** 2


def test_predicted_layer_factor_closed_forms():
    # z_std = 0: |phi'(0)| sqrt(n Var[w]); PyTorch's default Var[w] = 1/(3 n) gives sqrt(1/3)/4
    assert predicted_layer_factor("sigmoid", 64, 1 / (3 * 64)) == pytest.approx(0.25 / math.sqrt(3), rel=1e-15)
    assert predicted_layer_factor("tanh", 10, 0.3) == pytest.approx(math.sqrt(3.0), rel=1e-15)
    # a non-square layer: the factor on the root mean square is sqrt(n_{l+1} / (3 n_l)) / 4
    assert predicted_layer_factor("sigmoid", 128, 1 / (3 * 32)) == pytest.approx(0.25 * math.sqrt(4 / 3), rel=1e-15)
    # the ReLU's derivative is 1 on half of a symmetric Gaussian: E[phi'^2] = 1/2 for any spread
    for s in [0.0, 1e-3, 0.3, 1.0, 7.0, 500.0]:
        assert predicted_layer_factor("relu", 50, 0.04, z_std=s) == pytest.approx(1.0, rel=1e-12)
        assert predicted_layer_factor("identity", 50, 0.04, z_std=s) == pytest.approx(math.sqrt(2.0), rel=1e-12)


def test_predicted_layer_factor_against_independent_quadratures():
    # Gauss-Hermite (probabilists', 200 nodes) is exact to rounding for these smooth integrands
    # while the spread is at most 1; wider spreads use a brute-force trapezoid in the standardised
    # variable u = z / s on 4 million points (error far below 1e-9 for integrands this smooth)
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    weights = weights / math.sqrt(2 * math.pi)
    u = np.linspace(-14.0, 14.0, 4_000_001)
    density = np.exp(-u * u / 2) / math.sqrt(2 * math.pi)
    for s in [0.3, 1.0, 2.45, 5.0]:
        if s <= 1.0:
            tanh_ms = float(np.sum(weights / np.cosh(s * nodes) ** 4))
            sig_ms = float(np.sum(weights * _sigmoid_prime(s * nodes) ** 2))
        else:
            tanh_ms = float(np.trapezoid(density / np.cosh(s * u) ** 4, u))
            sig_ms = float(np.trapezoid(density * _sigmoid_prime(s * u) ** 2, u))
        assert predicted_layer_factor("tanh", 64, 9 / 64, z_std=s) == pytest.approx(math.sqrt(9 * tanh_ms), rel=1e-9)
        assert predicted_layer_factor("sigmoid", 64, 1 / 192, z_std=s) == pytest.approx(math.sqrt(sig_ms / 3), rel=1e-9)


def test_predicted_layer_factor_saturated_sigmoid_limit():
    # for a wide spread s, E[sigma'(z)^2] -> (1/(s sqrt(2 pi))) * int sigma'^2 dz = 1/(6 s sqrt(2 pi)),
    # since int sigma'^2 dz = int_0^1 s(1 - s) ds = 1/6; the relative correction is O(1/s^2)
    s = 300.0
    expected = math.sqrt(1.0 / (6 * s * math.sqrt(2 * math.pi)))
    assert predicted_layer_factor("sigmoid", 1, 1.0, z_std=s) == pytest.approx(expected, rel=1e-5)


def test_predicted_layer_factor_matches_a_random_layer():
    # one backward step through a random layer with Gaussian pre-activations: the mean square of
    # the new error, averaged over draws, has expectation factor^2 * ||delta||^2 / n_out exactly
    rng = np.random.default_rng(3)
    n_in, n_out, var, s, reps = 40, 60, 0.5 / 60, 1.7, 2000
    delta = rng.standard_normal(n_out)
    delta /= np.sqrt(np.mean(delta**2))  # root mean square 1
    ratios = np.empty(reps)
    for r in range(reps):
        w = rng.normal(0.0, math.sqrt(var), (n_out, n_in))
        z = rng.normal(0.0, s, n_in)
        back = (1 - np.tanh(z) ** 2) * (w.T @ delta)
        ratios[r] = np.mean(back**2)
    se = ratios.std(ddof=1) / math.sqrt(reps)
    predicted = predicted_layer_factor("tanh", n_out, var, z_std=s) ** 2
    assert abs(ratios.mean() - predicted) < 5 * se


def test_fitted_layer_factor_exact_and_least_squares():
    r = 0.37
    norms = 3.0 * r ** -np.arange(1, 21)  # g_l = c r^-l
    assert fitted_layer_factor(norms) == pytest.approx(r, rel=1e-12)
    assert fitted_layer_factor(norms, layers=range(2, 20)) == pytest.approx(r, rel=1e-12)
    # least squares by hand: log10 g = 0, 1, 3 at l = 1, 2, 3 has slope 3/2, so r = 10^-1.5
    assert fitted_layer_factor([1.0, 10.0, 1000.0]) == pytest.approx(10**-1.5, rel=1e-12)
    # only the chosen layers count, and a constant factor does not change the fit
    assert fitted_layer_factor([1e9, 1.0, 10.0, 1000.0], layers=[2, 3, 4]) == pytest.approx(10**-1.5, rel=1e-12)
    assert fitted_layer_factor([7.0, 70.0, 7000.0]) == pytest.approx(10**-1.5, rel=1e-12)


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
_RNG = np.random.default_rng(0)

BAD_INPUT_CASES = [
    ("gradlab.products.scalar_power", lambda: scalar_power(0.5, -1), ValueError, "depth"),
    ("gradlab.products.scalar_power", lambda: scalar_power(float("nan"), 3), ValueError, "w must be a finite number"),
    ("gradlab.products.scalar_power", lambda: scalar_power("2", 3), TypeError, "w must be a real"),
    ("gradlab.products.scalar_power", lambda: scalar_power(2.0, 3.5), TypeError, "depth must be an int"),
    ("gradlab.products.random_matrix_product", lambda: random_matrix_product(0, 3, _RNG), ValueError, "n must be"),
    ("gradlab.products.random_matrix_product", lambda: random_matrix_product(3, 3, 42), TypeError, "rng must be a numpy.random.Generator"),
    ("gradlab.products.random_matrix_product", lambda: random_matrix_product(3, 3, _RNG, scale=-1.0), ValueError, "scale must be a finite number > 0"),
    ("gradlab.products.random_matrix_product", lambda: random_matrix_product(3, 3, _RNG, raw="yes"), TypeError, "raw must be True or False"),
    ("gradlab.products.MatrixProduct", lambda: MatrixProduct(np.zeros(2)), TypeError, "missing"),
    ("gradlab.products.log_norm_paths", lambda: log_norm_paths(3, 3, _RNG, n_paths=0), ValueError, "n_paths"),
    ("gradlab.products.log_norm_paths", lambda: log_norm_paths(3, -2, _RNG), ValueError, "depth"),
    ("gradlab.products.log_norm_paths", lambda: log_norm_paths(3, 2, None), TypeError, "rng must be"),
    ("gradlab.products.digamma", lambda: digamma(0.0), ValueError, "x must be positive"),
    ("gradlab.products.digamma", lambda: digamma(-1.5), ValueError, "x must be positive"),
    ("gradlab.products.digamma", lambda: digamma(float("inf")), ValueError, "x must be finite"),
    ("gradlab.products.digamma", lambda: digamma("a"), TypeError, "x must be a real"),
    ("gradlab.products.trigamma", lambda: trigamma(np.array([1.0, -2.0])), ValueError, "x must be positive"),
    ("gradlab.products.log_norm_drift", lambda: log_norm_drift(0), ValueError, "n must be"),
    ("gradlab.products.log_norm_drift", lambda: log_norm_drift(2.5), TypeError, "n must be an int"),
    ("gradlab.products.log_norm_variance", lambda: log_norm_variance(-3), ValueError, "n must be"),
    ("gradlab.products.saturation_bound", lambda: saturation_bound(0.0, np.eye(2)), ValueError, "gamma must be a finite number > 0"),
    ("gradlab.products.saturation_bound", lambda: saturation_bound(0.25, np.ones(3)), ValueError, "W must be a non-empty 2-D"),
    ("gradlab.products.saturation_bound", lambda: saturation_bound(0.25, np.array([[np.nan]])), ValueError, "W must be finite, got NaN"),
    ("gradlab.products.max_sigmoid_gain", lambda: max_sigmoid_gain(0.0), ValueError, "a must be non-zero"),
    ("gradlab.products.max_sigmoid_gain", lambda: max_sigmoid_gain(float("nan")), ValueError, "a must be a finite number"),
    ("gradlab.products.predicted_layer_factor", lambda: predicted_layer_factor(None, 4, 0.1), TypeError, "activation must be a str"),
    ("gradlab.products.predicted_layer_factor", lambda: predicted_layer_factor("sigmoidd", 4, 0.1), ValueError, "sigmoidd"),
    ("gradlab.products.predicted_layer_factor", lambda: predicted_layer_factor("tanh", 0, 0.1), ValueError, "fan_out must be a positive int"),
    ("gradlab.products.predicted_layer_factor", lambda: predicted_layer_factor("tanh", 4, 0.0), ValueError, "weight_var must be a finite number > 0"),
    ("gradlab.products.predicted_layer_factor", lambda: predicted_layer_factor("tanh", 4, 0.1, z_std=-1.0), ValueError, "z_std must be a finite number in"),
    ("gradlab.products.predicted_layer_factor", lambda: predicted_layer_factor("tanh", 4, 0.1, z_std=2e3), ValueError, "z_std must be a finite number in"),
    ("gradlab.products.fitted_layer_factor", lambda: fitted_layer_factor([1.0]), ValueError, "norms must be a 1-D sequence of at least two"),
    ("gradlab.products.fitted_layer_factor", lambda: fitted_layer_factor([1.0, 0.0]), ValueError, "norms must be positive"),
    ("gradlab.products.fitted_layer_factor", lambda: fitted_layer_factor([1.0, np.inf]), ValueError, "norms must be finite"),
    ("gradlab.products.fitted_layer_factor", lambda: fitted_layer_factor([1.0, 2.0, 3.0], layers=[2, 2]), ValueError, "at least two different"),
    ("gradlab.products.fitted_layer_factor", lambda: fitted_layer_factor([1.0, 2.0, 3.0], layers=[1, 4]), ValueError, "layers must be at most 3"),
    ("gradlab.products.fitted_layer_factor", lambda: fitted_layer_factor([1.0, 2.0, 3.0], layers=[0, 1]), ValueError, r"layers\[0\] must be a positive int"),
    ("gradlab.products.fitted_layer_factor", lambda: fitted_layer_factor([1.0, 2.0, 3.0], layers=3), TypeError, "layers must be a sequence"),
]


@pytest.mark.parametrize(
    "name, call, exc, match", BAD_INPUT_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUT_CASES)]
)
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
