"""Tests for gradlab.residual: the stacks, their gradients, and the mean-field moments.

The moments are checked against closed forms, and against Monte-Carlo averages
over random networks with bounds set by the sample size: exact second moments
where they are known (a linear branch), the sample's own standard deviation
otherwise.
"""

import math

import numpy as np
import pytest

from gradlab import nn
from gradlab.gradcheck import gradcheck
from gradlab.residual import MeanField, mean_field, preact_gain, residual_mlp, stream_mean_squares

RNG = np.random.default_rng(0)


# --------------------------------------------------------------------------
# residual_mlp
# --------------------------------------------------------------------------
def test_structure_and_parameter_count():
    n_in, width, depth, n_out = 3, 5, 4, 2
    model = residual_mlp(n_in, width, depth, n_out, np.random.default_rng(0))
    stem, stack, head = model.layers
    assert [type(layer).__name__ for layer in stem.layers] == ["Linear"]
    assert len(stack) == depth and all(isinstance(b, nn.Residual) for b in stack.layers)
    assert [type(layer).__name__ for layer in stack[0].block.layers] == ["Activation", "Linear", "Activation", "Linear"]
    assert (head.fan_in, head.fan_out) == (width, n_out)
    count = sum(p.size for p in model.parameters())
    assert count == (n_in + 1) * width + depth * 2 * (width * width + width) + (width + 1) * n_out


def test_plain_and_residual_share_their_parameters_and_differ_by_the_identity():
    kw = dict(init="kaiming_normal", bias_init="zeros")
    res = residual_mlp(2, 6, 3, 2, np.random.default_rng(1), scale=0.5, **kw)
    plain = residual_mlp(2, 6, 3, 2, np.random.default_rng(1), skip=False, **kw)
    for a, b in zip(res.parameters(), plain.parameters()):
        assert np.array_equal(a, b)
    # one block of each on the same input: residual = h + 0.5 * plain
    h = np.random.default_rng(2).standard_normal((4, 6))
    np.testing.assert_allclose(res.layers[1][0](h), h + 0.5 * plain.layers[1][0](h), rtol=1e-14)


def test_depth_zero_is_stem_then_head():
    model = residual_mlp(2, 3, 0, 2, np.random.default_rng(0), norm="layer")
    x = np.random.default_rng(1).standard_normal((4, 2))
    stem, stack, head = model.layers
    assert len(stack) == 0
    np.testing.assert_array_equal(model(x), head(stem(x)))
    assert [type(layer).__name__ for layer in stem.layers] == ["Linear", "LayerNorm"]


@pytest.mark.parametrize("skip", [True, False])
@pytest.mark.parametrize("norm", [None, "layer", "batch"])
def test_gradients_check(skip, norm):
    # He weights keep every gradient well away from zero, so relative errors are meaningful;
    # a bias just before batch normalisation has zero gradient, which a relative check cannot test
    model = residual_mlp(3, 6, 2, 2, np.random.default_rng(3), skip=skip, scale=0.7 if skip else 1.0,
                         norm=norm, init="kaiming_normal", bias=norm != "batch")
    x = np.random.default_rng(4).standard_normal((6, 3))
    errors = gradcheck(model, x)
    if norm == "batch" and not skip:
        # the stem's BatchNorm feeds the first branch's BatchNorm directly, which undoes its
        # shift exactly and its scale up to the stabiliser eps = 1e-5
        out = model(x)
        model.backward(np.random.default_rng(5).standard_normal(out.shape))
        stem_norm = model.layers[0][1]
        typical = np.abs(model.layers[-1].grad_weight).max()
        assert typical > 1e-2  # the backward pass did run
        assert np.abs(stem_norm.grad_beta).max() < 1e-12
        assert np.abs(stem_norm.grad_gamma).max() < 1e-3 * typical
        errors = {k: v for k, v in errors.items() if not k.startswith("0.1.")}
    assert max(errors.values()) < 1e-6, errors


def test_float32_model_stays_float32():
    model = residual_mlp(2, 4, 2, 2, np.random.default_rng(0), norm="layer", dtype=np.float32)
    out = model(np.ones((3, 2), dtype=np.float32))
    assert out.dtype == np.float32
    assert model.backward(np.ones_like(out)).dtype == np.float32


