"""`losscli.dask.compare`: `compare_stream`'s normal approximation on a Dask cluster
(SPEC §10).

The states are those `compare_stream` already merges: per model an engine accumulator,
the paired terms' column sums and moments (`PairedSums`) and, with slices, each slice's
(`SliceSums`). Each partition becomes one such state on its worker, by the streamed
comparison's own step (`comparison_runs._Step`), and the states are merged with Dask's
tree reduction; the client turns the merged state into the result as a local run does
(`Stream.finished`, `comparison._build`). What is decided before the first row (task,
classes, losses, slices) is decided on the first partition; balanced class weights count
the classes in a first pass on the cluster.

The bootstrap resamples rows drawn from the whole input, so it cannot be cut into states:
``method='bootstrap'`` is an error, and ``auto`` is the normal approximation here.
Results equal `losscli.compare_stream(..., method='normal')` on the same rows to a
relative 1e-12 however the rows are partitioned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from losscli.comparison_inputs import Part
from losscli.errors import InputError

# the bootstrap refused on a cluster, in the words of the API and of the command line
BOOTSTRAP = InputError(
    "the bootstrap cannot run on Dask: it resamples rows drawn from the whole input, "
    "which no partition holds",
    fix="Pass --method normal (method='normal'), or leave out --dask",
)


@dataclass
class DaskPart(Part):
    """One model's rows of one partition; an error in them names the table (rows across
    its partitions, when their lengths are known) or the partition and its own row."""

    where: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)

    def locate(
        self, role: str, col_index: int | None, row: int | None
    ) -> tuple[str | None, str | None, int | None, int | None]:
        return self.where or None, None, None if row is None else row + self.row_offset, None

    def describe(self) -> dict[str, Any]:
        return self.inputs


Columns = tuple[dict[str, list[str]], list[str], str | None, list[str]]


def compare(
    ddf: Any,
    models: Mapping[str, Sequence[str] | str],
    label_cols: Sequence[str] | str,
    by: Sequence[Sequence[str] | str] | str | None = None,
    *,
    weight_col: str | None = None,
    losses: Sequence[str] | str | None = None,
    baseline: str | None = None,
    method: str = "normal",
    ci: float = 0.95,
    holm: bool = False,
    task: str = "auto",
    classes: Sequence[str] | None = None,
    split_every: int | None = None,
    progress: bool = False,
    lengths: Sequence[int] | None = None,
    name: str | None = None,
    first: Sequence[Any] | None = None,
    inputs: Mapping[str, tuple[list[str], dict[str, Any]]] | None = None,
    **options: Any,
) -> Any:
    """`losscli.compare_stream(method='normal')` on the rows of a Dask DataFrame.

    `models` maps each model's name to its prediction column(s), in order (the first is the
    baseline unless `baseline` names another); `label_cols` and `weight_col` are shared by
    every model; `by` lists the slicings (column names, tuples for crosses); every other
    keyword is `compare_stream`'s. `lengths`, the partitions' row counts when known, number
    rows across the partitions in errors (`name` then names the table); `inputs` gives per
    model its notes and its JSON "inputs"; `first`, each model's first rows (the CLI's first
    chunk), decides the task and classes instead of the first partition. Returns a
    `ComparisonResult`.
    """
    from losscli.dask import SPLIT_EVERY, _require

    _require()
    import dask
    import dask.bag as db

    from losscli import comparison_slices as sliced
    from losscli.comparison import _build
    from losscli.comparison_inputs import make_settings
    from losscli.comparison_runs import Stream, _Step
    from losscli.engine import resample

    if method == "bootstrap":
        raise BOOTSTRAP
    s = make_settings(losses, task=task, classes=classes, options=options, baseline=baseline,
                      method=method, ci=ci, n_resamples=1000, seed=0, holm=holm, threads=1,
                      locate=None)  # fmt: skip
    s = replace(s, method="normal")
    if by is not None:
        s = replace(s, slices={**s.slices, "slicings": [by] if isinstance(by, str) else list(by)})
    names = list(models)
    if len(names) < 2:
        raise InputError(f"compare needs at least two models, got {len(names)}",
                         fix="Name two or more models' prediction columns")  # fmt: skip
    cols: Columns = (
        {n: [c] if isinstance(c, str) else list(c) for n, c in models.items()},
        [label_cols] if isinstance(label_cols, str) else list(label_cols),
        weight_col,
        list(
            dict.fromkeys(
                c
                for b in s.slices.get("slicings") or ()
                for c in ([b] if isinstance(b, str) else b)
            )
        ),  # fmt: skip
    )
    parts = ddf if isinstance(ddf, list) else ddf.to_delayed()
    if not parts:
        raise InputError("no rows to evaluate", fix="A mean over no rows is undefined")
    offsets = None
    if lengths is not None:
        offsets = [int(o) for o in np.concatenate([[0], np.cumsum(lengths)[:-1]])]
    # rows across the partitions when their lengths are known, else the partition's own
    where = partial(_where, (name or "the Dask DataFrame") if offsets is not None else None)
    inputs = inputs or {}
    if first is None:
        from losscli.dask import Later, read_now

        head = read_now(parts[0]) if isinstance(parts[0], Later) else parts[0].compute()
        first = _parts(head, cols, 0, where(0), inputs)
    first = list(first)
    stream = Stream(names, replace(s, locate=_place), None, None)
    plans, _ = stream._plans(first)
    plan = plans[stream.base]
    resample.check_reduction(plan.options)
    spec, _ = sliced.spec_of(first[stream.base], s)
    if spec is not None:
        spec.check_losses([sp.name for sp in plan.specs], plan.options.reduction)

    def count(plan: Any) -> Any:  # balanced class weights: the classes counted on the cluster
        given = dask.delayed((plan, cols, stream.base), traverse=False)
        counted = [dask.delayed(_class_counts)(part, given, where(i), _at(offsets, i))
                   for i, part in enumerate(parts)]  # fmt: skip
        bag = db.from_delayed(counted).reduction(_add, _add, split_every=split_every or SPLIT_EVERY)
        return bag.compute().value()

    weights = stream._class_weights(plan, count)
    step = _Step(plans, names, stream.base, weights, _place, spec)
    shared = dask.delayed((step, cols), traverse=False)  # one key of the graph, for every task
    states = [dask.delayed(_state)(part, shared, where(i), _at(offsets, i))
              for i, part in enumerate(parts)]  # fmt: skip
    total = db.from_delayed(states).reduction(
        _merge, _merge, split_every=split_every or SPLIT_EVERY
    )
    from losscli.dask import _compute

    merged = _compute(total, progress)
    if merged.sums is None:
        raise InputError("no rows to compare", fix="A mean over no rows is undefined")
    stream.totals, stream.sums, stream.slice_sums = merged.accs, merged.sums, merged.slices
    sources = [inputs.get(n, ([], {})) for n in names]
    run = stream.finished(plans, spec, sources)
    if method == "auto" and merged.sums.n <= resample.AUTO_NORMAL_ROWS:
        run.notes.append(
            f"{merged.sums.n:,} rows compared by the normal approximation: the bootstrap, "
            f"which --method auto chooses for up to {resample.AUTO_NORMAL_ROWS:,} rows, "
            "cannot run on Dask; a run without --dask gives it"
        )
    return _build(run, s)


def _rows(frame: Any) -> int:
    from losscli.dask import _rows as rows

    return rows(frame)


def _where(name: str | None, index: int) -> str:
    return name if name is not None else f"partition {index} of the Dask DataFrame"


def _at(offsets: list[int] | None, i: int) -> int:
    return 0 if offsets is None else offsets[i]


def _place(part: Any, exc: InputError) -> InputError:
    """An engine error at a row, placed in the partition's part (as `comparison_inputs.place`)."""
    from losscli.comparison_inputs import place
    from losscli.dask import placed

    return (
        placed(part, exc)
        if hasattr(part, "extras") and hasattr(part, "n_rows")
        else place(part, exc)
    )


