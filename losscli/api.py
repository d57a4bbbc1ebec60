"""The library entry point: `evaluate(preds, labels, losses=None, **options)` (SPEC §7).

The CLI is a thin layer over this: it reads files, calls `evaluate` (or streams chunks into
an `Accumulator` built by `make_accumulator`), and renders the `EvaluationResult`.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from losscli._version import __version__
from losscli.engine.accumulate import Accumulator, Reduced, merge_all
from losscli.engine.options import Options
from losscli.engine.registry import LossSpec, resolve_many
from losscli.engine.tasks import (
    detect_task,
    encode_labels,
    integer_class_values,
    map_labels_by_value,
)
from losscli.errors import InputError

# Rows per chunk are chosen so that a chunk's arrays stay in cache: ~128K values per column.
CHUNK_ELEMENTS = 1 << 17
# Below this many values one thread is faster than two (the pool costs ~100 µs).
PARALLEL_MIN_ELEMENTS = 1 << 20


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
        return "|".join(parts)

    def to_dict(self, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON object of SPEC §5; non-finite numbers become None (JSON null)."""
        options = dict(self.options)
        options["losses"] = list(self.losses)
        if self.classes is not None:
            options["classes"] = self.classes
        if self.class_weights is not None:
            options["class_weights"] = dict(
                zip(self.classes or [], self.class_weights, strict=False)
            )
        return {
            "losscli": __version__,
            "task": self.task,
            "n_samples": self.n_samples,
            "sum_weights": _finite_or_none(self.sum_weights),
            "losses": {k: _finite_or_none(v) for k, v in self.losses.items()},
            "options": options,
            "inputs": inputs or {},
            "signature": self.signature,
        }

    def to_frame(self) -> Any:
        """A pandas DataFrame: one row per loss (or one row per sample with reduction='none')."""
        import pandas as pd

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


def _to_array(data: Any) -> tuple[np.ndarray | None, list[str] | None]:
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


SEPARATORS = "_-.:"


def _common_prefix_stripped(names: Sequence[str]) -> list[str]:
    """Class names from prediction columns: 'p_cat', 'p_dog' → 'cat', 'dog'.

    The common prefix is cut only up to its last separator (`_ - . :`), never inside a word:
    `p_versicolor, p_virginica` → versicolor, virginica; `p_1, p_10` → 1, 10; `cat, car`
    (no separator) stay as they are.
    """
    prefix = os.path.commonprefix(list(names))
    cut = max(prefix.rfind(sep) for sep in SEPARATORS) + 1
    if cut == 0 or any(len(n) == cut for n in names):
        return list(names)
    return [n[cut:] for n in names]


def _check_options_apply(options: Options, specs: list[LossSpec], task: str) -> None:
    """An option set by the user that shapes none of the requested losses is an error."""
    for name in sorted(options.given):
        if name in ("reduction", "nan_policy"):
            continue
        if name in ("from_logits", "renormalize") and not getattr(options, name):
            continue  # --no-from-logits turns a config's setting off; it shapes nothing
        flag = "--" + name.replace("_", "-")
        if name in ("from_logits", "class_weight") and task == "regression":
            raise InputError(
                f"{flag} applies to classification, but the task is regression",
                fix="Pass --task binary or --task multiclass, or leave out " + flag,
            )
        if name == "class_weight":
            continue
        if name == "renormalize":
            if task != "multiclass":
                raise InputError(f"{flag} applies to multiclass probabilities only")
            continue
        if name == "from_logits":
            continue
        if not any(name in spec.options for spec in specs):
            from losscli.engine.registry import SPECS

            users = [s.name for s in SPECS if name in s.options and task in s.tasks]
            raise InputError(
                f"{flag} shapes none of the losses requested ({', '.join(s.name for s in specs)})",
                fix=f"It applies to {', '.join(users) or 'no loss of this task'}; "
                f"add one with --loss or leave out {flag}",
            )


def _refuse_numbers_with_typos(labels: np.ndarray) -> None:
    """Labels that are numbers but for a few cells ('x7', '1,5') are a typo, not class names."""
    values = labels.reshape(-1)[:10_000].astype(str)
    bad = []
    for i, text in enumerate(values.tolist()):
        try:
            float(text)
        except ValueError:
            bad.append(i)
    if bad and len(bad) <= len(values) // 2:
        i = bad[0]
        raise InputError(
            f"'{values[i]}' is not a number, in a label column of numbers",
            role="labels",
            row=i + 1,
            fix="Fix the cell (no thousands separators or decimal commas)",
        )


