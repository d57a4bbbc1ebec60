"""Task detection (SPEC §3) and class labels given as names.

Auto-detection, in order: k ≥ 2 prediction columns → multiclass; one prediction column and
labels all in {0, 1} (also {−1, 1}, booleans) → binary; otherwise regression. Where the
guess could be wrong, a note says what was chosen and how to choose otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from losscli.errors import InputError, option

TASK_CHOICES = ("auto", "regression", "binary", "multiclass")


def detect_task(
    preds: np.ndarray, labels: np.ndarray, task: str = "auto"
) -> tuple[str, str | None]:
    """(task, note or None) for these predictions and labels."""
    if task not in TASK_CHOICES:
        choices = option(
            "task",
            cli=" or ".join(TASK_CHOICES),
            api=" or ".join(repr(t) for t in TASK_CHOICES),
        )
        raise InputError(f"unknown task '{task}'", fix=f"Pass {choices}")
    if task != "auto":
        return task, None
    preds = np.asarray(preds)
    labels = np.asarray(labels)
    if preds.ndim == 2 and preds.shape[1] >= 2:
        return "multiclass", None  # SPEC §3; multi-output regression needs --task regression
    if labels.dtype.kind == "b":
        return "binary", None
    if labels.dtype.kind not in "iuf":
        return "multiclass", None  # class names: the caller needs class columns
    if labels.size and labels.dtype.kind == "f" and np.isnan(labels.min()):
        labels = labels[~np.isnan(labels)]  # rows that --nan-policy omit will drop
    if labels.size == 0:
        return "regression", None
    lo, hi = float(labels.min()), float(labels.max())
    # binary: every label is lo or hi, and {lo, hi} ⊆ {0, 1} or ⊆ {−1, 1}. Min, max and one
    # comparison pass: np.unique would sort 10⁷ labels.
    if {lo, hi} <= {0.0, 1.0} or {lo, hi} <= {-1.0, 1.0}:
        if (
            labels.dtype.kind in "iu"
            or np.count_nonzero((labels == lo) | (labels == hi)) == labels.size
        ):
            note = None
            if lo == hi:
                note = f"task: binary (every label is {lo:g}); pass --task regression if not"
            return "binary", note
    integral = labels.dtype.kind in "iu" or bool(np.all(labels == np.round(labels)))
    if integral and lo >= 0 and hi <= 20:
        return "regression", (
            f"task: regression (labels are integers {lo:g}..{hi:g} and there "
            "is one prediction column); pass --task multiclass with one column per class"
        )
    return "regression", None


def encode_labels(
    labels: np.ndarray, classes: Sequence[str] | None, n_classes: int
) -> tuple[np.ndarray, list[str], str | None]:
    """Class names → indices 0..k−1.

    Returns (indices, class names, note). With `classes` the names must be among them; without
    (no names, or prediction columns not named after the labels), the sorted distinct names
    are the classes in column order when there are as many as columns (BAD_INPUTS 32, README),
    which the note states; otherwise the order cannot be known, an error asking for --classes.
    """
    names = np.asarray(labels).astype(str)
    note = None
    if classes is None:
        found = sorted(set(names.tolist()))
        classes = found
        note = (
            f"classes, in sorted order: {', '.join(found[:20])}{', …' if len(found) > 20 else ''}"
            " (the sorted distinct labels name the prediction columns in column order; "
            "pass --classes to give each column's class)"
        )
        if len(found) != n_classes:
            raise InputError(
                f"the labels name {len(found)} classes ({', '.join(found[:10])}) but there are "
                f"{n_classes} prediction columns, so which column holds which class is unknown",
                role="labels",
                fix=f"Pass {option('classes')} with the class of each prediction column, in column order "
                "(or name the columns after the classes, p_cat ↔ cat)",
            )
    index = {str(c): i for i, c in enumerate(classes)}
    unique, inverse = np.unique(names, return_inverse=True)
    codes = np.array([index.get(u, -1) for u in unique.tolist()], dtype=np.int64)
    out = codes[inverse.reshape(-1)]
    if (out < 0).any():
        i = int(np.argmax(out < 0))
        raise InputError(
            f"label '{names[i]}' is not one of the classes {', '.join(map(str, classes))}",
            role="labels",
            row=i + 1,
            fix="Check the label column, or the prediction columns' names",
        )
    return out.astype(np.float64), [str(c) for c in classes], note


_INTEGER = re.compile(r"[+-]?[0-9]+")


def integer_class_values(names: Sequence[str] | None) -> list[int] | None:
    """The integer each class name spells ('2', '10', '-1'), when every name spells one and
    no two spell the same; else None (the names are not integers, labels are positions)."""
    if not names or not all(_INTEGER.fullmatch(str(n).strip()) for n in names):
        return None
    values = [int(str(n).strip()) for n in names]
    return values if len(set(values)) == len(values) else None


def _fmt(value: float) -> str:
    return np.format_float_positional(float(value), trim="-")


def map_labels_by_value(
    labels: np.ndarray, values: Sequence[int], classes: Sequence[str], fix: str
) -> np.ndarray:
    """Numeric labels → column indices, by the integer each column's class name spells.

    Columns named `p_2, p_0, p_1` hold classes 2, 0 and 1, so label 0 is column 1. NaN
    stays NaN (``--nan-policy omit`` drops it later); a label that names no column is an
    error naming its value, its row and the classes. Integer output when nothing is NaN.
    """
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    vals = np.asarray(values, dtype=np.float64)
    order = np.argsort(vals, kind="stable")
    ordered = vals[order]
    pos = np.minimum(np.searchsorted(ordered, y), len(ordered) - 1)
    nan = np.isnan(y)
    bad = (ordered[pos] != y) & ~nan
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(
            f"label {_fmt(y[i])} is not one of the classes {', '.join(map(str, classes))}",
            role="labels",
            row=i + 1,
            fix=fix,
        )
    out = order[pos]
    if nan.any():
        out = out.astype(np.float64)
        out[nan] = np.nan
    return out
