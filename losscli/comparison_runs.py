"""The runs behind `compare` and `compare_stream`: each model's losses and the paired
terms of every model against the baseline, in memory (the bootstrap, and the normal
approximation of data held whole) or streamed (the normal approximation in bounded memory,
on every core).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli import comparison_slices as sliced
from losscli.api import EvaluationResult, evaluate, finish
from losscli.chunks import make_accumulator, update_in_pieces
from losscli.comparison_inputs import (
    Locate,
    Settings,
    add_notes,
    as_mappings,
    joined,
    length_error,
    part_of,
    rows_of,
    same_labels,
    source_of,
)
from losscli.engine import resample
from losscli.errors import InputError, LossCliError
from losscli.planning import encode_chunk_labels, make_plan
from losscli.slicing import SliceSpec

# One scatter matrix (a BLAS product that is itself multi-threaded) at a time: two workers
# each starting BLAS threads on two cores ran 10× slower under load; the other worker meanwhile
# evaluates its chunk's losses.
_MOMENTS = threading.Lock()

# --- in memory: the bootstrap, and the normal approximation of data held whole ---------------


@dataclass
class Run:
    """What a run gives `_build`: per model its result and source, the comparisons (the
    whole's, then each slice's), the baseline's plan and the notes."""

    names: list[str]
    results: list[EvaluationResult]
    sources: list[tuple[list[str], dict[str, Any]]]
    found: list[resample.Comparison]
    plan: Any
    notes: list[str]
    slices: list[sliced.SliceComparison] = field(default_factory=list)


def _shown(results: list[EvaluationResult], spec: SliceSpec | None, s: Settings) -> list[Any]:
    if spec is None:
        return results
    return [sliced.shown(r, spec, s.slices) for r in results]


def run_in_memory(chunks: list[Mapping[str, Any]], names: list[str], s: Settings) -> Run:
    """Each model's parts joined and evaluated in turn (so a lazy mapping reads one model at
    a time), then the paired terms of the whole matrix, resampled or not (`resample.compare`)."""
    base = names.index(s.baseline or names[0])
    notes: list[str] = []
    results: list[EvaluationResult] = []
    wholes: list[Any] = []
    spec: SliceSpec | None = None
    extras: dict[str, Any] = {}
    if s.slices:  # the slice columns are the baseline's: read it first
        spec, extras = sliced.spec_of(joined([part_of(c, names[base]) for c in chunks]), s)
    for name in names:
        whole = joined([part_of(c, name) for c in chunks])
        r = _evaluate(whole, results[0].task if results else s.task, s, spec, extras)
        add_notes(notes, name, [*getattr(whole, "notes", []), *r.notes])
        if wholes:
            if r.n_samples != results[0].n_samples:
                raise length_error(name, r.n_samples, names[0], results[0].n_samples)
            same_labels(name, whole, names[0], wholes[0])
        results.append(r)
        wholes.append(whole)
    first = wholes[base]
    plan, y = make_plan(
        np.asarray(first.preds),
        np.asarray(first.labels),
        s.losses,
        task=results[0].task,
        pred_names=getattr(first, "pred_columns", None),
        classes=s.classes,
        **s.options,
    )
    terms = resample.paired_terms(
        plan.task,
        plan.specs,
        plan.options,
        [np.asarray(w.preds) for w in wholes],
        y,
        first.weights,
        classes=plan.classes or [],
        baseline=base,
    )
    found = resample.compare(
        terms,
        method=s.method,
        confidence=s.ci,
        n_resamples=s.n_resamples,
        seed=s.seed,
        differences=_differences(results, base, terms.contrasts),
    )
    slices = []
    if spec is not None and found:
        w = first.weights
        keys = sliced.row_keys(spec, extras, plan, np.asarray(first.preds), y, w, 0, terms.n, 0)
        slices = sliced.in_memory(terms, keys, results, base, found[0].method, s)
    sources = [source_of(w) for w in wholes]
    return Run(names, _shown(results, spec, s), sources, found, plan, notes, slices)