@dataclass
class Plan:
    """Everything decided before the first row is evaluated.

    `label_values`: when the classes are named by integers (columns `p_2, p_0, p_1`, or
    `--classes 1,2`), the integer of each column's class; numeric labels of every chunk are
    matched to columns by that value, not by position. `guess`: how an ``auto`` task was
    guessed, for errors that a wrong guess explains. `soft_targets`: one-column binary
    labels may be probabilities in [0, 1] (the task was given as binary).
    """

    task: str
    specs: list[LossSpec]
    options: Options
    n_classes: int
    classes: list[str] | None
    notes: list[str]
    label_values: list[int] | None = None
    guess: str | None = None
    soft_targets: bool = False
    eps_dtype: str | None = None


def plan(
    preds: np.ndarray,
    labels: np.ndarray,
    losses: Sequence[str] | str | None,
    *,
    task: str = "auto",
    pred_names: Sequence[str] | None = None,
    classes: Sequence[str] | None = None,
    **options: Any,
) -> tuple[Plan, np.ndarray]:
    """Decide task, losses, options and classes; returns the plan and numeric labels."""
    opts = Options.build(**options)
    notes: list[str] = []
    given_task = task
    text_labels = labels.dtype.kind in "USO"
    if text_labels:
        _refuse_numbers_with_typos(labels)
    if task == "auto" and preds.ndim == 1 and (text_labels or classes is not None):
        task = "binary"  # class names, or --classes, say this is classification
    task, note = detect_task(preds, labels, task)
    if note:
        notes.append(note)
    n_classes = 1
    class_names: list[str] | None = None
    values: list[int] | None = None
    if task == "multiclass":
        n_classes = preds.shape[1] if preds.ndim == 2 else 0
        labels, class_names, values = _multiclass_classes(preds, labels, pred_names, classes, notes)
    elif task == "binary":
        n_classes = 2
        labels, class_names, values = _binary_classes(labels, classes)
    elif text_labels:
        raise InputError(
            "the labels are text, but the task is regression",
            role="labels",
            fix="Pass --task binary or --task multiclass, or give numeric labels",
        )
    soft = given_task == "binary" and task == "binary" and _soft(labels)
    opts, eps_dtype = _eps_of_dtype(opts, preds)
    names = [losses] if isinstance(losses, str) else losses
    specs = resolve_many(list(names) if names else None, task)
    specs = _leave_out_hinge(specs, bool(names), task, labels, soft, notes)
    _check_options_apply(opts, specs, task)
    if opts.reduction == "none" and all(s.dataset_level for s in specs):
        raise InputError(
            f"--reduction none gives one value per row, but {', '.join(s.name for s in specs)} "
            "are dataset-level losses",
            fix="Choose per-sample losses with --loss, or another --reduction",
        )
    the_plan = Plan(
        task,
        specs,
        opts,
        n_classes,
        class_names,
        notes,
        label_values=values,
        guess=_guess(given_task, task, preds, labels),
        soft_targets=given_task == "binary",
        eps_dtype=eps_dtype,
    )
    return the_plan, labels


def _multiclass_classes(
    preds: np.ndarray,
    labels: np.ndarray,
    pred_names: Sequence[str] | None,
    classes: Sequence[str] | None,
    notes: list[str],
) -> tuple[np.ndarray, list[str], list[int] | None]:
    """(labels as column indices, class names, integer class values or None).

    Class names come from --classes, else from the columns' names after their common
    prefix. Text labels are matched to them by name; when no label is a column's class name
    (NPY columns `0, 1, 2`, or `s0, s1, s2`), the sorted distinct labels are the classes
    (README). Integer labels are matched by name when every class name is an integer
    (`p_2, p_0, p_1`, `p_1, p_10, p_11`), and are class indices otherwise.
    """
    if preds.ndim != 2:
        raise InputError(
            "a multiclass task needs one prediction column per class",
            fix="Pass --pred-col with one column per class (a glob like 'p_*')",
        )
    k = preds.shape[1]
    names = [str(c) for c in classes] if classes is not None else None
    if names is None and pred_names is not None:
        names = _common_prefix_stripped(pred_names)
    if names is not None and len(names) != k:
        raise InputError(f"{len(names)} classes named, but there are {k} prediction columns")
    values = None
    if labels.dtype.kind in "USO":
        if classes is None and names is not None and not _any_label_named(labels, names):
            names = None  # the columns are not named after the labels
        labels, names, cnote = encode_labels(labels, names, k)
        if cnote:
            notes.append(cnote)
    elif labels.ndim == 1 and names is not None:
        values = integer_class_values(names)
        if values == list(range(k)):
            values = None  # named 0..k−1 in order: names and positions agree
        if values is not None:
            labels = map_labels_by_value(labels, values, names, _name_fix(classes))
            notes.append(
                "integer labels matched to prediction columns by class name "
                f"({', '.join(names[:12])}{', …' if k > 12 else ''})"
            )
    return labels, names or [str(c) for c in range(k)], values


