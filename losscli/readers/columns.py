"""From files and column options to aligned prediction, label and weight arrays.

The public entry: `load_inputs` reads everything; `stream_inputs` reads both files in
lockstep by position, chunk by chunk. Each job has its own module:

- `losscli.readers.inputs`: what the inputs are (`Inputs`, `InputsHeader`, provenance);
- `losscli.readers.opening`: opening the files and choosing each role's columns from the
  column names alone (`losscli.readers._roles`), so only those columns are read;
- `losscli.readers.arrays`: the columns read, as the engine's arrays;
- `losscli.readers.join`: the join by `--id-col` and its memory estimate;
- `losscli.readers.lockstep`: files paired by position, streamed in lockstep, with their
  id-like columns compared row by row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from losscli.readers._roles import LABELS, PREDS
from losscli.readers.arrays import assemble
from losscli.readers.inputs import Inputs, InputsHeader, header_of
from losscli.readers.join import check_join_memory, join_by_id, refuse_streamed_join
from losscli.readers.lockstep import check_ids, lockstep, same_length, stream_frames
from losscli.readers.opening import open_inputs, split_key

__all__ = ["Inputs", "InputsHeader", "load_inputs", "split_key", "stream_inputs"]


def load_inputs(
    preds: str,
    labels: str | None = None,
    *,
    pred_cols: Sequence[str] = (),
    label_cols: Sequence[str] = (),
    weight_col: str | None = None,
    id_col: str | None = None,
    input_format: str | None = None,
    key: str | None = None,
    delimiter: str | None = None,
    nan_policy: str = "raise",
    extra_cols: Sequence[tuple[str, str]] = (),
) -> Inputs:
    """Read PREDS (and LABELS) whole and return aligned arrays (SPEC §2).

    `extra_cols` are (name, flag) of columns read as they are, for slices and shown rows
    (`Inputs.extras`), looked up in PREDS then LABELS.

    With `nan_policy="omit"` an empty cell of a numeric column reads as NaN, for the engine
    to drop its row; otherwise it is an error naming the cell.
    """
    tables, roles = open_inputs(preds, labels, pred_cols, label_cols, weight_col, id_col,
                                input_format, key, delimiter, nan_policy, extra_cols)  # fmt: skip
    if roles.id_column is not None and len(tables) == 2:
        check_join_memory(tables, roles)
    frames = {role: t.read(roles.needed(role)) for role, t in tables.items()}
    header = header_of(tables, roles)
    if len(frames) == 1 or roles.id_column is None:
        if len(frames) == 2:
            same_length(frames[PREDS].n_rows, frames[LABELS].n_rows, tables)
            check_ids(frames, roles)
        return assemble(header, frames, roles, {}, 0)
    return join_by_id(header, frames, roles)


def stream_inputs(
    preds: str,
    labels: str | None = None,
    *,
    pred_cols: Sequence[str] = (),
    label_cols: Sequence[str] = (),
    weight_col: str | None = None,
    id_col: str | None = None,
    input_format: str | None = None,
    key: str | None = None,
    delimiter: str | None = None,
    batch_rows: int = 65536,
    nan_policy: str = "raise",
    extra_cols: Sequence[tuple[str, str]] = (),
) -> tuple[InputsHeader, Iterator[Inputs]]:
    """Like `load_inputs`, in chunks of `batch_rows` rows; two files are read in lockstep.

    Each chunk is an `Inputs` whose `row_offset` is the 0-based file row of its first row.
    A length mismatch is raised when the shorter file ends. `--id-col` cannot stream.
    """
    tables, roles = open_inputs(preds, labels, pred_cols, label_cols, weight_col, id_col,
                                input_format, key, delimiter, nan_policy, extra_cols)  # fmt: skip
    refuse_streamed_join(tables, roles)
    header = header_of(tables, roles)
    header.rows_hint = tables[PREDS].rows_hint()
    chunks = stream_frames(tables, roles, batch_rows)
    return header, lockstep(header, chunks, roles, tables)
