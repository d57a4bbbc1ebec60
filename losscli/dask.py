"""`losscli.dask.evaluate`: the same evaluation on a Dask cluster (SPEC §10).

Each partition of a Dask DataFrame becomes one accumulator state on the worker that holds
it (the engine's accumulators are mergeable: compensated sums, slices matched by key, the
K worst rows in a bounded heap); the states are merged with Dask's tree reduction
(`dask.bag.Bag.reduction`, `split_every` states per merge), and only the merged state
comes back to the client. What is decided before the first row (task, classes, losses:
the `Plan`) is decided on the first partition, as `evaluate_stream` decides it on the
first chunk, and travels to the workers with each task.

Results equal `losscli.evaluate` on the same rows to a relative 1e-12 however the rows are
partitioned. Needs the extra `losscli[dask]` (dask, distributed).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from losscli.errors import InputError

DASK_INSTALL = "pip install 'losscli[dask]'"
SPLIT_EVERY = 8  # states merged per task of the tree: depth ⌈log₈ partitions⌉

# Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536 (to give memory back to
# the system), and setting it also fixes glibc's mmap threshold at 128 KiB: every NumPy
# temporary of a piece (1 MiB) is then a fresh mmap whose pages fault in one by one. The
# engine ran 3–4× slower in such a worker than in one process (0.13–0.17 s against
# 0.03–0.05 s for a partition of 2²⁰ rows, four losses). A partition is read and evaluated
# with the heap kept (temporaries reused); once no such task has run for IDLE_SECONDS,
# the thresholds are the environment's again and the heap is trimmed, as Dask wants it.
# (Trimming at the end of every task gave the memory back only to fault it in again for
# the next partition, a moment later.)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
IDLE_SECONDS = 1.0
_heap_lock = threading.Lock()
_heap_users = 0
_heap_kept = False  # the thresholds are losscli's
_heap_timer: threading.Timer | None = None


@functools.cache
def _glibc() -> Any:
    """glibc (for mallopt and malloc_trim), or None elsewhere; looked up once a process."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018  # glibc, not musl or macOS
        return libc
    except (OSError, AttributeError):
        return None


@contextlib.contextmanager
def heap_kept() -> Iterator[None]:
    """Within: glibc keeps freed memory for the next allocation (see above); IDLE_SECONDS
    after the last task that asked, unless another asks meanwhile, the thresholds are the
    environment's again and the heap is trimmed (`_give_back`)."""
    global _heap_users, _heap_kept, _heap_timer
    libc = _glibc()
    if libc is None:
        yield
        return
    with _heap_lock:
        _heap_users += 1
        if _heap_timer is not None:
            _heap_timer.cancel()
            _heap_timer = None
        if not _heap_kept:
            libc.mallopt(_M_MMAP_THRESHOLD, 64 << 20)
            libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
            _heap_kept = True
    try:
        yield
    finally:
        with _heap_lock:
            _heap_users -= 1
            if _heap_users == 0:
                _heap_timer = threading.Timer(IDLE_SECONDS, _give_back)
                _heap_timer.daemon = True
                _heap_timer.start()