def _name_fix(classes: Sequence[str] | None) -> str:
    if classes is not None:
        return "--classes names each prediction column's class, in column order; check it"
    return (
        "The prediction columns are named after integer classes, so labels are matched by "
        "name; check the labels, or pass --classes with each column's class in column order"
    )


def _binary_classes(
    labels: np.ndarray, classes: Sequence[str] | None
) -> tuple[np.ndarray, list[str], list[int] | None]:
    """Binary labels and class names; `--classes A,B` makes A negative and B positive, for
    text labels and numeric ones (labels 1 and 2 with `--classes 1,2`)."""
    if classes is not None and len(classes) != 2:
        raise InputError(
            f"--classes names {len(classes)} classes, but a binary task has 2",
            fix="Pass --classes NEGATIVE,POSITIVE, or --task multiclass",
        )
    if labels.dtype.kind in "USO":
        if classes is None:
            raise InputError(
                "the labels are text; a binary task needs to know which class is positive",
                role="labels",
                fix="Pass --classes NEGATIVE,POSITIVE",
            )
        labels, names, _ = encode_labels(labels, classes, 2)
        return labels, names, None
    if classes is None:
        return labels, ["0", "1"], None
    names = [str(c) for c in classes]
    values = integer_class_values(names)
    if values is None or values == [0, 1] or labels.ndim != 1:
        return labels, names, None
    fix = "--classes NEGATIVE,POSITIVE names the two label values; check it"
    return map_labels_by_value(labels, values, names, fix), names, values


def _any_label_named(labels: np.ndarray, names: Sequence[str]) -> bool:
    found = set(np.unique(np.asarray(labels).astype(str)).tolist())
    return not found.isdisjoint(str(n) for n in names)


def _soft(labels: np.ndarray) -> bool:
    """True when one-column numeric labels hold a value strictly between 0 and 1."""
    y = np.asarray(labels)
    if y.ndim != 1 or y.dtype.kind != "f" or y.size == 0:
        return False
    return bool(np.any((y > 0.0) & (y < 1.0)))


def _leave_out_hinge(
    specs: list[LossSpec],
    named: bool,
    task: str,
    labels: np.ndarray,
    soft: bool,
    notes: list[str],
) -> list[LossSpec]:
    """Hinge needs a class per row: the default set leaves it out for soft labels."""
    if named:
        return specs
    if task == "multiclass" and labels.ndim == 2:
        one_hot = np.all((labels == 0) | (labels == 1)) and np.all(labels.sum(axis=1) == 1)
        if not one_hot:  # soft labels have no class per row for hinge
            notes.append("hinge left out: the labels are soft (no single class per row)")
            return [s for s in specs if s.name != "hinge"]
    if soft:
        notes.append("hinge, squared_hinge left out: the labels are soft targets")
        return [s for s in specs if not s.raw_scores]
    return specs


def _eps_of_dtype(opts: Options, preds: np.ndarray) -> tuple[Options, str | None]:
    """Without --eps, clip at the machine ε of float16/float32 predictions, as scikit-learn's
    log_loss does (it clips at `np.finfo(y_pred.dtype).eps`); other inputs use float64's."""
    dtype = np.asarray(preds).dtype
    if "eps" in opts.given or dtype not in (np.float16, np.float32):
        return opts, None
    return opts.for_dtype(dtype), str(dtype)


