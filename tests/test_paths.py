"""Tests for gradlab.paths: exact counts, the Poisson-binomial shares, and the per-length split.

The split of the gradient is checked against three independent oracles: central
finite differences of the loss (its sum), enumeration of every path with the
weight matrices of a linear stack, and enumeration of every path with branch
Jacobians measured by finite differences (ReLU and normalised branches).
"""

import itertools
import math

import numpy as np
import pytest

from gradlab import nn
from gradlab.paths import gradient_by_path_length, path_counts, path_length_distribution, sample_path_gradients
from gradlab.residual import residual_mlp

RNG = np.random.default_rng(0)


def linear_stack(n, depth, alpha, seed):
    rng = np.random.default_rng(seed)
    return nn.Sequential(*[nn.Residual(nn.Linear(n, n, init="lecun_normal", rng=rng, bias=False), alpha)
                           for _ in range(depth)])


def relu_stack(n, depth, alpha, seed, norm=None):
    model = residual_mlp(n, n, depth, 1, np.random.default_rng(seed), scale=alpha, norm=norm,
                         init="kaiming_normal")
    return model.layers[1]


# --------------------------------------------------------------------------
# path_counts and path_length_distribution
# --------------------------------------------------------------------------
def test_path_counts_are_binomial():
    assert path_counts(0) == [1]
    for L in [1, 2, 5, 16, 54, 110]:
        c = path_counts(L)
        assert c == [math.comb(L, k) for k in range(L + 1)]
        assert sum(c) == 2**L and c == c[::-1]
    prev = path_counts(9)
    cur = path_counts(10)
    assert all(cur[k] == prev[k - 1] + prev[k] for k in range(1, 10))  # Pascal: block 10 on or off


def test_distribution_of_equal_ratios_is_binomial():
    for L, r in [(1, 1.0), (16, 1.0), (16, 1 / 16), (54, 1.0), (30, 3.0)]:
        p = r / (1 + r)
        expected = [math.comb(L, k) * p**k * (1 - p) ** (L - k) for k in range(L + 1)]
        np.testing.assert_allclose(path_length_distribution(np.full(L, r)), expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(path_length_distribution(np.ones(10)), np.array(path_counts(10)) / 2**10, rtol=1e-14)


def test_distribution_matches_enumeration_of_every_path():
    r = np.random.default_rng(1).uniform(0, 3, size=8)
    share = np.zeros(9)
    for S in itertools.product([0, 1], repeat=8):
        share[sum(S)] += np.prod(np.where(np.array(S) == 1, r, 1.0))
    share /= np.prod(1 + r)
    np.testing.assert_allclose(path_length_distribution(r), share, rtol=1e-12)


def test_poisson_binomial_mean_and_variance():
    r = np.random.default_rng(2).uniform(0, 2, size=200)
    p = r / (1 + r)
    pmf = path_length_distribution(r)
    k = np.arange(201)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-13)
    assert (k * pmf).sum() == pytest.approx(p.sum(), rel=1e-12)
    assert ((k - p.sum()) ** 2 * pmf).sum() == pytest.approx((p * (1 - p)).sum(), rel=1e-10)


def test_distribution_edge_cases():
    assert path_length_distribution([]).tolist() == [1.0]
    assert path_length_distribution(np.zeros(5)).tolist() == [1.0, 0, 0, 0, 0, 0]
    big = path_length_distribution(np.full(5000, 1.0))  # no underflow of the total
    assert big.sum() == pytest.approx(1.0, abs=1e-12) and int(np.argmax(big)) == 2500


# --------------------------------------------------------------------------
# gradient_by_path_length
# --------------------------------------------------------------------------
@pytest.mark.parametrize("norm", [None, "layer", "batch"])
def test_split_sums_to_the_backward_pass_and_to_finite_differences(norm):
    n, depth, alpha = 4, 3, 0.7
    stack = relu_stack(n, depth, alpha, seed=3, norm=norm)
    rng = np.random.default_rng(4)
    h0 = rng.standard_normal((5, n))
    R = rng.standard_normal((5, n))  # J = sum(R * stack(h0)), so dJ/dh^(L) = R

    def J(h):
        return float(np.sum(R * stack(h)))

    stack(h0)
    G = gradient_by_path_length(stack, R)
    assert G.shape == (depth + 1, 5, n)
    np.testing.assert_allclose(G[0], R)
    np.testing.assert_allclose(G.sum(axis=0), stack.backward(R), rtol=1e-12, atol=1e-14)
    # central differences in float64: truncation and rounding far below 1e-7 here
    eps = 1e-6
    fd = np.empty_like(h0)
    for idx in np.ndindex(h0.shape):
        hp, hm = h0.copy(), h0.copy()
        hp[idx] += eps
        hm[idx] -= eps
        fd[idx] = (J(hp) - J(hm)) / (2 * eps)
    np.testing.assert_allclose(G.sum(axis=0), fd, rtol=1e-6, atol=1e-8)


