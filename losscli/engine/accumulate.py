"""Mergeable sufficient statistics: ``update(chunk) → merge(other) → result()``.

Every loss reduces to a few sums per class c (one "class" when no class weight is used):
for each term xᵢ of its statistic (`losscli.engine.stats`: ℓᵢ for a mean, three for Dice)

    S_c = Σ sᵢ·Y_ic·xᵢ,   and the shared  W_c = Σ sᵢ·Y_ic,  n_c = Σ Y_ic

and at `result()` the class weights w_c (explicit, or balanced from n_c) are applied and
the statistic turns Σ_c w_c S_c and Σ_c w_c W_c into the loss's value. Within a chunk NumPy sums pairwise; across chunks the
sums are kept as compensated (hi, lo) pairs merged with Knuth's TwoSum, so the result does
not depend, beyond the last digit or so, on how the rows were chunked or in which order the
chunks were merged — the same code serves an array in memory, a file streamed in chunks,
threads, and a cluster.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from losscli.engine import conventions
from losscli.engine.batch import Batch
from losscli.engine.diagnostics import Diagnostics
from losscli.engine.keys import Bins
from losscli.engine.limits import MAX_SLICES
from losscli.engine.options import Options
from losscli.engine.registry import LossSpec
from losscli.engine.slices import Key, SlicedSums, SliceTable
from losscli.engine.stats import BinTerms, Statistic, reliability
from losscli.engine.sums import CompensatedSum
from losscli.engine.weights import class_weight_vector
from losscli.engine.worst import Describe, WorstRows
from losscli.errors import InputError, option

Array = NDArray[np.float64]


@dataclass
class Reduced:
    """What an accumulator reduces to: one number per loss and the totals behind them."""

    losses: dict[str, float]
    sum_weights: float
    n_samples: int
    class_weights: list[float] | None
    diagnostics: Diagnostics
    # per slicing: its columns and its slices, in key-number order
    slices: list[tuple[tuple[str, ...], SliceTable]] = field(default_factory=list)
    worst: WorstRows | None = None
    # ece/mce: the reliability table, one entry per bin (`losscli.engine.stats.reliability`)
    calibration: list[dict[str, Any]] | None = None


@dataclass
class Accumulator:
    """Sufficient statistics of a set of losses over the rows seen so far.

    Args:
        specs: the losses to compute (SPEC names, resolved by the registry).
        task: ``regression``, ``binary`` or ``multiclass``.
        n_classes: k (2 for binary, 1 for regression).
        options: validated `Options`.
        classes: class names in column order (for class weights and messages).
        keep_per_sample: keep ℓᵢ of every row (``reduction='none'``).
        soft_targets: binary labels may be probabilities in [0, 1] (distillation), as
            PyTorch's and Keras's binary cross-entropy take them; off, they must be 0/1.
        slicings: the column names of each slicing whose keys `update` is given
            (`losscli.engine.slices`); ``per_class`` adds one by the true class, last.
        worst: keep the rows with the `worst` largest ℓᵢ of the loss `worst_by`.
    """

    specs: list[LossSpec]
    task: str
    n_classes: int
    options: Options
    classes: list[str] = field(default_factory=list)
    keep_per_sample: bool = False
    soft_targets: bool = False
    slicings: Sequence[tuple[str, ...]] = ()
    per_class: bool = False
    worst: int = 0
    worst_by: str | None = None
    max_slices: int = MAX_SLICES

    def __post_init__(self) -> None:
        weighted = self.options.class_weight is not None and self.task != "regression"
        self.n_groups = self.n_classes if weighted else 1
        g, o = self.n_groups, self.options
        # one set of sums per statistic key: rmse reads mse's
        self._stats: dict[str, Statistic] = {}
        for spec in self.specs:
            key = spec.statistic.key
            if key not in self._stats or key == spec.name:  # the owner keeps per-row values
                self._stats[key] = spec.statistic
        # sums per class group: the statistic's size, once per class for multiclass overlaps
        widths = {
            key: st.size(o) * st.copies(self.task, self.n_classes)
            for key, st in self._stats.items()
        }
        self._sums: dict[str, CompensatedSum] = {
            key: CompensatedSum.zeros((g,) if widths[key] == 1 else (g, widths[key]))
            for key in self._stats
        }
        self._weight = CompensatedSum.zeros((g,))
        self._count = CompensatedSum.zeros((g,))
        # rows per bin of a statistic over bins (ece, mce), unweighted
        self._bin_rows: dict[str, NDArray[np.int64]] = {}
        self.diagnostics = Diagnostics()
        # (0-based first row, ℓᵢ by loss, weights, 0-based input rows kept or None for all)
        self.per_sample: list[
            tuple[int, dict[str, Array], Array | None, NDArray[np.intp] | None]
        ] = []
        by = list(self.slicings) + ([("class",)] if self.per_class else [])
        self._sliced = [SlicedSums(tuple(b), widths, g, self.max_slices) for b in by]
        self._worst_key = self._worst_statistic()
        self.worst_rows = WorstRows(self.worst) if self.worst else None

    def _worst_statistic(self) -> str | None:
        if not self.worst:
            return None
        name = self.worst_by or self.specs[0].name
        spec = next((s for s in self.specs if s.name == name), None)
        if spec is None:
            raise InputError(
                f"{option('worst_by', name)} is not one of the losses computed",
                fix=f"Choose one of {', '.join(s.name for s in self.specs)}",
            )
        if not spec.statistic.per_sample:
            raise InputError(
                f"{name} has no value per row ({spec.statistic.note or 'dataset level'}), "
                "so it cannot rank rows",
                fix=f"Rank by a per-sample loss with {option('worst_by')}"
                + (" (mse for rmse)" if name == "rmse" else ""),
            )
        return spec.statistic.key

    # --- update ------------------------------------------------------------------------

    def update(
        self,
        preds: np.ndarray,
        labels: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        row_offset: int | None = None,
        slices: Sequence[tuple[NDArray[np.intp], Sequence[Key] | None]] = (),
        describe: Describe | None = None,
    ) -> Accumulator:
        """Add a chunk of rows. `row_offset` (0-based) places it in the input for messages;
        by default chunks are taken to follow each other. `slices` gives, per slicing, each
        row's key as (codes, keys) (`losscli.engine.keys.encode`), or as (numbers, None)
        from `number_slices`; `describe` names rows for
        the worst rows (chunk positions → id, line, shown columns)."""
        offset = (
            self.diagnostics.n_rows + self.diagnostics.n_omitted
            if row_offset is None
            else row_offset
        )
        preds, labels, sample_weight, rows = self._omit_nan(preds, labels, sample_weight, offset)
        if np.shape(preds)[0] == 0:
            return self
        batch = Batch(
            self.task,
            preds,
            labels,
            sample_weight,
            self.options,
            self.specs,
            row_offset=offset,
            rows=rows,
            soft_targets=self.soft_targets,
        )
        d = self.diagnostics
        d.n_rows += batch.n
        d.sample_weighted |= batch.weights is not None
        d.n_clipped += batch.n_clipped
        if batch.n_unnormalized:
            d.first_unnormalized = (
                batch.first_unnormalized
                if d.first_unnormalized is None
                else min(d.first_unnormalized, batch.first_unnormalized or d.first_unnormalized)
            )
            d.n_unnormalized += batch.n_unnormalized
        if batch.negative_label == 0.0:
            d.saw_zero_label = True
        elif batch.negative_label == -1.0:
            d.saw_minus_one_label = True
        self._check_label_style()

        with np.errstate(over="ignore", invalid="ignore"):
            # overflow (1e200²) becomes inf here and one clear error at result()
            terms = self._add(batch, offset)
            self._add_slices(batch, terms, slices)
            if self.worst_rows is not None and self._worst_key is not None:
                self._offer_worst(batch, terms[self._worst_key][0], offset, describe)
        return self

    def _add(self, batch: Batch, offset: int) -> dict[str, tuple[Array, ...]]:
        g = self.n_groups
        self._weight.add(batch.group_weight(g))
        self._count.add(batch.group_count(g))
        kept: dict[str, Array] = {}
        all_terms: dict[str, tuple[Array, ...]] = {}
        for key, stat in self._stats.items():
            terms = all_terms[key] = stat.terms(batch)
            if isinstance(terms, BinTerms):  # ece, mce: O(n) whatever the number of bins
                self._bin_rows[key] = _plus(self._bin_rows.get(key), terms.rows())
                self._sums[key].add(_bin_sums(batch, terms, g))
            elif len(terms) == 1:
                self._sums[key].add(batch.group_sum(terms[0], g))
            else:
                self._sums[key].add(np.stack([batch.group_sum(t, g) for t in terms], axis=1))
            if self.keep_per_sample and stat.per_sample:
                kept[key] = terms[0]
        if self.keep_per_sample:
            rows = batch.kept_rows
            self.per_sample.append(
                (offset, kept, batch.weights, None if rows is None else rows + offset)
            )
        return all_terms

    def _add_slices(
        self,
        batch: Batch,
        terms: dict[str, tuple[Array, ...]],
        slices: Sequence[tuple[NDArray[np.intp], Sequence[Key] | None]],
    ) -> None:
        if len(slices) != len(self.slicings):
            raise ValueError(f"expected keys for {len(self.slicings)} slicings, got {len(slices)}")
        kept = batch.kept_rows
        for sliced, (codes, keys) in zip(self._sliced, slices, strict=False):
            sliced.add(batch, terms, codes if kept is None else codes[kept], keys)
        if self.per_class:
            self._sliced[-1].add(batch, terms, self._true_class(batch), self._class_keys())

    def _class_keys(self) -> list[Key]:
        names = self.classes or [str(c) for c in range(self.n_classes)]
        return [(str(c),) for c in names]

    def _true_class(self, batch: Batch) -> NDArray[np.intp]:
        if getattr(batch, "_class_index", None) is None:
            raise InputError(
                "per-class losses need one true class per row, but "
                + (
                    "the task is regression" if self.task == "regression" else "the labels are soft"
                ),
                fix=f"Leave out {option('per_class')}, or slice by a column with {option('by')}",
            )
        return batch.class_index

    def _offer_worst(
        self, batch: Batch, losses: Array, offset: int, describe: Describe | None
    ) -> None:
        assert self.worst_rows is not None
        kept = batch.kept_rows
        at = np.arange(batch.n, dtype=np.intp) if kept is None else kept
        # the class of each row; the target (regression) or y (soft binary targets) otherwise
        labels = getattr(batch, "_class_index", None)
        if labels is None:
            labels = batch.target if self.task == "regression" else batch.y

        def facts(pick: NDArray[np.intp]) -> dict[str, list]:
            out = {
                "pred": batch.scores[pick].tolist(),
                "label": labels[pick].tolist(),
                "weight": [1.0] * len(pick)
                if batch.weights is None
                else batch.weights[pick].tolist(),
            }
            if describe is not None:
                out.update(describe(at[pick]))
            return out

        self.worst_rows.offer(losses, at + offset, facts)

    def _omit_nan(
        self, preds: np.ndarray, labels: np.ndarray, weights: np.ndarray | None, offset: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, NDArray[np.intp] | None]:
        if self.options.nan_policy != "omit":
            return preds, labels, weights, None
        bad = np.zeros(np.shape(preds)[0], dtype=bool)
        for arr in (preds, labels, weights):
            a = None if arr is None else np.asarray(arr)
            if a is not None and a.dtype.kind == "f" and a.shape[:1] == bad.shape:
                bad |= np.isnan(a).reshape(a.shape[0], -1).any(axis=1)
        if not bad.any():
            return preds, labels, weights, None
        d = self.diagnostics
        first = offset + int(np.argmax(bad)) + 1
        d.first_omitted = first if d.first_omitted is None else min(d.first_omitted, first)
        d.n_omitted += int(bad.sum())
        keep = ~bad
        rows = np.flatnonzero(keep)
        w = None if weights is None else np.asarray(weights)[keep]
        return np.asarray(preds)[keep], np.asarray(labels)[keep], w, rows

    def _check_label_style(self) -> None:
        d = self.diagnostics
        if d.saw_zero_label and d.saw_minus_one_label:
            raise InputError(
                "binary labels mix 0 and −1 as the negative class",
                role="labels",
                fix="Use 0 and 1, or −1 and 1, throughout",
            )

    def number_slices(
        self,
        columns: Sequence[Sequence[tuple[str, np.ndarray, NDArray[np.bool_] | None]]],
        bins: Mapping[str, Bins],
        row_offset: int,
    ) -> list[NDArray[np.intp]]:
        """Each slicing's key number of every row, from its columns (name, values, null mask)
        as `losscli.engine.keys.KeyIndex.number` takes them: for `update` as (numbers,
        None), once per chunk however many pieces it is added in."""
        return [
            s.index.number(cols, bins, row_offset)  # type: ignore[union-attr]
            for s, cols in zip(self._sliced, columns, strict=False)
        ]

    @property
    def n_slices(self) -> int:
        """Keys numbered so far in the largest slicing (0 without slicings)."""
        return max((s.index.size for s in self._sliced), default=0)  # type: ignore[union-attr]

    def empty_like(self) -> Accumulator:
        """No rows yet, with the same settings and slice key numbering, for another chunk of
        the same run (their per-slice sums merge by adding)."""
        out = replace(self)
        out._sliced = [s.empty_like() for s in self._sliced]
        return out

    # --- merge ---------------------------------------------------------------------------

    def merge(self, other: Accumulator, reuse: bool = False) -> Accumulator:
        """A new accumulator holding the rows of both; associative and commutative. With
        `reuse`, this one's per-slice sums are added into in place (for a running total
        that nothing else reads: no 10⁵-slice arrays copied per chunk)."""
        if (self.task, self.n_classes, [s.name for s in self.specs]) != (
            other.task,
            other.n_classes,
            [s.name for s in other.specs],
        ) or self.options != other.options:
            raise ValueError("cannot merge accumulators of different tasks, losses or options")
        out = Accumulator(
            self.specs,
            self.task,
            self.n_classes,
            self.options,
            self.classes,
            self.keep_per_sample,
            self.soft_targets or other.soft_targets,
            self.slicings,
            self.per_class,
            self.worst,
            self.worst_by,
            self.max_slices,
        )
        out._sums = {k: v.merged(other._sums[k]) for k, v in self._sums.items()}
        out._weight = self._weight.merged(other._weight)
        out._count = self._count.merged(other._count)
        out._bin_rows = {
            k: _plus(self._bin_rows.get(k), other._bin_rows.get(k))
            for k in {*self._bin_rows, *other._bin_rows}
        }
        out.diagnostics = self.diagnostics.merged(other.diagnostics)
        out.per_sample = sorted(self.per_sample + other.per_sample, key=lambda item: item[0])
        out._sliced = [a.merged(b, reuse) for a, b in zip(self._sliced, other._sliced, strict=True)]
        if self.worst_rows is not None and other.worst_rows is not None:
            out.worst_rows = self.worst_rows.merged(other.worst_rows)
        out._check_label_style()
        return out

    # --- result --------------------------------------------------------------------------

    def result(self) -> Reduced:
        """The reduced value of every loss (SPEC §4); class weights are applied here."""
        d = self.diagnostics
        if d.n_rows == 0:
            extra = f" ({d.n_omitted} rows with NaN were omitted)" if d.n_omitted else ""
            raise InputError(f"no rows to evaluate{extra}", fix="A mean over no rows is undefined")
        w = (
            np.ones(1)
            if self.n_groups == 1
            else class_weight_vector(
                self.options.class_weight,
                self._count.value(),
                self.classes or [str(c) for c in range(self.n_groups)],
            )
        )
        sum_weights = float(w @ self._weight.value())
        if not math.isfinite(sum_weights):
            raise InputError(
                "the sum of weights overflows float64 (it passes 1.8e308)",
                role="weights",
                fix="Rescale the weights (only their ratios matter) or the class weights",
            )
        if not sum_weights > 0:
            raise InputError(
                "the sum of weights is 0",
                role="weights",
                fix="Give at least one row a positive weight (sample and class weights multiply)",
            )
        # PyTorch's pos_weight (SPEC §9): bce's class weights stay out of its denominator
        plain = float(self._weight.value().sum())
        losses = {
            spec.name: self._value(
                spec.statistic,
                w,
                plain
                if conventions.class_weights_per_row(self.options.convention, spec.name)
                else sum_weights,
            )
            for spec in self.specs
        }
        # a loss that owns its sums is named before one that borrows them (rmse reads mse's)
        for spec in sorted(self.specs, key=lambda s: s.statistic.key != s.name):
            if not math.isfinite(losses[spec.name]):
                raise InputError(
                    f"overflow in {spec.name}: the values are too large for float64",
                    fix="Rescale the predictions and labels",
                )
        return Reduced(
            losses,
            sum_weights,
            d.n_rows,
            None if self.n_groups == 1 else [float(x) for x in w],
            d,
            [(s.by, s.table(self.specs, w, self.options)) for s in self._sliced],
            self.worst_rows,
            self._reliability(w),
        )

    def _reliability(self, w: Array) -> list[dict[str, Any]] | None:
        """The reliability table of the bins that ece and mce share, if they were asked for."""
        for key, rows in self._bin_rows.items():
            total = self._sums[key].value()
            sums = [float(w @ c) for c in total.T]
            return reliability(rows, sums, self.options.calibration_bins)
        return None

    def _value(self, stat: Statistic, w: Array, sum_weights: float) -> float:
        """The statistic's value from its class-weighted sums."""
        total = self._sums[stat.key].value()
        columns = [total] if total.ndim == 1 else list(total.T)
        return stat.value(sum_weights, [float(w @ c) for c in columns], self.options)

    def per_sample_losses(self) -> tuple[dict[str, Array], Array | None]:
        """ℓᵢ of every mean-type loss for every row, in row order (needs keep_per_sample)."""
        keys = {s.name: s.statistic.key for s in self.specs if not s.dataset_level}
        chunks = self.per_sample
        values = {
            n: np.concatenate([c[1][k] for c in chunks]) if chunks else np.empty(0)
            for n, k in keys.items()
        }
        weights = None
        if chunks and chunks[0][2] is not None:
            weights = np.concatenate([c[2] for c in chunks])
        return values, weights

    def per_sample_rows(self) -> NDArray[np.intp]:
        """The 0-based input row of each value of `per_sample_losses`: rows dropped by
        ``nan_policy='omit'`` are absent, so the others keep their own numbers."""
        parts = [
            np.arange(off, off + len(next(iter(kept.values()), ())), dtype=np.intp)
            if rows is None
            else rows
            for off, kept, _, rows in self.per_sample
        ]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.intp)


