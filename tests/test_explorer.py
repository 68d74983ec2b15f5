"""Tests for gradlab.explorer: the grid of the explorer page.

The measurements are checked against gradlab's own instruments
(``diagnostics.layer_statistics`` on the same networks, ``nn.mlp`` for the
plain ones), the predictions against closed forms and against the other
modules' predictions for the cases they cover (``meanfield.propagate``,
``products.predicted_layer_factor``, ``normalisation_tools.normalised_gain``,
``residual.mean_field``), the initialisers' scales against sample variances
with bounds from the sample size, and the page's data against a fresh
computation of the same configurations.
"""

import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from gradlab import diagnostics, explorer, init, meanfield, nn, normalisation_tools, products, residual
from gradlab.explorer import (
    Config,
    Diagnosis,
    Knob,
    Measurement,
    Prediction,
    bias_variance,
    build,
    config,
    configurations,
    diagnose,
    grid,
    knobs,
    measure,
    pack,
    page_data,
    unpack,
    parse_preset,
    predict,
    weight_scale,
)

ROOT = Path(__file__).resolve().parent.parent
HE = init.get("kaiming_normal", nonlinearity="relu")


def book_labels():
    labels = set()
    for page in (ROOT / "chapters").glob("*.md"):
        labels |= set(re.findall(r"^\(([\w-]+)\)=\s*$", page.read_text(), re.M))
    return labels


# --------------------------------------------------------------------------
# knobs, configurations and presets
# --------------------------------------------------------------------------
def test_knobs_are_complete_and_their_sections_exist():
    labels = book_labels()
    keys = [k.key for k in knobs()]
    assert keys == list(Config._fields)
    for knob in knobs():
        assert len(knob.values) == len(knob.labels) == len(set(knob.values)) >= 2
        assert knob.default in knob.values
        assert knob.explained and set(knob.explained) <= labels, (knob.key, set(knob.explained) - labels)
    # every section a diagnosis can name is linked from the page's table of knobs
    assert set(explorer.DIAGNOSIS_LABELS) <= {label for k in knobs() for label in k.explained}
    # the link next to each control names a chapter or a section the book has
    assert all(k.explained[0] in labels for k in knobs())


def test_configurations_are_the_full_product_in_order():
    configs = configurations()
    sizes = [len(k.values) for k in knobs()]
    assert len(configs) == math.prod(sizes) == len({c.key for c in configs})
    expected = [config(**dict(zip(Config._fields, values)))
                for values in itertools.product(*(k.values for k in knobs()))]
    assert configs == expected


def test_config_defaults_and_key():
    cfg = config()
    assert cfg == Config(*[int(k.default) if k.key == "depth" else k.default for k in knobs()])
    assert config(depth="30") == config(depth=30)
    assert parse_preset(config(act="tanh", res="scaled").key) == {
        k: str(getattr(config(act="tanh", res="scaled"), k)) for k in Config._fields}


def test_parse_preset_orders_and_checks():
    assert parse_preset("") == {}
    assert parse_preset("res=identity&act=relu") == {"act": "relu", "res": "identity"}
    assert list(parse_preset("init=he&depth=5")) == ["depth", "init"]
    for bad in ["act=softmax", "colour=red", "act=relu&act=tanh", "act", "depth=7", "act=relu&"]:
        with pytest.raises(ValueError):
            parse_preset(bad)


# --------------------------------------------------------------------------
# the scales of the initialisers against sample variances
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", knobs()[2].values)
def test_weight_scale_matches_the_drawn_weights(name):
    # width 256, depth 50: 49 square hidden matrices, 3.2 million draws. The relative
    # standard error of a sample variance is sqrt(2/N) for a normal and sqrt(0.8/N)
    # for a uniform distribution (N = 65536 per matrix); allow six of them.
    width = 256
    net = build(config(init=name, depth=50, bias="zeros"), width=width)
    weights = [lin.weight for lin in nn.linear_layers(net)]
    hidden = np.concatenate([w.ravel() for w in weights[:-1]])
    expected = weight_scale(name, width, width) / width
    assert np.var(hidden) == pytest.approx(expected, rel=6 * math.sqrt(2 / hidden.size))
    head = weights[-1].ravel()  # (1, width): the Xavier rule sees fan_out = 1 here
    assert np.var(head) == pytest.approx(weight_scale(name, width, 1) / width, rel=6 * math.sqrt(2 / head.size))


def test_bias_variance_matches_the_drawn_biases():
    width = 256
    net = build(config(bias="torch", depth=50), width=width)
    b = np.concatenate([lin.bias for lin in nn.linear_layers(net)[:-1]])
    assert np.var(b) == pytest.approx(bias_variance("torch", width), rel=6 * math.sqrt(0.8 / b.size))
    assert np.abs(b).max() <= 1 / math.sqrt(width)
    assert all(not lin.bias.any() for lin in nn.linear_layers(build(config(bias="zeros"))))