# --------------------------------------------------------------------------
# preact_gain: closed forms and the expectation it states
# --------------------------------------------------------------------------
def test_preact_gain_closed_forms():
    assert preact_gain(2.0) == 1.0  # He: each (ReLU, Linear) pair keeps the mean square
    assert preact_gain(1.0) == 0.25
    assert preact_gain(1 / 3) == pytest.approx(1 / 36, rel=1e-15)
    assert preact_gain(1 / 3, normalised=True) == pytest.approx(1 / 6, rel=1e-15)


@pytest.mark.parametrize("init, v", [("kaiming_normal", 2.0), ("torch_linear_default", 1 / 3)])
@pytest.mark.parametrize("norm", [None, "layer"])
def test_preact_gain_is_the_mean_square_gain_of_the_branch(init, v, norm):
    # E||F(h)||^2 = kappa E||h||^2 (unnormalised) or nu * n (normalised) for h ~ N(0, I_n),
    # exact in expectation (zero biases; any symmetric weight distribution of variance v/n).
    # Monte Carlo over fresh weights and inputs; bound: 6 standard errors of the sample mean.
    n, draws = 8, 1500
    rng = np.random.default_rng(5)
    values = np.empty(draws)
    for i in range(draws):
        branch = residual_mlp(n, n, 1, 1, rng, init=init, bias_init="zeros", norm=norm).layers[1][0].block
        h = rng.standard_normal((1, n))
        values[i] = np.sum(branch(h) ** 2)
    expected = preact_gain(v, normalised=norm is not None) * n  # E||h||^2 = n
    bound = 6 * values.std(ddof=1) / math.sqrt(draws)
    assert abs(values.mean() - expected) < bound, (values.mean(), expected, bound)


# --------------------------------------------------------------------------
# mean_field: closed forms
# --------------------------------------------------------------------------
def test_unnormalised_residual_grows_by_one_plus_alpha_squared_kappa():
    for kappa, alpha, L in [(1.0, 1.0, 10), (1.0, 0.5, 7), (2.0, 0.3, 5), (1 / 36, 1.0, 64)]:
        mf = mean_field(L, kappa, scale=alpha, q0=3.0)
        factor = 1.0 + alpha**2 * kappa
        np.testing.assert_allclose(mf.mean_square, 3.0 * factor ** np.arange(L + 1), rtol=1e-13)
        np.testing.assert_allclose(mf.ratio, alpha**2 * kappa, rtol=1e-13)
        np.testing.assert_allclose(mf.gradient_gain, factor ** np.arange(L + 1), rtol=1e-13)


def test_plain_unnormalised_multiplies_by_kappa():
    mf = mean_field(6, 1 / 36, skip=False)
    np.testing.assert_allclose(mf.mean_square, (1 / 36) ** np.arange(7), rtol=1e-13)
    np.testing.assert_allclose(mf.block_gain, 1 / 36, rtol=1e-13)


def test_alpha_squared_one_over_depth_stays_below_e():
    # (1 + 1/L)^L increases towards e
    last = 0.0
    for L in [1, 2, 5, 10, 100, 1000, 10000]:
        q = mean_field(L, 1.0, scale=1 / math.sqrt(L)).mean_square[-1]
        assert q == pytest.approx((1 + 1 / L) ** L, rel=1e-12)
        assert last < q < math.e
        last = q
    assert math.e - last < 1.5e-4  # e - (1 + 1/L)^L ~ e / (2L)


def test_normalised_residual_grows_linearly_and_its_gradient_gain_telescopes():
    L, nu, alpha, q0 = 50, 0.8, 0.6, 2.0
    mf = mean_field(L, nu, scale=alpha, normalised=True, q0=q0)
    np.testing.assert_allclose(mf.mean_square, q0 + alpha**2 * nu * np.arange(L + 1), rtol=1e-13)
    np.testing.assert_allclose(mf.ratio, alpha**2 * nu / mf.mean_square[:-1], rtol=1e-13)
    # prod (1 + a^2 nu / q_{l-1}) = prod q_l / q_{l-1} = q_l / q_0
    np.testing.assert_allclose(mf.gradient_gain, mf.mean_square / q0, rtol=1e-12)


