"""The evaluation pipeline that `eval` and `check` share: read the files, evaluate, and
place engine errors in the user's files; then print the notes.

The reading options come from `cli/options.py` (including ``STREAM_ROWS``, read at call
time so tests can set the chunk size); the work is `losscli.evaluate` or
`losscli.evaluate_stream`.
"""

from __future__ import annotations

from typing import Any

import click

from losscli.cli import options as cli_options
from losscli.cli.allocator import keep_freed_memory


def evaluate_files(
    preds: str, labels: str | None, params: dict[str, Any], notes: list[str]
) -> tuple[Any, Any]:
    """Read the inputs, evaluate, and return (EvaluationResult, inputs description).

    Files are streamed in chunks through the engine's accumulators (bounded memory, both
    cores); a join by id reads both files whole. Engine errors come back placed in the
    user's files: file, column, row and line.
    """
    keep_freed_memory()
    from losscli.cli.masks import evaluate_mask_files, is_masks
    from losscli.cli.slices import slice_keywords

    if is_masks(preds, labels, params):  # SPEC §12: every pixel is a row
        return evaluate_mask_files(preds, labels, params, notes)

    read = cli_options.read_options(params)
    keywords = cli_options.engine_keywords(params)
    if params.get("calibration"):  # eval --calibration, the report's "auto": ece, mce, table
        keywords["calibration"] = params["calibration"]
    sliced = slice_keywords(params)
    read["extra_cols"] = [(c, "--by") for by in sliced.get("by", ()) for c in by] + [
        (c, "--show-col") for c in sliced.get("show_cols", ())
    ]
    if params.get("dask"):  # --dask ADDRESS: the partitions on a Dask cluster (SPEC §10)
        from losscli.cli.dask_run import evaluate_on_dask, refuse

        refuse(preds, labels, read)
        keywords.update(sliced, by=sliced.get("by", []))
        quiet = bool(params.get("quiet"))
        result, inputs = evaluate_on_dask(params["dask"], preds, read, keywords, notes, quiet)
    elif read["id_col"] and not sliced:
        result, inputs = _evaluate_joined(preds, labels, read, keywords, notes)
    else:
        keywords.update(sliced, by=sliced.get("by", []))
        quiet = bool(params.get("quiet"))
        result, inputs = _evaluate_streamed(preds, labels, read, keywords, notes, quiet)
    notes.extend(result.notes)
    return result, inputs


def _evaluate_joined(
    preds: str,
    labels: str | None,
    read: dict[str, Any],
    keywords: dict[str, Any],
    notes: list[str],
) -> tuple[Any, Any]:
    """A join by id reads both files whole, then evaluates the joined arrays (with slices
    or worst rows, `_evaluate_streamed` takes the joined arrays as one chunk instead)."""
    from losscli.api import evaluate
    from losscli.errors import InputError
    from losscli.readers.columns import load_inputs

    inputs = load_inputs(preds, labels, **read)
    notes.extend(inputs.notes)
    try:
        result = evaluate(
            inputs.preds,
            inputs.labels,
            sample_weight=inputs.weights,
            pred_names=inputs.pred_columns,
            **keywords,
        )
    except InputError as exc:
        raise exc.locate(inputs.locate) from None
    return result, inputs


def _evaluate_streamed(
    preds: str,
    labels: str | None,
    read: dict[str, Any],
    keywords: dict[str, Any],
    notes: list[str],
    quiet: bool,
) -> tuple[Any, Any]:
    """Stream the files in chunks of ``STREAM_ROWS`` rows, with a progress bar; with a join
    by id (slices or worst rows asked for), the joined arrays are one chunk."""
    from losscli.api import evaluate_stream
    from losscli.cli.output import progress_bar
    from losscli.readers.columns import load_inputs, stream_inputs

    if read["id_col"]:
        joined = load_inputs(preds, labels, **read)
        header, chunks = joined, iter([joined])
    else:
        rows = cli_options.STREAM_ROWS
        header, chunks = stream_inputs(preds, labels, batch_rows=rows, **read)
    notes.extend(header.notes)
    with progress_bar([preds, labels], quiet, total=header.rows_hint) as advance:
        result = evaluate_stream(
            chunks,
            pred_names=header.pred_columns,
            locate=place_in_chunk,
            progress=advance,
            describer=lambda chunk: name_rows(chunk, keywords.get("show_cols", ())),
            **keywords,
        )
    _lines(result, header)
    return result, header


def _lines(result: Any, header: Any) -> None:
    """The editor line of each worst row, in the predictions file (None for binary files)."""
    from losscli.readers._frame import editor_line

    origin = header._origins.get("preds")
    for entry in result.worst or []:
        entry["line"] = None if origin is None else editor_line(origin, entry["row"])


def name_rows(chunk: Any, show: Any) -> Any:
    """How the worst rows of a chunk are named: the row and editor line in the predictions
    file, the id (``--id-col``) and the shown columns (``--show-col``)."""
    from losscli.slicing import plain, show_columns

    shown = show_columns(show, chunk.extras)

    def describe(positions: Any) -> dict[str, list[Any]]:
        # the file row (after a join, the row in the predictions file); the editor line is
        # found for the K rows kept only, at the end (`_lines`): finding one reads the file
        rows = chunk._file_rows.get("preds")
        out: dict[str, list[Any]] = {
            "row": [int(rows[i]) + 1 if rows is not None else chunk.row_offset + int(i) + 1
                    for i in positions],
            "line": [None] * len(positions),
        }  # fmt: skip
        if chunk.ids is not None:
            out["id"] = [plain(chunk.ids[i]) for i in positions]
        out.update(shown(positions))
        return out

    return describe


def place_in_chunk(chunk: Any, exc: Any) -> Any:
    """An engine error at a row of the whole input, placed in the user's files: engine rows
    count from the start of the input, and a chunk locates its own rows."""
    from dataclasses import replace

    from losscli.readers.inputs import EXTRA

    if exc.role is None and exc.column is not None and exc.column in chunk.extras:
        exc = replace(exc, role=EXTRA + exc.column)  # a slice column's value
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
