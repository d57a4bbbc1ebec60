"""The library entry point: `evaluate(preds, labels, losses=None, **options)` (SPEC §7).

The CLI is a thin layer over this: it reads files, calls `evaluate` (or `evaluate_stream`
on chunks), and renders the `EvaluationResult`. What is decided before the first row (task,
losses, classes) is the `Plan` of `losscli.planning`; the rows go into accumulators in
`losscli.chunks`, and `finish` turns the merged accumulator into the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli._version import __version__
from losscli.chunks import (
    ArrayChunk,
    Chunk,
    Describer,
    accumulate_arrays,
    accumulate_stream,
    as_chunks,
    to_array,
)
from losscli.engine.accumulate import Accumulator, Reduced
from losscli.errors import InputError
from losscli.planning import Plan, explain_guess, make_plan
from losscli.slicing import (
    SLICE_KEYWORDS,
    SliceSpec,
    Slicing,
    show_columns,
    slice_data,
    slice_spec,
    tidy_rows,
    worst_entries,
)


@dataclass
class EvaluationResult:
    """The numbers, the task and the options of one evaluation.

    Attributes:
        losses: SPEC name → reduced value, in the order requested.
        task: ``regression``, ``binary`` or ``multiclass``.
        n_samples: rows evaluated (after ``nan_policy='omit'``).
        sum_weights: Σωᵢ, the denominator of every mean.
        options: every option and its value.
        classes: class names in column order (classification), else None.
        class_weights: the weight of each class when class weights were used.
        notes: things worth telling the user (clipping, rows that do not sum to 1, ...).
        per_sample: with ``reduction='none'``, ℓᵢ of each per-sample loss, else None.
        sample_weight: the sample weights of the rows, with ``reduction='none'``.
        sample_weighted: whether sample weights were given.
        sample_rows: with ``reduction='none'``, the 0-based input row of each per-sample
            value (rows dropped by ``nan_policy='omit'`` are absent), else None.
        slices: one `losscli.slicing.Slicing` per ``by`` (and ``per_class``), SPEC §8.
        worst: with ``worst=K``, the K rows of largest ℓᵢ, largest first, else None.
        worst_by: the loss that ranks them.
        worst_kept: columns of the worst rows that tables and CSV show even when no row
            fills them (a Dask run of a CSV file keeps ``line``, as a local run has it).
        calibration: with ``calibration=True``, the reliability table of ece and mce's
            bins (SPEC §11): per bin, its edges, rows, Σω, mean confidence and accuracy.
    """

    losses: dict[str, float]
    task: str
    n_samples: int
    sum_weights: float
    options: dict[str, Any]
    classes: list[str] | None = None
    class_weights: list[float] | None = None
    notes: list[str] = field(default_factory=list)
    per_sample: dict[str, np.ndarray] | None = None
    sample_weight: np.ndarray | None = None
    sample_weighted: bool = False
    sample_rows: np.ndarray | None = None
    slices: list[Slicing] = field(default_factory=list)
    worst: list[dict[str, Any]] | None = None
    worst_by: str | None = None
    worst_kept: tuple[str, ...] = ()
    calibration: list[dict[str, Any]] | None = None

    def __getitem__(self, name: str) -> float:
        return self.losses[name]

    @property
    def signature(self) -> str:
        """A sacrebleu-style summary of what shaped the numbers, for reports and baselines."""
        o = self.options
        weights = "class" if self.class_weights else "none"
        if self.sample_weighted:
            weights = "sample+class" if self.class_weights else "sample"
        parts = [
            f"losscli:{__version__}",
            f"task:{self.task}",
            f"n:{self.n_samples}",
            f"reduction:{o['reduction']}",
            f"weights:{weights}",
            f"logits:{o['from_logits']}",
            f"eps:{o['eps']:.3g}",
        ]
        if o["label_smoothing"]:
            parts.append(f"smoothing:{o['label_smoothing']:g}")
        if "convention" in o:  # absent for losscli's own (SPEC §9)
            parts.append(f"convention:{o['convention']}")
        return "|".join(parts)

    def to_dict(self, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON object of SPEC §5; non-finite numbers become None (JSON null)."""
        return self._document(inputs)

    def to_json(self, inputs: dict[str, Any] | None = None) -> str:
        """`to_dict` as JSON text (`losscli.render.json.dumps`); the slices are written
        straight from their columns, without a dict per slice (10⁵ slices: ~2× faster)."""
        from losscli.render import json

        return json.dumps(self._document(inputs, records=False))

    def _document(self, inputs: dict[str, Any] | None, records: bool = True) -> dict[str, Any]:
        options = dict(self.options)
        options["losses"] = list(self.losses)
        if self.classes is not None:
            options["classes"] = self.classes
        if self.class_weights is not None:
            options["class_weights"] = dict(
                zip(self.classes or [], self.class_weights, strict=False)
            )
        out = {
            "losscli": __version__,
            "task": self.task,
            "n_samples": self.n_samples,
            "sum_weights": _finite_or_none(self.sum_weights),
            "losses": {k: _finite_or_none(v) for k, v in self.losses.items()},
            "options": options,
            "inputs": inputs or {},
            "signature": self.signature,
        }
        if self.slices:
            out["slices"] = [s.to_dict(records=records) for s in self.slices]
        if self.worst is not None:
            from losscli.render.json import Rows

            out["worst_by"] = self.worst_by
            out["worst"] = Rows(self.worst)
        if self.calibration is not None:
            out["calibration"] = self.calibration
        return out

    def to_frame(self) -> Any:
        """A pandas DataFrame: one row per loss (or one row per sample with reduction='none');
        with slices, the tidy frame of SPEC §8: slicing, key, loss, value, n_samples,
        sum_weights, the whole input first as slicing ``all``."""
        import pandas as pd

        if self.slices and self.per_sample is None:
            whole = [
                {"slicing": "all", "key": "", "loss": name, "value": value,
                 "n_samples": self.n_samples, "sum_weights": self.sum_weights}
                for name, value in self.losses.items()
            ]  # fmt: skip
            return pd.DataFrame(whole + tidy_rows(self.slices))

        if self.per_sample is not None:
            frame = pd.DataFrame(self.per_sample)
            if self.sample_weight is not None:
                frame.insert(0, "weight", self.sample_weight)
            return frame
        return pd.DataFrame(
            {"loss": list(self.losses), "value": list(self.losses.values())}
        ).set_index("loss")


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def finish(
    p: Plan, acc: Accumulator, spec: SliceSpec | None = None, calibration: bool | str = False
) -> EvaluationResult:
    """Reduce an accumulator that has seen every row into the result users get (with the
    reliability table when `calibration`)."""
    reduced: Reduced = acc.result()
    spec = spec or SliceSpec()
    notes = list(p.notes) + _diagnostic_notes(reduced, p)
    per_sample = weights = rows = None
    if p.options.reduction == "none":
        per_sample, weights = acc.per_sample_losses()
        rows = acc.per_sample_rows()
        dropped = [s.name for s in p.specs if s.dataset_level]
        if dropped:
            notes.append(f"{', '.join(dropped)}: dataset-level, left out of per-sample output")
    return EvaluationResult(
        losses=reduced.losses,
        task=p.task,
        n_samples=reduced.n_samples,
        sum_weights=reduced.sum_weights,
        options=p.options.as_dict(),
        classes=p.classes if p.task != "regression" else None,
        class_weights=reduced.class_weights,
        notes=notes,
        per_sample=per_sample,
        sample_weight=weights,
        sample_weighted=reduced.diagnostics.sample_weighted,
        sample_rows=rows,
        slices=spec.finish(reduced.slices, list(reduced.losses)),
        worst=None if reduced.worst is None else worst_entries(reduced.worst, p),
        worst_by=(spec.worst_by or p.specs[0].name) if spec.worst else None,
        calibration=reduced.calibration if calibration else None,
    )