def _give_back() -> None:
    """The environment's malloc thresholds again, and the free heap returned, unless a
    task has started since the timer was set."""
    global _heap_kept
    libc = _glibc()
    with _heap_lock:
        if _heap_users or not _heap_kept:
            return
        for option, name in ((_M_TRIM_THRESHOLD, "MALLOC_TRIM_THRESHOLD_"),
                             (_M_MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_")):  # fmt: skip
            libc.mallopt(option, int(os.environ.get(name) or 128 << 10))
        libc.malloc_trim(0)
        _heap_kept = False


__all__ = ["evaluate", "compare", "DASK_INSTALL", "Later"]


@dataclass(frozen=True)
class Later:
    """A partition read by the task that evaluates it: one task a partition, so no
    partition travels between workers (as two tasks, read then evaluate, the scheduler
    ran a partition's second task on the other worker about as often as not, and its
    16 MB were pickled and sent). `read(part, shared, offset, index)` runs on the worker;
    `shared`, a `dask.delayed` value, is one key of the graph (dask.delayed fills in the
    fields of a dataclass)."""

    read: Callable[..., Any]
    part: Any
    shared: Any
    offset: int | None
    index: int

    def __call__(self) -> Any:
        return self.read(self.part, self.shared, self.offset, self.index)


def read_now(part: Any) -> Any:
    """A partition's rows: a `Later` read here, anything else as it is."""
    return part() if isinstance(part, Later) else part


def _require() -> None:
    try:
        import dask  # noqa: F401
        import dask.bag  # noqa: F401
    except ImportError:
        raise InputError(
            "running on Dask needs the packages dask and distributed, which are not installed",
            fix=f"Install the dask extra: {DASK_INSTALL}",
        ) from None


def evaluate(
    ddf: Any,
    pred_cols: Sequence[str] | str,
    label_cols: Sequence[str] | str,
    by: Sequence[Sequence[str] | str] | str | None = None,
    *,
    weight_col: str | None = None,
    losses: Sequence[str] | str | None = None,
    task: str = "auto",
    classes: Sequence[str] | None = None,
    calibration: bool | str = False,
    split_every: int = SPLIT_EVERY,
    progress: bool = False,
    lengths: Sequence[int] | None = None,
    first: Any = None,
    **options: Any,
) -> Any:
    """`losscli.evaluate` on the rows of a Dask DataFrame, partition by partition on the
    cluster (the scheduler in use: `distributed.Client`'s, or Dask's default).

    `pred_cols` and `label_cols` name the prediction and label columns (several for
    multiclass, one-hot or soft labels), `weight_col` the sample weights, `by` the slicings
    (column names, tuples for crosses); every other keyword is `evaluate`'s (`bins`,
    `per_class`, `worst`, `show_cols`, the loss options). Rows are numbered across the
    partitions in order, as one file's rows are. `progress=True` draws a bar of the
    cluster's tasks on standard error (with a `distributed.Client`). `lengths`, the
    partitions' row counts when known (e.g. from Parquet metadata), saves the pass that
    counts them for `worst` and numbers the rows of errors across the partitions. `first`, the table's first rows (a DataFrame), decides the
    task, classes and losses instead of the first partition (the CLI gives the chunk a
    local run decides them on).
    """
    _require()
    from dataclasses import replace

    import dask
    import dask.bag as db
    import numpy as np

    from losscli.api import _pop_slice_keywords, finish
    from losscli.planning import make_plan
    from losscli.slicing import slice_spec

    preds_at = [pred_cols] if isinstance(pred_cols, str) else list(pred_cols)
    labels_at = [label_cols] if isinstance(label_cols, str) else list(label_cols)
    slicings = [by] if isinstance(by, str) else list(by or [])
    slice_kw = _pop_slice_keywords(options)
    extra = list(dict.fromkeys([c for s in slicings for c in ([s] if isinstance(s, str) else s)]
                               + list(slice_kw.get("show_cols") or ())))  # fmt: skip
    parts = ddf if isinstance(ddf, list) else ddf.to_delayed()
    if not parts:
        raise InputError("no rows to evaluate", fix="A mean over no rows is undefined")
    if first is None:
        first = read_now(parts[0]) if isinstance(parts[0], Later) else parts[0].compute()
    p, y, _, _ = _arrays(first, preds_at, labels_at, None, [])
    try:
        plan, _ = make_plan(p, y, losses, task=task, pred_names=preds_at, classes=classes,
                            calibration=calibration, **options)  # fmt: skip
    except InputError as exc:
        raise placed(first, exc) if hasattr(first, "locate") else exc from None
    spec = slice_spec(extra, slicings=slicings or None, **slice_kw)
    spec.check_losses([s.name for s in plan.specs], plan.options.reduction)
    # rows are numbered across partitions: each partition's first row, from their lengths
    if spec.worst and lengths is None:
        lengths = dask.compute(*[dask.delayed(_rows)(part) for part in parts])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int) if lengths else None
    if offsets is not None:  # a partition's reader numbers its rows from its first row's
        parts = [replace(part, offset=int(at)) if isinstance(part, Later) else part
                 for part, at in zip(parts, offsets, strict=True)]  # fmt: skip
    # what every task shares, one key of the graph (sent once per worker, not walked by
    # dask.delayed for every partition: that walk cost 10 ms a task)
    shared = dask.delayed((plan, spec, (preds_at, labels_at, weight_col, extra)), traverse=False)
    states = [
        dask.delayed(_state)(part, shared, i, None if offsets is None else int(offsets[i]))
        for i, part in enumerate(parts)
    ]
    total = db.from_delayed(states).reduction(_merge, _merge, split_every=split_every)
    return finish(plan, _compute(total, progress), spec, calibration)


def _compute(total: Any, progress: bool) -> Any:
    """The merged state; with `progress`, a bar of the tasks on standard error."""
    if not progress:
        return total.compute()
    from distributed import get_client
    from distributed.diagnostics.progressbar import TextProgressBar

    class StderrBar(TextProgressBar):  # distributed's own bar draws on stdout, where results go
        def _draw_bar(self, remaining: int, all: int, **kwargs: Any) -> None:
            import sys

            done = (1 - remaining / all) if all else 1.0
            sys.stderr.write(f"\r[{'#' * int(self.width * done):<{self.width}}] {done:.0%}")
            sys.stderr.flush()

        def _draw_stop(self, **kwargs: Any) -> None:
            import sys

            sys.stderr.write("\33[2K\r")
            sys.stderr.flush()

    future = get_client().compute(total)
    StderrBar([future])
    return future.result()


def _arrays(frame: Any, preds_at: list[str], labels_at: list[str], weight_col: str | None,
            extra: list[str]) -> tuple[Any, Any, Any, Any]:  # fmt: skip
    """(preds, labels, weights, slice columns) of one partition, converted as `evaluate`
    converts a DataFrame; a partition the CLI read is the readers' `Inputs` already."""
    if isinstance(frame, list):  # the CLI's: one Inputs per model
        frame = frame[0]
    if hasattr(frame, "preds"):
        extras = {k: v for k, v in frame.extras.items() if k in extra}
        return frame.preds, frame.labels, frame.weights, extras
    from losscli.chunks import to_array
    from losscli.slicing import slice_data

    missing = [c for c in [*preds_at, *labels_at, *([weight_col] if weight_col else []), *extra]
               if c not in frame.columns]  # fmt: skip
    if missing:
        raise InputError(
            f"no column '{missing[0]}' in the Dask DataFrame; columns are "
            f"{', '.join(map(str, frame.columns))}",
            fix="Name a column of the DataFrame",
        )
    p, _ = to_array(frame[preds_at[0]] if len(preds_at) == 1 else frame[preds_at])
    y, _ = to_array(frame[labels_at[0]] if len(labels_at) == 1 else frame[labels_at])
    w = to_array(frame[weight_col])[0] if weight_col else None
    extras = slice_data(frame[extra], len(frame)) if extra else {}
    return p, y, w, extras


def _state(frame: Any, shared: Any, index: int, offset: int | None) -> list[Any]:
    """One partition's accumulator state (a one-item list, as `dask.bag` takes it). Rows
    count from `offset` when the partitions' lengths were counted (for the worst rows),
    else an error names the partition and its own row."""
    from dataclasses import replace

    plan, spec, cols = shared
    with heap_kept():
        frame = read_now(frame)  # a reader's errors are its own, placed already
        try:
            return _state_of(frame, plan, spec, cols, offset or 0)
        except InputError as exc:
            if isinstance(frame, list):  # the CLI's Inputs: the error placed in the user's file
                raise placed(frame[0], exc) from None
            if offset is None and exc.row is not None:
                raise replace(
                    exc, source=exc.source or f"partition {index} of the Dask DataFrame"
                ) from None
            raise


def _state_of(frame: Any, plan: Any, spec: Any, cols: Any, offset: int) -> list[Any]:
    import numpy as np

    from losscli.chunks import make_accumulator, update_in_pieces
    from losscli.planning import encode_chunk_labels
    from losscli.slicing import show_columns

    preds_at, labels_at, weight_col, extra = cols
    acc = make_accumulator(plan, spec)
    if _rows(frame) == 0:
        return [acc]
    p, y, w, extras = _arrays(frame, preds_at, labels_at, weight_col, extra)
    labels = encode_chunk_labels(plan, np.asarray(y), offset)
    describe = show_columns(spec.show, extras) if spec.worst else None
    update_in_pieces(acc, np.asarray(p), labels, w, offset, spec, extras, describe)
    return [acc]


def _rows(part: Any) -> int:
    """Rows of a partition: a DataFrame, the CLI's `Inputs` (one per model), or a `Later`."""
    part = read_now(part)
    if isinstance(part, list):
        part = part[0]
    return int(part.n_rows) if hasattr(part, "n_rows") else len(part)


def placed(chunk: Any, exc: InputError) -> InputError:
    """An engine error at a row of the table, placed in the CLI's `Inputs` (its file, column,
    row), as the CLI places the errors of a local run."""
    from dataclasses import replace

    from losscli.readers.inputs import EXTRA

    if exc.role is None and exc.column is not None and exc.column in chunk.extras:
        exc = replace(exc, role=EXTRA + exc.column)  # a slice column's value
    if exc.row is not None:
        exc = replace(exc, row=exc.row - chunk.row_offset)
    return exc.locate(chunk.locate)


def _merge(states: Any) -> Any:
    """States merged in order (Dask's tree calls this on each group of `split_every`)."""
    from losscli.engine.accumulate import merge_all

    return merge_all(list(states))


def compare(
    ddf: Any,
    models: Any,
    label_cols: Sequence[str] | str,
    by: Sequence[Sequence[str] | str] | str | None = None,
    **keywords: Any,
) -> Any:
    """`losscli.compare_stream` with the normal approximation on the rows of a Dask
    DataFrame: `models` maps each model's name to its prediction column(s); see
    `losscli.dask_compare.compare`."""
    from losscli.dask_compare import compare as on_cluster

    return on_cluster(ddf, models, label_cols, by, **keywords)
