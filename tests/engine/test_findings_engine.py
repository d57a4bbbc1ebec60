"""Issue 9 findings on classes, tasks and engine numerics (W1, M4, M5, M6, M9, E3, E6, float32).

Each test names its finding and its oracle: scikit-learn's log_loss (with `labels=`),
SciPy's xlogy/rel_entr, or a value worked by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import rel_entr, xlogy
from sklearn.metrics import log_loss

import losscli
from losscli import InputError, evaluate, evaluate_stream


def text_ordered(k: int) -> list[int]:
    """Class integers in the order a text sort of `p_0..p_{k-1}` gives (p_0, p_1, p_10, …)."""
    return sorted(range(k), key=str)


# --- W1: integer labels are matched to integer-named columns by name ----------------------


def test_W1_permuted_integer_columns_match_labels_by_name():
    P = np.array([[0.1, 0.8, 0.1], [0.7, 0.2, 0.1]])
    df = pd.DataFrame(P, columns=["p_2", "p_0", "p_1"])
    y = np.array([0, 2])
    # by hand: label 0 is column p_0 (0.8), label 2 is column p_2 (0.7)
    expected = -(np.log(0.8) + np.log(0.7)) / 2
    for classes in (None, ["2", "0", "1"]):
        got = evaluate(df, y, losses=["ce"], classes=classes)
        assert got.losses["ce"] == pytest.approx(expected, rel=1e-15)
        assert got.classes == ["2", "0", "1"]


@pytest.mark.parametrize("k", [11, 12, 25])
def test_W1_text_sorted_columns_match_sklearn_log_loss(rng, k):
    order = text_ordered(k)  # column j holds class order[j]
    P_true = rng.dirichlet(np.ones(k), 400)  # P_true[:, c] = probability of class c
    y = rng.integers(0, k, 400)
    y[:k] = np.arange(k)
    P_cols = P_true[:, order]
    names = [f"p_{c}" for c in order]
    # oracle: scikit-learn on the columns put back in class order, classes named by labels=
    expected = log_loss(y, P_true, labels=list(range(k)))
    got = evaluate(pd.DataFrame(P_cols, columns=names), y, losses=["ce"])
    assert got.losses["ce"] == pytest.approx(expected, rel=1e-12)
    got = evaluate(P_cols, y, losses=["ce"], pred_names=names)
    assert got.losses["ce"] == pytest.approx(expected, rel=1e-12)
    got = evaluate(P_cols, y, losses=["ce"], classes=[str(c) for c in order])
    assert got.losses["ce"] == pytest.approx(expected, rel=1e-12)
    assert any("matched to prediction columns by class name" in n for n in got.notes)


def test_W1_streamed_chunks_use_the_same_name_matching(rng):
    k = 12
    order = text_ordered(k)
    P_true = rng.dirichlet(np.ones(k), 1000)
    y = rng.integers(0, k, 1000).astype(np.float64)
    P_cols = P_true[:, order]
    chunks = [(P_cols[i : i + 97], y[i : i + 97]) for i in range(0, 1000, 97)]
    names = [f"p_{c}" for c in order]
    got = evaluate_stream(chunks, losses=["ce"], pred_names=names)
    assert got.losses["ce"] == pytest.approx(log_loss(y, P_true, labels=range(k)), rel=1e-12)


def test_W1_labels_1_10_11_with_and_without_classes():
    P = np.array([[0.1, 0.8, 0.1], [0.7, 0.2, 0.1], [0.2, 0.2, 0.6]])
    names = ["p_1", "p_10", "p_11"]
    y = np.array([10, 1, 11])
    expected = -np.mean(np.log([0.8, 0.7, 0.6]))  # by hand: the named columns
    for classes in (None, ["1", "10", "11"]):
        got = evaluate(P, y, losses=["ce"], pred_names=names, classes=classes)
        assert got.losses["ce"] == pytest.approx(expected, rel=1e-15)
        assert got.classes == ["1", "10", "11"]


def test_W1_a_label_that_names_no_column_is_an_error():
    P = np.array([[0.1, 0.8, 0.1], [0.7, 0.2, 0.1], [0.2, 0.2, 0.6]])
    with pytest.raises(InputError) as exc:
        evaluate(P, np.array([10, 1, 2]), losses=["ce"], pred_names=["p_1", "p_10", "p_11"])
    assert exc.value.row == 3
    assert "label 2 is not one of the classes 1, 10, 11" in str(exc.value)
    assert "--classes" in exc.value.format()


def test_W1_a_late_label_that_names_no_column_is_placed_in_its_chunk(rng):
    P = rng.dirichlet(np.ones(3), 300)
    y = rng.choice([1.0, 10.0, 11.0], 300)
    y[250] = 3.0
    chunks = [(P[i : i + 100], y[i : i + 100]) for i in range(0, 300, 100)]
    with pytest.raises(InputError) as exc:
        evaluate_stream(chunks, losses=["ce"], pred_names=["p_1", "p_10", "p_11"])
    assert exc.value.row == 251
    assert "label 3 is not one of the classes 1, 10, 11" in str(exc.value)


def test_W1_class_weight_follows_names_and_other_names_keep_positions(rng):
    order = text_ordered(12)
    P_true = rng.dirichlet(np.ones(12), 300)
    y = rng.integers(0, 12, 300)
    names = [f"p_{c}" for c in order]
    got = evaluate(P_true[:, order], y, losses=["ce"], pred_names=names, class_weight={"10": 3})
    # oracle: the class weight is a sample weight of 3 on the rows of class 10
    w = np.where(y == 10, 3.0, 1.0)
    expected = log_loss(y, P_true, labels=range(12), sample_weight=w)
    assert got.losses["ce"] == pytest.approx(expected, rel=1e-12)
    assert dict(zip(got.classes, got.class_weights, strict=True))["10"] == 3.0
    # columns not named by integers keep positions: label c is column c
    P = rng.dirichlet(np.ones(3), 200)
    y = rng.integers(0, 3, 200)
    names = ["p_setosa", "p_versicolor", "p_virginica"]
    got = evaluate(P, y, losses=["ce"], pred_names=names)
    assert got.losses["ce"] == pytest.approx(log_loss(y, P, labels=range(3)), rel=1e-12)
    assert not any("by class name" in n for n in got.notes)


# --- M5: the common prefix is cut at a separator only -----------------------------------


M5_CASES = [
    (["p_versicolor", "p_virginica"], ["versicolor", "virginica"]),
    (["p_cat", "p_car", "p_cab"], ["cat", "car", "cab"]),
    (["p_1", "p_10", "p_11"], ["1", "10", "11"]),
    (["prob-cat", "prob-dog"], ["cat", "dog"]),
    (["y.score.a1", "y.score.a2"], ["a1", "a2"]),
    (["m:ant", "m:bee"], ["ant", "bee"]),
    (["cat", "car"], ["cat", "car"]),
    (["pcat", "pdog"], ["pcat", "pdog"]),
]


def test_M5_class_names_are_cut_at_a_separator(rng):
    for columns, classes in M5_CASES:
        _check_classes(rng, columns, classes)


def _check_classes(rng, columns, classes):
    P = rng.dirichlet(np.ones(len(columns)), 10)
    labels = np.array(classes)[rng.integers(0, len(classes), 10)]
    labels[: len(classes)] = classes
    got = evaluate(pd.DataFrame(P, columns=columns), labels, losses=["ce"])
    assert got.classes == classes
    codes = np.array([classes.index(c) for c in labels])
    assert got.losses["ce"] == pytest.approx(log_loss(codes, P, labels=range(len(classes))))


# --- M6: text labels with columns not named after them use the sorted distinct labels ----


@pytest.mark.parametrize("names", [None, ["0", "1", "2"], ["s0", "s1", "s2"]])
def test_M6_sorted_distinct_labels_name_unnamed_columns(rng, names):
    P = rng.dirichlet(np.ones(3), 60)
    labels = np.array(["b", "a", "c"])[rng.integers(0, 3, 60)]
    labels[:3] = ["b", "a", "c"]
    got = evaluate(P, labels, losses=["ce"], pred_names=names)
    # oracle: scikit-learn takes the sorted distinct labels as the columns' classes too
    assert got.losses["ce"] == pytest.approx(log_loss(labels, P), rel=1e-12)
    assert got.classes == ["a", "b", "c"]
    note = next(n for n in got.notes if "sorted" in n)
    assert "--classes" in note


def test_M6_fewer_distinct_labels_than_columns_asks_for_classes(rng):
    P = rng.dirichlet(np.ones(3), 4)
    with pytest.raises(InputError) as exc:
        evaluate(P, np.array(["b", "a", "b", "a"]), losses=["ce"], pred_names=["0", "1", "2"])
    assert "--classes" in exc.value.format()
    assert "2 classes (a, b)" in exc.value.format()
    # labels partly named after the columns stay an error naming the odd one
    with pytest.raises(InputError, match="label 'cow' is not one of the classes cat, dog, eel"):
        evaluate(P[:3], np.array(["cat", "cow", "eel"]), pred_names=["p_cat", "p_dog", "p_eel"])


# --- float32: clip at the input dtype's machine epsilon, as scikit-learn ------------------


def _sklearn_in_float64(y, p, eps):
    """scikit-learn's log_loss algorithm run in float64 on probabilities clipped at `eps`."""
    return log_loss(y, np.clip(np.asarray(p, dtype=np.float64), eps, 1 - eps))


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_float32_binary_zero_and_one_clip_at_the_dtype_eps(rng, dtype):
    p = rng.uniform(0, 1, 2000).astype(dtype)
    p[:20], p[20:40] = 0, 1
    y = rng.integers(0, 2, 2000)
    y[:10], y[20:30] = 1, 0  # confident and wrong: the clipping decides the loss
    eps = float(np.finfo(dtype).eps)
    got = evaluate(p, y, losses=["bce", "ce"])
    assert got.losses["bce"] == pytest.approx(_sklearn_in_float64(y, p, eps), rel=1e-12)
    assert got.losses["ce"] == got.losses["bce"]
    # and scikit-learn itself, which computes in the input's precision
    rel = 1e-6 if dtype == np.float32 else 2e-3
    assert got.losses["bce"] == pytest.approx(log_loss(y, p), rel=rel)
    assert got.options["eps"] == eps
    assert f"eps:{eps:.3g}" in got.signature
    note = next(n for n in got.notes if "clipped" in n)
    assert np.dtype(dtype).name in note and "scikit-learn" in note