def test_weight_scale_closed_forms():
    assert weight_scale("torch", 7, 3) == pytest.approx(1 / 3)
    assert weight_scale("he", 7, 3) == 2.0
    assert weight_scale("xavier", 30, 10) == pytest.approx(1.5)
    assert weight_scale("small", 100, 100) == pytest.approx(0.01)
    assert bias_variance("torch", 12) == pytest.approx(1 / 36)


# --------------------------------------------------------------------------
# the network
# --------------------------------------------------------------------------
def test_plain_network_is_gradlabs_mlp():
    cfg = config(act="tanh", init="he", bias="zeros", depth=5)
    net = build(cfg)
    ref = nn.mlp([32] * 6 + [1], "tanh", np.random.default_rng(explorer.SEED), init=HE, bias_init="zeros")
    assert len(net.parameters()) == len(ref.parameters())
    for a, b in zip(net.parameters(), ref.parameters()):
        assert np.array_equal(a, b)
    x = np.random.default_rng(5).standard_normal((4, 32))
    np.testing.assert_array_equal(net(x), ref(x))


def test_biases_do_not_change_the_weights():
    a = build(config(bias="zeros", depth=10, init="he"))
    b = build(config(bias="torch", depth=10, init="he"))
    for la, lb in zip(nn.linear_layers(a), nn.linear_layers(b)):
        assert np.array_equal(la.weight, lb.weight)
    # and the Gaussian rules draw the same numbers, scaled
    c = build(config(depth=10, init="xavier"))
    for la, lc in zip(nn.linear_layers(a)[:-1], nn.linear_layers(c)[:-1]):
        np.testing.assert_allclose(la.weight, math.sqrt(2) * lc.weight, rtol=1e-14)


@pytest.mark.parametrize("norm", ["none", "batch", "layer"])
@pytest.mark.parametrize("res", ["none", "identity", "scaled"])
def test_structure(norm, res):
    cfg = config(depth=10, norm=norm, res=res)
    net = build(cfg, width=6)
    stem, *blocks, head = net.layers
    assert isinstance(stem, nn.Linear) and len(blocks) == 9
    kinds = {"none": ["Activation", "Linear"], "batch": ["BatchNorm", "Activation", "Linear"],
             "layer": ["LayerNorm", "Activation", "Linear"]}[norm]
    for block in blocks:
        if res == "none":
            assert isinstance(block, nn.Sequential)
            branch = block
        else:
            assert isinstance(block, nn.Residual)
            assert block.scale == (1.0 if res == "identity" else 1 / 3)  # 1/sqrt(L - 1)
            branch = block.block
        assert [type(layer).__name__ for layer in branch.layers] == kinds
    assert [type(layer).__name__ for layer in head.layers] == kinds and head.layers[-1].fan_out == 1
    assert all(layer.eps == explorer.NORM_EPS for layer in nn.walk(net)
               if isinstance(layer, (nn.BatchNorm, nn.LayerNorm)))


# --------------------------------------------------------------------------
# the measurement against gradlab's instruments
# --------------------------------------------------------------------------
def batch():
    from gradlab import data

    return data.teacher_regression(explorer.BATCH, explorer.WIDTH, np.random.default_rng(explorer.DATA_SEED))


@pytest.mark.parametrize("cfg", [config(act="sigmoid", init="normal1", depth=10),
                                 config(act="relu", init="torch", depth=20),
                                 config(act="tanh", init="xavier", bias="zeros", depth=5),
                                 config(act="selu", init="he", depth=10)], ids=lambda c: c.key)
def test_measurement_of_a_plain_network_is_layer_statistics(cfg):
    X, y = batch()
    m = measure(cfg)
    net = build(cfg)
    flat = nn.Sequential(*[layer for block in net.layers
                           for layer in (block.layers if isinstance(block, nn.Sequential) else [block])])
    stats = diagnostics.layer_statistics(flat, X, y, loss="mse")
    acts = [s for s in stats if s.name.startswith("Activation")]
    lins = [s for s in stats if s.name.startswith("Linear")][:-1]
    np.testing.assert_allclose(m.act_std, [s.std for s in acts], rtol=1e-12)
    np.testing.assert_allclose(m.grad_norm, [s.output_grad_norm for s in lins], rtol=1e-12)
    np.testing.assert_array_equal(m.saturated, [s.saturation for s in acts])
    np.testing.assert_array_equal(m.dead, [s.dead_fraction for s in acts])
    assert m.grad_norm.shape == (cfg.depth,)


