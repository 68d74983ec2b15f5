"""Tests of gradlab.fdcheck against closed-form derivatives of one tanh unit and the error bound they imply."""

import math

import numpy as np
import pytest

from gradlab import fdcheck, nn

RNG = np.random.default_rng
X1 = np.array([[0.7], [-1.3], [0.4]])  # three examples of one input


def sum_loss(pred, target):
    """J = sum of the outputs: dJ/dpred = 1 (an independent, trivial loss)."""
    return float(np.sum(pred)), np.ones_like(pred)


def tanh_unit(w=0.8, b=-0.3, dtype=np.float64):
    """One tanh unit: J(w) = sum_i tanh(w x_i + b), whose derivatives in w are known in closed form."""
    lin = nn.Linear(1, 1, init="constant", bias_init="zeros", dtype=dtype)
    lin.weight[...] = w
    lin.bias[...] = b
    return nn.Sequential(lin, nn.Activation("tanh"))


def closed_form(w, b=-0.3, x=X1[:, 0]):
    """J and dJ/dw, d2J/dw2, d3J/dw3 for J(w) = sum tanh(w x + b)."""
    t = np.tanh(np.multiply.outer(np.atleast_1d(w), x) + b)
    d1 = 1 - t * t                                  # tanh'
    d2 = -2 * t * d1                                # tanh''
    d3 = -2 * d1 * (1 - 3 * t * t)                  # tanh'''
    return t.sum(-1), (x * d1).sum(-1), (x**2 * d2).sum(-1), (x**3 * d3).sum(-1)


BAD_INPUT_CASES = [
    ("gradlab.fdcheck.pick_coordinates", lambda: fdcheck.pick_coordinates(tanh_unit(), 3, RNG(0)), ValueError, "at most the number"),
    ("gradlab.fdcheck.pick_coordinates", lambda: fdcheck.pick_coordinates(nn.Activation("relu"), 1, RNG(0)), ValueError, "no parameters"),
    ("gradlab.fdcheck.pick_coordinates", lambda: fdcheck.pick_coordinates(tanh_unit(), 1, 0), TypeError, "rng must be"),
    ("gradlab.fdcheck.Derivatives", lambda: fdcheck.Derivatives(1.0), TypeError, "missing"),
    ("gradlab.fdcheck.derivatives", lambda: fdcheck.derivatives(tanh_unit(dtype=np.float32), X1.astype(np.float32), None, [("0.weight", 0)], loss=sum_loss), TypeError, "float64"),
    ("gradlab.fdcheck.derivatives", lambda: fdcheck.derivatives(tanh_unit(), X1, None, [("1.weight", 0)], loss=sum_loss), ValueError, "coordinates"),
    ("gradlab.fdcheck.derivatives", lambda: fdcheck.derivatives(tanh_unit(), X1, None, [("0.weight", 3)], loss=sum_loss), ValueError, "must be below 1"),
    ("gradlab.fdcheck.derivatives", lambda: fdcheck.derivatives(tanh_unit(), X1, None, [("0.weight", 0)], loss=sum_loss, h=0.0), ValueError, "h must be"),
    ("gradlab.fdcheck.StepSweep", lambda: fdcheck.StepSweep(np.ones(1)), TypeError, "missing"),
    ("gradlab.fdcheck.step_sweep", lambda: fdcheck.step_sweep(tanh_unit(), X1, None, [("0.weight", 0)], [1e-3, -1.0], loss=sum_loss), ValueError, "steps must be positive"),
    ("gradlab.fdcheck.step_sweep", lambda: fdcheck.step_sweep(tanh_unit(), X1, None, [("0.weight", 0)], [1e-3], loss=sum_loss, scheme="backward"), ValueError, "scheme must be"),
    ("gradlab.fdcheck.step_sweep", lambda: fdcheck.step_sweep(tanh_unit(), X1, None, [], [1e-3], loss=sum_loss), ValueError, "coordinates must be"),
    ("gradlab.fdcheck.difference_error", lambda: fdcheck.difference_error(0.0, 1.0, 1.0, 1.0, 1.0, 1e-16), ValueError, "h must be positive"),
    ("gradlab.fdcheck.difference_error", lambda: fdcheck.difference_error(1e-3, 1.0, 1.0, 1.0, 1.0, 0.0), ValueError, "machine_eps must be"),
    ("gradlab.fdcheck.optimal_step", lambda: fdcheck.optimal_step(1.0, 0.0, 1e-16), ValueError, "derivative must be positive"),
    ("gradlab.fdcheck.optimal_step", lambda: fdcheck.optimal_step(1.0, 1.0, 1e-16, scheme="both"), ValueError, "scheme must be"),
]


