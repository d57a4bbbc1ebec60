"""`compare` and `compare_stream`: several models on the same rows, side by side, with a
paired interval and p-value for each model against a baseline (SPEC §1, §5, §7).

`compare` is to `losscli compare` what `evaluate` is to `losscli eval`: the CLI reads the
files and calls `compare_stream` (or `compare` when the files are read whole), then prints
`ComparisonResult.to_dict()`. Each model's losses are what `evaluate` gives for it; the
interval of d = loss(B) − loss(A) comes from `losscli.engine.resample`:

- in memory (`compare`, the bootstrap, and `method='auto'` on up to `AUTO_NORMAL_ROWS`
  rows): every model evaluated whole, then the matrix of paired terms, resampled or not;
- streamed (`compare_stream` with the normal approximation): every chunk of every model
  goes into an engine accumulator of its own and the chunk's paired terms into sums and
  moments, on worker threads, merged in input order. The numbers are the same bits on any
  number of threads; memory holds a few chunks, whatever n.

NumPy and the engine only: no click, rich, pandas (but in `to_frame`) or readers.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from losscli._version import __version__
from losscli.api import (
    EvaluationResult,
    _to_array,
    encode_chunk_labels,
    evaluate,
    finish,
    make_accumulator,
    plan,
    update_in_pieces,
)
from losscli.engine import resample
from losscli.errors import InputError, LossCliError

Locate = Callable[[Any, InputError], InputError]

# One scatter matrix (a BLAS product that is itself multi-threaded) at a time: two workers
# each starting BLAS threads on two cores ran 10× slower under load; the other worker meanwhile
# evaluates its chunk's losses.
_MOMENTS = threading.Lock()


@dataclass(frozen=True)
class ModelComparison:
    """d = loss(model) − loss(baseline) over the same rows, its interval and its p-value
    for "no difference" (two-sided); `p_value_holm` when Holm's adjustment was asked for."""

    model: str
    baseline: str
    loss: str
    difference: float
    ci: tuple[float, float]
    p_value: float
    method: str
    p_value_holm: float | None = None


@dataclass
class ComparisonResult:
    """Every model's losses and every model's comparison with the baseline.

    Attributes:
        models: model name → its `EvaluationResult` (the numbers `evaluate` gives for it).
        comparisons: one `ModelComparison` per (model other than the baseline, loss).
        baseline: the reference model's name.
        method: the method used, ``bootstrap`` or ``normal``.
        settings: what was asked: method, ci, n_resamples, seed, holm.
        higher_is_better: the losses for which a higher value is better.
        inputs: model name → where its data came from (the JSON "inputs"; {} for arrays).
        notes: things worth telling the user, each prefixed with its model's name.
    """

    models: dict[str, EvaluationResult]
    comparisons: list[ModelComparison]
    baseline: str
    method: str | None
    settings: dict[str, Any]
    higher_is_better: list[str]
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def task(self) -> str:
        return next(iter(self.models.values())).task

    @property
    def n_samples(self) -> int:
        return next(iter(self.models.values())).n_samples

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of `losscli compare --format json` (SPEC §5)."""
        first = next(iter(self.models.values()))
        s = self.settings
        options = {
            **first.options,
            "losses": list(first.losses),
            "ci": s["ci"],
            "bootstrap": s["n_resamples"],
            "method": s["method"],
            "baseline": self.baseline,
            "holm": s["holm"],
        }
        return {
            "losscli": __version__,
            "task": first.task,
            "n_samples": first.n_samples,
            "seed": s["seed"],
            "method": self.method,
            "baseline": self.baseline,
            "options": options,
            "higher_is_better": list(self.higher_is_better),
            "models": {
                name: {"losses": r.losses, "inputs": self.inputs.get(name, {})}
                for name, r in self.models.items()
            },
            "comparisons": [_entry(c, s["holm"]) for c in self.comparisons],
        }

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per (model, loss): model, loss, value, baseline,
        difference, ci_low, ci_high, p_value (p_value_holm with holm), method; the
        baseline's own rows have NaN for the comparison's numbers."""
        import pandas as pd

        found = {(c.model, c.loss): c for c in self.comparisons}
        holm = bool(self.settings["holm"])
        rows = []
        for loss in next(iter(self.models.values())).losses:
            for name, r in self.models.items():
                c = found.get((name, loss))
                row = {"model": name, "loss": loss, "value": r.losses[loss]}
                row["baseline"] = self.baseline
                row["difference"] = np.nan if c is None else c.difference
                row["ci_low"] = np.nan if c is None else c.ci[0]
                row["ci_high"] = np.nan if c is None else c.ci[1]
                row["p_value"] = np.nan if c is None else c.p_value
                if holm:
                    row["p_value_holm"] = np.nan if c is None else c.p_value_holm
                row["method"] = None if c is None else c.method
                rows.append(row)
        return pd.DataFrame(rows)


