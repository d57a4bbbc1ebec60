"""`losscli compare --labels LABELS A B ...`: several models on the same rows, side by side,
with paired confidence intervals and p-values for each model against a baseline (SPEC §1, §5).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from losscli.cli.options import (
    ENGINE_OPTIONS,
    INPUT_OPTIONS,
    apply_config,
    config_option,
    input_options,
    keep_freed_memory,
    loss_options,
    output_options,
    print_notes,
)


@click.command("compare")
@click.argument("preds", nargs=-1, metavar="PREDS...")
@click.option("--labels", metavar="LABELS", help="Labels shared by every model.")
@click.option(
    "--model-col",
    "model_cols",
    multiple=True,
    metavar="NAME=COL",
    help="One table, one prediction column (or glob) per model; repeatable.",
)
@click.option("--name", "names", multiple=True, metavar="NAME", help="Model names, in order.")
@click.option("--baseline", metavar="NAME", help="The reference model. [default: the first]")
@click.option("--ci", type=float, default=0.95, show_default=True, help="Interval coverage.")
@click.option(
    "--bootstrap", "n_resamples", type=int, default=1000, show_default=True, help="Resamples."
)
@click.option(
    "--method",
    type=click.Choice(["auto", "bootstrap", "normal"]),
    default="auto",
    show_default=True,
    help="auto: bootstrap up to 200,000 rows, normal approximation above.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the resampling.")
@click.option("--holm", is_flag=True, help="Also give Holm-adjusted p-values (per loss).")
@input_options
@loss_options
@output_options
@config_option
@click.pass_context
def compare_command(
    ctx: click.Context, preds: tuple[str, ...], config_path: str | None, **params: Any
) -> None:
    """Compare models on the same labels: losses side by side, and for each model against
    the baseline the difference d = loss(model) − loss(baseline), its confidence interval
    and a p-value for "no difference", paired over the same rows.

    \b
      losscli compare --labels labels.csv a.csv b.parquet c.npy
      losscli compare scores.csv --model-col old=p_old --model-col new=p_new --holm
    """
    from losscli.api import plan
    from losscli.cli.output import console
    from losscli.engine import resample
    from losscli.render import compare as render
    from losscli.render import json

    apply_config(ctx, params, config_path)
    resample.check_settings(params["ci"], params["n_resamples"])
    models = _models(preds, params)
    baseline = params["baseline"] or models[0][0]
    index = _baseline_index([m[0] for m in models], baseline)
    if params.get("nan_policy") == "omit":
        raise _error(
            "--nan-policy omit could drop different rows for each model",
            "Remove the rows with NaN from every file",
        )

    notes: list[str] = []
    results, inputs, settings = [], [], _settings(params)
    for name, path, cols in models:
        own: list[str] = []
        task = results[0].task if results else params.get("task") or "auto"
        r, i = _evaluate(path, params["labels"], {**params, "pred_cols": cols}, task, settings, own)
        for note in own:  # per model, once each
            warn = note.startswith("warning: ")
            text = f"{'warning: ' if warn else ''}{name}: {note.removeprefix('warning: ')}"
            if text not in notes:
                notes.append(text)
        _same_rows(name, i, r, models[0][0], inputs[0] if inputs else None, results)
        results.append(r)
        inputs.append(i)

    first = inputs[index]
    losses, options = settings
    the_plan, y = plan(
        first.preds,
        first.labels,
        losses,
        task=results[0].task,
        pred_names=first.pred_columns,
        **options,
    )
    terms = resample.paired_terms(
        the_plan.task,
        the_plan.specs,
        the_plan.options,
        [i.preds for i in inputs],
        y,
        first.weights,
        classes=the_plan.classes or [],
        baseline=index,
    )
    base = results[index].losses
    found = resample.compare(
        terms,
        method=params["method"],
        confidence=params["ci"],
        n_resamples=params["n_resamples"],
        seed=params["seed"],
        differences=[results[c.model].losses[c.loss] - base[c.loss] for c in terms.contrasts],
    )
    doc = _document(models, results, inputs, found, the_plan, params, baseline)
    print_notes(notes, params["quiet"])
    fmt, out = params["fmt"], sys.stdout
    if fmt == "json":
        out.write(json.dumps(doc))
    elif fmt in ("csv", "tsv"):
        out.write(render.delimited(doc, "," if fmt == "csv" else "\t"))
    elif fmt == "markdown":
        out.write(render.markdown(doc, params["precision"]))
    else:
        console(out).print(render.table(doc, params["precision"]))


def _settings(params: dict[str, Any]) -> tuple[list[str] | None, dict[str, Any]]:
    """Losses and the keywords of `evaluate`/`plan` (classes and engine options)."""
    from losscli.engine.weights import parse_class_weight

    options: dict[str, Any] = {k: params.get(k) for k in ENGINE_OPTIONS}
    options["class_weight"] = parse_class_weight(params.get("class_weight"))
    classes = params.get("classes")
    options["classes"] = [c.strip() for c in classes.split(",")] if classes else None
    return list(params.get("losses") or ()) or None, options


def _evaluate(
    path: str,
    labels: str | None,
    params: dict[str, Any],
    task: str,
    settings: tuple[list[str] | None, dict[str, Any]],
    notes: list[str],
) -> tuple[Any, Any]:
    """One model's file read whole (the comparison needs its rows) and evaluated; engine
    errors are placed in the user's files."""
    keep_freed_memory()
    from losscli.api import evaluate
    from losscli.errors import InputError
    from losscli.readers.columns import load_inputs

    read = {k: params.get(k) or (() if k.endswith("cols") else None) for k in INPUT_OPTIONS}
    inputs = load_inputs(path, labels, **read)
    notes.extend(inputs.notes)
    losses, options = settings
    try:
        result = evaluate(
            inputs.preds,
            inputs.labels,
            losses,
            task=task,
            sample_weight=inputs.weights,
            pred_names=inputs.pred_columns,
            **options,
        )
    except InputError as exc:
        raise exc.locate(inputs.locate) from None
    notes.extend(result.notes)
    return result, inputs


