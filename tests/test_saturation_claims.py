"""What chapter 2 says about its Glorot-Bengio run holds for the run the book executed.

The chapter glues the final losses of every run of its learning-rate grids (one row
per rate, one column per seed) and the statistics its prose quotes. These tests read
them from the executed notebook of the built book (``built_book``, see
``conftest.py``) and check each qualitative claim of the text against them, so a
change to ``gradlab`` or to the experiment that makes a sentence false fails here.
"""

from __future__ import annotations

import ast
import json
import math

import numpy as np
import pytest

pytestmark = pytest.mark.book

CHANCE = math.log(4)  # the loss of a uniform guess over four classes


@pytest.fixture(scope="module")
def glued(built_book):
    path = built_book.out / "_build" / "jupyter_execute" / "chapters" / "02-saturation.glue.json"
    records = json.loads(path.read_text())
    return {name: ast.literal_eval(rec["data"]["text/plain"]) for name, rec in records.items()}


def grid(glued, act):
    return np.array(glued[f"sat_gb_lrs_{act}"]), np.array(glued[f"sat_gb_scores_{act}"])


def test_sigmoid_best_rate_is_inside_the_grid_and_best_on_the_mean(glued):
    lrs, scores = grid(glued, "sigmoid")
    means = scores.mean(axis=1)
    best = int(np.argmin(means))
    assert scores.shape == (3, 3)  # three rates, three seeds: the table the text describes
    assert lrs[best] == glued["sat_best_lr"]
    assert 0 < best < len(lrs) - 1, "the text says the best rate lies inside the grid"
    # "the rate ... has the lowest mean final loss": strictly, against every other rate
    assert all(means[best] < means[i] for i in range(len(lrs)) if i != best)


def test_sigmoid_grid_claims_hold_for_every_seed(glued):
    lrs, scores = grid(glued, "sigmoid")
    best = int(np.argmin(scores.mean(axis=1)))
    # "the spread supports more than the mean": every seed at the best rate beats every
    # seed at the other rates
    others = np.delete(scores, best, axis=0)
    assert scores[best].max() < others.min()
    # at the lowest rate every seed is still on the plateau at ln 4 ...
    assert np.all(np.abs(scores[0] - CHANCE) < 0.05)
    # ... and at the highest every seed ends above ln 4
    assert np.all(scores[-1] > CHANCE)
    # the best rate has left the plateau: well below ln 4 on the mean
    assert scores[best].mean() < CHANCE - 0.5


def test_tanh_control_beats_the_sigmoid_in_every_seed(glued):
    _, sig = grid(glued, "sigmoid")
    _, tanh = grid(glued, "tanh")
    sig_best = sig[int(np.argmin(sig.mean(axis=1)))]
    tanh_best = tanh[int(np.argmin(tanh.mean(axis=1)))]
    assert tanh_best.mean() < sig_best.mean()
    assert tanh_best.max() < sig_best.min(), "the text says tanh's worst seed beats the sigmoid's best"


def test_top_layer_saturates_then_leaves_and_tanh_does_not(glued):
    # at the best rate the top hidden layer falls below 0.05 and later climbs well above
    # its minimum, while the network learns (the later phase of Glorot and Bengio)
    assert glued["sat_gb_top_below_best"] >= 0
    assert glued["sat_gb_top_min"] < 0.05
    assert glued["sat_gb_top_end"] > 3 * glued["sat_gb_top_min"]
    # at the highest rate the top layer stays saturated, at the lowest it never saturates
    assert glued["sat_gb_sat_high"] > 0.9
    assert glued["sat_gb_sat_low"] < 0.01
    # the first layer learns only where the top layer leaves saturation
    assert glued["sat_gb_g1_best"] > 100 * glued["sat_gb_g1_high"]
    # the tanh control's top layer stays centred and hardly saturated at its best rate
    assert glued["sat_gb_tanh_absmean"] < 0.25
    assert glued["sat_gb_tanh_sat"] < 0.05
