"""The verdict of `losscli check`: pure functions from values and bounds to pass/fail.

A gate is a bound on one loss: ``max`` (value ≤ bound), ``min`` (value ≥ bound), or
``baseline`` (value no worse than the baseline's value beyond a tolerance). A value equal
to its bound passes; NaN never passes. Exact values are compared, never rounded ones, and
a failure shows the breach: ``bce 0.1000003 > max 0.1``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from losscli.errors import InputError


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


def parse_tolerance(text: str) -> Tolerance:
    """``2%`` or ``rel:0.02`` (relative), ``abs:0.01`` (absolute); a bare number is an error."""
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
                f"--tolerance '{text}' needs a unit",
                fix=f"Pass {raw}% for a relative tolerance or abs:{raw} for an absolute one",
            )
    except ValueError:
        raise InputError(
            f"--tolerance '{text}' is malformed",
            fix="Pass a relative tolerance such as 2% or an absolute one such as abs:0.01",
        ) from None
    if not math.isfinite(tol.amount) or tol.amount < 0:
        raise InputError(
            f"--tolerance '{text}' must be finite and ≥ 0", fix="Pass such as 2% or abs:0.01"
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
