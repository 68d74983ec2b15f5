"""Tests for gradlab.deadunits: hand-made networks, the diagnostics' count, Monte-Carlo bounds, real SGD steps."""

import math

import numpy as np
import pytest

from gradlab import diagnostics, losses, nn, optim
from gradlab.deadunits import (
    dead_probability,
    inactive_after_step,
    inactive_fraction,
    inactive_units,
    preactivations,
)


def two_layer_net():
    """1 -> 3 -> 2 -> 1 with hand-set weights: unit 2 of layer 1 is negative for positive inputs."""
    net = nn.mlp([1, 3, 2, 1], "relu", np.random.default_rng(0), bias_init="zeros")
    lin1, lin2, _ = nn.linear_layers(net)
    lin1.weight[:] = [[1.0], [-1.0], [2.0]]
    lin2.weight[:] = [[1.0, 1.0, 1.0], [-1.0, 0.0, -1.0]]
    return net


def test_preactivations_and_inactive_units_by_hand():
    net = two_layer_net()
    x = np.array([[1.0], [3.0]])
    z1, z2 = preactivations(net, x)
    assert z1.tolist() == [[1.0, -1.0, 2.0], [3.0, -3.0, 6.0]]
    assert z2.tolist() == [[3.0, -3.0], [9.0, -9.0]]
    assert [m.tolist() for m in inactive_units(net, x)] == [[False, True, False], [False, True]]
    assert inactive_fraction(net, x).tolist() == [1 / 3, 1 / 2]
    # a single example on the other side revives unit 2 of layer 1
    assert inactive_units(net, np.array([[1.0], [-1.0]]))[0].tolist() == [False, False, False]


def test_inactive_units_of_relu_are_the_diagnostics_dead_units():
    rng = np.random.default_rng(1)
    net = nn.mlp([4, 32, 32, 32, 3], "relu", rng)
    for lin in nn.linear_layers(net)[:-1]:
        lin.bias -= 0.2  # kill some units
    x = rng.standard_normal((50, 4))
    stats = diagnostics.layer_statistics(net, x, rng.integers(0, 3, 50))
    dead = [s.dead_fraction for s in stats if "relu" in s.name]
    assert inactive_fraction(net, x).tolist() == dead
    assert 0 < max(dead) < 1


def test_a_dead_relu_unit_gets_an_exactly_zero_gradient_and_a_leaky_one_does_not():
    for act, zero in [("relu", True), ("leaky_relu", False), ("prelu", False)]:
        net = two_layer_net() if act == "relu" else nn.mlp([1, 3, 2, 1], act, np.random.default_rng(0))
        lin1 = nn.linear_layers(net)[0]
        lin1.weight[:] = [[1.0], [-1.0], [2.0]]
        lin1.bias[:] = 0.0
        x = np.array([[1.0], [3.0]])
        out = net.forward(x)
        net.backward(np.ones_like(out))
        dead = inactive_units(net, x)[0]
        assert dead.tolist() == [False, True, False]
        g = np.abs(lin1.grad_weight[dead]).sum() + np.abs(lin1.grad_bias[dead]).sum()
        assert (g == 0) == zero


def test_dead_probability_closed_forms():
    for n in [1, 2, 10, 64]:
        assert dead_probability(0.0, 3.0, n) == pytest.approx(0.5**n, rel=1e-14)
    # Phi(-1) = erfc(1/sqrt 2)/2 with math's erfc
    p = 0.5 * math.erfc(1 / math.sqrt(2))
    assert dead_probability(1.0, 1.0, 5) == pytest.approx(p**5, rel=1e-13)
    assert dead_probability(-2.0, 2.0, 7) == pytest.approx((1 - p) ** 7, rel=1e-13)
    # vectorised, and monotone: more examples, less chance to be dead on all of them
    got = dead_probability(np.array([-4.0, -3.0]), np.array([1.0, 1.0]), 100)
    assert got.shape == (2,) and got[0] > got[1]
    assert dead_probability(-3.0, 1.0, 100) > dead_probability(-3.0, 1.0, 1000)
    # far below zero the unit is (almost) never active: log1p keeps the answer exact
    assert dead_probability(-40.0, 1.0, 10**6) == 1.0
    assert dead_probability(40.0, 1.0, 1) == 0.0


