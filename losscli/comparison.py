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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from losscli._version import __version__
from losscli.api import EvaluationResult
from losscli.comparison_inputs import (
    Locate,
    Settings,
    as_mappings,
    drain,
    make_settings,
    models_of,
    rows_of,
)
from losscli.comparison_runs import Run, Stream, run_in_memory
from losscli.engine import resample
from losscli.errors import InputError


@dataclass(frozen=True)
class ModelComparison:
    """d = loss(model) − loss(baseline) over the same rows, its interval and its p-value
    for "no difference" (two-sided); `p_value_holm` when Holm's adjustment was asked for.
    A slice's comparison names the slice by column (`slice`) and marks it when it has fewer
    rows than ``min_slice_rows`` (`small`); the whole's has `slice` None."""

    model: str
    baseline: str
    loss: str
    difference: float
    ci: tuple[float, float]
    p_value: float
    method: str
    p_value_holm: float | None = None
    slice: dict[str, str | None] | None = None
    small: bool = False


@dataclass
class ComparisonResult:
    """Every model's losses and every model's comparison with the baseline.

    Attributes:
        models: model name → its `EvaluationResult` (the numbers `evaluate` gives for it).
        comparisons: one `ModelComparison` per (model other than the baseline, loss), then
            with slices one per (slicing, group, loss, model), in the baseline's group order.
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
            "models": {name: self._model(name, r) for name, r in self.models.items()},
            "comparisons": _one_per_line([_entry(c, s["holm"]) for c in self.comparisons]),
        }

    def _model(self, name: str, r: EvaluationResult) -> dict[str, Any]:
        out: dict[str, Any] = {"losses": r.losses, "inputs": self.inputs.get(name, {})}
        if r.slices:
            out["slices"] = [s.to_dict() for s in r.slices]
        return out

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per (model, loss): model, loss, value, baseline,
        difference, ci_low, ci_high, p_value (p_value_holm with holm), method; the
        baseline's own rows have NaN for the comparison's numbers."""
        import pandas as pd

        found = {(c.model, c.loss): c for c in self.comparisons if c.slice is None}
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
    out: dict[str, Any] = {"model": c.model, "baseline": c.baseline, "loss": c.loss}
    if c.slice is not None:
        out.update(slice=dict(c.slice), small=c.small)
    out.update(difference=c.difference, ci=list(c.ci), p_value=c.p_value, method=c.method)
    if holm:
        out["p_value_holm"] = c.p_value_holm
    return out


# --- the two entry points ------------------------------------------------------------------


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
    by: Any = None,
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
        holm: also give Holm-adjusted p-values, one family per loss (with slices, one
            family of every comparison, the whole's and every slice's).
        task, sample_weight, classes, threads, **options: as `evaluate`; the first model's
            task is every model's task. ``reduction`` must be ``mean``.
        locate: `locate(part, error)` places an engine error in the caller's data.
        by: slice columns (SPEC §8), as `evaluate` takes them (an array, a dict of arrays
            or a DataFrame), shared by every model; with parts (`labels` None), the
            baseline's `.extras` are the slice columns. With ``slicings``, ``per_class``,
            ``bins``, ``min_slice_rows``, ``max_slices``, ``sort_slices``, ``top_slices``
            as `evaluate`: each model's result has its slices, and each slice of each
            slicing its comparisons, with the method and seed of the whole comparison
            (``top_slices`` trims what is shown; every slice is compared).

    Returns:
        A `ComparisonResult`: `.models`, `.comparisons`, `.to_dict()`, `.to_frame()`.

    Raises:
        InputError: fewer than two models, an unknown baseline, models of different lengths,
            or anything `evaluate` refuses; the message says where and how to fix it.
    """
    s = make_settings(losses, task=task, classes=classes, options=options, baseline=baseline,
                      method=method, ci=ci, n_resamples=n_resamples, seed=seed, holm=holm,
                      threads=threads, locate=locate)  # fmt: skip
    chunk = preds_by_model if labels is None else (preds_by_model, labels, sample_weight, by)
    if by is not None:
        s = replace(s, slices={"slicings": None, **s.slices})
    models = models_of(chunk, 0)
    _check_names(list(models), s.baseline)
    return _build(run_in_memory([models], list(models), s), s)


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
    by: Sequence[Sequence[str] | str] | None = None,
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

    Slices (SPEC §8): a chunk carries its slice columns as a fourth tuple item (an array,
    a dict of arrays or a DataFrame), or the baseline's part as `.extras` (name → (values,
    null mask)); `by` lists the slicings (column names, tuples for crosses; default: every
    slice column), with the slice keywords of `compare`.
    """
    s = make_settings(losses, task=task, classes=classes, options=options, baseline=baseline,
                      method=method, ci=ci, n_resamples=n_resamples, seed=seed, holm=holm,
                      threads=threads, locate=locate)  # fmt: skip
    if by is not None:
        s = replace(s, slices={**s.slices, "slicings": list(by)})
    return _build(_run_chunks(as_mappings(chunks), s, rewind, progress), s)


