"""`losscli eval PREDS [LABELS]`: compute losses and print them (SPEC §1, §5)."""

from __future__ import annotations

import sys
from typing import Any

import click

from losscli.cli.config import apply_config
from losscli.cli.options import (
    config_option,
    dask_option,
    input_options,
    loss_options,
    mask_options,
    output_options,
)
from losscli.cli.pipeline import evaluate_files, print_notes
from losscli.cli.slices import slice_options


@click.command("eval")
@click.argument("preds", metavar="PREDS")
@click.argument("labels", metavar="[LABELS]", required=False)
@input_options
@mask_options
@loss_options
@slice_options
@output_options
@click.option(
    "--calibration",
    is_flag=True,
    help="Add ece and mce and print the reliability table: one row per confidence bin.",
)
@click.option(
    "--save", metavar="FILE", help="Also write the JSON report to FILE (a baseline for check)."
)
@config_option
@dask_option
@click.pass_context
def eval_command(
    ctx: click.Context,
    preds: str,
    labels: str | None,
    save: str | None,
    config_path: str | None,
    **params: Any,
) -> None:
    """Compute losses of PREDS against LABELS and print them.

    PREDS and LABELS are files (CSV, TSV, compressed CSV, Parquet, Feather, NPY, NPZ) or
    '-' for standard input. Leave out LABELS when PREDS holds a label column too.

    \b
      losscli eval preds.csv labels.csv --loss bce
      losscli eval scores.parquet --pred-col logit --from-logits -f json | jq .losses
    """
    from losscli.cli.output import emit_evaluation
    from losscli.report import check_outputs, write_report

    settings = apply_config(ctx, params, config_path)  # default options; gates are check's
    fmt, precision, quiet = params["fmt"], params["precision"], params["quiet"]
    _check_calibration(params)
    if save:
        _check_save(save, params.get("reduction"))
        inputs_by_name = {"PREDS": preds, "LABELS": labels, "--config": config_path}
        inputs_by_name["settings file"] = (settings or {}).get("source")
        check_outputs({"--save": save}, inputs_by_name)
    notes: list[str] = []
    result, inputs = evaluate_files(preds, labels, params, notes)
    print_notes(notes, quiet)
    if save:
        write_report(save, result.to_dict(inputs.describe()))
    emit_evaluation(result, inputs, fmt, precision, sys.stdout)


def _check_calibration(params: dict[str, Any]) -> None:
    """The reliability table is a second table beside the losses, which one CSV cannot
    hold, and there is none per row."""
    from losscli.errors import InputError

    if not params.get("calibration"):
        return
    if params["fmt"] in ("csv", "tsv"):
        raise InputError(
            f"--calibration prints the reliability table beside the losses, "
            f"which one -f {params['fmt']} table cannot hold",
            fix='Use -f json (its "calibration" list), table or markdown',
        )
    if params.get("reduction") == "none":
        raise InputError(
            "--calibration gives one table over all rows, and --reduction none gives rows",
            fix="Leave out --reduction none",
        )


def _check_save(save: str, reduction: str | None) -> None:
    """A saved report holds one value per loss (a baseline for check); `--reduction none`
    has one per row, and a report of means labelled "none" would mislead (M1)."""
    from losscli.errors import InputError

    if reduction == "none":
        raise InputError(
            f"--save {save} writes a report of one value per loss, "
            "and --reduction none gives one per row",
            fix="Save with --reduction mean (or sum); for the rows, redirect the output: "
            "losscli eval ... --reduction none -f csv > rows.csv",
        )
