"""`compare` per slice (SPEC §8): d, its interval and p-value for every group of every
slicing, with the method of the whole comparison.

A slice's comparison is the whole's on the slice's rows: the same per-sample paired terms
(`losscli.engine.paired`), whose class weights are already the whole input's, kept for the
rows of the slice only. In memory the rows of the terms matrix are picked and handed to
`resample.compare` with the whole's method and seed (so a slice's interval is what
`compare` gives on that slice's rows alone, when the class weights do not depend on the
rows); streamed, each (slicing, key) keeps a `PairedSums` of its own, updated piece by
piece and merged in input order like the whole's. d is always the models' slice values as
they are printed: loss_model(slice) − loss_baseline(slice).

The slice keys come from the baseline model's slice columns (every model has the same rows)
and, for ``per_class``, from its true classes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from losscli.api import EvaluationResult, finish
from losscli.chunks import accumulate_arrays
from losscli.engine import resample
from losscli.engine.batch import Batch
from losscli.engine.delta_method import GroupedMoments
from losscli.engine.keys import Key, KeyIndex
from losscli.engine.sums import CompensatedSum
from losscli.errors import InputError, option
from losscli.planning import explain_guess, make_plan
from losscli.slicing import SLICE_KEYWORDS, Group, SliceSpec, Slicing, build, slice_spec

Extras = Mapping[str, tuple[np.ndarray, np.ndarray | None]]
# one slicing's rows: (its index among the slicings, its key) → the slice
SliceId = tuple[int, Key]

# the keywords of `evaluate` that choose and show slices (rows are not listed by compare)
GROUP_KEYWORDS = tuple(
    k for k in SLICE_KEYWORDS if k not in ("by", "worst", "worst_by", "show_cols")
)


@dataclass(frozen=True)
class SliceComparison:
    """One slice's comparison: the slicing's index, the slice's key by column, whether it
    is small, and the engine's `Comparison`."""

    slicing: int
    key: dict[str, str | None]
    small: bool
    found: resample.Comparison


def spec_of(part: Any, s: Any) -> tuple[SliceSpec | None, dict[str, Any]]:
    """The slicings and the baseline's slice columns (every model has the same rows), or
    None when no slices are asked for."""
    if not s.slices:
        return None, {}
    extras = dict(getattr(part, "extras", None) or {})
    spec = make_spec(extras, s.slices)
    return (spec, extras) if spec.by or spec.per_class else (None, {})


def pop_slice_keywords(options: dict[str, Any]) -> dict[str, Any]:
    """The slice keywords out of `options` (which keeps the engine's)."""
    return {k: options.pop(k) for k in GROUP_KEYWORDS if k in options}


def make_spec(extras: Extras, keywords: Mapping[str, Any]) -> SliceSpec:
    """The `SliceSpec` of the slice columns and keywords, every group kept: `top_slices`
    trims only what is shown (`shown`), after every slice is compared."""
    own = {k: v for k, v in keywords.items() if k != "top_slices"}
    spec = slice_spec(list(extras), **own)
    for name in (c for by in spec.by for c in by if c not in extras):
        raise InputError(
            f"no slice column {name!r}; the baseline's slice columns are "
            + (", ".join(extras) or "none"),
            fix=f"Give the slice columns with {option('by')}, or name one of them",
        )
    return spec


def slicings_of(spec: SliceSpec) -> list[tuple[str, ...]]:
    """Each slicing's columns, ``("class",)`` last for ``per_class`` (as the engine has it)."""
    return list(spec.by) + ([("class",)] if spec.per_class else [])


def row_keys(
    spec: SliceSpec,
    extras: Extras,
    plan: Any,
    preds: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    lo: int,
    hi: int,
    offset: int,
) -> list[tuple[np.ndarray, list[Key]]]:
    """(codes, keys) of every slicing for rows lo:hi (`offset` the input row of `lo`); the
    true class of each row from the baseline's predictions and labels for ``per_class``."""
    out = [(np.asarray(c), list(k)) for c, k in spec.keys_of(extras, lo, hi, offset)]
    if spec.per_class:
        batch = Batch(plan.task, preds[lo:hi], y[lo:hi], None if w is None else w[lo:hi],
                      plan.options, list(plan.specs), row_offset=offset)  # fmt: skip
        names = plan.classes or [str(c) for c in range(plan.n_classes)]
        out.append((batch.class_index, [(str(c),) for c in names]))
    return out


