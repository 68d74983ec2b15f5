"""Tests of gradlab.repair against closed forms, numerical integrals, real optimiser steps and reruns."""

import math

import numpy as np
import pytest

from gradlab import activations, data, diagnostics, gradcheck, nn, optim, repair, train
from gradlab.train import LRSearch

RNG = np.random.default_rng


def tiny_model(rng=None):
    return nn.mlp([3, 5, 4, 2], "tanh", RNG(0) if rng is None else rng)


def a_result():
    s = LRSearch(np.array([0.1]), [0, 1], np.array([[0.5, 0.7]]), 0.1, 0.6, 0.14, [])
    return repair.RungResult(repair.ladder()[0], s, np.array([0.5, 0.7]), np.ones(2), np.ones(2), None)


BAD_INPUT_CASES = [
    ("gradlab.repair.backward_factor", lambda: repair.backward_factor("swish", 1.0), ValueError, "unknown activation"),
    ("gradlab.repair.backward_factor", lambda: repair.backward_factor("relu", -1.0), ValueError, "scale must be"),
    ("gradlab.repair.backward_factor", lambda: repair.backward_factor("relu", 1.0, std=-0.1), ValueError, "std must be"),
    ("gradlab.repair.backward_factor", lambda: repair.backward_factor("relu", "2"), TypeError, "scale must be"),
    ("gradlab.repair.predicted_update_ratios", lambda: repair.predicted_update_ratios("model", None), TypeError, "model must be"),
    ("gradlab.repair.predicted_update_ratios", lambda: repair.predicted_update_ratios(tiny_model(), "sgd"), TypeError, "optimizer must be"),
    ("gradlab.repair.Rung", lambda: repair.Rung("x", "y", "relu", "he", "zeros"), ValueError, "init must be"),
    ("gradlab.repair.Rung", lambda: repair.Rung("x", "y", "relu", "kaiming_normal", "zeros", clip_norm=0.0), ValueError, "clip_norm must be"),
    ("gradlab.repair.Rung", lambda: repair.Rung("x", "y", "relu", "kaiming_normal", "zeros", batchnorm="yes"), TypeError, "batchnorm must be"),
    ("gradlab.repair.ladder", lambda: repair.ladder(clip_norm=-1.0), ValueError, "clip_norm must be"),
    ("gradlab.repair.build", lambda: repair.build("he", [2, 4, 2], RNG(0)), TypeError, "rung must be"),
    ("gradlab.repair.build", lambda: repair.build(repair.ladder()[0], [2, 4], RNG(0)), ValueError, "at least three"),
    ("gradlab.repair.build", lambda: repair.build(repair.ladder()[4], [2, 4, 5, 2], RNG(0)), ValueError, "equal hidden widths"),
    ("gradlab.repair.build", lambda: repair.build(repair.ladder()[0], [2, 4, 2], 0), TypeError, "rng must be"),
    ("gradlab.repair.RungResult", lambda: repair.RungResult(repair.ladder()[0]), TypeError, "missing"),
    ("gradlab.repair.run_ladder", lambda: repair.run_ladder([], [2, 4, 2], *data.circles(8, RNG(0)), *data.circles(8, RNG(1)), lrs=[0.1], seeds=[0], steps=1), ValueError, "rungs must not be empty"),
    ("gradlab.repair.run_ladder", lambda: repair.run_ladder(repair.ladder()[:1], [2, 4, 2], *data.circles(8, RNG(0)), *data.circles(8, RNG(1)), lrs=[0.1], seeds=[], steps=1), ValueError, "seeds must be"),
    ("gradlab.repair.run_ladder", lambda: repair.run_ladder(repair.ladder()[:1], [2, 4, 2], *data.circles(8, RNG(0)), *data.circles(8, RNG(1)), lrs=[0.1], seeds=[0], steps=1, target_ratio=0.0), ValueError, "target_ratio must be"),
    ("gradlab.repair.run_ladder", lambda: repair.run_ladder(repair.ladder()[:1], [2, 4, 2], *data.circles(8, RNG(0)), *data.circles(8, RNG(1)), lrs=[0.1], seeds=[0], steps=1, probe=np.ones((2, 2))), TypeError, "probe must be a pair"),
    ("gradlab.repair.setup_table", lambda: repair.setup_table(["baseline"]), TypeError, "rung must be"),
    ("gradlab.repair.grid_table", lambda: repair.grid_table([]), TypeError, "results must be"),
    ("gradlab.repair.outcome_table", lambda: repair.outcome_table("results"), TypeError, "results must be"),
]


