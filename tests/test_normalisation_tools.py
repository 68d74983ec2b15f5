"""Tests for gradlab.normalisation_tools: closed forms, Monte-Carlo bounds, the layers as oracles."""

import copy
import math

import numpy as np
import pytest

from gradlab import gradcheck, nn
from gradlab.normalisation_tools import (
    batch_noise,
    batch_variance_moments,
    ema_moments,
    normalised_gain,
    normalised_mlp,
    recompute_statistics,
)
from gradlab import data, train

_RNG = np.random.default_rng(0)


# --------------------------------------------------------------------------
# normalised_mlp
# --------------------------------------------------------------------------
def test_normalised_mlp_structure_and_biases():
    net = normalised_mlp([3, 5, 6, 2], "tanh", np.random.default_rng(1))
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Linear", "BatchNorm", "Activation"] * 2 + ["Linear"]
    assert [layer.bias is None for layer in nn.linear_layers(net)] == [True, True, False]
    assert [layer.num_features for layer in net.layers if isinstance(layer, nn.BatchNorm)] == [5, 6]
    ln = normalised_mlp([3, 5, 2], "relu", np.random.default_rng(1), norm="layer", hidden_bias=True)
    assert isinstance(ln.layers[1], nn.LayerNorm) and ln.layers[0].bias is not None


def test_normalised_mlp_passes_norm_parameters():
    net = normalised_mlp([2, 4, 2], "sigmoid", np.random.default_rng(0), convention="keras", momentum=0.9)
    bn = net.layers[1]
    assert (bn.convention, bn.momentum, bn.eps) == ("keras", 0.9, 1e-3)


def test_normalised_mlp_draws_weights_like_linear():
    # same rng stream: the first weight equals a Linear drawn first from the same seed
    net = normalised_mlp([2, 4, 3], "tanh", np.random.default_rng(7))
    ref = nn.Linear(2, 4, rng=np.random.default_rng(7), bias=False)
    assert np.array_equal(net.layers[0].weight, ref.weight)


def test_normalised_mlp_gradient_check_both_norms():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 3))
    for norm in ("batch", "layer"):
        net = normalised_mlp([3, 4, 4, 2], "tanh", np.random.default_rng(2), norm=norm)
        errors = gradcheck.gradcheck(net, x)
        assert max(errors.values()) < 1e-6, (norm, errors)


def test_bias_before_batchnorm_gets_no_gradient():
    # BN subtracts the batch mean, so a bias before it cancels: its gradient is zero
    net = normalised_mlp([3, 5, 2], "tanh", np.random.default_rng(4), hidden_bias=True)
    x = np.random.default_rng(5).standard_normal((16, 3))
    out = net(x)
    net.backward(np.random.default_rng(6).standard_normal(out.shape))
    lin = net.layers[0]
    assert np.max(np.abs(lin.grad_bias)) < 1e-13 * np.max(np.abs(lin.grad_weight))


# --------------------------------------------------------------------------
# recompute_statistics
# --------------------------------------------------------------------------
def test_recompute_statistics_matches_a_full_batch_pass():
    X, y = data.circles(300, np.random.default_rng(8), noise=0.1)
    for convention in ("pytorch", "keras"):
        rng = np.random.default_rng(9)
        net = normalised_mlp([2, 12, 12, 2], "tanh", rng, convention=convention)
        train.train(net, X, y, lr=0.3, steps=40, batch_size=16, rng=rng)
        before = [a.copy() for layer in net.layers if isinstance(layer, nn.BatchNorm)
                  for a in (layer.running_mean, layer.running_var)]
        fresh = recompute_statistics(net, X)
        # layer by layer, by hand: each BatchNorm stores the statistics of the input it sees in a
        # training-mode pass over all of X, and passes on that input normalised with them
        h, ddof = X, (1 if convention == "pytorch" else 0)
        for layer in fresh.layers:
            if isinstance(layer, nn.BatchNorm):
                assert np.allclose(layer.running_mean, h.mean(axis=0), rtol=1e-12, atol=1e-14)
                assert np.allclose(layer.running_var, h.var(axis=0, ddof=ddof), rtol=1e-12)
                h = layer.gamma * (h - h.mean(axis=0)) / np.sqrt(h.var(axis=0) + layer.eps) + layer.beta
            else:
                h = layer(h)
        assert not fresh.training and net.training
        assert [b.momentum for b in fresh.layers if isinstance(b, nn.BatchNorm)] == [
            b.momentum for b in net.layers if isinstance(b, nn.BatchNorm)]
        after = [a for layer in net.layers if isinstance(layer, nn.BatchNorm) for a in (layer.running_mean, layer.running_var)]
        assert all(np.array_equal(a, b) for a, b in zip(before, after))  # the original is untouched