def _parts(frame: Any, cols: Columns, offset: int, where: str,
           inputs: Mapping[str, Any]) -> list[DaskPart]:  # fmt: skip
    """Each model's part of one partition (the arrays converted as `losscli.dask` does)."""
    from losscli.dask import _arrays

    if isinstance(frame, list):  # the CLI's: one `Inputs` per model, read by losscli's readers
        return frame
    models, labels_at, weight_col, extra = cols
    out = []
    y = w = extras = None
    for name, preds_at in models.items():
        if y is None:
            p, y, w, extras = _arrays(frame, preds_at, labels_at, weight_col, extra)
        else:
            p = _arrays(frame, preds_at, labels_at, None, [])[0]
        out.append(DaskPart(name, np.asarray(p), np.asarray(y), w, offset, list(preds_at),
                            list(inputs.get(name, ([], {}))[0]), dict(extras or {}), where,
                            inputs.get(name, ([], {}))[1]))  # fmt: skip
    return out


@dataclass
class State:
    """One partition's (or several merged partitions') comparison state."""

    accs: list[Any]
    sums: Any  # PairedSums, None before any row
    slices: Any  # SliceSums, None without slices


def _state(frame: Any, shared: Any, where: str, offset: int) -> list[State]:
    """One partition's state (a one-item list, as `dask.bag` takes it), on a worker."""
    from losscli.dask import heap_kept, read_now

    with heap_kept():
        return _state_of(read_now(frame), shared, where, offset)


