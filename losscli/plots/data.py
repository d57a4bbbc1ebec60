"""What each plot shows, gathered from the inputs in memory that does not grow with them.

- calibration and slices: the evaluation itself (`losscli.cli.pipeline.evaluate_files`,
  streamed): the reliability table of ece/mce's bins, the slices of ``--by``;
- losses: `LossHistogram`, counts of per-sample losses in fixed log-spaced bins (40 per
  decade from 1e-12 to 1e12), so chunks add their counts and no row is kept;
- residuals: `Grid`, counts of (prediction, residual) in a fixed grid, over two passes of
  the file (the first finds the ranges);
- compare: the JSON that `losscli compare -f json` writes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from losscli.errors import InputError, option

PER_DECADE = 40
LOW, HIGH = -12, 12  # decades: losses below 1e-12 share the first bin, above 1e12 the last
EDGES = np.concatenate(
    [[0.0], 10.0 ** (np.arange(LOW * PER_DECADE, HIGH * PER_DECADE + 1) / PER_DECADE)]
)
# a tail is long when the 99th percentile passes 100 times the median: a log-scaled x then
LONG_TAIL = 100.0
LINEAR_BARS = 40


@dataclass
class LossHistogram:
    """Rows per fixed bin of per-sample losses ℓ ≥ 0: [0, 1e-12), then 40 per decade up to
    1e12, then [1e12, ∞). Chunks add their counts (`add`), histograms merge by adding."""

    counts: NDArray[np.int64] = field(default_factory=lambda: np.zeros(len(EDGES), np.int64))

    def add(self, values: NDArray[np.float64]) -> LossHistogram:
        where = np.searchsorted(EDGES, values, side="right") - 1
        self.counts += np.bincount(np.clip(where, 0, len(EDGES) - 1), minlength=len(EDGES))
        return self

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def quantile(self, q: float) -> float:
        """The upper edge of the bin that holds the q-quantile (1e12 for the last bin)."""
        i = int(np.searchsorted(np.cumsum(self.counts), q * self.n, side="left"))
        return float(EDGES[min(i + 1, len(EDGES) - 1)])

    def long_tail(self) -> bool:
        return self.quantile(0.99) > LONG_TAIL * max(self.quantile(0.5), 1e-12)

    def bars(self) -> tuple[NDArray[np.float64], NDArray[np.int64], bool]:
        """(edges, counts, log): 10 bars per decade on a log axis when the tail is long
        (losses under 1e-12 left out: a log axis has no 0), else 40 equal-width bars from 0
        (each fine bin counted where its middle falls)."""
        full = np.flatnonzero(self.counts)
        if full.size == 0:
            return np.array([0.0, 1.0]), np.zeros(1, np.int64), False
        last = int(full[-1])
        if self.long_tail():
            first = max(int(full[0]), 1)
            group = PER_DECADE // 10
            lo, hi = (first - 1) // group, (last - 1) // group + 1  # fine bin i ≥ 1 → (i − 1) // 4
            counts = np.zeros(hi - lo, np.int64)
            np.add.at(
                counts,
                (np.arange(first, last + 1) - 1) // group - lo,
                self.counts[first : last + 1],
            )
            edges = EDGES[1 + group * np.arange(lo, hi + 1)]
            return edges, counts, True
        top = float(EDGES[min(last + 1, len(EDGES) - 1)])
        edges = np.linspace(0.0, top, LINEAR_BARS + 1)
        middle = np.where(
            np.arange(last + 1) == 0, 0.0, np.sqrt(EDGES[: last + 1] * EDGES[1 : last + 2])
        )
        at = np.clip(np.searchsorted(edges, middle, side="right") - 1, 0, LINEAR_BARS - 1)
        counts = np.bincount(at, weights=self.counts[: last + 1], minlength=LINEAR_BARS)
        return edges, counts.astype(np.int64), False

    def below(self) -> int:
        """Rows under 1e-12 (left out of a log-scaled plot)."""
        return int(self.counts[0])


@dataclass
class Grid:
    """Rows per cell of a fixed (x, y) grid over known ranges; cells add across chunks."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    shape: tuple[int, int] = (60, 40)
    counts: NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        self.counts = np.zeros(self.shape, np.int64)

    def edges(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        if x1 <= x0:
            x0, x1 = x0 - 0.5, x1 + 0.5
        if y1 <= y0:
            y0, y1 = y0 - 0.5, y1 + 0.5
        return np.linspace(x0, x1, self.shape[0] + 1), np.linspace(y0, y1, self.shape[1] + 1)

    def add(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> Grid:
        ex, ey = self.edges()
        counts, _, _ = np.histogram2d(x, y, bins=(ex, ey))
        self.counts += counts.astype(np.int64)
        return self


# --- reading the inputs ----------------------------------------------------------------


def _chunks(
    preds: str, labels: str | None, read: dict[str, Any], rows: int
) -> tuple[Any, Iterator[Any]]:
    from losscli.readers.columns import load_inputs, stream_inputs

    if read.get("id_col"):
        joined = load_inputs(preds, labels, **read)
        return joined, iter([joined])
    return stream_inputs(preds, labels, batch_rows=rows, **read)


def _placed(chunk: Any, exc: InputError) -> InputError:
    """An error of one chunk's own evaluation, placed in the user's files."""
    from losscli.cli.pipeline import place_in_chunk

    if exc.row is not None:
        exc = replace(exc, row=exc.row + chunk.row_offset)
    return place_in_chunk(chunk, exc)


def per_sample(
    preds: str, labels: str | None, read: dict[str, Any], keywords: dict[str, Any], rows: int
) -> Iterator[tuple[str, str, Any, Any]]:
    """(task, loss, chunk, ℓ of its rows) per chunk; the task, classes and loss are those
    the first chunk decides (the loss: the one named, else ce for classification, mse)."""
    from losscli.api import evaluate
    from losscli.engine.registry import resolve

    header, chunks = _chunks(preds, labels, read, rows)
    named = keywords.pop("losses", None) or []
    if len(named) > 1 or (named and "," in named[0]):
        raise InputError(
            f"a loss histogram shows one loss; {option('losses')} names several",
            fix=f"Pass one {option('losses')} NAME",
        )
    task, classes, loss = keywords.pop("task", "auto"), keywords.pop("classes", None), None
    for chunk in chunks:
        try:
            if loss is None:
                first = evaluate(chunk.preds, chunk.labels, named or None, task=task,
                                 classes=classes, pred_names=header.pred_columns,
                                 sample_weight=chunk.weights, **keywords)  # fmt: skip
                task, classes = first.task, first.classes
                loss = resolve(named[0]).name if named else (
                    "mse" if task == "regression" else "ce"
                )  # fmt: skip
                if resolve(loss).dataset_level:
                    raise InputError(
                        f"{loss} has no value per row, so it has no histogram",
                        fix=f"Choose a per-sample loss with {option('losses')}",
                    )
            result = evaluate(chunk.preds, chunk.labels, [loss], task=task, classes=classes,
                              pred_names=header.pred_columns, sample_weight=chunk.weights,
                              **{**keywords, "reduction": "none"})  # fmt: skip
        except InputError as exc:
            raise _placed(chunk, exc) from None
        assert result.per_sample is not None
        yield task, loss, chunk, result.per_sample[loss]


def loss_histogram(
    preds: str, labels: str | None, read: dict[str, Any], keywords: dict[str, Any], rows: int
) -> tuple[LossHistogram, str, str]:
    """The histogram of per-sample losses, its loss and the task."""
    hist, seen = LossHistogram(), ("", "")
    for task, loss, _, values in per_sample(preds, labels, read, dict(keywords), rows):
        hist.add(values)
        seen = (loss, task)
    return hist, *seen


def residual_grid(
    preds: str, labels: str | None, read: dict[str, Any], keywords: dict[str, Any], rows: int
) -> tuple[Grid, int]:
    """Counts of (prediction, residual) of a regression, and the rows; two passes."""
    if preds == "-" or labels == "-":
        raise InputError(
            "a residual plot reads its input twice (ranges, then counts); standard input "
            "can be read once",
            fix="Write the data to a file first",
        )

    def pairs() -> Iterator[tuple[NDArray[np.float64], NDArray[np.float64]]]:
        header, chunks = _chunks(preds, labels, read, rows)
        for chunk in chunks:
            p = np.asarray(chunk.preds, dtype=np.float64)
            y = np.asarray(chunk.labels, dtype=np.float64)
            if p.shape != y.shape:
                raise InputError(
                    f"residuals need one label per prediction; preds has shape {p.shape}, "
                    f"labels {y.shape}",
                    fix="Residuals are for regression; for classification use --kind calibration",
                )
            yield p.ravel(), (p - y).ravel()

    task = keywords.get("task") or "auto"
    if task not in ("auto", "regression"):
        raise InputError(
            f"residuals are for regression, and {option('task', task)} was given",
            fix="Use --kind calibration or --kind losses for classification",
        )
    lo = np.array([math.inf, math.inf])
    hi = -lo
    rows_seen = 0
    for x, r in pairs():
        finite = np.isfinite(x) & np.isfinite(r)
        x, r = x[finite], r[finite]
        if x.size:
            lo = np.minimum(lo, [x.min(), r.min()])
            hi = np.maximum(hi, [x.max(), r.max()])
        rows_seen += x.size
    if rows_seen == 0:
        raise InputError("no rows to plot", fix="A plot of no rows is empty")
    grid = Grid((float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1])))
    for x, r in pairs():
        finite = np.isfinite(x) & np.isfinite(r)
        grid.add(x[finite], r[finite])
    return grid, rows_seen


def comparisons(path: str) -> dict[str, Any]:
    """The JSON of `losscli compare -f json` (its "comparisons" with intervals)."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise InputError("file does not exist", source=path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"not the JSON of `losscli compare -f json` ({exc})",
            source=path,
            fix="Write it with: losscli compare ... -f json > compare.json",
        ) from None
    found = doc.get("comparisons") if isinstance(doc, dict) else None
    if not isinstance(found, list) or not found:
        raise InputError(
            'holds no "comparisons"; --kind compare plots the JSON of `losscli compare`',
            source=path,
            fix="Write it with: losscli compare ... -f json > compare.json",
        )
    return doc
