"""The labels of a chunk, checked against its task: what class each row is.

Binary labels are 0/1, −1/1 or bool (or soft targets in [0, 1] when allowed); multiclass
labels are class indices 0..k−1 or rows of a (n, k) label matrix summing to 1; a regression
has one label per prediction. Each function returns what `Batch` keeps and raises
`InputError` at the first offending label, with its 1-based row in the whole input
(`row(i)` for the chunk's row i). `Batch` owns the chunk; this module owns the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from losscli.errors import InputError, option

Array = NDArray[np.float64]
Row = Callable[[int], int]  # chunk row index → 1-based row in the whole input
AsFloat = Callable[[np.ndarray], Array]  # labels → float64, NaN and ±inf refused


def first_true(mask: NDArray[np.bool_]) -> tuple[int, int | None]:
    """(row index, column index or None) of the first True in a 1-D or 2-D mask."""
    flat = int(np.argmax(mask.ravel()))
    if mask.ndim == 1:
        return flat, None
    return divmod(flat, mask.shape[1])


def fmt(value: float) -> str:
    """A value as an error message shows it: positional, no trailing zeros."""
    value = float(value)
    return np.format_float_positional(value, trim="-") if abs(value) < 1e16 else repr(value)


def regression_target(y: Array, shape: tuple[int, ...]) -> Array:
    """The labels of a regression: one per prediction (`shape` is the predictions')."""
    if y.shape != shape:
        raise InputError(
            f"labels have shape {y.shape}, preds {shape}; "
            "a regression needs one label per prediction",
            fix="Pass as many --label-col as --pred-col",
        )
    return y


# --- binary --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BinaryLabels:
    """y: 0/1 (or soft targets); the class of each row (None for soft targets); the
    negative label seen in the chunk (0 or −1, None if none or soft)."""

    y: Array
    class_index: NDArray[np.intp] | None
    negative_label: float | None
    soft: bool = False


def binary_labels(
    scores: Array, labels: np.ndarray, as_float: AsFloat, row: Row, soft_targets: bool
) -> BinaryLabels:
    """Labels in {0, 1} or {−1, 1} (bool too), or with `soft_targets` any y in [0, 1]."""
    if scores.ndim != 1:
        raise InputError(
            f"a binary task needs one prediction column, got {scores.shape[1]}",
            fix=f"Pass {option('task', 'multiclass')} for one column per class",
        )
    fast = _integer_binary_labels(np.asarray(labels))
    if fast is not None:
        return fast
    raw = as_float(labels)
    if raw.ndim != 1:
        raise InputError(
            "a binary task needs one label column",
            fix="Pass --label-col once",
        )
    pos = raw == 1.0
    lo = float(raw.min())
    zero = lo == 0.0
    minus = lo == -1.0
    # labels are 1 or lo with lo ∈ {0, −1}; count_nonzero of the 1s is cheaper than masks
    fine = lo in (0.0, -1.0, 1.0) and raw.max() <= 1.0
    if fine and lo != 1.0:
        fine = np.count_nonzero(pos) + np.count_nonzero(raw == lo) == raw.shape[0]
    if not fine and soft_targets and lo >= 0.0 and raw.max() <= 1.0:
        # soft targets y ∈ [0, 1] (distillation): bce is −[y log p + (1 − y) log(1 − p)] as
        # in PyTorch's binary_cross_entropy; there is no class per row
        return BinaryLabels(raw, None, None, soft=True)
    if not fine:
        raise _binary_labels_error(raw, pos, soft_targets, row)
    negative = -1.0 if minus else (0.0 if zero else None)
    return BinaryLabels(pos.astype(np.float64), pos.astype(np.intp), negative)


def _integer_binary_labels(labels: np.ndarray) -> BinaryLabels | None:
    """The common case, integer or bool labels in {0, 1} or {−1, 1}, checked with a min
    and a max; None sends anything else to the general path (and its errors)."""
    if labels.ndim != 1 or labels.dtype.kind not in "biu" or labels.size == 0:
        return None
    lo, hi = int(labels.min()), int(labels.max())
    if lo == -1 and hi == 1 and np.count_nonzero(labels) == labels.size:
        pos = labels > 0
        y, class_index = pos.astype(np.float64), pos.astype(np.intp)
    elif 0 <= lo <= hi <= 1:
        y = labels.astype(np.float64)
        class_index = labels.astype(np.intp, copy=False)
    else:
        return None
    return BinaryLabels(y, class_index, {-1: -1.0, 0: 0.0}.get(lo))


def _binary_labels_error(
    raw: Array, pos: NDArray[np.bool_], soft_targets: bool, row: Row
) -> InputError:
    bad = ~(pos | (raw == 0.0) | (raw == -1.0))
    if soft_targets and ((raw < 0.0) | (raw > 1.0)).any():
        bad = (raw < 0.0) | (raw > 1.0)  # soft targets are fine; the first outside is not
    if not bad.any():  # both 0 and −1: the first −1 is the odd one out
        bad = raw == -1.0
    i = int(np.argmax(bad))
    v = float(raw[i])
    if 0.0 < v < 1.0 and not soft_targets:
        fix = (
            f"Pass {option('task', 'binary')} to take soft targets in [0, 1], "
            f"or {option('task', 'regression')}"
        )
    else:
        fix = (
            f"Pass {option('classes', ['NEGATIVE', 'POSITIVE'], cli='NEGATIVE,POSITIVE')} "
            f"to name two other label values, or {option('task', 'regression')} or "
            f"{option('task', 'multiclass')} if this is not a binary task"
        )
    return InputError(
        f"binary labels must be 0 and 1 (or −1 and 1), found {fmt(v)}",
        role="labels",
        row=row(i),
        fix=fix,
        kind="labels_range",
    )


# --- multiclass ----------------------------------------------------------------------------


def multiclass_labels(
    scores: Array, labels: np.ndarray, as_float: AsFloat, row: Row
) -> tuple[Array | None, NDArray[np.intp] | None]:
    """(Y, class index): a label matrix and, when it is one-hot, the class of each row; or
    no matrix (one-hot is built on demand) and the class indices."""
    if scores.ndim != 2:
        raise InputError(
            "a multiclass task needs one prediction column per class",
            fix="Pass --pred-col with one column per class (a glob like 'p_*')",
        )
    k = scores.shape[1]
    raw = as_float(labels)
    if raw.ndim == 2:
        return _label_matrix(raw, k, row)
    if raw.ndim != 1:
        raise InputError("labels must be (n,) or (n, k)", role="labels")
    return None, _class_indices(raw, k, row)


def _label_matrix(raw: Array, k: int, row: Row) -> tuple[Array | None, NDArray[np.intp] | None]:
    """Rows of k probabilities in [0, 1] summing to 1 (one-hot or soft labels)."""
    if raw.shape[1] != k:
        raise InputError(
            f"labels have {raw.shape[1]} columns, predictions {k}; one per class is needed",
            role="labels",
            fix="Pass one --label-col per class, in the order of the prediction columns",
        )
    bad = (raw < 0) | (raw > 1)
    if bad.any():
        i, c = first_true(bad)
        raise InputError(
            f"label probabilities must lie in [0, 1], found {fmt(raw[i, c])}",
            role="labels",
            row=row(i),
            col_index=c,
            kind="labels_range",
        )
    sums = raw.sum(axis=1)
    off = np.abs(sums - 1.0) > 1e-6
    if off.any():
        i = int(np.argmax(off))
        raise InputError(
            f"label rows must sum to 1 (one-hot or soft labels); row sums to {fmt(sums[i])}",
            role="labels",
            row=row(i),
            fix="Fix the label columns, or give class indices in one --label-col",
            kind="labels_range",
        )
    if np.count_nonzero(raw) == raw.shape[0] and np.all((raw == 0.0) | (raw == 1.0)):
        return raw, raw.argmax(axis=1)  # one-hot: a class per row (for hinge)
    return raw, None


def _class_indices(raw: Array, k: int, row: Row) -> NDArray[np.intp]:
    """Class indices: integers 0..k−1."""
    bad = (raw != np.floor(raw)) | (raw < 0) | (raw >= k)
    if bad.any():
        i = int(np.argmax(bad))
        v = raw[i]
        why = (
            f"class index {fmt(v)} is out of range 0..{k - 1}"
            if v == np.floor(v)
            else f"class labels must be integers 0..{k - 1}, found {fmt(v)}"
        )
        raise InputError(
            why,
            role="labels",
            row=row(i),
            fix=f"There are {k} prediction columns, so labels are 0..{k - 1} (or class names)",
        )
    return raw.astype(np.intp)
