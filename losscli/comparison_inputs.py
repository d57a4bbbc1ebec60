"""What `compare` and `compare_stream` take: the caller's keywords, checked once
(`Settings`), and the rows, as chunks that each map a model's name to its part of the rows
(`Part`, or the caller's own objects): their row counts, labels and notes checked across
models, and engine errors placed in the part they come from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from losscli.chunks import to_array
from losscli.comparison_slices import pop_slice_keywords
from losscli.engine import resample
from losscli.errors import InputError
from losscli.slicing import slice_data

Locate = Callable[[Any, InputError], InputError]


@dataclass(frozen=True)
class Settings:
    """The caller's keywords, checked once."""

    losses: list[str] | None
    task: str
    classes: list[str] | None
    options: dict[str, Any]
    baseline: str | None
    method: str
    ci: float
    n_resamples: int
    seed: int
    holm: bool
    threads: int | None
    locate: Locate
    slices: dict[str, Any] = field(default_factory=dict)  # the slice keywords (SPEC §8)


def make_settings(losses: Any, **kw: Any) -> Settings:
    resample.check_settings(kw["ci"], kw["n_resamples"])
    resample.choose_method(kw["method"], 0)  # an unknown method is an error before any row
    if kw["options"].get("nan_policy") == "omit":
        raise InputError(
            "nan_policy='omit' could drop different rows for each model",
            fix="Remove the rows with NaN from every model's data",
        )
    names = [losses] if isinstance(losses, str) else losses
    classes = kw["classes"]
    kw["classes"] = None if classes is None else [str(c) for c in classes]
    kw["locate"] = kw["locate"] or place
    kw["options"] = dict(kw["options"])
    kw["slices"] = pop_slice_keywords(kw["options"])
    return Settings(losses=list(names) if names else None, **kw)


# --- chunks: each a mapping of model name → that model's part of the rows --------------------


@dataclass
class Part:
    """One model's rows given as arrays; errors in them name the model."""

    name: str
    preds: np.ndarray
    labels: np.ndarray
    weights: np.ndarray | None
    row_offset: int
    pred_columns: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    # slice columns: name → (values, null mask or None), aligned with the rows
    extras: dict[str, tuple[np.ndarray, np.ndarray | None]] = field(default_factory=dict)

    def locate(
        self, role: str, col_index: int | None, row: int | None
    ) -> tuple[str | None, str | None, int | None, int | None]:
        """Rows count from the caller's first row; predictions are those of one model."""
        source = f"preds_by_model['{self.name}']" if role == "preds" else None
        return source, None, None if row is None else row + self.row_offset, None


def place(part: Any, exc: InputError) -> InputError:
    """An engine error at a row of the whole input, placed in the part it comes from: engine
    rows count from the first row, a part's `locate` from its own (as the CLI's chunks)."""
    if not hasattr(part, "locate"):
        return exc
    if exc.row is not None:
        exc = replace(exc, row=exc.row - getattr(part, "row_offset", 0))
    return exc.locate(part.locate)