def _rows_by_key(codes: np.ndarray, keys: list[Key]) -> dict[Key, np.ndarray]:
    """Each key's row positions, in row order (two codes of one key text are one slice)."""
    number: dict[Key, int] = {}
    ids = np.array([number.setdefault(k, len(number)) for k in keys], dtype=np.intp)
    of_row = ids[codes] if len(codes) else np.empty(0, dtype=np.intp)
    order = np.argsort(of_row, kind="stable")
    bounds = np.searchsorted(of_row[order], np.arange(len(number) + 1))
    return {
        key: order[bounds[j] : bounds[j + 1]]
        for key, j in number.items()
        if bounds[j + 1] > bounds[j]
    }


def in_memory(
    terms: resample.PairedTerms,
    keys: list[tuple[np.ndarray, list[Key]]],
    results: Sequence[EvaluationResult],
    base: int,
    method: str,
    settings: Any,
) -> list[SliceComparison]:
    """Each slice's comparisons from its rows of the terms, with the whole's method."""
    rows = {(j, key): r for j, (c, k) in enumerate(keys) for key, r in _rows_by_key(c, k).items()}
    out = []
    for j, group, d in _slices(results, base, terms.contrasts):
        own = _subset(terms, rows[(j, tuple(group.key.values()))])
        found = resample.compare(own, method=method, confidence=settings.ci,
                                 n_resamples=settings.n_resamples, seed=settings.seed,
                                 differences=d)  # fmt: skip
        out += [SliceComparison(j, dict(group.key), group.small, c) for c in found]
    return out


class SliceSums:
    """Streamed, every slice's `PairedSums` as arrays over its slicing's slices: column sums
    T and the `GroupedMoments` of the paired terms, by the slice numbers of one `KeyIndex`
    per slicing (shared by the pieces on every thread). `piece` runs on a worker thread,
    `merge` in input order on the main one, as the whole's sums do."""

    def __init__(self, by: Sequence[tuple[str, ...]], max_slices: int) -> None:
        self.indexes = [KeyIndex(b, max_slices) for b in by]
        self.totals: list[CompensatedSum | None] = [None] * len(by)
        self.moments: list[GroupedMoments | None] = [None] * len(by)

    def piece(
        self, terms: resample.PairedTerms, keys: list[tuple[np.ndarray, list[Key]]]
    ) -> list[tuple[np.ndarray, GroupedMoments]]:
        """One piece's (T by slice, moments by slice) of each slicing."""
        x = terms.columns
        out = []
        for index, (codes, names) in zip(self.indexes, keys, strict=True):
            numbers = index.number_keys(names)[np.asarray(codes, dtype=np.intp)]
            size = index.size
            totals = np.stack(
                [np.bincount(numbers, weights=x[:, a], minlength=size) for a in range(x.shape[1])],
                axis=1,
            )
            out.append((totals, GroupedMoments.of_rows(x, numbers, size)))
        return out

    def merge(self, piece: list[tuple[np.ndarray, GroupedMoments]]) -> None:
        """A piece's sums after those of the rows before it."""
        for j, (totals, moments) in enumerate(piece):
            total = self.totals[j] or CompensatedSum.zeros((0, totals.shape[1]))
            size = max(totals.shape[0], total.hi.shape[0])
            total = total.grown(size)
            total.add(np.pad(totals, ((0, size - totals.shape[0]), (0, 0))))
            self.totals[j] = total
            mine = self.moments[j]
            self.moments[j] = moments if mine is None else mine.merge(moments)

    def joined(self, other: SliceSums) -> SliceSums:
        """These sums and `other`'s, whose slices were numbered by another `KeyIndex` (a
        Dask worker's): each of `other`'s slices is matched by key. A new object."""
        import copy

        out = copy.deepcopy(self)
        for j, index in enumerate(out.indexes):
            theirs, moments = other.totals[j], other.moments[j]
            if theirs is None or moments is None:
                continue
            rows = theirs.hi.shape[0]
            at = index.number_keys(other.indexes[j].keys[:rows]) if rows else np.empty(0, int)
            size = index.size
            hi, lo = np.zeros((size, theirs.hi.shape[1])), np.zeros((size, theirs.hi.shape[1]))
            hi[at], lo[at] = theirs.hi, theirs.lo
            g = moments.grown(rows)
            n, mean, m2 = np.zeros(size), np.zeros((size, g.q)), np.zeros((size, g.q, g.q))
            n[at], mean[at], m2[at] = g.n[:rows], g.mean[:rows], g.m2[:rows]
            placed = GroupedMoments(g.q, n, mean, m2)
            mine = out.totals[j]
            total = CompensatedSum(hi, lo)
            out.totals[j] = total if mine is None else mine.grown(size).merged(total)
            out.moments[j] = placed if out.moments[j] is None else out.moments[j].merge(placed)  # type: ignore[union-attr]
        return out

    def paired(self, j: int, key: Key, like: resample.PairedSums) -> resample.PairedSums:
        """The slice's `PairedSums`, laid out as `like` (the whole's)."""
        at = self.indexes[j].number_keys([key])[0]
        total, moments = self.totals[j], self.moments[j]
        assert total is not None and moments is not None
        return resample.PairedSums(
            like.contrasts, like.baseline, like.options, like.n_models, like.q,
            CompensatedSum(total.hi[at].copy(), total.lo[at].copy()), moments.at(at),
        )  # fmt: skip


