"""`check`, the library entry point of `losscli check` (what the CLI runs once the files are
evaluated), with `CheckResult` and the baseline's comparability; the bounds and tolerances
are parsed in `gate/parse.py`, judged in `gate/verdicts.py`."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from losscli.errors import InputError, Style, option, render
from losscli.gate.parse import Tolerance, bound_map, tolerance_pair
from losscli.gate.verdicts import (
    Gate,
    Verdict,
    baseline_gates,
    judge,
    select_baseline,
    selection_notes,
)

# Options whose difference makes a baseline incomparable (BAD_INPUTS 61): every engine
# option but the NaN policy (dropped rows already show in n_samples). In the CLI's flag
# order, which is the order of the "not comparable" message; a test keeps this in step with
# the engine's `Options`.
SIGNATURE_OPTIONS = (
    "from_logits",
    "eps",
    "huber_delta",
    "label_smoothing",
    "class_weight",
    "hinge_mode",
    "focal_gamma",
    "focal_alpha",
    "dice_smooth",
    "tversky_alpha",
    "tversky_beta",
    "no_background",
    "calibration_bins",
    "reduction",
    "renormalize",
    "convention",
)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of `check`: one verdict per gate, and notes on what was not gated."""

    verdicts: list[Verdict]
    marked_notes: list[str]  # options marked by `losscli.errors.option`

    @property
    def notes(self) -> list[str]:
        """The notes, naming `check`'s keywords (the CLI prints `format_notes("cli")`)."""
        return self.format_notes("api")

    def format_notes(self, style: Style = "api") -> list[str]:
        """The notes with options as keywords (``api``) or flags (``cli``)."""
        return [render(note, style) for note in self.marked_notes]

    @property
    def passed(self) -> bool:
        """Every gate passed (so the CLI exits 0)."""
        return all(v.passed for v in self.verdicts)

    def to_dict(self) -> dict[str, object]:
        """The ``gates`` and ``passed`` keys of the `check --report` JSON."""
        return {"gates": [v.as_dict() for v in self.verdicts], "passed": self.passed}


@dataclass(frozen=True)
class _Facts:
    """What gates read from an evaluation, from an EvaluationResult or its JSON dict."""

    losses: Mapping[str, float]
    task: str
    n_samples: object
    sum_weights: object
    options: Mapping[str, object]
    slices: list[Mapping[str, Any]]  # in their JSON form (SPEC §8)


