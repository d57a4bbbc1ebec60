"""The same sums as the whole input, kept once more per slice (SPEC §8).

A slicing (``--by region``, ``--by region,device``, ``--per-class``) gives each row a key.
`SlicedSums` keeps, for every key seen, exactly the sums the accumulator keeps for the whole
input: Σsᵢ·Y_ic and n_c per class group, and each statistic's Σsᵢ·Y_ic·xᵢ
(`losscli.engine.stats`). A slice's value is then the statistic's own `value` of its sums,
with the class weights of the whole input, so every loss, dataset-level ones included, is
computed per slice with no code of its own: a slice is one more axis of the same arrays.

Keys are numbered by a `losscli.engine.keys.KeyIndex` that the accumulators of one run
share (`empty_like`), so their sums line up and `merged` adds arrays; accumulators with
their own numbering (other runs, other processes) merge by key. Either way chunks, threads
and partitions merge in any order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from losscli.engine import conventions
from losscli.engine.keys import Key, KeyIndex
from losscli.engine.limits import MAX_SLICES
from losscli.engine.sums import CompensatedSum

if TYPE_CHECKING:
    from losscli.engine.batch import Batch
    from losscli.engine.options import Options
    from losscli.engine.registry import LossSpec

Array = NDArray[np.float64]


@dataclass
class SliceTable:
    """One slicing's slices as columns: slice j has key part i ``parts[i][j]`` (the key is
    ``keys[j]``), with its rows, Σω and each loss's value (NaN where Σω is 0 or the value is
    not finite). Columns, not one object per slice: 10⁵ slices are ordered, summarised and
    written as arrays and lists, and their key tuples are only made when read."""

    parts: list[list[str | None]]
    n_samples: NDArray[np.int64]
    sum_weights: Array
    losses: dict[str, Array]

    @cached_property
    def keys(self) -> list[Key]:
        return list(zip(*self.parts, strict=True))

    def key(self, j: int) -> Key:
        """Slice j's key (without making every key)."""
        return tuple(p[j] for p in self.parts)

    def __len__(self) -> int:
        return len(self.n_samples)

    def take(self, positions: NDArray[np.intp]) -> SliceTable:
        """The slices at `positions`, in that order."""
        at = positions.tolist()
        return SliceTable(
            [[p[i] for i in at] for p in self.parts],
            self.n_samples[positions],
            self.sum_weights[positions],
            {name: v[positions] for name, v in self.losses.items()},
        )