def _diagnostic_notes(reduced: Reduced, p: Plan) -> list[str]:
    d = reduced.diagnostics
    notes = []
    if d.n_omitted:
        notes.append(
            f"omitted {d.n_omitted} row{'s' * (d.n_omitted > 1)} with NaN (first at row {d.first_omitted})"
        )
    if d.n_clipped and any(s.needs_probabilities and not s.dataset_level for s in p.specs):
        eps_from = (
            f" (the machine ε of the {p.eps_dtype} predictions, as scikit-learn; --eps sets it)"
            if p.eps_dtype
            else ""
        )
        notes.append(
            f"{d.n_clipped} probabilit{'ies' if d.n_clipped > 1 else 'y'} at 0 or 1 clipped to "
            f"[ε, 1 − ε] before the log, ε = {p.options.eps:.3g}{eps_from}"
        )
    if d.n_unnormalized:
        if p.options.renormalize:
            notes.append(f"renormalized {d.n_unnormalized} rows of probabilities to sum to 1")
        else:
            notes.append(
                f"warning: {d.n_unnormalized} row{'s' * (d.n_unnormalized > 1)} of probabilities "
                f"do not sum to 1 (first at row {d.first_unnormalized}); used as given. "
                "Pass --renormalize to divide each row by its sum"
            )
    return notes


