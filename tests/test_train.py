"""Tests for gradlab.train."""

import warnings

import numpy as np
import pytest

from gradlab import data, diagnostics, nn, optim, train

RNG = np.random.default_rng


def mlp(rng, width=16, depth=2, act="tanh", n_in=2, n_out=2, dtype=np.float64):
    # PyTorch's default weights with zero biases
    return nn.mlp([n_in] + [width] * depth + [n_out], act, rng, bias_init="zeros", dtype=dtype)


X, Y = data.circles(200, RNG(0), noise=0.05)

BAD_INPUT_CASES = [
    ("gradlab.train.train", lambda: train.train(mlp(RNG(0)), X, Y, lr=0.1, steps=5, rng=None), TypeError, "rng must be a numpy.random.Generator"),
    ("gradlab.train.train", lambda: train.train(mlp(RNG(0)), X, Y, steps=5, rng=RNG(0)), ValueError, "lr is required"),
    ("gradlab.train.train", lambda: train.train(mlp(RNG(0)), X, Y[:10], lr=0.1, rng=RNG(0)), ValueError, "y must have 200 rows"),
    ("gradlab.train.train", lambda: train.train(mlp(RNG(0)), X, np.array(0), lr=0.1, rng=RNG(0)), ValueError, "y must have 200 rows"),
    ("gradlab.train.train", lambda: train.train(mlp(RNG(0)), np.full((4, 2), np.nan), Y[:4], lr=0.1, rng=RNG(0)), ValueError, "X must be finite, got NaN"),
    ("gradlab.train.train", lambda: train.train(mlp(RNG(0)), X, Y, lr=0.1, steps=0, rng=RNG(0)), ValueError, "steps must be a positive int"),
    ("gradlab.train.train", lambda: train.train(mlp(RNG(0)), X, Y, lr=0.1, clip_norm=-1.0, rng=RNG(0)), ValueError, "clip_norm must be a finite number >= 0"),
    ("gradlab.train.train", lambda: train.train(mlp(RNG(0)), X, Y, lr=0.1, batch_size=0, rng=RNG(0)), ValueError, "batch_size"),
    ("gradlab.train.train", lambda: (lambda m: train.train(m, X, Y, optimizer=optim.SGD(m, lr=0.1), lr=0.1, rng=RNG(0)))(mlp(RNG(0))), ValueError, "either optimizer or lr"),
    ("gradlab.train.History", lambda: train.History(loss=np.ones(3)).final_loss(window=0), ValueError, "window"),
    ("gradlab.train.evaluate", lambda: train.evaluate(mlp(RNG(0)), X, Y[:3]), ValueError, "y must have"),
    ("gradlab.train.evaluate", lambda: train.evaluate(mlp(RNG(0)), X, Y, loss=5), TypeError, "loss must be"),
    ("gradlab.train.LRSearch", lambda: train.LRSearch(np.ones(1)), TypeError, "missing"),
    ("gradlab.train.best_learning_rate", lambda: train.best_learning_rate(mlp, X, Y, lrs=[], seeds=[0], steps=5), ValueError, "lrs must be"),
    ("gradlab.train.best_learning_rate", lambda: train.best_learning_rate(mlp, X, Y, lrs=["0.1"], seeds=[0], steps=5), TypeError, "lrs must be a real number or array"),
    ("gradlab.train.best_learning_rate", lambda: train.best_learning_rate(mlp, X, Y, lrs=[0.1], seeds=[], steps=5), ValueError, "seeds must be"),
    ("gradlab.train.best_learning_rate", lambda: train.best_learning_rate("mlp", X, Y, lrs=[0.1], seeds=[0], steps=5), TypeError, "make_model"),
    ("gradlab.train.best_learning_rate", lambda: train.best_learning_rate(mlp, X, Y, lrs=[0.1], seeds=[0], steps=5, make_recorder=1), TypeError, "make_recorder must be a callable"),
    ("gradlab.train.best_learning_rate", lambda: train.best_learning_rate(mlp, X, Y, lrs=[0.1], seeds=[0], steps=5, make_recorder=diagnostics.Recorder, recorder=diagnostics.Recorder(mlp(RNG(0)))), ValueError, "either make_recorder or recorder"),
]


