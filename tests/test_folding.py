"""Tests for gradlab.folding: folded layers against the unfolded ones in evaluation mode."""

import numpy as np
import pytest

from gradlab import nn, train, data
from gradlab.folding import fold_batchnorm, fold_model
from gradlab.normalisation_tools import normalised_mlp

_RNG = np.random.default_rng(0)


def _trained_pair(convention, bias, dtype=np.float64, seed=0):
    """A Linear and a BatchNorm whose running statistics, gamma and beta are far from their start."""
    rng = np.random.default_rng(seed)
    lin = nn.Linear(4, 3, rng=rng, bias=bias, dtype=dtype)
    bn = nn.BatchNorm(3, convention=convention, dtype=dtype)
    for _ in range(30):
        bn(lin((3.0 + 2.0 * rng.standard_normal((10, 4))).astype(dtype)))
    bn.gamma[...] = rng.uniform(0.5, 2.0, 3)
    bn.beta[...] = rng.standard_normal(3)
    return lin, bn


@pytest.mark.parametrize("convention", ["pytorch", "keras"])
@pytest.mark.parametrize("bias", [True, False])
def test_fold_batchnorm_equals_eval_mode(convention, bias):
    lin, bn = _trained_pair(convention, bias)
    assert not np.allclose(bn.running_mean, 0) and not np.allclose(bn.running_var, 1)
    x = np.random.default_rng(1).standard_normal((7, 4))
    expected = bn.eval()(lin(x))
    got = fold_batchnorm(lin, bn)(x)
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_fold_batchnorm_hand_values():
    # W = 2, b = 1, running mean 3, running var + eps = 4, gamma 5, beta 6:
    # W' = 5 * 2 / 2 = 5, b' = 5 * (1 - 3) / 2 + 6 = 1
    lin = nn.Linear(1, 1, init=lambda s, r: np.full(s, 2.0), bias_init=lambda s, r: np.full(s, 1.0))
    bn = nn.BatchNorm(1, eps=0.5)
    bn.running_mean[...] = 3.0
    bn.running_var[...] = 3.5
    bn.gamma[...] = 5.0
    bn.beta[...] = 6.0
    folded = fold_batchnorm(lin, bn)
    assert folded.weight.tolist() == [[5.0]] and folded.bias.tolist() == [1.0]


def test_fold_batchnorm_leaves_its_arguments_alone():
    lin, bn = _trained_pair("pytorch", True)
    before = [p.copy() for p in lin.parameters() + bn.parameters()] + [bn.running_mean.copy(), bn.running_var.copy()]
    fold_batchnorm(lin, bn)
    after = lin.parameters() + bn.parameters() + [bn.running_mean, bn.running_var]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert bn.training  # the mode is not switched


def test_fold_batchnorm_float32():
    lin, bn = _trained_pair("keras", False, dtype=np.float32)
    x = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)
    folded = fold_batchnorm(lin, bn)
    assert folded.weight.dtype == np.float32
    assert np.allclose(folded(x), bn.eval()(lin(x)), rtol=1e-5, atol=1e-5)


def test_folding_is_wrong_in_training_mode():
    # the training-mode layer uses the batch statistics, which no fixed affine map reproduces
    lin, bn = _trained_pair("pytorch", True)
    x = np.random.default_rng(3).standard_normal((8, 4))
    assert np.max(np.abs(fold_batchnorm(lin, bn)(x) - bn.train()(lin(x)))) > 0.1


@pytest.mark.parametrize("convention", ["pytorch", "keras"])
def test_fold_model_trained_network(convention):
    X, y = data.circles(200, np.random.default_rng(4), noise=0.1)
    rng = np.random.default_rng(5)
    net = normalised_mlp([2, 16, 16, 2], "sigmoid", rng, convention=convention)
    train.train(net, X, y, lr=0.3, steps=60, batch_size=20, rng=rng)
    folded = fold_model(net)
    assert net.training  # the original keeps its mode
    assert [type(layer).__name__ for layer in folded.layers] == ["Linear", "Activation"] * 2 + ["Linear"]
    assert not folded.training
    assert np.allclose(folded(X), net.eval()(X), rtol=1e-12, atol=1e-12)


def test_fold_model_keeps_other_layers():
    rng = np.random.default_rng(6)
    bn_first = nn.BatchNorm(2)
    net = nn.Sequential(bn_first, nn.Linear(2, 3, rng=rng), nn.Activation("tanh"), nn.Linear(3, 3, rng=rng),
                        nn.LayerNorm(3))
    folded = fold_model(net)
    kinds = [type(layer).__name__ for layer in folded.layers]
    assert kinds == ["BatchNorm", "Linear", "Activation", "Linear", "LayerNorm"]
    assert folded.layers[0] is not bn_first
    x = rng.standard_normal((4, 2))
    assert np.allclose(folded(x), net.eval()(x), rtol=1e-13)


BAD_INPUT_CASES = [
    ("gradlab.folding.fold_batchnorm", lambda: fold_batchnorm(nn.BatchNorm(2), nn.BatchNorm(2)), TypeError, "linear must be a gradlab.nn.Linear"),
    ("gradlab.folding.fold_batchnorm", lambda: fold_batchnorm(nn.Linear(2, 2, rng=_RNG), nn.LayerNorm(2)), TypeError, "bn must be a gradlab.nn.BatchNorm"),
    ("gradlab.folding.fold_batchnorm", lambda: fold_batchnorm(nn.Linear(2, 3, rng=_RNG), nn.BatchNorm(2)), ValueError, "num_features = linear.fan_out = 3, got 2"),
    ("gradlab.folding.fold_batchnorm", lambda: fold_batchnorm(nn.Linear(2, 2, rng=_RNG), nn.BatchNorm(2, dtype=np.float32)), TypeError, "bn must have the dtype of linear"),
    ("gradlab.folding.fold_model", lambda: fold_model(nn.Linear(2, 2, rng=_RNG)), TypeError, "model must be a gradlab.nn.Sequential"),
    ("gradlab.folding.fold_model", lambda: fold_model([nn.Linear(2, 2, rng=_RNG)]), TypeError, "model must be a gradlab.nn.Sequential"),
]


@pytest.mark.parametrize(
    "name, call, exc, match", BAD_INPUT_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUT_CASES)]
)
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