def test_plain_normalised_resets_the_scale():
    mf = mean_field(5, 1.5, skip=False, normalised=True, q0=0.5)
    np.testing.assert_allclose(mf.mean_square, [0.5, 1.5, 1.5, 1.5, 1.5, 1.5])
    np.testing.assert_allclose(mf.gradient_gain, [1.0, 3.0, 3.0, 3.0, 3.0, 3.0])


def test_depth_zero():
    mf = mean_field(0, 1.0, q0=2.0)
    assert isinstance(mf, MeanField)
    assert mf.mean_square.tolist() == [2.0] and mf.ratio.size == 0 and mf.gradient_gain.tolist() == [1.0]


# --------------------------------------------------------------------------
# the (1 + alpha^2)^L law for a linear branch, against Monte Carlo
# --------------------------------------------------------------------------
def test_linear_branch_mean_square_matches_the_prediction_within_the_sampling_error():
    # Branch F(h) = W h, W_ij ~ N(0, 1/n): kappa = 1. One block multiplies ||h||^2 by
    # R = ||hhat + (alpha/sqrt n) z||^2, z ~ N(0, I_n), independently of h (rotation invariance),
    # with E R = 1 + alpha^2 and E R^2 = (1 + alpha^2)^2 + (4 alpha^2 + 2 alpha^4)/n.
    # The L blocks' factors are independent, so the exact variance of the product is known.
    n, L, alpha, draws = 16, 8, 0.5, 2000
    mean = mean_field(L, 1.0, scale=alpha).mean_square[-1]
    second = ((1 + alpha**2) ** 2 + (4 * alpha**2 + 2 * alpha**4) / n) ** L
    sd = math.sqrt(second - mean**2)
    rng = np.random.default_rng(6)
    h0 = rng.standard_normal((1, n))
    ratios = np.empty(draws)
    for i in range(draws):
        stack = nn.Sequential(*[nn.Residual(nn.Linear(n, n, init="lecun_normal", rng=rng, bias=False), alpha)
                                for _ in range(L)])
        q = stream_mean_squares(stack, h0)
        ratios[i] = q[-1] / q[0]
    assert mean == pytest.approx((1 + alpha**2) ** L, rel=1e-14)
    assert abs(ratios.mean() - mean) < 5 * sd / math.sqrt(draws), (ratios.mean(), mean, sd)
    # and the sample variance agrees with the exact one to within a generous factor
    assert 0.5 < ratios.var(ddof=1) / sd**2 < 2.0


# --------------------------------------------------------------------------
# stream_mean_squares
# --------------------------------------------------------------------------
def test_stream_mean_squares_follows_the_blocks():
    model = residual_mlp(2, 5, 3, 2, np.random.default_rng(7), norm="layer")
    stem, stack, head = model.layers
    h = stem(np.random.default_rng(8).standard_normal((4, 2)))
    expected = [np.mean(h**2)]
    for block in stack.layers:
        h = block(h)
        expected.append(np.mean(h**2))
    np.testing.assert_allclose(stream_mean_squares(stack, stem(np.random.default_rng(8).standard_normal((4, 2)))),
                               expected, rtol=1e-14)



def test_stream_split_closed_form_for_an_identity_branch():
    # h + alpha * h = (1 + alpha) h: the branch part is alpha^2 q, the cross part 2 alpha q
    alpha = 0.3
    stack = nn.Sequential(*[nn.Residual(nn.Activation("identity"), alpha) for _ in range(3)])
    h0 = np.random.default_rng(9).standard_normal((4, 5))
    q, branch, cross = stream_mean_squares(stack, h0, split=True)
    np.testing.assert_allclose(q, np.mean(h0**2) * (1 + alpha) ** (2 * np.arange(4)), rtol=1e-14)
    np.testing.assert_allclose(branch, alpha**2 * q[:-1], rtol=1e-14)
    np.testing.assert_allclose(cross, 2 * alpha * q[:-1], rtol=1e-14)
    np.testing.assert_array_equal(stream_mean_squares(stack, h0), q)


