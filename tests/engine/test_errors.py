"""One test per validation rule of the engine: `InputError` and what its message says
(role, 1-based row, the offending value, how to fix it), plus warnings and notes."""

from __future__ import annotations

import numpy as np
import pytest

from losscli import InputError, evaluate
from losscli.engine import kernels
from losscli.engine.weights import parse_class_weight

NAN = np.nan
P3 = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
p_bin = np.array([0.1, 0.2, 0.3])
y_bin = np.array([0, 1, 1])
y_reg = np.array([0.5, 1.7, 1.0])


def error_of(*args, **kwargs) -> InputError:
    with pytest.raises(InputError) as exc:
        evaluate(*args, **kwargs)
    return exc.value


# --- non-finite values ------------------------------------------------------------------------


def test_nan_in_preds_counts_and_names_first_row():
    e = error_of(np.array([0.1, NAN, 0.3, NAN]), np.array([0, 1, 0, 1]))
    assert e.format() == (
        "preds, row 2: 2 NaN values in preds (first at row 2). "
        "Remove those rows, or pass --nan-policy omit to drop rows with NaN."
    )
    assert (e.role, e.row) == ("preds", 2)


def test_nan_in_preds_matrix_names_column():
    P = P3.copy()
    P[2, 1] = NAN
    e = error_of(P, np.array([0, 1, 2]))
    assert "1 NaN value in preds (first at row 3)" in str(e)
    assert (e.row, e.col_index) == (3, 1)
    assert str(e).startswith("preds, column 1, row 3:")


def test_nan_in_labels():
    e = error_of(p_bin, np.array([0, NAN, 1.0]))
    assert "1 NaN value in labels (first at row 2)" in e.format()
    assert "--nan-policy omit" in e.format()
    assert (e.role, e.row) == ("labels", 2)


def test_nan_in_weights():
    e = error_of(p_bin, y_bin, sample_weight=np.array([1.0, 1.0, NAN]))
    assert "1 NaN value in weights (first at row 3)" in str(e)
    assert (e.role, e.row) == ("weights", 3)


def test_inf_in_preds():
    e = error_of(np.array([0.1, 0.2, np.inf]), y_bin)
    assert str(e) == (
        "preds, row 3: 1 infinite value in preds (first at row 3). "
        "Values must be finite (logits too); remove or fix those rows."
    )


def test_inf_in_labels():
    e = error_of(p_bin, np.array([0.0, -np.inf, 1.0]), task="regression")
    assert "1 infinite value in labels (first at row 2)" in str(e)


def test_nan_omit_drops_rows_and_says_how_many():
    p = np.array([0.1, NAN, 0.3, 0.8, 0.4])
    y = np.array([0.0, 1.0, NAN, 1.0, 0.0])
    w = np.array([1.0, 1.0, 1.0, 1.0, NAN])
    res = evaluate(p, y, losses=["bce"], sample_weight=w, nan_policy="omit", task="binary")
    assert res.n_samples == 2
    assert "omitted 3 rows with NaN (first at row 2)" in res.notes
    ref = evaluate(p[[0, 3]], y[[0, 3]], losses=["bce"], sample_weight=w[[0, 3]])
    assert res.losses["bce"] == ref.losses["bce"]


def test_nan_omit_one_row_note_is_singular():
    res = evaluate(np.array([0.1, NAN, 0.3]), y_bin, nan_policy="omit", losses=["bce"])
    assert "omitted 1 row with NaN (first at row 2)" in res.notes


def test_nan_omit_of_every_row_is_an_error():
    e = error_of(np.array([NAN, NAN]), np.array([0, 1]), nan_policy="omit")
    assert "no rows to evaluate (2 rows with NaN were omitted)" in str(e)


def test_nan_omit_row_numbers_of_later_errors_count_dropped_rows():
    # row 4 (1-based, in the input) is the bad label, after a dropped row 2
    e = error_of(
        np.array([0.1, NAN, 0.3, 0.4]), np.array([0, 1, 1, 2]), task="binary", nan_policy="omit"
    )
    assert e.row == 4
    assert "found 2" in str(e)


# --- shapes and lengths -----------------------------------------------------------------------