def _entry(c: ModelComparison, holm: bool) -> dict[str, Any]:
    out = {"model": c.model, "baseline": c.baseline, "loss": c.loss}
    out.update(difference=c.difference, ci=list(c.ci), p_value=c.p_value, method=c.method)
    if holm:
        out["p_value_holm"] = c.p_value_holm
    return out


# --- the two entry points ------------------------------------------------------------------


@dataclass(frozen=True)
class _Settings:
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


def _settings(losses: Any, **kw: Any) -> _Settings:
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
    return _Settings(losses=list(names) if names else None, **kw)


def compare(
    preds_by_model: Mapping[str, Any],
    labels: Any = None,
    losses: Sequence[str] | str | None = None,
    *,
    baseline: str | None = None,
    method: str = "auto",
    ci: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 0,
    holm: bool = False,
    task: str = "auto",
    sample_weight: Any = None,
    classes: Sequence[str] | None = None,
    threads: int | None = None,
    locate: Locate | None = None,
    **options: Any,
) -> ComparisonResult:
    """Compare models' predictions of the same rows, each against a baseline.

        >>> r = losscli.compare({"old": p_old, "new": p_new}, y, losses=["bce", "mse"])
        >>> r.models["new"].losses["bce"], r.comparisons[0].difference, r.comparisons[0].ci

    Args:
        preds_by_model: model name → its predictions, as `evaluate` takes them (NumPy,
            pandas, pyarrow); in order, at least two. With `labels` None, each value is
            instead an object with `.preds` and `.labels` and optionally `.weights`,
            `.pred_columns`, `.notes`, `.describe()` and `.locate` (what
            `losscli.readers.columns.load_inputs` returns); the values are taken in order,
            each evaluated before the next is taken, and must have the same labels and weights.
        labels: the labels every model predicts, as `evaluate` takes them.
        losses: SPEC names or aliases; None for every loss of the task.
        baseline: the reference model's name (default: the first).
        method: ``auto`` (the paired bootstrap up to 200,000 rows, the normal approximation
            above), ``bootstrap`` or ``normal``.
        ci: the interval's coverage, in (0, 1).
        n_resamples: bootstrap resamples, ≥ 1. seed: seeds them (same seed, same numbers).
        holm: also give Holm-adjusted p-values, one family per loss.
        task, sample_weight, classes, threads, **options: as `evaluate`; the first model's
            task is every model's task. ``reduction`` must be ``mean``.
        locate: `locate(part, error)` places an engine error in the caller's data.

    Returns:
        A `ComparisonResult`: `.models`, `.comparisons`, `.to_dict()`, `.to_frame()`.

    Raises:
        InputError: fewer than two models, an unknown baseline, models of different lengths,
            or anything `evaluate` refuses; the message says where and how to fix it.
    """
    s = _settings(losses, task=task, classes=classes, options=options, baseline=baseline,
                  method=method, ci=ci, n_resamples=n_resamples, seed=seed, holm=holm,
                  threads=threads, locate=locate)  # fmt: skip
    chunk = preds_by_model if labels is None else (preds_by_model, labels, sample_weight)
    models = _models(chunk, 0)
    _check_names(list(models), s.baseline)
    return _build(_in_memory([models], list(models), s), s)


