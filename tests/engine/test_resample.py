"""Paired comparisons (losscli.engine.resample): exact zero for identical models, coverage of
the intervals by simulation against differences known in closed form, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest

from losscli import evaluate
from losscli.engine.options import Options
from losscli.engine.registry import LOSSES
from losscli.engine.resample import (
    Moments,
    _difference,
    _gradient,
    choose_method,
    compare,
    holm,
    paired_terms,
    resample_counts,
)
from losscli.errors import InputError

METHODS = ("bootstrap", "normal")


def specs(*names: str) -> list:
    return [LOSSES[n] for n in names]


def by_loss(comparisons, model: int = 1) -> dict:
    return {c.loss: c for c in comparisons if c.model == model}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --- identical predictions ----------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_identical_binary_predictions_give_exact_zero(rng, method):
    n = 257
    y = rng.integers(0, 2, n)
    p = rng.uniform(0, 1, n)
    w = rng.uniform(0.1, 3, n)
    names = ("mse", "rmse", "mae", "bce", "focal", "dice", "hinge")
    terms = paired_terms(
        "binary",
        specs(*names),
        Options.build(class_weight="balanced"),
        [p, p.copy(), p.copy()],
        y,
        w,
    )
    out = compare(terms, method=method, seed=3)
    assert len(out) == 2 * len(names)
    for c in out:
        assert c.difference == 0.0
        assert c.ci == (0.0, 0.0)
        assert c.p_value == 1.0
        assert c.method == method


@pytest.mark.parametrize("method", METHODS)
def test_identical_multiclass_and_regression_give_exact_zero(rng, method):
    P = rng.dirichlet(np.ones(4), 100)
    y = rng.integers(0, 4, 100)
    terms = paired_terms(
        "multiclass", specs("ce", "kl", "mse", "rmse"), Options.build(), [P, P.copy()], y
    )
    yr, pr = rng.normal(size=(80, 2)), rng.normal(size=(80, 2))
    terms_r = paired_terms(
        "regression", specs("mse", "rmse", "huber"), Options.build(), [pr, pr.copy()], yr
    )
    for c in compare(terms, method=method) + compare(terms_r, method=method):
        assert (c.difference, c.ci, c.p_value) == (0.0, (0.0, 0.0), 1.0)


# --- point values agree with evaluate() ---------------------------------------------------


def test_differences_equal_evaluate_differences(rng):
    n = 400
    y = rng.integers(0, 2, n)
    pa, pb = rng.uniform(0.01, 0.99, n), rng.uniform(0.01, 0.99, n)
    w = rng.uniform(0.5, 2, n)
    names = ["mse", "rmse", "mae", "bce", "dice"]
    opts = dict(class_weight={"1": 3.0})
    terms = paired_terms("binary", specs(*names), Options.build(**opts), [pa, pb], y, w)
    got = by_loss(compare(terms, method="normal"))
    ra = evaluate(pa, y, names, sample_weight=w, **opts).losses
    rb = evaluate(pb, y, names, sample_weight=w, **opts).losses
    for name in names:
        # oracle: evaluate() on each model, an independent path through the accumulators
        assert got[name].difference == pytest.approx(rb[name] - ra[name], rel=1e-10, abs=1e-14)


# --- coverage by simulation ----------------------------------------------------------------

REPS = 240
N = 300


def _regression_sample(rng):
    """e_A ~ N(0, 1), e_B = 0.8·e_A + 0.3·z: paired, Var(e_B) = 0.73."""
    y = rng.normal(size=N)
    ea = rng.normal(size=N)
    eb = 0.8 * ea + 0.3 * rng.normal(size=N)
    return y, [y + ea, y + eb], None


# closed form: mse = σ², mae = σ·√(2/π)
REGRESSION_TRUTH = {
    "mse": 0.73 - 1.0,
    "mae": (math.sqrt(0.73) - 1.0) * math.sqrt(2.0 / math.pi),
    "rmse": math.sqrt(0.73) - 1.0,
}

# x uniform on a grid, P(y = 1 | x) = σ(x); A predicts σ(0.5x), B predicts σ(x + 0.4)
GRID = np.linspace(-3.0, 3.0, 13)


def _bce_population(p: np.ndarray) -> float:
    pi = sigmoid(GRID)
    return float(np.mean(-(pi * np.log(p) + (1 - pi) * np.log(1 - p))))


BCE_TRUTH = _bce_population(sigmoid(GRID + 0.4)) - _bce_population(sigmoid(0.5 * GRID))


def _dice_population(p: np.ndarray) -> float:
    """Dice of the expected sums of N rows (σ = 1 is part of the statistic)."""
    pi = sigmoid(GRID)
    py, sp, sy = N * np.mean(p * pi), N * np.mean(p), N * np.mean(pi)
    return float(1 - (2 * py + 1) / (sp + sy + 1))


DICE_TRUTH = _dice_population(sigmoid(GRID + 0.4)) - _dice_population(sigmoid(0.5 * GRID))


def _binary_sample(rng):
    x = rng.choice(GRID, N)
    y = (rng.uniform(size=N) < sigmoid(x)).astype(float)
    return y, [sigmoid(0.5 * x), sigmoid(x + 0.4)], None


def _coverage(sample, task, truth, method, seed, weighted=False):
    rng = np.random.default_rng(seed)
    hits = dict.fromkeys(truth, 0)
    for rep in range(REPS):
        y, preds, _ = sample(rng)
        # weights independent of the errors leave the population difference unchanged
        w = rng.uniform(0.2, 2.0, N) if weighted else None
        terms = paired_terms(task, specs(*truth), Options.build(), preds, y, w)
        for c in compare(terms, method=method, n_resamples=500, seed=rep):
            hits[c.loss] += c.ci[0] <= truth[c.loss] <= c.ci[1]
    return {k: v / REPS for k, v in hits.items()}


@pytest.mark.parametrize("method", METHODS)
def test_coverage_mse_mae_rmse(method):
    cov = _coverage(_regression_sample, "regression", REGRESSION_TRUTH, method, 11)
    print(f"coverage {method}: {cov}")
    for loss, value in cov.items():
        assert 0.90 <= value <= 0.99, (loss, value)


@pytest.mark.parametrize("method", METHODS)
def test_coverage_mse_weighted(method):
    truth = {"mse": REGRESSION_TRUTH["mse"]}
    cov = _coverage(_regression_sample, "regression", truth, method, 12, weighted=True)
    print(f"coverage weighted {method}: {cov}")
    assert 0.90 <= cov["mse"] <= 0.99


@pytest.mark.parametrize("method", METHODS)
def test_coverage_bce_dice(method):
    truth = {"bce": BCE_TRUTH, "dice": DICE_TRUTH}
    cov = _coverage(_binary_sample, "binary", truth, method, 13)
    print(f"coverage {method}: {cov}")
    for loss, value in cov.items():
        assert 0.90 <= value <= 0.99, (loss, value)


# --- power, reproducibility -------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_clearly_better_model_is_significant(rng, method):
    y = rng.normal(size=200)
    good, bad = y + 0.3 * rng.normal(size=200), y + 1.5 * rng.normal(size=200)
    terms = paired_terms("regression", specs("mse", "rmse", "mae"), Options.build(), [bad, good], y)
    for c in compare(terms, method=method, seed=0):
        assert c.difference < 0
        assert c.ci[1] < 0
        assert c.p_value < 0.01


def test_same_seed_same_numbers_different_seed_close(rng):
    y = rng.integers(0, 2, 300)
    pa, pb = rng.uniform(0.05, 0.95, 300), rng.uniform(0.05, 0.95, 300)
    terms = paired_terms("binary", specs("bce", "dice"), Options.build(), [pa, pb], y)
    one = compare(terms, method="bootstrap", seed=7)
    two = compare(terms, method="bootstrap", seed=7)
    other = compare(terms, method="bootstrap", seed=8)
    assert one == two
    for a, b in zip(one, other, strict=True):
        assert a.ci != b.ci
        width = a.ci[1] - a.ci[0]
        assert abs(a.ci[0] - b.ci[0]) < 0.2 * width
        assert abs(a.ci[1] - b.ci[1]) < 0.2 * width
        assert abs(a.p_value - b.p_value) < 0.1


def test_bootstrap_and_normal_agree_on_moderate_n(rng):
    n = 3000
    y = rng.normal(size=n)
    a, b = y + rng.normal(size=n), y + 1.1 * rng.normal(size=n)
    terms = paired_terms("regression", specs("mse", "rmse", "mae"), Options.build(), [a, b], y)
    boot = compare(terms, method="bootstrap", n_resamples=2000, seed=1)
    norm = compare(terms, method="normal")
    for x, z in zip(boot, norm, strict=True):
        width = z.ci[1] - z.ci[0]
        assert x.ci[0] == pytest.approx(z.ci[0], abs=0.1 * width)
        assert x.ci[1] == pytest.approx(z.ci[1], abs=0.1 * width)


# --- the normal method's variance ------------------------------------------------------------


def test_normal_se_is_the_ratio_estimator_variance(rng):
    n = 500
    y = rng.normal(size=n)
    a, b = y + rng.normal(size=n), y + 0.5 * rng.normal(size=n)
    w = rng.uniform(0.1, 4, n)
    terms = paired_terms("regression", specs("mse"), Options.build(), [a, b], y, w)
    (c,) = compare(terms, method="normal", confidence=0.95)
    delta = (b - y) ** 2 - (a - y) ** 2
    d = np.sum(w * delta) / np.sum(w)
    # hand-worked: linearised ratio estimator, with the n/(n − 1) of a sample variance
    se = math.sqrt(np.sum((w * (delta - d)) ** 2) / np.sum(w) ** 2 * n / (n - 1))
    assert c.difference == pytest.approx(d, rel=1e-12)
    assert c.ci[1] - c.difference == pytest.approx(1.959963984540054 * se, rel=1e-9)
    assert c.p_value == pytest.approx(math.erfc(abs(d) / se / math.sqrt(2)), rel=1e-9)


@pytest.mark.parametrize("loss", ["rmse", "dice", "mse"])
def test_delta_method_gradient_matches_finite_differences(rng, loss):
    y = rng.integers(0, 2, 50)
    preds = [rng.uniform(0.05, 0.95, 50), rng.uniform(0.05, 0.95, 50)]
    terms = paired_terms("binary", specs(loss), Options.build(), preds, y)
    (c,) = terms.contrasts
    T = terms.columns.sum(axis=0)
    g = _gradient(c, T, T.size, terms.options)
    for i in range(T.size):
        h = 1e-6 * max(1.0, abs(T[i]))
        up, down = T.copy(), T.copy()
        up[i] += h
        down[i] -= h
        o = terms.options  # dice_smooth = 1.0, the default
        numeric = (_difference(c, up, o) - _difference(c, down, o)) / (2 * h)
        assert g[i] == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_moments_merge_equals_one_pass(rng):
    x = rng.normal(size=(1000, 4)) * [1, 10, 1e-3, 5] + [0, 1e6, 3, -2]
    whole = Moments(4).update(x)
    parts = Moments(4)
    cuts = [0, 7, 300, 301, 999, 1000]
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        parts = parts.merge(Moments(4).update(x[lo:hi]))
    # oracle: numpy.cov
    ref = np.cov(x, rowvar=False) * 1000
    # compare as correlations: off-diagonal entries are small against their scales
    scale = np.sqrt(np.outer(np.diag(ref), np.diag(ref)))
    np.testing.assert_allclose(whole.sums_covariance() / scale, ref / scale, atol=1e-12)
    np.testing.assert_allclose(parts.sums_covariance() / scale, ref / scale, atol=1e-12)
    np.testing.assert_allclose(parts.mean, x.mean(axis=0), rtol=1e-12)


# --- pieces ----------------------------------------------------------------------------------


def test_resample_counts_are_multinomial_rows():
    c = resample_counts(np.random.default_rng(0), 37, 500)
    assert c.shape == (500, 37)
    assert (c.sum(axis=1) == 37).all()
    assert c.mean() == pytest.approx(1.0)
    assert c.var() == pytest.approx(1 - 1 / 37, rel=0.05)


def test_holm_hand_worked():
    # sorted: 0.01·3 = 0.03, 0.03·2 = 0.06, max(0.06, 0.04·1) = 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    out = holm([0.02, float("nan")])
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1])


def test_choose_method():
    assert choose_method("auto", 1000) == "bootstrap"
    assert choose_method("auto", 10_000_000) == "normal"
    assert choose_method("normal", 10) == "normal"


# --- errors ----------------------------------------------------------------------------------


def _terms(rng, n=20):
    y = rng.normal(size=n)
    return paired_terms("regression", specs("mse"), Options.build(), [y, y + 1], y)


def test_fewer_than_two_models_is_an_error(rng):
    with pytest.raises(InputError, match="at least two models"):
        paired_terms("regression", specs("mse"), Options.build(), [np.zeros(3)], np.zeros(3))


def test_models_of_different_lengths_is_an_error():
    with pytest.raises(InputError, match="model 2 has 4 rows, model 1 has 3"):
        paired_terms(
            "regression", specs("mse"), Options.build(), [np.zeros(3), np.zeros(4)], np.zeros(3)
        )


@pytest.mark.parametrize("ci", [0.0, 1.0, 1.5, -0.1, float("nan")])
def test_ci_outside_unit_interval_is_an_error(rng, ci):
    with pytest.raises(InputError) as exc:
        compare(_terms(rng), confidence=ci)
    assert "--ci" in exc.value.format()  # as the CLI prints it
    assert str(exc.value).startswith("confidence is ")  # as a library caller reads it


@pytest.mark.parametrize("b", [0, -5])
def test_fewer_than_one_resample_is_an_error(rng, b):
    with pytest.raises(InputError) as exc:
        compare(_terms(rng), n_resamples=b)
    assert "--bootstrap is" in exc.value.format()
    assert "n_resamples is" in str(exc.value)


def test_reduction_other_than_mean_is_an_error():
    with pytest.raises(InputError) as exc:
        paired_terms(
            "regression",
            specs("mse"),
            Options.build(reduction="sum"),
            [np.zeros(3), np.zeros(3)],
            np.zeros(3),
        )
    assert "reduction sum" in exc.value.format()
    assert "reduction='sum' does not apply" in str(exc.value)


def test_threads_do_not_change_the_numbers(rng):
    from losscli.engine import resample

    y = rng.normal(size=5000)
    terms = paired_terms("regression", specs("mse"), Options.build(), [y + 1, y - 0.5], y)
    one = resample.bootstrap_differences(terms, 1200, seed=4, threads=1)
    two = resample.bootstrap_differences(terms, 1200, seed=4, threads=2)
    np.testing.assert_array_equal(one, two)
