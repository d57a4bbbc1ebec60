"""The verdict of `losscli check`: pure functions from values and bounds to pass/fail.

A gate is a bound on one loss: ``max`` (value ≤ bound), ``min`` (value ≥ bound), or
``baseline`` (value no worse than the baseline's value beyond a tolerance). A value equal
to its bound passes; NaN never passes. Exact values are compared, never rounded ones, and
a failure shows the breach: ``bce 0.1000003 > max 0.1``.

`check` is the library entry point (what the CLI's ``check`` runs once the files are
evaluated). In order: tolerances and the parsing of ``NAME=V`` flag items; `Gate`,
`Verdict` and `judge`; which losses a baseline gates (`select_baseline`, `DUPLICATES`);
then `check` with the baseline's comparability and notes. One module (about 550 lines)
because each part is only used by the next; the baseline half could become its own module
if a second caller appears.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from losscli.errors import InputError, Style, option, render


@dataclass(frozen=True)
class Tolerance:
    """How much worse than the baseline still passes: relative (0.02 = 2%) or absolute."""

    amount: float
    relative: bool

    def bound(self, baseline: float, higher_is_better: bool) -> float:
        slack = abs(baseline) * self.amount if self.relative else self.amount
        return baseline - slack if higher_is_better else baseline + slack

    def __str__(self) -> str:
        return f"{self.amount * 100:g}%" if self.relative else f"abs:{self.amount:g}"


ZERO = Tolerance(0.0, relative=False)


def parse_tolerance(text: str, flag: str = "--tolerance") -> Tolerance:
    """``2%`` or ``rel:0.02`` (relative), ``abs:0.01`` (absolute); a bare number is an error.

    `flag` is what errors call the value: the CLI's flag, or `check`'s keyword."""
    raw = text.strip()
    try:
        if raw.endswith("%"):
            tol = Tolerance(float(raw[:-1]) / 100.0, relative=True)
        elif raw.lower().startswith("abs:"):
            tol = Tolerance(float(raw[4:]), relative=False)
        elif raw.lower().startswith("rel:"):
            tol = Tolerance(float(raw[4:]), relative=True)
        else:
            # a bare number is ambiguous (2 = 2% or 200%?): say which
            float(raw)
            raise InputError(
                f"{flag} '{text}' needs a unit",
                fix=f"Pass {raw}% for a relative tolerance or abs:{raw} for an absolute one",
            )
    except ValueError:
        raise InputError(
            f"{flag} '{text}' is malformed",
            fix="Pass a relative tolerance such as 2% or an absolute one such as abs:0.01",
        ) from None
    if not math.isfinite(tol.amount) or tol.amount < 0:
        raise InputError(
            f"{flag} '{text}' must be finite and ≥ 0", fix="Pass such as 2% or abs:0.01"
        )
    return tol


def parse_tolerances(
    items: Iterable[str], flag: str = "--tolerance", source: str | None = None
) -> tuple[Tolerance | None, dict[str, Tolerance]]:
    """Repeatable ``--tolerance``: a default (``2%``) and per-loss ones (``bce=1%``).

    Two different tolerances for the same loss (or two defaults) are an error naming both:
    letting the last one win silently could loosen a gate (a copy-pasted CI line)."""
    default: tuple[str, Tolerance] | None = None
    per_loss: dict[str, tuple[str, Tolerance]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if sep:
            loss = _loss_name(name, item, "--tolerance")
            tol = parse_tolerance(value)
            _once(per_loss.get(loss), (value.strip(), tol), flag, f" for {loss}", source)
            per_loss[loss] = (value.strip(), tol)
        else:
            tol = parse_tolerance(item)
            _once(default, (item.strip(), tol), flag, "", source)
            default = (item.strip(), tol)
    return (
        default[1] if default else None,
        {loss: tol for loss, (_, tol) in per_loss.items()},
    )


def parse_bounds(items: Iterable[str], flag: str, source: str | None = None) -> dict[str, float]:
    """Repeatable ``--max``/``--min`` items into loss → bound; one loss given two different
    bounds (also by an alias) is an error naming both, never the last one winning."""
    bounds: dict[str, tuple[str, float]] = {}
    for item in items:
        loss, bound = parse_bound(item, flag)
        text = item.partition("=")[2].strip()
        _once(bounds.get(loss), (text, bound), flag, f" for {loss}", source)
        bounds[loss] = (text, bound)
    return {loss: bound for loss, (_, bound) in bounds.items()}


def _once(
    old: tuple[str, object] | None,
    new: tuple[str, object],
    flag: str,
    what: str,
    source: str | None,
) -> None:
    if old is not None and old[1] != new[1]:
        raise InputError(
            f"{flag} is given twice{what} ({old[0]} and {new[0]})",
            source=source,
            fix="Keep one of them",
        )


def _loss_name(name: str, item: str, flag: str) -> str:
    from losscli.engine.registry import resolve

    if not name.strip():
        raise InputError(f"{flag} '{item}' has no loss name", fix=f"Pass {flag} NAME=VALUE")
    return resolve(name).name


def parse_bound(item: str, flag: str) -> tuple[str, float]:
    """``bce=0.3`` → ('bce', 0.3); the loss name may be an alias."""
    name, sep, value = item.partition("=")
    if not sep:
        raise InputError(
            f"{flag} '{item}' is malformed", fix=f"Pass {flag} NAME=VALUE, such as {flag} bce=0.3"
        )
    loss = _loss_name(name, item, flag)
    try:
        bound = float(value)
    except ValueError:
        bound = math.nan
    if not math.isfinite(bound):
        raise InputError(
            f"{flag} '{item}': '{value.strip()}' is not a finite number",
            fix=f"Pass {flag} NAME=VALUE, such as {flag} bce=0.3",
        )
    return loss, bound


@dataclass(frozen=True)
class Gate:
    loss: str
    kind: str  # "max" | "min" | "baseline"
    bound: float
    baseline: float | None = None
    tolerance: Tolerance | None = None

    def describe(self) -> str:
        if self.kind == "baseline":
            return f"baseline {self.baseline:.7g} + {self.tolerance}"
        return f"{self.kind} {self.bound:.7g}"


@dataclass(frozen=True)
class Verdict:
    gate: Gate
    value: float
    passed: bool
    margin: float  # how far inside the bound (negative: how far outside)

    def message(self) -> str:
        g = self.gate
        op = {"max": "≤", "min": "≥"}.get(g.kind, "≤" if g.kind == "baseline" else "?")
        if self.passed:
            return f"{g.loss} {self.value:.7g} {op} {g.describe()}"
        bad = {"≤": ">", "≥": "<"}[op]
        if g.kind == "baseline":
            return f"{g.loss} {self.value:.7g} {bad} {g.bound:.7g} (baseline {g.baseline:.7g} + {g.tolerance})"
        return f"{g.loss} {self.value:.7g} {bad} {g.kind} {g.bound:.7g}"

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "loss": self.gate.loss,
            "kind": self.gate.kind,
            "bound": self.gate.bound,
            "value": self.value,
            "passed": self.passed,
            "margin": self.margin,
        }
        if self.gate.kind == "baseline":
            out["baseline"] = self.gate.baseline
            out["tolerance"] = str(self.gate.tolerance)
        return out


def judge(gate: Gate, value: float, higher_is_better: bool = False) -> Verdict:
    """Pass or fail one gate. NaN never passes; equal to the bound passes."""
    upper = gate.kind == "max" or (gate.kind == "baseline" and not higher_is_better)
    margin = gate.bound - value if upper else value - gate.bound
    passed = bool(math.isfinite(value) and margin >= 0)
    return Verdict(gate, value, passed, margin if math.isfinite(margin) else math.nan)


# Losses that another loss of the task already gates against a baseline: on a binary
# task ce is bce, and kl is bce (multiclass: ce) less the labels' entropy, which the
# predictions do not change, so a regression moves them by the same amount.
DUPLICATES = {"binary": {"ce": "bce", "kl": "bce"}, "multiclass": {"kl": "ce"}}


@dataclass(frozen=True)
class BaselineSelection:
    """Which losses a baseline gates, and why the others are not (for the notes)."""

    gated: list[str]
    untolerated: list[str]  # chosen, but only per-loss tolerances were given and none is theirs
    duplicates: dict[str, str]  # left out → the loss that gates it


def select_baseline(
    available: Iterable[str],
    requested: Iterable[str] | None,
    default: Tolerance | None,
    per_loss: Mapping[str, Tolerance],
    task: str,
) -> BaselineSelection:
    """The losses to gate against a baseline (README "CI").

    - ``--loss`` given: those losses; else every loss of the baseline except the
      duplicates of `DUPLICATES` (when the loss that gates them is there too).
    - A loss with a per-loss tolerance is always gated.
    - Only per-loss tolerances given (no default): only those losses are gated; the others
      are listed, never gated at a silent zero tolerance.
    - No tolerance at all: every chosen loss, at tolerance 0 (no regression).
    """
    names = list(available)
    per_loss_only = default is None and bool(per_loss)
    if requested or per_loss_only:  # the user named the losses: no duplicates to leave out
        candidates, duplicates = list(dict.fromkeys(requested or names)), {}
    else:
        same = DUPLICATES.get(task, {})
        duplicates = {
            n: same[n] for n in names if n in same and same[n] in names and n not in per_loss
        }
        candidates = [n for n in names if n not in duplicates]
    untolerated: list[str] = []
    if per_loss_only:
        untolerated = [n for n in candidates if n not in per_loss]
        candidates = [n for n in candidates if n in per_loss]
    gated = candidates + [n for n in per_loss if n not in candidates]
    return BaselineSelection(gated, untolerated, duplicates)


def baseline_gates(
    baseline: Mapping[str, float | None],
    losses: Iterable[str],
    default: Tolerance | None,
    per_loss: Mapping[str, Tolerance],
    higher_is_better: Mapping[str, bool],
) -> list[Gate]:
    """One gate per loss of the baseline: no worse than its value beyond the tolerance."""
    gates = []
    for name in losses:
        ref = baseline.get(name)
        if isinstance(ref, bool) or not isinstance(ref, int | float) or not math.isfinite(ref):
            raise InputError(
                f"the baseline has no finite value for {name}",
                fix="Regenerate the baseline with `losscli eval ... --save FILE`",
            )
        tol = per_loss.get(name, default or ZERO)
        gates.append(
            Gate(name, "baseline", tol.bound(ref, higher_is_better.get(name, False)), ref, tol)
        )
    return gates


# --- the library entry point: `check` -------------------------------------------------

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
    "reduction",
    "renormalize",
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
    Returns:
        `CheckResult`: ``verdicts`` (bounds first, then the baseline's), ``passed`` and
        ``notes``.
    Raises:
        InputError: a bad bound or tolerance, a tolerance without a baseline, no gate at
            all, a baseline of another task, size or options, or a gated loss the result
            does not hold.
    """
    from losscli.engine.registry import LOSSES

    bounds = {(loss, "max"): v for loss, v in _bound_map(max, "max").items()}
    bounds.update({(loss, "min"): v for loss, v in _bound_map(min, "min").items()})
    default, per_loss = _tolerance_pair(tolerance, tolerances)
    if baseline is None and (default is not None or per_loss):
        raise InputError("tolerance applies to a baseline, and none is given", fix="Pass baseline=")
    if not bounds and baseline is None:
        raise InputError("no gates to check", fix="Pass max=, min= or baseline=")
    facts = _facts(result)
    base = None if baseline is None else _report(baseline, "baseline")
    requested = needed_losses(losses, [loss for loss, _ in bounds], per_loss)
    gates, notes = _gates(facts, bounds, base, baseline_name, (default, per_loss), requested)
    verdicts = [judge(g, facts.losses[g.loss], LOSSES[g.loss].higher_is_better) for g in gates]
    return CheckResult(verdicts, notes)


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
    base: Mapping[str, object] | None,
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