@pytest.mark.parametrize("name,call,exc,match", BAD_INPUT_CASES, ids=[c[0] for c in BAD_INPUT_CASES])
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_pick_coordinates_draws_distinct_valid_entries():
    model = nn.mlp([3, 4, 2], "tanh", RNG(0))
    sizes = dict((name, p.size) for name, p in model.named_parameters())
    coords = fdcheck.pick_coordinates(model, 20, RNG(1))
    assert len(set(coords)) == 20 and coords == sorted(coords)
    assert all(name in sizes and 0 <= k < sizes[name] for name, k in coords)
    assert coords == fdcheck.pick_coordinates(model, 20, RNG(1))
    # all entries: every (name, index) exactly once
    every = fdcheck.pick_coordinates(model, sum(sizes.values()), RNG(2))
    assert sorted(every) == sorted((name, k) for name, n in sizes.items() for k in range(n))


def test_derivatives_of_a_tanh_unit_match_the_closed_form():
    d = fdcheck.derivatives(tanh_unit(), X1, None, [("0.weight", 0)], loss=sum_loss, h=1e-3)
    j, d1, d2, d3 = closed_form(0.8)
    assert d.value == pytest.approx(j[0], rel=1e-14)
    assert d.first[0] == pytest.approx(d1[0], rel=1e-13)
    # central differences of the analytic gradient: truncation O(h^2) ~ 1e-6 relative
    assert d.second[0] == pytest.approx(d2[0], rel=1e-5)
    assert d.third[0] == pytest.approx(d3[0], rel=1e-5)


def test_derivatives_leave_the_model_alone():
    model = tanh_unit()
    before = [p.copy() for p in model.parameters()]
    fdcheck.derivatives(model, X1, None, [("0.weight", 0), ("0.bias", 0)], loss=sum_loss)
    for a, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scheme", ["central", "forward"])
def test_measured_error_obeys_the_truncation_plus_rounding_bound(dtype, scheme):
    # the bound of the theorem with the closed-form derivatives bounded over [w - h, w + h], and the
    # rounding term allowed 4 units of relative error per evaluation (three tanh, their sum, w x + b)
    model = tanh_unit(dtype=dtype)
    steps = np.logspace(-9, -1, 17)
    s = fdcheck.step_sweep(model, X1.astype(dtype), None, [("0.weight", 0)], steps, loss=sum_loss, scheme=scheme)
    w = float(model.parameters()[0][0, 0])          # the weight as stored (rounded in float32)
    j, exact, _, _ = closed_form(w)
    err = np.abs(s.numeric[:, 0] - exact[0])
    eps = float(np.finfo(dtype).eps)
    r = 4 * 0.5 * eps * abs(j[0])  # R of the theorem, with 4 units of rounding per evaluation of J
    for h, e in zip(steps, err):
        grid = np.linspace(w - 1.01 * h, w + 1.01 * h, 201)
        _, _, d2, d3 = closed_form(grid)
        if scheme == "central":
            bound = h * h * np.abs(d3).max() / 6 + r / h
        else:
            bound = h * np.abs(d2).max() / 2 + 2 * r / h
        assert e <= bound, (h, e, bound)
    assert s.dtype == np.dtype(dtype)
    assert s.analytic[0] == pytest.approx(exact[0], rel=10 * eps)