@pytest.mark.parametrize("name,call,exc,match", BAD_INPUT_CASES, ids=[c[0] for c in BAD_INPUT_CASES])
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------- backward_factor
def normal_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (0.7, 0.3), (-1.5, 2.0), (0.2, 1e-3)])
def test_relu_and_leaky_relu_closed_forms(mean, std):
    # relu: phi'^2 = 1{z > 0}, so E = P(z > 0) = Phi(mean / std)
    p = normal_cdf(mean / std)
    assert repair.backward_factor("relu", 2.0, mean, std) == pytest.approx(math.sqrt(2.0 * p), rel=1e-10)
    # leaky relu with slope a: E = P(z > 0) + a^2 P(z <= 0)
    a = 0.2
    want = math.sqrt(0.5 * (p + a * a * (1.0 - p)))
    assert repair.backward_factor("leaky_relu", 0.5, mean, std, slope=a) == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "gelu", "elu"])
@pytest.mark.parametrize("mean,std", [(0.0, 0.3), (1.0, 2.0), (-0.5, 5.0)])
def test_smooth_activations_against_a_fine_trapezoid_integral(name, mean, std):
    act = activations.get(name)
    z = np.linspace(mean - 15 * std, mean + 15 * std, 2_000_001)
    pdf = np.exp(-0.5 * ((z - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))
    f = act.derivative(z) ** 2 * pdf
    expectation = float(np.sum((f[1:] + f[:-1]) * np.diff(z)) / 2)
    assert repair.backward_factor(name, 1 / 3, mean, std) == pytest.approx(math.sqrt(expectation / 3), rel=1e-8)


def test_zero_std_is_the_derivative_at_the_mean():
    s = activations.get("sigmoid")
    assert repair.backward_factor("sigmoid", 3.0, 0.4, 0.0) == pytest.approx(
        math.sqrt(3.0) * float(s.derivative(np.array(0.4))), rel=1e-14)


def test_factor_matches_one_random_layer_within_sampling_error():
    # ||delta_l||^2 / ||delta_{l+1}||^2 for W with iid N(0, v) entries independent of delta and z:
    # a mean of n independent terms phi'(z_i)^2 (W^T delta)_i^2 / ||delta||^2; 5 standard errors
    rng = RNG(7)
    n, m, v, mean, std = 40_000, 50, 2.0 / 40_000, 0.3, 0.8
    z = rng.normal(mean, std, n)
    delta = rng.standard_normal(m)
    W = rng.normal(0.0, math.sqrt(v), (m, n))
    terms = activations.get("tanh").derivative(z) ** 2 * (W.T @ delta) ** 2 / (delta @ delta)
    measured = terms.sum()
    bound = 5 * terms.std() * math.sqrt(n)
    predicted = repair.backward_factor("tanh", n * v, mean, std) ** 2
    assert abs(measured - predicted) < bound


# ---------------------------------------------------------------- predicted_update_ratios
def one_backward(model, rng):
    x = rng.standard_normal((7, 3))
    y = rng.integers(0, 2, 7)
    diagnostics.layer_statistics(model, x, y)


@pytest.mark.parametrize("make", [
    lambda m: optim.SGD(m, lr=0.3),
    lambda m: optim.SGD(m, lr=0.3, momentum=0.9),
    lambda m: optim.SGD(m, lr=0.3, momentum=0.9, nesterov=True),
    lambda m: optim.SGD(m, lr=0.3, weight_decay=0.1),
    lambda m: optim.Adam(m, lr=0.01),
    lambda m: optim.Adam(m, lr=0.01, eps=1e-2, weight_decay=0.05),
], ids=["sgd", "momentum", "nesterov", "weight-decay", "adam", "adam-eps-decay"])
def test_prediction_equals_the_step_the_optimiser_takes(make):
    model = tiny_model()
    optimizer = make(model)
    one_backward(model, RNG(1))
    before = diagnostics.weight_snapshot(model)
    predicted = repair.predicted_update_ratios(model, optimizer)
    optimizer.step()
    measured = diagnostics.update_to_weight_ratio(before, diagnostics.weight_snapshot(model))
    np.testing.assert_allclose(predicted, measured, rtol=1e-9)


def test_adam_first_step_is_lr_per_entry_when_gradients_exceed_eps():
    model = tiny_model()
    one_backward(model, RNG(2))
    lins = nn.linear_layers(model)
    ratios = repair.predicted_update_ratios(model, optim.Adam(model, lr=1e-3, eps=1e-30))
    rms = np.array([np.sqrt(np.mean(lin.weight ** 2)) for lin in lins])
    np.testing.assert_allclose(ratios, 1e-3 / rms, rtol=1e-12)


def test_prediction_refuses_an_optimiser_that_has_stepped():
    model = tiny_model()
    one_backward(model, RNG(3))
    opt = optim.SGD(model, lr=0.1)
    opt.step()
    with pytest.raises(ValueError, match="must not have stepped"):
        repair.predicted_update_ratios(model, opt)


# ---------------------------------------------------------------- the ladder and build
def test_ladder_changes_one_thing_per_rung():
    rungs = repair.ladder(clip_norm=2.5)
    fields = ("activation", "init", "bias_init", "batchnorm", "residual", "clip_norm")
    changed = [{f for f in fields if getattr(a, f) != getattr(b, f)} for a, b in zip(rungs, rungs[1:])]
    assert changed == [{"activation"}, {"init", "bias_init"}, {"batchnorm"}, {"residual"}, {"clip_norm"}]
    assert rungs[0].activation == "sigmoid" and rungs[0].init == "torch_linear_default"
    assert rungs[-1].clip_norm == 2.5


def test_plain_rungs_are_exactly_mlp():
    sizes = [2, 6, 6, 6, 3]
    x = RNG(4).standard_normal((5, 2))
    for rung, (act, init, bias) in zip(repair.ladder()[:3], [("sigmoid", "torch_linear_default", "torch_default"),
                                                           ("relu", "torch_linear_default", "torch_default"),
                                                           ("relu", "kaiming_normal", "zeros")]):
        ours = repair.build(rung, sizes, RNG(9))
        ref = nn.mlp(sizes, act, RNG(9), init=init, bias_init=bias)
        for a, b in zip(ours.parameters(), ref.parameters()):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ours(x), ref(x))


