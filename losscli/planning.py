"""What `evaluate` decides before it reads a row: the task, the losses, the options and the
classes, from the first rows (or the whole arrays); the `Plan` every later chunk follows.

A plan is made once per evaluation by `make_plan`; the labels of later chunks are encoded
the way it decided (`encode_chunk_labels`), and an error a wrong task guess explains says
so (`explain_guess`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from losscli.engine import conventions
from losscli.engine.options import Options
from losscli.engine.registry import LossSpec, resolve_many
from losscli.engine.stats import ColumnRootMean
from losscli.engine.tasks import (
    detect_task,
    encode_labels,
    integer_class_values,
    map_labels_by_value,
)
from losscli.errors import InputError, option

SEPARATORS = "_-.:"
# `classes` for a binary task: ``classes=['NEGATIVE', 'POSITIVE']``, ``--classes NEGATIVE,POSITIVE``
_NEGATIVE_POSITIVE = option("classes", ["NEGATIVE", "POSITIVE"], cli="NEGATIVE,POSITIVE")


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
        if name in ("reduction", "nan_policy", "convention"):
            continue
        if name in ("from_logits", "renormalize") and not getattr(options, name):
            continue  # --no-from-logits turns a config's setting off; it shapes nothing
        flag = option(name)
        if name in ("from_logits", "class_weight") and task == "regression":
            raise InputError(
                f"{flag} applies to classification, but the task is regression",
                fix=f"Pass {option('task', 'binary')} or {option('task', 'multiclass')}, "
                f"or leave out {flag}",
            )
        if name == "class_weight":
            continue
        if name == "no_background" and options.no_background and task != "multiclass":
            raise InputError(
                f"{flag} applies to multiclass dice, iou and tversky; a {task} task has one "
                "class of interest",
                fix=f"Leave out {flag}",
            )
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
                f"add one with {option('losses')} or leave out {flag}",
            )


def _with_calibration(specs: list[LossSpec], task: str, how: bool | str) -> list[LossSpec]:
    """The losses with ece and mce added, whose bins the reliability table reads; ``auto``
    (the HTML report) adds them for classification only."""
    from losscli.engine.registry import LOSSES

    if task == "regression" and how == "auto":
        return specs
    if task == "regression":
        raise InputError(
            f"{option('calibration')} applies to classification, but the task is regression",
            fix=f"Pass {option('task', 'binary')} or {option('task', 'multiclass')}, "
            f"or leave out {option('calibration')}",
        )
    return specs + [LOSSES[n] for n in ("ece", "mce") if LOSSES[n] not in specs]


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


def make_plan(
    preds: np.ndarray,
    labels: np.ndarray,
    losses: Sequence[str] | str | None,
    *,
    task: str = "auto",
    pred_names: Sequence[str] | None = None,
    classes: Sequence[str] | None = None,
    calibration: bool | str = False,
    **options: Any,
) -> tuple[Plan, np.ndarray]:
    """Decide task, losses, options and classes; returns the plan and numeric labels.
    `calibration` (the reliability table, SPEC §11) adds ece and mce to the losses."""
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
    labels, n_classes, class_names, values = _classes(
        task, preds, labels, pred_names, classes, notes
    )
    soft = given_task == "binary" and task == "binary" and _soft(labels)
    opts, eps_dtype = _eps_of_dtype(opts, preds)
    names = [losses] if isinstance(losses, str) else losses
    specs = resolve_many(list(names) if names else None, task)
    if calibration:
        specs = _with_calibration(specs, task, calibration)
    specs = _leave_out_hinge(specs, bool(names), task, labels, soft, notes)
    specs = _under_convention(opts, specs, task, bool(names), preds)
    _check_options_apply(opts, specs, task)
    conventions.check_options(opts.convention, specs, task, opts, labels.ndim == 2)
    _check_reduction(opts, specs)
    plan = Plan(
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
    return plan, labels


def _under_convention(
    opts: Options, specs: list[LossSpec], task: str, named: bool, preds: np.ndarray
) -> list[LossSpec]:
    """The losses a framework convention has (SPEC §9), with scikit-learn's rmse of k
    columns as the mean of per-column RMSEs."""
    conv = opts.convention
    specs = conventions.check_losses(conv, specs, task, opts.from_logits, named)
    k = preds.shape[1] if preds.ndim == 2 else 1
    if conv.rmse_per_column and k > 1:
        column_roots = ColumnRootMean("rmse", width=k)
        specs = [replace(s, statistic=column_roots) if s.name == "rmse" else s for s in specs]
    return specs


def _classes(
    task: str,
    preds: np.ndarray,
    labels: np.ndarray,
    pred_names: Sequence[str] | None,
    classes: Sequence[str] | None,
    notes: list[str],
) -> tuple[np.ndarray, int, list[str] | None, list[int] | None]:
    """(labels as the engine takes them, number of classes, class names, integer class
    values or None) for the task decided."""
    if task == "multiclass":
        n_classes = preds.shape[1] if preds.ndim == 2 else 0
        labels, names, values = _multiclass_classes(preds, labels, pred_names, classes, notes)
        return labels, n_classes, names, values
    if task == "binary":
        labels, names, values = _binary_classes(labels, classes)
        return labels, 2, names, values
    if labels.dtype.kind in "USO":
        raise InputError(
            "the labels are text, but the task is regression",
            role="labels",
            fix=f"Pass {option('task', 'binary')} or {option('task', 'multiclass')}, "
            "or give numeric labels",
        )
    return labels, 1, None, None


def _check_reduction(opts: Options, specs: list[LossSpec]) -> None:
    """Per-sample output needs at least one per-sample loss."""
    if opts.reduction == "none" and all(s.dataset_level for s in specs):
        raise InputError(
            f"{option('reduction', 'none')} gives one value per row, but "
            f"{', '.join(s.name for s in specs)} are dataset-level losses",
            fix=f"Choose per-sample losses with {option('losses')}, or another "
            f"{option('reduction')}",
        )


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
        return (
            f"{option('classes')} names each prediction column's class, in column order; check it"
        )
    return (
        "The prediction columns are named after integer classes, so labels are matched by "
        f"name; check the labels, or pass {option('classes')} with each column's class in "
        "column order"
    )


def _binary_classes(
    labels: np.ndarray, classes: Sequence[str] | None
) -> tuple[np.ndarray, list[str], list[int] | None]:
    """Binary labels and class names; `--classes A,B` makes A negative and B positive, for
    text labels and numeric ones (labels 1 and 2 with `--classes 1,2`)."""
    if classes is not None and len(classes) != 2:
        raise InputError(
            f"{option('classes', list(classes), cli='')} names {len(classes)} classes, but a "
            "binary task has 2",
            fix=f"Pass {_NEGATIVE_POSITIVE}, or {option('task', 'multiclass')}",
        )
    if labels.dtype.kind in "USO":
        if classes is None:
            raise InputError(
                "the labels are text; a binary task needs to know which class is positive",
                role="labels",
                fix=f"Pass {_NEGATIVE_POSITIVE}",
            )
        labels, names, _ = encode_labels(labels, classes, 2)
        return labels, names, None
    if classes is None:
        return labels, ["0", "1"], None
    names = [str(c) for c in classes]
    values = integer_class_values(names)
    if values is None or values == [0, 1] or labels.ndim != 1:
        return labels, names, None
    fix = f"{_NEGATIVE_POSITIVE} names the two label values; check it"
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


def explain_guess(p: Plan, exc: InputError) -> InputError:
    """An error a wrong task guess explains says so and how to choose the task."""
    if p.guess is None or exc.kind not in ("preds_range", "labels_range"):
        return exc
    if p.task == "binary" and exc.kind == "preds_range":
        fix = (
            f"{p.guess[0].upper()}{p.guess[1:]}: pass {option('task', 'regression')} if the "
            f"labels are regression targets, or {option('from_logits', True)} for raw scores "
            "(logits)"
        )
    elif p.task == "multiclass":
        also = ""
        if exc.kind == "preds_range":
            also = f", or {option('from_logits', True)} for raw scores (logits)"
        fix = (
            f"{p.guess[0].upper()}{p.guess[1:]}: pass {option('task', 'regression')} for "
            f"multi-output regression{also}"
        )
    else:
        return exc
    return replace(exc, fix=fix)


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