def _state_of(frame: Any, shared: Any, where: str, offset: int) -> list[State]:
    step, cols = shared
    from losscli import comparison_slices as sliced
    from losscli.chunks import make_accumulator
    from losscli.planning import encode_chunk_labels

    if _rows(frame) == 0:
        return [State([make_accumulator(p, step.spec) for p in step.plans], None, None)]
    parts = _parts(frame, cols, offset, where, {})
    codes = []
    for plan, part in zip(step.plans, parts, strict=True):
        try:
            codes.append(encode_chunk_labels(plan, part.labels, offset))
        except InputError as exc:
            raise _place(part, exc) from None
    slices = None
    if step.spec is not None:
        slices = sliced.SliceSums(sliced.slicings_of(step.spec), step.spec.max_slices)
    accs, pieces, slice_pieces = replace(step, slice_sums=slices)(parts, codes, offset)
    sums = None
    for piece in pieces:
        sums = piece if sums is None else sums.merged(piece)
    for piece in slice_pieces:
        slices.merge(piece)  # type: ignore[union-attr]
    return [State(accs, sums, slices)]


def _merge(states: Any) -> State:
    """States merged in order (Dask's tree calls this on each group of states)."""
    states = list(states)
    out = states[0]
    for other in states[1:]:
        sums = other.sums if out.sums is None else (
            out.sums if other.sums is None else out.sums.merged(other.sums))  # fmt: skip
        slices = out.slices if other.slices is None else (
            other.slices if out.slices is None else out.slices.joined(other.slices))  # fmt: skip
        out = State([a.merge(b) for a, b in zip(out.accs, other.accs, strict=True)], sums, slices)
    return out


def _class_counts(frame: Any, given: Any, where: str, offset: int) -> list[Any]:
    """Σ Y_ic per class of one partition (the baseline's labels: every model shares them)."""
    from losscli.dask import heap_kept, read_now

    with heap_kept():
        return _class_counts_of(read_now(frame), given, where, offset)


def _class_counts_of(frame: Any, given: Any, where: str, offset: int) -> list[Any]:
    plan, cols, base = given
    from losscli.engine.batch import Batch
    from losscli.engine.sums import CompensatedSum
    from losscli.planning import encode_chunk_labels

    counts = CompensatedSum.zeros((plan.n_classes,))
    if _rows(frame):
        part = _parts(frame, cols, offset, where, {})[base]
        try:
            y = encode_chunk_labels(plan, part.labels, offset)
            batch = Batch(plan.task, part.preds, y, part.weights, plan.options, plan.specs,
                          row_offset=offset)  # fmt: skip
        except InputError as exc:
            raise _place(part, exc) from None
        counts.add(batch.group_count(plan.n_classes))
    return [counts]


def _add(counts: Any) -> Any:
    counts = list(counts)
    out = counts[0]
    for other in counts[1:]:
        out = out.merged(other)
    return out