def test_dead_probability_against_monte_carlo():
    # first-layer units z = w.x + b with x ~ N(0, I): N(b, |w|^2) over the data. Over many units and data
    # sets, the dead frequency is a binomial proportion: within 5 standard errors of the probability.
    rng = np.random.default_rng(0)
    w = np.array([0.6, -0.8])  # |w| = 1
    b, n, trials = -2.0, 20, 20_000
    x = rng.standard_normal((trials, n, 2))
    dead = np.all(x @ w + b <= 0, axis=1)
    p = dead_probability(b, 1.0, n)
    assert abs(dead.mean() - p) < 5 * math.sqrt(p * (1 - p) / trials)


def test_inactive_after_step_equals_taking_the_step():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 3))
    y = rng.integers(0, 3, 64)
    for lr in [0.1, 1.0, 5.0, 30.0]:
        net = nn.mlp([3, 40, 40, 3], "relu", np.random.default_rng(4), init="kaiming_normal", bias_init="zeros")
        loss, g = losses.softmax_cross_entropy(net.forward(x), y)
        net.backward(g)
        predicted = inactive_after_step(nn.linear_layers(net)[0], x, [lr])
        optim.SGD(net, lr=lr).step()
        assert predicted[0] == inactive_fraction(net, x)[0]
    assert predicted[0] > 0  # the largest step killed some first-layer units


def test_inactive_after_step_of_a_layer_without_bias_and_many_rates():
    lin = nn.Linear(2, 3, init="zeros", bias=False)
    lin.weight[:] = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    lin.grad_weight[:] = [[1.0, 0.0], [0.0, 0.5], [0.0, 0.0]]
    x = np.array([[1.0, 1.0], [2.0, 2.0]])
    assert inactive_after_step(lin, x, np.array([0.0, 1.0, 2.0])).tolist() == [0.0, 1 / 3, 2 / 3]


NET = nn.mlp([2, 3, 1], "relu", np.random.default_rng(0))
LIN = nn.Linear(2, 3, rng=np.random.default_rng(0))

BAD_INPUT_CASES = [
    ("gradlab.deadunits.preactivations", lambda: preactivations(LIN, np.ones((2, 2))), TypeError, "model must be a gradlab.nn.Sequential"),
    ("gradlab.deadunits.preactivations", lambda: preactivations(NET, np.ones(2)), ValueError, r"x must have shape \(examples, features\)"),
    ("gradlab.deadunits.inactive_units", lambda: inactive_units(NET, np.ones((0, 2))), ValueError, "x must not be empty"),
    ("gradlab.deadunits.inactive_units", lambda: inactive_units(NET, [[1.0, 2.0]]), TypeError, "x must be a numpy.ndarray"),
    ("gradlab.deadunits.inactive_fraction", lambda: inactive_fraction(NET, np.ones((2, 2), dtype=int)), TypeError, "x must be a floating-point array"),
    ("gradlab.deadunits.inactive_fraction", lambda: inactive_fraction("net", np.ones((2, 2))), TypeError, "model must be"),
    ("gradlab.deadunits.dead_probability", lambda: dead_probability(0.0, 0.0, 3), ValueError, "std must be positive"),
    ("gradlab.deadunits.dead_probability", lambda: dead_probability(0.0, 1.0, 0), ValueError, "n must be a positive int"),
    ("gradlab.deadunits.dead_probability", lambda: dead_probability("0", 1.0, 3), TypeError, "mean must be a real"),
    ("gradlab.deadunits.inactive_after_step", lambda: inactive_after_step(NET, np.ones((2, 2)), [1.0]), TypeError, "layer must be a gradlab.nn.Linear"),
    ("gradlab.deadunits.inactive_after_step", lambda: inactive_after_step(LIN, np.ones((2, 3)), [1.0]), ValueError, r"x must have shape \(examples, 2\)"),
    ("gradlab.deadunits.inactive_after_step", lambda: inactive_after_step(LIN, np.ones((2, 2)), [-1.0]), ValueError, "lrs must be a step size >= 0"),
    ("gradlab.deadunits.inactive_after_step", lambda: inactive_after_step(LIN, np.ones((2, 2)), [float("nan")]), ValueError, "lrs must be finite"),
]


@pytest.mark.parametrize(
    "name, call, exc, match", BAD_INPUT_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUT_CASES)]
)
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