def _guess(given: str, task: str, preds: np.ndarray, labels: np.ndarray) -> str | None:
    """How an auto task was guessed, for errors a wrong guess explains; None if given."""
    if given != "auto":
        return None
    if task == "multiclass":
        return f"the task was guessed as multiclass from the {preds.shape[1]} prediction columns"
    if task == "binary" and labels.dtype.kind in "iuf" and labels.size:
        minus = np.nanmin(labels) == -1 if labels.dtype.kind == "f" else labels.min() == -1
        return f"the task was guessed as binary from the {'−1/1' if minus else '0/1'} labels"
    return None


def _explain_guess(p: Plan, exc: InputError) -> InputError:
    """An error a wrong task guess explains says so and how to choose the task."""
    if p.guess is None or exc.kind not in ("preds_range", "labels_range"):
        return exc
    if p.task == "binary" and exc.kind == "preds_range":
        fix = (
            f"{p.guess[0].upper()}{p.guess[1:]}: pass --task regression if the labels are "
            "regression targets, or --from-logits for raw scores (logits)"
        )
    elif p.task == "multiclass":
        also = ", or --from-logits for raw scores (logits)" if exc.kind == "preds_range" else ""
        fix = f"{p.guess[0].upper()}{p.guess[1:]}: pass --task regression for multi-output regression{also}"
    else:
        return exc
    return replace(exc, fix=fix)


def make_accumulator(p: Plan) -> Accumulator:
    return Accumulator(
        p.specs,
        p.task,
        p.n_classes,
        p.options,
        p.classes or [],
        keep_per_sample=p.options.reduction == "none",
        soft_targets=p.soft_targets,
    )


def finish(p: Plan, acc: Accumulator) -> EvaluationResult:
    """Reduce an accumulator that has seen every row into the result users get."""
    reduced: Reduced = acc.result()
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
    p_arr, frame_names = _to_array(preds)
    pred_names = list(pred_names) if pred_names is not None else frame_names
    y_arr, _ = _to_array(labels)
    w_arr, _ = _to_array(sample_weight)
    if p_arr is None or y_arr is None:
        raise InputError("preds and labels are both needed")
    if p_arr.ndim == 0 or p_arr.shape[0] == 0:
        raise InputError("no rows to evaluate", fix="A mean over no rows is undefined")
    the_plan, y_arr = plan(
        p_arr, y_arr, losses, task=task, pred_names=pred_names, classes=classes, **options
    )
    n = p_arr.shape[0]
    if np.shape(y_arr)[0] != n:
        raise InputError(f"preds has {n} rows, labels has {np.shape(y_arr)[0]}")
    if w_arr is not None and np.shape(w_arr)[0] != n:
        raise InputError(
            f"sample_weight has {np.shape(w_arr)[0]} rows, preds has {n}", role="weights"
        )
    try:
        acc = _accumulate(the_plan, p_arr, y_arr, w_arr, threads)
    except InputError as exc:
        raise _explain_guess(the_plan, exc) from None
    return finish(the_plan, acc)


