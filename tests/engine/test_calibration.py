"""ece, mce and the reliability table (SPEC §11).

Oracle: tests/data/calibration_values.json, written by tools/calibration_values.py, which
calls torchmetrics' BinaryCalibrationError / MulticlassCalibrationError (norm l1 and max)
and scikit-learn's calibration_curve(strategy='uniform') on shared cases whose confidences
keep away from bin edges; weighted cases give torchmetrics the rows repeated. Edges, c = 1,
fractional weights and class weights are worked by hand below.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import losscli
from losscli.errors import InputError

DOC = json.loads((Path(__file__).parents[1] / "data" / "calibration_values.json").read_text())
CASES = DOC["cases"]


def _evaluate(case: dict, **extra: object) -> losscli.EvaluationResult:
    weights = None if case["weights"] is None else np.array(case["weights"])
    return losscli.evaluate(
        np.array(case["preds"]),
        np.array(case["labels"]),
        losses=["ece", "mce"],
        task=case["task"],
        sample_weight=weights,
        **case["options"],
        **extra,
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_ece_and_mce_equal_torchmetrics(case):
    result = _evaluate(case)
    for name in ("ece", "mce"):
        assert result.losses[name] == pytest.approx(case["values"][name], rel=1e-12, abs=0)
    # torchmetrics' multiclass class as shipped rounds its confidences to float32
    for name, value in case.get("float32_values", {}).items():
        assert result.losses[name] == pytest.approx(value, abs=1e-6)


@pytest.mark.parametrize(
    "case", [c for c in CASES if "calibration_curve" in c], ids=lambda c: c["name"]
)
def test_reliability_table_equals_calibration_curve_apart_from_empty_bins(case):
    result = _evaluate(case, calibration=True)
    table = result.calibration
    bins = case["options"]["calibration_bins"]
    assert [e["bin"] for e in table] == list(range(1, bins + 1))
    full = [e for e in table if e["sum_weights"] > 0]
    curve = case["calibration_curve"]
    assert len(full) == len(curve["prob_true"])
    assert [e["confidence"] for e in full] == pytest.approx(curve["prob_pred"], rel=1e-12)
    assert [e["accuracy"] for e in full] == pytest.approx(curve["prob_true"], rel=1e-12)
    for e in table:
        if e["sum_weights"] == 0:
            assert e["n_samples"] == 0 and e["confidence"] is None and e["accuracy"] is None
    rows = len(case["preds"])
    assert sum(e["n_samples"] for e in table) == rows
    assert sum(e["sum_weights"] for e in table) == pytest.approx(result.sum_weights, rel=1e-12)
    assert table[0]["low"] == 0.0 and table[-1]["high"] == 1.0


def test_confidences_on_edges_open_their_bin_and_one_falls_in_the_last():
    # B = 4, edges 0, .25, .5, .75, 1: c = .25 opens bin 2, .5 bin 3, 1 stays in bin 4
    c = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 0.1])
    y = np.array([0, 1, 1, 0, 1, 0])
    result = losscli.evaluate(c, y, losses=["ece", "mce"], calibration_bins=4, calibration=True)
    assert [e["n_samples"] for e in result.calibration] == [2, 1, 1, 2]
    # bin 1 {0, .1}: conf .05, acc 0; bin 2 {.25}: acc 1; bin 3 {.5}: acc 1;
    # bin 4 {.75, 1}: conf .875, acc .5
    gaps = [0.05, 0.75, 0.5, 0.375]
    weights = [2, 1, 1, 2]
    assert result.losses["ece"] == pytest.approx(np.dot(gaps, weights) / 6, rel=1e-15)
    assert result.losses["mce"] == pytest.approx(0.75, rel=1e-15)
    # 0.3 is an edge of 10 bins as written (3/10), though np.linspace puts it at 0.30000000000000004
    ten = losscli.evaluate(
        [0.3, 0.7], [1, 0], losses=["ece"], calibration_bins=10, calibration=True
    )
    assert [e["bin"] for e in ten.calibration if e["n_samples"]] == [4, 8]


def test_fractional_sample_weights_by_hand():
    # B = 2: bin 1 {.2 (w 1), .4 (w 3)}: W 4, conf 1.4/4, acc 3/4; bin 2 {.9 (w .5)}: acc 1
    c, y, w = np.array([0.2, 0.4, 0.9]), np.array([0, 1, 1]), np.array([1.0, 3.0, 0.5])
    result = losscli.evaluate(c, y, losses=["ece", "mce"], sample_weight=w, calibration_bins=2)
    assert result.losses["ece"] == pytest.approx((4 * 0.4 + 0.5 * 0.1) / 4.5, rel=1e-14)
    assert result.losses["mce"] == pytest.approx(0.4, rel=1e-14)


def test_class_weights_weigh_rows_as_sample_weights_do():
    case = next(c for c in CASES if c["name"] == "multiclass P, 15 bins")
    labels = np.array(case["labels"]).astype(int)
    cw = {"0": 1.0, "1": 2.5, "2": 0.5, "3": 4.0}
    by_class = _evaluate(case, class_weight=cw)
    by_rows = losscli.evaluate(
        np.array(case["preds"]), labels, losses=["ece", "mce"],
        sample_weight=np.array([cw[str(k)] for k in labels]), calibration_bins=15,
    )  # fmt: skip
    for name in ("ece", "mce"):
        assert by_class.losses[name] == pytest.approx(by_rows.losses[name], rel=1e-12)


def test_soft_binary_targets_count_as_observed_rates():
    # a = y in [0, 1]: bin 1 {.1 (y .2), .3 (y .6)} conf .2 acc .4; bin 2 {.8 (y 1)}: .2
    result = losscli.evaluate(
        [0.1, 0.3, 0.8], [0.2, 0.6, 1.0], losses=["ece"], task="binary", calibration_bins=2
    )
    assert result.losses["ece"] == pytest.approx((2 * 0.2 + 0.2) / 3, rel=1e-14)


def test_streamed_threaded_and_sliced_values_equal_the_whole():
    case = next(c for c in CASES if c["name"] == "binary p, 15 bins")
    p, y = np.array(case["preds"]), np.array(case["labels"])
    whole = losscli.evaluate(p, y, losses=["ece", "mce"], calibration=True)
    chunks = ((p[i : i + 37], y[i : i + 37]) for i in range(0, len(p), 37))
    streamed = losscli.evaluate_stream(chunks, losses=["ece", "mce"], threads=2, calibration=True)
    for name in ("ece", "mce"):
        assert streamed.losses[name] == pytest.approx(whole.losses[name], rel=1e-12)
    assert [e["n_samples"] for e in streamed.calibration] == [
        e["n_samples"] for e in whole.calibration
    ]
    group = np.where(np.arange(len(p)) % 3 == 0, "a", "b")
    sliced = losscli.evaluate(p, y, losses=["ece", "mce"], by={"g": group})
    for key in ("a", "b"):
        alone = losscli.evaluate(p[group == key], y[group == key], losses=["ece", "mce"])
        found = next(g for g in sliced.slices[0].groups if g.key == {"g": key})
        for name in ("ece", "mce"):
            assert found.losses[name] == pytest.approx(alone.losses[name], rel=1e-12)


def test_paired_comparison_ece_by_both_methods_and_mce_by_bootstrap_only():
    case = next(c for c in CASES if c["name"] == "binary p, 15 bins")
    p, y = np.array(case["preds"]), np.array(case["labels"])
    q = np.clip(p**1.4, 1e-6, 1 - 1e-6)  # the rate the labels were drawn at: better calibrated
    models = {"a": p, "b": q}
    for method in ("bootstrap", "normal"):
        out = losscli.compare(models, y, losses=["ece", "mce"] if method == "bootstrap" else ["ece"],
                              method=method, n_resamples=200)  # fmt: skip
        for c in out.comparisons:
            assert c.difference == pytest.approx(
                out.models["b"].losses[c.loss] - out.models["a"].losses[c.loss], abs=1e-15
            )
            assert c.ci[0] <= c.ci[1] and c.method == method
    with pytest.raises(InputError, match="mce is a maximum over bins") as e:
        losscli.compare(models, y, losses=["mce"], method="normal")
    assert "method='bootstrap'" in str(e.value)
    # the same predictions: d = 0 exactly, in every resample too
    same = losscli.compare({"a": p, "b": p.copy()}, y, losses=["ece", "mce"], n_resamples=50)
    assert all(c.difference == 0 and c.ci == (0.0, 0.0) for c in same.comparisons)


def test_ece_gradient_matches_finite_differences():
    from losscli.engine.options import Options
    from losscli.engine.stats import Calibration

    rng = np.random.default_rng(3)
    bins = 5
    base = list(rng.uniform(1, 5, 3 * bins))
    delta = list(rng.normal(0, 0.1, 3 * bins))
    o = Options.build(calibration_bins=bins)
    stat = Calibration("calibration", norm="l1")
    _, _, g_base, g_delta = stat.gradient(0.0, [], base, delta, o)
    h = 1e-6
    for j in range(3 * bins):
        for grad, which in ((g_base, "base"), (g_delta, "delta")):
            up = [list(base), list(delta)]
            up[0 if which == "base" else 1][j] += h
            num = (stat.difference(0.0, [], *up, o) - stat.difference(0.0, [], base, delta, o)) / h
            assert grad[j] == pytest.approx(float(num), abs=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calibration_bins": 0}, "calibration_bins is 0; it must be a whole number >= 1"),
        ({"calibration_bins": 2.5}, "calibration_bins is 2.5; it must be a whole number >= 1"),
        ({"calibration_bins": 10**6}, "at most 10,000"),
        ({"losses": ["bce"], "calibration_bins": 10}, "calibration_bins shapes none of the losses"),
        ({"losses": ["ece"], "task": "regression"}, "ece does not apply to a regression task"),
        ({"losses": ["ece"], "convention": "sklearn"}, "sklearn has no ece"),
        ({"calibration": True, "task": "regression", "losses": None}, "calibration applies to"),
    ],
)
def test_bad_options_are_errors(kwargs, message):
    kwargs.setdefault("losses", ["ece"])
    with pytest.raises(InputError, match=message):
        losscli.evaluate(np.array([0.2, 0.7]), np.array([0, 1]), **kwargs)


def test_ece_needs_probabilities_unless_from_logits():
    with pytest.raises(InputError, match=r"ece needs probabilities in \[0, 1\], found 1.5"):
        losscli.evaluate([0.2, 1.5], [0, 1], losses=["ece"])
    z = np.array([-2.0, 0.5, 3.0])
    logits = losscli.evaluate(z, [0, 1, 1], losses=["ece"], from_logits=True)
    probs = losscli.evaluate(1 / (1 + np.exp(-z)), [0, 1, 1], losses=["ece"])
    assert logits.losses["ece"] == pytest.approx(probs.losses["ece"], rel=1e-14)


def test_ece_is_not_in_the_default_set_and_has_no_per_sample_value():
    result = losscli.evaluate([0.2, 0.7], [0, 1])
    assert "ece" not in result.losses and result.calibration is None
    none = losscli.evaluate([0.2, 0.7], [0, 1], losses=["bce", "ece"], reduction="none")
    assert list(none.per_sample) == ["bce"]
    with pytest.raises(InputError, match="ece has no value per row"):
        losscli.evaluate([0.2, 0.7], [0, 1], losses=["ece"], by={"g": ["a", "b"]}, worst=1)


def test_class_weights_with_label_rows_equal_class_indices():
    case = next(c for c in CASES if c["name"] == "multiclass P, 7 bins")
    P, c = np.array(case["preds"]), np.array(case["labels"]).astype(int)
    rows = np.eye(P.shape[1])[c]  # the same labels as one-hot rows (one label column each)
    cw = {"0": 2.0, "1": 0.5, "2": 1.0, "3": 3.0}
    by_index = losscli.evaluate(P, c, losses=["ece", "mce"], class_weight=cw, calibration_bins=7)
    by_rows = losscli.evaluate(P, rows, losses=["ece", "mce"], class_weight=cw, calibration_bins=7)
    for name in ("ece", "mce"):
        assert by_rows.losses[name] == pytest.approx(by_index.losses[name], rel=1e-12)
