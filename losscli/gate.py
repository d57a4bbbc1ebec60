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


def parse_tolerances(items: Iterable[str]) -> tuple[Tolerance | None, dict[str, Tolerance]]:
    """Repeatable ``--tolerance``: a default (``2%``) and per-loss ones (``bce=1%``)."""
    default: Tolerance | None = None
    per_loss: dict[str, Tolerance] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if sep:
            per_loss[_loss_name(name, item, "--tolerance")] = parse_tolerance(value)
        else:
            default = parse_tolerance(item)
    return default, per_loss


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