@pytest.mark.parametrize("norm", ["none", "batch", "layer"])
@pytest.mark.parametrize("res", ["none", "identity", "scaled"])
def test_stream_gradients_are_layer_statistics_of_the_blocks(norm, res):
    # layer_statistics runs the network's own blocks (Residual.forward, not the
    # measurement's copy of it) and reports |dJ/d(output)| of each: z^(1), ..., z^(L)
    cfg = config(act="tanh", depth=10, norm=norm, res=res)
    X, y = batch()
    stats = diagnostics.layer_statistics(build(cfg), X, y, loss="mse")
    np.testing.assert_allclose(measure(cfg).grad_norm, [s.output_grad_norm for s in stats[:-1]], rtol=1e-12)


def test_measurement_is_deterministic_and_depends_on_the_seed():
    cfg = config(act="relu", init="he", depth=10)
    a, b, c = measure(cfg), measure(cfg), measure(cfg, seed=1)
    np.testing.assert_array_equal(a.grad_norm, b.grad_norm)
    assert not np.array_equal(a.grad_norm, c.grad_norm)


# --------------------------------------------------------------------------
# the prediction: closed forms and the other modules
# --------------------------------------------------------------------------
@pytest.mark.parametrize("act", knobs()[1].values)
@pytest.mark.parametrize("name", ["torch", "xavier", "normal1"])
def test_plain_prediction_is_the_variance_map(act, name):
    cfg = config(act=act, init=name, bias="torch", depth=10)
    p = predict(cfg, q0=1.0)
    s_w = math.sqrt(weight_scale(name, 32, 32))
    s_b = math.sqrt(bias_variance("torch", 32))
    ref = meanfield.propagate(s_w, s_b, q0=1.0, activation=act, depth=10)
    np.testing.assert_allclose(p.q, ref.q, rtol=1e-12)
    np.testing.assert_allclose(p.factor ** 2, ref.chi[:-1], rtol=1e-12)
    np.testing.assert_allclose(p.act_std, np.sqrt(ref.second_moment - ref.mean ** 2), rtol=1e-12)
    # the factor is the per-layer factor of chapter 2 (a different quadrature; SELU's
    # derivative jumps at 0, which costs both rules a few digits)
    for l in (0, 8):
        if math.sqrt(p.q[l]) <= 1000:
            assert p.factor[l] == pytest.approx(
                products.predicted_layer_factor(act, 32, s_w ** 2 / 32, math.sqrt(p.q[l])), rel=2e-5)
    np.testing.assert_allclose(p.grad_ratio, np.append(np.cumprod(p.factor[::-1])[::-1], 1.0))


def test_he_relu_keeps_everything():
    p = predict(config(act="relu", init="he", bias="zeros", depth=50), q0=0.7)
    np.testing.assert_allclose(p.q, 1.4, rtol=1e-12)
    np.testing.assert_allclose(p.factor, 1.0, rtol=1e-12)
    # the ReLU of N(0, q): std sqrt(q (1/2 - 1/(2 pi)))
    np.testing.assert_allclose(p.act_std, math.sqrt(1.4 * (0.5 - 0.5 / math.pi)), rtol=1e-10)
    assert np.isnan(p.saturated).all()


def test_small_tanh_weights_are_linear():
    # tanh'(0) = 1: with s_w^2 = 0.0032 and no bias, q shrinks by s_w^2 per layer and the
    # factor is s_w, up to relative corrections of order q (E[tanh(z)^2] = q - 2 q^2 + ...,
    # E[tanh'(z)^2] = 1 - 4 q + ...); from layer 2 on q is below 1.1e-5
    p = predict(config(act="tanh", init="small", bias="zeros", depth=10), q0=1.0)
    sw2 = weight_scale("small", 32, 32)
    assert p.q[1] < 1.1e-5
    np.testing.assert_allclose(p.q[2:] / p.q[1:-1], sw2, rtol=3 * p.q[1])
    np.testing.assert_allclose(p.factor[1:], math.sqrt(sw2), rtol=5 * p.q[1])


@pytest.mark.parametrize("act", knobs()[1].values)
@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_normalised_prediction_is_normalised_gain(act, norm):
    # zero biases, He weights (the eps of the normalisation is then below 1e-4 of the spread)
    p = predict(config(act=act, init="he", bias="zeros", norm=norm, depth=20))
    np.testing.assert_allclose(p.factor[1:], normalisation_tools.normalised_gain(act, norm), rtol=1e-4)
    if act == "relu" and norm == "batch":
        np.testing.assert_allclose(p.factor[1:] ** 2, math.pi / (math.pi - 1), rtol=1e-4)