@pytest.mark.filterwarnings("ignore:The y_prob values do not sum")
def test_float32_multiclass_ce_clips_at_float32_eps(rng):
    P = rng.dirichlet(np.ones(4), 500).astype(np.float32)
    P[:5] = [1, 0, 0, 0]
    y = rng.integers(0, 4, 500)
    y[:5] = 2
    got = evaluate(P, y, losses=["ce"])
    eps = float(np.finfo(np.float32).eps)
    expected = log_loss(y, np.clip(P.astype(np.float64), eps, 1 - eps), labels=range(4))
    assert got.losses["ce"] == pytest.approx(expected, rel=1e-12)
    assert got.losses["ce"] == pytest.approx(log_loss(y, P, labels=range(4)), rel=1e-6)
    _explicit_eps_and_float64_are_unchanged(rng)


def _explicit_eps_and_float64_are_unchanged(rng):
    p = rng.uniform(0, 1, 300)
    p[:3] = 1.0
    y = np.ones(300, dtype=int)
    y[:3] = 0
    got64 = evaluate(p, y, losses=["bce"])
    assert got64.options["eps"] == np.finfo(np.float64).eps
    assert got64.losses["bce"] == pytest.approx(log_loss(y, p), rel=1e-12)
    got = evaluate(p.astype(np.float32), y, losses=["bce"], eps=1e-7)
    assert got.options["eps"] == 1e-7
    assert got.losses["bce"] == pytest.approx(_sklearn_in_float64(y, p.astype(np.float32), 1e-7))