def test_length_mismatch_names_both_lengths():
    e = error_of(p_bin, np.array([0, 1]))
    assert "preds has 3 rows, labels has 2" in str(e)


def test_weight_length_mismatch_names_both_lengths():
    e = error_of(p_bin, y_bin, sample_weight=np.array([1.0, 2.0]))
    assert "sample_weight has 2 rows, preds has 3" in str(e)


def test_no_rows():
    e = error_of(np.array([]), np.array([]))
    assert str(e) == "no rows to evaluate. A mean over no rows is undefined."


def test_label_matrix_width_must_be_k():
    e = error_of(P3, np.array([[1, 0], [0, 1], [0, 1.0]]))
    assert "labels have 2 columns, predictions 3; one per class is needed" in str(e)


# --- probabilities ----------------------------------------------------------------------------


def test_probability_above_one_names_row_and_hints_from_logits():
    e = error_of(np.array([0.1, 1.2, -0.3]), y_bin, losses=["bce"], task="binary")
    assert e.format() == (
        "preds, row 2: bce needs probabilities in [0, 1], found 1.2. "
        "Pass --from-logits for raw scores (logits), or --loss to choose other losses."
    )


def test_negative_probability_multiclass_names_row_and_column():
    e = error_of(np.array([[0.1, 0.9], [0.5, 0.5], [1.5, -0.5]]), np.array([0, 1, 0]))
    assert (e.row, e.col_index) == (3, 0)
    assert "probabilities in [0, 1], found 1.5" in str(e)
    assert "--from-logits" in e.format()


def test_scores_outside_unit_interval_fine_for_hinge():
    s = np.array([-3.0, 2.0, 0.5])
    assert evaluate(s, y_bin, losses=["hinge", "squared_hinge"]).losses["hinge"] >= 0


def test_logits_accepted_with_from_logits():
    res = evaluate(np.array([-3.0, 2.0, 0.5]), y_bin, losses=["bce"], from_logits=True)
    assert res.losses["bce"] > 0


# --- labels -------------------------------------------------------------------------------


def test_binary_labels_outside_zero_one():
    e = error_of(p_bin, np.array([0, 1, 2]), task="binary")
    assert e.format() == (
        "labels, row 3: binary labels must be 0 and 1 (or −1 and 1), found 2. "
        "Pass --classes NEGATIVE,POSITIVE to name two other label values, "
        "or --task regression or --task multiclass if this is not a binary task."
    )


def test_binary_labels_mixing_zero_and_minus_one():
    e = error_of(p_bin, np.array([0, 1, -1]), task="binary")
    assert e.row == 3 and "found -1" in str(e)


def test_binary_labels_mixing_zero_and_minus_one_across_chunks():
    from losscli.chunks import make_accumulator
    from losscli.planning import make_plan

    plan, y = make_plan(p_bin, y_bin, ["bce"], task="binary")
    acc = make_accumulator(plan)
    acc.update(p_bin[:2], np.array([0, 1]))
    with pytest.raises(InputError, match="binary labels mix 0 and −1 as the negative class"):
        acc.update(p_bin[2:], np.array([-1]))


def test_class_index_out_of_range():
    e = error_of(P3, np.array([0, 3, 1]))
    assert str(e) == (
        "labels, row 2: class index 3 is out of range 0..2. "
        "There are 3 prediction columns, so labels are 0..2 (or class names)."
    )


def test_negative_class_index():
    e = error_of(P3, np.array([0, 1, -1]))
    assert e.row == 3 and "class index -1 is out of range 0..2" in str(e)


def test_non_integer_class_label():
    e = error_of(P3, np.array([0, 1.5, 1]))
    assert e.row == 2 and "class labels must be integers 0..2, found 1.5" in str(e)


def test_one_hot_rows_must_sum_to_one():
    e = error_of(P3, np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1.0]]), task="multiclass")
    assert e.row == 2
    assert "label rows must sum to 1 (one-hot or soft labels); row sums to 2" in str(e)


def test_label_probabilities_outside_unit_interval():
    e = error_of(P3, np.array([[1, 0, 0], [1.5, -0.5, 0], [0, 0, 1.0]]), task="multiclass")
    assert (e.row, e.col_index) == (2, 0)
    assert "label probabilities must lie in [0, 1], found 1.5" in str(e)