@pytest.mark.parametrize("res", ["identity", "scaled"])
@pytest.mark.parametrize("init_name", ["torch", "he"])
def test_residual_prediction_is_residual_mean_field(res, init_name):
    L = 30
    alpha = 1.0 if res == "identity" else 1 / math.sqrt(L - 1)
    sw2 = weight_scale(init_name, 32, 32)
    p = predict(config(act="relu", init=init_name, bias="zeros", res=res, depth=L), q0=1.0)
    # one ReLU layer per branch: kappa = s_w^2 / 2, starting from q_1 = s_w^2 q0
    mf = residual.mean_field(L - 1, sw2 / 2, scale=alpha, q0=sw2)
    np.testing.assert_allclose(p.q, mf.mean_square, rtol=1e-12)
    np.testing.assert_allclose(p.factor ** 2, mf.block_gain, rtol=1e-12)
    # with layer normalisation the branch's mean square is nu = s_w^2 / 2 whatever its input
    # (residual.mean_field has no eps: the layer's eps = 1e-5 changes the variance it divides
    # by, q >= 1/3, by a relative 3e-5 at most, and the sums by no more)
    p = predict(config(act="relu", init=init_name, bias="zeros", res=res, norm="layer", depth=L), q0=1.0)
    mf = residual.mean_field(L - 1, sw2 / 2, scale=alpha, normalised=True, q0=sw2)
    rtol = explorer.NORM_EPS / mf.mean_square.min()
    np.testing.assert_allclose(p.q, mf.mean_square, rtol=rtol)
    np.testing.assert_allclose(p.factor ** 2, mf.block_gain, rtol=rtol)


def test_predicted_saturation_against_samples():
    # sigmoid with batch normalisation: u ~ N(0, 1) (up to eps); a binomial bound on
    # 10^6 draws of z
    p = predict(config(act="sigmoid", init="he", bias="zeros", norm="batch", depth=5))
    z = np.random.default_rng(0).standard_normal(1_000_000)
    s = 1 / (1 + np.exp(-z))
    frac = np.mean((s < 0.01) | (s > 0.99))
    se = math.sqrt(p.saturated[1] * (1 - p.saturated[1]) / z.size)
    assert abs(frac - p.saturated[1]) < 5 * se
    assert p.act_std[1] == pytest.approx(np.std(s), rel=5 * math.sqrt(2 / z.size) * 2)
    # tanh in a plain network: |z| > atanh(0.99) for z ~ N(0, q)
    p = predict(config(act="tanh", init="normal1", bias="zeros", depth=5))
    assert p.saturated[2] == pytest.approx(math.erfc(math.atanh(0.99) / math.sqrt(2 * p.q[2])), rel=1e-12)


def test_prediction_follows_a_wide_network():
    # at width 512 one network is close to the mean field: the standard deviation within
    # 5 % in every layer, the gradient's change over 10 layers within 20 %
    for cfg in [config(act="tanh", init="xavier", bias="torch", depth=10),
                config(act="sigmoid", init="torch", bias="torch", norm="batch", depth=10)]:
        width = 512
        X = np.random.default_rng(3).standard_normal((256, width))
        net = build(cfg, width=width)
        stats = diagnostics.layer_statistics(net, X, np.zeros((256, 1)), loss="mse")
        g = np.array([s.output_grad_norm for s in stats[:-1]])
        p = predict(cfg, width=width, q0=float(np.mean(X * X)))
        assert g[0] / g[-1] == pytest.approx(p.grad_ratio[0], rel=0.2), cfg
        m = measure(cfg)  # the grid's width: the same family of curves, noisier
        assert np.all(np.abs(np.log10(m.act_std / predict(cfg).act_std)) < 0.1), cfg


# --------------------------------------------------------------------------
# the diagnosis
# --------------------------------------------------------------------------
CASES = [
    (config(act="sigmoid", init="torch", depth=20), "vanishing", "sec-saturation-factor"),
    (config(act="relu", init="small", bias="zeros", depth=20), "vanishing", "sec-init-variance"),
    (config(act="tanh", init="torch", bias="zeros", depth=30), "vanishing", "sec-init-pytorch"),
    (config(act="tanh", init="normal1", bias="zeros", depth=20), "exploding", "sec-saturation-large-weights"),
    (config(act="relu", init="he", bias="zeros", depth=20), "stable", "sec-init-rules"),
    (config(act="relu", init="he", bias="zeros", res="identity", depth=50), "exploding", "sec-res-variance"),
    (config(act="relu", init="he", bias="zeros", res="scaled", depth=50), "stable", "sec-res-depth"),
    (config(act="sigmoid", init="torch", norm="layer", depth=50), "vanishing", "sec-bn-deep"),
    (config(act="sigmoid", init="torch", norm="batch", depth=50), "stable", "sec-bn-deep"),
    (config(act="sigmoid", init="normal1", bias="zeros", norm="batch", depth=5), "stable", "sec-bn-deep"),
    (config(act="sigmoid", init="he", bias="zeros", depth=20), "vanishing", "sec-saturation-factor"),
    (config(act="sigmoid", init="normal1", bias="zeros", depth=20), "vanishing", "sec-saturation-large-weights"),
    (config(act="relu", init="xavier", bias="zeros", depth=20), "vanishing", "sec-init-rules"),
    (config(act="tanh", init="normal1", bias="zeros", depth=5), "stable", "sec-saturation-large-weights"),
    (config(act="tanh", init="normal1", bias="zeros", res="identity", depth=5), "stable", "sec-res-depth"),
]


