"""Options shared by `eval`, `check` and `compare`, as decorators; and the glue that reads
the files, evaluates and places engine errors in the user's files.

Option names match the API keywords (``--huber-delta`` ↔ ``huber_delta``). Options left
out are passed as None, so the engine knows which ones the user set (BAD_INPUTS 58).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click

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


ENGINE_OPTIONS = (
    "from_logits",
    "eps",
    "huber_delta",
    "label_smoothing",
    "class_weight",
    "hinge_mode",
    "focal_gamma",
    "focal_alpha",
    "dice_smooth",
    "reduction",
    "renormalize",
    "nan_policy",
)
INPUT_OPTIONS = (
    "pred_cols",
    "label_cols",
    "weight_col",
    "id_col",
    "input_format",
    "key",
    "delimiter",
)


# rows per chunk read from a file; the engine splits each into cache-sized pieces
STREAM_ROWS = int(os.environ.get("LOSSCLI_CHUNK_ROWS", 1 << 18))


_ALLOCATOR_TUNED = False


def read_options(params: dict[str, Any]) -> dict[str, Any]:
    """The readers' keyword arguments from the command's parameters."""
    read = {k: params.get(k) or (() if k.endswith("cols") else None) for k in INPUT_OPTIONS}
    read["nan_policy"] = params.get("nan_policy") or "raise"
    return read


def keep_freed_memory() -> None:
    """Let glibc's malloc reuse freed chunk-sized memory instead of unmapping it.

    The engine makes NumPy temporaries of about 1 MB per loss and chunk. By default glibc
    maps such blocks fresh and returns them on free (or trims them off the heap), so every
    temporary page-faults again: Parquet end to end took 0.9–1.3 s instead of 0.6–0.9 s on
    10⁷ rows. Blocks under 32 MiB now come from the heap, and up to 128 MiB of free heap is
    kept; peak memory is unchanged. Only this process (the CLI); the MALLOC_MMAP_THRESHOLD_
    and MALLOC_TRIM_THRESHOLD_ environment variables, when set, win.
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED or not sys.platform.startswith("linux"):
        return
    _ALLOCATOR_TUNED = True
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") or os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt  # glibc's; musl's exists and does nothing
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 << 20)
    mallopt(m_trim_threshold, 128 << 20)


def evaluate_files(
    preds: str, labels: str | None, params: dict[str, Any], notes: list[str]
) -> tuple[Any, Any]:
    """Read the inputs, evaluate, and return (EvaluationResult, inputs description).

    Files are streamed in chunks through the engine's accumulators (bounded memory, both
    cores); a join by id reads both files whole. Engine errors come back placed in the
    user's files: file, column, row and line.
    """

    keep_freed_memory()
    from losscli.api import evaluate, evaluate_stream
    from losscli.engine.weights import parse_class_weight
    from losscli.errors import InputError
    from losscli.readers.columns import load_inputs, stream_inputs

    read = read_options(params)
    options = {k: params.get(k) for k in ENGINE_OPTIONS}
    options["class_weight"] = parse_class_weight(params.get("class_weight"))
    classes = params.get("classes")
    common = dict(
        task=params.get("task") or "auto",
        classes=[c.strip() for c in classes.split(",")] if classes else None,
        **options,
    )
    losses = list(params.get("losses") or ()) or None
    if read["id_col"]:
        inputs = load_inputs(preds, labels, **read)
        notes.extend(inputs.notes)
        try:
            result = evaluate(
                inputs.preds,
                inputs.labels,
                losses,
                sample_weight=inputs.weights,
                pred_names=inputs.pred_columns,
                **common,
            )
        except InputError as exc:
            raise exc.locate(inputs.locate) from None
    else:
        header, chunks = stream_inputs(preds, labels, batch_rows=STREAM_ROWS, **read)
        notes.extend(header.notes)

        from losscli.cli.output import progress_bar

        quiet = bool(params.get("quiet"))
        with progress_bar([preds, labels], quiet, total=header.rows_hint) as advance:
            result = evaluate_stream(
                chunks,
                losses,
                pred_names=header.pred_columns,
                locate=place_in_chunk,
                progress=advance,
                **common,
            )
        inputs = header
    notes.extend(result.notes)
    return result, inputs


def place_in_chunk(chunk: Any, exc: Any) -> Any:
    """An engine error at a row of the whole input, placed in the user's files: engine rows
    count from the start of the input, and a chunk locates its own rows."""
    from dataclasses import replace

    if exc.row is not None:
        exc = replace(exc, row=exc.row - chunk.row_offset)
    return exc.locate(chunk.locate)


def print_notes(notes: list[str], quiet: bool) -> None:
    """Notes and warnings on stderr (never on stdout, so data stays clean)."""
    if quiet:
        notes = [n for n in notes if n.startswith("warning:")]
    for note in notes:
        text = note if note.startswith("warning:") else f"note: {note}"
        click.echo(text, err=True)


def config_option(f: F) -> F:
    return click.option(
        "--config",
        "config_path",
        metavar="FILE",
        help="Settings file (default: ./losscli.toml, else [tool.losscli] in ./pyproject.toml).",
    )(f)


def apply_config(
    ctx: click.Context, params: dict[str, Any], config_path: str | None
) -> dict[str, Any]:
    """Fill options the user did not type from the config file; returns its gate settings.

    Flags win: a parameter whose value came from the command line is left as it is. Every
    value in the file is checked with its flag's Click type first (W5), and a file that was
    read says so on stderr (unless --quiet), since it changes results without a flag.
    """
    from click.core import ParameterSource

    from losscli.config import find_config, split_config

    found = find_config(config_path)
    if found is None:
        return {}
    path, table = found
    defaults, gates = split_config(path, table, {p.name: p for p in ctx.command.params})
    for name, value in defaults.items():
        if ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
            params[name] = value
    if not params.get("quiet"):
        click.echo(f"note: settings from {path}", err=True)
    gates["source"] = path
    return gates
