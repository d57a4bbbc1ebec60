"""The same sums as the whole input, kept once more per slice (SPEC §8).

A slicing (``--by region``, ``--by region,device``, ``--per-class``) gives each row a key.
`SlicedSums` keeps, for every key seen, exactly the sums the accumulator keeps for the whole
input: Σsᵢ·Y_ic and n_c per class group, and each statistic's Σsᵢ·Y_ic·xᵢ
(`losscli.engine.stats`). A slice's value is then the statistic's own `value` of its sums,
with the class weights of the whole input, so every loss, dataset-level ones included, is
computed per slice with no code of its own: a slice is one more axis of the same arrays.

Keys arrive per chunk as local codes plus the chunk's distinct keys (`losscli.engine.keys`);
they are numbered in order of first appearance in this accumulator, and `merged` renumbers
the other side's, so chunks, threads and partitions merge in any order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from losscli.engine import conventions
from losscli.engine.limits import MAX_SLICES
from losscli.engine.sums import CompensatedSum
from losscli.errors import InputError, option

if TYPE_CHECKING:
    from losscli.engine.batch import Batch
    from losscli.engine.options import Options
    from losscli.engine.registry import LossSpec
    from losscli.engine.stats import Statistic

Array = NDArray[np.float64]
Key = tuple[str | None, ...]


@dataclass
class SliceGroup:
    """One slice's totals and loss values (None where its Σω is 0)."""

    key: Key
    n_samples: int
    sum_weights: float
    losses: dict[str, float | None]