def test_split_of_a_linear_stack_matches_enumeration_of_paths():
    # branch y = h W^T, so back-propagation multiplies a row gradient by W; the path through the
    # branches S = {s_1 < ... < s_k} carries alpha^k g W_{s_k} ... W_{s_1}
    n, depth, alpha = 3, 5, 0.8
    stack = linear_stack(n, depth, alpha, seed=5)
    rng = np.random.default_rng(6)
    stack(rng.standard_normal((2, n)))
    g = rng.standard_normal((2, n))
    G = gradient_by_path_length(stack, g)
    W = [block.block.weight for block in stack.layers]
    expected = np.zeros_like(G)
    for k in range(depth + 1):
        for S in itertools.combinations(range(depth), k):
            v = g
            for s in reversed(S):
                v = v @ W[s]
            expected[k] += alpha**k * v
    np.testing.assert_allclose(G, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("norm", [None, "layer"])
def test_split_of_a_relu_stack_matches_paths_of_finite_difference_jacobians(norm):
    # Oracle: the Jacobian A_l of every branch at its forward input, per example, by central
    # differences of the branch alone; then every path's product, summed by length.
    n, depth, alpha, batch = 3, 4, 0.9, 2
    stack = relu_stack(n, depth, alpha, seed=7, norm=norm)
    rng = np.random.default_rng(8)
    h0 = rng.standard_normal((batch, n))
    g = rng.standard_normal((batch, n))
    inputs = [h0]
    for block in stack.layers:
        inputs.append(block(inputs[-1]))
    eps = 1e-6
    A = np.empty((depth, batch, n, n))  # A[l, b] = dF_l/dh at example b
    for l, block in enumerate(stack.layers):
        for b in range(batch):
            for j in range(n):
                hp, hm = inputs[l][b:b + 1].copy(), inputs[l][b:b + 1].copy()
                hp[0, j] += eps
                hm[0, j] -= eps
                A[l, b, :, j] = (block.block(hp)[0] - block.block(hm)[0]) / (2 * eps)
    expected = np.zeros((depth + 1, batch, n))
    for k in range(depth + 1):
        for S in itertools.combinations(range(depth), k):
            for b in range(batch):
                v = g[b]
                for s in reversed(S):
                    v = v @ A[s, b]  # row vector times Jacobian = A^T applied to the gradient
                expected[k, b] += alpha**k * v
    stack(h0)  # restore the forward caches the finite differences overwrote
    G = gradient_by_path_length(stack, g)
    np.testing.assert_allclose(G, expected, rtol=1e-6, atol=1e-8)


def test_split_leaves_parameter_gradients_alone():
    stack = relu_stack(4, 3, 0.5, seed=9, norm="layer")
    h0 = np.random.default_rng(10).standard_normal((3, 4))
    out = stack(h0)
    stack.backward(np.ones_like(out))
    before = [g.copy() for g in stack.gradients()]
    gradient_by_path_length(stack, np.random.default_rng(11).standard_normal(out.shape))
    sample_path_gradients(stack, np.random.default_rng(11).standard_normal(out.shape), 2, 3, np.random.default_rng(0))
    for a, b in zip(before, stack.gradients()):
        np.testing.assert_array_equal(a, b)


def test_empty_stack_and_float32():
    g = np.ones((2, 3))
    assert gradient_by_path_length(nn.Sequential(), g).tolist() == [g.tolist()]
    stack = nn.Sequential(nn.Residual(nn.Linear(3, 3, rng=np.random.default_rng(0), bias=False, dtype=np.float32), 0.5))
    stack(np.ones((2, 3), dtype=np.float32))
    G = gradient_by_path_length(stack, np.ones((2, 3), dtype=np.float32))
    assert G.dtype == np.float32 and G.shape == (2, 2, 3)


# --------------------------------------------------------------------------
# sample_path_gradients
# --------------------------------------------------------------------------
def test_sampled_paths_at_the_two_ends_are_exact():
    stack = relu_stack(4, 5, 0.6, seed=12)
    rng = np.random.default_rng(13)
    stack(rng.standard_normal((3, 4)))
    g = rng.standard_normal((3, 4))
    G = gradient_by_path_length(stack, g)
    np.testing.assert_allclose(sample_path_gradients(stack, g, 0, 3, rng), np.linalg.norm(g), rtol=1e-14)
    np.testing.assert_allclose(sample_path_gradients(stack, g, 5, 2, rng), np.linalg.norm(G[5]), rtol=1e-12)


def test_sampled_path_energy_is_unbiased_within_the_sampling_error():
    # The population: all C(L, k) paths of length k of a fixed linear stack, enumerated.
    # The sample mean of ||g_S||^2 over N uniform draws is within 6 population standard
    # deviations / sqrt(N) of the population mean.
    n, depth, alpha, k, draws = 3, 8, 0.9, 3, 3000
    stack = linear_stack(n, depth, alpha, seed=14)
    rng = np.random.default_rng(15)
    stack(rng.standard_normal((2, n)))
    g = rng.standard_normal((2, n))
    W = [block.block.weight for block in stack.layers]
    population = []
    for S in itertools.combinations(range(depth), k):
        v = g
        for s in reversed(S):
            v = v @ W[s]
        population.append(np.sum((alpha**k * v) ** 2))
    population = np.array(population)
    sample = sample_path_gradients(stack, g, k, draws, np.random.default_rng(16)) ** 2
    assert abs(sample.mean() - population.mean()) < 6 * population.std() / math.sqrt(draws)


BAD_INPUT_CASES = [
    ("gradlab.paths.path_counts", lambda: path_counts(-1), ValueError, "depth must be an int >= 0"),
    ("gradlab.paths.path_counts", lambda: path_counts(3.0), TypeError, "depth must be an int"),
    ("gradlab.paths.path_length_distribution", lambda: path_length_distribution([1.0, -0.5]), ValueError, "ratios must be >= 0"),
    ("gradlab.paths.path_length_distribution", lambda: path_length_distribution(np.ones((2, 2))), ValueError, "ratios must be 1-D"),
    ("gradlab.paths.path_length_distribution", lambda: path_length_distribution([1.0, np.inf]), ValueError, "ratios must be finite"),
    ("gradlab.paths.path_length_distribution", lambda: path_length_distribution(["a"]), TypeError, "ratios must be a real number or array"),
    ("gradlab.paths.gradient_by_path_length", lambda: gradient_by_path_length(nn.Linear(2, 2, rng=RNG), np.ones((1, 2))),
     TypeError, "stack must be a gradlab.nn.Sequential"),
    ("gradlab.paths.gradient_by_path_length", lambda: gradient_by_path_length(nn.Sequential(nn.Activation("relu")), np.ones((1, 2))),
     TypeError, r"stack\[0\] must be a gradlab.nn.Residual"),
    ("gradlab.paths.gradient_by_path_length",
     lambda: gradient_by_path_length(nn.Sequential(nn.Residual(nn.Linear(2, 2, rng=RNG))), np.ones((1, 2))),
     RuntimeError, "backward called before forward"),
    ("gradlab.paths.gradient_by_path_length", lambda: gradient_by_path_length(nn.Sequential(), [[1.0]]),
     TypeError, "grad_out must be a numpy.ndarray"),
    ("gradlab.paths.sample_path_gradients", lambda: sample_path_gradients(nn.Sequential(), np.ones((1, 2)), 1, 2, RNG),
     ValueError, "length must be at most the number of blocks 0"),
    ("gradlab.paths.sample_path_gradients", lambda: sample_path_gradients(nn.Sequential(), np.ones((1, 2)), 0, 0, RNG),
     ValueError, "n_samples must be a positive int"),
    ("gradlab.paths.sample_path_gradients", lambda: sample_path_gradients(nn.Sequential(), np.ones((1, 2)), 0, 1, 0),
     TypeError, "rng must be a numpy.random.Generator"),
]


@pytest.mark.parametrize("name, call, exc, match", BAD_INPUT_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUT_CASES)])
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