def test_hinge_needs_hard_labels():
    e = error_of(P3, np.array([[1, 0, 0], [0, 0.5, 0.5], [0, 0, 1.0]]), losses=["hinge"])
    assert "hinge needs one class per row, but the labels are soft" in str(e)


# --- weights --------------------------------------------------------------------------------


def test_negative_weight():
    e = error_of(p_bin, y_bin, sample_weight=np.array([1.0, -2.0, 1.0]))
    assert (
        str(e)
        == "weights, row 2: weights must be ≥ 0, found -2. Sample weights cannot be negative."
    )


def test_all_zero_weights():
    e = error_of(p_bin, y_bin, sample_weight=np.zeros(3))
    assert "the sum of weights is 0" in str(e)


def test_zero_class_weight_on_the_only_class_present():
    e = error_of(p_bin, np.array([1, 1, 1]), class_weight={1: 0})
    assert "the sum of weights is 0" in str(e)


# Regression test: failed at engine commit 272df42 — a negative class weight given to evaluate()
# as a mapping ({0: -1, 1: 4}) is accepted (parse_class_weight refuses it for the CLI,
# class_weight_vector does not check) and yields ω < 0
def test_negative_class_weight_mapping_is_refused():
    with pytest.raises(InputError) as exc:
        evaluate(p_bin, y_bin, losses=["bce"], class_weight={0: -1, 1: 4})
    assert "class-weight" in exc.value.format()  # as the CLI prints it


# Regression test: failed at engine commit 272df42 — class_weight={0: nan} is accepted and
# surfaces as the misleading 'the sum of weights is 0' instead of a class-weight error
def test_nan_class_weight_mapping_is_refused():
    with pytest.raises(InputError) as exc:
        evaluate(p_bin, y_bin, losses=["bce"], class_weight={0: float("nan")})
    assert "class-weight" in exc.value.format()  # as the CLI prints it


# --- loss names and options -------------------------------------------------------------------


def test_unknown_loss_suggests_closest():
    e = error_of(p_bin, y_bin, losses=["hueber"])
    assert str(e) == "unknown loss 'hueber'. Did you mean 'huber'? `losscli losses` lists them all."


@pytest.mark.parametrize(
    ("typo", "meant"), [("bcee", "bce"), ("focall", "focal"), ("dise", "dice")]
)
def test_unknown_loss_suggestions(typo, meant):
    assert f"Did you mean '{meant}'?" in str(error_of(p_bin, y_bin, losses=[typo]))


def test_unknown_loss_without_close_match():
    e = error_of(p_bin, y_bin, losses=["xyzzy"])
    assert "unknown loss 'xyzzy'" in str(e) and "Did you mean" not in str(e)


def test_loss_names_are_case_and_dash_insensitive_and_comma_lists():
    res = evaluate(p_bin, y_bin, losses=["BCE,Log-Loss", "pseudo-huber"])
    assert list(res.losses) == ["bce", "pseudo_huber"]


def test_loss_not_applicable_to_task():
    e = error_of(p_bin, y_reg, losses=["bce"])
    assert "bce does not apply to a regression task" in str(e)
    assert "Losses for regression: mse, rmse, mae, huber, pseudo_huber, log_cosh" in str(e)
    e = error_of(P3, np.array([0, 1, 2]), losses=["focal"])
    assert "focal does not apply to a multiclass task" in str(e)


def test_option_that_shapes_no_requested_loss():
    e = error_of(p_bin, y_bin, losses=["bce"], huber_delta=2.0)
    assert e.format() == (
        "--huber-delta shapes none of the losses requested (bce). "
        "It applies to huber, pseudo_huber; add one with --loss or leave out --huber-delta."
    )


@pytest.mark.parametrize(
    ("option", "losses"),
    [("focal_gamma", ["bce"]), ("dice_smooth", ["bce"]), ("label_smoothing", ["mse"])],
)
def test_other_options_that_shape_no_requested_loss(option, losses):
    assert "shapes none of the losses requested" in str(
        error_of(p_bin, y_bin, losses=losses, **{option: 0.5})
    )