def _run_chunks(
    iterator: Iterator[Mapping[str, Any]],
    s: Settings,
    rewind: Callable[[], Iterable[Any]] | None,
    progress: Callable[[int], None] | None,
) -> Run:
    """The run of `compare_stream`: in memory for the bootstrap, for ``auto`` on up to
    `AUTO_NORMAL_ROWS` rows and for balanced class weights without `rewind`; streamed
    otherwise (the rows held so far go first)."""
    first = next(iterator, None)
    if first is None:
        raise InputError("no rows to evaluate", fix="A mean over no rows is undefined")
    names = list(first)
    _check_names(names, s.baseline)
    every = itertools.chain([first], iterator)
    held: list[Mapping[str, Any]] = []
    if s.method == "bootstrap":
        return run_in_memory(list(every), names, s)
    if s.method == "auto":
        rows = 0
        for chunk in every:
            held.append(chunk)
            rows += rows_of(chunk[names[0]])
            if rows > resample.AUTO_NORMAL_ROWS:
                break
        else:
            return run_in_memory(held, names, s)
    if s.options.get("class_weight") == "balanced" and rewind is None:
        held.extend(every)  # the class counts need a first pass: hold the rows instead
        return run_in_memory(held, names, s)
    return Stream(names, s, rewind, progress).run(itertools.chain(drain(held), every))


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


# --- the result --------------------------------------------------------------------------------


def _build(run: Run, s: Settings) -> ComparisonResult:
    """The `ComparisonResult` of a run, with Holm's p-values when asked for: one family
    per loss (the models compared with the baseline), or with slices one family of every
    comparison, the whole's and every slice's (SPEC §8), those `top_slices` hides included."""
    base = s.baseline or run.names[0]

    def entry(c: resample.Comparison, **where: Any) -> ModelComparison:
        return ModelComparison(run.names[c.model], base, c.loss, c.difference, (c.ci[0], c.ci[1]),
                               c.p_value, c.method, **where)  # fmt: skip

    found = [entry(c) for c in run.found]
    found += [entry(sc.found, slice=sc.key, small=sc.small) for sc in run.slices]
    if s.holm and run.slices:
        families = [list(range(len(found)))]
    elif s.holm:
        families = [[j for j, c in enumerate(found) if c.loss == loss]
                    for loss in {c.loss for c in found}]  # fmt: skip
    else:
        families = []
    for family in families:
        adjusted = resample.holm([found[j].p_value for j in family])
        for j, p in zip(family, adjusted, strict=True):
            found[j] = replace(found[j], p_value_holm=p)
    found = _listed(found, run, base)
    settings = dict(method=s.method, ci=s.ci, n_resamples=s.n_resamples, seed=s.seed, holm=s.holm)
    return ComparisonResult(
        models=dict(zip(run.names, run.results, strict=True)),
        comparisons=found,
        baseline=base,
        method=run.found[0].method if run.found else None,
        settings=settings,
        higher_is_better=[spec.name for spec in run.plan.specs if spec.higher_is_better],
        inputs={name: src[1] for name, src in zip(run.names, run.sources, strict=True)},
        notes=[*run.notes, *_few_rows(run.results[run.names.index(base)])],
    )


# Fewer rows than this in a compared slice earn a note: its interval and p-value rest on
# too few rows to mean much (two rows whose differences share a sign give p = 0.001).
FEW_ROWS = 30


def _few_rows(base: EvaluationResult) -> list[str]:
    """A note when compared slices (not marked small) hold fewer than `FEW_ROWS` rows."""
    few = sum(int(((s.table.n_samples < FEW_ROWS) & ~s.small).sum()) for s in base.slices)
    if not few:
        return []
    return [
        f"{few} compared slice{'s' if few != 1 else ''} hold{'s' if few == 1 else ''} fewer "
        f"than {FEW_ROWS} rows, so {'their' if few != 1 else 'its'} intervals and p-values rest "
        f"on few rows; --min-slice-rows {FEW_ROWS} (min_slice_rows={FEW_ROWS} in the API) marks "
        "such slices small and leaves them out of the summary"
    ]


def _listed(found: list[ModelComparison], run: Run, base: str) -> list[ModelComparison]:
    """The whole's comparisons and those of the slices the baseline lists (`top_slices`
    keeps the worst; the others were compared, and counted by Holm, but are not shown)."""
    if not run.slices:
        return found
    shown = run.results[run.names.index(base)].slices
    listed = {(j, tuple(g.key.values())) for j, sl in enumerate(shown) for g in sl.groups}
    whole = len(run.found)
    return found[:whole] + [
        c
        for c, sc in zip(found[whole:], run.slices, strict=True)
        if (sc.slicing, tuple(sc.key.values())) in listed
    ]


def _one_per_line(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The comparisons; with slices (up to one per slice × loss × model) written one entry
    per line (`losscli.render.json.Rows`), as eval writes its slices."""
    if not any("slice" in e for e in entries):
        return entries
    from losscli.render.json import Rows

    return Rows(entries)