def _accumulate(
    the_plan: Plan,
    p_arr: np.ndarray,
    y_arr: np.ndarray,
    w_arr: np.ndarray | None,
    threads: int | None,
) -> Accumulator:
    """Every row of arrays in memory into one accumulator, on several threads when large."""
    n = p_arr.shape[0]
    width = p_arr.shape[1] if p_arr.ndim == 2 else 1
    step = max(1, CHUNK_ELEMENTS // width)
    starts = list(range(0, n, step))
    workers = threads or os.cpu_count() or 1
    if n * width < PARALLEL_MIN_ELEMENTS or the_plan.options.reduction == "none":
        workers = 1

    def run(part: list[int]) -> Accumulator:
        acc = make_accumulator(the_plan)
        for s in part:
            e = min(s + step, n)
            update_in_pieces(acc, p_arr[s:e], y_arr[s:e], None if w_arr is None else w_arr[s:e], s)
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
    acc: Accumulator, preds: np.ndarray, labels: np.ndarray, weights: np.ndarray | None, offset: int
) -> Accumulator:
    """Feed rows to an accumulator in cache-sized pieces (~CHUNK_ELEMENTS values each)."""
    n = preds.shape[0]
    width = preds.shape[1] if preds.ndim == 2 else 1
    step = max(1, CHUNK_ELEMENTS // width)
    for s in range(0, n, step):
        e = min(s + step, n)
        acc.update(
            preds[s:e],
            labels[s:e],
            None if weights is None else weights[s:e],
            row_offset=offset + s,
        )
    return acc


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


def _as_chunk(item: Any, offset: int) -> Chunk:
    """A `Chunk` from what the caller gave: an object with `preds` and `labels` (kept as it
    is when it has `weights` and `row_offset` too), or a 2- or 3-tuple (preds, labels[,
    weights]); rows without a `row_offset` follow the rows before them."""
    if hasattr(item, "preds") and hasattr(item, "labels"):
        if hasattr(item, "weights") and hasattr(item, "row_offset"):
            return item  # type: ignore[no-any-return]
        parts = (item.preds, item.labels, getattr(item, "weights", None))
        offset = getattr(item, "row_offset", offset)
    elif isinstance(item, (tuple, list)) and len(item) in (2, 3):
        parts = (item[0], item[1], item[2] if len(item) == 3 else None)
    else:
        raise TypeError(
            "evaluate_stream takes chunks that are (preds, labels) or (preds, labels, "
            f"weights) tuples, or objects with .preds and .labels; got {type(item).__name__}"
        )
    preds, names = _to_array(parts[0])
    labels, _ = _to_array(parts[1])
    weights, _ = _to_array(parts[2])
    if preds is None or labels is None:
        raise InputError("a chunk needs both preds and labels")
    return ArrayChunk(preds, labels, weights, offset, names)


def encode_chunk_labels(p: Plan, labels: np.ndarray, offset: int = 0) -> np.ndarray:
    """Labels of a later chunk → the class indices the plan chose from the first chunk:
    text labels by name, and integer labels by the integer class names of the columns."""
    if p.task == "regression":
        return labels
    try:
        if labels.dtype.kind in "USO":
            codes, _, _ = encode_labels(labels, p.classes, p.n_classes)
            return codes
        if p.label_values is not None and labels.ndim == 1:
            fix = "Check the labels; the classes were taken from the first rows"
            return map_labels_by_value(labels, p.label_values, p.classes or [], fix)
    except InputError as exc:
        raise replace(exc, row=None if exc.row is None else exc.row + offset) from None
    return labels


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
    """
    iterator = _chunks(chunks)
    first = next(iterator, None)
    if first is None:
        raise InputError("no rows to evaluate", fix="A mean over no rows is undefined")
    if pred_names is None and isinstance(first, ArrayChunk):
        pred_names = first.names
    located = locate or (lambda _chunk, exc: exc)
    try:
        the_plan, first_labels = plan(
            np.asarray(first.preds),
            np.asarray(first.labels),
            losses,
            task=task,
            pred_names=pred_names,
            classes=classes,
            **options,
        )
    except InputError as exc:
        raise located(first, exc) from None

    def place(chunk: Chunk, exc: InputError) -> InputError:
        return located(chunk, _explain_guess(the_plan, exc))

    return finish(
        the_plan, _stream(the_plan, first, first_labels, iterator, threads, progress, place)
    )


def _chunks(chunks: Iterable[Any]) -> Iterator[Chunk]:
    """The caller's chunks as `Chunk`s, with row offsets counted for those without."""
    offset = 0
    for item in chunks:
        chunk = _as_chunk(item, offset)
        offset = chunk.row_offset + np.shape(chunk.preds)[0]
        yield chunk


def _stream(
    the_plan: Plan,
    first: Chunk,
    first_labels: np.ndarray,
    iterator: Iterator[Chunk],
    threads: int | None,
    progress: Callable[[int], None] | None,
    place: Callable[[Chunk, InputError], InputError],
) -> Accumulator:
    """Every chunk into one accumulator: evaluated on worker threads, merged in order."""
    workers = max(1, threads or os.cpu_count() or 1)

    def run(chunk: Chunk, labels: np.ndarray) -> Accumulator:
        acc = make_accumulator(the_plan)
        return update_in_pieces(
            acc, np.asarray(chunk.preds), labels, chunk.weights, chunk.row_offset
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
                    labels = encode_chunk_labels(
                        the_plan, np.asarray(chunk.labels), chunk.row_offset
                    )
                except InputError as exc:
                    raise place(chunk, exc) from None
                pending.append((chunk, pool.submit(run, chunk, labels)))
                while len(pending) > workers:
                    acc = settle(pending.popleft())
                    total = acc if total is None else total.merge(acc)
            while pending:
                acc = settle(pending.popleft())
                total = acc if total is None else total.merge(acc)
        finally:
            for _, future in pending:
                future.cancel()
    assert total is not None
    return total
