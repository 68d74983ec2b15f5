"""Tests for gradlab.landscape: closed forms for quadratic losses, first-order consistency."""

import numpy as np
import pytest

from gradlab import nn
from gradlab.landscape import GradientProbe, GradientShift, gradient_probe, gradient_shift
from gradlab.normalisation_tools import normalised_mlp

_RNG = np.random.default_rng(0)


def _linear_problem(seed=0, batch=12, fan_in=3, fan_out=2):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(fan_in, fan_out, rng=rng))
    X = rng.standard_normal((batch, fan_in))
    T = rng.standard_normal((batch, fan_out))
    return model, X, T


def _mse_gradient(X, T, W, b):
    c = 2.0 / T.size
    r = X @ W.T + b - T
    return c * r.T @ X, c * r.sum(axis=0)


def test_probe_of_a_quadratic_loss_is_exact():
    model, X, T = _linear_problem()
    lin = model.layers[0]
    gW, gb = _mse_gradient(X, T, lin.weight, lin.bias)
    # Hessian-vector product of the mean squared error with the direction (gW, gb)
    dz = X @ gW.T + gb
    c = 2.0 / T.size
    HgW, Hgb = c * dz.T @ X, c * dz.sum(axis=0)
    g2 = np.sum(gW**2) + np.sum(gb**2)
    gHg = c * np.sum(dz**2)
    Hg = np.sqrt(np.sum(HgW**2) + np.sum(Hgb**2))
    etas = np.array([0.01, 0.1, 0.5, 2.0])
    p = gradient_probe(model, X, T, etas, loss="mse")
    J0 = np.mean((X @ lin.weight.T + lin.bias - T) ** 2)
    assert p.loss0 == pytest.approx(J0, rel=1e-13)
    assert p.grad_norm == pytest.approx(np.sqrt(g2), rel=1e-13)
    assert np.allclose(p.losses, J0 - etas * g2 + 0.5 * etas**2 * gHg, rtol=1e-11)
    assert np.allclose(p.grad_changes, etas * Hg, rtol=1e-10)
    assert p.smoothness == pytest.approx(Hg / np.sqrt(g2), rel=1e-10)
    assert p.loss_range == pytest.approx(np.ptp(np.append(p.losses, J0)), rel=1e-12)


def test_probe_follows_the_negative_gradient_of_a_batchnorm_network():
    # first order: (J(theta - eta g) - J(theta)) / eta -> -||g||^2
    rng = np.random.default_rng(1)
    net = normalised_mlp([2, 8, 8, 3], "sigmoid", rng)
    X, y = rng.standard_normal((16, 2)), rng.integers(0, 3, 16)
    p = gradient_probe(net, X, y, etas=[1e-7])
    slope = (p.losses[0] - p.loss0) / 1e-7
    assert slope == pytest.approx(-p.grad_norm**2, rel=1e-4)


def test_probe_and_shift_leave_the_model_alone():
    rng = np.random.default_rng(2)
    net = normalised_mlp([2, 6, 6, 3], "tanh", rng)
    X, y = rng.standard_normal((10, 2)), rng.integers(0, 3, 10)
    out = net(X)
    net.backward(np.ones_like(out))
    state = [a.copy() for a in net.parameters() + net.gradients()]
    bns = [layer for layer in net.layers if isinstance(layer, nn.BatchNorm)]
    running = [a.copy() for bn in bns for a in (bn.running_mean, bn.running_var)]
    gradient_probe(net, X, y, etas=[0.1, 1.0])
    gradient_shift(net, X, y, lr=0.5)
    assert all(np.array_equal(a, b) for a, b in zip(state, net.parameters() + net.gradients()))
    assert all(np.array_equal(a, b) for a, b in zip(running, [a for bn in bns for a in (bn.running_mean, bn.running_var)]))