# --- M4: a guessed task is named in the errors it explains; --classes A,B for numbers ----


def test_M4_guessed_binary_with_predictions_outside_0_1_suggests_task_regression():
    with pytest.raises(InputError) as exc:
        evaluate(np.array([1.3, -0.2, 0.5, 0.1]), np.array([1, 0, 1, 0]))
    text = exc.value.format()
    assert "guessed as binary" in text and "--task regression" in text
    assert "--from-logits" in text
    # a task given as binary keeps the plain fix
    with pytest.raises(InputError) as exc:
        evaluate(np.array([1.3, 0.2]), np.array([1, 0]), losses=["bce"], task="binary")
    assert "guessed" not in exc.value.format() and "--from-logits" in exc.value.format()


def test_M4_guessed_multiclass_with_label_columns_outside_0_1_suggests_task_regression():
    preds = np.array([[1.5, 2.5], [0.2, -1.0]])
    labels = np.array([[1.0, 3.0], [0.5, -2.0]])
    with pytest.raises(InputError) as exc:
        evaluate(preds, labels)
    assert "guessed as multiclass" in str(exc.value) and "--task regression" in exc.value.format()
    # the same rows as a regression are fine
    got = evaluate(preds, labels, losses=["mse"], task="regression")
    assert got.losses["mse"] == pytest.approx(np.mean((preds - labels) ** 2), rel=1e-15)