def compare_stream(
    chunks: Iterable[Any],
    losses: Sequence[str] | str | None = None,
    *,
    baseline: str | None = None,
    method: str = "auto",
    ci: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 0,
    holm: bool = False,
    task: str = "auto",
    classes: Sequence[str] | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    locate: Locate | None = None,
    rewind: Callable[[], Iterable[Any]] | None = None,
    **options: Any,
) -> ComparisonResult:
    """`compare` over a stream of chunks of the same rows of every model.

    A chunk is a tuple `(preds_by_model, labels)` or `(preds_by_model, labels, weights)`,
    with `preds_by_model` a mapping of model name → predictions (NumPy, pandas, pyarrow),
    or a mapping of model name → an object with `.preds`, `.labels` and optionally
    `.weights`, `.row_offset`, `.pred_columns`, `.notes`, `.describe()` and `.locate` (one
    chunk of `losscli.readers.columns.stream_inputs` per model; every model must have the
    same labels and weights). The models and their order are those of the first chunk:

        >>> chunks = (({"a": pa[i:i + 10_000], "b": pb[i:i + 10_000]}, y[i:i + 10_000])
        ...           for i in range(0, len(y), 10_000))
        >>> losscli.compare_stream(chunks, losses=["bce"], method="normal").to_dict()

    With the normal approximation (``method='normal'``, or ``auto`` past `AUTO_NORMAL_ROWS`
    rows, which are held until then) the chunks are evaluated on `threads` worker threads
    (default: every core) while the next one is read, and merged in input order: the first
    error reported is the first in the data, and the numbers are the same on any number of
    threads. The bootstrap holds every row (``bootstrap``, or ``auto`` on fewer rows).

    Balanced class weights need the class counts of every row before the first chunk's
    terms: `rewind()` gives the chunks again from the first row (only the baseline model's
    parts are read); without it, the chunks are held in memory. `progress(rows)` is called
    after each chunk; `locate(part, error)` places an engine error in the caller's data.
    The other keywords are those of `compare`.
    """
    s = _settings(losses, task=task, classes=classes, options=options, baseline=baseline,
                  method=method, ci=ci, n_resamples=n_resamples, seed=seed, holm=holm,
                  threads=threads, locate=locate)  # fmt: skip
    iterator = _mappings(chunks)
    first = next(iterator, None)
    if first is None:
        raise InputError("no rows to evaluate", fix="A mean over no rows is undefined")
    names = list(first)
    _check_names(names, s.baseline)
    every = itertools.chain([first], iterator)
    held: list[Mapping[str, Any]] = []
    if s.method == "bootstrap":
        return _build(_in_memory(list(every), names, s), s)
    if s.method == "auto":
        rows = 0
        for chunk in every:
            held.append(chunk)
            rows += _rows(chunk[names[0]])
            if rows > resample.AUTO_NORMAL_ROWS:
                break
        else:
            return _build(_in_memory(held, names, s), s)
    if s.options.get("class_weight") == "balanced" and rewind is None:
        held.extend(every)  # the class counts need a first pass: hold the rows instead
        return _build(_in_memory(held, names, s), s)
    stream = _Stream(names, s, rewind, progress)
    return _build(stream.run(itertools.chain(_drain(held), every)), s)


def _check_names(names: list[str], baseline: str | None) -> None:
    if len(names) < 2:
        raise InputError(
            f"compare needs at least two models, got {len(names)}",
            fix="Pass the predictions of two or more models, by name",
        )
    if baseline is not None and baseline not in names:
        raise InputError(
            f"baseline '{baseline}' is not a model; models are {', '.join(names)}",
            fix="Pass one of the model names",
        )


# --- chunks: each a mapping of model name → that model's part of the rows --------------------


@dataclass
class _Part:
    """One model's rows given as arrays; errors in them name the model."""

    name: str
    preds: np.ndarray
    labels: np.ndarray
    weights: np.ndarray | None
    row_offset: int
    pred_columns: list[str] | None = None
    notes: list[str] = field(default_factory=list)

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