@dataclass
class SlicedSums:
    """Per-key sums of one slicing.

    Args:
        by: the key's parts, e.g. ``("region", "device")`` or ``("class",)``.
        widths: statistic key → sums per class group (1, or 3 for Dice).
        n_groups: class groups (k with class weights, else 1).
        max_slices: more distinct keys is an error.
    """

    by: tuple[str, ...]
    widths: Mapping[str, int]
    n_groups: int
    max_slices: int = MAX_SLICES
    keys: list[Key] = field(default_factory=list)
    _weight: CompensatedSum = field(init=False, repr=False)
    _count: CompensatedSum = field(init=False, repr=False)
    _sums: dict[str, CompensatedSum] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        g = self.n_groups
        self._weight = CompensatedSum.zeros((0, g))
        self._count = CompensatedSum.zeros((0, g))
        self._sums = {
            k: CompensatedSum.zeros((0, g) if w == 1 else (0, g, w)) for k, w in self.widths.items()
        }

    def empty_like(self) -> SlicedSums:
        return SlicedSums(self.by, self.widths, self.n_groups, self.max_slices)

    # --- keys --------------------------------------------------------------------------

    def _number(self, keys: Sequence[Key]) -> NDArray[np.intp]:
        """This accumulator's number of each key (distinct), adding keys not seen before.
        Looked up in one hash join (pandas), not key by key: 10⁵ slices stay cheap."""
        import pandas as pd

        if self.keys:
            known = pd.Index(self.keys, dtype=object, tupleize_cols=False)
            out = known.get_indexer(pd.Index(list(keys), dtype=object, tupleize_cols=False))
        else:
            out = np.full(len(keys), -1, dtype=np.intp)
        new = np.flatnonzero(out < 0)
        out[new] = len(self.keys) + np.arange(len(new))
        self.keys.extend(keys[i] for i in new)
        if len(self.keys) > self.max_slices:
            raise InputError(
                f"{' × '.join(self.by)} has more than {self.max_slices:,} distinct slices",
                column=self.by[0] if len(self.by) == 1 else None,
                fix=f"Slice by a column with fewer values, give bin edges with "
                f"{option('bins')}, or raise {option('max_slices')}",
            )
        return out

    def _grow(self) -> None:
        s = len(self.keys)
        self._weight = self._weight.grown(s)
        self._count = self._count.grown(s)
        self._sums = {k: v.grown(s) for k, v in self._sums.items()}

    # --- update and merge ----------------------------------------------------------------

    def add(
        self,
        batch: Batch,
        terms: Mapping[str, tuple[Array, ...]],
        codes: NDArray[np.intp],
        keys: Sequence[Key],
    ) -> None:
        """Add a chunk: `codes[i]` indexes `keys` for row i; `terms` are each statistic's
        per-row terms (computed once for the whole input's sums too)."""
        codes = self._number(keys)[codes]
        self._grow()
        s = len(self.keys)
        self._weight.add(_by_key(batch, None, codes, s, self.n_groups, weighted=True))
        self._count.add(_by_key(batch, None, codes, s, self.n_groups, weighted=False))
        for key, values in terms.items():
            parts = [_by_key(batch, t, codes, s, self.n_groups) for t in values]
            self._sums[key].add(parts[0] if len(parts) == 1 else np.stack(parts, axis=2))

    def merged(self, other: SlicedSums) -> SlicedSums:
        """The sums of both, keys in this side's order then the other's new ones."""
        out = self.empty_like()
        out._number(self.keys)
        where = out._number(other.keys)
        s = len(out.keys)

        def aligned(mine: CompensatedSum, theirs: CompensatedSum) -> CompensatedSum:
            placed = CompensatedSum.zeros((s, *theirs.hi.shape[1:]))
            placed.hi[where] = theirs.hi
            placed.lo[where] = theirs.lo
            return mine.grown(s).merged(placed)

        out._weight = aligned(self._weight, other._weight)
        out._count = aligned(self._count, other._count)
        out._sums = {k: aligned(v, other._sums[k]) for k, v in self._sums.items()}
        return out

    # --- result ----------------------------------------------------------------------------

    def groups(
        self, specs: Sequence[LossSpec], class_weights: Array, options: Options
    ) -> list[SliceGroup]:
        """Each slice's values, in order of first appearance; class weights are the whole
        input's (balanced weights come from all rows, not from the slice's)."""
        w = class_weights
        sw = self._weight.value() @ w
        n = self._count.value().sum(axis=1)
        # each statistic's class-weighted sums, one array over slices per term
        columns: dict[str, list[Array]] = {}
        for key, total in self._sums.items():
            v = total.value()
            columns[key] = [v @ w] if v.ndim == 2 else [v[:, :, j] @ w for j in range(v.shape[2])]
        # PyTorch's pos_weight (SPEC §9): bce's class weights stay out of its denominator
        plain = self._weight.value().sum(axis=1)
        values = {
            spec.name: _values(
                spec.statistic,
                columns[spec.statistic.key],
                plain if conventions.class_weights_per_row(options.convention, spec.name) else sw,
                options,
            )
            for spec in specs
        }
        return [
            SliceGroup(
                key, int(round(n[i])), float(sw[i]), {name: v[i] for name, v in values.items()}
            )
            for i, key in enumerate(self.keys)
            if n[i] > 0  # a class named but absent from the rows
        ]


def _values(
    stat: Statistic, columns: list[Array], sw: Array, options: Options
) -> list[float | None]:
    """The statistic's value of each slice (None where Σω is 0 or the value not finite)."""
    out: list[float | None] = []
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i, weight in enumerate(sw.tolist()):
            if not weight > 0:
                out.append(None)
                continue
            value = float(stat.value(weight, [float(c[i]) for c in columns], options))
            out.append(value if math.isfinite(value) else None)
    return out


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
        return np.bincount(codes, weights=v, minlength=n_keys).astype(np.float64)[:, None]
    if batch.Y is None:
        cells = codes * n_groups + batch.class_index
        flat = np.bincount(cells, weights=v, minlength=n_keys * n_groups)
        return flat.astype(np.float64).reshape(n_keys, n_groups)
    Y = batch.Y if v is None else batch.Y * v[:, None]
    return np.stack(
        [np.bincount(codes, weights=Y[:, c], minlength=n_keys) for c in range(n_groups)], axis=1
    )