def test_from_logits_for_regression():
    e = error_of(p_bin, y_reg, from_logits=True)
    assert "--from-logits applies to classification, but the task is regression" in e.format()
    assert str(e).startswith("from_logits applies to classification")  # the API keyword


def test_class_weight_for_regression():
    e = error_of(p_bin, y_reg, class_weight="balanced")
    assert "--class-weight applies to classification, but the task is regression" in e.format()


def test_renormalize_for_binary():
    assert "--renormalize applies to multiclass probabilities only" in (
        error_of(p_bin, y_bin, renormalize=True).format()
    )


@pytest.mark.parametrize(
    ("option", "value", "text"),
    [
        ("huber_delta", 0.0, "--huber-delta is 0.0; it must be > 0"),
        ("huber_delta", -1.0, "--huber-delta is -1.0; it must be > 0"),
        ("huber_delta", float("inf"), "--huber-delta is inf; it must be > 0"),
        ("eps", 0.0, "--eps is 0.0; it must be in (0, 0.5)"),
        ("eps", 0.5, "--eps is 0.5; it must be in (0, 0.5)"),
        ("label_smoothing", 1.0, "--label-smoothing is 1.0; it must be in [0, 1)"),
        ("label_smoothing", -0.1, "--label-smoothing is -0.1; it must be in [0, 1)"),
        ("focal_alpha", 1.5, "--focal-alpha is 1.5; it must be in [0, 1]"),
        ("focal_alpha", -0.1, "--focal-alpha is -0.1; it must be in [0, 1]"),
        ("focal_gamma", -1.0, "--focal-gamma is -1.0; it must be >= 0"),
        ("dice_smooth", -1.0, "--dice-smooth is -1.0; it must be >= 0"),
        ("reduction", "avg", "--reduction is avg; it must be mean or sum or none"),
        ("nan_policy", "drop", "--nan-policy is drop; it must be raise or omit"),
    ],
)
def test_out_of_range_options(option, value, text):
    e = error_of(p_bin, y_reg if option == "huber_delta" else y_bin, **{option: value})
    assert text in e.format()


def test_hinge_mode_must_be_known():
    assert "--hinge-mode is ww; it must be crammer-singer or weston-watkins" in (
        error_of(P3, np.array([0, 1, 2]), hinge_mode="ww").format()
    )


def test_unknown_task():
    assert "unknown task 'clustering'" in str(error_of(p_bin, y_bin, task="clustering"))


def test_unknown_option_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="unknown option"):
        evaluate(p_bin, y_bin, huber_detla=2.0)


@pytest.mark.parametrize(
    "options",
    [{"eps": 1e-300}, {"eps": 0.49}, {"label_smoothing": 0.0}, {"label_smoothing": 0.999}],
)
def test_options_at_the_edge_of_their_range_are_accepted(options):
    assert evaluate(p_bin, y_bin, losses=["bce"], **options).losses["bce"] > 0
    assert evaluate(p_bin, y_bin, losses=["focal"], focal_alpha=0.0).losses["focal"] >= 0
    assert evaluate(p_bin, y_bin, losses=["focal"], focal_alpha=1.0).losses["focal"] >= 0


# --- class weights ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bad_part"),
    [
        ("0=1,1", "1"),
        ("0=1,,1=4", ""),
        ("=3", "=3"),
        ("0=abc", "0=abc"),
        ("0=-1", "0=-1"),
        ("0=inf", "0=inf"),
        ("0=nan", "0=nan"),
        ("", ""),
    ],
)
def test_malformed_class_weight_strings(text, bad_part):
    with pytest.raises(InputError) as exc:
        parse_class_weight(text)
    assert exc.value.format() == (
        f"--class-weight '{text}' is malformed at '{bad_part}'. Pass --class-weight balanced, "
        "or CLASS=WEIGHT pairs with weights ≥ 0, such as 0=1,1=4."
    )


def test_class_weight_naming_a_class_twice():
    with pytest.raises(InputError) as exc:
        parse_class_weight("0=1, 0=2")
    assert "--class-weight names class '0' twice" in exc.value.format()


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("balanced", "balanced"),
        (" Balanced ", "balanced"),
        ("0=1,1=4", {"0": 1.0, "1": 4.0}),
        ("cat=2, dog=0.5", {"cat": 2.0, "dog": 0.5}),
        (None, None),
    ],
)
def test_class_weight_strings_parse(text, parsed):
    assert parse_class_weight(text) == parsed


