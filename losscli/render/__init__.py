"""Renderers: result objects → text. No maths, no Click context, no file reading.

`render(kind, ...)` dispatches on the output format (SPEC §5): ``table`` (Rich),
``json``, ``csv``, ``tsv``, ``markdown``.
"""

from __future__ import annotations

FORMATS = ("table", "json", "csv", "tsv", "markdown")


def format_number(value: float | None, precision: int = 6) -> str:
    """A loss value for people: `precision` decimals, scientific where that would hide it."""
    if value is None:
        return "nan"
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 10.0 ** (-precision + 1) or magnitude >= 1e12):
        return f"{value:.{max(precision - 1, 1)}e}"
    return f"{value:.{precision}f}"
