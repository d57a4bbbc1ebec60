"""Rows into accumulators: arrays in memory cut into cache-sized chunks on several threads,
and a stream of chunks evaluated on worker threads while the next one is read, merged in
input order. What the caller gave (NumPy, pandas, pyarrow) becomes arrays here too.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from losscli.engine.accumulate import Accumulator, merge_all
from losscli.engine.worst import Describe
from losscli.errors import InputError
from losscli.planning import Plan, encode_chunk_labels
from losscli.slicing import SliceSpec, slice_data

# A chunk's slice and shown columns: name → (values, null mask or None), aligned with its rows
Extras = dict[str, tuple[np.ndarray, np.ndarray | None]]
# chunk → how to name its rows among the worst (chunk positions → id, file row, line, ...)
Describer = Callable[[Any], Describe]

# Rows per chunk are chosen so that a chunk's arrays stay in cache: ~128K values per column.
CHUNK_ELEMENTS = 1 << 17
# Below this many values one thread is faster than two (the pool costs ~100 µs).
PARALLEL_MIN_ELEMENTS = 1 << 20


def to_array(data: Any) -> tuple[np.ndarray | None, list[str] | None]:
    """A NumPy array and column names from NumPy, pandas or pyarrow input (duck-typed, so
    that neither pandas nor pyarrow is imported unless the caller already uses it)."""
    if data is None:
        return None, None
    names: list[str] | None = None
    if hasattr(data, "column_names") and hasattr(data, "columns"):  # pyarrow Table
        names = [str(n) for n in data.column_names]
        cols = [np.asarray(c.to_numpy()) for c in data.columns]
        arr = cols[0] if len(cols) == 1 else np.column_stack(cols)
    elif hasattr(data, "columns") and hasattr(data, "to_numpy"):  # pandas DataFrame
        names = [str(c) for c in data.columns]
        arr = data.to_numpy()
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
    elif hasattr(data, "to_numpy"):  # pandas Series, pyarrow Array / ChunkedArray
        try:
            arr = np.asarray(data.to_numpy(zero_copy_only=False))
        except TypeError:
            arr = np.asarray(data.to_numpy())
    else:
        arr = np.asarray(data)
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            arr = arr.astype(str)
    return arr, names


def make_accumulator(p: Plan, spec: SliceSpec | None = None) -> Accumulator:
    spec = spec or SliceSpec()
    return Accumulator(
        p.specs,
        p.task,
        p.n_classes,
        p.options,
        p.classes or [],
        keep_per_sample=p.options.reduction == "none",
        soft_targets=p.soft_targets,
        slicings=spec.by,
        per_class=spec.per_class,
        worst=spec.worst,
        worst_by=spec.worst_by,
        max_slices=spec.max_slices,
    )


def accumulate_arrays(
    plan: Plan,
    p_arr: np.ndarray,
    y_arr: np.ndarray,
    w_arr: np.ndarray | None,
    threads: int | None,
    spec: SliceSpec | None = None,
    extras: Extras | None = None,
    describe: Describe | None = None,
) -> Accumulator:
    """Every row of arrays in memory into one accumulator, on several threads when large;
    `extras` hold the slice columns, `describe` names rows (positions in the arrays)."""
    n = p_arr.shape[0]
    width = p_arr.shape[1] if p_arr.ndim == 2 else 1
    step = max(1, CHUNK_ELEMENTS // width)
    starts = list(range(0, n, step))
    workers = threads or os.cpu_count() or 1
    if n * width < PARALLEL_MIN_ELEMENTS or plan.options.reduction == "none":
        workers = 1

    template = make_accumulator(plan, spec)  # its slice keys' numbering is shared

    def run(part: list[int]) -> Accumulator:
        acc = template.empty_like()
        for s in part:
            e = min(s + step, n)
            w = None if w_arr is None else w_arr[s:e]
            own = {
                k: (v[s:e], None if m is None else m[s:e]) for k, (v, m) in (extras or {}).items()
            }
            named = None if describe is None else _shifted(describe, s)
            update_in_pieces(acc, p_arr[s:e], y_arr[s:e], w, s, spec, own, named)
        return acc

    if workers == 1:
        acc = run(starts)
    else:
        # contiguous runs of chunks, one per worker; the merge makes the result independent
        # of the split (to the last digit or so)
        parts = [
            starts[len(starts) * i // workers : len(starts) * (i + 1) // workers]
            for i in range(workers)
        ]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            acc = merge_all([a for a in pool.map(run, [p for p in parts if p])])
    return acc


def update_in_pieces(
    acc: Accumulator,
    preds: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None,
    offset: int,
    spec: SliceSpec | None = None,
    extras: Extras | None = None,
    describe: Describe | None = None,
) -> Accumulator:
    """Feed rows to an accumulator in cache-sized pieces (~CHUNK_ELEMENTS values each),
    each with its rows' slice keys (`spec`, from `extras`) and names (`describe`)."""
    n = preds.shape[0]
    width = preds.shape[1] if preds.ndim == 2 else 1
    step = max(1, CHUNK_ELEMENTS // width)
    # keys are numbered once for the whole chunk, then added piece by piece
    numbers = (
        acc.number_slices(spec.columns_of(extras or {}, 0, n), spec.bins, offset)
        if spec and spec.by
        else []
    )
    if numbers:  # each piece adds O(slices) to every slice's sums: pieces of ≥ 4× as many rows
        step = max(step, 4 * acc.n_slices)
    for s in range(0, n, step):
        e = min(s + step, n)
        acc.update(
            preds[s:e],
            labels[s:e],
            None if weights is None else weights[s:e],
            row_offset=offset + s,
            slices=[(c[s:e], None) for c in numbers],
            describe=None if describe is None else _shifted(describe, s),
        )
    return acc


def _shifted(describe: Describe, start: int) -> Describe:
    """`describe` of rows counted from `start`."""
    return lambda positions: describe(positions + start)


class Chunk(Protocol):
    """A chunk of rows with names: `losscli.readers.columns.Inputs` fits.

    `evaluate_stream` also takes plain tuples `(preds, labels)` or `(preds, labels,
    weights)` of NumPy, pandas or pyarrow data; their rows follow each other.
    """

    preds: np.ndarray
    labels: np.ndarray
    weights: np.ndarray | None
    row_offset: int  # 0-based row of the chunk's first row in the whole input


@dataclass
class ArrayChunk:
    """A chunk given as a tuple (or an object without `weights`/`row_offset`), as arrays."""

    preds: np.ndarray
    labels: np.ndarray
    weights: np.ndarray | None
    row_offset: int
    names: list[str] | None = None
    extras: Extras = field(default_factory=dict)


def _as_chunk(item: Any, offset: int) -> Chunk:
    """A `Chunk` from what the caller gave: an object with `preds` and `labels` (kept as it
    is when it has `weights` and `row_offset` too), or a 2- or 3-tuple (preds, labels[,
    weights]); rows without a `row_offset` follow the rows before them."""
    if hasattr(item, "preds") and hasattr(item, "labels"):
        if hasattr(item, "weights") and hasattr(item, "row_offset"):
            return item  # type: ignore[no-any-return]
        parts = (item.preds, item.labels, getattr(item, "weights", None), None)
        offset = getattr(item, "row_offset", offset)
    elif isinstance(item, (tuple, list)) and len(item) in (2, 3, 4):
        parts = (*item, *(None,) * (4 - len(item)))
    else:
        raise TypeError(
            "evaluate_stream takes chunks that are (preds, labels), (preds, labels, weights) "
            "or (preds, labels, weights, by) tuples, or objects with .preds and .labels; "
            f"got {type(item).__name__}"
        )
    preds, names = to_array(parts[0])
    labels, _ = to_array(parts[1])
    weights, _ = to_array(parts[2])
    if preds is None or labels is None:
        raise InputError("a chunk needs both preds and labels")
    extras: Extras = slice_data(parts[3], preds.shape[0]) if parts[3] is not None else {}
    return ArrayChunk(preds, labels, weights, offset, names, extras)


def as_chunks(chunks: Iterable[Any]) -> Iterator[Chunk]:
    """The caller's chunks as `Chunk`s, with row offsets counted for those without."""
    offset = 0
    for item in chunks:
        chunk = _as_chunk(item, offset)
        offset = chunk.row_offset + np.shape(chunk.preds)[0]
        yield chunk


def accumulate_stream(
    plan: Plan,
    first: Chunk,
    first_labels: np.ndarray,
    iterator: Iterator[Chunk],
    threads: int | None,
    progress: Callable[[int], None] | None,
    place: Callable[[Chunk, InputError], InputError],
    spec: SliceSpec | None = None,
    describer: Describer | None = None,
) -> Accumulator:
    """Every chunk into one accumulator: evaluated on worker threads, merged in order into
    a running total (the first chunk's, which only this function holds);
    `describer(chunk)` names the chunk's rows for the worst rows."""
    workers = max(1, threads or os.cpu_count() or 1)
    # chunks submitted and not yet merged: enough for the workers to compute while the
    # reader decodes its next frame (four chunks at once): with `workers`, they waited for
    # the reader about a third of the time (py-spy), and 10⁸ Parquet rows took 8-10% longer
    ahead = 2 * workers + 4

    template = make_accumulator(plan, spec)  # its slice keys' numbering is shared

    def run(chunk: Chunk, labels: np.ndarray) -> Accumulator:
        acc = template.empty_like()
        return update_in_pieces(
            acc,
            np.asarray(chunk.preds),
            labels,
            chunk.weights,
            chunk.row_offset,
            spec,
            getattr(chunk, "extras", {}),
            None if describer is None or not acc.worst else describer(chunk),
        )

    def settle(item: tuple[Chunk, Future[Accumulator]]) -> Accumulator:
        chunk, future = item
        try:
            acc = future.result()
        except InputError as exc:
            raise place(chunk, exc) from None
        if progress is not None:
            progress(chunk.preds.shape[0])
        return acc

    total: Accumulator | None = None
    pending: deque[tuple[Chunk, Future[Accumulator]]] = deque()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            pending.append((first, pool.submit(run, first, first_labels)))
            for chunk in iterator:
                try:
                    labels = encode_chunk_labels(plan, np.asarray(chunk.labels), chunk.row_offset)
                except InputError as exc:
                    raise place(chunk, exc) from None
                pending.append((chunk, pool.submit(run, chunk, labels)))
                while len(pending) > ahead:
                    acc = settle(pending.popleft())
                    total = acc if total is None else total.merge(acc, reuse=True)
            while pending:
                acc = settle(pending.popleft())
                total = acc if total is None else total.merge(acc, reuse=True)
        finally:
            for _, future in pending:
                future.cancel()
    assert total is not None
    return total
