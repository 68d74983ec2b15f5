"""Tests for gradlab.history: the timeline against the bibliography, and the one-unit latch.

The timeline is checked against ``references.bib`` read by pybtex (an independent
parser). The latch is checked against closed forms (the inverse of the fixed-point
equation, w = atanh(h)/h), central finite differences of an independent numpy
recursion in float64, and a Monte-Carlo estimate with a bound from its sample size.
"""

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from pybtex.database import parse_file

from gradlab.history import (
    KINDS,
    Event,
    LatchRun,
    draw_timeline,
    latch_fixed_point,
    latch_retention,
    latch_run,
    timeline,
)

BIB = parse_file(str(Path(__file__).resolve().parent.parent / "references.bib"))
_RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _ax():
    fig, ax = plt.subplots()
    return ax


def _recursion(w, h0, x):
    """h_t = tanh(w h_{t-1} + x_t), written out independently of gradlab.nn.RNN."""
    h = np.empty(len(x))
    prev = h0
    for t, xt in enumerate(x):
        prev = math.tanh(w * prev + xt)
        h[t] = prev
    return h


BAD_INPUT_CASES = [
    ("gradlab.history.Event", lambda: Event(1943, "x"), TypeError, "missing"),
    ("gradlab.history.timeline", lambda: timeline("fix"), ValueError, "kind must be one of"),
    ("gradlab.history.timeline", lambda: timeline(1), ValueError, "kind must be one of"),
    ("gradlab.history.draw_timeline", lambda: draw_timeline("ax"), TypeError, "ax must be a matplotlib Axes"),
    ("gradlab.history.draw_timeline", lambda: draw_timeline(_ax(), []), ValueError, "events must be a non-empty"),
    ("gradlab.history.draw_timeline", lambda: draw_timeline(_ax(), [1943]), TypeError, r"events\[0\] must be an Event"),
    ("gradlab.history.draw_timeline", lambda: draw_timeline(_ax(), timeline(), first=1950), ValueError, "enclose"),
    ("gradlab.history.draw_timeline",
     lambda: draw_timeline(_ax(), [timeline()[0]._replace(kind="idea")]), ValueError, r"events\[0\]\.kind must be one of"),
    ("gradlab.history.latch_fixed_point", lambda: latch_fixed_point(-0.5), ValueError, "w must be a finite number >= 0"),
    ("gradlab.history.latch_fixed_point", lambda: latch_fixed_point("2"), TypeError, "w must be a real number"),
    ("gradlab.history.latch_fixed_point", lambda: latch_fixed_point(float("inf")), ValueError, "w must be a finite"),
    ("gradlab.history.LatchRun", lambda: LatchRun(np.zeros(2)), TypeError, "missing"),
    ("gradlab.history.latch_run", lambda: latch_run(2.0, 0, _RNG), ValueError, "steps must be a positive int"),
    ("gradlab.history.latch_run", lambda: latch_run(2.0, 5, 42), TypeError, "rng must be a numpy.random.Generator"),
    ("gradlab.history.latch_run", lambda: latch_run(2.0, 5, _RNG, noise=-0.1), ValueError, "noise must be a finite number >= 0"),
    ("gradlab.history.latch_run", lambda: latch_run(2.0, 5, _RNG, n_sequences=0), ValueError, "n_sequences"),
    ("gradlab.history.latch_retention", lambda: latch_retention(1.5, 10, 0.0), ValueError, "noise must be a finite number > 0"),
    ("gradlab.history.latch_retention", lambda: latch_retention(1.5, 10, 0.1, grid=601), ValueError, "grid must be an even"),
    ("gradlab.history.latch_retention", lambda: latch_retention(1.5, 10, 0.01, grid=100), ValueError, "narrower than noise/2"),
    ("gradlab.history.latch_retention", lambda: latch_retention(1.5, 2.5, 0.1), TypeError, "steps must be an int"),
]


@pytest.mark.parametrize(
    "name, call, exc, match", BAD_INPUT_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUT_CASES)]
)
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------------
# the timeline against references.bib
# --------------------------------------------------------------------------
def _surname(person):
    return " ".join(person.last_names).replace("{", "").replace("}", "")


def test_every_key_is_in_the_bibliography_and_every_year_matches():
    for e in timeline():
        assert e.key in BIB.entries, e.key
        assert int(BIB.entries[e.key].fields["year"]) == e.year, (e.key, e.year)


def test_authors_as_cited_match_the_bibliography():
    for e in timeline():
        authors = [_surname(p) for p in BIB.entries[e.key].persons["author"]]
        if e.who.endswith(" et al."):
            assert e.who[: -len(" et al.")] == authors[0] and len(authors) >= 3, (e.who, authors)
        else:
            named = e.who.replace(" and ", ", ").split(", ")
            assert named == authors, (e.who, authors)