@pytest.mark.parametrize("name,call,exc,match", BAD_INPUT_CASES, ids=[c[0] for c in BAD_INPUT_CASES])
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def run(seed, **kw):
    rng = RNG(seed)
    model = mlp(rng)
    kw.setdefault("lr", 0.3)
    h = train.train(model, X, Y, steps=60, batch_size=32, rng=rng, **kw)
    return model, h


def test_determinism_bit_identical():
    m1, h1 = run(5, clip_norm=1.0)
    m2, h2 = run(5, clip_norm=1.0)
    np.testing.assert_array_equal(h1.loss, h2.loss)
    np.testing.assert_array_equal(h1.grad_norms, h2.grad_norms)
    np.testing.assert_array_equal(h1.clip_norms, h2.clip_norms)
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p, q)
    _, h3 = run(6, clip_norm=1.0)
    assert not np.array_equal(h1.loss, h3.loss)


def test_loss_decreases_on_easy_problem():
    rng = RNG(1)
    model = mlp(rng)
    h = train.train(model, X, Y, lr=0.5, steps=300, batch_size=50, rng=rng)
    assert h.diverged_at is None and h.steps_run == 300
    assert h.loss[:10].mean() > 0.6  # about ln 2 at the start
    assert h.final_loss(20) < 0.5 * h.loss[:10].mean()
    ev = train.evaluate(model, X, Y)
    assert ev["accuracy"] > 0.9 and model.training


def test_grad_norms_and_update_of_the_first_step():
    # full batch (rng not consumed): recompute the step's gradient independently
    import copy

    from gradlab import losses

    model = mlp(RNG(2), depth=1)
    clone = copy.deepcopy(model)
    h = train.train(model, X, Y, lr=0.1, steps=1, batch_size=None, rng=RNG(0))
    loss0, g = losses.softmax_cross_entropy(clone.forward(X), Y)
    clone.backward(g)
    assert h.loss[0] == loss0
    expected = [np.linalg.norm(layer.grad_weight) for layer in nn.linear_layers(clone)]
    np.testing.assert_allclose(h.grad_norms[0], expected, rtol=1e-12)
    # plain SGD: p1 = p0 - lr * g0
    for p1, p0, g0 in zip(model.parameters(), clone.parameters(), clone.gradients()):
        np.testing.assert_allclose(p1, p0 - 0.1 * g0, rtol=1e-15, atol=1e-15)


def test_clipping_bounds_the_update():
    rng = RNG(3)
    model = mlp(rng)
    before = diagnostics.weight_snapshot(model)
    h = train.train(model, X, Y, lr=1.0, steps=1, batch_size=None, rng=rng, clip_norm=1e-3)
    after = diagnostics.weight_snapshot(model)
    moved = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(after, before)))
    assert h.clip_norms[0] > 1e-3
    assert moved <= 1e-3 * (1 + 1e-9)  # weights are only part of the clipped vector


def test_clip_value_then_norm_in_the_update():
    # full batch, plain SGD: p1 = p0 - lr * g with g clamped to [-c, c] per entry, then scaled
    # by max_norm / (||g|| + 1e-6) over all parameters (PyTorch's two utilities, in that order)
    import copy

    from gradlab import losses

    model = mlp(RNG(7), depth=1)
    clone = copy.deepcopy(model)
    c, max_norm, lr = 0.01, 0.02, 0.5
    h = train.train(model, X, Y, lr=lr, steps=1, batch_size=None, rng=RNG(0),
                    clip_value=c, clip_norm=max_norm)
    clone.backward(losses.softmax_cross_entropy(clone.forward(X), Y)[1])
    g = [np.minimum(np.maximum(g0, -c), c) for g0 in clone.gradients()]
    total = np.sqrt(sum(np.sum(a * a) for a in g))
    assert h.clip_norms[0] == pytest.approx(total, rel=1e-12)
    assert total > max_norm  # so both clips act
    for p1, p0, gi in zip(model.parameters(), clone.parameters(), g):
        np.testing.assert_allclose(p1, p0 - lr * gi * (max_norm / (total + 1e-6)), rtol=1e-12, atol=1e-15)


