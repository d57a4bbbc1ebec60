"""Pairing two files by position: lockstep streaming, lengths and the id check.

Two files without `--id-col` are paired row by row. `stream_frames` reads each in chunks
of the same number of rows; `lockstep` yields the chunks of both together, and a length
mismatch is raised when the shorter file ends. Files that both hold an id-like column must
agree on it row by row (`check_ids`), whole or chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.readers._frame import Frame
from losscli.readers._roles import LABELS, PREDS, ColumnRoles
from losscli.readers.arrays import assemble
from losscli.readers.inputs import Inputs, InputsHeader
from losscli.readers.join import comparable_ids

__all__ = ["check_ids", "lockstep", "same_length", "stream_frames"]

READ_CHUNKS = 4  # chunks per frame read (see stream_frames)


def stream_frames(
    tables: dict[str, Any], roles: ColumnRoles, batch_rows: int
) -> dict[str, Iterator[Frame]]:
    """Each table's frames, of one number of rows, so that two files step together."""
    # a chunk holds about 2**20 values whatever the width: 1000 class columns get chunks of
    # ~1000 rows, not 262,144 rows of 1000 columns (2 GB); the ids compared between the
    # files do not count, so that chunks (and the last digits of sums) stay as they were
    width = sum(len(roles.needed(role)) - (roles.id_check is not None) for role in tables)
    batch_rows = max(1, min(batch_rows, max(1024, (1 << 20) // max(1, width))))
    return {
        role: _rechunk(t.iterate(roles.needed(role), batch_rows * _per_frame(t)), batch_rows)
        for role, t in tables.items()
    }


def _per_frame(table: Any) -> int:
    """Chunks per frame read. Over several files, a file's short last batch makes every
    later chunk span two frames, and such a chunk is copied: frames of READ_CHUNKS chunks
    copy one chunk in READ_CHUNKS (10⁸ rows in 16 files: 4.5-4.9 s -> 3.7-4.3 s). One file
    reads frames of one chunk: longer ones measured no faster there, and held ~90 MiB more."""
    files = getattr(getattr(table, "source", None), "files", None) or ()
    return READ_CHUNKS if len(files) > 1 else 1


def same_length(n_preds: int, n_labels: int, tables: dict[str, Any]) -> None:
    """Files paired by position must have as many rows."""
    if n_preds != n_labels:
        raise _length_error(n_preds, n_labels, tables)


def _length_error(n_preds: int, n_labels: int, tables: dict[str, Any]) -> InputError:
    return InputError(
        f"{tables[PREDS].source.name} has {n_preds} rows, "
        f"{tables[LABELS].source.name} has {n_labels}",
        fix="Pass --id-col to join by id",
    )


def check_ids(frames: dict[str, Frame], roles: ColumnRoles) -> None:
    """Files paired by position that both hold an id-like column (`ColumnRoles.id_check`) must
    hold the same ids row by row; else the pairing is wrong and every loss with it. One
    comparison per chunk. Measured on two CSV files of 2·10⁶ rows: integer ids cost
    nothing measurable (2.8 s either way); text ids become str objects, 7.9 s against
    3.1 s without the check, nearly all of it in that conversion. Slice columns that both
    files hold (`ColumnRoles.extras_in_both`) must agree the same way."""
    if roles.id_check is not None:
        check_same(frames, roles.id_check, id_like=True)
    for column in roles.extras_in_both:
        check_same(frames, column, id_like=False)


def check_same(frames: dict[str, Frame], column: str, id_like: bool) -> None:
    """The first row where two files' copies of `column` differ, as an error."""
    p, q = frames[PREDS], frames[LABELS]
    empty = {r: f.nulls.get(column, np.zeros(f.n_rows, dtype=bool)) for r, f in frames.items()}
    differ = empty[PREDS] != empty[LABELS]
    both = ~(empty[PREDS] | empty[LABELS])
    keys = comparable_ids({r: f.columns[column][both] for r, f in frames.items()})
    differ[both] = np.asarray(keys[PREDS] != keys[LABELS], dtype=bool)
    if not differ.any():
        return
    i = int(np.argmax(differ))
    shown = {r: "(empty)" if empty[r][i] else _show_id(f.columns[column][i])
             for r, f in frames.items()}  # fmt: skip
    what = "ids" if id_like else "values"
    raise InputError(
        f"{p.source} and {q.source} both have column '{column}', and the {what} differ at row "
        f"{p.row_offset + i + 1} ({shown[PREDS]} in {p.source}, {shown[LABELS]} in {q.source})",
        fix=f"Pass --id-col {column} to join by id"
        if id_like
        else f"Rename or drop '{column}' in one file (slices read it from {p.source} first)",
    )


def _show_id(value: object) -> str:
    """An id as the user wrote it: whole numbers without the '.0' of float64."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _rechunk(frames: Iterator[Frame], size: int) -> Iterator[Frame]:
    """Frames of exactly `size` rows (the last may be shorter), whatever the reader yields:
    views of a frame where a chunk lies within it, and a copy of only the rows of a chunk
    that spans frames (a file's last short batch puts every later chunk across two)."""
    pending: list[Frame] = []
    count = 0
    for frame in frames:
        start = 0
        if pending:
            need = size - count
            if frame.n_rows < need:
                pending.append(frame)
                count += frame.n_rows
                continue
            yield _concat([*pending, _slice(frame, 0, need)])
            start, pending, count = need, [], 0
        while frame.n_rows - start >= size:
            yield (
                frame if start == 0 and frame.n_rows == size else _slice(frame, start, start + size)
            )
            start += size
        if start < frame.n_rows:
            pending, count = [_slice(frame, start, frame.n_rows)], frame.n_rows - start
    if count:
        yield _concat(pending)


def _concat(frames: list[Frame]) -> Frame:
    if len(frames) == 1:
        return frames[0]
    first = frames[0]
    columns = {n: np.concatenate([f.columns[n] for f in frames]) for n in first.columns}
    nulls = {}
    for n in first.columns:
        if any(n in f.nulls for f in frames):
            nulls[n] = np.concatenate([f.nulls.get(n, np.zeros(f.n_rows, bool)) for f in frames])
    return Frame(first.source, first.format, columns, sum(f.n_rows for f in frames),
                 first.line_offset, first.row_offset, nulls, first.types, first.line_of)  # fmt: skip


def _slice(frame: Frame, start: int, stop: int) -> Frame:
    return Frame(
        frame.source, frame.format, {n: v[start:stop] for n, v in frame.columns.items()},
        max(0, min(stop, frame.n_rows) - start), frame.line_offset, frame.row_offset + start,
        {n: m[start:stop] for n, m in frame.nulls.items()}, frame.types, frame.line_of,
    )  # fmt: skip


def lockstep(
    header: InputsHeader,
    chunks: dict[str, Iterator[Frame]],
    roles: ColumnRoles,
    tables: dict[str, Any],
) -> Iterator[Inputs]:
    """The `Inputs` of each chunk, the two files' chunks taken together (`stream_frames`);
    their ids are checked chunk by chunk (`check_ids`)."""
    seen = 0
    if len(chunks) == 1:
        for frame in chunks[PREDS]:
            yield assemble(header, {PREDS: frame}, roles, {}, frame.row_offset)
        return
    while True:
        p = next(chunks[PREDS], None)
        q = next(chunks[LABELS], None)
        if p is None and q is None:
            return
        if p is None or q is None or p.n_rows != q.n_rows:
            # count both files to the end (reading on costs one pass, and a message with
            # both lengths says which file is off and by how much)
            n = {PREDS: seen + (p.n_rows if p is not None else 0),
                 LABELS: seen + (q.n_rows if q is not None else 0)}  # fmt: skip
            for role in (PREDS, LABELS):
                n[role] += sum(frame.n_rows for frame in chunks[role])
            raise _length_error(n[PREDS], n[LABELS], tables)
        seen += p.n_rows
        check_ids({PREDS: p, LABELS: q}, roles)
        yield assemble(header, {PREDS: p, LABELS: q}, roles, {}, p.row_offset)
