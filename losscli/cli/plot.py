"""`losscli plot PREDS [LABELS] --kind KIND [-o FILE]`: pictures of an evaluation (SPEC §11).

The image format follows the extension of ``-o`` (.png, .svg, .pdf; matplotlib, from the
``losscli[plot]`` extra); without ``-o``, on a terminal, the same plot is drawn with text
characters, as wide as the terminal. What each plot shows is gathered by
`losscli.plots.data` in bounded memory; the file is written by `losscli.report` (whole or
not at all, never over an input).
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

import click

from losscli.cli.options import input_options, loss_options
from losscli.cli.slices import group_options
from losscli.plots import FORMATS, KINDS


@click.command("plot")
@click.argument("preds", metavar="PREDS")
@click.argument("labels", metavar="[LABELS]", required=False)
@click.option("--kind", type=click.Choice(KINDS), required=True, help="What to draw.")
@click.option("--output", "-o", metavar="FILE", help="Image file: .png, .svg or .pdf.")
@input_options
@loss_options
@group_options
@click.option("--quiet", "-q", is_flag=True, help="No notes on stderr.")
def plot_command(
    preds: str, labels: str | None, kind: str, output: str | None, **params: Any
) -> None:
    """Draw PREDS against LABELS: the reliability diagram (calibration), the histogram of
    per-sample losses (losses), residuals against predictions (residuals), one bar per
    slice of --by (slices), or the differences and intervals of a `losscli compare -f json`
    file given as PREDS (compare).

    \b
      losscli plot preds.csv labels.csv --kind calibration -o calibration.png
      losscli plot scores.parquet --kind slices --by region --loss bce -o slices.svg
      losscli compare --labels y.csv a.csv b.csv -f json > cmp.json
      losscli plot cmp.json --kind compare -o cmp.pdf
    """
    from losscli.cli.pipeline import print_notes
    from losscli.errors import InputError
    from losscli.report import check_outputs

    fmt = image_format(output) if output else None
    if output:
        from losscli.plots import matplotlib

        matplotlib()  # a missing extra is an error before any work
        check_outputs({"--output": output}, {"PREDS": preds, "LABELS": labels})
    elif not sys.stdout.isatty():
        raise InputError(
            "a text plot is drawn on a terminal, and standard output is not one",
            fix="Write an image with -o FILE.png (or .svg, .pdf)",
        )
    notes: list[str] = []
    figure, text = gather(kind, preds, labels, params, notes, width=terminal_width())
    print_notes(notes, bool(params.get("quiet")))
    if output:
        from losscli.plots import figures
        from losscli.report import write_bytes_atomic

        write_bytes_atomic(output, figures.render(figure, fmt or "png"))
    else:
        from losscli.report import write_stream

        write_stream(sys.stdout, text())


def image_format(path: str) -> str:
    from losscli.errors import InputError

    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise InputError(
            f"-o {path}: the image format follows the extension, and {ext or 'none'} is not "
            "one of .png, .svg, .pdf",
            fix="Name the file FILE.png, FILE.svg or FILE.pdf",
        )
    return FORMATS[ext]


def terminal_width() -> int:
    return shutil.get_terminal_size((100, 24)).columns


def gather(
    kind: str, preds: str, labels: str | None, params: dict[str, Any], notes: list[str],
    width: int,
) -> tuple[Any, Any]:  # fmt: skip
    """(the matplotlib drawing, a function that gives the text plot) of one kind."""
    from losscli.cli import options as cli_options
    from losscli.errors import InputError
    from losscli.plots import data, figures, text

    if params.get("by") and kind != "slices" or params.get("per_class") and kind != "slices":
        raise InputError("--by and --per-class apply to --kind slices", fix="Leave them out")
    if kind == "compare":
        if labels:
            raise InputError(
                "--kind compare reads one file, the JSON of `losscli compare -f json`",
                fix="Leave out LABELS",
            )
        rows = data.comparisons(preds)["comparisons"]
        return figures.compare(rows), lambda: text.intervals(rows, width)
    if kind in ("calibration", "slices"):
        from losscli.cli.pipeline import evaluate_files

        if kind == "calibration":
            params = {**params, "calibration": True}
        elif not (params.get("by") or params.get("per_class")):
            raise InputError("--kind slices needs --by COL (or --per-class)", fix="Add --by COL")
        result, _ = evaluate_files(preds, labels, params, notes)
        if kind == "calibration":
            table, n = result.calibration, result.n_samples
            return (figures.calibration(table, result.losses, n),
                    lambda: text.calibration(table, result.losses, width))  # fmt: skip
        return _slices(result, params, figures, text, width)
    read = cli_options.read_options(params)
    keywords = cli_options.engine_keywords(params)
    rows = cli_options.STREAM_ROWS
    if kind == "losses":
        hist, loss, _ = data.loss_histogram(preds, labels, read, keywords, rows)
        edges, counts, log = hist.bars()
        return (figures.losses(edges, counts, log, loss, hist.below()),
                lambda: text.histogram(edges, counts, log, loss, width))  # fmt: skip
    grid, _ = data.residual_grid(preds, labels, read, keywords, rows)
    x_edges, y_edges = grid.edges()
    return (figures.residuals(x_edges, y_edges, grid.counts),
            lambda: text.grid(grid.counts, x_edges, y_edges, width))  # fmt: skip


def _slices(result: Any, params: dict[str, Any], figures: Any, text: Any, width: int) -> Any:
    """Bars of the first slicing for one loss: the first named, else the first computed."""
    loss = next(iter(result.losses))
    slicing = result.slices[0]
    groups = slicing.groups
    names = [g.name() for g in groups]
    values = [g.losses.get(loss) for g in groups]
    overall = result.losses[loss]
    title = f"{loss} by {', '.join(slicing.by)} ({len(groups)} slices)"
    shown = [0.0 if v is None else float(v) for v in values]
    return (figures.slices(names, values, overall, loss, title),
            lambda: text.bars(names, shown, width, title + "; │ all", line=overall))  # fmt: skip