def _bin_sums(batch: Batch, terms: BinTerms, g: int) -> Array:
    """(g, 3B): what `Batch.group_sum` gives for each of the 3B terms, in three bincounts
    (per class group) instead of 3B passes over the rows."""
    bins, index = terms.bins, terms.bin_of
    out = np.empty((g, 3 * bins))
    for kind, x in enumerate(terms.values):  # [bᵢ = b], then ·cᵢ, then ·aᵢ
        v = batch.weights if x is None else x if batch.weights is None else batch.weights * x
        part = slice(kind * bins, (kind + 1) * bins)
        if g == 1:
            out[0, part] = np.bincount(index, weights=v, minlength=bins)
        elif batch.Y is None:
            cells = batch.class_index * bins + index
            out[:, part] = np.bincount(cells, weights=v, minlength=g * bins).reshape(g, bins)
        else:
            for c in range(g):
                yc = batch.Y[:, c] if v is None else batch.Y[:, c] * v
                out[c, part] = np.bincount(index, weights=yc, minlength=bins)
    return out


def _plus(a: NDArray[np.int64] | None, b: NDArray[np.int64] | None) -> NDArray[np.int64]:
    """Rows per bin of two sides, either of which may have seen no rows yet."""
    if a is None or b is None:
        out = a if b is None else b
        assert out is not None
        return out
    return a + b


def merge_all(accumulators: Sequence[Accumulator]) -> Accumulator:
    out = accumulators[0]
    for acc in accumulators[1:]:
        out = out.merge(acc)
    return out