def test_divergence_stops_cleanly_without_warnings():
    rng = RNG(4)
    model = mlp(rng, width=32, depth=4, act="relu")
    Xb = X * 100.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="warn"):
            h = train.train(model, Xb, Y, lr=1e6, steps=50, batch_size=32, rng=rng)
    assert h.diverged_at is not None and h.diverged_at < 50
    assert h.steps_run == h.diverged_at
    assert np.all(np.isfinite(h.loss[:h.diverged_at]))
    assert not np.isfinite(h.loss[h.diverged_at]) or not np.all(np.isfinite(h.grad_norms[h.diverged_at]))
    assert np.all(np.isnan(h.loss[h.diverged_at + 1:]))
    assert h.nonfinite is not None and h.nonfinite.step == h.diverged_at
    assert h.final_loss() == np.inf


def test_recorder_integration():
    rng = RNG(5)
    model = mlp(rng)
    rec = diagnostics.Recorder(model, stats_every=10)
    h = train.train(model, X, Y, optimizer=optim.Adam(model, lr=0.01), steps=30, batch_size=20,
                    rng=rng, recorder=rec)
    assert rec.steps == list(range(30)) and sorted(rec.stats) == [0, 10, 20]
    np.testing.assert_array_equal(rec.grad_norm_array(), h.grad_norms)
    np.testing.assert_array_equal(np.array(rec.losses), h.loss)
    assert np.all(np.isfinite(np.array(rec.update_ratios[1:])))


def test_best_learning_rate_is_fair_and_picks_the_best():
    def make(rng):
        return mlp(rng, width=8, depth=1)

    lrs = [1e-3, 0.3, 1e7]
    r = train.best_learning_rate(make, X, Y, lrs=lrs, seeds=[0, 1], steps=40, batch_size=40)
    assert r.scores.shape == (3, 2)
    assert np.all(r.scores[2] > r.scores[0])  # 1e7 is far too large
    assert r.best_lr == 0.3 and np.all(r.scores[1] < r.scores[0])
    assert r.mean == pytest.approx(r.scores[1].mean())
    assert r.std == pytest.approx(np.std(r.scores[1], ddof=1))
    # same seed, same lr: same result as a direct run (same init and minibatches)
    rng = RNG(1)
    h = train.train(make(rng), X, Y, lr=0.3, steps=40, batch_size=40, rng=rng)
    np.testing.assert_array_equal(h.loss, r.histories[1].loss)


def test_best_learning_rate_keeps_a_recorder_per_run_without_changing_the_training():
    def make(rng):
        return mlp(rng, width=8, depth=2, act="sigmoid")

    kw = dict(lrs=[0.1, 1.0], seeds=[0, 1, 2], steps=30, batch_size=20)
    plain = train.best_learning_rate(make, X, Y, **kw)
    recorded = train.best_learning_rate(make, X, Y, **kw,
                                        make_recorder=lambda m: diagnostics.Recorder(m, stats_every=10))
    assert plain.recorders is None
    np.testing.assert_array_equal(plain.scores, recorded.scores)
    assert len(recorded.recorders) == 2 and all(len(row) == 3 for row in recorded.recorders)
    models = set()
    for i, lr in enumerate(kw["lrs"]):
        for j, seed in enumerate(kw["seeds"]):
            rec = recorded.recorders[i][j]
            models.add(id(rec.model))
            assert sorted(rec.stats) == [0, 10, 20] and rec.steps == list(range(30))
            # the recorder followed exactly this run: same losses as a direct run with that seed and rate
            rng = RNG(seed)
            h = train.train(make(rng), X, Y, lr=lr, steps=30, batch_size=20, rng=rng)
            np.testing.assert_array_equal(np.array(rec.losses), h.loss)
    assert len(models) == 6  # one model per run


def test_float32_training_stays_float32():
    rng = RNG(6)
    model = mlp(rng, dtype=np.float32)
    h = train.train(model, X.astype(np.float32), Y, lr=0.3, steps=20, batch_size=32, rng=rng)
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert h.diverged_at is None