def check(
    result: object,
    *,
    max: Mapping[str, float] | None = None,  # noqa: A002 - the CLI's --max
    min: Mapping[str, float] | None = None,  # noqa: A002 - the CLI's --min
    baseline: object | None = None,
    tolerance: str | Tolerance | None = None,
    tolerances: Mapping[str, str | Tolerance] | None = None,
    losses: Iterable[str] | None = None,
    baseline_name: str | None = None,
    max_gap: Mapping[str, float] | None = None,
) -> CheckResult:
    """Gate an evaluation: bounds on losses, and no regression against a baseline.

    What `losscli check` runs once the files are evaluated; pure (reads no file).

    Args:
        result: an `EvaluationResult` (from `losscli.evaluate`), or its JSON dict (a report
            saved by ``eval --save``, as `losscli.report.read_report` returns it).
        max, min: loss name (or alias) → bound: fail when the loss is above ``max`` or
            below ``min``. Equal to the bound passes; NaN never passes.
        baseline: an earlier `EvaluationResult` or its JSON dict; every loss it holds is
            gated (no worse beyond the tolerance), except on a binary task ce and kl and on
            a multiclass task kl, which bce (ce) already gates (see `DUPLICATES`).
        tolerance: the allowed regression of every baseline loss: ``"2%"`` (relative),
            ``"abs:0.01"`` (absolute) or a `Tolerance`. None: no regression allowed.
        tolerances: per-loss tolerances, ``{"bce": "1%"}``. Given without ``tolerance``,
            only these losses are gated against the baseline (a note lists the others).
        losses: gate only these losses against the baseline (as ``--loss``).
        baseline_name: the baseline's file, named in its errors.
        max_gap: loss → bound on the gap (max − min) across each slicing's slices.

    With slices in the result (``evaluate(..., by=...)``, SPEC §8), the bounds apply to the
    whole input and to each slice that is not small; the baseline's gates apply again to
    each slice that a baseline with the same slicing holds (notes name those it does not).
    Returns:
        `CheckResult`: ``verdicts`` (bounds first, then the baseline's), ``passed`` and
        ``notes``.
    Raises:
        InputError: a bad bound or tolerance, a tolerance without a baseline, no gate at
            all, a baseline of another task, size or options, or a gated loss the result
            does not hold.
    """
    from losscli.engine.registry import LOSSES

    bounds = {(loss, "max"): v for loss, v in bound_map(max, "max").items()}
    bounds.update({(loss, "min"): v for loss, v in bound_map(min, "min").items()})
    default, per_loss = tolerance_pair(tolerance, tolerances)
    if baseline is None and (default is not None or per_loss):
        raise InputError("tolerance applies to a baseline, and none is given", fix="Pass baseline=")
    if not bounds and baseline is None and not max_gap:
        raise InputError("no gates to check", fix="Pass max=, min=, max_gap= or baseline=")
    facts = _facts(result)
    base = None if baseline is None else _report(baseline, "baseline")
    requested = needed_losses(losses, [loss for loss, _ in bounds], per_loss)
    gates, notes = _gates(facts, bounds, base, baseline_name, (default, per_loss), requested)
    judged = [(g, facts.losses[g.loss]) for g in gates]
    judged += _slice_gates(
        facts, bounds, bound_map(max_gap, "max_gap"), base, gates, (default, per_loss), notes
    )
    verdicts = [judge(g, value, LOSSES[g.loss].higher_is_better) for g, value in judged]
    return CheckResult(verdicts, notes)


def _slice_gates(
    facts: _Facts,
    bounds: dict[tuple[str, str], float],
    max_gap: dict[str, float],
    base: Mapping[str, Any] | None,
    gates: list[Gate],
    tolerances: tuple[Tolerance | None, dict[str, Tolerance]],
    notes: list[str],
) -> list[tuple[Gate, float]]:
    """The gates of each slice and of each slicing's gap (`losscli.gate.slices`)."""
    from losscli.engine.registry import LOSSES
    from losscli.gate import slices

    if max_gap and not facts.slices:
        raise InputError(
            f"{option('max_gap')} gates the gap across slices, and there are none",
            fix=f"Slice with {option('by')} or {option('per_class')}",
        )
    judged = slices.bound_gates(facts.slices, bounds) + slices.gap_gates(facts.slices, max_gap)
    if base is not None and facts.slices:
        gated = list(dict.fromkeys(g.loss for g in gates if g.kind == "baseline"))
        higher = {name: spec.higher_is_better for name, spec in LOSSES.items()}
        more, said = slices.baseline_slice_gates(
            facts.slices, base.get("slices") or [], gated, tolerances, higher
        )
        judged += more
        notes.extend(said)
    return judged


def needed_losses(
    losses: Iterable[str] | None, bounded: Iterable[str], per_loss: Iterable[str]
) -> list[str] | None:
    """The losses to compute when the user named some: those, then each loss a bound or a
    per-loss tolerance gates (so ``--loss mse --max bce=0.3`` computes bce too). None when
    no loss is named: every loss of the task is computed."""
    named = list(losses or ())
    if not named:
        return None
    return list(dict.fromkeys([*named, *bounded, *per_loss]))