def test_mcculloch_and_pitts_published_in_1943_not_1944():
    # the source note dates neural networks to 1944
    first = timeline()[0]
    assert (first.who, first.year) == ("McCulloch and Pitts", 1943)


def test_the_events_the_chapter_promises():
    years = {(e.year, e.key) for e in timeline()}
    for pair in [(1943, "mcculloch1943logical"), (1986, "rumelhart1986learning"),
                 (1991, "hochreiter1991untersuchungen"), (1994, "bengio1994learning"),
                 (1997, "hochreiter1997long"), (2010, "glorot2010understanding"),
                 (2010, "nair2010rectified"), (2011, "glorot2011deep"), (2013, "pascanu2013difficulty"),
                 (2015, "ioffe2015batch"), (2015, "he2015delving"), (2016, "he2016deep"),
                 (2017, "klambauer2017self")]:
        assert pair in years, pair


def test_table_is_sorted_short_and_one_line():
    events = timeline()
    assert [e.year for e in events] == sorted(e.year for e in events)
    assert len({e.key for e in events}) == len(events)
    for e in events:
        assert isinstance(e.year, int) and e.kind in KINDS
        assert 0 < len(e.title) <= 30, e.title
        assert "\n" not in e.why and 20 <= len(e.why) <= 100, e.why
        assert e.why.endswith(".")


def test_timeline_filters_by_kind_and_partitions():
    parts = [timeline(k) for k in KINDS]
    assert sum(len(p) for p in parts) == len(timeline())
    for k, part in zip(KINDS, parts):
        assert part and all(e.kind == k for e in part)


def test_draw_timeline_puts_markers_at_the_years_and_spaces_labels_evenly():
    ax = _ax()
    events = timeline()
    labels = draw_timeline(ax, events)
    assert len(labels) == len(events)
    assert ax.get_ylim() == (2020, 1940)  # years increase downwards
    marker_years = sorted(float(line.get_ydata()[0]) for line in ax.get_lines() if line.get_marker() not in ("None", ""))
    assert marker_years == sorted(float(e.year) for e in events)
    slots = np.array([lab.xy[1] for lab in labels])
    assert np.allclose(np.diff(slots), np.diff(slots)[0]) and np.diff(slots)[0] > 0
    for lab, e in zip(labels, events):
        assert lab.get_text().startswith(f"{e.year}  {e.title}")
    # every kind in the legend, each with its own marker shape
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == list(KINDS)
    shapes = {h.get_marker() for h in legend.legend_handles}
    assert len(shapes) == len(KINDS)


def test_draw_timeline_with_a_subset_and_one_event():
    ax = _ax()
    assert len(draw_timeline(ax, timeline("diagnosis"), first=1990, last=2010)) == 3
    ax = _ax()
    assert len(draw_timeline(ax, timeline()[:1])) == 1


# --------------------------------------------------------------------------
# the fixed point and its factor
# --------------------------------------------------------------------------
def test_fixed_point_inverts_the_closed_form_w_of_h():
    # h = tanh(w h) has, for a given h in (0, 1), exactly one w: w = atanh(h) / h.
    for h in [0.01, 0.2, 0.5, 0.8, 0.95, 0.999]:
        w = math.atanh(h) / h
        h_star, factor = latch_fixed_point(w)
        assert h_star == pytest.approx(h, rel=1e-12)
        assert factor == pytest.approx(w * (1 - h * h), rel=1e-10)


def test_factor_is_the_derivative_of_the_map_and_below_one():
    for w in [1.01, 1.3, 2.0, 4.0]:
        h_star, factor = latch_fixed_point(w)
        eps = 1e-6
        fd = (math.tanh(w * (h_star + eps)) - math.tanh(w * (h_star - eps))) / (2 * eps)
        assert factor == pytest.approx(fd, rel=1e-8)
        assert 0 < factor < 1
        assert h_star == pytest.approx(math.tanh(w * h_star), abs=1e-15)


def test_fixed_point_limits():
    assert latch_fixed_point(0.0) == (0.0, 0.0)
    assert latch_fixed_point(1.0) == (0.0, 1.0)
    # near w = 1: tanh(wh) = wh - (wh)^3/3 + ..., so h*^2 = 3 (w - 1)/w^3 + O((w - 1)^2)
    for d in [1e-10, 1e-7, 1e-4]:
        h, lam = latch_fixed_point(1 + d)
        assert h * h == pytest.approx(3 * d / (1 + d) ** 3, rel=5 * d + 1e-6)
        assert lam == pytest.approx(1 - 2 * d, rel=10 * d * d + 1e-12)
    # large w: h* = 1 - 2 exp(-2w) + O(w exp(-4w)), factor = w (1 - h*^2) ~ 4 w exp(-2w)
    h, lam = latch_fixed_point(8.0)
    assert 1 - h == pytest.approx(2 * math.exp(-16), rel=1e-5)
    assert lam == pytest.approx(4 * 8 * math.exp(-16), rel=1e-5)