def as_mappings(chunks: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
    """The caller's chunks as mappings of model name → part; tuples' rows follow each other."""
    offset = 0
    for chunk in chunks:
        models = models_of(chunk, offset)
        if not isinstance(chunk, Mapping) and models:
            offset += rows_of(next(iter(models.values())))
        yield models


def models_of(chunk: Any, offset: int) -> Mapping[str, Any]:
    """A mapping of model name → part from `(preds_by_model, labels[, weights[, by]])`, or
    the caller's own mapping of parts (left as it is, so that a lazy one stays lazy)."""
    if isinstance(chunk, Mapping):
        return chunk
    if not isinstance(chunk, (tuple, list)) or len(chunk) not in (2, 3, 4):
        raise TypeError(
            "compare_stream takes chunks that are (preds_by_model, labels), "
            "(preds_by_model, labels, weights) or (preds_by_model, labels, weights, by) "
            f"tuples, or mappings of model name → chunk; got {type(chunk).__name__}"
        )
    by_model, labels = chunk[0], chunk[1]
    weights = chunk[2] if len(chunk) > 2 else None
    by = chunk[3] if len(chunk) > 3 else None
    if not isinstance(by_model, Mapping):
        raise TypeError(
            f"preds_by_model must map model names to predictions, not {type(by_model).__name__}"
        )
    y, _ = to_array(labels)
    w, _ = to_array(weights)
    if y is None:
        raise InputError("labels are needed", fix="Pass the labels every model predicts")
    extras = {} if by is None else slice_data(by, np.shape(y)[0])
    out = {}
    for name, preds in by_model.items():
        p, names = to_array(preds)
        if p is None or np.ndim(p) == 0:
            raise InputError(f"model '{name}' has no predictions")
        if np.shape(p)[0] != np.shape(y)[0]:
            raise length_error(str(name), np.shape(p)[0], "labels", np.shape(y)[0])
        out[str(name)] = Part(str(name), p, y, w, offset, names, extras=extras)
    return out


def rows_of(part: Any) -> int:
    return int(np.shape(part.preds)[0])


def drain(items: list[Any]) -> Iterator[Any]:
    """The items in order, each let go of once it is taken."""
    items.reverse()
    while items:
        yield items.pop()


def length_error(name: str, n: int, first: str, n0: int) -> InputError:
    what = "the labels have" if first == "labels" else f"model '{first}' has"
    return InputError(
        f"model '{name}' has {n} rows, {what} {n0}",
        fix="Every model must predict the same rows",
    )


def same_labels(name: str, part: Any, first: str, part0: Any) -> None:
    """The same labels and weights as the first model (whole inputs, or one chunk each)."""
    if part.labels is part0.labels and part.weights is part0.weights:
        return  # given once for every model
    w0, w = part0.weights, part.weights
    if (
        not np.array_equal(part.labels, part0.labels)
        or (w0 is None) != (w is None)
        or (w is not None and not np.array_equal(w, w0))
    ):
        raise InputError(
            f"model '{name}' has other labels or weights than model '{first}'",
            fix="Give every model the same labels and weights",
            kind="other_labels",
        )


def joined(parts: list[Any]) -> Any:
    """One model's parts as one (what reading its data whole gives)."""
    if len(parts) == 1:
        return parts[0]

    def cat(values: list[Any]) -> Any:
        return None if values[0] is None else np.concatenate(values)

    changes = {
        "preds": cat([p.preds for p in parts]),
        "labels": cat([p.labels for p in parts]),
        "weights": cat([p.weights for p in parts]),
        "row_offset": 0,
    }
    if getattr(parts[0], "extras", None):
        changes["extras"] = {
            name: (cat([p.extras[name][0] for p in parts]), _masks(parts, name))
            for name in parts[0].extras
        }
    if hasattr(parts[0], "ids"):
        changes["ids"] = cat([p.ids for p in parts])
    if hasattr(parts[0], "n_rows"):
        changes["n_rows"] = sum(rows_of(p) for p in parts)
    return replace(parts[0], **changes)


def _masks(parts: list[Any], name: str) -> np.ndarray | None:
    """One slice column's null masks joined (None where no part has one)."""
    masks = [p.extras[name][1] for p in parts]
    if all(m is None for m in masks):
        return None
    return np.concatenate(
        [
            np.zeros(rows_of(p), dtype=bool) if m is None else m
            for p, m in zip(parts, masks, strict=True)
        ]
    )


def add_notes(notes: list[str], name: str, own: list[str]) -> None:
    """A model's notes, prefixed with its name, each once."""
    for note in own:
        warn = note.startswith("warning: ")
        text = f"{'warning: ' if warn else ''}{name}: {note.removeprefix('warning: ')}"
        if text not in notes:
            notes.append(text)


def part_of(models: Mapping[str, Any], name: str) -> Any:
    try:
        return models[name]
    except KeyError:
        raise InputError(
            f"a chunk has no predictions of model '{name}'",
            fix="Give every model's predictions in every chunk",
        ) from None


def source_of(part: Any) -> tuple[list[str], dict[str, Any]]:
    """A part's notes (the list itself: a reader may add to it while it reads) and the
    description of where it comes from."""
    return getattr(part, "notes", []), part.describe() if hasattr(part, "describe") else {}