def test_parsed_class_weight_feeds_evaluate(rng):
    p = rng.uniform(size=50)
    y = rng.integers(0, 2, 50)
    a = evaluate(p, y, losses=["bce"], class_weight=parse_class_weight("0=1,1=4")).losses
    b = evaluate(p, y, losses=["bce"], class_weight={0: 1, 1: 4}).losses
    assert a == b


def test_balanced_with_an_absent_class():
    e = error_of(P3, np.array([0, 1, 1]), class_weight="balanced")
    assert e.format() == (
        "--class-weight balanced needs every class in the labels; class '2' has no rows. "
        "Give explicit weights, such as --class-weight 0=1,1=4."
    )


def test_class_weight_naming_an_unknown_class():
    e = error_of(P3, np.array([0, 1, 1]), class_weight={"cat": 2})
    assert "--class-weight names class 'cat', which is not one of 0, 1, 2 (or 0..2)" in e.format()
    e = error_of(P3, np.array([0, 1, 1]), class_weight={5: 2})
    assert "names class '5'" in e.format()
    e = error_of(P3, np.array([0, 1, 1]), classes=["a", "b", "c"], class_weight={"d": 1})
    assert "not one of a, b, c (or 0..2)" in e.format()


# --- rows that do not sum to 1 ----------------------------------------------------------------


def _unnormalized(rng):
    P = rng.dirichlet(np.ones(3), 40)
    P[[4, 9, 30]] *= 0.9  # three rows sum to 0.9
    c = rng.integers(0, 3, 40)
    return P, c


def test_rows_not_summing_to_one_warn(rng):
    P, c = _unnormalized(rng)
    res = evaluate(P, c, losses=["ce"])
    warning = [n for n in res.notes if n.startswith("warning:")]
    assert warning == [
        "warning: 3 rows of probabilities do not sum to 1 (first at row 5); used as given. "
        "Pass --renormalize to divide each row by its sum"
    ]
    # used as given: −log P_c of the unnormalized rows
    assert res.losses["ce"] == pytest.approx(
        float(np.mean(-np.log(P[np.arange(40), c]))), rel=1e-12
    )


def test_renormalize_divides_rows_by_their_sum(rng):
    P, c = _unnormalized(rng)
    res = evaluate(P, c, losses=["ce", "kl"], renormalize=True)
    Q = P / P.sum(axis=1, keepdims=True)
    expected = float(np.mean(-np.log(Q[np.arange(40), c])))
    assert res.losses["ce"] == pytest.approx(expected, rel=1e-12)
    assert res.losses["ce"] != pytest.approx(evaluate(P, c, losses=["ce"]).losses["ce"], rel=1e-6)
    assert "renormalized 3 rows of probabilities to sum to 1" in res.notes


# Regression test: failed at engine commit 272df42 — with only regression-style losses on
# multiclass probabilities (e.g. losses=['mse'], the Brier score) rows are never checked: no
# 'do not sum to 1' warning, and renormalize=True is silently ignored (the value stays that of
# the raw rows)
def test_renormalize_applies_to_brier_score(rng):
    P, c = _unnormalized(rng)
    res = evaluate(P, c, losses=["mse"], renormalize=True)
    Q = P / P.sum(axis=1, keepdims=True)
    Y = np.eye(3)[c]
    assert res.losses["mse"] == pytest.approx(float(np.mean((Q - Y) ** 2)), rel=1e-12)


# Regression test: failed at engine commit 272df42 — multiclass probabilities evaluated with
# losses=['mse'] only: rows that do not sum to 1 get no warning note (SPEC §4 asks for one)
def test_brier_alone_warns_about_rows_not_summing_to_one(rng):
    P, c = _unnormalized(rng)
    res = evaluate(P, c, losses=["mse"])
    assert any("do not sum to 1" in n for n in res.notes), res.notes


def test_renormalize_zero_row_is_an_error():
    P = np.array([[0.2, 0.8], [0.0, 0.0]])
    e = error_of(P, np.array([0, 1]), losses=["ce"], renormalize=True)
    assert e.row == 2 and "sums to 0 and cannot be renormalized" in str(e)


