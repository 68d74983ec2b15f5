"""Tests for gradlab.diagnostics against hand computations on tiny networks."""

import warnings

import numpy as np
import pytest

from gradlab import diagnostics as diag
from gradlab import nn


def const(values):
    arr = np.array(values, dtype=np.float64)
    return lambda shape, rng: arr.reshape(shape).copy()


def sum_loss(pred, target):
    """J = sum(pred * target): dJ/dpred = target (an independent, trivial loss)."""
    return float(np.sum(pred * target)), target.astype(pred.dtype)


def tiny(act="relu"):
    rng = np.random.default_rng(0)
    l1 = nn.Linear(2, 3, init=const([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]), rng=rng, bias_init="zeros")
    l2 = nn.Linear(3, 1, init=const([[1.0, 2.0, 3.0]]), rng=rng, bias_init="zeros")
    return nn.Sequential(l1, nn.Activation(act), l2)


X = np.array([[1.0, 2.0], [3.0, -1.0]])
T = np.array([[1.0], [-2.0]])

BAD_INPUT_CASES = [
    ("gradlab.diagnostics.LayerStats", lambda: diag.LayerStats(0, "x"), TypeError, "missing"),
    ("gradlab.diagnostics.NonFiniteReport", lambda: diag.NonFiniteReport("forward"), TypeError, "missing"),
    ("gradlab.diagnostics.layer_statistics", lambda: diag.layer_statistics("model", X, T, sum_loss), TypeError, "model must be"),
    ("gradlab.diagnostics.layer_statistics", lambda: diag.layer_statistics(tiny(), X, T, loss=3), TypeError, "loss must be"),
    ("gradlab.diagnostics.layer_statistics", lambda: diag.layer_statistics(tiny(), X.tolist(), T, sum_loss), TypeError, "x must be a numpy.ndarray"),
    ("gradlab.diagnostics.gradient_norms_by_layer", lambda: diag.gradient_norms_by_layer(None), TypeError, "model must be"),
    ("gradlab.diagnostics.weight_snapshot", lambda: diag.weight_snapshot(42), TypeError, "model must be"),
    ("gradlab.diagnostics.update_to_weight_ratio", lambda: diag.update_to_weight_ratio([np.ones(2)], []), ValueError, "same length"),
    ("gradlab.diagnostics.update_to_weight_ratio", lambda: diag.update_to_weight_ratio([np.ones(2)], [np.ones(3)]), ValueError, "same shape"),
    ("gradlab.diagnostics.update_to_weight_ratio", lambda: diag.update_to_weight_ratio(np.ones(2), [np.ones(2)]), TypeError, "before must be a list"),
    ("gradlab.diagnostics.first_nonfinite", lambda: diag.first_nonfinite(tiny(), X, y=T), ValueError, "y and loss"),
    ("gradlab.diagnostics.Recorder", lambda: diag.Recorder(tiny(), stats_every=0), ValueError, "stats_every"),
    ("gradlab.diagnostics.Recorder", lambda: diag.Recorder("model"), TypeError, "model must be"),
    ("gradlab.diagnostics.Recorder", lambda: diag.Recorder(tiny(), per_step="no"), TypeError, "per_step must be True or False"),
    ("gradlab.diagnostics.Recorder", lambda: diag.Recorder(tiny()).stat_series("colour"), ValueError, "unknown statistic"),
]