@pytest.mark.parametrize("task", ["binary", "auto"])
def test_M4_classes_name_two_numeric_label_values(task):
    p = np.array([0.2, 0.7, 0.9, 0.4])
    y = np.array([1, 2, 2, 1])
    got = evaluate(p, y, losses=["bce"], task=task, classes=["1", "2"])
    # oracle: 2 is the positive class (the second named)
    assert got.losses["bce"] == pytest.approx(log_loss(y == 2, p), rel=1e-12)
    assert got.task == "binary" and got.classes == ["1", "2"]
    with pytest.raises(InputError, match="label 3 is not one of the classes 1, 2"):
        evaluate(p, np.array([1, 2, 3, 1]), losses=["bce"], task=task, classes=["1", "2"])


def test_M4_binary_labels_error_offers_classes():
    with pytest.raises(InputError) as exc:
        evaluate(np.array([0.2, 0.7]), np.array([1, 2]), losses=["bce"], task="binary")
    assert "--classes NEGATIVE,POSITIVE" in exc.value.format()


# --- M9: weights that overflow; no "?." ----------------------------------------------------


def test_M9_weights_whose_sum_overflows_are_called_so():
    with pytest.raises(InputError) as exc:
        evaluate(np.array([0.2, 0.7]), np.array([0, 1]), losses=["bce"], sample_weight=[1e308] * 2)
    assert "overflows" in str(exc.value) and "sum of weights is 0" not in str(exc.value)
    assert "Rescale the weights" in str(exc.value)


def test_M9_a_question_in_a_message_gets_no_full_stop_after_it():
    e = InputError("unknown loss 'x'", fix="Did you mean 'mse'?")
    assert str(e) == "unknown loss 'x'. Did you mean 'mse'?"
    assert "?." not in str(InputError("which one?", fix="Pick one."))


# --- E3: soft binary targets when the task is given as binary -----------------------------


def test_E3_soft_binary_targets_bce_kl_focal_match_closed_forms(rng):
    p = rng.uniform(0.01, 0.99, 500)
    y = rng.choice([0.0, 0.25, 0.5, 0.9, 1.0], 500)
    got = evaluate(p, y, losses=["bce", "ce", "kl", "focal", "mse"], task="binary").losses
    # oracle: −[y log p + (1 − y) log(1 − p)] (PyTorch binary_cross_entropy), by xlogy
    bce = -(xlogy(y, p) + xlogy(1 - y, 1 - p))
    assert got["bce"] == pytest.approx(bce.mean(), rel=1e-12)
    assert got["ce"] == got["bce"]
    kl = rel_entr(y, p) + rel_entr(1 - y, 1 - p)
    assert got["kl"] == pytest.approx(kl.mean(), rel=1e-12)
    pt = y * p + (1 - y) * (1 - p)  # Keras BinaryFocalCrossentropy, γ = 2
    assert got["focal"] == pytest.approx(((1 - pt) ** 2 * bce).mean(), rel=1e-12)
    assert got["mse"] == pytest.approx(np.mean((p - y) ** 2), rel=1e-12)


def test_E3_soft_targets_from_logits(rng):
    z = rng.normal(0, 3, 200)
    y = rng.uniform(0, 1, 200)
    got = evaluate(z, y, losses=["bce"], task="binary", from_logits=True).losses["bce"]
    p = 1 / (1 + np.exp(-z))
    assert got == pytest.approx(np.mean(-(xlogy(y, p) + xlogy(1 - y, 1 - p))), rel=1e-10)


def test_E3_default_losses_leave_out_hinge_for_soft_targets():
    got = evaluate(np.array([0.2, 0.7, 0.9]), np.array([0.25, 0.5, 1.0]), task="binary")
    assert "hinge" not in got.losses and "squared_hinge" not in got.losses
    assert any("soft targets" in n for n in got.notes)


@pytest.mark.parametrize(
    "kwargs", [{"losses": ["hinge"]}, {"losses": ["bce"], "class_weight": {"1": 2}}]
)
def test_E3_hard_label_losses_refuse_soft_targets(kwargs):
    with pytest.raises(InputError) as exc:
        evaluate(np.array([0.2, 0.7, 0.9]), np.array([0.0, 0.5, 1.0]), task="binary", **kwargs)
    assert exc.value.row == 2 and "soft targets (found 0.5)" in str(exc.value)


