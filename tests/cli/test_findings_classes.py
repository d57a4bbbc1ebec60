"""Issue 9 findings on classes and tasks, end to end through the CLI (W1, M4, M5, M6, M9, E3).

Oracles: scikit-learn's log_loss (with `labels=`), SciPy's xlogy, or values worked by hand.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import xlogy
from sklearn.metrics import log_loss

from tests.cli.conftest import Ran, csv_text, invoke, write


def eval_json(*argv) -> dict:
    ran = invoke(["eval", *argv, "-f", "json"])
    assert ran.code == 0, ran.err
    return json.loads(ran.out)


def error_of(*argv) -> str:
    ran: Ran = invoke(["eval", *argv])
    assert ran.code == 2, (ran.out, ran.err)
    assert ran.out == "" and "Traceback" not in ran.err
    lines = ran.err.strip().splitlines()
    assert lines[-1].startswith("error: ")
    return lines[-1]


@pytest.fixture
def chunk_rows(monkeypatch):
    def set_rows(rows: int) -> None:
        monkeypatch.setattr("losscli.cli.options.STREAM_ROWS", rows)

    return set_rows


# --- W1 ------------------------------------------------------------------------------------


def test_W1_permuted_integer_columns_are_matched_by_name(chdir_tmp):
    write(chdir_tmp / "perm.csv", "p_2,p_0,p_1,label\n0.1,0.8,0.1,0\n0.7,0.2,0.1,2\n")
    expected = -(np.log(0.8) + np.log(0.7)) / 2  # by hand: 0.2899092476264711
    for extra in ([], ["--classes", "2,0,1"]):
        doc = eval_json("perm.csv", "--pred-col", "p_*", "-l", "ce", *extra)
        assert doc["losses"]["ce"] == pytest.approx(expected, rel=1e-15)
        assert doc["options"]["classes"] == ["2", "0", "1"]


@pytest.mark.parametrize("rows_per_chunk", [None, 37])
def test_W1_text_sorted_columns_match_sklearn(chdir_tmp, rng, chunk_rows, rows_per_chunk):
    if rows_per_chunk:
        chunk_rows(rows_per_chunk)
    k = 12
    order = sorted(range(k), key=str)  # p_0, p_1, p_10, p_11, p_2, ...
    P = rng.dirichlet(np.ones(k), 300)
    y = rng.integers(0, k, 300)
    y[:k] = np.arange(k)
    rows = [[*P[i, order], int(y[i])] for i in range(300)]
    write(chdir_tmp / "t.csv", csv_text([f"p_{c}" for c in order] + ["label"], rows))
    expected = log_loss(y, P, labels=list(range(k)))
    doc = eval_json("t.csv", "--pred-col", "p_*", "--label-col", "label", "-l", "ce")
    assert doc["losses"]["ce"] == pytest.approx(expected, rel=1e-12)
    cls = ",".join(str(c) for c in order)
    doc = eval_json(
        "t.csv", "--pred-col", "p_*", "--label-col", "label", "-l", "ce", "--classes", cls
    )
    assert doc["losses"]["ce"] == pytest.approx(expected, rel=1e-12)


def test_W1_labels_1_10_11(chdir_tmp):
    write(
        chdir_tmp / "c.csv", "p_1,p_10,p_11,label\n0.1,0.8,0.1,10\n0.7,0.2,0.1,1\n0.2,0.2,0.6,11\n"
    )
    expected = -np.mean(np.log([0.8, 0.7, 0.6]))
    for extra in ([], ["--classes", "1,10,11"]):
        doc = eval_json("c.csv", "--pred-col", "p_*", "-l", "ce", *extra)
        assert doc["losses"]["ce"] == pytest.approx(expected, rel=1e-15)
        assert doc["options"]["classes"] == ["1", "10", "11"]


def test_W1_label_that_is_no_column_class_is_an_error(chdir_tmp):
    write(chdir_tmp / "c.csv", "p_1,p_10,p_11,label\n0.1,0.8,0.1,10\n0.7,0.2,0.1,2\n")
    line = error_of("c.csv", "--pred-col", "p_*", "-l", "ce")
    assert line.startswith(
        "error: c.csv, column 'label', row 2 (line 3): label 2 is not one of the classes 1, 10, 11."
    )
    assert "--classes" in line


def test_W1_class_weight_by_name(chdir_tmp, rng):
    P = rng.dirichlet(np.ones(3), 100)
    y = rng.choice([1, 10, 11], 100)
    write(
        chdir_tmp / "c.csv",
        csv_text(["p_1", "p_10", "p_11", "label"], [[*P[i], y[i]] for i in range(100)]),
    )
    doc = eval_json("c.csv", "--pred-col", "p_*", "-l", "ce", "--class-weight", "10=3")
    w = np.where(y == 10, 3.0, 1.0)
    assert doc["losses"]["ce"] == pytest.approx(
        log_loss(y, P, labels=[1, 10, 11], sample_weight=w), rel=1e-12
    )
    assert doc["options"]["class_weights"] == {"1": 1.0, "10": 3.0, "11": 1.0}


# --- M5 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cols, labels",
    [
        (["p_versicolor", "p_virginica"], ["versicolor", "virginica"]),
        (["p_cat", "p_car", "p_cab"], ["cat", "car", "cab"]),
    ],
)
def test_M5_class_names_cut_at_the_separator(chdir_tmp, rng, cols, labels):
    k = len(cols)
    P = rng.dirichlet(np.ones(k), 20)
    c = rng.integers(0, k, 20)
    write(
        chdir_tmp / "v.csv",
        csv_text([*cols, "species"], [[*P[i], labels[c[i]]] for i in range(20)]),
    )
    doc = eval_json("v.csv", "--pred-col", "p_*", "--label-col", "species", "-l", "ce")
    assert doc["options"]["classes"] == labels
    assert doc["losses"]["ce"] == pytest.approx(log_loss(c, P, labels=range(k)), rel=1e-12)


# --- M6 ------------------------------------------------------------------------------------


def test_M6_npy_predictions_with_text_labels_use_the_sorted_labels(chdir_tmp):
    P = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    np.save(chdir_tmp / "p3.npy", P)
    write(chdir_tmp / "l3.csv", "label\nb\na\nc\n")
    ran = invoke(["eval", "p3.npy", "l3.csv", "-l", "ce", "-f", "csv"])
    assert ran.code == 0, ran.err
    value = float(ran.out.splitlines()[1].split(",")[1])
    assert value == pytest.approx(log_loss(["b", "a", "c"], P), rel=1e-12)
    assert "note: classes, in sorted order: a, b, c" in ran.err and "--classes" in ran.err


def test_M6_columns_not_named_after_labels(chdir_tmp):
    write(chdir_tmp / "s.csv", "s0,s1,s2,label\n0.7,0.2,0.1,b\n0.1,0.8,0.1,a\n0.2,0.2,0.6,c\n")
    doc = eval_json("s.csv", "--pred-col", "s*", "--label-col", "label", "-l", "ce")
    assert doc["options"]["classes"] == ["a", "b", "c"]
    assert doc["losses"]["ce"] == pytest.approx(-np.mean(np.log([0.2, 0.1, 0.6])), rel=1e-15)


def test_M6_fewer_labels_than_columns_asks_for_classes(chdir_tmp):
    np.save(chdir_tmp / "p3.npy", np.full((3, 3), 1 / 3))
    write(chdir_tmp / "l2.csv", "label\nb\na\nb\n")
    line = error_of("p3.npy", "l2.csv", "-l", "ce")
    assert "2 classes (a, b)" in line and "Pass --classes" in line


# --- M4 ------------------------------------------------------------------------------------


def test_M4_guessed_binary_suggests_task_regression(chdir_tmp):
    write(chdir_tmp / "reg01.csv", "pred,y\n1.3,1\n-0.2,0\n0.5,1\n0.1,0\n")
    line = error_of("reg01.csv")
    assert "found 1.3" in line and "guessed as binary" in line
    assert "--task regression" in line and "--from-logits" in line
    ran = invoke(["eval", "reg01.csv", "--task", "regression", "-l", "mse", "-f", "csv"])
    assert ran.code == 0 and float(ran.out.splitlines()[1].split(",")[1]) == pytest.approx(
        np.mean(np.square([0.3, -0.2, -0.5, 0.1]))
    )


def test_M4_guessed_multiclass_label_columns_suggest_task_regression(chdir_tmp):
    write(chdir_tmp / "mo.csv", "pred_a,pred_b,y_a,y_b\n1.5,2.5,1.0,3.0\n0.2,-1,0.5,-2\n")
    line = error_of("mo.csv", "--pred-col", "pred_*", "--label-col", "y_a", "--label-col", "y_b")
    assert "found 3" in line and "--task regression" in line


@pytest.mark.parametrize("task", [["--task", "binary"], []])
def test_M4_classes_1_2_make_labels_binary(chdir_tmp, task):
    write(chdir_tmp / "l12.csv", "prob,label\n0.2,1\n0.7,2\n0.9,2\n0.4,1\n")
    ran = invoke(["eval", "l12.csv", *task, "--classes", "1,2", "-l", "bce", "-f", "csv"])
    assert ran.code == 0, ran.err
    y = np.array([1, 2, 2, 1])
    expected = log_loss(y == 2, [0.2, 0.7, 0.9, 0.4])
    assert float(ran.out.splitlines()[1].split(",")[1]) == pytest.approx(expected, rel=1e-12)


# --- M9 ------------------------------------------------------------------------------------


def test_M9_huge_weights_overflow_is_named(chdir_tmp):
    write(chdir_tmp / "w.csv", "prob,label,w\n0.2,0,1e308\n0.7,1,1e308\n")
    line = error_of("w.csv", "--weight-col", "w", "-l", "bce")
    assert "overflows" in line and "Rescale the weights" in line and "is 0" not in line


# --- E3 ------------------------------------------------------------------------------------


def test_E3_soft_binary_targets_with_task_binary(chdir_tmp):
    write(chdir_tmp / "soft.csv", "prob,label\n0.2,0.25\n0.7,0.5\n0.9,1\n0.4,0\n")
    doc = eval_json("soft.csv", "--task", "binary", "-l", "bce")
    p, y = np.array([0.2, 0.7, 0.9, 0.4]), np.array([0.25, 0.5, 1, 0])
    expected = np.mean(-(xlogy(y, p) + xlogy(1 - y, 1 - p)))
    assert doc["losses"]["bce"] == pytest.approx(expected, rel=1e-12)
    line = error_of("soft.csv", "--task", "binary", "-l", "hinge")
    assert line.startswith(
        "error: soft.csv, column 'label', row 1 (line 2): hinge needs a class per row"
    )