def test_recompute_statistics_removes_the_gap_to_training_mode():
    # Keras' convention stores the biased variance, so evaluation mode then equals a full-batch training pass
    X, y = data.circles(200, np.random.default_rng(10), noise=0.1)
    rng = np.random.default_rng(11)
    net = normalised_mlp([2, 8, 8, 2], "sigmoid", rng, convention="keras")
    train.train(net, X, y, lr=0.5, steps=30, batch_size=16, rng=rng)
    fresh = recompute_statistics(net, X)
    full_batch = copy.deepcopy(net).train()(X)
    assert np.allclose(fresh(X), full_batch, rtol=1e-12, atol=1e-12)
    assert np.abs(net.eval()(X) - full_batch).max() > 1e-3  # the running averages of training lag


# --------------------------------------------------------------------------
# ema_moments and batch_variance_moments, with nn.BatchNorm as the oracle
# --------------------------------------------------------------------------
def test_ema_moments_limits():
    e, s = ema_moments(4, 1.0, initial=5.0, mean=2.0, var=9.0)
    assert e.tolist() == [5.0, 2.0, 2.0, 2.0, 2.0] and s.tolist() == [0.0, 3.0, 3.0, 3.0, 3.0]
    e, s = ema_moments(4, 0.0, initial=5.0, mean=2.0, var=9.0)
    assert e.tolist() == [5.0] * 5 and s.tolist() == [0.0] * 5
    # the stationary spread sqrt(v m / (2 - m))
    _, s = ema_moments(10_000, 0.1, initial=0.0, mean=0.0, var=4.0)
    assert s[-1] == pytest.approx(math.sqrt(4.0 * 0.1 / 1.9), rel=1e-12)


def test_ema_moments_keras_is_pytorch_with_one_minus_momentum():
    a = ema_moments(50, 0.99, initial=1.0, mean=3.0, var=2.0, convention="keras")
    b = ema_moments(50, 0.01, initial=1.0, mean=3.0, var=2.0)
    assert np.allclose(a, b, rtol=1e-12, atol=0)


def test_ema_moments_match_a_batchnorm_layer():
    # every feature of one BatchNorm layer is an independent replicate of the running average
    reps, n, steps, mu, v = 4000, 8, 40, 3.0, 4.0
    rng = np.random.default_rng(11)
    for convention, momentum in (("pytorch", 0.1), ("keras", 0.9)):
        bn = nn.BatchNorm(reps, convention=convention, momentum=momentum)
        means, variances = [], []
        for _ in range(steps):
            bn(mu + math.sqrt(v) * rng.standard_normal((n, reps)))
            means.append(bn.running_mean.copy())
            variances.append(bn.running_var.copy())
        e_mean, s_mean = ema_moments(steps, momentum, 0.0, mu, v / n, convention)
        bv_mean, bv_var = batch_variance_moments(v, n, convention)
        e_var, s_var = ema_moments(steps, momentum, 1.0, bv_mean, bv_var, convention)
        for k in (1, 5, steps):
            for sample, e, s in ((means[k - 1], e_mean[k], s_mean[k]), (variances[k - 1], e_var[k], s_var[k])):
                # the mean of R replicates has standard error s / sqrt(R): allow 5 of them;
                # the sample std of R replicates is within 10 % (about 5 standard errors for kurtosis <= 6)
                assert abs(sample.mean() - e) < 5 * s / math.sqrt(reps), (convention, k)
                assert sample.std(ddof=1) == pytest.approx(s, rel=0.1), (convention, k)


