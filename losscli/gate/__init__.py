"""The verdict of `losscli check`: pure functions from values and bounds to pass/fail.

A gate is a bound on one loss: ``max`` (value ≤ bound), ``min`` (value ≥ bound), or
``baseline`` (value no worse than the baseline's value beyond a tolerance). A value equal
to its bound passes; NaN never passes. Exact values are compared, never rounded ones, and
a failure shows the breach: ``bce 0.1000003 > max 0.1``.

`check` is the library entry point (what the CLI's ``check`` runs once the files are
evaluated). By job, each used by the next: `parse` (tolerances, and the bounds and
tolerances of the ``NAME=V`` flag items and of `check`'s keywords), `verdicts` (`Gate`,
`Verdict`, `judge`, and which losses a baseline gates: `select_baseline`, `DUPLICATES`),
then `checking` (`check`, `CheckResult`, the baseline's comparability and notes). Every
name is importable from here, as ``losscli.gate.check``.
"""

from losscli.gate.checking import SIGNATURE_OPTIONS, CheckResult, check, needed_losses
from losscli.gate.parse import (
    ZERO,
    Tolerance,
    parse_bound,
    parse_bounds,
    parse_tolerance,
    parse_tolerances,
)
from losscli.gate.verdicts import (
    DUPLICATES,
    BaselineSelection,
    Gate,
    Verdict,
    baseline_gates,
    judge,
    select_baseline,
    selection_notes,
)

__all__ = [
    "DUPLICATES",
    "SIGNATURE_OPTIONS",
    "ZERO",
    "BaselineSelection",
    "CheckResult",
    "Gate",
    "Tolerance",
    "Verdict",
    "baseline_gates",
    "check",
    "judge",
    "needed_losses",
    "parse_bound",
    "parse_bounds",
    "parse_tolerance",
    "parse_tolerances",
    "select_baseline",
    "selection_notes",
]
