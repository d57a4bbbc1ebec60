"""`losscli check`: a model-quality gate; exit 1 when a gate fails (SPEC §1, §6)."""

from __future__ import annotations

import sys
from typing import Any

import click
from click.core import ParameterSource

from losscli.cli.ci import (
    Run,
    check_ci_outputs,
    error_artefacts,
    github_annotations,
    github_output,
)
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
from losscli.cli.slices import group_options


@click.command("check")
@click.argument("preds", metavar="PREDS")
@click.argument("labels", metavar="[LABELS]", required=False)
@click.option(
    "--max", "max_gates", multiple=True, metavar="NAME=V", help="Fail when NAME > V. Repeatable."
)
@click.option(
    "--min", "min_gates", multiple=True, metavar="NAME=V", help="Fail when NAME < V. Repeatable."
)
@click.option(
    "--baseline", metavar="REPORT.json", help="Fail when a loss is worse than in this report."
)
@click.option(
    "--tolerance",
    "tolerances",
    multiple=True,
    metavar="T",
    help="Allowed regression against the baseline: 2% (relative), abs:0.01, or bce=1% per loss.",
)
@click.option(
    "--max-gap",
    "gap_gates",
    multiple=True,
    metavar="NAME=V",
    help="Fail when NAME's gap (max − min) across the slices of a --by is > V. Repeatable.",
)
@click.option("--report", metavar="FILE", help="Write the JSON report (with gates) to FILE.")
@click.option("--junit", metavar="FILE", help="Write JUnit XML, one test case per gate.")
@config_option
@dask_option
@input_options
@mask_options
@loss_options
@group_options
@output_options
@click.pass_context
def check_command(
    ctx: click.Context,
    preds: str,
    labels: str | None,
    report: str | None,
    junit: str | None,
    **params: Any,
) -> int:
    """Evaluate PREDS against LABELS and gate the losses: exit 0 when every gate passes,
    1 when one fails, 2 on a usage or input error.

    \b
      losscli check preds.csv labels.csv --max bce=0.35 --max mse=0.12
      losscli check preds.csv labels.csv --baseline main.json --tolerance 2%
      losscli check preds.csv labels.csv --by region --max bce=0.4 --max-gap bce=0.1

    With --loss, only those losses are gated against the baseline. Gates can also live in
    losscli.toml or [tool.losscli] in pyproject.toml.
    """
    from losscli.errors import LossCliError

    run = Run(preds, labels, report, junit, params.get("config_path"), params.get("baseline"))
    try:
        return _check(ctx, run, params)
    except LossCliError as exc:
        error_artefacts(run, exc)
        raise


def _check(ctx: click.Context, run: Run, params: dict[str, Any]) -> int:
    """The work of `check_command`; any error it raises becomes error artefacts (D5).

    Parse the gates (flags and settings file), evaluate, then `losscli.gate.check` judges."""
    from losscli import gate
    from losscli.report import read_report

    config_path = params.pop("config_path", None)
    settings = apply_config(ctx, params, config_path)
    run.config = settings.get("source") or config_path
    if params.get("reduction") == "none":
        from losscli.errors import InputError

        raise InputError(
            "check gates one value per loss, and --reduction none gives one per row",
            fix="Use --reduction mean or sum; `losscli eval --reduction none` lists per-row losses",
        )
    bounds, tolerances = _gates(ctx, settings, params, run)
    base = read_report(run.baseline) if run.baseline else None
    default, per_loss = tolerances if base is not None else (None, {})
    bounded = [*bounds["max"], *bounds["min"], *bounds["gap"]]
    if params.get("losses"):  # --loss mse --max bce=0.3 computes bce too
        params["losses"] = tuple(gate.needed_losses(params["losses"], bounded, per_loss) or ())
    elif _calibration_gated(bounded):  # every loss of the task, and the gated ece or mce
        params["calibration"] = "auto"
    result, inputs = evaluate_files(run.preds, run.labels, params, run.notes)
    checked = gate.check(
        result,
        max=bounds["max"],
        min=bounds["min"],
        baseline=base,
        tolerance=default,
        tolerances=per_loss,
        losses=params.get("losses"),
        baseline_name=run.baseline,
        max_gap=bounds["gap"],
    )
    run.notes.extend(checked.format_notes("cli"))
    document = {**result.to_dict(inputs.describe()), **checked.to_dict()}
    if run.baseline:
        document["baseline"] = run.baseline
    _emit(run, params, result, inputs, checked.verdicts, document)
    return 0 if checked.passed else 1


