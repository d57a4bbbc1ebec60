"""Options shared by `eval`, `check` and `compare`, as decorators, and the names that
map them to the readers' keywords (`read_options`) and the API's (`engine_keywords`).

Option names match the API keywords (``--huber-delta`` ↔ ``huber_delta``). Options left
out are passed as None, so the engine knows which ones the user set (BAD_INPUTS 58).
The work these options feed is in `cli/pipeline.py`; settings files in `cli/config.py`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from losscli.gate import SIGNATURE_OPTIONS

F = Callable[..., Any]

OUTPUT_FORMATS = ("table", "json", "csv", "tsv", "markdown")


def _stack(*decorators: F) -> F:
    def apply(f: F) -> F:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return apply


def input_options(f: F) -> F:
    """--pred-col, --label-col, --weight-col, --id-col, --input-format, --key, --delimiter."""
    return _stack(
        click.option(
            "--pred-col",
            "pred_cols",
            multiple=True,
            metavar="NAME",
            help="Prediction column; repeatable; globs such as 'p_*' keep file order.",
        ),
        click.option(
            "--label-col",
            "label_cols",
            multiple=True,
            metavar="NAME",
            help="Label column; repeat for one-hot or soft labels.",
        ),
        click.option("--weight-col", metavar="NAME", help="Column of sample weights (≥ 0)."),
        click.option("--id-col", metavar="NAME", help="Join PREDS and LABELS by this id column."),
        click.option(
            "--input-format",
            metavar="FORMAT",
            help="csv, tsv, parquet, feather, npy or npz; overrides the extension.",
        ),
        click.option("--key", metavar="NAME", help="The array to read from an NPZ file."),
        click.option("--delimiter", metavar="CHAR", help="Field delimiter of a text file."),
        click.option(
            "--storage-option",
            "storage_options",
            multiple=True,
            metavar="KEY=VALUE",
            callback=_storage_options,
            help="For URLs (s3://, gs://, ...): a file-system keyword such as "
            "endpoint_url=URL or anon=true; repeatable.",
        ),
    )(f)


def _storage_options(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """--storage-option takes effect as it is parsed, before --config is read (a settings
    file may be a URL too); `cli/config.py` applies a settings file's own."""
    from losscli.readers.remote import parse_storage_options, set_storage_options

    set_storage_options(parse_storage_options(value))
    return value


# --loss, --task and every option of SPEC §4, in the order --help lists them: each row is
# the names of a click.option and its keywords.
_LOSS_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (
        ("--loss", "-l", "losses"),
        dict(
            multiple=True,
            metavar="NAME",
            help="Loss name or alias; repeatable, comma lists allowed. Default: all for the task.",
        ),
    ),
    (
        ("--task",),
        dict(
            type=click.Choice(["auto", "regression", "binary", "multiclass"]),
            default="auto",
            show_default=True,
            help="What the predictions are.",
        ),
    ),
    (
        ("--from-logits/--no-from-logits",),
        dict(default=None, help="Predictions are logits; losses see sigmoid/softmax of them."),
    ),
    (
        ("--eps",),
        dict(
            type=float,
            metavar="ε",
            help="Clip probabilities to [ε, 1 − ε] before a log. [default: 2.22e-16]",
        ),
    ),
    (
        ("--huber-delta",),
        dict(type=float, metavar="δ", help="Huber and pseudo-Huber δ. [default: 1]"),
    ),
    (
        ("--label-smoothing",),
        dict(
            type=float,
            metavar="S",
            help="Y → (1 − S)·Y + S/k for bce, ce, kl, focal. [default: 0]",
        ),
    ),
    (
        ("--class-weight",),
        dict(
            metavar="SPEC",
            help="'balanced', or CLASS=W pairs such as 0=1,1=4 (indices or names).",
        ),
    ),
    (
        ("--classes",),
        dict(metavar="A,B,...", help="Class names in column order (binary: NEGATIVE,POSITIVE)."),
    ),
    (
        ("--hinge-mode",),
        dict(
            type=click.Choice(["crammer-singer", "weston-watkins"]),
            default=None,
            help="Multiclass hinge. [default: crammer-singer]",
        ),
    ),
    (("--focal-gamma",), dict(type=float, metavar="γ", help="Focal γ. [default: 2]")),
    (("--focal-alpha",), dict(type=float, metavar="α", help="Focal α (off by default).")),
    (("--dice-smooth",), dict(type=float, metavar="σ", help="Dice σ. [default: 1]")),
    (
        ("--tversky-alpha",),
        dict(type=float, metavar="α", help="Tversky weight of false positives. [default: 0.5]"),
    ),
    (
        ("--tversky-beta",),
        dict(type=float, metavar="β", help="Tversky weight of false negatives. [default: 0.5]"),
    ),
    (
        ("--no-background", "no_background"),
        dict(
            is_flag=True,
            default=None,
            help="Leave class 0 out of the class mean of multiclass dice, iou, tversky.",
        ),
    ),
    (
        ("--calibration-bins",),
        dict(type=int, metavar="N", help="Equal-width bins of ece and mce. [default: 15]"),
    ),
    (
        ("--reduction",),
        dict(
            type=click.Choice(["mean", "sum", "none", "per-image"]),
            default=None,
            help="mean (Σωℓ/Σω), sum (Σωℓ), none (one row per sample), or per-image (masks: "
            "each image's value, then their mean). [default: mean]",
        ),
    ),
    (
        ("--renormalize/--no-renormalize",),
        dict(default=None, help="Divide each row of class probabilities by its sum."),
    ),
    (
        ("--convention",),
        dict(
            type=click.Choice(["losscli", "sklearn", "torch", "keras"]),
            default=None,
            help="Compute as this framework's standard calls do (SPEC §9). [default: losscli]",
        ),
    ),
    (
        ("--nan-policy",),
        dict(
            type=click.Choice(["raise", "omit"]),
            default=None,
            help="omit: drop rows with NaN (and say how many). [default: raise]",
        ),
    ),
)