def selection_notes(
    chosen: BaselineSelection,
    tolerances: tuple[Tolerance | None, Mapping[str, Tolerance]],
    task: str,
) -> list[str]:
    """Say which losses the baseline does not gate, and a zero tolerance nobody asked for."""
    notes = []
    if chosen.duplicates:
        left = list(chosen.duplicates)
        why = [
            f"ce is bce on a {task} task"
            if name == "ce"
            else f"kl is {chosen.duplicates[name]} less the labels' entropy, "
            "which the predictions do not change"
            for name in left
        ]
        gaters = ", ".join(dict.fromkeys(chosen.duplicates.values()))
        is_, it = ("is", "it") if len(left) == 1 else ("are", "them")
        notes.append(
            f"{' and '.join(left)} {is_} not gated against the baseline: {'; '.join(why)}, "
            f"so {gaters} gates {it} (pass {option('losses', left, cli=','.join(left))} "
            f"to gate {it} too)"
        )
    if chosen.untolerated:
        notes.append(
            f"no tolerance for {', '.join(chosen.untolerated)}, so only "
            f"{', '.join(chosen.gated)} {'is' if len(chosen.gated) == 1 else 'are'} gated "
            f"against the baseline (pass {option('tolerance', api='T', cli='T')}, such as 2%, "
            "for every loss)"
        )
    if tolerances[0] is None and not tolerances[1]:
        notes.append(
            "no tolerance given: the baseline gates allow no regression at all "
            f"(pass {option('tolerance')} such as 2% or abs:0.01 to allow some)"
        )
    return notes


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
    for key in SIGNATURE_OPTIONS:
        if key in old and old[key] != facts.options.get(key):
            problems.append(f"{key} {old[key]!r} ≠ {facts.options.get(key)!r}")
    if problems:
        raise InputError(
            f"the baseline is not comparable: {'; '.join(problems)}",
            source=path,
            fix="Regenerate it with the same data and options (losscli eval ... --save FILE)",
        )