def test_central_beats_forward_and_float64_beats_float32():
    steps = np.logspace(-10, -1, 19)
    best = {}
    for dtype in (np.float64, np.float32):
        for scheme in ("central", "forward"):
            s = fdcheck.step_sweep(tanh_unit(dtype=dtype), X1.astype(dtype), None, [("0.weight", 0)], steps,
                                   loss=sum_loss, scheme=scheme)
            best[dtype, scheme] = s.median_error().min()
    assert best[np.float64, "central"] < 1e-9 < best[np.float64, "forward"] < 1e-6
    assert best[np.float32, "central"] > 1e-7      # above float64's forward difference, far from passing 1e-9


def test_a_step_lost_in_rounding_gives_a_zero_quotient():
    s = fdcheck.step_sweep(tanh_unit(dtype=np.float32), X1.astype(np.float32), None, [("0.weight", 0)],
                           [1e-12], loss=sum_loss)
    assert s.numeric[0, 0] == 0.0 and s.relative_error[0, 0] == 1.0


def test_step_sweep_leaves_the_model_alone():
    model = nn.mlp([2, 3, 2], "tanh", RNG(0))
    before = [p.copy() for p in model.parameters()]
    coords = fdcheck.pick_coordinates(model, 4, RNG(1))
    fdcheck.step_sweep(model, RNG(2).standard_normal((5, 2)), np.array([0, 1, 1, 0, 1]), coords, [1e-4, 1e-6])
    for a, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(a, b)


def test_difference_error_formula():
    h = np.array([1e-8, 1e-4, 1e-1])
    eps = np.finfo(np.float64).eps
    e = 1e-2 * h * h / 6 + 0.5 * eps * 2.0 / h
    np.testing.assert_allclose(fdcheck.difference_error(h, 2.0, 0.3, 5.0, 1e-2, eps), e / (0.6 + e), rtol=1e-14)
    e = 5.0 * h / 2 + eps * 2.0 / h
    np.testing.assert_allclose(fdcheck.difference_error(h, 2.0, 0.3, 5.0, 1e-2, eps, "forward"), e / (0.6 + e),
                               rtol=1e-14)
    assert np.all(fdcheck.difference_error(np.logspace(-20, 5, 30), 1.0, 1e-3, 1.0, 1.0, 1e-7) <= 1.0)


@pytest.mark.parametrize("scheme", ["central", "forward"])
def test_optimal_step_minimises_the_error_model(scheme):
    value, m, eps = 1.7, 0.4, np.finfo(np.float32).eps
    r = 0.5 * eps * value
    h_star, e_star = fdcheck.optimal_step(value, m, eps, scheme)
    h = np.logspace(-8, 0, 200_001)
    e = h * h * m / 6 + r / h if scheme == "central" else h * m / 2 + 2 * r / h
    assert float(e_star) == pytest.approx(e.min(), rel=1e-6)
    assert float(h_star) == pytest.approx(h[np.argmin(e)], rel=1e-3)


def test_the_quotient_divides_by_the_step_actually_taken():
    # J = sum(b - 1e6) over three examples is exact in float64 near b = 1e6, where numbers are
    # 2**-33 ~ 1.2e-10 apart: b +- 1.5e-10 rounds to b +- 1.2e-10, and only dividing by that
    # step gives the exact derivative 3
    lin = nn.Linear(1, 1, init="constant", bias_init="zeros")
    lin.bias[...] = 1e6

    def shifted_sum(pred, target):
        return float(np.sum(pred - 1e6)), np.ones_like(pred)

    for scheme in ("central", "forward"):
        s = fdcheck.step_sweep(nn.Sequential(lin), X1, None, [("0.bias", 0)], [1.5e-10, 1e-7], loss=shifted_sum,
                               scheme=scheme)
        np.testing.assert_array_equal(s.numeric[:, 0], [3.0, 3.0])
        np.testing.assert_array_equal(s.relative_error[:, 0], [0.0, 0.0])