def _gates(
    facts: _Facts,
    bounds: dict[tuple[str, str], float],
    base: Mapping[str, Any] | None,
    baseline_name: str | None,
    tolerances: tuple[Tolerance | None, dict[str, Tolerance]],
    requested: list[str] | None,
) -> tuple[list[Gate], list[str]]:
    """The gates: the bounds, then the baseline's (M3: only the chosen losses, each with a
    tolerance that was given, or none given at all; notes say what was left out)."""
    from losscli.engine.registry import LOSSES, resolve, resolve_many

    notes: list[str] = []
    chosen = None
    if base is not None:
        _check_comparable(baseline_name or "", base, facts)
        parts = [p for item in requested or () for p in str(item).split(",") if p.strip()]
        wanted = [resolve(p).name for p in parts] or None
        chosen = select_baseline(base["losses"], wanted, *tolerances, facts.task)
        notes.extend(selection_notes(chosen, tolerances, facts.task))
    gated = list(dict.fromkeys([loss for loss, _ in bounds] + (chosen.gated if chosen else [])))
    resolve_many(gated, facts.task)  # a gate on a loss the task does not have is an error
    missing = [name for name in gated if name not in facts.losses]
    if missing:
        raise InputError(
            f"gated loss {', '.join(missing)} was not computed",
            fix=f"Add it with {option('losses')}",
        )
    gates = [Gate(loss, kind, bound) for (loss, kind), bound in bounds.items()]
    if chosen is not None and base is not None:
        higher = {name: spec.higher_is_better for name, spec in LOSSES.items()}
        gates += baseline_gates(base["losses"], chosen.gated, *tolerances, higher)
    return gates, notes


def _check_comparable(path: str, base: Mapping[str, Any], facts: _Facts) -> None:
    """A baseline from another task, data size or set of options is an error, never a
    silent comparison (BAD_INPUTS 61)."""
    problems = []
    if not base["losses"]:
        raise InputError(
            "the baseline holds no losses",
            source=path,
            fix="Regenerate it with `losscli eval ... --save FILE`",
        )
    if base.get("task") != facts.task:
        problems.append(f"task {base.get('task')} ≠ {facts.task}")
    if base.get("n_samples") != facts.n_samples:
        problems.append(f"n_samples {base.get('n_samples')} ≠ {facts.n_samples}")
    elif base.get("sum_weights") != facts.sum_weights:
        # the same rows weighted differently (sample or class weights added or changed)
        problems.append(f"sum_weights {base.get('sum_weights')} ≠ {facts.sum_weights}")
    old = base.get("options", {})
    # a report leaves out losscli's own convention (and reports from before SPEC §9 have none)
    was, now = old.get("convention", "losscli"), facts.options.get("convention", "losscli")
    if was != now:
        problems.append(f"convention {was} ≠ {now}")
    for key in SIGNATURE_OPTIONS:
        if key == "convention":
            continue
        if key in old and old[key] != facts.options.get(key):
            problems.append(f"{key} {old[key]!r} ≠ {facts.options.get(key)!r}")
    if problems:
        raise InputError(
            f"the baseline is not comparable: {'; '.join(problems)}",
            source=path,
            fix="Regenerate it with the same data and options (losscli eval ... --save FILE)",
        )


def _facts(result: object) -> _Facts:
    """The numbers gates read, from an EvaluationResult or its JSON dict (null → NaN)."""
    if not isinstance(result, Mapping) and hasattr(result, "losses"):
        r: Any = result  # an EvaluationResult: its exact numbers, not their JSON
        found = [s.to_dict(every=True) for s in getattr(r, "slices", [])]
        return _Facts(r.losses, r.task, r.n_samples, r.sum_weights, r.options, found)
    report = _report(result, "result")
    losses = {k: math.nan if v is None else v for k, v in report["losses"].items()}
    get: Callable[[str], Any] = report.get  # the report's JSON values, None when absent
    return _Facts(
        losses,
        get("task"),
        get("n_samples"),
        get("sum_weights"),
        get("options") or {},
        list(get("slices") or []),
    )


def _report(report: object, keyword: str) -> Mapping[str, Any]:
    """A baseline or result as its JSON dict: a mapping with a ``losses`` mapping."""
    data = report.to_dict() if hasattr(report, "to_dict") else report
    if not isinstance(data, Mapping) or not isinstance(data.get("losses"), Mapping):
        raise InputError(
            f"{keyword} must be an EvaluationResult or its JSON dict (with a 'losses' mapping)",
            fix="Pass the result of losscli.evaluate, or a report read with json.load",
        )
    return data
