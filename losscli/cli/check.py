"""`losscli check`: a model-quality gate; exit 1 when a gate fails (SPEC §1, §6)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from click.core import ParameterSource

from losscli.cli.options import (
    ENGINE_OPTIONS,
    apply_config,
    config_option,
    evaluate_files,
    input_options,
    loss_options,
    output_options,
    print_notes,
)

# options whose difference makes a baseline incomparable (BAD_INPUTS 61): every engine
# option but the NaN policy (dropped rows already show in n_samples)
SIGNATURE_OPTIONS = tuple(o for o in ENGINE_OPTIONS if o != "nan_policy")


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
@click.option("--report", metavar="FILE", help="Write the JSON report (with gates) to FILE.")
@click.option("--junit", metavar="FILE", help="Write JUnit XML, one test case per gate.")
@config_option
@input_options
@loss_options
@output_options
@click.pass_context
def check_command(
    ctx: click.Context,
    preds: str,
    labels: str | None,
    max_gates: tuple[str, ...],
    min_gates: tuple[str, ...],
    baseline: str | None,
    tolerances: tuple[str, ...],
    report: str | None,
    junit: str | None,
    config_path: str | None,
    **params: Any,
) -> int:
    """Evaluate PREDS against LABELS and gate the losses: exit 0 when every gate passes,
    1 when one fails, 2 on a usage or input error.

    \b
      losscli check preds.csv labels.csv --max bce=0.35 --max mse=0.12
      losscli check preds.csv labels.csv --baseline main.json --tolerance 2%
    Gates can also live in losscli.toml or [tool.losscli] in pyproject.toml.
    """
    from losscli import gate as gates_mod
    from losscli.cli.output import emit_check
    from losscli.config import gate_items, tolerance_items
    from losscli.engine.registry import LOSSES, resolve_many
    from losscli.errors import InputError
    from losscli.report import check_writable, read_report, write_report, write_text_atomic

    settings = apply_config(ctx, params, config_path)
    src = ctx.get_parameter_source
    # gates: the config's, then the command line's (a flag replaces the file's gate on a loss)
    bounds: dict[tuple[str, str], float] = {}
    for kind, items in (("max", max_gates), ("min", min_gates)):
        for item in [*gate_items(settings, kind), *items]:
            loss, bound = gates_mod.parse_bound(item, f"--{kind}")
            bounds[(loss, kind)] = bound
    if src("baseline") is not ParameterSource.COMMANDLINE and settings.get("baseline"):
        baseline = str(settings["baseline"])
    default_tol, per_loss_tol = gates_mod.parse_tolerances(
        [*tolerance_items(settings), *tolerances]
    )
    if tolerances and not baseline:  # a config's tolerance waits for a baseline quietly
        raise InputError(
            "--tolerance applies to a baseline, and none is given",
            fix="Pass --baseline REPORT.json",
        )
    if not bounds and not baseline:
        raise InputError(
            "no gates to check",
            fix="Pass --max NAME=V, --min NAME=V or --baseline REPORT.json (or set them in losscli.toml)",
        )
    summary = (
        os.environ.get("GITHUB_STEP_SUMMARY")
        if os.environ.get("GITHUB_ACTIONS") == "true"
        else None
    )
    for path, flag in ((report, "--report"), (junit, "--junit"), (summary, "GITHUB_STEP_SUMMARY")):
        if path:
            check_writable(path, flag)
    base = read_report(baseline) if baseline else None

    gated = list(dict.fromkeys([loss for loss, _ in bounds] + list((base or {}).get("losses", {}))))
    if params.get("losses"):
        params["losses"] = tuple(dict.fromkeys([*params["losses"], *gated]))
    notes: list[str] = []
    result, inputs = evaluate_files(preds, labels, params, notes)
    resolve_many(gated, result.task)  # a gate on a loss the task does not have is an error
    missing = [name for name in gated if name not in result.losses]
    if missing:
        raise InputError(
            f"gated loss {', '.join(missing)} was not computed", fix="Add it with --loss"
        )

    gate_list = [gates_mod.Gate(loss, kind, bound) for (loss, kind), bound in bounds.items()]
    if base is not None:
        _check_comparable(baseline or "", base, result)
        gate_list += gates_mod.baseline_gates(
            base["losses"],
            list(base["losses"]),
            default_tol,
            per_loss_tol,
            {name: spec.higher_is_better for name, spec in LOSSES.items()},
        )
    verdicts = [
        gates_mod.judge(g, result.losses[g.loss], LOSSES[g.loss].higher_is_better)
        for g in gate_list
    ]
    passed = all(v.passed for v in verdicts)
    document = {
        **result.to_dict(inputs.describe()),
        "gates": [v.as_dict() for v in verdicts],
        "passed": passed,
    }
    if baseline:
        document["baseline"] = baseline

    print_notes(notes, params.get("quiet", False))
    if report:
        write_report(report, document)
    if junit:
        from losscli.render.gates import junit as junit_xml

        write_text_atomic(junit, junit_xml(verdicts))
    _github(verdicts, result, inputs)
    emit_check(
        result,
        inputs,
        verdicts,
        document,
        params.get("fmt", "table"),
        params.get("precision", 6),
        sys.stdout,
    )
    return 0 if passed else 1


def _check_comparable(path: str, base: dict[str, Any], result: Any) -> None:
    """A baseline from another task, data size or set of options is an error, never a
    silent comparison (BAD_INPUTS 61)."""
    from losscli.errors import InputError

    problems = []
    if not base["losses"]:
        raise InputError(
            "the baseline holds no losses",
            source=path,
            fix="Regenerate it with `losscli eval ... --save FILE`",
        )
    if base.get("task") != result.task:
        problems.append(f"task {base.get('task')} ≠ {result.task}")
    if base.get("n_samples") != result.n_samples:
        problems.append(f"n_samples {base.get('n_samples')} ≠ {result.n_samples}")
    elif base.get("sum_weights") != result.sum_weights:
        # the same rows weighted differently (sample or class weights added or changed)
        problems.append(f"sum_weights {base.get('sum_weights')} ≠ {result.sum_weights}")
    old = base.get("options", {})
    for key in SIGNATURE_OPTIONS:
        if key in old and old[key] != result.options.get(key):
            problems.append(f"{key} {old[key]!r} ≠ {result.options.get(key)!r}")
    if problems:
        raise InputError(
            f"the baseline is not comparable: {'; '.join(problems)}",
            source=path,
            fix="Regenerate it with the same data and options (losscli eval ... --save FILE)",
        )


def _github(verdicts: list[Any], result: Any, inputs: Any) -> None:
    """On GitHub Actions: ::error commands for failed gates and a step summary."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    from losscli.render.gates import github_commands, markdown
    from losscli.render.table import title_line

    sys.stderr.write(github_commands(verdicts))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(markdown(verdicts, title_line(result, inputs.describe()), 6) + "\n")
        except OSError as exc:
            sys.stderr.write(f"warning: cannot append to GITHUB_STEP_SUMMARY ({exc.strerror})\n")