@pytest.mark.parametrize("cfg, kind, label", CASES, ids=[c[0].key for c in CASES])
def test_diagnosis_of_known_cases_holds_over_seeds(cfg, kind, label):
    for seed in range(3):
        m = measure(cfg, seed=seed)
        d = diagnose(cfg, m, predict(cfg))
        assert (d.kind, d.label) == (kind, label), (seed, d.text)
        D = math.log10(m.grad_norm[0] / m.grad_norm[-1])
        assert (D < -explorer.DECADES) == (kind == "vanishing") and (D > explorer.DECADES) == (kind == "exploding")
        # the line states the measured factor per layer that fitted_layer_factor gives
        assert f"{explorer._fmt(products.fitted_layer_factor(m.grad_norm))} per layer" in d.text
        assert label in explorer.DIAGNOSIS_LABELS


def test_diagnosis_of_a_sample_of_the_grid():
    for cfg in configurations()[::97]:
        m, p = measure(cfg), predict(cfg)
        d = diagnose(cfg, m, p)
        assert d.label in explorer.DIAGNOSIS_LABELS and d.kind in ("vanishing", "exploding", "stable")
        assert "nan" not in d.text and "inf" not in d.text.replace("infinity", "")
        if cfg.res == "none" and cfg.norm == "none":
            assert "fixed point" in d.theory or "drifts to" in d.theory


def test_diagnosis_of_non_finite_and_dead_measurements():
    cfg = config(depth=5)
    p = predict(cfg)
    ok = measure(cfg)
    inf = ok._replace(grad_norm=np.array([np.inf, 1, 1, 1, 1.0]))
    assert diagnose(cfg, inf, p).kind == "nonfinite"
    dead = ok._replace(grad_norm=np.array([0.0, 1, 1, 1, 1]))
    assert diagnose(cfg, dead, p).label == "sec-diag-dead"


# --------------------------------------------------------------------------
# the diagnosis's branches, each reached by a configuration of the grid and
# checked against that configuration's own measurement and prediction
# --------------------------------------------------------------------------
def diagnosed(cfg, seed=0):
    m, p = measure(cfg, seed=seed), predict(cfg)
    return m, p, diagnose(cfg, m, p)


def number(pattern, text):
    found = re.search(pattern, text)
    assert found, (pattern, text)
    return float(found[1])


def decades(m):
    return math.log10(m.grad_norm[0] / m.grad_norm[-1])


@pytest.mark.parametrize("depth, kind", [(5, "stable"), (10, "exploding")])
def test_saturation_names_the_measured_fraction_and_the_weight_scale(depth, kind):
    cfg = config(act="tanh", init="normal1", bias="zeros", depth=depth)
    for seed in range(3):
        m, _, d = diagnosed(cfg, seed)
        assert (d.kind, d.label) == (kind, "sec-saturation-large-weights"), (seed, d.text)
        sat = float(np.mean(m.saturated))
        assert sat > explorer.SATURATED_FRACTION
        assert abs(number(r"(\d+)% of the units are saturated", d.text) - 100 * sat) <= 0.5 + 1e-9
        # N(0, 1) weights: s_w^2 = n Var[w] = 32, large, named in the line
        assert number(r"\(s_w² = (\S+)\)", d.text) == 32 and "the large weights" in d.text
        assert "derivatives are nearly zero" not in d.text  # the gradient does not vanish


def test_saturation_is_not_the_diagnosis_of_a_residual_network():
    # the same weights saturate most units behind identity paths too, but the gradient
    # passes them on the identity path: the diagnosis names the residual blocks, and
    # the branches' share of the mean square it states is the prediction's
    cfg = config(act="tanh", init="normal1", bias="zeros", res="identity", depth=5)
    for seed in range(3):
        m, p, d = diagnosed(cfg, seed)
        assert np.mean(m.saturated) > explorer.SATURATED_FRACTION and "saturated" not in d.text
        assert d.label == "sec-res-depth" and abs(decades(m)) <= explorer.DECADES
        added = float(np.mean(p.factor ** 2)) - 1
        assert math.log1p(added) > explorer.CLOSE_TO_ONE and "only a little" not in d.text
        assert number(r"α²χ = (\S+) per block", d.text) == pytest.approx(added, rel=0.05)
        assert "but 5 blocks change it by less than a factor of 100" in d.text