def streamed(
    sums: SliceSums,
    like: resample.PairedSums,
    results: Sequence[EvaluationResult],
    base: int,
    confidence: float,
) -> list[SliceComparison]:
    """Each slice's normal-approximation comparisons from its streamed sums."""
    out = []
    for j, group, d in _slices(results, base, like.contrasts):
        own = sums.paired(j, tuple(group.key.values()), like)
        found = resample.compare_sums(own, confidence=confidence, differences=d)
        out += [SliceComparison(j, dict(group.key), group.small, c) for c in found]
    return out


def _subset(terms: resample.PairedTerms, rows: np.ndarray) -> resample.PairedTerms:
    return resample.PairedTerms(terms.columns[rows], terms.contrasts, terms.baseline,
                                terms.options, terms.n_models)  # fmt: skip


def evaluate(whole: Any, task: str, s: Any, spec: SliceSpec, extras: Any) -> EvaluationResult:
    """What `evaluate(..., by=...)` does, with the slice columns as the readers give them
    (values and a null mask) and every group kept (`top_slices` trims what is shown)."""
    try:
        plan, y = make_plan(np.asarray(whole.preds), np.asarray(whole.labels), s.losses,
                            task=task, pred_names=getattr(whole, "pred_columns", None),
                            classes=s.classes, **s.options)  # fmt: skip
        spec.check_losses([sp.name for sp in plan.specs], plan.options.reduction)
        try:
            acc = accumulate_arrays(plan, np.asarray(whole.preds), y, whole.weights,
                                    s.threads, spec, extras)  # fmt: skip
        except InputError as exc:
            raise explain_guess(plan, exc) from None
        return finish(plan, acc, spec)
    except InputError as exc:
        raise s.locate(whole, exc) from None


def _slices(
    results: Sequence[EvaluationResult], base: int, contrasts: Sequence[resample.Contrast]
) -> Iterator[tuple[int, Group, list[float]]]:
    """Every group of every slicing, in the baseline's order, with the d of each contrast
    from the models' slice values: loss(model) − loss(baseline), as printed."""
    for j, slicing in enumerate(results[base].slices):
        values = [_values(r.slices[j]) for r in results]
        for group in slicing.groups:
            key = tuple(group.key.values())
            mine = values[base][key]
            d = [_minus(values[c.model].get(key, {}).get(c.loss), mine.get(c.loss))
                 for c in contrasts]  # fmt: skip
            yield j, group, d


def _values(slicing: Slicing) -> dict[Key, dict[str, float | None]]:
    return {tuple(g.key.values()): g.losses for g in slicing.groups}


def _minus(a: float | None, b: float | None) -> float:
    return float("nan") if a is None or b is None else a - b


def shown(
    result: EvaluationResult, spec: SliceSpec, keywords: Mapping[str, Any]
) -> EvaluationResult:
    """A model's result with only the groups `top_slices` keeps (every group was compared)."""
    top = keywords.get("top_slices")
    if top is None:
        return result
    losses = list(result.losses)
    slices = [
        build(s.by, s.table, losses, spec.bins, spec.min_rows, spec.sort_by, top)
        for s in result.slices
    ]
    return replace(result, slices=slices)
