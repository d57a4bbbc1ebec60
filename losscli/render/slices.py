"""Slices and worst rows as tables, Markdown and CSV (SPEC §8); JSON is the result's own.

One table per slicing: the overall row first, then one row per slice with its rows, Σω
and each loss; slices under ``min_slice_rows`` are marked ``*``. Under it, one line per
loss names the worst and the best slice and the gap between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from losscli.render import format_number

ALL = "all"


def slice_header(losses: Sequence[str]) -> list[str]:
    return ["slice", "rows", "Σω", *losses]


def slice_rows(result: Any, slicing: Any, precision: int) -> list[list[str]]:
    """The overall row, then each group's, formatted for people."""
    losses = list(result.losses)
    rows = [
        [ALL, f"{result.n_samples:,}", _weight(result.sum_weights, precision)]
        + [format_number(result.losses[n], precision) for n in losses]
    ]
    for g in slicing.groups:
        rows.append(
            [
                g.name() + (" *" if g.small else ""),
                f"{g.n_samples:,}",
                _weight(g.sum_weights, precision),
            ]
            + [format_number(g.losses.get(n), precision) for n in losses]
        )
    return rows


def summary_lines(slicing: Any, precision: int) -> list[str]:
    """Per loss: the worst and best slice and the gap; what was left out, and why."""
    lines = []
    for name, e in slicing.summary.items():
        lines.append(
            f"{name}: worst {_key(e.max_key)} {format_number(e.max, precision)}, "
            f"best {_key(e.min_key)} {format_number(e.min, precision)}, "
            f"gap {format_number(e.gap, precision)}"
        )
    small = sum(g.small for g in slicing.groups)
    if small:
        lines.append(
            f"* {small} slice{'s' if small != 1 else ''} under {slicing.min_rows:,} rows, "
            "left out of worst, best and gap"
        )
    if slicing.left_out:
        lines.append(
            f"{slicing.left_out:,} more slice{'s' if slicing.left_out != 1 else ''} not shown "
            f"(--top-slices)"
        )
    return lines


def _key(key: dict[str, str | None]) -> str:
    return ",".join(f"{k}={'null' if v is None else v}" for k, v in key.items())


def _weight(value: float, precision: int) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else format_number(value, precision)


def delimited_rows(result: Any) -> tuple[list[str], list[list[Any]]]:
    """SPEC §8's CSV: slicing, key, n_samples, sum_weights, <loss>...; overall first."""
    losses = list(result.losses)
    header = ["slicing", "key", "n_samples", "sum_weights", *losses]
    rows: list[list[Any]] = [
        [ALL, "", result.n_samples, result.sum_weights, *(result.losses[n] for n in losses)]
    ]
    for s in result.slices:
        for g in s.groups:
            rows.append(
                [
                    ",".join(s.by),
                    g.name(),
                    g.n_samples,
                    g.sum_weights,
                    *(g.losses.get(n) for n in losses),
                ]
            )
    return header, rows


def worst_header(result: Any) -> list[str]:
    """Columns of the worst rows: row (and line for text files), id or shown columns,
    prediction, label, weight and ℓ; a column nothing fills (line for Parquet) is left out,
    unless the result keeps it (`worst_kept`: a Dask run of a CSV file keeps `line`)."""
    if not result.worst:
        return []
    kept = result.worst_kept
    return [k for k in result.worst[0] if k in kept or any(e[k] is not None for e in result.worst)]


def worst_cells(result: Any, precision: int) -> list[list[str]]:
    """Numbers of the model (prediction, weight, ℓ) at `precision`; shown columns and labels
    as short as they read (11.76, not 11.760000)."""
    header = worst_header(result)
    fixed = {"pred", "weight", "loss"}
    return [
        [_cell(entry[k], precision if k in fixed else None) for k in header]
        for entry in result.worst
    ]


def _cell(value: Any, precision: int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format_number(value, precision) if precision else f"{value:.10g}"
    if isinstance(value, list):
        return "[" + ", ".join(_cell(v, precision) for v in value) + "]"
    return str(value)