def test_stream_split_adds_up_and_has_the_predicted_means():
    # Normalised branch with He weights and zero biases: given h, ReLU(LN(z)) is symmetric in the
    # sign of W_1, so E||F||^2 / n = (v/2) * var/(var + eps), and E[h . F] = 0 (E W_2 = 0): exact
    # expectations, checked within 5 standard errors of the sample.
    width, depth, draws = 16, 3, 300
    branch_means, cross_means = np.empty(draws), np.empty(draws)
    h0 = np.random.default_rng(10).standard_normal((8, 2))
    for i in range(draws):
        model = residual_mlp(2, width, depth, 2, np.random.default_rng(100 + i), norm="layer",
                             init="kaiming_normal", bias_init="zeros")
        stem, stack, head = model.layers
        q, branch, cross = stream_mean_squares(stack, stem(h0), split=True)
        np.testing.assert_allclose(q[1:], q[:-1] + branch + cross, rtol=1e-12)
        branch_means[i], cross_means[i] = branch.mean(), cross.mean()
    se = lambda a: a.std(ddof=1) / math.sqrt(draws)
    assert abs(branch_means.mean() - 1.0) < 5 * se(branch_means) + 1e-4, (branch_means.mean(), se(branch_means))
    assert abs(cross_means.mean()) < 5 * se(cross_means), (cross_means.mean(), se(cross_means))


BAD_INPUT_CASES = [
    ("gradlab.residual.residual_mlp", lambda: residual_mlp(2, 4, -1, 2, RNG), ValueError, "depth must be an int >= 0"),
    ("gradlab.residual.residual_mlp", lambda: residual_mlp(2, 4, 2, 2, None), TypeError, "rng must be a numpy.random.Generator"),
    ("gradlab.residual.residual_mlp", lambda: residual_mlp(2, 4, 2, 2, RNG, norm="group"), ValueError, "norm must be one of 'layer', 'batch'"),
    ("gradlab.residual.residual_mlp", lambda: residual_mlp(2, 4, 2, 2, RNG, skip=False, scale=0.5), ValueError, "scale must be 1 for a plain network"),
    ("gradlab.residual.residual_mlp", lambda: residual_mlp(2, 0, 2, 2, RNG), ValueError, "width must be a positive int"),
    ("gradlab.residual.residual_mlp", lambda: residual_mlp(2, 4, 2, 2, RNG, skip="yes"), TypeError, "skip must be True or False"),
    ("gradlab.residual.preact_gain", lambda: preact_gain(0.0), ValueError, "weight_gain must be a finite number > 0"),
    ("gradlab.residual.preact_gain", lambda: preact_gain("2"), TypeError, "weight_gain must be a real number"),
    ("gradlab.residual.mean_field", lambda: mean_field(3, -1.0), ValueError, "gain must be a finite number > 0"),
    ("gradlab.residual.mean_field", lambda: mean_field(2.5, 1.0), TypeError, "depth must be an int"),
    ("gradlab.residual.mean_field", lambda: mean_field(3, 1.0, q0=0.0), ValueError, "q0 must be a finite number > 0"),
    ("gradlab.residual.mean_field", lambda: mean_field(3, 1.0, scale=float("inf")), ValueError, "scale must be a finite number"),
    ("gradlab.residual.MeanField", lambda: MeanField(np.ones(2)), TypeError, "missing"),
    ("gradlab.residual.stream_mean_squares", lambda: stream_mean_squares([nn.Residual(nn.Activation("relu"))], np.ones((2, 2))),
     TypeError, "stack must be a gradlab.nn.Sequential"),
    ("gradlab.residual.stream_mean_squares", lambda: stream_mean_squares(nn.Sequential(), np.ones((2, 2), dtype=int)),
     TypeError, "h0 must be a floating-point array"),
    ("gradlab.residual.stream_mean_squares", lambda: stream_mean_squares(nn.Sequential(), np.ones((2, 2)), split="yes"),
     TypeError, "split must be True or False"),
]


@pytest.mark.parametrize("name, call, exc, match", BAD_INPUT_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUT_CASES)])
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