@dataclass
class SlicedSums:
    """Per-key sums of one slicing.

    Args:
        by: the key's parts, e.g. ``("region", "device")`` or ``("class",)``.
        widths: statistic key → sums per class group (1, or 3 for Dice).
        n_groups: class groups (k with class weights, else 1).
        max_slices: more distinct keys is an error.
        index: the keys' numbers, shared with the other accumulators of a run
            (`empty_like`); row j of every sum is key ``index.keys[j]``.
    """

    by: tuple[str, ...]
    widths: Mapping[str, int]
    n_groups: int
    max_slices: int = MAX_SLICES
    index: KeyIndex | None = None
    # Σω per key, None while every row has weight 1 (then Σω is the count: one sum fewer to
    # add and merge per chunk, 10⁵ slices wide)
    _weight: CompensatedSum | None = field(init=False, repr=False)
    _count: CompensatedSum = field(init=False, repr=False)
    _sums: dict[str, CompensatedSum] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = KeyIndex(self.by, self.max_slices)
        g = self.n_groups
        self._weight = None
        self._count = CompensatedSum.zeros((0, g))
        self._sums = {
            k: CompensatedSum.zeros((0, g) if w == 1 else (0, g, w)) for k, w in self.widths.items()
        }

    @property
    def keys(self) -> list[Key]:
        """The keys of this accumulator's rows of sums, in order."""
        assert self.index is not None
        return self.index.keys[: self._count.hi.shape[0]]

    def empty_like(self) -> SlicedSums:
        """No rows yet, keys numbered as this one's (their sums merge by adding)."""
        return SlicedSums(self.by, self.widths, self.n_groups, self.max_slices, self.index)

    def _weights(self) -> CompensatedSum:
        """Σω per key (the count while rows are unweighted)."""
        return self._count if self._weight is None else self._weight

    def _copy_of_count(self) -> CompensatedSum:
        c = self._count
        return CompensatedSum(c.hi.copy(), c.lo.copy(), c.empty)

    def _grow(self, s: int) -> None:
        if self._weight is not None:
            self._weight = self._weight.grown(s)
        self._count = self._count.grown(s)
        self._sums = {k: v.grown(s) for k, v in self._sums.items()}

    # --- update and merge ----------------------------------------------------------------

    def add(
        self,
        batch: Batch,
        terms: Mapping[str, tuple[Array, ...]],
        codes: NDArray[np.intp],
        keys: Sequence[Key] | None = None,
    ) -> None:
        """Add a chunk: row i has key number `codes[i]` of `index` or, given `keys`, key
        ``keys[codes[i]]``; `terms` are each statistic's per-row terms (computed once for
        the whole input's sums too)."""
        assert self.index is not None
        if keys is not None:
            codes = self.index.number_keys(keys)[codes]
        s = max(self.index.size, self._count.hi.shape[0])
        self._grow(s)
        count = _by_key(batch, None, codes, s, self.n_groups, weighted=False)
        whole = self.n_groups == 1 or batch.Y is None  # counts of rows, not of soft labels
        # Keras and PyTorch divide a weighted mean by N (SPEC §9), in each slice as in the whole
        weighted = batch.weights is not None and not batch.rules.weights_over_n
        if weighted or self._weight is not None:
            if self._weight is None:  # weights from now on: Σω so far is the count
                self._weight = self._copy_of_count()
            if weighted:
                self._weight.add(_by_key(batch, None, codes, s, self.n_groups), keep=True)
            else:
                self._weight.add(count, whole=whole)
        # Σω took a copy of it, if it took it
        self._count.add(count, keep=True, whole=whole)
        for key, values in terms.items():
            parts = [_by_key(batch, t, codes, s, self.n_groups) for t in values]
            self._sums[key].add(parts[0] if len(parts) == 1 else np.stack(parts, axis=2), keep=True)

    def merged(self, other: SlicedSums, reuse: bool = False) -> SlicedSums:
        """The sums of both: added row by row when their keys are numbered alike (one run),
        else matched by key, this side's keys first. With `reuse` this side's sums are
        added into in place and it is returned (a running total that nothing else reads)."""
        if other.index is not self.index:
            return self._merged_by_key(other)
        out = self if reuse else self.empty_like()
        s = max(self._count.hi.shape[0], other._count.hi.shape[0])

        def plus(mine: CompensatedSum, theirs: CompensatedSum) -> CompensatedSum:
            if not reuse:
                return mine.grown(s).merged(theirs.grown(s))
            total = mine.grown(s)
            total.absorb(theirs.grown(s))
            return total

        if self._weight is not None or other._weight is not None:
            if reuse and self._weight is None:  # the count is not Σω's to add into
                self._weight = self._copy_of_count()
            out._weight = plus(self._weights(), other._weights())
        out._count = plus(self._count, other._count)
        out._sums = {k: plus(v, other._sums[k]) for k, v in self._sums.items()}
        return out

    def _merged_by_key(self, other: SlicedSums) -> SlicedSums:
        out = SlicedSums(self.by, self.widths, self.n_groups, self.max_slices)
        assert out.index is not None
        out.index.number_keys(self.keys)
        where = out.index.number_keys(other.keys)
        s = out.index.size

        def aligned(mine: CompensatedSum, theirs: CompensatedSum) -> CompensatedSum:
            placed = CompensatedSum.zeros((s, *theirs.hi.shape[1:]))
            placed.hi[where] = theirs.hi
            placed.lo[where] = theirs.lo
            placed.empty, placed._whole = theirs.empty, theirs._whole
            return mine.grown(s).merged(placed)

        if self._weight is not None or other._weight is not None:
            out._weight = aligned(self._weights(), other._weights())
        out._count = aligned(self._count, other._count)
        out._sums = {k: aligned(v, other._sums[k]) for k, v in self._sums.items()}
        return out

    # --- result ----------------------------------------------------------------------------

    def table(
        self, specs: Sequence[LossSpec], class_weights: Array, options: Options
    ) -> SliceTable:
        """Each slice's values, in key-number order; class weights are the whole input's
        (balanced weights come from all rows, not from the slice's)."""
        w = class_weights
        sw = self._weights().value() @ w
        n = self._count.value().sum(axis=1)
        # each statistic's class-weighted sums, one array over slices per term
        columns: dict[str, list[Array]] = {}
        for key, total in self._sums.items():
            v = total.value()
            columns[key] = [v @ w] if v.ndim == 2 else [v[:, :, j] @ w for j in range(v.shape[2])]
        # PyTorch's pos_weight (SPEC §9): bce's class weights stay out of its denominator
        plain = self._weights().value().sum(axis=1)
        present = np.flatnonzero(n > 0)  # a class named but absent from the rows has none
        losses: dict[str, Array] = {}
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for spec in specs:
                per_row = conventions.class_weights_per_row(options.convention, spec.name)
                denominator = plain if per_row else sw
                v = spec.statistic.values(denominator, columns[spec.statistic.key], options)
                v = v[present]
                losses[spec.name] = np.where(np.isfinite(v), v, np.nan)
        assert self.index is not None
        return SliceTable(
            self.index.columns(present),
            np.rint(n[present]).astype(np.int64),
            sw[present],
            losses,
        )


def _by_key(
    batch: Batch,
    values: Array | None,
    codes: NDArray[np.intp],
    n_keys: int,
    n_groups: int,
    weighted: bool = True,
) -> Array:
    """(n_keys, n_groups): Σ sᵢ·Y_ic·vᵢ over each key's rows, as `Batch.group_sum` gives it
    over all rows (vᵢ = 1 for `values=None`; sᵢ = 1 unless `weighted`)."""
    v = values
    if weighted and batch.weights is not None:
        v = batch.weights if v is None else batch.weights * v
    if n_groups == 1:
        sums = np.bincount(codes, weights=v, minlength=n_keys)
        return sums.astype(np.float64, copy=False)[:, None]
    if batch.Y is None:
        cells = codes * n_groups + batch.class_index
        flat = np.bincount(cells, weights=v, minlength=n_keys * n_groups)
        return flat.astype(np.float64).reshape(n_keys, n_groups)
    Y = batch.Y if v is None else batch.Y * v[:, None]
    return np.stack(
        [np.bincount(codes, weights=Y[:, c], minlength=n_keys) for c in range(n_groups)], axis=1
    )