def test_batchnorm_rungs_have_no_bias_before_a_normalisation():
    for rung in repair.ladder()[3:]:
        net = repair.build(rung, [2, 8, 8, 8, 3], RNG(0))
        lins = nn.linear_layers(net)
        assert len(lins) == 4
        assert all(lin.bias is None for lin in lins[:-1])
        np.testing.assert_array_equal(lins[-1].bias, np.zeros(3))
        assert sum(isinstance(layer, nn.BatchNorm) for layer in nn.walk(net)) == 3
        assert sum(isinstance(layer, nn.Residual) for layer in nn.walk(net)) == (2 if rung.residual else 0)


def test_residual_blocks_add_their_input():
    net = repair.build(repair.ladder()[4], [2, 5, 5, 5, 2], RNG(1))
    block = net.layers[1]
    x = RNG(2).standard_normal((6, 5))
    np.testing.assert_allclose(block(x), x + block.block(x), rtol=0, atol=1e-15)


def test_he_weights_have_variance_two_over_fan_in():
    net = repair.build(repair.ladder()[2], [2] + [64] * 6 + [3], RNG(3))
    w = np.concatenate([lin.weight.ravel() for lin in nn.linear_layers(net)[1:-1]])
    # sample variance of N iid N(0, s^2) draws has standard error s^2 sqrt(2 / N); allow 5 of them
    s2 = 2.0 / 64
    assert abs(w.var() - s2) < 5 * s2 * math.sqrt(2.0 / w.size)