@pytest.mark.parametrize("name,call,exc,match", BAD_INPUT_CASES, ids=[c[0] for c in BAD_INPUT_CASES])
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_layer_statistics_relu_by_hand():
    model = tiny("relu")
    stats = diag.layer_statistics(model, X, T, sum_loss)
    # forward by hand: z1 rows = [1, 2, -3], [3, -1, -2]; a1 = [1, 2, 0], [3, 0, 0]
    z1 = np.array([[1.0, 2.0, -3.0], [3.0, -1.0, -2.0]])
    a1 = np.array([[1.0, 2.0, 0.0], [3.0, 0.0, 0.0]])
    out = np.array([[1 + 4 + 0.0], [3.0]])
    assert [s.name for s in stats] == ["Linear(2, 3)", "Activation('relu')", "Linear(3, 1)"]
    assert [s.index for s in stats] == [0, 1, 2]
    assert stats[0].mean == pytest.approx(z1.mean()) and stats[0].std == pytest.approx(z1.std())
    assert stats[1].mean == pytest.approx(6.0 / 6) and stats[1].std == pytest.approx(a1.std())
    assert stats[2].mean == pytest.approx(4.0)
    # unit 3 is zero for both examples, unit 2 only for one: 1 of 3 units dead
    assert stats[1].dead_fraction == pytest.approx(1 / 3)
    assert np.isnan(stats[0].dead_fraction) and np.isnan(stats[1].saturation)
    # backward by hand: dJ/dout = T; dJ/dW2 = T^T a1 = [1-6, 2-0, 0] = [-5, 2, 0]
    assert stats[2].weight_grad_norm == pytest.approx(np.sqrt(25 + 4))
    assert stats[2].output_grad_norm == pytest.approx(np.sqrt(1 + 4))
    # dJ/da1 = T W2 = [[1, 2, 3], [-2, -4, -6]]
    ga1 = np.array([[1.0, 2.0, 3.0], [-2.0, -4.0, -6.0]])
    assert stats[1].output_grad_norm == pytest.approx(np.linalg.norm(ga1))
    # dJ/dz1 = ga1 * (z1 > 0); dJ/dW1 = dz1^T X
    gz1 = ga1 * (z1 > 0)
    assert stats[0].output_grad_norm == pytest.approx(np.linalg.norm(gz1))
    gW1 = gz1.T @ X
    assert stats[0].weight_grad_norm == pytest.approx(np.linalg.norm(gW1))
    assert stats[0].weight_norm == pytest.approx(np.sqrt(1 + 1 + 2)) and np.isnan(stats[1].weight_norm)
    # gradients left set like model.backward, and gradient_norms_by_layer agrees
    np.testing.assert_allclose(model.layers[0].grad_weight, gW1)
    np.testing.assert_allclose(diag.gradient_norms_by_layer(model), [np.linalg.norm(gW1), np.sqrt(29)])


def test_saturation_thresholds():
    for act, z, expected in [
        ("sigmoid", [[-5.0, -4.0, 0.0, 4.0, 5.0, 10.0]], 3 / 6),   # sigma(+-4.6) is the 0.01/0.99 edge
        ("tanh", [[-3.0, -2.0, 0.0, 2.0, 2.7, 3.0]], 3 / 6),       # tanh(2.65) = 0.99
    ]:
        model = nn.Sequential(nn.Activation(act))
        z = np.array(z)
        stats = diag.layer_statistics(model, z, np.ones_like(z), sum_loss)
        assert stats[0].saturation == pytest.approx(expected)
        assert np.isnan(stats[0].dead_fraction)


def test_update_to_weight_ratio_by_hand():
    b = [np.array([[3.0, 4.0]]), np.array([[1.0, 0.0], [0.0, 0.0]])]
    a = [np.array([[3.0, 4.5]]), np.array([[1.0, 0.0], [0.0, 2.0]])]
    np.testing.assert_allclose(diag.update_to_weight_ratio(b, a), [0.5 / 5.0, 2.0])
    model = tiny()
    snap = diag.weight_snapshot(model)
    model.layers[0].weight += 0.1
    assert diag.update_to_weight_ratio(snap, diag.weight_snapshot(model))[1] == 0.0
    assert snap[0] is not model.layers[0].weight