# --------------------------------------------------------------------------
# back-propagation through time of the latch
# --------------------------------------------------------------------------
def test_latch_run_states_follow_the_recursion():
    w, steps = 1.7, 25
    run = latch_run(w, steps, np.random.default_rng(3), noise=0.2, n_sequences=3)
    # the same draws: a fresh generator with the same seed gives the same noise
    x = 0.2 * np.random.default_rng(3).standard_normal((steps, 3, 1))
    assert run.states.shape == run.input_grads.shape == (steps, 3)
    h_star = latch_fixed_point(w)[0]
    for b in range(3):
        np.testing.assert_allclose(run.states[:, b], _recursion(w, h_star, x[:, b, 0]), rtol=0, atol=1e-15)


def test_latch_run_gradients_match_central_differences():
    w, steps, noise = 1.4, 12, 0.3
    run = latch_run(w, steps, np.random.default_rng(5), noise=noise, n_sequences=2)
    x = noise * np.random.default_rng(5).standard_normal((steps, 2, 1))
    h_star = latch_fixed_point(w)[0]
    # error of the central difference: truncation eps^2 |f'''|/6 < 1e-12, rounding about
    # 1e-16 / eps = 1e-10 (h_T is of order one)
    eps = 1e-6
    for b in range(2):
        for k in range(steps):
            t = steps - 1 - k
            up, down = x[:, b, 0].copy(), x[:, b, 0].copy()
            up[t] += eps
            down[t] -= eps
            fd = (_recursion(w, h_star, up)[-1] - _recursion(w, h_star, down)[-1]) / (2 * eps)
            assert run.input_grads[k, b] == pytest.approx(fd, rel=1e-7, abs=1e-9)


def test_latch_run_without_noise_sits_at_the_fixed_point():
    w = 2.5
    h_star, lam = latch_fixed_point(w)
    run = latch_run(w, 20, np.random.default_rng(0), noise=0.0)
    np.testing.assert_allclose(run.states[:, 0], h_star, rtol=1e-15)
    np.testing.assert_allclose(run.input_grads[:, 0], (1 - h_star**2) * lam ** np.arange(20), rtol=1e-12)


# --------------------------------------------------------------------------
# retention of the bit
# --------------------------------------------------------------------------
def _normal_cdf(z):
    return 0.5 * math.erfc(-z / math.sqrt(2))


def test_retention_after_one_step_is_a_normal_probability():
    # h_1 > 0 exactly when x_1 > -w h*, so P = Phi(w h* / s)
    for w, s in [(1.1, 0.3), (1.5, 0.5), (2.0, 1.0)]:
        h_star = latch_fixed_point(w)[0]
        assert latch_retention(w, 1, s) == pytest.approx(_normal_cdf(w * h_star / s), abs=1e-12)


def test_retention_is_one_half_without_a_stable_state():
    for w in [0.0, 0.5, 1.0]:
        assert latch_retention(w, 50, 0.2) == pytest.approx(0.5, abs=1e-12)


def test_retention_matches_monte_carlo_within_its_sampling_error():
    # independent simulation, all sequences at once; the bound is 4 binomial standard
    # errors plus the grid's discretisation error (below 1e-3, next test)
    rng = np.random.default_rng(11)
    n, steps = 20000, 60
    for w, s in [(1.1, 0.1), (1.2, 0.15)]:
        h = np.full(n, latch_fixed_point(w)[0])
        for _ in range(steps):
            h = np.tanh(w * h + s * rng.standard_normal(n))
        mc = float((h > 0).mean())
        p = latch_retention(w, steps, s)
        assert 0.55 < p < 0.99  # a case where the answer is neither trivial nor certain
        assert abs(p - mc) < 4 * math.sqrt(p * (1 - p) / n) + 1e-3, (w, s, p, mc)


def test_retention_converges_with_the_grid_and_decreases_with_time():
    coarse, fine = latch_retention(1.1, 80, 0.1, grid=600), latch_retention(1.1, 80, 0.1, grid=1200)
    assert abs(coarse - fine) < 1e-3
    values = [latch_retention(1.1, t, 0.1) for t in (10, 40, 160)]
    assert values[0] > values[1] > values[2] > 0.5