def test_build_in_float32():
    net = repair.build(repair.ladder()[4], [2, 4, 4, 4, 2], RNG(0), dtype=np.float32)
    assert net(np.ones((3, 2), dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("k", range(6))
def test_every_rung_passes_a_gradient_check(k):
    rng = RNG(5)
    x, y = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    net = repair.build(repair.ladder()[k], [3, 10, 10, 3], RNG(1))
    errors = gradcheck.gradcheck(net, x, loss_fn="cross_entropy", target=y)
    assert max(errors.values()) < 1e-6, errors


# ---------------------------------------------------------------- run_ladder and the tables
def small_experiment():
    X, y = data.circles(96, RNG(0), noise=0.1)
    Xt, yt = data.circles(64, RNG(1), noise=0.1)
    rungs = [repair.ladder()[2], repair.ladder(clip_norm=0.5)[5]]
    sizes = [2, 8, 8, 8, 2]
    kw = dict(lrs=[0.01, 0.3], seeds=[0, 1], steps=15, batch_size=16)
    results = repair.run_ladder(rungs, sizes, X, y, Xt, yt, probe=(X[::3], y[::3]), **kw)
    return rungs, sizes, X, y, Xt, yt, kw, results


def test_run_ladder_agrees_with_independent_reruns():
    rungs, sizes, X, y, Xt, yt, kw, results = small_experiment()
    for rung, res in zip(rungs, results):
        ref = train.best_learning_rate(lambda rng, rung=rung: repair.build(rung, sizes, rng), X, y,
                                       clip_norm=rung.clip_norm, **kw)
        np.testing.assert_array_equal(res.search.scores, ref.scores)
        assert res.search.best_lr == ref.best_lr
        # the held-out accuracy is that of the networks trained at the best rate, seed by seed
        for seed, acc in zip(kw["seeds"], res.test_accuracy):
            rng = RNG(seed)
            model = repair.build(rung, sizes, rng)
            h = train.train(model, X, y, lr=ref.best_lr, steps=15, batch_size=16, rng=rng, clip_norm=rung.clip_norm)
            assert acc == train.evaluate(model, Xt, yt)["accuracy"]
            if rung.clip_norm is not None:
                k = kw["seeds"].index(seed)
                assert res.clipped_fraction[k] == np.mean(h.clip_norms > rung.clip_norm)
        # the probes at initialisation
        for k, seed in enumerate(kw["seeds"]):
            model = repair.build(rung, sizes, RNG(seed))
            diagnostics.layer_statistics(model, X[::3], y[::3])
            g = diagnostics.gradient_norms_by_layer(model)
            assert res.grad_ratio[k] == pytest.approx(g[0] / g[-1], rel=1e-12)
            ratios = repair.predicted_update_ratios(model, optim.SGD(model, lr=res.rule_lr[k]))
            assert np.median(ratios) == pytest.approx(1e-3, rel=1e-12)
    assert results[0].clipped_fraction is None
    assert np.all((0 <= results[1].clipped_fraction) & (results[1].clipped_fraction <= 1))


def test_tables():
    rungs = repair.ladder()
    setup = repair.setup_table(rungs).splitlines()
    assert len(setup) == 2 + len(rungs)
    assert setup[4] == "| 3 | relu | He | 0 | no | no | no |"
    assert setup[-1] == "| 6 | relu | He | output layer only, 0 | yes | yes | by norm, c = 1 |"
    # grid: a rate with a diverged seed says so; the others show mean ± std (ddof=1)
    s = LRSearch(np.array([0.1, 1.0]), [0, 1, 2], np.array([[0.5, 0.6, 0.7], [0.2, np.inf, 0.3]]),
                 0.1, 0.6, 0.1, [])
    r = repair.RungResult(rungs[2], s, np.array([0.8, 0.9, 1.0]), np.array([1e-2, 1e-4, 1.0]),
                          np.array([0.1, 0.01, 1.0]), None)
    grid = repair.grid_table([r]).splitlines()
    assert grid[2] == "| 1 | 0.600 ± 0.100 | diverged (1 of 3) |"
    out = repair.outcome_table([r]).splitlines()[2]
    # geometric means over seeds: 1e-2 * 1e-4 * 1 -> 1e-2; 0.1 * 0.01 * 1 -> 0.1
    assert out == "| 1 | He initialisation | 0.1 | 0.600 ± 0.100 | 90.0 ± 10.0 % | 1.0e-02 | 0.1 |"
    untrained = LRSearch(np.array([1.0]), [0], np.array([[np.inf]]), None, np.inf, np.nan, [])
    r0 = repair.RungResult(rungs[0], untrained, np.array([]), np.ones(1), np.ones(1), None)
    assert "none trained" in repair.outcome_table([r0])