# --- reduction='none' ---------------------------------------------------------------------------


def test_reduction_none_binary_equals_kernels(rng):
    p = rng.uniform(size=200)
    p[:2] = [0.0, 1.0]
    y = rng.integers(0, 2, 200)
    w = rng.uniform(0.5, 2.0, 200)
    res = evaluate(p, y, sample_weight=w, reduction="none", focal_alpha=0.25)
    ps = res.per_sample
    yf = y.astype(float)
    bce = kernels.binary_cross_entropy(yf, p, 1 - p, eps=np.finfo(float).eps)
    # the textbook form, clipping p and 1 − p separately (scikit-learn log_loss)
    eps = np.finfo(float).eps
    textbook = -(
        yf * np.log(np.clip(p, eps, 1 - eps)) + (1 - yf) * np.log(np.clip(1 - p, eps, 1 - eps))
    )
    np.testing.assert_array_equal(bce, textbook)
    np.testing.assert_array_equal(ps["bce"], bce)
    np.testing.assert_array_equal(ps["ce"], bce)
    r = p - yf
    np.testing.assert_array_equal(ps["mse"], kernels.squared_error(r))
    np.testing.assert_array_equal(ps["mae"], kernels.absolute_error(r))
    np.testing.assert_array_equal(ps["huber"], kernels.huber(r))
    np.testing.assert_array_equal(ps["pseudo_huber"], kernels.pseudo_huber(r))
    np.testing.assert_array_equal(ps["log_cosh"], kernels.log_cosh(r))
    np.testing.assert_array_equal(ps["hinge"], kernels.binary_hinge(yf, p))
    np.testing.assert_array_equal(
        ps["squared_hinge"], kernels.binary_squared_hinge(kernels.binary_hinge(yf, p))
    )
    np.testing.assert_allclose(
        ps["focal"], kernels.binary_focal(yf, p, 1 - p, bce, gamma=2.0, alpha=0.25), rtol=1e-15
    )
    assert "dice" not in ps and "rmse" not in ps
    np.testing.assert_array_equal(res.sample_weight, w)
    assert "rmse, dice: dataset-level, left out of per-sample output" in res.notes
    # the per-sample values reduce to the mean
    mean = evaluate(p, y, losses=["bce"], sample_weight=w).losses["bce"]
    assert np.average(ps["bce"], weights=w) == pytest.approx(mean, rel=1e-12)


def test_reduction_none_multiclass_equals_kernels(rng):
    P = rng.dirichlet(np.ones(4), 150)
    S = rng.normal(size=(150, 4))
    c = rng.integers(0, 4, 150)
    Y = np.eye(4)[c]
    ps = evaluate(P, c, losses=["ce", "kl", "mse"], reduction="none").per_sample
    logP = np.log(np.clip(P, 2.220446049250313e-16, 1 - 2.220446049250313e-16))
    np.testing.assert_allclose(ps["ce"], kernels.categorical_cross_entropy(Y, logP), rtol=1e-15)
    np.testing.assert_allclose(ps["kl"], kernels.kl_divergence(Y, logP), rtol=1e-15)
    np.testing.assert_allclose(ps["mse"], kernels.squared_error(P - Y), rtol=1e-15)
    for mode, fn in (
        ("crammer-singer", kernels.crammer_singer_hinge),
        ("weston-watkins", kernels.weston_watkins_hinge),
    ):
        got = evaluate(S, c, losses=["hinge"], task="multiclass", reduction="none", hinge_mode=mode)
        np.testing.assert_array_equal(got.per_sample["hinge"], fn(c, S))


def test_reduction_none_with_only_dataset_level_losses():
    e = error_of(p_bin, y_bin, losses=["dice", "rmse"], reduction="none")
    assert "are dataset-level losses" in str(e)


def test_multiclass_hinge_on_raw_scores_has_no_probability_warning(rng):
    S = rng.normal(size=(50, 3))
    c = rng.integers(0, 3, 50)
    res = evaluate(S, c, losses=["hinge"], task="multiclass")
    assert not any("do not sum to 1" in n for n in res.notes), res.notes