def test_gradient_shift_of_a_two_layer_linear_network():
    rng = np.random.default_rng(3)
    l1, l2 = nn.Linear(3, 4, rng=rng), nn.Linear(4, 2, rng=rng)
    model = nn.Sequential(l1, l2)
    X, T = rng.standard_normal((9, 3)), rng.standard_normal((9, 2))
    lr, c = 0.3, 2.0 / T.size
    # by hand: the gradients at theta, then layer 2's gradient after layer 1's step
    h = X @ l1.weight.T + l1.bias
    dout = c * (h @ l2.weight.T + l2.bias - T)
    G2 = dout.T @ h
    dh = dout @ l2.weight
    W1, b1 = l1.weight - lr * dh.T @ X, l1.bias - lr * dh.sum(axis=0)
    h2 = X @ W1.T + b1
    G2b = (c * (h2 @ l2.weight.T + l2.bias - T)).T @ h2
    s = gradient_shift(model, X, T, lr=lr, loss="mse")
    assert s.layers == [0, 1]
    assert s.l2[0] == 0.0 and s.cosine[0] == pytest.approx(1.0, abs=1e-15)
    assert s.l2[1] == pytest.approx(np.linalg.norm(G2b - G2), rel=1e-12)
    assert s.grad_norms[1] == pytest.approx(np.linalg.norm(G2), rel=1e-12)
    cos = np.sum(G2 * G2b) / (np.linalg.norm(G2) * np.linalg.norm(G2b))
    assert s.cosine[1] == pytest.approx(cos, rel=1e-12)
    assert s.relative[1] == pytest.approx(np.linalg.norm(G2b - G2) / np.linalg.norm(G2), rel=1e-12)


def test_gradient_shift_grows_with_the_learning_rate():
    # to first order in lr the shift is lr times a fixed vector
    rng = np.random.default_rng(4)
    net = nn.mlp([2, 8, 8, 2], "tanh", rng)
    X, y = rng.standard_normal((16, 2)), rng.integers(0, 2, 16)
    a = gradient_shift(net, X, y, lr=1e-5).l2
    b = gradient_shift(net, X, y, lr=2e-5).l2
    assert np.allclose(b[1:], 2 * a[1:], rtol=1e-3)


BAD_INPUT_CASES = [
    ("gradlab.landscape.gradient_probe", lambda: gradient_probe(nn.Linear(2, 1, rng=_RNG), np.ones((3, 2)), np.ones((3, 1)), [0.1], "hinge"), ValueError, "unknown loss 'hinge'"),
    ("gradlab.landscape.gradient_probe", lambda: gradient_probe("net", np.ones((3, 2)), np.ones(3), [0.1]), TypeError, "model must be a gradlab.nn.Layer"),
    ("gradlab.landscape.gradient_probe", lambda: gradient_probe(nn.Sequential(nn.Linear(2, 1, rng=_RNG)), np.ones((3, 2)), np.ones((3, 1)), [0.0], "mse"), ValueError, "etas must be positive"),
    ("gradlab.landscape.gradient_probe", lambda: gradient_probe(nn.Sequential(nn.Linear(2, 1, rng=_RNG)), np.ones((3, 2)), np.ones((3, 1)), [], "mse"), ValueError, "etas must be a non-empty"),
    ("gradlab.landscape.gradient_probe", lambda: gradient_probe(nn.Sequential(nn.Linear(2, 1, rng=_RNG)), np.ones((3, 2)), np.ones((4, 1)), [0.1], "mse"), ValueError, "y must have 3 rows"),
    ("gradlab.landscape.gradient_probe", lambda: gradient_probe(nn.Sequential(nn.Activation("tanh")), np.ones((3, 2)), np.ones((3, 2)), [0.1], "mse"), ValueError, "model must have parameters"),
    ("gradlab.landscape.gradient_probe", lambda: gradient_probe(nn.Sequential(nn.Linear(2, 1, rng=_RNG)), np.ones((3, 2), dtype=int), np.ones((3, 1)), [0.1], "mse"), TypeError, "X must be a floating-point array"),
    ("gradlab.landscape.GradientProbe", lambda: GradientProbe(np.ones(2)), TypeError, "missing"),
    ("gradlab.landscape.gradient_shift", lambda: gradient_shift(nn.Linear(2, 1, rng=_RNG), np.ones((3, 2)), np.ones((3, 1)), 0.1, "mse"), TypeError, "model must be a gradlab.nn.Sequential"),
    ("gradlab.landscape.gradient_shift", lambda: gradient_shift(nn.Sequential(nn.Linear(2, 1, rng=_RNG)), np.ones((3, 2)), np.ones((3, 1)), 0.0, "mse"), ValueError, "lr must be a finite number > 0"),
    ("gradlab.landscape.gradient_shift", lambda: gradient_shift(nn.Sequential(nn.Linear(2, 1, rng=_RNG)), np.full((3, 2), np.nan), np.ones((3, 1)), 0.1, "mse"), ValueError, "X must be finite"),
    ("gradlab.landscape.GradientShift", lambda: GradientShift([0]), TypeError, "missing"),
]


@pytest.mark.parametrize(
    "name, call, exc, match", BAD_INPUT_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUT_CASES)]
)
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
