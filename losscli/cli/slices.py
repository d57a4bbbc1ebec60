"""--by, --per-class, --bins, --worst and their companions (SPEC §8), for eval, check and
compare; `slice_keywords` turns them into the API's keywords."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from losscli.engine.limits import MAX_SLICES

F = Callable[..., Any]

SLICE_PARAMS = (
    "by",
    "per_class",
    "bins",
    "min_slice_rows",
    "max_slices",
    "sort_slices",
    "top_slices",
    "worst",
    "worst_by",
    "show_cols",
)


def slice_options(f: F) -> F:
    """The options of slices and of the worst rows (eval)."""
    return _apply(f, _group_options() + _worst_options())


def group_options(f: F) -> F:
    """The options of slices alone (check and compare, which list no rows)."""
    return _apply(f, _group_options())


def _apply(f: F, decorators: list[F]) -> F:
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def _group_options() -> list[F]:
    return [
        click.option(
            "--by",
            multiple=True,
            metavar="COL[,COL]",
            help="Losses per value of COL (PREDS, then LABELS); a,b is the cross; repeatable.",
        ),
        click.option("--per-class", is_flag=True, default=None, help="Losses per true class."),
        click.option(
            "--bins",
            multiple=True,
            metavar="COL=E1,E2,...",
            help="Bin edges for a numeric --by column: (-inf,E1), [E1,E2), ..., [Ek,inf).",
        ),
        click.option(
            "--min-slice-rows",
            type=click.IntRange(0),
            default=None,
            metavar="N",
            help="Mark slices under N rows; they are left out of the summary and gates.",
        ),
        click.option(
            "--max-slices",
            type=click.IntRange(1),
            default=None,
            metavar="N",
            help=f"Most distinct slices per --by. [default: {MAX_SLICES:,}]",
        ),
        click.option(
            "--sort-slices",
            metavar="LOSS",
            help="List slices worst first by LOSS (default: by key).",
        ),
        click.option(
            "--top-slices",
            type=click.IntRange(1),
            default=None,
            metavar="K",
            help="Show only the K worst slices (by --sort-slices, else the first loss).",
        ),
    ]


def _worst_options() -> list[F]:
    return [
        click.option(
            "--worst",
            type=click.IntRange(1),
            default=None,
            metavar="K",
            help="List the K rows with the largest per-sample loss.",
        ),
        click.option("--worst-by", metavar="LOSS", help="Rank rows by LOSS. [default: first loss]"),
        click.option(
            "--show-col",
            "show_cols",
            multiple=True,
            metavar="NAME",
            help="Show column NAME for each worst row; repeatable.",
        ),
    ]


def slice_keywords(params: dict[str, Any]) -> dict[str, Any]:
    """The API's keywords of these options (only those given)."""
    by = [tuple(c.strip() for c in item.split(",") if c.strip()) for item in params.get("by") or ()]
    if any(not b for b in by):
        raise click.BadParameter(
            "needs a column name, such as --by region or --by region,device", param_hint="--by"
        )
    out: dict[str, Any] = {}
    if by:
        out["by"] = by
    bins = {}
    for item in params.get("bins") or ():
        column, sep, edges = item.partition("=")
        if not sep or not column.strip():
            raise click.BadParameter(
                f"{item!r} is not COL=E1,E2,...; e.g. --bins age=18,30,65", param_hint="--bins"
            )
        bins[column.strip()] = edges
    if bins:
        out["bins"] = bins
    for name in ("per_class", "min_slice_rows", "max_slices", "sort_slices", "top_slices",
                 "worst", "worst_by"):  # fmt: skip
        if params.get(name) is not None:
            out[name] = params[name]
    if params.get("show_cols"):
        out["show_cols"] = list(params["show_cols"])
    return out
