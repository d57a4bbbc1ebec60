"""The reliability table of `eval --calibration` (SPEC §11), as text cells for the table
and Markdown renderers: one row per bin, empty bins included with zero rows."""

from __future__ import annotations

from typing import Any

from losscli.render import format_number

HEADER = ("bin", "confidence range", "rows", "Σω", "confidence", "accuracy", "gap")
# right-aligned columns: every one but the range
RIGHT = (0, 2, 3, 4, 5, 6)


def title(result: Any) -> str:
    """The line above the table: bins, and ece and mce when they were computed."""
    bins = len(result.calibration)
    parts = [f"reliability: {bins} equal-width bins of confidence"]
    what = "p (class 1)" if result.task == "binary" else "the top class's probability"
    parts.append(f"confidence = {what}")
    return ", ".join(parts)


def gap(entry: dict[str, Any]) -> float | None:
    """accuracy − confidence of a bin (> 0: under-confident), None for an empty bin."""
    if entry["accuracy"] is None or entry["confidence"] is None:
        return None
    return float(entry["accuracy"] - entry["confidence"])


def rows(result: Any, precision: int) -> list[list[str]]:
    """One row of text cells per bin; an empty bin shows — for its means."""

    def num(value: float | None) -> str:
        return "—" if value is None else format_number(value, precision)

    out = []
    for e in result.calibration:
        closing = "]" if e["bin"] == len(result.calibration) else ")"
        g = gap(e)
        out.append(
            [
                str(e["bin"]),
                f"[{e['low']:.4g}, {e['high']:.4g}{closing}",
                f"{e['n_samples']:,}",
                f"{e['sum_weights']:.6g}",
                num(e["confidence"]),
                num(e["accuracy"]),
                "—" if g is None else f"{g:+.{precision}f}",
            ]
        )
    return out
