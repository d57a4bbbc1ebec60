"""`losscli check`: a model-quality gate; exit 1 when a gate fails (SPEC §1, §6)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

import click
from click.core import ParameterSource

from losscli.cli.config import apply_config
from losscli.cli.options import (
    ENGINE_OPTIONS,
    config_option,
    input_options,
    loss_options,
    output_options,
)
from losscli.cli.pipeline import evaluate_files, print_notes

# options whose difference makes a baseline incomparable (BAD_INPUTS 61): every engine
# option but the NaN policy (dropped rows already show in n_samples)
SIGNATURE_OPTIONS = tuple(o for o in ENGINE_OPTIONS if o != "nan_policy")
# the settings files read when --config is not given (protected from the outputs)
DEFAULT_SETTINGS = ("losscli.toml", "pyproject.toml")


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
    report: str | None,
    junit: str | None,
    **params: Any,
) -> int:
    """Evaluate PREDS against LABELS and gate the losses: exit 0 when every gate passes,
    1 when one fails, 2 on a usage or input error.

    \b
      losscli check preds.csv labels.csv --max bce=0.35 --max mse=0.12
      losscli check preds.csv labels.csv --baseline main.json --tolerance 2%

    With --loss, only those losses are gated against the baseline. Gates can also live in
    losscli.toml or [tool.losscli] in pyproject.toml.
    """
    from losscli.errors import LossCliError

    run = _Run(preds, labels, report, junit, params.get("config_path"), params.get("baseline"))
    try:
        return _check(ctx, run, params)
    except LossCliError as exc:
        _error_artefacts(run, exc)
        raise


@dataclass
class _Run:
    """What one check reads and writes, as far as it is known when an error stops it."""

    preds: str
    labels: str | None
    report: str | None
    junit: str | None
    config: str | None
    baseline: str | None = None
    outputs_checked: bool = False
    notes: list[str] = field(default_factory=list)

    def outputs(self) -> dict[str, str | None]:
        return {"--report": self.report, "--junit": self.junit}

    def inputs(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {"PREDS": self.preds, "LABELS": self.labels}
        found["--baseline"] = self.baseline
        settings = [self.config] if self.config else DEFAULT_SETTINGS
        for path in settings:
            found[path] = path if path and os.path.exists(path) else None
        return found


def _check(ctx: click.Context, run: _Run, params: dict[str, Any]) -> int:
    """The work of `check_command`; any error it raises becomes error artefacts (D5)."""
    from losscli.cli.output import emit_check
    from losscli.engine.registry import LOSSES
    from losscli.report import read_report, write_report, write_text_atomic

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

    _add_gated_losses(params, bounds, tolerances[1] if base is not None else {})
    result, inputs = evaluate_files(run.preds, run.labels, params, run.notes)
    gate_list = _gate_list(run, base, bounds, tolerances, params, result)
    verdicts = [
        _gate_module().judge(g, result.losses[g.loss], LOSSES[g.loss].higher_is_better)
        for g in gate_list
    ]
    passed = all(v.passed for v in verdicts)
    document = {
        **result.to_dict(inputs.describe()),
        "gates": [v.as_dict() for v in verdicts],
        "passed": passed,
    }
    if run.baseline:
        document["baseline"] = run.baseline

    print_notes(run.notes, params.get("quiet", False))
    if run.report:
        write_report(run.report, document)
    if run.junit:
        from losscli.render.gates import junit as junit_xml

        write_text_atomic(run.junit, junit_xml(verdicts))
    _github(verdicts, result, inputs)
    _github_output({**result.losses}, passed)
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


def _gate_module() -> Any:
    from losscli import gate

    return gate


def _gates(
    ctx: click.Context, settings: dict[str, Any], params: dict[str, Any], run: _Run
) -> tuple[dict[tuple[str, str], float], tuple[Any, dict[str, Any]]]:
    """The bounds and tolerances from the settings file and the flags, checked before any
    file is read: a flag replaces the file's gate on the same loss; a flag (or file key)
    given twice with different values is an error. Also checks the outputs (D1, D4)."""
    from losscli.config import gate_items, tolerance_items
    from losscli.errors import InputError
    from losscli.report import check_outputs, check_writable

    g = _gate_module()
    source = settings.get("source")
    bounds: dict[tuple[str, str], float] = {}
    for kind in ("max", "min"):
        from_file = g.parse_bounds(gate_items(settings, kind), kind, source)
        from_flags = g.parse_bounds(params.pop(f"{kind}_gates"), f"--{kind}")
        for loss, bound in {**from_file, **from_flags}.items():
            bounds[(loss, kind)] = bound
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
    if not bounds and not run.baseline:
        raise InputError(
            "no gates to check",
            fix="Pass --max NAME=V, --min NAME=V or --baseline REPORT.json (or set them in losscli.toml)",
        )
    check_outputs(run.outputs(), run.inputs())
    run.outputs_checked = True
    for path, flag in ((_summary_path(), "GITHUB_STEP_SUMMARY"), (_output_path(), "GITHUB_OUTPUT")):
        if path:
            check_writable(path, flag)
    return bounds, tolerances


def _add_gated_losses(
    params: dict[str, Any], bounds: dict[tuple[str, str], float], per_loss: dict[str, Any]
) -> None:
    """With --loss, also compute the losses a bound or a per-loss tolerance names."""
    if params.get("losses"):
        extra = [loss for loss, _ in bounds] + list(per_loss)
        params["losses"] = tuple(dict.fromkeys([*params["losses"], *extra]))


def _requested(params: dict[str, Any]) -> list[str] | None:
    """The --loss names (or the settings' `loss`), resolved: comma lists and aliases."""
    from losscli.engine.registry import resolve

    items = params.get("losses") or ()
    names = [resolve(p).name for item in items for p in str(item).split(",") if p.strip()]
    return names or None


def _gate_list(
    run: _Run,
    base: dict[str, Any] | None,
    bounds: dict[tuple[str, str], float],
    tolerances: tuple[Any, dict[str, Any]],
    params: dict[str, Any],
    result: Any,
) -> list[Any]:
    """The gates: the bounds, then the baseline's (M3: only the chosen losses, each with a
    tolerance that was given, or none given at all; notes say what was left out)."""
    from losscli.engine.registry import LOSSES, resolve_many
    from losscli.errors import InputError

    g = _gate_module()
    requested = _requested(params)
    chosen = None
    if base is not None:
        _check_comparable(run.baseline or "", base, result)
        chosen = g.select_baseline(base["losses"], requested, *tolerances, result.task)
        run.notes.extend(_selection_notes(chosen, tolerances, result.task))
    gated = list(dict.fromkeys([loss for loss, _ in bounds] + (chosen.gated if chosen else [])))
    resolve_many(gated, result.task)  # a gate on a loss the task does not have is an error
    missing = [name for name in gated if name not in result.losses]
    if missing:
        raise InputError(
            f"gated loss {', '.join(missing)} was not computed", fix="Add it with --loss"
        )
    gate_list = [g.Gate(loss, kind, bound) for (loss, kind), bound in bounds.items()]
    if chosen is not None and base is not None:
        gate_list += g.baseline_gates(
            base["losses"],
            chosen.gated,
            *tolerances,
            {name: spec.higher_is_better for name, spec in LOSSES.items()},
        )
    return gate_list


def _selection_notes(chosen: Any, tolerances: tuple[Any, dict[str, Any]], task: str) -> list[str]:
    """Say which losses the baseline does not gate, and a zero tolerance nobody asked for."""
    notes = []
    if chosen.duplicates:
        left = list(chosen.duplicates)
        why = [
            f"ce is bce on a {task} task"
            if name == "ce"
            else f"kl is {chosen.duplicates[name]} less the labels' entropy, "
            "which the predictions do not change"
            for name in left
        ]
        gaters = ", ".join(dict.fromkeys(chosen.duplicates.values()))
        is_, it = ("is", "it") if len(left) == 1 else ("are", "them")
        notes.append(
            f"{' and '.join(left)} {is_} not gated against the baseline: {'; '.join(why)}, "
            f"so {gaters} gates {it} (pass --loss {','.join(left)} to gate {it} too)"
        )
    if chosen.untolerated:
        notes.append(
            f"no tolerance for {', '.join(chosen.untolerated)}, so only "
            f"{', '.join(chosen.gated)} {'is' if len(chosen.gated) == 1 else 'are'} gated "
            "against the baseline (pass --tolerance T, such as 2%, for every loss)"
        )
    if tolerances[0] is None and not tolerances[1]:
        notes.append(
            "no tolerance given: the baseline gates allow no regression at all "
            "(pass --tolerance such as 2% or abs:0.01 to allow some)"
        )
    return notes


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


def _summary_path() -> str | None:
    return (
        os.environ.get("GITHUB_STEP_SUMMARY")
        if os.environ.get("GITHUB_ACTIONS") == "true"
        else None
    )


def _output_path() -> str | None:
    return os.environ.get("GITHUB_OUTPUT") or None


def _github(verdicts: list[Any], result: Any, inputs: Any) -> None:
    """On GitHub Actions: ::error commands for failed gates and a step summary."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    from losscli.render.gates import github_commands, markdown
    from losscli.render.table import title_line

    sys.stderr.write(github_commands(verdicts))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        _append(
            summary,
            "GITHUB_STEP_SUMMARY",
            markdown(verdicts, title_line(result, inputs.describe()), 6) + "\n",
        )


def _github_output(losses: dict[str, float], passed: bool) -> None:
    """GitHub step outputs: `<loss>=<value>` (full precision) and `passed=true|false`
    appended to the file GITHUB_OUTPUT names, for later steps (`steps.<id>.outputs.bce`)."""
    path = _output_path()
    if path:
        lines = [f"{name}={value!r}" for name, value in losses.items()]
        lines.append(f"passed={'true' if passed else 'false'}")
        _append(path, "GITHUB_OUTPUT", "".join(f"{line}\n" for line in lines))


def _append(path: str, what: str, text: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        sys.stderr.write(f"warning: cannot append to {what} ({exc.strerror})\n")


def _error_artefacts(run: _Run, exc: Any) -> None:
    """After an error, replace --report and --junit with the error (and say passed=false
    on GITHUB_OUTPUT), so CI never shows the green of an earlier run (D5). Only outputs
    that are safe to write: never an input, the baseline or the other output."""
    from losscli.errors import LossCliError
    from losscli.render.gates import junit_error
    from losscli.report import check_outputs, write_report, write_text_atomic

    if not any(run.outputs().values()):
        _github_failed()
        return
    try:
        if not run.outputs_checked:
            check_outputs(run.outputs(), run.inputs())
    except LossCliError:
        return  # the error is about the outputs themselves: leave them alone
    message = exc.format()
    from losscli._version import __version__

    for path, text in (
        (run.report, None),
        (run.junit, junit_error(message, type(exc).__name__)),
    ):
        if not path:
            continue
        try:
            if text is None:
                write_report(path, {"losscli": __version__, "passed": False, "error": message})
            else:
                write_text_atomic(path, text)
        except LossCliError:
            pass  # the error that stopped the check is the one to show
    _github_failed()


def _github_failed() -> None:
    """passed=false for later steps; quietly skipped when GITHUB_OUTPUT is what failed."""
    path = _output_path()
    if path:
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write("passed=false\n")
        except OSError:
            pass