def loss_options(f: F) -> F:
    """--loss, --task and every option of SPEC §4 (the rows of ``_LOSS_OPTIONS``)."""
    return _stack(*(click.option(*names, **kw) for names, kw in _LOSS_OPTIONS))(f)


def mask_options(f: F) -> F:
    """--layout, --ignore-index: segmentation masks (SPEC §12, `losscli.masks`)."""
    return _stack(
        click.option(
            "--layout",
            type=click.Choice(["channels-first", "channels-last"]),
            default=None,
            help="Masks: multiclass predictions (N, C, ...) as PyTorch, or (N, ..., C) as "
            "Keras. [default: from the labels' shape]",
        ),
        click.option(
            "--ignore-index",
            type=int,
            default=None,
            metavar="V",
            help="Masks: leave out pixels labelled V (PyTorch's ignore_index).",
        ),
    )(f)


def output_options(f: F) -> F:
    """--format, --precision, --quiet."""
    return _stack(
        click.option(
            "--format",
            "-f",
            "fmt",
            type=click.Choice(OUTPUT_FORMATS),
            default="table",
            show_default=True,
            help="Output format.",
        ),
        click.option(
            "--precision",
            type=click.IntRange(1, 17),
            default=6,
            show_default=True,
            help="Digits after the point in tables.",
        ),
        click.option("--quiet", "-q", is_flag=True, help="No notes or progress on stderr."),
    )(f)


# The engine options that a baseline's signature records (one list, in gate.py), and the
# NaN policy, which the signature leaves out (dropped rows already show in n_samples).
ENGINE_OPTIONS = (*SIGNATURE_OPTIONS, "nan_policy")
INPUT_OPTIONS = (
    "pred_cols",
    "label_cols",
    "weight_col",
    "id_col",
    "input_format",
    "key",
    "delimiter",
)


# LOSSCLI_CHUNK_ROWS: rows per chunk read from a file; the engine splits each into
# cache-sized pieces. Read as `options.STREAM_ROWS` at call time, so tests can set it.
STREAM_ROWS = int(os.environ.get("LOSSCLI_CHUNK_ROWS", 1 << 18))


def read_options(params: dict[str, Any]) -> dict[str, Any]:
    """The readers' keyword arguments from the command's parameters."""
    read = {k: params.get(k) or (() if k.endswith("cols") else None) for k in INPUT_OPTIONS}
    read["nan_policy"] = params.get("nan_policy") or "raise"
    return read


def engine_keywords(params: dict[str, Any]) -> dict[str, Any]:
    """The keywords that `losscli.evaluate`, `evaluate_stream`, `compare` and
    `compare_stream` share (losses, task, classes, the engine options), from the command's
    parameters: the one place `eval`, `check` and `compare` map these options to the API."""
    from losscli.engine.weights import parse_class_weight

    options: dict[str, Any] = {k: params.get(k) for k in ENGINE_OPTIONS}
    options["class_weight"] = parse_class_weight(params.get("class_weight"))
    classes = params.get("classes")
    return dict(
        losses=list(params.get("losses") or ()) or None,
        task=params.get("task") or "auto",
        classes=[c.strip() for c in classes.split(",")] if classes else None,
        **options,
    )


def dask_option(f: F) -> F:
    """--dask ADDRESS (LOSSCLI_DASK): evaluate on a Dask cluster (`cli/dask_run.py`)."""
    return click.option(
        "--dask",
        metavar="ADDRESS",
        envvar="LOSSCLI_DASK",
        help="Evaluate on the Dask cluster at ADDRESS (tcp://host:8786), or on N local "
        "worker processes with local[:N]; needs losscli[dask].",
    )(f)


def config_option(f: F) -> F:
    """--config FILE; `cli/config.py` merges the file into the parameters."""
    return click.option(
        "--config",
        "config_path",
        metavar="FILE",
        help="Settings file (default: ./losscli.toml, else [tool.losscli] in ./pyproject.toml).",
    )(f)