def _mappings(chunks: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
    """The caller's chunks as mappings of model name → part; tuples' rows follow each other."""
    offset = 0
    for chunk in chunks:
        models = _models(chunk, offset)
        if not isinstance(chunk, Mapping) and models:
            offset += _rows(next(iter(models.values())))
        yield models


def _models(chunk: Any, offset: int) -> Mapping[str, Any]:
    """A mapping of model name → part from `(preds_by_model, labels[, weights])`, or the
    caller's own mapping of parts (left as it is, so that a lazy one stays lazy)."""
    if isinstance(chunk, Mapping):
        return chunk
    if not isinstance(chunk, (tuple, list)) or len(chunk) not in (2, 3):
        raise TypeError(
            "compare_stream takes chunks that are (preds_by_model, labels) or "
            "(preds_by_model, labels, weights) tuples, or mappings of model name → chunk; "
            f"got {type(chunk).__name__}"
        )
    by_model, labels, weights = chunk[0], chunk[1], chunk[2] if len(chunk) == 3 else None
    if not isinstance(by_model, Mapping):
        raise TypeError(
            f"preds_by_model must map model names to predictions, not {type(by_model).__name__}"
        )
    y, _ = _to_array(labels)
    w, _ = _to_array(weights)
    if y is None:
        raise InputError("labels are needed", fix="Pass the labels every model predicts")
    out = {}
    for name, preds in by_model.items():
        p, names = _to_array(preds)
        if p is None or np.ndim(p) == 0:
            raise InputError(f"model '{name}' has no predictions")
        if np.shape(p)[0] != np.shape(y)[0]:
            raise _length_error(str(name), np.shape(p)[0], "labels", np.shape(y)[0])
        out[str(name)] = _Part(str(name), p, y, w, offset, names)
    return out


def _rows(part: Any) -> int:
    return int(np.shape(part.preds)[0])


def _drain(items: list[Any]) -> Iterator[Any]:
    """The items in order, each let go of once it is taken."""
    items.reverse()
    while items:
        yield items.pop()


def _length_error(name: str, n: int, first: str, n0: int) -> InputError:
    what = "the labels have" if first == "labels" else f"model '{first}' has"
    return InputError(
        f"model '{name}' has {n} rows, {what} {n0}",
        fix="Every model must predict the same rows",
    )


def _same_labels(name: str, part: Any, first: str, part0: Any) -> None:
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


def _joined(parts: list[Any]) -> Any:
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
    if hasattr(parts[0], "ids"):
        changes["ids"] = cat([p.ids for p in parts])
    if hasattr(parts[0], "n_rows"):
        changes["n_rows"] = sum(_rows(p) for p in parts)
    return replace(parts[0], **changes)


def _add_notes(notes: list[str], name: str, own: list[str]) -> None:
    """A model's notes, prefixed with its name, each once."""
    for note in own:
        warn = note.startswith("warning: ")
        text = f"{'warning: ' if warn else ''}{name}: {note.removeprefix('warning: ')}"
        if text not in notes:
            notes.append(text)


def _part(models: Mapping[str, Any], name: str) -> Any:
    try:
        return models[name]
    except KeyError:
        raise InputError(
            f"a chunk has no predictions of model '{name}'",
            fix="Give every model's predictions in every chunk",
        ) from None


def _source(part: Any) -> tuple[list[str], dict[str, Any]]:
    """A part's notes (the list itself: a reader may add to it while it reads) and the
    description of where it comes from."""
    return getattr(part, "notes", []), part.describe() if hasattr(part, "describe") else {}


# --- in memory: the bootstrap, and the normal approximation of data held whole ---------------


@dataclass
class _Run:
    """What a run gives `_build`: per model its result and source, the comparisons, the
    baseline's plan and the notes."""

    names: list[str]
    results: list[EvaluationResult]
    sources: list[tuple[list[str], dict[str, Any]]]
    found: list[resample.Comparison]
    plan: Any
    notes: list[str]


def _in_memory(chunks: list[Mapping[str, Any]], names: list[str], s: _Settings) -> _Run:
    """Each model's parts joined and evaluated in turn (so a lazy mapping reads one model at
    a time), then the paired terms of the whole matrix, resampled or not (`resample.compare`)."""
    base = names.index(s.baseline or names[0])
    notes: list[str] = []
    results: list[EvaluationResult] = []
    wholes: list[Any] = []
    for name in names:
        whole = _joined([_part(c, name) for c in chunks])
        r = _evaluate(whole, results[0].task if results else s.task, s)
        _add_notes(notes, name, [*getattr(whole, "notes", []), *r.notes])
        if wholes:
            if r.n_samples != results[0].n_samples:
                raise _length_error(name, r.n_samples, names[0], results[0].n_samples)
            _same_labels(name, whole, names[0], wholes[0])
        results.append(r)
        wholes.append(whole)
    first = wholes[base]
    the_plan, y = plan(
        np.asarray(first.preds),
        np.asarray(first.labels),
        s.losses,
        task=results[0].task,
        pred_names=getattr(first, "pred_columns", None),
        classes=s.classes,
        **s.options,
    )
    terms = resample.paired_terms(
        the_plan.task,
        the_plan.specs,
        the_plan.options,
        [np.asarray(w.preds) for w in wholes],
        y,
        first.weights,
        classes=the_plan.classes or [],
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
    return _Run(names, results, [_source(w) for w in wholes], found, the_plan, notes)


def _differences(results: list[EvaluationResult], base: int, contrasts: Any) -> list[float]:
    """d of each contrast from the models' reported losses, so that d is exactly
    loss(B) − loss(A) as printed."""
    losses = results[base].losses
    return [results[c.model].losses[c.loss] - losses[c.loss] for c in contrasts]


def _evaluate(whole: Any, task: str, s: _Settings) -> EvaluationResult:
    """One model's rows evaluated; engine errors are placed in the caller's data."""
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


class _Stream:
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
        s: _Settings,
        rewind: Callable[[], Iterable[Any]] | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.names, self.s, self.rewind, self.progress = names, s, rewind, progress
        self.base = names.index(s.baseline or names[0])
        self.totals: list[Any] = [None] * len(names)
        self.sums: Any = None

    def run(self, chunks: Iterator[Mapping[str, Any]]) -> _Run:
        head = next(chunks)
        first = [_part(head, n) for n in self.names]
        plans, labels = self._plans(first)
        the_plan = plans[self.base]
        resample.check_reduction(the_plan.options)
        step = _Step(plans, self.names, self.base, self._class_weights(the_plan), self.s.locate)
        sources = [_source(p) for p in first]
        self._merge_all(step, first, labels, chunks, plans)
        notes: list[str] = []
        results = []
        for name, (own, _), p, acc in zip(self.names, sources, plans, self.totals, strict=True):
            r = finish(p, acc)
            _add_notes(notes, name, [*own, *r.notes])
            results.append(r)
        found = resample.compare_sums(
            self.sums,
            confidence=self.s.ci,
            differences=_differences(results, self.base, self.sums.contrasts),
        )
        return _Run(self.names, results, sources, found, the_plan, notes)

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
        offset = _rows(first[0])
        pending: deque[tuple[int, Future[Any]]] = deque()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            try:
                pending.append((offset, pool.submit(step, first, labels, 0)))
                try:
                    for chunk in chunks:
                        parts = [_part(chunk, n) for n in self.names]
                        start = getattr(parts[0], "row_offset", offset)
                        codes = [
                            self._encoded(p, c, start) for p, c in zip(plans, parts, strict=True)
                        ]
                        offset = start + _rows(parts[0])
                        pending.append((_rows(parts[0]), pool.submit(step, parts, codes, start)))
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
        accs, pieces = future.result()
        for m, acc in enumerate(accs):
            self.totals[m] = acc if self.totals[m] is None else self.totals[m].merge(acc)
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
                p, y = plan(
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

    def _encoded(self, the_plan: Any, part: Any, offset: int) -> Any:
        """A later chunk's labels as the plan encodes them (class names → indices)."""
        try:
            return encode_chunk_labels(the_plan, np.asarray(part.labels), offset)
        except InputError as exc:
            raise self.s.locate(part, exc) from None

    def _class_weights(self, the_plan: Any) -> Any:
        """One weight per class for the terms of every chunk, or None (no class weights).

        Explicit weights need nothing of the data. ``balanced`` weights n/(k·n_c) need the
        class counts of the whole input before the first chunk's terms: they are counted in
        a first pass over the baseline model's chunks (`rewind`; every model has the same
        labels, and a model whose labels differ is an error in the main pass). Exact: the
        weights are those the in-memory path computes from all rows. (Keeping the terms'
        moments per class instead would avoid the pass for one-hot labels, but not for soft
        labels, whose cross-class products it cannot recover.)
        """
        from losscli.engine.weights import class_weight_vector

        spec = the_plan.options.class_weight
        if spec is None or the_plan.task == "regression":
            return None
        k = the_plan.n_classes
        names = list(the_plan.classes or []) or [str(c) for c in range(k)]
        counts = self._count_classes(the_plan) if spec == "balanced" else np.ones(k)
        return class_weight_vector(spec, counts, names)

    def _count_classes(self, the_plan: Any) -> Any:
        """Σ Y_ic per class over every row of the baseline model (a pass of its own)."""
        from losscli.engine.accumulate import CompensatedSum
        from losscli.engine.batch import Batch

        assert self.rewind is not None
        k = the_plan.n_classes
        counts = CompensatedSum.zeros((k,))
        for models in _mappings(self.rewind()):
            c = _part(models, self.names[self.base])
            offset = getattr(c, "row_offset", 0)
            try:
                y = encode_chunk_labels(the_plan, np.asarray(c.labels), offset)
                batch = Batch(the_plan.task, np.asarray(c.preds), y, c.weights,
                              the_plan.options, the_plan.specs, row_offset=offset)  # fmt: skip
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

    def __call__(self, parts: list[Any], labels: list[Any], offset: int) -> tuple[list, list]:
        accs = []
        for m, part in enumerate(parts):
            start = getattr(part, "row_offset", offset)
            try:
                acc = update_in_pieces(make_accumulator(self.plans[m]),
                                       np.asarray(part.preds), labels[m], part.weights, start)  # fmt: skip
            except InputError as exc:
                raise self.locate(part, exc) from None
            accs.append(acc)
            if m:
                _same_labels(self.names[m], part, self.names[0], parts[0])
        return accs, self._pieces(parts, labels[self.base], offset)

    def _pieces(self, parts: list[Any], y: Any, offset: int) -> list[Any]:
        the_plan, b = self.plans[self.base], parts[self.base]
        preds = [np.asarray(p.preds) for p in parts]
        w = b.weights
        out = []
        for lo, hi in resample.moment_pieces(getattr(b, "row_offset", offset), _rows(b)):
            terms = resample.paired_terms(
                the_plan.task,
                the_plan.specs,
                the_plan.options,
                [p[lo:hi] for p in preds],
                y[lo:hi],
                None if w is None else w[lo:hi],
                classes=the_plan.classes or [],
                baseline=self.base,
                class_weights=self.class_weights,
            )
            with _MOMENTS:
                out.append(resample.PairedSums.like(terms).update(terms))
        return out


# --- the result --------------------------------------------------------------------------------


def _build(run: _Run, s: _Settings) -> ComparisonResult:
    """The `ComparisonResult` of a run, with Holm's p-values per loss when asked for."""
    base = s.baseline or run.names[0]
    found = [
        ModelComparison(
            run.names[c.model], base, c.loss, c.difference, tuple(c.ci), c.p_value, c.method
        )  # fmt: skip
        for c in run.found
    ]
    if s.holm:  # one family per loss: the models compared with the baseline
        for loss in {c.loss for c in found}:
            family = [j for j, c in enumerate(found) if c.loss == loss]
            adjusted = resample.holm([found[j].p_value for j in family])
            for j, p in zip(family, adjusted, strict=True):
                found[j] = replace(found[j], p_value_holm=p)
    settings = dict(method=s.method, ci=s.ci, n_resamples=s.n_resamples, seed=s.seed, holm=s.holm)
    return ComparisonResult(
        models=dict(zip(run.names, run.results, strict=True)),
        comparisons=found,
        baseline=base,
        method=run.found[0].method if run.found else None,
        settings=settings,
        higher_is_better=[spec.name for spec in run.plan.specs if spec.higher_is_better],
        inputs={name: src[1] for name, src in zip(run.names, run.sources, strict=True)},
        notes=run.notes,
    )
