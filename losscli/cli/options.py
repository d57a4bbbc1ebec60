"""Options shared by `eval`, `check` and `compare`, as decorators, and the names that
map them to the readers' and the engine's keywords.

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
    )(f)


def loss_options(f: F) -> F:
    """--loss, --task and every option of SPEC §4."""
    return _stack(
        click.option(
            "--loss",
            "-l",
            "losses",
            multiple=True,
            metavar="NAME",
            help="Loss name or alias; repeatable, comma lists allowed. Default: all for the task.",
        ),
        click.option(
            "--task",
            type=click.Choice(["auto", "regression", "binary", "multiclass"]),
            default="auto",
            show_default=True,
            help="What the predictions are.",
        ),
        click.option(
            "--from-logits/--no-from-logits",
            default=None,
            help="Predictions are logits; losses see sigmoid/softmax of them.",
        ),
        click.option(
            "--eps",
            type=float,
            metavar="ε",
            help="Clip probabilities to [ε, 1 − ε] before a log. [default: 2.22e-16]",
        ),
        click.option(
            "--huber-delta", type=float, metavar="δ", help="Huber and pseudo-Huber δ. [default: 1]"
        ),
        click.option(
            "--label-smoothing",
            type=float,
            metavar="S",
            help="Y → (1 − S)·Y + S/k for bce, ce, kl, focal. [default: 0]",
        ),
        click.option(
            "--class-weight",
            metavar="SPEC",
            help="'balanced', or CLASS=W pairs such as 0=1,1=4 (indices or names).",
        ),
        click.option(
            "--classes",
            metavar="A,B,...",
            help="Class names in column order (binary: NEGATIVE,POSITIVE).",
        ),
        click.option(
            "--hinge-mode",
            type=click.Choice(["crammer-singer", "weston-watkins"]),
            default=None,
            help="Multiclass hinge. [default: crammer-singer]",
        ),
        click.option("--focal-gamma", type=float, metavar="γ", help="Focal γ. [default: 2]"),
        click.option("--focal-alpha", type=float, metavar="α", help="Focal α (off by default)."),
        click.option("--dice-smooth", type=float, metavar="σ", help="Dice σ. [default: 1]"),
        click.option(
            "--reduction",
            type=click.Choice(["mean", "sum", "none"]),
            default=None,
            help="mean (Σωℓ/Σω), sum (Σωℓ), or none (one row per sample). [default: mean]",
        ),
        click.option(
            "--renormalize/--no-renormalize",
            default=None,
            help="Divide each row of class probabilities by its sum.",
        ),
        click.option(
            "--nan-policy",
            type=click.Choice(["raise", "omit"]),
            default=None,
            help="omit: drop rows with NaN (and say how many). [default: raise]",
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


def config_option(f: F) -> F:
    """--config FILE; `cli/config.py` merges the file into the parameters."""
    return click.option(
        "--config",
        "config_path",
        metavar="FILE",
        help="Settings file (default: ./losscli.toml, else [tool.losscli] in ./pyproject.toml).",
    )(f)