def evaluate(
    preds: Any,
    labels: Any,
    losses: Sequence[str] | str | None = None,
    *,
    task: str = "auto",
    sample_weight: Any = None,
    classes: Sequence[str] | None = None,
    pred_names: Sequence[str] | None = None,
    threads: int | None = None,
    by: Any = None,
    calibration: bool | str = False,
    **options: Any,
) -> EvaluationResult:
    """Compute losses of predictions against labels.

    Args:
        preds: (n,) predictions, or (n, k) with one column per class or output. NumPy,
            pandas (DataFrame column names give class names: 'p_cat' → 'cat') or pyarrow.
        labels: (n,) values, class indices or class names, or (n, k) one-hot/soft labels.
        losses: SPEC names or aliases (comma lists allowed); None for every loss of the task.
        task: ``auto``, ``regression``, ``binary`` or ``multiclass`` (SPEC §3).
        sample_weight: (n,) weights ≥ 0.
        classes: class names in column order (for class weights by name and text labels).
        pred_names: names of the prediction columns, when `preds` is a bare array; like a
            DataFrame's columns, they name the classes after their common prefix.
        threads: worker threads (default: every core) for large inputs.
        by: slice columns (SPEC §8): an array, a dict of arrays or a DataFrame; each column
            is a slicing, or list crosses in ``slicings=[("region", "device")]``. With
            ``per_class``, ``bins={"age": [18, 65]}``, ``min_slice_rows``, ``max_slices``,
            ``sort_slices``, ``top_slices``; ``worst=K``, ``worst_by``, ``show_cols``
            (columns of `by`) list the K rows of largest ℓᵢ.
        calibration: add ece and mce and return their reliability table (SPEC §11) as
            ``result.calibration``; ``calibration_bins`` (15) sets the bins; ``'auto'``
            does so for classification only.
        **options: huber_delta, eps, from_logits, label_smoothing, class_weight
            ('balanced' or {class: weight}), hinge_mode ('crammer-singer' or
            'weston-watkins'), focal_gamma, focal_alpha, dice_smooth, reduction
            ('mean', 'sum', 'none'), renormalize, nan_policy ('raise', 'omit').

    Returns:
        An `EvaluationResult`; `result.losses['bce']`, `result.to_dict()`, `result.to_frame()`.

    Raises:
        InputError: a value, shape or option the losses cannot take; the message says which
            row and how to fix it.
    """
    p_arr, y_arr, w_arr, frame_names = _arrays(preds, labels, sample_weight)
    pred_names = list(pred_names) if pred_names is not None else frame_names
    data = slice_data(by, p_arr.shape[0])
    spec = slice_spec(list(data), **_pop_slice_keywords(options))
    plan, y_arr = make_plan(
        p_arr, y_arr, losses, task=task, pred_names=pred_names, classes=classes,
        calibration=calibration, **options,
    )  # fmt: skip
    _same_rows(p_arr, y_arr, w_arr)
    spec.check_losses([s.name for s in plan.specs], plan.options.reduction)
    try:
        describe = show_columns(spec.show, data) if spec.worst else None
        acc = accumulate_arrays(plan, p_arr, y_arr, w_arr, threads, spec, data, describe)
    except InputError as exc:
        raise explain_guess(plan, exc) from None
    return finish(plan, acc, spec, calibration)


def _arrays(
    preds: Any, labels: Any, sample_weight: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[str] | None]:
    """The caller's data as arrays, and the prediction columns' names (a DataFrame's)."""
    p_arr, frame_names = to_array(preds)
    y_arr, _ = to_array(labels)
    w_arr, _ = to_array(sample_weight)
    if p_arr is None or y_arr is None:
        raise InputError("preds and labels are both needed")
    if p_arr.ndim == 0 or p_arr.shape[0] == 0:
        raise InputError("no rows to evaluate", fix="A mean over no rows is undefined")
    return p_arr, y_arr, w_arr, frame_names