def test_batch_variance_moments_against_sampling():
    reps, n, v = 200_000, 5, 2.0
    x = math.sqrt(v) * np.random.default_rng(12).standard_normal((reps, n))
    for convention, ddof in (("pytorch", 1), ("keras", 0)):
        mean, var = batch_variance_moments(v, n, convention)
        sample = x.var(axis=1, ddof=ddof)
        assert abs(sample.mean() - mean) < 5 * math.sqrt(var / reps)
        # chi-square with 4 degrees of freedom has kurtosis 6: the sample variance is within 3 %
        assert sample.var() == pytest.approx(var, rel=0.03)


def test_batch_variance_moments_is_what_batchnorm_stores():
    x = np.random.default_rng(13).standard_normal((6, 3))
    pt = nn.BatchNorm(3, momentum=1.0)
    pt(x)
    assert np.allclose(pt.running_var, x.var(axis=0, ddof=1), rtol=1e-13)
    ke = nn.BatchNorm(3, momentum=0.0, convention="keras")
    ke(x)
    assert np.allclose(ke.running_var, x.var(axis=0, ddof=0), rtol=1e-13)


# --------------------------------------------------------------------------
# batch_noise
# --------------------------------------------------------------------------
def test_batch_noise_closed_forms():
    assert batch_noise(2) == pytest.approx(2 - 2 / math.sqrt(math.pi), rel=1e-14)
    # N = 3: E[s] = sqrt(2/3) Gamma(3/2) / Gamma(1) = sqrt(2/3) sqrt(pi) / 2
    assert batch_noise(3) == pytest.approx(2 - math.sqrt(2 / 3) * math.sqrt(math.pi), rel=1e-13)
    for n in (1_000, 100_000):
        assert n * batch_noise(n) == pytest.approx(1.5, rel=2.0 / n)
    values = [batch_noise(n) for n in range(2, 50)]
    assert all(a > b for a, b in zip(values, values[1:]))


def test_batch_noise_against_a_batchnorm_layer():
    # features as replicates: train-mode BN output against the population-standardised input
    reps = 20_000
    rng = np.random.default_rng(14)
    for n in (2, 4, 16):
        z = rng.standard_normal((n, reps))
        bn = nn.BatchNorm(reps, eps=1e-12)
        sq = ((bn(5.0 + 2.0 * z) - z) ** 2)[0]
        # allow 5 standard errors of the sample mean (eps = 1e-12 changes the value by ~1e-12)
        assert abs(sq.mean() - batch_noise(n)) < 5 * sq.std() / math.sqrt(reps), n


# --------------------------------------------------------------------------
# normalised_gain
# --------------------------------------------------------------------------
def _gauss_hermite(f, nodes=200):
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    return float(np.sum(w * f(x)) / math.sqrt(2 * math.pi))


def test_normalised_gain_closed_forms():
    assert normalised_gain("identity") == pytest.approx(1.0, rel=1e-12)
    assert normalised_gain("identity", "layer") == pytest.approx(1.0, rel=1e-12)
    # ReLU: E[phi'^2] = 1/2, E[phi^2] = 1/2, E[phi] = 1/sqrt(2 pi)
    assert normalised_gain("relu") == pytest.approx(math.sqrt(math.pi / (math.pi - 1)), rel=1e-10)
    assert normalised_gain("relu", "layer") == pytest.approx(1.0, rel=1e-10)
    # leaky ReLU with slope a: E[phi'^2] = E[phi^2] = (1 + a^2)/2, E[phi] = (1 - a)/sqrt(2 pi)
    a = 0.2
    var = (1 + a * a) / 2 - (1 - a) ** 2 / (2 * math.pi)
    assert normalised_gain("leaky_relu", slope=a) == pytest.approx(math.sqrt((1 + a * a) / 2 / var), rel=1e-10)


def test_normalised_gain_smooth_activations_against_gauss_hermite():
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    dsig = lambda z: sig(z) * (1 - sig(z))  # noqa: E731
    e_d2 = _gauss_hermite(lambda z: dsig(z) ** 2)
    e_2 = _gauss_hermite(lambda z: sig(z) ** 2)
    e_1 = _gauss_hermite(sig)
    assert e_1 == pytest.approx(0.5, abs=1e-14)  # sigma(z) - 1/2 is odd
    assert normalised_gain("sigmoid") == pytest.approx(math.sqrt(e_d2 / (e_2 - e_1**2)), rel=1e-10)
    assert normalised_gain("sigmoid", "layer") == pytest.approx(math.sqrt(e_d2 / e_2), rel=1e-10)
    t2 = _gauss_hermite(lambda z: np.tanh(z) ** 2)
    dt2 = _gauss_hermite(lambda z: (1 - np.tanh(z) ** 2) ** 2)
    assert normalised_gain("tanh") == pytest.approx(math.sqrt(dt2 / t2), rel=1e-10)
    assert normalised_gain("tanh", "layer") == pytest.approx(normalised_gain("tanh"), rel=1e-12)