def _bound_map(bounds: Mapping[str, float] | None, keyword: str) -> dict[str, float]:
    """``max``/``min`` of `check`: names resolved (aliases too), each a finite number; one
    loss given two different bounds is an error, as with ``--max`` twice."""
    seen: dict[str, tuple[str, float]] = {}
    for name, value in (bounds or {}).items():
        loss = _loss_name(str(name), f"{name}={value}", keyword)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InputError(
                f"{keyword}: the bound for {name} is {value!r}, not a finite number",
                fix=f"Pass a number, such as {keyword}={{'bce': 0.3}}",
            )
        _once(seen.get(loss), (repr(value), float(value)), keyword, f" for {loss}", None)
        seen[loss] = (repr(value), float(value))
    return {loss: bound for loss, (_, bound) in seen.items()}


def _tolerance_pair(
    default: str | Tolerance | None, per_loss: Mapping[str, str | Tolerance] | None
) -> tuple[Tolerance | None, dict[str, Tolerance]]:
    """``tolerance`` and ``tolerances`` of `check` as Tolerance objects, names resolved."""

    def one(value: str | Tolerance, keyword: str) -> Tolerance:
        return value if isinstance(value, Tolerance) else parse_tolerance(str(value), keyword)

    seen: dict[str, tuple[str, Tolerance]] = {}
    for name, value in (per_loss or {}).items():
        loss = _loss_name(str(name), f"{name}={value}", "tolerances")
        tol = one(value, f"tolerances[{name!r}]")
        _once(seen.get(loss), (str(value), tol), "tolerances", f" for {loss}", None)
        seen[loss] = (str(value), tol)
    tols = {loss: tol for loss, (_, tol) in seen.items()}
    return (None if default is None else one(default, "tolerance")), tols


def _facts(result: object) -> _Facts:
    """The numbers gates read, from an EvaluationResult or its JSON dict (null → NaN)."""
    if not isinstance(result, Mapping) and hasattr(result, "losses"):
        r: Any = result  # an EvaluationResult: its exact numbers, not their JSON
        return _Facts(r.losses, r.task, r.n_samples, r.sum_weights, r.options)
    report = _report(result, "result")
    losses = {k: math.nan if v is None else v for k, v in report["losses"].items()}
    get = report.get
    return _Facts(losses, get("task"), get("n_samples"), get("sum_weights"), get("options") or {})


def _report(report: object, keyword: str) -> Mapping[str, Any]:
    """A baseline or result as its JSON dict: a mapping with a ``losses`` mapping."""
    data = report.to_dict() if hasattr(report, "to_dict") else report
    if not isinstance(data, Mapping) or not isinstance(data.get("losses"), Mapping):
        raise InputError(
            f"{keyword} must be an EvaluationResult or its JSON dict (with a 'losses' mapping)",
            fix="Pass the result of losscli.evaluate, or a report read with json.load",
        )
    return data
