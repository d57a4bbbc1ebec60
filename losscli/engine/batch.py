"""One validated chunk of rows and the intermediates its losses share.

`Batch` checks what the kernels assume (finite values, label sets, probabilities in
[0, 1], non-negative weights, shapes) and raises `InputError` naming the role
(``preds``/``labels``/``weights``), the 1-based row and, for a matrix, the column: the
CLI turns that into file, column and line. Intermediates (residual, probabilities, their
logs, one-hot labels) are computed once per chunk on first use and shared by every loss.
The rules for labels (which values each task takes, and their errors) are in `labels.py`.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from losscli.engine import conventions, kernels
from losscli.engine.labels import (
    binary_labels,
    first_true,
    fmt,
    multiclass_labels,
    regression_target,
)
from losscli.engine.options import Options
from losscli.engine.registry import LossSpec
from losscli.errors import InputError, option

Array = NDArray[np.float64]


class Batch:
    """A chunk of rows ready for the kernels.

    Args:
        task: ``regression``, ``binary`` or ``multiclass``.
        preds: (n,) or (n, k), any real dtype; kept in float64.
        labels: regression: same shape as preds; binary: (n,) in {0, 1} or {−1, 1} or bool;
            multiclass: (n,) class indices 0..k−1, or (n, k) one-hot/soft rows.
        weights: (n,) sample weights ≥ 0, or None.
        specs: the losses that will be computed (decides which checks apply).
        row_offset: 0-based index of the first row in the whole input (for error rows).
        rows: where rows were dropped (NaN omitted), the chunk position of each row kept.
        soft_targets: binary labels may be soft targets in [0, 1]; they then have no class
            per row, so hinge and class weights refuse them.
    """

    def __init__(
        self,
        task: str,
        preds: np.ndarray,
        labels: np.ndarray,
        weights: np.ndarray | None,
        options: Options,
        specs: list[LossSpec],
        *,
        row_offset: int = 0,
        rows: NDArray[np.intp] | None = None,
        soft_targets: bool = False,
    ) -> None:
        self.task = task
        self.soft_targets = soft_targets
        self.soft = False  # binary: some label of this chunk lies strictly inside (0, 1)
        self.options: Options = options
        self.row_offset = row_offset
        self._rows = rows  # 0-based positions in the chunk of the rows kept by --nan-policy omit
        self.input_dtype = np.asarray(preds).dtype
        self.scores = self._as_float("preds", preds)
        self.n = self.scores.shape[0]
        self.weights = None if weights is None else self._as_float("weights", weights)
        self._check_lengths(labels)
        self.n_clipped = 0
        self.n_unnormalized = 0
        self.first_unnormalized: int | None = None
        self.negative_label: float | None = None  # binary: 0 or −1 when seen in this chunk

        self.rules = options.convention
        if self.weights is not None:
            self._check_weights(self.weights)
            conventions.check_sample_weights(self.rules, specs, task, options.from_logits)
        self._set_labels(labels, specs)
        # what the probability losses read: the predictions, or each row divided by its sum
        # (--renormalize); hinge always reads the raw scores
        self.probabilities = self.scores
        if (
            not options.from_logits
            and any(not s.raw_scores for s in specs)
            and (task == "multiclass" or any(s.needs_probabilities for s in specs))
        ):
            self._check_probabilities(specs)

    # --- validation --------------------------------------------------------------------

    @property
    def kept_rows(self) -> NDArray[np.intp] | None:
        """Chunk positions of the rows kept by ``nan_policy='omit'``; None when all were."""
        return self._rows

    def _row(self, index: int) -> int:
        """1-based row in the whole input of the chunk's row `index`."""
        if self._rows is not None:
            index = int(self._rows[index])
        return self.row_offset + index + 1

    def _as_float(self, role: str, values: np.ndarray) -> Array:
        arr = np.asarray(values)
        if arr.dtype.kind not in "biuf":
            raise InputError(
                f"{role} must be numbers, got {arr.dtype} values",
                role=role,
                fix="Check the column holds numbers",
            )
        if arr.ndim == 0 or arr.ndim > 2 or (role == "weights" and arr.ndim != 1):
            want = "(n,)" if role == "weights" else "(n,) or (n, k)"
            raise InputError(f"{role} has shape {arr.shape}; expected {want}", role=role)
        out = np.asarray(arr, dtype=np.float64)
        # one reduction finds NaN and ±inf alike (a sum of finite float64 values overflows
        # only past 1e308 per value, which the mask below then explains); the mask is built
        # only when something is wrong
        with np.errstate(over="ignore", invalid="ignore"):
            suspect = arr.dtype.kind == "f" and not np.isfinite(np.add.reduce(out, axis=None) * 0.0)
        if suspect:
            bad = ~np.isfinite(out)
            if bad.any():
                self._raise_not_finite(role, out, bad)
        return out

    def _raise_not_finite(self, role: str, values: Array, bad: NDArray[np.bool_]) -> None:
        nan = np.isnan(values)
        row, col = first_true(bad)
        what = "NaN" if nan.any() else "infinite"
        count = int(nan.sum()) if nan.any() else int(bad.sum())
        row, col = first_true(nan) if nan.any() else (row, col)
        if what == "infinite":
            fix = "Values must be finite (logits too); remove or fix those rows"
        else:
            fix = f"Remove those rows, or pass {option('nan_policy', 'omit')} to drop rows with NaN"
        raise InputError(
            f"{count} {what} value{'s' if count > 1 else ''} in {role} (first at row {self._row(row)})",
            fix=fix,
            role=role,
            row=self._row(row),
            col_index=col,
        )

    def _check_lengths(self, labels: np.ndarray) -> None:
        n_labels = np.shape(labels)[0] if np.ndim(labels) else 0
        if n_labels != self.n:
            raise InputError(
                f"preds has {self.n} rows, labels has {n_labels}",
                fix="Pass --id-col to join by id",
            )
        if self.weights is not None and self.weights.shape[0] != self.n:
            raise InputError(
                f"weights have {self.weights.shape[0]} rows, preds has {self.n}",
                role="weights",
                fix="Give one weight per row",
            )

    def _check_weights(self, weights: Array) -> None:
        neg = weights < 0
        if neg.any():
            i = int(np.argmax(neg))
            raise InputError(
                f"weights must be ≥ 0, found {fmt(weights[i])}",
                role="weights",
                row=self._row(i),
                fix="Sample weights cannot be negative",
            )

    def _set_labels(self, labels: np.ndarray, specs: list[LossSpec]) -> None:
        """What the labels say per row (`losscli.engine.labels` has the rules): the target
        (regression), y and the negative label (binary), the label matrix Y when there is
        one, and the class of each row."""

        def as_float(values: np.ndarray) -> Array:
            return self._as_float("labels", values)

        if self.task == "regression":
            self.target = regression_target(as_float(labels), self.scores.shape)
        elif self.task == "binary":
            kept = binary_labels(self.scores, labels, as_float, self._row, self.soft_targets)
            self.soft, self.negative_label, self.y = kept.soft, kept.negative_label, kept.y
            self._class_index: NDArray[np.intp] | None = kept.class_index
            self.Y: Array | None = None
            self.n_classes = 2
            if self.soft:
                self._refuse_soft(specs)
                i = int(np.argmax((self.y > 0.0) & (self.y < 1.0)))
                self._refuse_soft_under_convention(specs, f"found {fmt(self.y[i])}", i)
        else:
            self.Y, self._class_index = multiclass_labels(self.scores, labels, as_float, self._row)
            self.n_classes = self.scores.shape[1]
            if self.Y is not None and self.rules.calls is not None:
                inside = ((self.Y > 0.0) & (self.Y < 1.0)).any(axis=1)
                if inside.any():
                    i = int(np.argmax(inside))
                    self._refuse_soft_under_convention(specs, "a label row is not one-hot", i)

    def _refuse_soft_under_convention(self, specs: list[LossSpec], found: str, i: int) -> None:
        """A framework call that takes class labels only refuses soft ones (SPEC §9)."""
        conventions.check_hard_labels(
            self.rules, specs, self.task, self.options.from_logits, found, self._row(i)
        )

    def _refuse_soft(self, specs: list[LossSpec]) -> None:
        """Hinge and class weights need a class per row, which soft targets do not give."""
        i = int(np.argmax((self.y > 0.0) & (self.y < 1.0)))
        users = [s.name for s in specs if s.raw_scores]
        fixes = [f"choose other losses with {option('losses')}"] if users else []
        if self.options.class_weight is not None:
            users.append(option("class_weight"))
            fixes.append(f"leave out {option('class_weight')}")
        if users:
            raise InputError(
                f"{', '.join(users)} need{'s' if len(users) == 1 else ''} a class per row, "
                f"but the labels are soft targets (found {fmt(self.y[i])})",
                role="labels",
                row=self._row(i),
                fix=f"Give labels 0 and 1, or {' and '.join(fixes)}",
            )

    def _check_probabilities(self, specs: list[LossSpec]) -> None:
        p = self.scores
        names = ", ".join(s.name for s in specs if s.needs_probabilities)
        if names and (p.min() < 0.0 or p.max() > 1.0):
            i, c = first_true((p < 0.0) | (p > 1.0))
            v = p[i] if c is None else p[i, c]
            raise InputError(
                f"{names} need{'s' if ',' not in names else ''} probabilities in [0, 1], found {fmt(v)}",
                role="preds",
                row=self._row(i),
                col_index=c,
                fix=f"Pass {option('from_logits', True)} for raw scores (logits), "
                f"or {option('losses')} to choose other losses",
                kind="preds_range",
            )
        eps = self.options.eps
        if self.options.convention.log_clamp is None:  # a clamp clips no probability
            self.n_clipped = int(np.count_nonzero((p < eps) | (p > 1.0 - eps)))
        if self.task == "multiclass":
            sums = p.sum(axis=1)
            tol = (
                float(np.sqrt(np.finfo(self.input_dtype).eps))
                if self.input_dtype.kind == "f"
                else 1e-8
            )
            off = np.abs(sums - 1.0) > tol
            self.n_unnormalized = int(np.count_nonzero(off))
            if self.n_unnormalized:
                self.first_unnormalized = self._row(int(np.argmax(off)))
                if self.options.renormalize:
                    if (sums == 0).any():
                        i = int(np.argmax(sums == 0))
                        raise InputError(
                            "a row of probabilities sums to 0 and cannot be renormalized",
                            role="preds",
                            row=self._row(i),
                        )
                    self.probabilities = p / sums[:, None]

    # --- shared intermediates ----------------------------------------------------------

    @property
    def class_index(self) -> NDArray[np.intp]:
        """The true class of each row (binary: 0/1); an error for soft labels."""
        if self._class_index is None:
            raise InputError(
                "hinge needs one class per row, but the labels are soft (one column per class)",
                fix="Give class indices in one --label-col, "
                f"or choose other losses with {option('losses')}",
            )
        return self._class_index

    @cached_property
    def one_hot(self) -> Array:
        """Y (n, k): the label matrix, one-hot for class indices (multiclass)."""
        if self.Y is not None:
            return self.Y
        Y = np.zeros(self.scores.shape, dtype=np.float64)
        Y[np.arange(self.n), self._class_index] = 1.0
        return Y

    @cached_property
    def p(self) -> Array:
        """Probability of the positive class (binary) or of each class (multiclass)."""
        if not self.options.from_logits:
            return self.probabilities
        if self.task == "binary":
            return kernels.sigmoid(self.scores)
        return kernels.softmax(self.scores)

    @cached_property
    def q(self) -> Array:
        """1 − p (binary), as σ(−z) from logits so that it keeps its digits near p = 1."""
        if self.options.from_logits:
            return kernels.sigmoid(-self.scores)
        return 1.0 - self.scores

    @cached_property
    def residual(self) -> Array:
        if self.task == "regression":
            return self.scores - self.target
        if self.task == "binary":
            return self.p - self.y
        return self.p - self.one_hot

    @cached_property
    def _binary_logs(self) -> tuple[Array, Array]:
        if self.options.from_logits:
            return kernels.binary_log_probs_from_logits(self.scores)
        clamp = self.rules.log_clamp
        if clamp is not None:  # PyTorch: log p and log(1 − p), each at least the clamp
            with np.errstate(divide="ignore"):
                return np.maximum(np.log(self.scores), clamp), np.maximum(np.log(self.q), clamp)
        keras = self.rules.clip_eps is not None
        return kernels.binary_log_probs(self.scores, eps=self.options.eps, clip_first=keras)

    @property
    def log_p(self) -> Array:
        return self._binary_logs[0]

    @property
    def log_q(self) -> Array:
        return self._binary_logs[1]

    @cached_property
    def y_smooth(self) -> Array:
        s = self.options.label_smoothing
        return self.y if s == 0.0 else self.y * (1.0 - s) + 0.5 * s

    @cached_property
    def bce(self) -> Array:
        """Per-sample binary cross-entropy, shared by bce, ce, kl and focal (binary)."""
        # PyTorch's clamp and Keras's clipping take both logs (`_binary_logs`)
        own_logs = self.rules.log_clamp is not None or self.rules.clip_eps is not None
        if self.options.label_smoothing == 0.0 and not self.soft and not own_logs:
            if self.options.from_logits:
                return kernels.binary_cross_entropy_from_logits(self.y, self.scores)
            return kernels.binary_cross_entropy(self.y, self.scores, self.q, eps=self.options.eps)
        return kernels.soft_binary_cross_entropy(self.y_smooth, self.log_p, self.log_q)

    @cached_property
    def hinge(self) -> Array:
        """max(0, 1 − t·s) on raw scores (binary), shared by hinge and squared_hinge."""
        return kernels.binary_hinge(self.y, self.scores)

    @cached_property
    def log_P(self) -> Array:
        if self.options.from_logits:
            return kernels.log_softmax(self.scores)
        if self.rules.log_clamp is not None:  # PyTorch's F.nll_loss(log P): no clipping
            with np.errstate(divide="ignore"):
                return np.log(self.probabilities)
        return np.log(np.clip(self.probabilities, self.options.eps, 1.0 - self.options.eps))

    @cached_property
    def Y_smooth(self) -> Array:
        s = self.options.label_smoothing
        Y = self.one_hot
        return Y if s == 0.0 else Y * (1.0 - s) + s / self.n_classes

    @cached_property
    def ce(self) -> Array:
        """Per-sample categorical cross-entropy (multiclass), from class indices when the
        labels are hard (no (n, k) product), else from the smoothed or soft label matrix."""
        hard = self.options.label_smoothing == 0.0 and self.Y is None
        labels = self._class_index if hard else self.Y_smooth
        log_p = self.log_P
        if self.rules.renormalize_ce and not self.options.from_logits:
            # Keras: each row divided by its sum, then clipped, whatever its sum
            P = self.probabilities / self.probabilities.sum(axis=1, keepdims=True)
            log_p = np.log(np.clip(P, self.options.eps, 1.0 - self.options.eps))
        return kernels.categorical_cross_entropy(labels, log_p)

    # --- class membership, for class weights applied at result() ------------------------

    def group_sum(self, values: Array, n_groups: int) -> Array:
        """Σ sᵢ·Y_ic·vᵢ for each class c (n_groups = k), or Σ sᵢ·vᵢ (n_groups = 1)."""
        return self._per_class(values if self.weights is None else self.weights * values, n_groups)

    def group_weight(self, n_groups: int) -> Array:
        """Σ sᵢ·Y_ic per class (W_c, the denominators), or [Σ sᵢ]; counts without weights,
        and counts under a convention whose weighted means divide by N (Keras, PyTorch)."""
        if self.weights is None or self.rules.weights_over_n:
            return self.group_count(n_groups)
        return self._per_class(self.weights, n_groups)

    def _per_class(self, v: Array, n_groups: int) -> Array:
        if n_groups == 1:
            return np.array([v.sum()])
        if self.Y is None:
            return np.bincount(self._class_index, weights=v, minlength=n_groups).astype(np.float64)
        return self.Y.T @ v

    def group_count(self, n_groups: int) -> Array:
        """Unweighted Σ Y_ic per class (n_c, for balanced class weights), or [n]."""
        if n_groups == 1:
            return np.array([float(self.n)])
        if self.Y is None:
            return np.bincount(self._class_index, minlength=n_groups).astype(np.float64)
        return self.Y.sum(axis=0)
