"""The result object (SPEC §5 JSON keys, null for non-finite, DataFrame) and the inputs
`evaluate` accepts (SPEC §7): NumPy, pandas Series/DataFrame, pyarrow arrays/tables."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import losscli
from losscli import EvaluationResult, evaluate

SPEC_KEYS = {"losscli", "task", "n_samples", "sum_weights", "losses", "options", "inputs"}
NAMES = np.array(["cat", "dog", "eel"])


@pytest.fixture
def mc(rng):
    P = rng.dirichlet(np.ones(3), 60)
    c = rng.integers(0, 3, 60)
    c[:3] = [0, 1, 2]
    return P, c


@pytest.fixture
def bn(rng):
    return rng.uniform(size=80), rng.integers(0, 2, 80), rng.uniform(0.5, 2.0, 80)


# --- to_dict / to_frame ---------------------------------------------------------------------


def test_to_dict_has_the_spec_keys(bn):
    p, y, w = bn
    res = evaluate(p, y, losses=["bce", "dice"], sample_weight=w)
    d = res.to_dict(inputs={"preds": "p.csv"})
    assert SPEC_KEYS <= set(d)
    assert d["losscli"] == losscli.__version__
    assert d["task"] == "binary"
    assert d["n_samples"] == 80
    assert d["sum_weights"] == pytest.approx(float(w.sum()), rel=1e-12)
    assert d["losses"] == res.losses
    assert list(d["losses"]) == ["bce", "dice"]
    assert d["inputs"] == {"preds": "p.csv"}
    assert d["options"]["eps"] == float(np.finfo(np.float64).eps)
    assert d["options"]["losses"] == ["bce", "dice"]
    # full precision survives a JSON round trip
    back = json.loads(json.dumps(d, allow_nan=False))
    assert back["losses"]["bce"] == res.losses["bce"]


def test_to_dict_without_inputs_is_an_empty_object(bn):
    p, y, _ = bn
    assert evaluate(p, y, losses=["bce"]).to_dict()["inputs"] == {}


def test_non_finite_values_become_none():
    res = EvaluationResult(
        losses={"mse": math.inf, "mae": math.nan, "bce": 0.5},
        task="binary",
        n_samples=3,
        sum_weights=math.nan,
        options=evaluate([0.5], [1], losses=["bce"]).options,
    )
    d = res.to_dict()
    assert d["losses"] == {"mse": None, "mae": None, "bce": 0.5}
    assert d["sum_weights"] is None
    text = json.dumps(d, allow_nan=False)  # would raise on NaN/Infinity
    assert "NaN" not in text and "Infinity" not in text


def test_to_dict_lists_classes_and_class_weights(mc):
    P, c = mc
    df = pd.DataFrame(P, columns=["p_cat", "p_dog", "p_eel"])
    res = evaluate(df, NAMES[c], losses=["ce"], class_weight={"dog": 2})
    opts = res.to_dict()["options"]
    assert opts["classes"] == ["cat", "dog", "eel"]
    assert opts["class_weights"] == {"cat": 1.0, "dog": 2.0, "eel": 1.0}


def test_to_frame_one_row_per_loss(bn):
    p, y, _ = bn
    res = evaluate(p, y, losses=["bce", "mse", "dice"])
    frame = res.to_frame()
    assert list(frame.index) == ["bce", "mse", "dice"]
    assert frame.loc["bce", "value"] == res.losses["bce"]


def test_to_frame_per_sample_with_weights(bn):
    p, y, w = bn
    res = evaluate(p, y, losses=["bce", "mse", "dice"], sample_weight=w, reduction="none")
    frame = res.to_frame()
    assert list(frame.columns) == ["weight", "bce", "mse"]
    assert len(frame) == 80
    np.testing.assert_array_equal(frame["weight"].to_numpy(), w)


def test_result_indexing_and_float_values(bn):
    p, y, _ = bn
    res = evaluate(p, y, losses="bce")
    assert res["bce"] == res.losses["bce"]
    assert type(res.losses["bce"]) is float


def test_signature_describes_the_evaluation(bn):
    p, y, w = bn
    sig = evaluate(p, y, losses=["bce"], sample_weight=w, label_smoothing=0.1).signature
    assert sig.startswith(f"losscli:{losscli.__version__}|task:binary|n:80|")
    assert "weights:sample" in sig and "smoothing:0.1" in sig and "eps:2.22e-16" in sig
    assert "weights:none" in evaluate(p, y, losses=["bce"]).signature


# Regression test: failed at engine commit 272df42 — EvaluationResult.signature says
# 'weights:sample+class' when only class weights were given (it infers sample weights from
# sum_weights != n_samples)
def test_signature_with_class_weights_only(bn):
    p, y, _ = bn
    sig = evaluate(p, y, losses=["bce"], class_weight={0: 1, 1: 4}).signature
    assert "weights:class" in sig and "sample" not in sig


# Regression test: failed at engine commit 272df42 — EvaluationResult.signature says
# 'weights:none' when sample weights were given but happen to sum to n (sample_weight is only
# kept for reduction='none')
def test_signature_with_sample_weights_summing_to_n(bn):
    p, y, _ = bn
    w = np.where(np.arange(80) % 2 == 0, 0.5, 1.5)  # Σw = 80 = n
    assert "weights:sample" in evaluate(p, y, losses=["bce"], sample_weight=w).signature


# --- pandas and pyarrow inputs ----------------------------------------------------------------


def test_pandas_series(bn):
    p, y, w = bn
    ref = evaluate(p, y, losses=["bce", "dice"], sample_weight=w).losses
    got = evaluate(pd.Series(p), pd.Series(y), losses=["bce", "dice"], sample_weight=pd.Series(w))
    assert got.losses == ref


def test_pandas_one_column_frames(bn):
    p, y, _ = bn
    got = evaluate(pd.DataFrame({"pred": p}), pd.DataFrame({"label": y}), losses=["bce"])
    assert got.losses == evaluate(p, y, losses=["bce"]).losses


def test_pandas_dataframe_column_names_give_classes(mc):
    P, c = mc
    df = pd.DataFrame(P, columns=["p_cat", "p_dog", "p_eel"])
    res = evaluate(df, pd.Series(NAMES[c]), losses=["ce", "kl"])
    assert res.classes == ["cat", "dog", "eel"]
    assert res.task == "multiclass"
    assert res.losses == evaluate(P, c, losses=["ce", "kl"]).losses


def test_text_labels_follow_column_order_not_sorted_order(rng):
    P = rng.dirichlet(np.ones(3), 30)
    c = rng.integers(0, 3, 30)
    cols = ["p_zebra", "p_ant", "p_moth"]  # not sorted
    names = np.array(["zebra", "ant", "moth"])
    res = evaluate(pd.DataFrame(P, columns=cols), names[c], losses=["ce"])
    assert res.classes == ["zebra", "ant", "moth"]
    assert res.losses == evaluate(P, c, losses=["ce"]).losses


def test_text_label_not_a_column_is_an_error(mc):
    P, c = mc
    labels = NAMES[c].astype(object)
    labels[7] = "cow"
    df = pd.DataFrame(P, columns=["p_cat", "p_dog", "p_eel"])
    with pytest.raises(losscli.InputError) as exc:
        evaluate(df, pd.Series(labels), losses=["ce"])
    assert exc.value.row == 8
    assert "label 'cow' is not one of the classes cat, dog, eel" in str(exc.value)


def test_pandas_class_weight_by_name(mc):
    P, c = mc
    df = pd.DataFrame(P, columns=["p_cat", "p_dog", "p_eel"])
    got = evaluate(df, NAMES[c], losses=["ce"], class_weight={"dog": 3}).losses["ce"]
    ref = evaluate(P, c, losses=["ce"], class_weight={1: 3}).losses["ce"]
    assert got == ref


def test_pandas_nullable_with_omit(bn):
    p, y, _ = bn
    s = pd.Series(p).astype("Float64")
    s[3] = pd.NA
    got = evaluate(s, pd.Series(y), losses=["bce"], nan_policy="omit")
    keep = np.arange(80) != 3
    assert got.n_samples == 79
    assert got.losses["bce"] == pytest.approx(
        evaluate(p[keep], y[keep], losses=["bce"]).losses["bce"], rel=1e-12
    )


def test_pyarrow_arrays(bn):
    p, y, w = bn
    ref = evaluate(p, y, losses=["bce", "mse"], sample_weight=w).losses
    got = evaluate(pa.array(p), pa.array(y), losses=["bce", "mse"], sample_weight=pa.array(w))
    assert got.losses == ref
    chunked = evaluate(
        pa.chunked_array([p[:40], p[40:]]), pa.chunked_array([y[:30], y[30:]]), losses=["bce"]
    )
    assert chunked.losses["bce"] == evaluate(p, y, losses=["bce"]).losses["bce"]


def test_pyarrow_table_column_names_give_classes(mc):
    P, c = mc
    table = pa.table({"p_cat": P[:, 0], "p_dog": P[:, 1], "p_eel": P[:, 2]})
    res = evaluate(table, pa.array(NAMES[c]), losses=["ce"])
    assert res.classes == ["cat", "dog", "eel"]
    assert res.losses == evaluate(P, c, losses=["ce"]).losses


def test_binary_text_labels_need_classes(bn):
    p, y, _ = bn
    text = np.where(y == 1, "pos", "neg")
    got = evaluate(p, text, losses=["bce"], classes=["neg", "pos"]).losses
    assert got == evaluate(p, y, losses=["bce"]).losses
    with pytest.raises(losscli.InputError) as exc:
        evaluate(p, text, losses=["bce"])
    assert "Pass --classes NEGATIVE,POSITIVE" in exc.value.format()


def test_python_lists(bn):
    p, y, _ = bn
    got = evaluate(list(p), list(y), losses=["bce"]).losses
    assert got == evaluate(p, y, losses=["bce"]).losses


# --- task detection ---------------------------------------------------------------------------


def test_auto_task_detection(bn, mc):
    p, y, _ = bn
    P, c = mc
    assert evaluate(p, y, losses=["mse"]).task == "binary"
    assert evaluate(p, 2 * y - 1, losses=["mse"]).task == "binary"
    assert evaluate(p, y.astype(bool), losses=["mse"]).task == "binary"
    assert evaluate(P, c, losses=["mse"]).task == "multiclass"
    reg = evaluate(p, y + 0.5, losses=["mse"])
    assert reg.task == "regression"
    ints = evaluate(p, np.arange(80) % 10, losses=["mse"])
    assert ints.task == "regression"
    assert any("pass --task multiclass" in n for n in ints.notes)


def test_all_one_labels_say_binary_was_guessed():
    res = evaluate(np.array([0.2, 0.9]), np.array([1, 1]), losses=["bce"])
    assert res.task == "binary"
    assert "task: binary (every label is 1); pass --task regression if not" in res.notes
