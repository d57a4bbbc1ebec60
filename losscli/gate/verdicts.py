"""Gates and their verdicts: `Gate`, `Verdict`, `judge`, and which losses a baseline
gates (`select_baseline`, `DUPLICATES`, `baseline_gates`, and the notes on those left out).

A gate is a bound on one loss: ``max`` (value ≤ bound), ``min`` (value ≥ bound), or
``baseline`` (value no worse than the baseline's value beyond a tolerance). A value equal
to its bound passes; NaN never passes. Exact values are compared, never rounded ones, and
a failure shows the breach: ``bce 0.1000003 > max 0.1``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from losscli.errors import InputError, option
from losscli.gate.parse import ZERO, Tolerance


@dataclass(frozen=True)
class Gate:
    loss: str
    kind: str  # "max" | "min" | "baseline" | "gap"
    bound: float
    baseline: float | None = None
    tolerance: Tolerance | None = None
    # a slice's gate: its key as (column, value) pairs (SPEC §8); a gap gate: its slicing
    slice: tuple[tuple[str, str | None], ...] | None = None
    by: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        """The loss, and the slice it gates: ``bce``, ``bce[region=eu]``, ``bce[gap by region]``."""
        if self.slice is not None:
            key = ",".join(f"{k}={'null' if v is None else v}" for k, v in self.slice)
            return f"{self.loss}[{key}]"
        if self.by is not None:
            return f"{self.loss}[gap by {','.join(self.by)}]"
        return self.loss

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
        op = {"max": "≤", "min": "≥", "gap": "≤"}.get(g.kind, "≤" if g.kind == "baseline" else "?")
        if self.passed:
            return f"{g.label} {self.value:.7g} {op} {g.describe()}"
        bad = {"≤": ">", "≥": "<"}[op]
        if g.kind == "baseline":
            return f"{g.label} {self.value:.7g} {bad} {g.bound:.7g} (baseline {g.baseline:.7g} + {g.tolerance})"
        return f"{g.label} {self.value:.7g} {bad} {g.kind} {g.bound:.7g}"

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
        if self.gate.slice is not None:
            out["slice"] = dict(self.gate.slice)
        if self.gate.by is not None:
            out["by"] = list(self.gate.by)
        return out


def judge(gate: Gate, value: float, higher_is_better: bool = False) -> Verdict:
    """Pass or fail one gate. NaN never passes; equal to the bound passes."""
    upper = gate.kind in ("max", "gap") or (gate.kind == "baseline" and not higher_is_better)
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
