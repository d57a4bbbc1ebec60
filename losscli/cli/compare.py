"""`losscli compare --labels LABELS A B ...`: several models on the same rows, side by side,
with paired confidence intervals and p-values for each model against a baseline (SPEC §1, §5).

The work is `losscli.compare_stream` (`losscli/comparison.py`): this module turns the
arguments into models (name, file, prediction columns), reads every model's file in
lockstep, chunk by chunk (`--method bootstrap` and `--id-col` read the files whole, through
`losscli.compare`), and prints the result.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from losscli.cli.allocator import keep_freed_memory, single_threaded_blas
from losscli.cli.compare_files import aligned as _aligned  # noqa: F401 (tests import it here)
from losscli.cli.compare_files import streamed_files, whole_files
from losscli.cli.config import apply_config
from losscli.cli.options import (
    config_option,
    dask_option,
    engine_keywords,
    input_options,
    loss_options,
    output_options,
)
from losscli.cli.pipeline import place_in_chunk, print_notes
from losscli.cli.slices import group_options, slice_keywords
from losscli.errors import InputError, LossCliError


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
@click.option(
    "--name",
    "names",
    multiple=True,
    metavar="NAME",
    help="Model names, in order; repeatable, comma lists allowed.",
)
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
@group_options
@input_options
@loss_options
@output_options
@dask_option
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
      losscli compare --labels labels.csv a.csv b.csv --by region --holm
    """
    single_threaded_blas()  # before NumPy loads: the workers already use every core
    from losscli.engine import resample

    apply_config(ctx, params, config_path)
    resample.check_settings(params["ci"], params["n_resamples"])
    models = _models(preds, params)
    baseline = params["baseline"] or models[0][0]
    _baseline_index([m[0] for m in models], baseline)
    if params.get("nan_policy") == "omit":
        raise _error(
            "--nan-policy omit could drop different rows for each model",
            "Remove the rows with NaN from every file",
        )
    _stdin_once(models, params)
    keep_freed_memory()
    keywords = _keywords(params, baseline)
    extra = [(c, "--by") for by in keywords.get("slicings", ()) for c in by]
    try:
        if params.get("dask"):  # SPEC §10: the partitions' states merged on a Dask cluster
            from losscli.cli.dask_run import compare_on_dask

            result = compare_on_dask(params["dask"], models, params, keywords, extra)
        elif params["method"] == "bootstrap" or params.get("id_col"):
            result = whole_files(models, params, keywords, extra)
        else:
            result = streamed_files(models, params, keywords, extra)
    except LossCliError as exc:
        raise _as_flags(exc) from None
    _print(result, params)


def _print(result: Any, params: dict[str, Any]) -> None:
    """The notes on stderr, then the document in the chosen format on stdout."""
    from losscli.cli.output import console
    from losscli.render import compare as render
    from losscli.render import json
    from losscli.report import write_stream

    doc = result.to_dict()
    print_notes(result.notes, params["quiet"])
    fmt, out = params["fmt"], sys.stdout
    if fmt == "json":
        write_stream(out, json.dumps(doc))
    elif fmt in ("csv", "tsv"):
        write_stream(out, render.delimited(doc, "," if fmt == "csv" else "\t"))
    elif fmt == "markdown":
        write_stream(out, render.markdown(doc, params["precision"]))
    else:
        console(out).print(render.table(doc, params["precision"]))


def _keywords(params: dict[str, Any], baseline: str) -> dict[str, Any]:
    """The keywords of `losscli.compare` and `compare_stream`: those `eval` and `check` pass
    too (`engine_keywords`), the slices' (``slicings`` for --by, read from the baseline's
    files) and the comparison's own."""
    sliced = slice_keywords(params)
    if sliced:
        sliced["slicings"] = sliced.pop("by", [])
    return dict(
        engine_keywords(params),
        **sliced,
        baseline=baseline,
        method=params["method"],
        ci=params["ci"],
        n_resamples=params["n_resamples"],
        seed=params["seed"],
        holm=params["holm"],
        locate=place_in_chunk,
    )


def _as_flags(exc: Exception) -> Exception:
    """A library error in the words of the command line."""
    from dataclasses import replace

    if getattr(exc, "kind", None) == "other_labels":
        return replace(exc, fix="Pass --labels FILE to give every model the same labels")  # type: ignore[type-var]
    return exc


def _stdin_once(models: list[tuple[str, str, tuple]], params: dict[str, Any]) -> None:
    """Standard input, a FIFO or `<(...)` can be read once: by one model's predictions, or
    by the labels of one model (every model reads the labels file)."""
    from losscli.readers._source import reads_once

    paths = [path for _, path, _ in models]
    if params["labels"] is not None:
        paths += [params["labels"]] * len(models)
    for path in dict.fromkeys(p for p in paths if reads_once(p)):
        uses = paths.count(path)
        if uses > 1:
            what = "'-' (standard input)" if path == "-" else f"'{path}' (a pipe or FIFO)"
            raise _error(
                f"{what} would be read {uses} times, once for each model that "
                "uses it; it can be read once",
                "Save it to a file and pass the file's path",
            )


def _error(problem: str, fix: str | None = None) -> Exception:
    return InputError(problem, fix=fix)


def _stem(path: str) -> str:
    """A model's default name: its file's name up to the first dot, and `:key` for an NPZ
    array named per file (`m.npz:a` and `m.npz:b` are two models, `m:a` and `m:b`)."""
    if path == "-":
        return "stdin"
    from losscli.readers.columns import split_key

    path, key = split_key(path)
    name = Path(path).name
    stem = name.split(".")[0] or name
    return f"{stem}:{key}" if key else stem


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
    names = _names(params["names"])
    if names:
        if len(names) != len(models):
            raise _error(
                f"{len(names)} --name given for {len(models)} models",
                "Pass one --name per model, in order",
            )
        models = [(n, p, c) for n, (_, p, c) in zip(names, models, strict=True)]
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


def _names(items: tuple[str, ...]) -> list[str]:
    """--name values, each a name or a comma list of names (as --loss takes them)."""
    names = [name.strip() for item in items for name in item.split(",")]
    if any(not name for name in names):
        raise _error(
            f"--name {','.join(items)} has an empty model name",
            "Pass names such as --name old,new",
        )
    return names


def _baseline_index(names: list[str], baseline: str) -> int:
    if baseline not in names:
        raise _error(
            f"--baseline '{baseline}' is not a model; models are {', '.join(names)}",
            "Pass one of the model names",
        )
    return names.index(baseline)