def test_normalised_gain_poincare_inequality():
    for name in ("sigmoid", "tanh", "relu", "elu", "gelu", "silu", "softplus"):
        assert normalised_gain(name) >= 1.0 - 1e-12, name


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
BAD_INPUT_CASES = [
    ("gradlab.normalisation_tools.normalised_mlp", lambda: normalised_mlp([2], "tanh", _RNG), ValueError, "sizes must be a sequence"),
    ("gradlab.normalisation_tools.normalised_mlp", lambda: normalised_mlp([2, 3, 2], "tanh", _RNG, norm="group"), ValueError, "norm must be one of"),
    ("gradlab.normalisation_tools.normalised_mlp", lambda: normalised_mlp([2, 3, 2], "tanh", 0), TypeError, "rng must be a numpy.random.Generator"),
    ("gradlab.normalisation_tools.normalised_mlp", lambda: normalised_mlp([2, 3, 2], "tanhh", _RNG), ValueError, "unknown activation"),
    ("gradlab.normalisation_tools.normalised_mlp", lambda: normalised_mlp([2, 3, 2], "tanh", _RNG, hidden_bias=1), TypeError, "hidden_bias must be True or False"),
    ("gradlab.normalisation_tools.normalised_mlp", lambda: normalised_mlp([2, 0, 2], "tanh", _RNG), ValueError, "sizes\\[1\\] must be a positive int"),
    ("gradlab.normalisation_tools.recompute_statistics", lambda: recompute_statistics("net", np.ones((3, 2))), TypeError, "model must be a gradlab.nn.Layer"),
    ("gradlab.normalisation_tools.recompute_statistics", lambda: recompute_statistics(nn.BatchNorm(2), np.ones((1, 2))), ValueError, "X must have shape \\(n, features\\) with n >= 2"),
    ("gradlab.normalisation_tools.recompute_statistics", lambda: recompute_statistics(nn.BatchNorm(2), np.ones((3, 2), dtype=int)), TypeError, "X must be a floating-point array"),
    ("gradlab.normalisation_tools.ema_moments", lambda: ema_moments(-1, 0.1, 0.0, 0.0, 1.0), ValueError, "steps must be an int >= 0"),
    ("gradlab.normalisation_tools.ema_moments", lambda: ema_moments(3, 1.5, 0.0, 0.0, 1.0), ValueError, "momentum must be a finite number in \\[0, 1\\]"),
    ("gradlab.normalisation_tools.ema_moments", lambda: ema_moments(3, 0.1, 0.0, 0.0, -1.0), ValueError, "var must be a finite number >= 0"),
    ("gradlab.normalisation_tools.ema_moments", lambda: ema_moments(3, 0.1, 0.0, 0.0, 1.0, convention="jax"), ValueError, "convention must be one of"),
    ("gradlab.normalisation_tools.batch_variance_moments", lambda: batch_variance_moments(1.0, 1), ValueError, "batch_size must be an int >= 2"),
    ("gradlab.normalisation_tools.batch_variance_moments", lambda: batch_variance_moments("1", 4), TypeError, "var must be a real number"),
    ("gradlab.normalisation_tools.batch_noise", lambda: batch_noise(1), ValueError, "batch_size must be an int >= 2"),
    ("gradlab.normalisation_tools.batch_noise", lambda: batch_noise(4.0), TypeError, "batch_size must be an int"),
    ("gradlab.normalisation_tools.normalised_gain", lambda: normalised_gain("sigmoid", norm="instance"), ValueError, "norm must be one of"),
    ("gradlab.normalisation_tools.normalised_gain", lambda: normalised_gain("nope"), ValueError, "unknown activation"),
]


@pytest.mark.parametrize(
    "name, call, exc, match", BAD_INPUT_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUT_CASES)]
)
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
