"""`losscli explain PREDS [LABELS]`: each loss under every framework convention, and the
rules behind each difference (SPEC §9)."""

from __future__ import annotations

import sys
from typing import Any

import click

from losscli.cli.options import input_options, loss_options


@click.command("explain")
@click.argument("preds", metavar="PREDS")
@click.argument("labels", metavar="[LABELS]", required=False)
@input_options
@loss_options
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--precision",
    type=click.IntRange(1, 17),
    default=6,
    show_default=True,
    help="Digits after the point in tables.",
)
@click.option("--quiet", "-q", is_flag=True, help="No notes or progress on stderr.")
@click.option("--by", "by", multiple=True, hidden=True)
@click.option("--per-class", "per_class", is_flag=True, hidden=True)
def explain_command(preds: str, labels: str | None, **params: Any) -> None:
    """Why scikit-learn, PyTorch and Keras give other numbers than losscli.

    For each loss: its value under each convention (--convention picks one framework),
    and for each that differs, the rules that make the difference, with the rows each
    touches and its share; the shares add up to the whole difference.

    \b
      losscli explain preds.csv labels.csv --loss bce
      losscli explain scores.parquet --from-logits -f json | jq .explain
    """
    from losscli.cli import options as cli_options
    from losscli.cli.output import progress_bar
    from losscli.cli.pipeline import place_in_chunk, print_notes
    from losscli.errors import InputError
    from losscli.explaining import explain_stream
    from losscli.readers.columns import load_inputs, stream_inputs
    from losscli.render import explain as render
    from losscli.render import json
    from losscli.report import write_stream

    if params.pop("by") or params.pop("per_class"):
        # a decision (README): explain is about the whole input; slices are eval's
        raise InputError(
            "explain sets the conventions side by side for the whole input; it has no slices",
            fix="For one framework's slices run losscli eval with --by and --convention NAME",
        )
    read = cli_options.read_options(params)
    keywords = cli_options.engine_keywords(params)
    header: Any
    if read["id_col"]:
        header = load_inputs(preds, labels, **read)
        chunks: Any = iter([header])
    else:
        header, chunks = stream_inputs(preds, labels, batch_rows=cli_options.STREAM_ROWS, **read)
    print_notes(list(header.notes), params["quiet"])
    with progress_bar([preds, labels], params["quiet"], total=header.rows_hint) as advance:
        result = explain_stream(
            chunks,
            pred_names=header.pred_columns,
            locate=place_in_chunk,
            progress=advance,
            **keywords,
        )
    doc = result.to_dict(header.describe(), style="cli")
    if params["fmt"] == "json":
        write_stream(sys.stdout, json.dumps(doc))
    else:
        write_stream(sys.stdout, render.dumps(doc, params["precision"]))