def test_residual_branches_that_add_little():
    # ReLU, He weights, alpha = 1/sqrt(L - 1): b_l = 1 + alpha^2 s_w^2 E[relu'^2] = 1 + 1/49 exactly
    cfg = config(act="relu", init="he", bias="zeros", res="scaled", depth=50)
    for seed in range(3):
        m, p, d = diagnosed(cfg, seed)
        np.testing.assert_allclose(p.factor ** 2, 1 + 1 / 49, rtol=1e-9)
        assert (d.kind, d.label) == ("stable", "sec-res-depth") and "only a little" in d.text
        assert number(r"α²χ averages (\S+) per block", d.text) == pytest.approx(1 / 49, rel=0.05)
        # measured: the fitted factor per block within 1 % of sqrt(1 + 1/49)
        assert products.fitted_layer_factor(m.grad_norm) == pytest.approx(math.sqrt(1 + 1 / 49), rel=0.01)


def test_residual_network_whose_gradient_falls_below_the_prediction():
    # No configuration of the grid reaches this branch (identity paths keep the gradient at
    # seeds 0 to 3): a real network's measurement with its gradient replaced by one that halves
    # per block, against its prediction, whose every block factor is at least one
    cfg = config(act="relu", init="he", bias="zeros", res="identity", depth=10)
    m, p = measure(cfg), predict(cfg)
    assert np.all(p.factor >= 1)
    fading = m._replace(grad_norm=m.grad_norm[-1] * 0.5 ** np.arange(9, -1, -1))
    d = diagnose(cfg, fading, p)
    assert decades(fading) < -explorer.DECADES
    assert (d.kind, d.label) == ("vanishing", "sec-res-depth") and "falls below the prediction" in d.text


@pytest.mark.parametrize("init", ["small", "torch", "xavier", "he"])
def test_sigmoid_ceiling_where_it_is_below_one(init):
    cfg = config(act="sigmoid", init=init, bias="zeros", depth=20)
    sw2 = weight_scale(init, 32, 32)
    m, p, d = diagnosed(cfg)
    assert sw2 / 16 < 1 and (d.kind, d.label) == ("vanishing", "sec-saturation-factor"), d.text
    assert decades(m) < -explorer.DECADES
    assert number(r"s_w²/16 = (\S+) because", d.text) == pytest.approx(sw2 / 16, rel=0.05)
    # sigma' <= 1/4, so chi = s_w^2 E[sigma'(z)^2] <= s_w^2/16 in every layer of the prediction,
    # the stated average included, and the measured factor per layer is at most the ceiling's
    # square root up to finite-width fluctuation
    assert np.all(p.factor ** 2 <= sw2 / 16 * (1 + 1e-12))
    chi = number(r"averages (\S+) per layer", d.text)
    assert chi == pytest.approx(float(np.exp(np.mean(np.log(p.factor ** 2)))), rel=0.05) and chi <= sw2 / 16
    assert products.fitted_layer_factor(m.grad_norm) < 1.1 * math.sqrt(sw2 / 16)


def test_sigmoid_with_large_weights_is_diagnosed_by_its_tails_not_the_ceiling():
    # N(0, 1) weights: s_w^2 / 16 = 2, so the ceiling allows growth; the gradient vanishes
    # because the pre-activations reach the flat tails
    cfg = config(act="sigmoid", init="normal1", bias="zeros", depth=20)
    sw2 = weight_scale("normal1", 32, 32)
    assert sw2 / 16 == 2
    for seed in range(3):
        m, p, d = diagnosed(cfg, seed)
        assert (d.kind, d.label) == ("vanishing", "sec-saturation-large-weights"), (seed, d.text)
        assert "flat tails" in d.text and "s_w²/16" not in d.text and decades(m) < -explorer.DECADES
        # measured: more than a tenth of the units in the tails, not more than half
        assert 0.1 < np.mean(m.saturated) <= explorer.SATURATED_FRACTION
        # E[sigma'(z)^2] below half its ceiling 1/16, predicted and measured
        assert number(r"averages (\S+) per layer", d.text) / sw2 < 1 / 32
        assert products.fitted_layer_factor(m.grad_norm) ** 2 / sw2 < 1 / 32