def _same_rows(p_arr: np.ndarray, y_arr: np.ndarray, w_arr: np.ndarray | None) -> None:
    n = p_arr.shape[0]
    if np.shape(y_arr)[0] != n:
        raise InputError(f"preds has {n} rows, labels has {np.shape(y_arr)[0]}")
    if w_arr is not None and np.shape(w_arr)[0] != n:
        raise InputError(
            f"sample_weight has {np.shape(w_arr)[0]} rows, preds has {n}", role="weights"
        )


def _pop_slice_keywords(options: dict[str, Any]) -> dict[str, Any]:
    """The slice keywords (SPEC §8) out of `options`, which keeps the engine's."""
    return {k: options.pop(k) for k in SLICE_KEYWORDS if k in options and k != "by"}


def evaluate_stream(
    chunks: Iterable[Any],
    losses: Sequence[str] | str | None = None,
    *,
    task: str = "auto",
    classes: Sequence[str] | None = None,
    pred_names: Sequence[str] | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    locate: Callable[[Chunk, InputError], InputError] | None = None,
    by: Sequence[Sequence[str] | str] | None = None,
    describer: Describer | None = None,
    calibration: bool | str = False,
    **options: Any,
) -> EvaluationResult:
    """`evaluate` over a stream of chunks, in bounded memory and on every core.

    A chunk is a tuple `(preds, labels)` or `(preds, labels, weights)` of NumPy arrays,
    pandas or pyarrow data (a DataFrame's column names name the classes, as in `evaluate`),
    or an object with `.preds`, `.labels` and optionally `.weights` and `.row_offset` (the
    0-based row of its first row; by default chunks follow each other):

        >>> chunks = ((p[i : i + 1000], y[i : i + 1000]) for i in range(0, len(y), 1000))
        >>> losscli.evaluate_stream(chunks, losses=["bce"])

    The task, classes and losses are decided from the first chunk (a later chunk that does
    not fit, such as a label 2 after a binary first chunk, is an error naming its row).
    Each chunk is evaluated into its own accumulator on a worker thread while the next one
    is read; at most `threads + 1` chunks are in flight, and they are merged in input order,
    so the first error reported is the first in the file. `locate(chunk, error)` may place an
    engine error in the user's files; `progress(rows)` is called after each chunk.

    Slices (SPEC §8): a chunk carries its slice columns as a fourth tuple item (an array,
    a dict of arrays or a DataFrame) or as `.extras` (name → (values, null mask)); `by`
    lists the slicings (column names, tuples for crosses; default: every column of the
    first chunk), with the slice keywords of `evaluate`. `describer(chunk)` may name a
    chunk's rows among the worst (file rows, lines, ids).
    """
    slice_kw = _pop_slice_keywords(options)
    iterator = as_chunks(chunks)
    first = next(iterator, None)
    if first is None:
        raise InputError("no rows to evaluate", fix="A mean over no rows is undefined")
    if pred_names is None and isinstance(first, ArrayChunk):
        pred_names = first.names
    located = locate or (lambda _chunk, exc: exc)
    try:
        plan, first_labels = make_plan(
            np.asarray(first.preds), np.asarray(first.labels), losses,
            task=task, pred_names=pred_names, classes=classes, calibration=calibration,
            **options,
        )  # fmt: skip
        chosen = slice_kw.pop("slicings", None) if by is None else by
        spec = slice_spec(list(getattr(first, "extras", {})), slicings=chosen, **slice_kw)
        spec.check_losses([s.name for s in plan.specs], plan.options.reduction)
    except InputError as exc:
        raise located(first, exc) from None

    def place(chunk: Chunk, exc: InputError) -> InputError:
        return located(chunk, explain_guess(plan, exc))

    if describer is None and spec.worst:
        describer = lambda chunk: show_columns(spec.show, getattr(chunk, "extras", {}))  # noqa: E731
    acc = accumulate_stream(
        plan, first, first_labels, iterator, threads, progress, place, spec, describer
    )
    return finish(plan, acc, spec, calibration)