def _differences(results: list[EvaluationResult], base: int, contrasts: Any) -> list[float]:
    """d of each contrast from the models' reported losses, so that d is exactly
    loss(B) − loss(A) as printed."""
    losses = results[base].losses
    return [results[c.model].losses[c.loss] - losses[c.loss] for c in contrasts]


def _evaluate(
    whole: Any, task: str, s: Settings, spec: SliceSpec | None = None, extras: Any = None
) -> EvaluationResult:
    """One model's rows evaluated (with the baseline's slice columns); engine errors are
    placed in the caller's data."""
    if spec is not None:
        return sliced.evaluate(whole, task, s, spec, extras)
    try:
        return evaluate(
            whole.preds,
            whole.labels,
            s.losses,
            task=task,
            sample_weight=whole.weights,
            pred_names=getattr(whole, "pred_columns", None),
            classes=s.classes,
            threads=s.threads,
            **s.options,
        )
    except InputError as exc:
        raise s.locate(whole, exc) from None


# --- streamed: the normal approximation in bounded memory, on every core ----------------------


class Stream:
    """The normal approximation over chunks of every model (the same rows in each).

    Per chunk, on a worker thread: each model's rows into an engine accumulator of their
    own (so each model's losses are what `evaluate_stream` gives), and the paired terms,
    in pieces cut where the in-memory path cuts the whole matrix (`moment_pieces`), into
    `PairedSums` of their own. The main thread reads the next chunk meanwhile and merges
    the results in input order, so the numbers do not depend on the threads.
    """

    def __init__(
        self,
        names: list[str],
        s: Settings,
        rewind: Callable[[], Iterable[Any]] | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.names, self.s, self.rewind, self.progress = names, s, rewind, progress
        self.base = names.index(s.baseline or names[0])
        self.totals: list[Any] = [None] * len(names)
        self.sums: Any = None
        self.slice_sums: sliced.SliceSums | None = None

    def run(self, chunks: Iterator[Mapping[str, Any]]) -> Run:
        head = next(chunks)
        first = [part_of(head, n) for n in self.names]
        plans, labels = self._plans(first)
        plan = plans[self.base]
        resample.check_reduction(plan.options)
        spec, _ = sliced.spec_of(first[self.base], self.s)
        if spec is not None:
            spec.check_losses([sp.name for sp in plan.specs], plan.options.reduction)
        if spec is not None:
            self.slice_sums = sliced.SliceSums(sliced.slicings_of(spec), spec.max_slices)
        templates = [make_accumulator(p, spec) for p in plans]  # slice keys numbered alike
        step = _Step(plans, self.names, self.base, self._class_weights(plan), self.s.locate,
                     spec, templates, self.slice_sums)  # fmt: skip
        sources = [source_of(p) for p in first]
        self._merge_all(step, first, labels, chunks, plans)
        return self.finished(plans, spec, sources)

    def finished(self, plans: list[Any], spec: SliceSpec | None, sources: list[Any]) -> Run:
        """The run from the merged totals, sums and slice sums (here, or a Dask cluster's:
        `losscli.dask_compare`)."""
        plan = plans[self.base]
        notes: list[str] = []
        results = []
        for name, (own, _), p, acc in zip(self.names, sources, plans, self.totals, strict=True):
            r = finish(p, acc, spec)
            add_notes(notes, name, [*own, *r.notes])
            results.append(r)
        found = resample.compare_sums(
            self.sums,
            confidence=self.s.ci,
            differences=_differences(results, self.base, self.sums.contrasts),
        )
        slices = []
        if spec is not None:
            assert self.slice_sums is not None
            slices = sliced.streamed(self.slice_sums, self.sums, results, self.base, self.s.ci)
        shown = _shown(results, spec, self.s)
        return Run(self.names, shown, sources, found, plan, notes, slices)

    def _merge_all(
        self,
        step: _Step,
        first: list[Any],
        labels: list[Any],
        chunks: Iterator[Mapping[str, Any]],
        plans: list[Any],
    ) -> None:
        """Submit every chunk to the workers (at most `threads` + 1 in flight) and merge
        their results in input order. An error while reading a chunk is raised after the
        chunks before it are merged, so the first error in the data is the one reported."""
        workers = max(1, self.s.threads or os.cpu_count() or 1)
        offset = rows_of(first[0])
        pending: deque[tuple[int, Future[Any]]] = deque()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            try:
                pending.append((offset, pool.submit(step, first, labels, 0)))
                try:
                    for chunk in chunks:
                        parts = [part_of(chunk, n) for n in self.names]
                        start = getattr(parts[0], "row_offset", offset)
                        codes = [
                            self._encoded(p, c, start) for p, c in zip(plans, parts, strict=True)
                        ]
                        offset = start + rows_of(parts[0])
                        pending.append((rows_of(parts[0]), pool.submit(step, parts, codes, start)))
                        while len(pending) > workers:
                            self._merge(*pending.popleft())
                except LossCliError:
                    while pending:
                        self._merge(*pending.popleft())
                    raise
                while pending:
                    self._merge(*pending.popleft())
            finally:
                for _, future in pending:
                    future.cancel()

    def _merge(self, rows: int, future: Future[Any]) -> None:
        """One chunk's accumulators after the rows before, and its pieces' sums and moments
        after theirs: what `PairedSums.update` does with each piece's terms."""
        accs, pieces, slice_pieces = future.result()
        for m, acc in enumerate(accs):
            self.totals[m] = acc if self.totals[m] is None else self.totals[m].merge(acc)
        for piece in slice_pieces:
            self.slice_sums.merge(piece)  # type: ignore[union-attr]
        for piece in pieces:
            if self.sums is None:
                self.sums = piece
            else:
                self.sums.total.add(piece.total.value())
                self.sums.moments = self.sums.moments.merge(piece.moments)
        if self.progress is not None:
            self.progress(rows)

    def _plans(self, parts: list[Any]) -> tuple[list[Any], list[Any]]:
        """Each model's plan and numeric labels, decided from its first chunk as
        `evaluate_stream` does; every model takes the first model's task."""
        plans: list[Any] = []
        labels = []
        for part in parts:
            try:
                p, y = make_plan(
                    np.asarray(part.preds),
                    np.asarray(part.labels),
                    self.s.losses,
                    task=plans[0].task if plans else self.s.task,
                    pred_names=getattr(part, "pred_columns", None),
                    classes=self.s.classes,
                    **self.s.options,
                )
            except InputError as exc:
                raise self.s.locate(part, exc) from None
            plans.append(p)
            labels.append(y)
        return plans, labels

    def _encoded(self, plan: Any, part: Any, offset: int) -> Any:
        """A later chunk's labels as the plan encodes them (class names → indices)."""
        try:
            return encode_chunk_labels(plan, np.asarray(part.labels), offset)
        except InputError as exc:
            raise self.s.locate(part, exc) from None

    def _class_weights(self, plan: Any, count: Callable[[Any], Any] | None = None) -> Any:
        """One weight per class for the terms of every chunk, or None (no class weights).

        Explicit weights need nothing of the data. ``balanced`` weights n/(k·n_c) need the
        class counts of the whole input before the first chunk's terms: they are counted in
        a first pass over the baseline model's chunks (`rewind`, or `count(plan)`, a Dask
        cluster's pass over its partitions; every model has the same
        labels, and a model whose labels differ is an error in the main pass). Exact: the
        weights are those the in-memory path computes from all rows. (Keeping the terms'
        moments per class instead would avoid the pass for one-hot labels, but not for soft
        labels, whose cross-class products it cannot recover.)
        """
        from losscli.engine.weights import class_weight_vector

        spec = plan.options.class_weight
        if spec is None or plan.task == "regression":
            return None
        k = plan.n_classes
        names = list(plan.classes or []) or [str(c) for c in range(k)]
        counts = (count or self._count_classes)(plan) if spec == "balanced" else np.ones(k)
        return class_weight_vector(spec, counts, names)

    def _count_classes(self, plan: Any) -> Any:
        """Σ Y_ic per class over every row of the baseline model (a pass of its own)."""
        from losscli.engine.accumulate import CompensatedSum
        from losscli.engine.batch import Batch

        assert self.rewind is not None
        k = plan.n_classes
        counts = CompensatedSum.zeros((k,))
        for models in as_mappings(self.rewind()):
            c = part_of(models, self.names[self.base])
            offset = getattr(c, "row_offset", 0)
            try:
                y = encode_chunk_labels(plan, np.asarray(c.labels), offset)
                batch = Batch(plan.task, np.asarray(c.preds), y, c.weights,
                              plan.options, plan.specs, row_offset=offset)  # fmt: skip
            except InputError as exc:
                raise self.s.locate(c, exc) from None
            counts.add(batch.group_count(k))
        return counts.value()


@dataclass(frozen=True)
class _Step:
    """The work of one chunk, on a worker thread: per model an accumulator (engine errors
    placed in that model's part; a model whose labels differ from the first's is an error
    after its rows), then the paired terms' sums and moments, one `PairedSums` per piece."""

    plans: list[Any]
    names: list[str]
    base: int
    class_weights: Any
    locate: Locate
    spec: SliceSpec | None = None
    templates: list[Any] = field(default_factory=list)  # per model: `empty_like` per chunk
    slice_sums: sliced.SliceSums | None = None  # numbers the slices of every piece

    def __call__(self, parts: list[Any], labels: list[Any], offset: int) -> tuple[list, list, list]:
        accs = []
        extras = getattr(parts[self.base], "extras", None) or {}
        for m, part in enumerate(parts):
            start = getattr(part, "row_offset", offset)
            try:
                fresh = (self.templates[m].empty_like() if self.templates
                         else make_accumulator(self.plans[m], self.spec))  # fmt: skip
                acc = update_in_pieces(fresh,
                                       np.asarray(part.preds), labels[m], part.weights, start,
                                       self.spec, extras)  # fmt: skip
            except InputError as exc:
                raise self.locate(part, exc) from None
            accs.append(acc)
            if m:
                same_labels(self.names[m], part, self.names[0], parts[0])
        return (accs, *self._pieces(parts, labels[self.base], offset))

    def _pieces(self, parts: list[Any], y: Any, offset: int) -> tuple[list, list]:
        """The paired terms' sums of each piece, and of each slice in each piece."""
        plan, b = self.plans[self.base], parts[self.base]
        preds = [np.asarray(p.preds) for p in parts]
        w = b.weights
        start = getattr(b, "row_offset", offset)
        extras = getattr(b, "extras", None) or {}
        out, by_slice = [], []
        for lo, hi in resample.moment_pieces(start, rows_of(b)):
            terms = resample.paired_terms(
                plan.task,
                plan.specs,
                plan.options,
                [p[lo:hi] for p in preds],
                y[lo:hi],
                None if w is None else w[lo:hi],
                classes=plan.classes or [],
                baseline=self.base,
                class_weights=self.class_weights,
            )
            keys = None
            if self.spec is not None:
                keys = sliced.row_keys(self.spec, extras, plan, preds[self.base], y, w,
                                       lo, hi, start + lo)  # fmt: skip
            with _MOMENTS:
                out.append(resample.PairedSums.like(terms).update(terms))
                if keys is not None and self.slice_sums is not None:
                    by_slice.append(self.slice_sums.piece(terms, keys))
        return out, by_slice