def test_E3_soft_values_without_task_binary_are_not_silently_binary():
    # auto: 0.25 is not a 0/1 label, so this is a regression (no bce)
    got = evaluate(np.array([0.2, 0.7]), np.array([0.25, 1.0]))
    assert got.task == "regression"
    # a guessed binary task that meets a soft value later says how to allow it
    chunks = [(np.array([0.2, 0.7]), np.array([0.0, 1.0])), (np.array([0.5]), np.array([0.5]))]
    with pytest.raises(InputError) as exc:
        evaluate_stream(chunks, losses=["bce"])
    assert exc.value.row == 3 and "--task binary" in exc.value.format()


def test_E3_soft_binary_labels_outside_0_1_stay_an_error():
    with pytest.raises(InputError, match="found 1.5"):
        evaluate(np.array([0.2, 0.7]), np.array([0.5, 1.5]), task="binary", losses=["bce"])


# --- E6: evaluate_stream chunks as tuples; dir(losscli) --------------------------------------


def test_E6_evaluate_stream_takes_tuples_with_and_without_weights(rng):
    p = rng.uniform(0, 1, 1000)
    y = rng.integers(0, 2, 1000)
    w = rng.uniform(0.5, 2, 1000)
    pairs = ((p[i : i + 128], y[i : i + 128]) for i in range(0, 1000, 128))
    got = evaluate_stream(pairs, losses=["bce"])
    assert got.losses["bce"] == pytest.approx(log_loss(y, p), rel=1e-12)
    triples = [(p[i : i + 128], y[i : i + 128], w[i : i + 128]) for i in range(0, 1000, 128)]
    got = evaluate_stream(triples, losses=["bce"])
    assert got.losses["bce"] == pytest.approx(log_loss(y, p, sample_weight=w), rel=1e-12)
    assert got.n_samples == 1000


def test_E6_tuple_chunks_count_rows_for_errors_and_take_dataframe_names(rng):
    p = rng.uniform(0, 1, 300)
    p[205] = 1.5
    chunks = [(p[i : i + 100], np.ones(100, dtype=int)) for i in range(0, 300, 100)]
    with pytest.raises(InputError) as exc:
        evaluate_stream(chunks, losses=["bce"])
    assert exc.value.row == 206
    P = rng.dirichlet(np.ones(3), 50)
    df = pd.DataFrame(P, columns=["p_2", "p_0", "p_1"])
    y = rng.integers(0, 3, 50)
    got = evaluate_stream([(df.iloc[:25], y[:25]), (df.iloc[25:], y[25:])], losses=["ce"])
    assert got.classes == ["2", "0", "1"]
    assert got.losses["ce"] == pytest.approx(log_loss(y, P[:, [1, 2, 0]], labels=range(3)))


def test_E6_evaluate_stream_refuses_a_chunk_it_cannot_read():
    with pytest.raises(TypeError, match=r"\(preds, labels\)"):
        evaluate_stream([np.array([0.1, 0.2])])


def test_E6_dir_lists_the_public_api():
    names = dir(losscli)
    for name in ("evaluate", "evaluate_stream", "EvaluationResult", "Accumulator", "LOSSES"):
        assert name in names
    assert losscli.evaluate_stream.__doc__ and "(preds, labels" in losscli.evaluate_stream.__doc__


# --- W4 (engine side): per-sample values keep their input rows after omit ------------------


def test_W4_sample_rows_are_the_input_rows_kept_by_omit():
    p = np.array([0.2, np.nan, 0.9, 0.4, 0.6])
    y = np.array([0.0, 1.0, 1.0, np.nan, 0.0])
    got = evaluate(p, y, losses=["bce"], reduction="none", nan_policy="omit")
    assert got.sample_rows.tolist() == [0, 2, 4]
    # by hand: −log(0.8), −log(0.9), −log(0.4)
    assert got.per_sample["bce"] == pytest.approx(-np.log([0.8, 0.9, 0.4]), rel=1e-15)
    chunks = [(p[i : i + 2], y[i : i + 2]) for i in range(0, 5, 2)]
    got = evaluate_stream(chunks, losses=["bce"], reduction="none", nan_policy="omit", threads=2)
    assert got.sample_rows.tolist() == [0, 2, 4]