@pytest.mark.parametrize("bias, depth", [("zeros", 20), ("torch", 30)])
def test_relu_with_xavier_halves_the_mean_square(bias, depth):
    cfg = config(act="relu", init="xavier", bias=bias, depth=depth)
    for seed in range(3):
        m, p, d = diagnosed(cfg, seed)
        assert (d.kind, d.label) == ("vanishing", "sec-init-rules"), (seed, d.text)
        # E[relu'(z)^2] = P(z > 0) = 1/2 for a centred Gaussian z; Xavier's s_w^2 = 1: chi = 1/2
        np.testing.assert_allclose(p.factor ** 2, 0.5, rtol=1e-9)
        assert number(r"averages (\S+) per layer", d.text) == 0.5 and "s_w² = 1 halves" in d.text
        # measured: the fitted factor per layer within 15 % of sqrt(1/2) at width 32
        assert products.fitted_layer_factor(m.grad_norm) == pytest.approx(math.sqrt(0.5), rel=0.15)
        assert decades(m) < -explorer.DECADES
    # He's s_w^2 = 2 on the same network keeps it
    m, p, d = diagnosed(cfg._replace(init="he"))
    assert d.kind == "stable"


@pytest.mark.parametrize("cfg, side", [
    (config(act="sigmoid", init="torch", norm="batch", depth=50), "close"),
    (config(act="sigmoid", init="normal1", bias="zeros", norm="batch", depth=5), "below"),
    (config(act="tanh", init="xavier", bias="zeros", norm="batch", depth=20), "above"),
], ids=["close", "below", "above"])
def test_normalised_stable_networks_say_where_their_measured_factor_is(cfg, side):
    for seed in range(3):
        m, _, d = diagnosed(cfg, seed)
        r = products.fitted_layer_factor(m.grad_norm)
        assert (d.kind, d.label) == ("stable", "sec-bn-deep"), (seed, d.text)
        close = abs(2 * math.log(r)) <= explorer.CLOSE_TO_ONE
        assert close == (side == "close") and ("stays close to one" in d.text) == close
        if not close:
            assert (r < 1) == (side == "below")
            assert f"is {side} one, but {cfg.depth} layers change the gradient" in d.text


# --------------------------------------------------------------------------
# the grid and the page's data
# --------------------------------------------------------------------------
def test_grid_encodes_measurement_and_prediction():
    X, _ = batch()
    for cfg in configurations()[5::211]:
        record = grid([cfg])["configs"][cfg.key]
        m = measure(cfg)
        p = predict(cfg, q0=float(np.mean(X * X)), v0=float(np.mean(np.var(X, axis=0))))
        for key, values in (("s", m.act_std), ("g", m.grad_norm), ("ps", p.act_std),
                            ("pg", m.grad_norm[-1] * p.grad_ratio)):
            np.testing.assert_allclose(np.array(record[key]) / 100, np.log10(values), atol=0.005 + 1e-12)
        frac = m.dead if cfg.act == "relu" else m.saturated
        if np.isnan(frac).all():
            assert record["f"] is None
        else:
            np.testing.assert_allclose(np.array(record["f"]) / 1000, frac, atol=0.0005 + 1e-12)
        assert record["d"] == list(diagnose(cfg, m, p)[:4])


def test_packing_stores_each_sentence_once_and_unpacks_to_the_grid():
    configs = [config(depth=5, act=a, init=i) for a in ("sigmoid", "relu") for i in ("torch", "he")]
    data = grid(configs)
    packed = pack(data)
    assert unpack(packed) == data
    sentences = [s for r in data["configs"].values() for s in (r["d"][1], r["d"][3])]
    assert sorted(packed["texts"]) == sorted(set(sentences))
    assert packed["fields"] == ["s", "g", "f", "ps", "pg", "pf", "d"]
    for key, items in packed["configs"].items():
        record = data["configs"][key]
        d = items[6]
        assert [packed["texts"][d[1]], packed["texts"][d[3]]] == record["d"][1::2]
        assert d[0::2] == record["d"][0::2]
        # a series is its first value, then differences: their running sums give it back
        assert items[0][0] == record["s"][0] and list(np.cumsum(items[1])) == record["g"]
    packed["fields"] = packed["fields"][::-1]
    with pytest.raises(ValueError, match="fields"):
        unpack(packed)
    packed["fields"] = packed["fields"][::-1]
    with pytest.raises(ValueError, match="packed already"):
        pack(packed)


def test_page_data_is_json_in_a_script_element():
    data = {"text": "</script><b>&", "n": [1, None]}
    html = page_data(data)
    assert html.startswith('<script type="application/json" id="explorer-data">') and html.endswith("</script>")
    body = html[len('<script type="application/json" id="explorer-data">'):-len("</script>")]
    assert "<" not in body and ">" not in body and "&" not in body
    assert json.loads(body) == data
    with pytest.raises(ValueError):
        page_data({"x": float("nan")})


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
_M = Measurement(np.ones(5), np.ones(5), np.zeros(5), np.full(5, np.nan), 1.0)
_P = predict(config(depth=5))