def _emit(
    run: Run,
    params: dict[str, Any],
    result: Any,
    inputs: Any,
    verdicts: list[Any],
    document: dict[str, Any],
) -> None:
    """Notes on stderr, then --report, --junit, GitHub's outputs, and stdout."""
    from losscli.cli.output import emit_check
    from losscli.report import write_report, write_text_atomic

    print_notes(run.notes, params.get("quiet", False))
    if run.report:
        write_report(run.report, document)
    if run.junit:
        from losscli.render.gates import junit as junit_xml

        write_text_atomic(run.junit, junit_xml(verdicts))
    passed = bool(document["passed"])
    github_annotations(verdicts, result, inputs)
    github_output({**result.losses}, passed)
    emit_check(
        result,
        inputs,
        verdicts,
        document,
        params.get("fmt", "table"),
        params.get("precision", 6),
        sys.stdout,
    )


def _gates(
    ctx: click.Context, settings: dict[str, Any], params: dict[str, Any], run: Run
) -> tuple[dict[str, dict[str, float]], tuple[Any, dict[str, Any]]]:
    """The bounds ({"max": {loss: bound}, "min": ...}) and tolerances from the settings file
    and the flags, checked before any file is read: a flag replaces the file's gate on the
    same loss; a flag (or file key) given twice with different values is an error. Also
    checks the outputs (D1, D4)."""
    from losscli import gate as g
    from losscli.config import gate_items, tolerance_items
    from losscli.errors import InputError

    source = settings.get("source")
    bounds: dict[str, dict[str, float]] = {}
    for kind in ("max", "min"):
        from_file = g.parse_bounds(gate_items(settings, kind), kind, source)
        from_flags = g.parse_bounds(params.pop(f"{kind}_gates"), f"--{kind}")
        bounds[kind] = {**from_file, **from_flags}
    from_file = g.parse_bounds(gate_items(settings, "max-gap"), "max-gap", source)
    bounds["gap"] = {**from_file, **g.parse_bounds(params.pop("gap_gates"), "--max-gap")}
    run.baseline = params.pop("baseline")
    if ctx.get_parameter_source("baseline") is not ParameterSource.COMMANDLINE:
        run.baseline = str(settings["baseline"]) if settings.get("baseline") else run.baseline
    flags = params.pop("tolerances")
    file_default, file_per_loss = g.parse_tolerances(tolerance_items(settings), "tolerance", source)
    default, per_loss = g.parse_tolerances(flags)
    tolerances = (default or file_default, {**file_per_loss, **per_loss})
    if flags and not run.baseline:  # a config's tolerance waits for a baseline quietly
        raise InputError(
            "--tolerance applies to a baseline, and none is given",
            fix="Pass --baseline REPORT.json",
        )
    if not (bounds["max"] or bounds["min"] or bounds["gap"]) and not run.baseline:
        raise InputError(
            "no gates to check",
            fix="Pass --max NAME=V, --min NAME=V or --baseline REPORT.json (or set them in losscli.toml)",
        )
    check_ci_outputs(run)
    return bounds, tolerances


def _calibration_gated(bounded: list[str]) -> bool:
    """A bound on ece or mce, which the default set leaves out (they are named, or added by
    eval's --calibration): with no --loss, the gate adds them."""
    from losscli.engine.registry import resolve

    return any(resolve(name).name in ("ece", "mce") for name in bounded)