def test_first_nonfinite_locations():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = tiny()
        assert diag.first_nonfinite(model, X, T, sum_loss) is None
        rep = diag.first_nonfinite(model, np.array([[np.nan, 1.0]]))
        assert rep.direction == "input" and rep.value == "nan"
        # forward overflow at the last Linear: 1e200 * 1e200
        model.layers[2].weight[...] = 1e200
        rep = diag.first_nonfinite(model, np.full((2, 2), 1e200))
        assert (rep.direction, rep.layer_index, rep.value) == ("forward", 2, "inf")
        assert "layer 2" in str(rep)
        # parameters already non-finite
        model = tiny()
        model.layers[2].bias[0] = np.nan
        rep = diag.first_nonfinite(model, X)
        assert (rep.direction, rep.layer_index, rep.layer_name) == ("parameters", 2, "Linear(3, 1)")
        # loss overflow
        model = tiny()
        rep = diag.first_nonfinite(model, X, np.array([[1e308], [1e308]]), sum_loss)
        assert rep.direction == "loss"
        # backward overflow: finite forward and loss, but dJ/da1 = T W2 overflows at layer 2
        model = tiny()
        model.layers[2].weight[...] = 1e300
        rep = diag.first_nonfinite(model, np.array([[1e-300, 0.0]]), np.array([[1e10]]), sum_loss)
        assert (rep.direction, rep.layer_index) == ("backward", 2)


def test_recorder_follows_steps_and_detects_nonfinite():
    model = tiny("tanh")
    rec = diag.Recorder(model, stats_every=2)
    w_prev = None
    for step in range(4):
        stats = diag.layer_statistics(model, X, T, sum_loss) if rec.wants_stats(step) else None
        if stats is None:
            model.forward(X)
            model.backward(T)
        rec.record(step, 0.5, stats=stats)
        w_now = model.layers[0].weight.copy()
        if w_prev is not None:
            expected = np.linalg.norm(w_now - w_prev) / np.linalg.norm(w_prev)
            assert rec.update_ratios[-1][0] == pytest.approx(expected)
        w_prev = w_now
        for p, g in zip(model.parameters(), model.gradients()):
            p -= 0.1 * g
    assert rec.steps == [0, 1, 2, 3] and sorted(rec.stats) == [0, 2]
    assert rec.grad_norm_array().shape == (4, 2) and np.isnan(rec.update_ratios[0]).all()
    assert rec.stat_series("std").shape == (2, 3)
    assert rec.first_nonfinite_step is None
    model.layers[2].weight[...] = np.inf
    model.forward(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.backward(T)
        rec.record(4, 1.0, x=X, y=T, loss=sum_loss)
    assert rec.first_nonfinite_step == 4
    assert rec.report.direction == "parameters" and rec.report.step == 4


def test_recorder_per_step_false_keeps_only_the_steps_with_statistics():
    # the same updates followed twice: every step, and only at the steps with statistics
    runs = {}
    for per_step in (True, False):
        model = tiny("tanh")
        rec = diag.Recorder(model, stats_every=3, per_step=per_step)
        for step in range(7):
            stats = diag.layer_statistics(model, X, T, sum_loss) if rec.wants_stats(step) else None
            if stats is None:
                model.forward(X)
                model.backward(T)
            rec.record(step, float(step), stats=stats)
            for p, g in zip(model.parameters(), model.gradients()):
                p -= 0.1 * g
        runs[per_step] = rec
    full, sparse = runs[True], runs[False]
    assert sparse.steps == [0, 3, 6] and sparse.losses == [0.0, 3.0, 6.0]
    keep = [0, 3, 6]
    np.testing.assert_array_equal(sparse.grad_norm_array(), full.grad_norm_array()[keep])
    np.testing.assert_array_equal(sparse.stat_series("std"), full.stat_series("std"))
    # an update ratio now covers the three updates since the previous recorded step
    assert np.isnan(sparse.update_ratios[0]).all() and np.all(np.isfinite(sparse.update_ratios[1]))
    assert np.all(sparse.update_ratios[1] > full.update_ratios[3])
    # a non-finite loss between the recorded steps is still noticed
    sparse.record(7, float("nan"))
    assert sparse.first_nonfinite_step == 7 and sparse.steps[-1] == 6
