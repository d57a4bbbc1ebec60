"""`losscli report PREDS [LABELS] -o FILE.html`: one self-contained HTML page (SPEC §11).

It takes eval's options and holds the loss table, the reliability diagram and ece (for
classification; residuals against predictions for regression), the histogram of
per-sample losses, the slices of ``--by``, the worst rows (10 unless ``--worst`` says
otherwise) and the signature. The plots are inline SVG (`losscli.plots.html`); the file is
written whole or not at all, never over an input. The inputs are read more than once (the
evaluation, then the histogram, and for regression the residual grid's two passes), so not
from standard input.
"""

from __future__ import annotations

import os
from typing import Any

import click

from losscli.cli.config import apply_config
from losscli.cli.options import config_option, input_options, loss_options
from losscli.cli.slices import slice_options

DEFAULT_WORST = 10


@click.command("report")
@click.argument("preds", metavar="PREDS")
@click.argument("labels", metavar="[LABELS]", required=False)
@click.option("--output", "-o", metavar="FILE.html", required=True, help="The HTML file.")
@input_options
@loss_options
@slice_options
@click.option("--precision", type=click.IntRange(1, 17), default=6, show_default=True,
              help="Digits after the point in tables.")  # fmt: skip
@click.option("--quiet", "-q", is_flag=True, help="No notes on stderr.")
@config_option
@click.pass_context
def report_command(
    ctx: click.Context,
    preds: str,
    labels: str | None,
    output: str,
    config_path: str | None,
    **params: Any,
) -> None:
    """Write one HTML page about PREDS against LABELS: losses, reliability diagram and ece,
    loss histogram, slices (--by), worst rows and signature. It needs no network and no
    scripts to read.

    \b
      losscli report preds.csv labels.csv -o report.html
      losscli report scores.parquet --pred-col prob --by region --worst 20 -o report.html
    """
    from losscli.cli.pipeline import evaluate_files, print_notes
    from losscli.errors import InputError
    from losscli.plots import data, figures, html, matplotlib
    from losscli.report import check_outputs, output_kind, write_text_atomic

    settings = apply_config(ctx, params, config_path)
    # `-`, a device or a FIFO is written into whatever its name (as --save and --report are)
    streamed = output_kind(output) in ("stdout", "fd", "stream")
    if os.path.splitext(output)[1].lower() not in (".html", ".htm") and not streamed:
        raise InputError(f"-o {output}: the report is HTML", fix="Name it FILE.html")
    if "-" in (preds, labels):
        raise InputError(
            "the report reads its inputs twice (the evaluation, then the loss histogram); "
            "standard input can be read once",
            fix="Write the data to a file first",
        )
    matplotlib()
    inputs = {"PREDS": preds, "LABELS": labels, "--config": config_path,
              "settings file": (settings or {}).get("source")}  # fmt: skip
    check_outputs({"--output": output}, inputs)
    params = {**params, "calibration": "auto", "fmt": "html"}
    named = [p for item in params.get("losses") or () for p in str(item).split(",") if p.strip()]
    if params.get("worst") is None:
        params["worst"] = DEFAULT_WORST if _per_sample(named) else None
    notes: list[str] = []
    result, described = evaluate_files(preds, labels, params, notes)
    drawn = _figures(result, preds, labels, params, data, figures, html)
    print_notes(notes, bool(params.get("quiet")))
    page = html.page(result, described.describe(), drawn, params["precision"])
    write_text_atomic(output, page)
    if not params.get("quiet"):
        click.echo(f"wrote {output}", err=True)


def _per_sample(named: list[str]) -> bool:
    """Whether the losses asked for (all when none) include one with a value per row."""
    from losscli.engine.registry import resolve

    return not named or any(not resolve(n).dataset_level for n in named)


def _figures(result: Any, preds: str, labels: str | None, params: dict[str, Any],
             data: Any, figures: Any, html: Any) -> dict[str, str]:  # fmt: skip
    """Each plot of the page as inline SVG."""
    from losscli.cli import options as cli_options
    from losscli.engine.registry import LOSSES

    out: dict[str, str] = {}

    def svg(draw: Any) -> str:
        return html.svg_inline(figures.render(draw, "svg"))

    if result.calibration:
        out["calibration"] = svg(figures.calibration(result.calibration, result.losses,
                                                     result.n_samples))  # fmt: skip
    per_row = [n for n in result.losses if not LOSSES[n].dataset_level]
    if per_row:
        loss = result.worst_by if result.worst_by in per_row else per_row[0]
        keywords = cli_options.engine_keywords(params)
        keywords.update(losses=[loss], task=result.task)
        if result.classes is not None:
            keywords["classes"] = result.classes
        hist, _, _ = data.loss_histogram(preds, labels, cli_options.read_options(params),
                                         keywords, cli_options.STREAM_ROWS)  # fmt: skip
        edges, counts, log = hist.bars()
        out["losses"] = svg(figures.losses(edges, counts, log, loss, hist.below()))
    if result.task == "regression":  # in place of calibration: residuals against predictions
        read = cli_options.read_options(params)
        keywords = cli_options.engine_keywords(params)
        grid, _ = data.residual_grid(preds, labels, read, keywords, cli_options.STREAM_ROWS)
        out["residuals"] = svg(figures.residuals(*grid.edges(), grid.counts))
    first = next(iter(result.losses))
    for i, s in enumerate(result.slices):
        names = [g.name() for g in s.groups]
        values = [g.losses.get(first) for g in s.groups]
        title = f"{first} by {', '.join(s.by)} ({len(names)} slices)"
        out[f"slices-{i}"] = svg(figures.slices(names, values, result.losses[first], first, title))
    return out