BAD_INPUT_CASES = [
    ("gradlab.explorer.Knob", lambda: Knob("depth"), TypeError, "missing"),
    ("gradlab.explorer.knobs", lambda: knobs("depth"), TypeError, "positional argument"),
    ("gradlab.explorer.Config", lambda: Config(5), TypeError, "missing"),
    ("gradlab.explorer.config", lambda: config(act="softmax"), ValueError, "act must be one of 'sigmoid'"),
    ("gradlab.explorer.config", lambda: config(colour="red"), ValueError, "knob must be one of 'depth'"),
    ("gradlab.explorer.config", lambda: config(depth=7), ValueError, "depth must be one of '5'"),
    ("gradlab.explorer.config", lambda: config(depth=5.0), TypeError, "depth must be a str"),
    ("gradlab.explorer.parse_preset", lambda: parse_preset(None), TypeError, "preset must be a str"),
    ("gradlab.explorer.parse_preset", lambda: parse_preset("act=relu&act=tanh"), ValueError, "each knob once"),
    ("gradlab.explorer.parse_preset", lambda: parse_preset("act"), ValueError, "key=value pairs"),
    ("gradlab.explorer.parse_preset", lambda: parse_preset("init=glorot"), ValueError, "init must be one of"),
    ("gradlab.explorer.configurations", lambda: configurations(1), TypeError, "positional argument"),
    ("gradlab.explorer.weight_scale", lambda: weight_scale("lecun", 4, 4), ValueError, "init must be one of"),
    ("gradlab.explorer.weight_scale", lambda: weight_scale("he", 0, 4), ValueError, "fan_in must be a positive int"),
    ("gradlab.explorer.bias_variance", lambda: bias_variance("ones", 4), ValueError, "bias must be one of"),
    ("gradlab.explorer.bias_variance", lambda: bias_variance("torch", 2.0), TypeError, "fan_in must be an int"),
    ("gradlab.explorer.build", lambda: build({"depth": 5}), TypeError, "cfg must be a gradlab.explorer.Config"),
    ("gradlab.explorer.build", lambda: build(config(), width=0), ValueError, "width must be a positive int"),
    ("gradlab.explorer.build", lambda: build(config(), seed=-1), ValueError, "seed must be an int >= 0"),
    ("gradlab.explorer.build", lambda: build(Config(7, "relu", "he", "zeros", "none", "none")),
     ValueError, "depth must be one of"),
    ("gradlab.explorer.Measurement", lambda: Measurement(np.ones(2)), TypeError, "missing"),
    ("gradlab.explorer.measure", lambda: measure(config(), batch=1), ValueError, "batch must be an int >= 2"),
    ("gradlab.explorer.measure", lambda: measure("depth=5"), TypeError, "cfg must be a gradlab.explorer.Config"),
    ("gradlab.explorer.Prediction", lambda: Prediction(np.ones(2)), TypeError, "missing"),
    ("gradlab.explorer.predict", lambda: predict(config(), q0=-1.0), ValueError, "q0 must be a finite number >= 0"),
    ("gradlab.explorer.predict", lambda: predict(config(), v0="1"), TypeError, "v0 must be a real number"),
    ("gradlab.explorer.Diagnosis", lambda: Diagnosis("stable"), TypeError, "missing"),
    ("gradlab.explorer.diagnose", lambda: diagnose(config(depth=5), _P, _M), TypeError,
     "measurement must be a gradlab.explorer.Measurement"),
    ("gradlab.explorer.diagnose", lambda: diagnose(config(depth=10), _M, _P), ValueError,
     "a network of depth 10"),
    ("gradlab.explorer.diagnose", lambda: diagnose(config(depth=5), _M, _P, width=0), ValueError,
     "width must be a positive int"),
    ("gradlab.explorer.grid", lambda: grid(["depth=5"]), TypeError, r"configs\[0\] must be a gradlab.explorer.Config"),
    ("gradlab.explorer.page_data", lambda: page_data([1, 2]), TypeError, "data must be a dict"),
    ("gradlab.explorer.pack", lambda: pack({"knobs": []}), TypeError, "data must be a dict with 'configs'"),
    ("gradlab.explorer.unpack", lambda: unpack({"configs": {}}), TypeError, "data must be a dict with 'texts'"),
    ("gradlab.explorer.page_data", lambda: page_data({}, element_id=""), TypeError, "element_id must be a non-empty str"),
]


@pytest.mark.parametrize("name, call, exc, match", BAD_INPUT_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUT_CASES)])
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
