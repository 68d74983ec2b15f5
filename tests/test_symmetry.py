"""Tests of gradlab.symmetry: the spread is zero exactly for identical units, and stays so in training."""

import numpy as np
import pytest

from gradlab import data, nn, symmetry, train

_RNG = np.random.default_rng(0)


def const(value):
    return lambda shape, rng: np.full(shape, value)


def test_unit_spread_by_hand():
    W = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 1.5, 3.25]])
    assert symmetry.unit_spread(W) == 0.5
    assert symmetry.unit_spread(W[:2]) == 0.0
    assert symmetry.unit_spread(W[:2], np.array([0.1, -0.2])) == pytest.approx(0.3, rel=1e-15)
    assert symmetry.unit_spread(np.ones((1, 4))) == 0.0  # one unit is trivially identical to itself
    # a difference in one entry anywhere is seen, however small
    V = np.zeros((5, 5))
    V[3, 4] = 1e-300
    assert symmetry.unit_spread(V) == 1e-300
    assert symmetry.unit_spread(V.T) == 1e-300


def test_hidden_unit_spreads_sees_incoming_bias_and_outgoing():
    net = nn.mlp([2, 4, 3, 2], "tanh", _RNG, init=const(0.2), bias_init="zeros")
    assert symmetry.hidden_unit_spreads(net).tolist() == [0.0, 0.0]
    lins = nn.linear_layers(net)
    lins[0].bias[1] = 0.5  # incoming: a bias of hidden layer 1
    lins[2].weight[0, 2] = 0.7  # outgoing: column 2 of W^(3) belongs to a unit of hidden layer 2
    np.testing.assert_allclose(symmetry.hidden_unit_spreads(net), [0.5, 0.5], rtol=1e-15)
    # the output layer's rows are not hidden units: changing one does not count
    net2 = nn.mlp([2, 4, 3], "tanh", _RNG, init=const(0.2), bias_init="zeros")
    nn.linear_layers(net2)[1].weight[1] += 1.0
    assert symmetry.hidden_unit_spreads(net2).tolist() == [0.0]


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu"])
def test_constant_initialisation_stays_symmetric_in_training(act):
    # every unit gets the same gradient, so gradient descent keeps them identical;
    # the weights do move (the test is not passed by a network that does not learn)
    X, y = data.spirals(32, 3, np.random.default_rng(1))
    net = nn.mlp([2, 8, 8, 3], act, _RNG, init=const(0.3), bias_init="zeros")
    hist = train.train(net, X, y, lr=0.5, steps=200, batch_size=16, rng=np.random.default_rng(2))
    assert hist.diverged_at is None
    assert all(np.abs(lin.weight - 0.3).max() > 1e-3 for lin in nn.linear_layers(net))
    assert symmetry.hidden_unit_spreads(net).tolist() == [0.0, 0.0]
    # a random initialisation has distinct units
    rand = nn.mlp([2, 8, 8, 3], act, np.random.default_rng(3))
    assert np.all(symmetry.hidden_unit_spreads(rand) > 0.01)


BAD_INPUT_CASES = [
    ("gradlab.symmetry.unit_spread", lambda: symmetry.unit_spread([[1.0, 2.0]]), TypeError, "weight must be a numpy.ndarray"),
    ("gradlab.symmetry.unit_spread", lambda: symmetry.unit_spread(np.ones(3)), ValueError, "weight must have shape \\(units, fan_in\\)"),
    ("gradlab.symmetry.unit_spread", lambda: symmetry.unit_spread(np.ones((0, 3))), ValueError, "weight must not be empty"),
    ("gradlab.symmetry.unit_spread", lambda: symmetry.unit_spread(np.ones((2, 3), dtype=int)), TypeError, "floating-point"),
    ("gradlab.symmetry.unit_spread", lambda: symmetry.unit_spread(np.ones((2, 3)), np.ones(3)), ValueError, "bias must have shape \\(2,\\)"),
    ("gradlab.symmetry.hidden_unit_spreads", lambda: symmetry.hidden_unit_spreads(nn.Linear(2, 2, rng=_RNG)), ValueError, "at least two Linear layers"),
    ("gradlab.symmetry.hidden_unit_spreads", lambda: symmetry.hidden_unit_spreads("net"), TypeError, "model must be a gradlab.nn.Layer"),
]


@pytest.mark.parametrize("name, call, exc, match", BAD_INPUT_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUT_CASES)])
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