def _error(problem: str, fix: str | None = None) -> Exception:
    from losscli.errors import InputError

    return InputError(problem, fix=fix)


def _stem(path: str) -> str:
    if path == "-":
        return "stdin"
    name = Path(path).name
    return name.split(".")[0] or name


def _models(preds: tuple[str, ...], params: dict[str, Any]) -> list[tuple[str, str, tuple]]:
    """(name, file, prediction columns) of each model, from files or --model-col."""
    if params["model_cols"]:
        if len(preds) != 1:
            raise _error(
                f"--model-col reads the models from one table, but {len(preds)} files are given",
                "Give one PREDS file with --model-col, or one file per model without it",
            )
        if params.get("pred_cols"):
            raise _error(
                "--pred-col and --model-col both name prediction columns",
                "Use --model-col NAME=COL for each model",
            )
        models = []
        for item in params["model_cols"]:
            name, sep, col = item.partition("=")
            models.append((name.strip(), preds[0], ((col if sep else name).strip(),)))
    else:
        models = [(_stem(p), p, tuple(params.get("pred_cols") or ())) for p in preds]
    if params["names"]:
        if len(params["names"]) != len(models):
            raise _error(
                f"{len(params['names'])} --name given for {len(models)} models",
                "Pass one --name per model, in order",
            )
        models = [(n, p, c) for n, (_, p, c) in zip(params["names"], models, strict=True)]
    if len(models) < 2:
        raise _error(
            f"compare needs at least two models, got {len(models)}",
            "Pass two or more PREDS files, or --model-col NAME=COL for each model",
        )
    seen: set[str] = set()
    for name, _, _ in models:
        if name in seen:
            raise _error(f"two models are named '{name}'", "Pass --name for each model, in order")
        seen.add(name)
    return models


def _baseline_index(names: list[str], baseline: str) -> int:
    if baseline not in names:
        raise _error(
            f"--baseline '{baseline}' is not a model; models are {', '.join(names)}",
            "Pass one of the model names",
        )
    return names.index(baseline)


def _same_rows(name: str, i: Any, r: Any, first: str, i0: Any, results: list[Any]) -> None:
    """Every model must have the same rows, labels and weights as the first."""
    import numpy as np

    if i0 is None:
        return
    if r.n_samples != results[0].n_samples:
        raise _error(
            f"model '{name}' has {r.n_samples} rows, model '{first}' has {results[0].n_samples}",
            "Every model must predict the same rows",
        )
    w0, w = i0.weights, i.weights
    if (
        not np.array_equal(i.labels, i0.labels)
        or (w0 is None) != (w is None)
        or (w is not None and not np.array_equal(w, w0))
    ):
        raise _error(
            f"model '{name}' has other labels or weights than model '{first}'",
            "Pass --labels FILE to give every model the same labels",
        )


def _document(models, results, inputs, found, the_plan, params, baseline) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from losscli._version import __version__
    from losscli.engine.resample import holm

    names = [m[0] for m in models]
    comparisons = [
        {
            "model": names[c.model],
            "baseline": baseline,
            "loss": c.loss,
            "difference": c.difference,
            "ci": list(c.ci),
            "p_value": c.p_value,
            "method": c.method,
        }
        for c in found
    ]
    if params["holm"]:  # one family per loss: the models compared with the baseline
        for loss in {c["loss"] for c in comparisons}:
            family = [c for c in comparisons if c["loss"] == loss]
            for c, p in zip(family, holm([c["p_value"] for c in family]), strict=True):
                c["p_value_holm"] = p
    options = {
        **results[0].options,
        "losses": list(results[0].losses),
        "ci": params["ci"],
        "bootstrap": params["n_resamples"],
        "method": params["method"],
        "baseline": baseline,
        "holm": params["holm"],
    }
    return {
        "losscli": __version__,
        "task": results[0].task,
        "n_samples": results[0].n_samples,
        "seed": params["seed"],
        "method": found[0].method if found else None,
        "baseline": baseline,
        "options": options,
        "higher_is_better": [s.name for s in the_plan.specs if s.higher_is_better],
        "models": {
            n: {"losses": r.losses, "inputs": i.describe()}
            for n, r, i in zip(names, results, inputs, strict=True)
        },
        "comparisons": comparisons,
    }
